//! The in-memory sweeper works in bounded batches and keeps extended sessions.

use crate::support::policy_ms;
use mock_services::session::{
    DashMapStore, MemoryConfig, MemoryMap, MemoryStore, SccStore, SessionData, SessionStore,
};
use std::time::Duration;

fn manual() -> MemoryConfig {
    MemoryConfig {
        sweep_interval: None,
        sweep_batch: 0,
        capacity: 0,
    }
}

async fn check_bounded<M>(store: MemoryStore<M>)
where
    MemoryStore<M>: SessionStore,
    M: MemoryMap,
{
    // The keeper is queued first (earliest deadline), so the first batch meets it and must put
    // it back rather than remove it.
    let keeper = store
        .create("keeper", SessionData::default())
        .await
        .expect("create");
    tokio::time::sleep(Duration::from_millis(5)).await;
    for n in 0..1_000 {
        store
            .create(&format!("u{n}"), SessionData::default())
            .await
            .expect("create");
    }
    // Keep one session alive past the others' deadline.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(
            store
                .load_and_extend(&keeper.id)
                .await
                .expect("extend")
                .is_some()
        );
    }
    assert_eq!(
        store.live_count().await.expect("count"),
        1_001,
        "nothing swept yet"
    );
    assert_eq!(
        store.sweep_expired(100).await,
        99,
        "a batch of 100: the keeper and 99 others"
    );
    assert_eq!(store.live_count().await.expect("count"), 902);
    let mut removed = 99;
    while removed < 1_000 {
        let step = store.sweep_expired(100).await;
        assert!(step > 0 && step <= 100, "step {step}");
        removed += step;
    }
    assert_eq!(store.sweep_expired(100).await, 0);
    assert_eq!(store.live_count().await.expect("count"), 1);
    assert!(
        store.load(&keeper.id).await.expect("load").is_some(),
        "a live session was swept"
    );
}

#[tokio::test]
async fn dashmap_sweeps_in_bounded_batches() {
    check_bounded(DashMapStore::new(policy_ms(150, 60_000), &manual())).await;
}

#[tokio::test]
async fn scc_sweeps_in_bounded_batches() {
    check_bounded(SccStore::new(policy_ms(150, 60_000), &manual())).await;
}
