//! A primary of the local Redis Cluster is killed under a live store: operations on its slots
//! fail with typed errors (no panic) while its replica takes over, then work again on the same
//! store without a restart, and every session written before the kill is still there.

use mock_services::local_cluster::{LocalRedisCluster, slot_of};
use mock_services::session::{
    RedisConfig, SessionData, SessionPolicy, SessionStore, StoreConfig, StoreError, build_store,
};
use std::time::{Duration, Instant};

const PREFIX: &str = "failover:sessions:";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_fails_over_to_its_replica_and_the_store_works_again() {
    // A cluster of its own: this test kills one of its nodes.
    let mut cluster = tokio::task::spawn_blocking(LocalRedisCluster::start)
        .await
        .expect("task")
        .unwrap_or_else(|error| panic!("this test needs a local Redis Cluster: {error}"));
    let mut config = RedisConfig::cluster(cluster.urls(), PREFIX);
    config.connection_timeout = Duration::from_millis(500);
    config.response_timeout = Duration::from_millis(1000);
    let policy = SessionPolicy {
        idle: Duration::from_secs(600),
        absolute: Duration::from_secs(3600),
    };
    let store = build_store(&StoreConfig::Redis(config), policy)
        .await
        .expect("cluster store");
    assert_eq!(store.backend_name(), "redis-cluster");
    let mut sessions = Vec::new();
    for n in 0..300 {
        sessions.push(
            store
                .create(&format!("user-{n}"), SessionData::default())
                .await
                .expect("create")
                .id,
        );
    }
    assert_eq!(store.live_count().await.expect("count"), 300);
    // Our slot arithmetic is the cluster's.
    let key = |id: &mock_services::session::SessionId| {
        let mut key = PREFIX.as_bytes().to_vec();
        key.extend_from_slice(id.as_bytes());
        key
    };
    let victim = sessions[0];
    let primary = cluster.primary_for(&key(&victim)).expect("primary");
    // Replication is asynchronous: the primary is killed once its replica has acknowledged
    // every session, so what the failover must keep is known.
    {
        let cluster = &cluster;
        tokio::task::block_in_place(|| {
            cluster
                .wait_replicated(primary, Duration::from_secs(10))
                .expect("replica caught up")
        });
    }

    cluster.kill(primary).expect("kill the primary");
    let killed = Instant::now();
    let mut errors = 0;
    let recovered_after = loop {
        match store.load_and_extend(&victim).await {
            Ok(Some(_)) => break killed.elapsed(),
            Ok(None) => panic!(
                "the session was lost in the failover (slot {})",
                slot_of(&key(&victim))
            ),
            Err(StoreError::Unavailable(_)) => errors += 1,
            Err(other) => panic!("an unexpected kind of error: {other:?}"),
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "no failover within 30 s ({errors} errors)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!(
        "failover: the store served the killed primary's slots again {recovered_after:.2?} after \
         the kill, after {errors} failed operations"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cluster.is_ok() {
        assert!(Instant::now() < deadline, "cluster_state never ok again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The same store, not rebuilt, serves every session and creates new ones. The first
    // answer from the promoted replica does not mean every node's slot map has caught up: an
    // operation may still meet a MOVED the client's few retries do not outlast (a typed
    // error, as during the failover), so each one gets a few seconds more.
    let mut late_errors = 0;
    for id in &sessions {
        let retried_until = Instant::now() + Duration::from_secs(5);
        let loaded = loop {
            match store.load(id).await {
                Err(StoreError::Unavailable(_)) if Instant::now() < retried_until => {
                    late_errors += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => break other.expect("load after failover"),
            }
        };
        assert!(loaded.is_some(), "every session survives the failover");
    }
    println!(
        "after the failover: {late_errors} more failed operation(s) before every slot answered"
    );
    store
        .create("after", SessionData::default())
        .await
        .expect("create after failover");
    assert_eq!(store.live_count().await.expect("count"), 301);
}
