//! Wall-clock time in Unix milliseconds, the unit of every session deadline.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch. Wall-clock (not monotonic) because deadlines are shared
/// with Redis, whose key expiry is wall-clock too.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}
