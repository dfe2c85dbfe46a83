//! Wall-clock time in Unix milliseconds, the unit of every session deadline, and the [`Clock`] an
//! in-memory store is built with: the coarse system clock in production, a [`ManualClock`] that
//! tests move by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Milliseconds since the Unix epoch. Wall-clock (not monotonic) because deadlines are shared
/// with Redis, whose key expiry is wall-clock too.
///
/// On Linux this reads `CLOCK_REALTIME_COARSE`: the time of the last timer tick (1–4 ms
/// resolution), from the vDSO without touching the clock hardware. Session deadlines are
/// seconds to hours, and the precise clock cost about 36 ns on every lookup on the development
/// machine (a third of a 1k-session hit), so the hot path reads the coarse one.
pub fn now_millis() -> u64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
        let seconds = u64::try_from(now.tv_sec).unwrap_or(0);
        let millis = u64::try_from(now.tv_nsec).unwrap_or(0) / 1_000_000;
        seconds.saturating_mul(1000).saturating_add(millis)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        use std::time::{SystemTime, UNIX_EPOCH};
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
            })
    }
}

/// Where an in-memory store reads "now". An enum, not a trait object: the hot path pays one
/// predictable branch, never a virtual call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Clock {
    /// [`now_millis`]: the coarse system clock. What every service runs on.
    #[default]
    System,
    /// Time that moves only when a test moves it.
    Manual(ManualClock),
}

impl Clock {
    /// Unix milliseconds by this clock.
    #[inline]
    pub fn now_millis(&self) -> u64 {
        match self {
            Clock::System => now_millis(),
            Clock::Manual(manual) => manual.now_millis(),
        }
    }
}

/// A clock for tests: starts at the system time it was made, then moves only by
/// [`ManualClock::advance`]. Clones share one time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock standing at the current system time.
    pub fn new() -> Self {
        ManualClock(Arc::new(AtomicU64::new(now_millis())))
    }

    pub fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Moves time forward by `by` (whole milliseconds).
    pub fn advance(&self, by: Duration) {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

/// Two manual clocks are equal when they are the same clock (clones of one another).
impl PartialEq for ManualClock {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ManualClock {}

#[cfg(test)]
mod tests {
    use super::{Clock, ManualClock, now_millis};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    #[test]
    fn agrees_with_the_precise_clock_within_a_few_ticks() {
        for _ in 0..100 {
            let precise = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("after 1970")
                .as_millis() as i64;
            let coarse = now_millis() as i64;
            assert!(
                (precise - coarse).abs() <= 20,
                "precise {precise}, coarse {coarse}"
            );
            std::thread::sleep(Duration::from_micros(300));
        }
    }

    #[test]
    fn a_manual_clock_moves_only_when_told_and_its_clones_follow() {
        let manual = ManualClock::new();
        let clock = Clock::Manual(manual.clone());
        let start = clock.now_millis();
        assert_eq!(clock.now_millis(), start);
        manual.advance(Duration::from_millis(1_500));
        assert_eq!(clock.now_millis(), start + 1_500);
        assert_eq!(clock, Clock::Manual(manual));
        assert_ne!(clock, Clock::Manual(ManualClock::new()));
    }
}
