//! `--handicap`, the device that plants a known difference: an app on the named backend spends
//! the given CPU on every session lookup, and an app on another backend spends none.

use crate::stack_support::Stack;
use mock_services::cli::{Backend, Handicap};
use std::time::{Duration, Instant};

fn handicap(backend: Backend, cost: Duration) -> Option<Handicap> {
    Some(Handicap { backend, cost })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handicapped_backend_spends_its_cost_on_every_lookup_and_others_none() {
    let cost = Duration::from_millis(40);
    let stack = Stack::start("dashmap", |c| {
        c.apps.handicap = handicap(Backend::Dashmap, cost);
    })
    .await;
    let store = stack.running.store.as_ref().expect("store");
    assert_eq!(store.settings().lookup_handicap, Some(cost));
    // A well-formed cookie naming no session: the lookup runs (and finds nothing), so the
    // handicap is spent; a busy wait lasts at least its cost.
    let cookie = format!("ssobench_store_session={}", "A".repeat(22));
    let client = reqwest::Client::new();
    let started = Instant::now();
    let answer = client
        .get(format!("{}/shopping-cart", stack.store()))
        .header("cookie", cookie)
        .send()
        .await
        .expect("answered");
    assert!(started.elapsed() >= cost, "{:?}", started.elapsed());
    assert!(answer.status().is_redirection() || answer.status().is_success());
    stack.running.shutdown().await.expect("shutdown");

    // The same handicap names another backend: this stack's apps spend nothing.
    let other = Stack::start("dashmap", |c| {
        c.apps.handicap = handicap(Backend::Scc, cost);
    })
    .await;
    let store = other.running.store.as_ref().expect("store");
    assert_eq!(store.settings().lookup_handicap, None);
    other.running.shutdown().await.expect("shutdown");
}
