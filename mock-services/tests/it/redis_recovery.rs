//! Redis dies under a live store: operations fail with errors (no panic), and once Redis is back
//! on the same port the same store works again without being rebuilt.

use crate::support::{policy_ms, redis_config, start_redis};
use mock_services::session::{SessionData, SessionStore, StoreConfig, StoreError, build_store};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_survives_redis_restart() {
    let mut redis = start_redis();
    let store = build_store(
        &StoreConfig::Redis(redis_config(&redis)),
        policy_ms(60_000, 600_000),
    )
    .await
    .expect("redis store");
    let before = store
        .create("u", SessionData::default())
        .await
        .expect("create while up");
    assert!(
        store
            .load_and_extend(&before.id)
            .await
            .expect("load")
            .is_some()
    );

    redis.kill();
    let create = store.create("u", SessionData::default()).await;
    assert!(
        matches!(create, Err(StoreError::Unavailable(_))),
        "{create:?}"
    );
    let load = store.load_and_extend(&before.id).await;
    assert!(matches!(load, Err(StoreError::Unavailable(_))), "{load:?}");
    assert!(matches!(
        store.live_count().await,
        Err(StoreError::Unavailable(_))
    ));

    redis.restart().expect("restart redis-server");
    // The connection manager reconnects on its own; allow it a few attempts.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let after = loop {
        match store.create("u", SessionData::default()).await {
            Ok(session) => break session,
            Err(error) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "store did not recover: {error}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    // The restarted server is empty (no persistence): the old session is gone, the new one works.
    assert_eq!(store.load(&before.id).await.expect("load"), None);
    assert!(
        store
            .load_and_extend(&after.id)
            .await
            .expect("load")
            .is_some()
    );
    assert!(store.delete(&after.id).await.expect("delete"));
}

#[tokio::test]
async fn unreachable_redis_is_a_typed_error_at_build() {
    let redis = start_redis();
    let mut config = redis_config(&redis);
    drop(redis);
    config.connection_timeout = Duration::from_millis(300);
    let built = build_store(&StoreConfig::Redis(config), policy_ms(1_000, 10_000)).await;
    assert!(
        matches!(built, Err(StoreError::Unavailable(_))),
        "{built:?}"
    );
}

#[tokio::test]
async fn bad_key_prefix_is_rejected_by_name() {
    let redis = start_redis();
    let mut config = redis_config(&redis);
    config.key_prefix = "sessions*".into();
    let built = build_store(&StoreConfig::Redis(config), policy_ms(1_000, 10_000)).await;
    match built {
        Err(StoreError::Config(message)) => assert!(message.contains("key_prefix"), "{message}"),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}
