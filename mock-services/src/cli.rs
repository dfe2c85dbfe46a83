//! Command-line flags every binary shares to pick a session backend, and the backend they
//! resolve to (with the local Redis or Redis Cluster started for it).

use crate::error::StackError;
use crate::local_cluster::LocalRedisCluster;
use crate::local_redis::{LocalRedis, Persistence};
pub use crate::session::Backend;
use crate::session::{Clock, MemoryConfig, RedisConfig, StoreConfig};
use std::sync::{Arc, Mutex, PoisonError};

/// `--backend` and `--redis-url`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args, serde::Serialize, serde::Deserialize)]
pub struct BackendArgs {
    /// Where sessions live.
    #[arg(long, value_enum, default_value_t = Backend::Dashmap)]
    pub backend: Backend,
    /// Redis to use with `--backend redis` (e.g. redis://127.0.0.1:6379/0). Without it a
    /// throwaway local redis-server is started on a free loopback port.
    #[arg(long)]
    pub redis_url: Option<String>,
    /// Persistence of the redis-server the tool starts (not of one at --redis-url): none
    /// (a restart loses every session), aof-everysec (may lose about the last second of
    /// writes), aof-always (loses no write it answered). A session survives a Redis outage
    /// only if the outage is shorter than its idle timeout.
    #[arg(long, value_enum, default_value_t = Persistence::None)]
    pub redis_persistence: Persistence,
    /// Nodes of a Redis Cluster to use with `--backend redis-cluster`, comma-separated
    /// (e.g. redis://127.0.0.1:7000,redis://127.0.0.1:7001). Without them a throwaway local
    /// cluster (3 primaries, 3 replicas) is started on free loopback ports.
    #[arg(long, value_delimiter = ',')]
    pub redis_cluster_urls: Vec<String>,
}

/// `--handicap BACKEND:DURATION`, a device for testing the tool itself: an app on that backend
/// spends `cost` of CPU (a busy wait) on every session lookup, so a comparison has a difference
/// it must find. Not a model of anything real.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Handicap {
    pub backend: Backend,
    pub cost: std::time::Duration,
}

impl Handicap {
    /// Reads `BACKEND:DURATION` (`dashmap:20us`); the duration above zero, at most 1 s.
    pub fn parse(text: &str) -> Result<Handicap, String> {
        let (backend, cost) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?}: expected BACKEND:DURATION, e.g. dashmap:20us"))?;
        let backend = Backend::from_name(backend.trim()).ok_or_else(|| {
            format!(
                "{text:?}: no backend {:?} (one of {})",
                backend.trim(),
                Backend::ALL.map(|b| b.name()).join(", ")
            )
        })?;
        let cost =
            humantime::parse_duration(cost.trim()).map_err(|error| format!("{text:?}: {error}"))?;
        if cost.is_zero() || cost > std::time::Duration::from_secs(1) {
            return Err(format!(
                "{text:?}: the handicap must be above zero and at most 1s"
            ));
        }
        Ok(Handicap { backend, cost })
    }

    /// The cost for an app on `backend`: this handicap's when it names that backend.
    pub fn cost_on(handicap: Option<Handicap>, backend: Backend) -> Option<std::time::Duration> {
        handicap
            .filter(|handicap| handicap.backend == backend)
            .map(|handicap| handicap.cost)
    }

    /// Spends `cost` of this thread's time, busy (the handicap's work).
    pub fn spend(cost: std::time::Duration) {
        let started = std::time::Instant::now();
        while started.elapsed() < cost {
            std::hint::spin_loop();
        }
    }
}

/// A local `redis-server` shared by the stores built on it and whoever faults it (a run that
/// kills, restarts or pauses it). Its lock is only taken to start, stop or signal it.
pub type SharedRedis = Arc<Mutex<LocalRedis>>;

/// The process id of a shared local server while it runs.
pub fn shared_redis_pid(redis: &SharedRedis) -> Option<u32> {
    redis.lock().unwrap_or_else(PoisonError::into_inner).pid()
}

/// The store configuration chosen on the command line, and the local Redis started for it (if
/// any), which must be kept alive as long as the store is used.
#[derive(Debug)]
pub struct ChosenBackend {
    pub config: StoreConfig,
    pub local_redis: Option<SharedRedis>,
    pub local_cluster: Option<Arc<LocalRedisCluster>>,
}

/// A backend ready to build stores from: several stores (IdP, store, forums) share one Redis,
/// each under its own key prefix.
#[derive(Debug)]
pub struct ResolvedBackend {
    backend: Backend,
    redis_url: Option<String>,
    /// The throwaway server started for `--backend redis` without `--redis-url`; keep it alive
    /// as long as any store built from this is used.
    pub local_redis: Option<SharedRedis>,
    /// The cluster's seed nodes with `--backend redis-cluster`.
    cluster_urls: Vec<String>,
    /// The throwaway cluster started for `--backend redis-cluster` without URLs.
    pub local_cluster: Option<Arc<LocalRedisCluster>>,
}

impl ResolvedBackend {
    /// The configuration of one store, namespaced by `key_prefix` in Redis; in-memory stores
    /// read `clock`.
    pub fn store_config(&self, key_prefix: &str, clock: &Clock) -> StoreConfig {
        let memory = MemoryConfig {
            clock: clock.clone(),
            ..MemoryConfig::default()
        };
        StoreConfig::in_memory(self.backend, memory).unwrap_or_else(|| match self.backend {
            Backend::RedisCluster => {
                StoreConfig::Redis(RedisConfig::cluster(self.cluster_urls.clone(), key_prefix))
            }
            _ => StoreConfig::Redis(RedisConfig::new(
                self.redis_url.clone().unwrap_or_default(),
                key_prefix,
            )),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The flags that point another process at this same backend (a local server or cluster
    /// this one started included): the backend, and its URL or its cluster's nodes.
    pub fn shared_flags(&self) -> BackendArgs {
        BackendArgs {
            backend: self.backend,
            redis_url: self.redis_url.clone(),
            redis_persistence: Persistence::None,
            redis_cluster_urls: self.cluster_urls.clone(),
        }
    }

    /// The process id of the `redis-server` started for this backend, if one was.
    pub fn local_redis_pid(&self) -> Option<u32> {
        self.local_redis.as_ref().and_then(shared_redis_pid)
    }

    /// The process ids of a local cluster's nodes, if one was started.
    pub fn local_cluster_pids(&self) -> Vec<u32> {
        self.local_cluster
            .as_ref()
            .map_or_else(Vec::new, |cluster| cluster.pids())
    }
}

impl BackendArgs {
    /// Checks the flags and starts a local Redis when one is needed. Rejects `--redis-url`
    /// without `--backend redis`, naming the flag.
    pub fn resolve(&self) -> Result<ResolvedBackend, StackError> {
        if self.redis_persistence != Persistence::None
            && !(self.backend == Backend::Redis && self.redis_url.is_none())
        {
            return Err(StackError::refused(format!(
                "--redis-persistence {} sets up the redis-server this tool starts (--backend \
                 redis without --redis-url); a server at --redis-url keeps its own settings",
                self.redis_persistence.name()
            )));
        }
        if !self.redis_cluster_urls.is_empty() && self.backend != Backend::RedisCluster {
            return Err(StackError::refused(format!(
                "--redis-cluster-urls is only used with --backend redis-cluster (got --backend {})",
                self.backend.name()
            )));
        }
        if self.backend == Backend::RedisCluster {
            if self.redis_url.is_some() {
                return Err(StackError::refused(
                    "--redis-url names a single Redis; a cluster's nodes go in --redis-cluster-urls",
                ));
            }
            if !self.redis_cluster_urls.is_empty() {
                return Ok(ResolvedBackend {
                    backend: Backend::RedisCluster,
                    redis_url: None,
                    local_redis: None,
                    cluster_urls: self.redis_cluster_urls.clone(),
                    local_cluster: None,
                });
            }
            let cluster = LocalRedisCluster::start().map_err(|source| StackError::LocalRedis {
                doing: "--backend redis-cluster without --redis-cluster-urls starts a local cluster",
                source,
            })?;
            return Ok(ResolvedBackend {
                backend: Backend::RedisCluster,
                redis_url: None,
                local_redis: None,
                cluster_urls: cluster.urls(),
                local_cluster: Some(Arc::new(cluster)),
            });
        }
        match (self.backend, &self.redis_url) {
            (Backend::Redis, None) => {
                let redis = LocalRedis::start_with(self.redis_persistence).map_err(|source| {
                    StackError::LocalRedis {
                        doing: "--backend redis without --redis-url starts a local redis-server",
                        source,
                    }
                })?;
                Ok(ResolvedBackend {
                    backend: Backend::Redis,
                    redis_url: Some(redis.url()),
                    local_redis: Some(Arc::new(Mutex::new(redis))),
                    cluster_urls: Vec::new(),
                    local_cluster: None,
                })
            }
            (Backend::Redis, Some(url)) => Ok(ResolvedBackend {
                backend: Backend::Redis,
                redis_url: Some(url.clone()),
                local_redis: None,
                cluster_urls: Vec::new(),
                local_cluster: None,
            }),
            (backend, None) => Ok(ResolvedBackend {
                backend,
                redis_url: None,
                local_redis: None,
                cluster_urls: Vec::new(),
                local_cluster: None,
            }),
            (backend, Some(_)) => Err(StackError::refused(format!(
                "--redis-url is only used with --backend redis (got --backend {})",
                backend.name()
            ))),
        }
    }

    /// One store's configuration (see [`BackendArgs::resolve`] for several).
    pub fn choose(&self, key_prefix: &str) -> Result<ChosenBackend, StackError> {
        let resolved = self.resolve()?;
        Ok(ChosenBackend {
            config: resolved.store_config(key_prefix, &Clock::System),
            local_redis: resolved.local_redis,
            local_cluster: resolved.local_cluster,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handicap_reads_as_backend_and_duration_and_bad_ones_are_named() {
        assert_eq!(
            Handicap::parse("scc:20us"),
            Ok(Handicap {
                backend: Backend::Scc,
                cost: std::time::Duration::from_micros(20)
            })
        );
        assert!(
            Handicap::parse("dashmap")
                .expect_err("refused")
                .contains("BACKEND:DURATION")
        );
        assert!(
            Handicap::parse("mysql:20us")
                .expect_err("refused")
                .contains("no backend")
        );
        assert!(
            Handicap::parse("dashmap:0s")
                .expect_err("refused")
                .contains("above zero")
        );
        assert!(Handicap::parse("dashmap:2s").is_err());
        let handicap = Handicap::parse("scc:1ms").ok();
        assert_eq!(Handicap::cost_on(handicap, Backend::Dashmap), None);
        assert_eq!(
            Handicap::cost_on(handicap, Backend::Scc),
            Some(std::time::Duration::from_millis(1))
        );
    }

    fn args(backend: Backend, redis_url: Option<&str>) -> BackendArgs {
        BackendArgs {
            backend,
            redis_url: redis_url.map(str::to_owned),
            redis_persistence: Persistence::None,
            redis_cluster_urls: Vec::new(),
        }
    }

    #[test]
    fn memory_backends_need_no_redis() {
        let chosen = args(Backend::Scc, None).choose("p:").expect("scc");
        assert!(matches!(chosen.config, StoreConfig::Scc(_)));
        assert!(chosen.local_redis.is_none());
    }

    #[test]
    fn a_given_redis_url_is_used_as_is() {
        let chosen = args(Backend::Redis, Some("redis://127.0.0.1:6390/2"))
            .choose("p:")
            .expect("redis");
        match chosen.config {
            StoreConfig::Redis(config) => {
                assert_eq!(config.url, "redis://127.0.0.1:6390/2");
                assert_eq!(config.key_prefix, "p:");
            }
            other => panic!("expected redis, got {other:?}"),
        }
    }

    #[test]
    fn redis_url_without_redis_backend_is_refused_by_name() {
        let error = args(Backend::Dashmap, Some("redis://127.0.0.1:6379"))
            .choose("p:")
            .expect_err("must refuse");
        assert!(error.to_string().contains("--redis-url"), "{error}");
    }

    #[test]
    fn persistence_is_refused_where_the_tool_does_not_start_the_redis() {
        for (backend, url) in [
            (Backend::Dashmap, None),
            (Backend::Redis, Some("redis://127.0.0.1:6390/2")),
        ] {
            let mut args = args(backend, url);
            args.redis_persistence = Persistence::AofAlways;
            let error = args.resolve().expect_err("must refuse");
            assert!(
                error.to_string().contains("--redis-persistence aof-always"),
                "{error}"
            );
        }
    }
}
