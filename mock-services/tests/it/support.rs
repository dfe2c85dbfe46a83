//! Builds a fresh store of each backend for one test; Redis tests get their own server, Redis
//! Cluster tests share one local cluster per test binary, each under a key prefix of its own.

use mock_services::local_cluster::LocalRedisCluster;
use mock_services::local_redis::LocalRedis;
use mock_services::session::{
    AnyStore, Backend, Clock, ManualClock, MemoryConfig, RedisConfig, SessionPolicy, StoreConfig,
    build_store,
};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A store plus whatever must outlive it (the test's own redis-server), and the time it runs on.
pub struct TestStore {
    pub store: AnyStore,
    pub time: TestTime,
    /// Kept only so the server lives as long as the store.
    pub _redis: Option<LocalRedis>,
}

/// How a test lets time pass: in-memory stores run on a manual clock that moves at once and
/// exactly; Redis expires keys by its own clock, so its cases really wait.
#[derive(Debug, Clone)]
pub enum TestTime {
    Manual(ManualClock),
    Real,
}

impl TestTime {
    pub async fn pass(&self, ms: u64) {
        match self {
            TestTime::Manual(clock) => clock.advance(Duration::from_millis(ms)),
            TestTime::Real => tokio::time::sleep(Duration::from_millis(ms)).await,
        }
    }
}

/// In-memory settings for tests: a fast sweeper, on a manual clock.
pub fn memory_config(clock: &ManualClock) -> MemoryConfig {
    MemoryConfig {
        sweep_interval: Some(Duration::from_millis(20)),
        capacity: 0,
        clock: Clock::Manual(clock.clone()),
    }
}

/// A fresh in-memory store of `backend` on a manual clock.
async fn in_memory(backend: Backend, policy: SessionPolicy) -> TestStore {
    let clock = ManualClock::new();
    let config =
        StoreConfig::in_memory(backend, memory_config(&clock)).expect("an in-memory backend");
    let store = build_store(&config, policy)
        .await
        .unwrap_or_else(|error| panic!("{backend} store: {error}"));
    TestStore {
        store,
        time: TestTime::Manual(clock),
        _redis: None,
    }
}

pub async fn dashmap(policy: SessionPolicy) -> TestStore {
    in_memory(Backend::Dashmap, policy).await
}

pub async fn scc(policy: SessionPolicy) -> TestStore {
    in_memory(Backend::Scc, policy).await
}

pub async fn papaya(policy: SessionPolicy) -> TestStore {
    in_memory(Backend::Papaya, policy).await
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
        time: TestTime::Real,
        _redis: Some(redis),
    }
}

/// The test binary's one local cluster, started by the first test that needs it (a few
/// seconds); its servers end with the test binary.
pub fn shared_cluster() -> &'static LocalRedisCluster {
    static CLUSTER: OnceLock<LocalRedisCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| match LocalRedisCluster::start() {
        Ok(cluster) => cluster,
        Err(error) => panic!("this test needs a local Redis Cluster: {error}"),
    })
}

/// A store on the shared cluster, under a key prefix no other test uses.
pub async fn redis_cluster(policy: SessionPolicy) -> TestStore {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let test = NEXT.fetch_add(1, Ordering::Relaxed);
    let cluster = tokio::task::spawn_blocking(shared_cluster)
        .await
        .expect("cluster start");
    let mut config = RedisConfig::cluster(cluster.urls(), format!("test:{test}:sessions:"));
    config.connection_timeout = Duration::from_millis(500);
    config.response_timeout = Duration::from_secs(2);
    let store = build_store(&StoreConfig::Redis(config), policy)
        .await
        .expect("redis cluster store");
    TestStore {
        store,
        time: TestTime::Real,
        _redis: None,
    }
}

pub fn policy_ms(idle: u64, absolute: u64) -> SessionPolicy {
    SessionPolicy {
        idle: Duration::from_millis(idle),
        absolute: Duration::from_millis(absolute),
    }
}

/// A port free on `ip` just now (for a service whose URL another must know before it starts).
pub fn free_port(ip: &str) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}
