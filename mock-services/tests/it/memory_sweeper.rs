//! The in-memory sweeper frees expired sessions by itself and keeps the ones still in use. It
//! runs under tokio's paused time with the store on a manual clock: nothing waits for real.

use crate::support::policy_ms;
use mock_services::session::{
    Clock, DashMapStore, ManualClock, MemoryConfig, MemoryMap, MemoryStore, PapayaStore, SccStore,
    SessionData, SessionStore,
};
use std::time::Duration;

fn config(clock: &ManualClock) -> MemoryConfig {
    MemoryConfig {
        sweep_interval: Some(Duration::from_secs(1)),
        capacity: 0,
        clock: Clock::Manual(clock.clone()),
    }
}

/// Lets the sweeper's next tick come (paused time jumps there) and its blocking sweep finish.
async fn until_count<M>(store: &MemoryStore<M>, expected: u64)
where
    MemoryStore<M>: SessionStore,
{
    for _ in 0..200 {
        if store.live_count().await.expect("count") == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{} sessions held, {expected} expected",
        store.live_count().await.expect("count")
    );
}

async fn sweeps_by_itself<M>(clock: ManualClock, store: MemoryStore<M>)
where
    MemoryStore<M>: SessionStore,
    M: MemoryMap,
{
    let keeper = store
        .create("keeper", SessionData::default())
        .await
        .expect("create");
    for n in 0..1_000 {
        store
            .create(&format!("u{n}"), SessionData::default())
            .await
            .expect("create");
    }
    // 100 ms in, the keeper is used; at 200 ms every other session is past its 150 ms.
    clock.advance(Duration::from_millis(100));
    assert!(
        store
            .load_and_extend(&keeper.id)
            .await
            .expect("extend")
            .is_some()
    );
    clock.advance(Duration::from_millis(100));
    assert_eq!(
        store.live_count().await.expect("count"),
        1_001,
        "expired, but not swept before a tick"
    );
    until_count(&store, 1).await;
    assert!(
        store.load(&keeper.id).await.expect("load").is_some(),
        "a live session was swept"
    );
    // The keeper, found live by that sweep, was filed again under the next second (never the
    // current one): it expires at 250 ms and is freed once the clock has reached that second.
    clock.advance(Duration::from_millis(50));
    assert!(
        store.load(&keeper.id).await.expect("load").is_none(),
        "expired"
    );
    clock.advance(Duration::from_secs(1));
    until_count(&store, 0).await;
}

#[tokio::test(start_paused = true)]
async fn dashmap_sweeper_frees_the_expired_and_keeps_the_used() {
    let clock = ManualClock::new();
    let store = DashMapStore::new(policy_ms(150, 60_000), &config(&clock));
    sweeps_by_itself(clock, store).await;
}

#[tokio::test(start_paused = true)]
async fn scc_sweeper_frees_the_expired_and_keeps_the_used() {
    let clock = ManualClock::new();
    let store = SccStore::new(policy_ms(150, 60_000), &config(&clock));
    sweeps_by_itself(clock, store).await;
}

#[tokio::test(start_paused = true)]
async fn papaya_sweeper_frees_the_expired_and_keeps_the_used() {
    let clock = ManualClock::new();
    let store = PapayaStore::new(policy_ms(150, 60_000), &config(&clock));
    sweeps_by_itself(clock, store).await;
}

#[tokio::test]
async fn a_direct_sweep_removes_exactly_the_expired() {
    let clock = ManualClock::new();
    let manual = MemoryConfig {
        sweep_interval: None,
        ..config(&clock)
    };
    let store = DashMapStore::new(policy_ms(150, 60_000), &manual);
    for n in 0..10 {
        store
            .create(&format!("old{n}"), SessionData::default())
            .await
            .expect("create");
    }
    clock.advance(Duration::from_millis(100));
    let young = store
        .create("young", SessionData::default())
        .await
        .expect("create");
    clock.advance(Duration::from_millis(50));
    assert_eq!(store.sweep_expired(), 10, "exactly the ten old ones");
    assert_eq!(store.sweep_expired(), 0);
    assert!(store.load(&young.id).await.expect("load").is_some());
}

/// A bounded sweep visits at most its budget of due sessions and frees only the expired: one
/// extended meanwhile is filed again under its new deadline, and deleted or rotated IDs are
/// dropped from the queue without touching the live ones.
#[tokio::test]
async fn a_bounded_sweep_visits_only_the_due_and_files_the_extended_again() {
    let clock = ManualClock::new();
    let manual = MemoryConfig {
        sweep_interval: None,
        ..config(&clock)
    };
    let store = SccStore::new(policy_ms(1_500, 60_000), &manual);
    let mut ids = Vec::new();
    for n in 0..100 {
        ids.push(
            store
                .create(&format!("u{n}"), SessionData::default())
                .await
                .expect("create")
                .id,
        );
    }
    assert_eq!(store.queued(), 100);
    assert_eq!(store.sweep_some(usize::MAX).visited, 0, "nothing due yet");
    clock.advance(Duration::from_millis(1_000));
    let kept = store
        .load_and_extend(&ids[0])
        .await
        .expect("extend")
        .expect("live");
    assert!(store.delete(&ids[1]).await.expect("delete"));
    let rotated = store.rotate(&ids[2]).await.expect("rotate").expect("live");
    clock.advance(Duration::from_millis(1_400));
    // 101 IDs filed (one more for the rotated session's new ID) and due; a budget of 16 visits
    // 16, and says more are due.
    let first = store.sweep_some(16);
    assert_eq!(first.visited, 16, "{first:?}");
    assert!(first.more);
    let mut removed = first.removed;
    for calls in 1.. {
        assert!(calls < 20, "101 due IDs need 7 sweeps of 16");
        let more = store.sweep_some(16);
        assert!(more.visited <= 16, "{more:?}");
        removed += more.removed;
        if !more.more {
            break;
        }
    }
    // Every old session but the extended one is gone, and so is the rotated one (the same
    // deadlines as the one it replaced); the delete left nothing to free.
    assert_eq!(removed, 98);
    assert_eq!(store.live_count().await.expect("count"), 1);
    assert!(store.load(&kept.id).await.expect("load").is_some());
    assert!(store.load(&rotated.id).await.expect("load").is_none());
    assert_eq!(store.queued(), 1, "the extended one, filed again");
    clock.advance(Duration::from_millis(1_500));
    assert_eq!(store.sweep_expired(), 1);
    assert_eq!(store.queued(), 0);
}
