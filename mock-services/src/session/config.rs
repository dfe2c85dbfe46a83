//! The list of session backends, backend selection as plain data, and the one factory that
//! knows every backend.

use super::error::StoreError;
use super::id::SessionId;
use super::memory::MAX_ABSOLUTE_TIMEOUT;
pub use super::memory::MemoryConfig;
use super::record::{Session, SessionData, SessionPolicy};
use super::{DashMapStore, PapayaStore, RedisStore, SaveOutcome, SccStore, SessionStore};
use std::time::Duration;

pub use vocabulary::Backend;

/// Which backend holds sessions, with its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    DashMap(MemoryConfig),
    Scc(MemoryConfig),
    Papaya(MemoryConfig),
    /// A single node, or a cluster when `cluster_nodes` is not empty.
    Redis(RedisConfig),
}

impl StoreConfig {
    /// The configuration of `backend` when it is an in-memory one.
    pub fn in_memory(backend: Backend, memory: MemoryConfig) -> Option<StoreConfig> {
        match backend {
            Backend::Dashmap => Some(StoreConfig::DashMap(memory)),
            Backend::Scc => Some(StoreConfig::Scc(memory)),
            Backend::Papaya => Some(StoreConfig::Papaya(memory)),
            Backend::Redis | Backend::RedisCluster => None,
        }
    }
}

/// Settings of the Redis backend. The timeouts are set on purpose: redis-rs's defaults (1 s
/// connect, 500 ms response, 50-command pipeline buffer) turn into errors under heavy load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://host:port/db` (single node).
    pub url: String,
    /// A Redis Cluster's seed nodes, `redis://host:port` each; when not empty, `url` is unused
    /// and the store talks to the cluster.
    pub cluster_nodes: Vec<String>,
    /// Namespace of this store's keys, e.g. `ssobench:store:`; letters, digits and `:-_.` only,
    /// so it is also a literal SCAN pattern.
    pub key_prefix: String,
    pub connection_timeout: Duration,
    pub response_timeout: Duration,
    /// Commands that may wait for the connection's writer at once.
    pub pipeline_buffer: usize,
    /// Reconnection attempts per failure before an operation gives up (the next one tries again).
    pub reconnect_retries: usize,
    pub max_reconnect_delay: Duration,
}

impl RedisConfig {
    pub fn new(url: impl Into<String>, key_prefix: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            cluster_nodes: Vec::new(),
            key_prefix: key_prefix.into(),
            connection_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
            pipeline_buffer: 4096,
            reconnect_retries: 2,
            max_reconnect_delay: Duration::from_millis(500),
        }
    }
}

impl RedisConfig {
    /// A Redis Cluster reached through `nodes` (any of its nodes; the client finds the rest).
    pub fn cluster(nodes: Vec<String>, key_prefix: impl Into<String>) -> Self {
        RedisConfig {
            cluster_nodes: nodes,
            ..RedisConfig::new(String::new(), key_prefix)
        }
    }
}

/// A store of any backend, dispatched by `match` (static, inlinable) rather than `dyn`.
#[derive(Debug, Clone)]
pub enum AnyStore {
    DashMap(DashMapStore),
    Scc(SccStore),
    Papaya(PapayaStore),
    Redis(RedisStore),
}

/// Builds the configured backend. The only place that knows every backend.
pub async fn build_store(
    config: &StoreConfig,
    policy: SessionPolicy,
) -> Result<AnyStore, StoreError> {
    if policy.idle.is_zero() || policy.absolute.is_zero() {
        return Err(StoreError::Config(
            "idle and absolute timeouts must be positive".into(),
        ));
    }
    let in_memory = !matches!(config, StoreConfig::Redis(_));
    if in_memory && policy.absolute > MAX_ABSOLUTE_TIMEOUT {
        return Err(StoreError::Config(format!(
            "an absolute timeout of {} is longer than the in-memory stores keep ({}, 49.7 days)",
            humantime::format_duration(policy.absolute),
            humantime::format_duration(MAX_ABSOLUTE_TIMEOUT)
        )));
    }
    Ok(match config {
        StoreConfig::DashMap(memory) => AnyStore::DashMap(DashMapStore::new(policy, memory)),
        StoreConfig::Scc(memory) => AnyStore::Scc(SccStore::new(policy, memory)),
        StoreConfig::Papaya(memory) => AnyStore::Papaya(PapayaStore::new(policy, memory)),
        StoreConfig::Redis(redis) => {
            let prefix_ok = !redis.key_prefix.is_empty()
                && redis
                    .key_prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b":-_.".contains(&b));
            if !prefix_ok {
                return Err(StoreError::Config(format!(
                    "key_prefix {:?}: use letters, digits and `:-_.` only",
                    redis.key_prefix
                )));
            }
            AnyStore::Redis(RedisStore::connect(redis, policy).await?)
        }
    })
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::DashMap($store) => $call,
            AnyStore::Scc($store) => $call,
            AnyStore::Papaya($store) => $call,
            AnyStore::Redis($store) => $call,
        }
    };
}

/// Like `dispatch!` for `async` calls, with the Redis call's future boxed. An `async fn` over
/// an enum is as large as its largest arm's future, and the Redis arm's are hundreds of bytes
/// (`load`: 360 unboxed, 32 boxed): unboxed, every in-memory call built and moved a future that
/// size. Boxing costs the Redis arm one allocation against a network round trip.
macro_rules! dispatch_async {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::DashMap($store) => $call.await,
            AnyStore::Scc($store) => $call.await,
            AnyStore::Papaya($store) => $call.await,
            AnyStore::Redis($store) => Box::pin($call).await,
        }
    };
}

impl SessionStore for AnyStore {
    fn backend_name(&self) -> &'static str {
        dispatch!(self, store => store.backend_name())
    }

    fn policy(&self) -> SessionPolicy {
        dispatch!(self, store => store.policy())
    }

    async fn create(&self, user_id: &str, data: SessionData) -> Result<Session, StoreError> {
        dispatch_async!(self, store => store.create(user_id, data))
    }

    // The lookups call the in-memory stores' synchronous forms directly: no nested future
    // to build and poll on the hot path.
    async fn load(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        match self {
            AnyStore::DashMap(store) => Ok(store.load_now(id)),
            AnyStore::Scc(store) => Ok(store.load_now(id)),
            AnyStore::Papaya(store) => Ok(store.load_now(id)),
            AnyStore::Redis(store) => Box::pin(store.load(id)).await,
        }
    }

    async fn load_and_extend(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        match self {
            AnyStore::DashMap(store) => Ok(store.load_and_extend_now(id)),
            AnyStore::Scc(store) => Ok(store.load_and_extend_now(id)),
            AnyStore::Papaya(store) => Ok(store.load_and_extend_now(id)),
            AnyStore::Redis(store) => Box::pin(store.load_and_extend(id)).await,
        }
    }

    async fn save(&self, session: &mut Session) -> Result<SaveOutcome, StoreError> {
        dispatch_async!(self, store => store.save(session))
    }

    async fn rotate(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        dispatch_async!(self, store => store.rotate(id))
    }

    async fn delete(&self, id: &SessionId) -> Result<bool, StoreError> {
        dispatch_async!(self, store => store.delete(id))
    }

    async fn live_count(&self) -> Result<u64, StoreError> {
        dispatch_async!(self, store => store.live_count())
    }
}

impl AnyStore {
    /// The memory the backend holds outside this process: Redis's `used_memory` (every key on
    /// it, summed over a cluster's primaries); `None` for the in-memory backends, whose memory
    /// is this process's.
    pub async fn backend_memory(&self) -> Result<Option<u64>, StoreError> {
        match self {
            AnyStore::Redis(store) => Box::pin(store.used_memory()).await.map(Some),
            AnyStore::DashMap(_) | AnyStore::Scc(_) | AnyStore::Papaya(_) => Ok(None),
        }
    }

    /// Whether every instance of the app shares these sessions (Redis), or each holds its own.
    pub fn shared(&self) -> bool {
        matches!(self, AnyStore::Redis(_))
    }

    /// One bounded sweep of an in-memory store ([`MemoryStore::sweep_some`](super::MemoryStore::sweep_some));
    /// `None` for Redis, whose keys expire by themselves.
    pub fn sweep_some(&self, budget: usize) -> Option<super::Swept> {
        match self {
            AnyStore::DashMap(store) => Some(store.sweep_some(budget)),
            AnyStore::Scc(store) => Some(store.sweep_some(budget)),
            AnyStore::Papaya(store) => Some(store.sweep_some(budget)),
            AnyStore::Redis(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MemoryConfig, StoreConfig, StoreError, build_store};
    use crate::session::{MAX_ABSOLUTE_TIMEOUT, SessionPolicy};
    use std::time::Duration;

    fn policy(absolute: Duration) -> SessionPolicy {
        SessionPolicy {
            idle: Duration::from_secs(60),
            absolute,
        }
    }

    #[test]
    fn every_backend_is_listed_once_and_found_by_its_name() {
        for (index, backend) in super::Backend::ALL.into_iter().enumerate() {
            assert_eq!(super::Backend::from_name(backend.name()), Some(backend));
            assert_eq!(backend.index(), index);
            assert_eq!(
                StoreConfig::in_memory(backend, MemoryConfig::default()).is_some(),
                backend.is_in_memory()
            );
        }
        assert_eq!(super::Backend::from_name("memcached"), None);
    }

    /// The futures callers build on every lookup stay small whatever the Redis arm needs (its
    /// future is boxed; unboxed, `load`'s was 360 bytes).
    #[tokio::test]
    async fn lookup_futures_stay_small() {
        use crate::session::{SessionId, SessionStore};
        let store = build_store(
            &StoreConfig::DashMap(MemoryConfig::default()),
            policy(Duration::from_secs(3600)),
        )
        .await
        .expect("store");
        let id = SessionId::from_bytes([7; 16]);
        let sizes = [
            size_of_val(&store.load(&id)),
            size_of_val(&store.load_and_extend(&id)),
        ];
        assert!(sizes.iter().all(|size| *size <= 64), "{sizes:?}");
    }

    #[tokio::test]
    async fn in_memory_stores_refuse_an_absolute_timeout_they_cannot_keep() {
        let memory = MemoryConfig {
            sweep_interval: None,
            ..MemoryConfig::default()
        };
        for config in [
            StoreConfig::DashMap(memory.clone()),
            StoreConfig::Scc(memory.clone()),
            StoreConfig::Papaya(memory),
        ] {
            assert!(
                build_store(&config, policy(MAX_ABSOLUTE_TIMEOUT))
                    .await
                    .is_ok()
            );
            match build_store(
                &config,
                policy(MAX_ABSOLUTE_TIMEOUT + Duration::from_millis(1)),
            )
            .await
            {
                Err(StoreError::Config(message)) => {
                    assert!(message.contains("49.7 days"), "{message}")
                }
                other => panic!("expected a configuration error, got {other:?}"),
            }
        }
    }
}
