//! What a store tells of its sessions while a run goes on ([`SessionGauges`], answered at
//! [`SESSIONS_ROUTE`]): the load runner samples it into a run's timeline, for stacks it does not
//! hold in its own process.

use serde::{Deserialize, Serialize};

/// Where a store answers its gauges (`GET`, JSON [`SessionGauges`]).
pub const SESSIONS_ROUTE: &str = "/ssobench/sessions";

/// A store's sessions now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionGauges {
    /// Sessions its backend holds (in memory: entries not yet swept; Redis: keys whose TTL has
    /// not passed, counted by SCAN).
    pub sessions_alive: u64,
    /// The memory the backend holds outside the app's process (Redis's `used_memory`, every key
    /// on it); `None` for an in-memory backend, whose memory is the process's.
    pub backend_memory_bytes: Option<u64>,
    /// Whether every instance of the app answers for the same sessions (Redis): counted once,
    /// not summed over instances.
    pub shared: bool,
}
