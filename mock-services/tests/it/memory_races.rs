//! Extensions racing saves are never lost: the hot path's extension is an atomic on a shared
//! entry, and a save either changes the entry in place under its exclusive lock (DashMap, scc)
//! or publishes a copy and carries the last use over (papaya). Each round, one thread extends
//! a session at ever later times while another saves it; afterwards the session's last use
//! must be the last extension's time.

use mock_services::session::{
    AnyStore, Clock, ManualClock, MemoryConfig, SaveOutcome, SessionData, SessionPolicy,
    SessionStore, StoreConfig, build_store,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

async fn extensions_survive_saves(config: fn(MemoryConfig) -> StoreConfig) {
    let clock = ManualClock::new();
    let store: AnyStore = build_store(
        &config(MemoryConfig {
            sweep_interval: None,
            capacity: 0,
            clock: Clock::Manual(clock.clone()),
        }),
        SessionPolicy {
            idle: Duration::from_secs(3600),
            absolute: Duration::from_secs(86_400),
        },
    )
    .await
    .expect("store");
    for round in 0..300 {
        let session = store
            .create("racer", SessionData::default())
            .await
            .expect("create");
        let extending = Arc::new(AtomicBool::new(true));
        let saver = {
            let store = store.clone();
            let id = session.id;
            let extending = Arc::clone(&extending);
            // Saves until the extensions are over, so the last one races a save. Threads of
            // their own, so the two really run at once.
            let runtime = tokio::runtime::Handle::current();
            std::thread::spawn(move || {
                runtime.block_on(async move {
                    while extending.load(Ordering::SeqCst) {
                        let mut current = store.load(&id).await.expect("load").expect("live");
                        Arc::make_mut(&mut current.data)
                            .attributes
                            .insert("n".into(), "1".into());
                        let outcome = store.save(&mut current).await.expect("save");
                        assert_ne!(outcome, SaveOutcome::Gone);
                    }
                })
            })
        };
        let extender = {
            let store = store.clone();
            let clock = clock.clone();
            let id = session.id;
            let extending = Arc::clone(&extending);
            let runtime = tokio::runtime::Handle::current();
            std::thread::spawn(move || {
                runtime.block_on(async move {
                    let mut last = 0;
                    for _ in 0..200 {
                        clock.advance(Duration::from_millis(1));
                        last = clock.now_millis();
                        assert!(store.load_and_extend(&id).await.expect("extend").is_some());
                    }
                    extending.store(false, Ordering::SeqCst);
                    last
                })
            })
        };
        let last_extension = extender.join().expect("extender");
        saver.join().expect("saver");
        let stored = store.load(&session.id).await.expect("load").expect("live");
        assert_eq!(
            stored.last_seen,
            last_extension,
            "{}, round {round}: the last extension was lost",
            store.backend_name()
        );
        store.delete(&session.id).await.expect("delete");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashmap_extensions_survive_saves() {
    extensions_survive_saves(StoreConfig::DashMap).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scc_extensions_survive_saves() {
    extensions_survive_saves(StoreConfig::Scc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn papaya_extensions_survive_saves() {
    extensions_survive_saves(StoreConfig::Papaya).await;
}
