//! What the benches share: the backends under test, prefilled stores, and a key picker.

use mock_services::local_cluster::LocalRedisCluster;
use mock_services::local_redis::LocalRedis;
use mock_services::session::{
    AnyStore, Backend, MemoryConfig, RedisConfig, SessionId, SessionPolicy, StoreConfig,
    build_store, prefill,
};
use std::time::Duration;

/// The backends, with the Redis server behind the Redis one and the cluster behind the
/// Redis Cluster one.
pub struct Backends {
    pub redis: Option<LocalRedis>,
    pub cluster: Option<LocalRedisCluster>,
}

impl Backends {
    /// Starts a local redis-server and a local cluster when it can; says why not otherwise
    /// (benches then skip that backend).
    pub fn start() -> Self {
        let redis = LocalRedis::start()
            .map_err(|error| eprintln!("skipping the Redis benchmarks: {error}"))
            .ok();
        let cluster = LocalRedisCluster::start()
            .map_err(|error| eprintln!("skipping the Redis Cluster benchmarks: {error}"))
            .ok();
        Backends { redis, cluster }
    }

    /// Names and configurations of every backend available, in the backend list's order.
    pub fn configs(&self, prefix: &str) -> Vec<(&'static str, StoreConfig)> {
        // No background sweeper: nothing expires during a bench, and its ticks would be noise.
        let memory = MemoryConfig {
            sweep_interval: None,
            ..MemoryConfig::default()
        };
        Backend::ALL
            .into_iter()
            .filter_map(|backend| {
                let config = match StoreConfig::in_memory(backend, memory.clone()) {
                    Some(config) => config,
                    None => {
                        let mut config = match backend {
                            Backend::RedisCluster => {
                                RedisConfig::cluster(self.cluster.as_ref()?.urls(), prefix)
                            }
                            _ => RedisConfig::new(self.redis.as_ref()?.url(), prefix),
                        };
                        config.response_timeout = Duration::from_secs(10);
                        StoreConfig::Redis(config)
                    }
                };
                Some((backend.name(), config))
            })
            .collect()
    }
}

/// Sessions live for an hour: nothing expires while a bench runs.
pub fn policy() -> SessionPolicy {
    SessionPolicy {
        idle: Duration::from_secs(3600),
        absolute: Duration::from_secs(7200),
    }
}

/// Builds a store and puts `count` sessions in it, 64 at a time; returns it and their IDs. An
/// in-memory map is sized for `count` from the start, as the bare maps it is compared with are
/// (a map grown by doubling is sparser, and its lookups touch other cache lines).
pub async fn prefilled(config: &StoreConfig, count: usize) -> (AnyStore, Vec<SessionId>) {
    let mut config = config.clone();
    if let StoreConfig::DashMap(memory) | StoreConfig::Scc(memory) | StoreConfig::Papaya(memory) =
        &mut config
    {
        memory.capacity = count;
    }
    let store = build_store(&config, policy()).await.expect("store");
    let ids = prefill(&store, count, 64).await.expect("prefill");
    (store, ids)
}

/// Walks a fixed random permutation of the keys, so every lookup is a random key and the
/// sequence is the same for every implementation compared.
pub struct Keys {
    order: Vec<usize>,
    next: usize,
}

impl Keys {
    pub fn new(count: usize) -> Self {
        Keys {
            order: bench::order::shuffled(count),
            next: 0,
        }
    }

    pub fn next(&mut self) -> usize {
        let index = self.order[self.next];
        self.next = (self.next + 1) % self.order.len();
        index
    }
}

/// Store sizes every operation is measured at.
pub const SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];

/// `1k`, `100k`, `1M`.
pub fn size_label(size: usize) -> String {
    match size {
        1_000_000.. => format!("{}M", size / 1_000_000),
        1_000.. => format!("{}k", size / 1_000),
        _ => size.to_string(),
    }
}
