//! The in-memory hot path allocates nothing: `load` and `load_and_extend` of a live session on
//! every in-memory backend, and `save` on the maps that write in place (papaya's copy-on-write
//! save allocates its copy), counted by dhat's global allocator (its own test binary, so
//! nothing else runs under it).

use mock_services::session::{
    AnyStore, MemoryConfig, SessionData, SessionId, SessionPolicy, SessionStore, StoreConfig,
    build_store,
};
use std::time::Duration;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

async fn filled(config: StoreConfig, users: &[String]) -> (AnyStore, Vec<SessionId>) {
    let policy = SessionPolicy {
        idle: Duration::from_secs(3600),
        absolute: Duration::from_secs(7200),
    };
    let store = build_store(&config, policy).await.expect("store");
    let mut ids = Vec::new();
    for user in users {
        ids.push(
            store
                .create(user, SessionData::default())
                .await
                .expect("create")
                .id,
        );
    }
    (store, ids)
}

// One test function: dhat allows one profiler per process.
#[test]
fn hot_path_calls_allocate_nothing() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // Short user IDs sit inline; long ones (over 23 bytes) behind a shared pointer.
        let users: Vec<String> = (0..500)
            .map(|n| format!("user{n}@example.com"))
            .chain((0..500).map(|n| format!("a-rather-long-user-name-{n}@example.com")))
            .collect();
        let memory = MemoryConfig {
            sweep_interval: None,
            ..MemoryConfig::default()
        };
        for config in [
            StoreConfig::DashMap(memory.clone()),
            StoreConfig::Scc(memory.clone()),
            StoreConfig::Papaya(memory.clone()),
        ] {
            let (store, ids) = filled(config, &users).await;
            let mut sessions = Vec::with_capacity(ids.len());
            let before = dhat::HeapStats::get();
            for id in &ids {
                let loaded = store.load(id).await.expect("load").expect("live");
                drop(loaded);
                sessions.push(
                    store
                        .load_and_extend(id)
                        .await
                        .expect("extend")
                        .expect("live"),
                );
            }
            let lookups = dhat::HeapStats::get().total_blocks - before.total_blocks;
            dhat::assert_eq!(
                lookups,
                0,
                "{}: {} allocations over {} sessions' load and load_and_extend",
                store.backend_name(),
                lookups,
                ids.len()
            );
            let before = dhat::HeapStats::get();
            for session in &mut sessions {
                store.save(session).await.expect("save");
            }
            let saves = dhat::HeapStats::get().total_blocks - before.total_blocks;
            // In-place maps change the entry under its lock; papaya publishes a copy (one node
            // per save, plus its reclamation's occasional batch).
            let allowed = if store.backend_name() == "papaya" {
                2 * sessions.len() as u64
            } else {
                0
            };
            dhat::assert!(
                saves <= allowed,
                "{}: {saves} allocations over {} saves (at most {allowed})",
                store.backend_name(),
                sessions.len()
            );
        }
    });
}
