//! Backend selection as plain data, and the one factory that knows every backend.

use super::error::StoreError;
use super::id::SessionId;
pub use super::memory::MemoryConfig;
use super::record::{Session, SessionData, SessionPolicy};
use super::{DashMapStore, RedisStore, SaveOutcome, SccStore, SessionStore};
use std::time::Duration;

/// Which backend holds sessions, with its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    DashMap(MemoryConfig),
    Scc(MemoryConfig),
    Redis(RedisConfig),
}

/// Settings of the Redis backend. The timeouts are set on purpose: redis-rs's defaults (1 s
/// connect, 500 ms response, 50-command pipeline buffer) turn into errors under heavy load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://host:port/db`.
    pub url: String,
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
            key_prefix: key_prefix.into(),
            connection_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
            pipeline_buffer: 4096,
            reconnect_retries: 2,
            max_reconnect_delay: Duration::from_millis(500),
        }
    }
}

/// A store of any backend, dispatched by `match` (static, inlinable) rather than `dyn`.
#[derive(Debug, Clone)]
pub enum AnyStore {
    DashMap(DashMapStore),
    Scc(SccStore),
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
    Ok(match config {
        StoreConfig::DashMap(memory) => AnyStore::DashMap(DashMapStore::new(policy, memory)),
        StoreConfig::Scc(memory) => AnyStore::Scc(SccStore::new(policy, memory)),
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
            AnyStore::Redis($store) => $call,
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
        dispatch!(self, store => store.create(user_id, data).await)
    }

    async fn load(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        dispatch!(self, store => store.load(id).await)
    }

    async fn load_and_extend(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        dispatch!(self, store => store.load_and_extend(id).await)
    }

    async fn save(&self, session: &mut Session) -> Result<SaveOutcome, StoreError> {
        dispatch!(self, store => store.save(session).await)
    }

    async fn rotate(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        dispatch!(self, store => store.rotate(id).await)
    }

    async fn delete(&self, id: &SessionId) -> Result<bool, StoreError> {
        dispatch!(self, store => store.delete(id).await)
    }

    async fn live_count(&self) -> Result<u64, StoreError> {
        dispatch!(self, store => store.live_count().await)
    }
}
