//! Builds a fresh store of each backend for one test; Redis tests get their own server.

use mock_services::local_redis::LocalRedis;
use mock_services::session::{
    AnyStore, MemoryConfig, RedisConfig, SessionPolicy, StoreConfig, build_store,
};
use std::time::Duration;

/// A store plus whatever must outlive it (the test's own redis-server).
pub struct TestStore {
    pub store: AnyStore,
    /// Kept only so the server lives as long as the store.
    pub _redis: Option<LocalRedis>,
}

/// In-memory settings for tests: a fast sweeper with small batches, so sweeping takes several
/// ticks and the bound per tick is exercised.
pub fn memory_config() -> MemoryConfig {
    MemoryConfig {
        sweep_interval: Some(Duration::from_millis(20)),
        sweep_batch: 256,
        capacity: 0,
    }
}

pub async fn dashmap(policy: SessionPolicy) -> TestStore {
    let store = build_store(&StoreConfig::DashMap(memory_config()), policy)
        .await
        .expect("dashmap store");
    TestStore {
        store,
        _redis: None,
    }
}

pub async fn scc(policy: SessionPolicy) -> TestStore {
    let store = build_store(&StoreConfig::Scc(memory_config()), policy)
        .await
        .expect("scc store");
    TestStore {
        store,
        _redis: None,
    }
}

/// Starts a private redis-server; fails the test (never skips it) when Redis is not installed.
pub fn start_redis() -> LocalRedis {
    match LocalRedis::start() {
        Ok(redis) => redis,
        Err(error) => panic!("this test needs a local redis-server: {error}"),
    }
}

pub fn redis_config(redis: &LocalRedis) -> RedisConfig {
    let mut config = RedisConfig::new(redis.url(), "test:sessions:");
    // Short enough that the recovery test sees failures quickly.
    config.connection_timeout = Duration::from_millis(500);
    config.response_timeout = Duration::from_secs(2);
    config
}

pub async fn redis(policy: SessionPolicy) -> TestStore {
    let redis = start_redis();
    let store = build_store(&StoreConfig::Redis(redis_config(&redis)), policy)
        .await
        .expect("redis store");
    TestStore {
        store,
        _redis: Some(redis),
    }
}

pub fn policy_ms(idle: u64, absolute: u64) -> SessionPolicy {
    SessionPolicy {
        idle: Duration::from_millis(idle),
        absolute: Duration::from_millis(absolute),
    }
}
