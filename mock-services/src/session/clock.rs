//! Wall-clock time in Unix milliseconds, the unit of every session deadline, and the [`Clock`] an
//! in-memory store is built with: the coarse system clock in production (read by a ticker into
//! an atomic, [`TickedClock`], once a store is built), a [`ManualClock`] that tests move by hand.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
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
    /// The coarse system clock as a ticker last stored it ([`Clock::ticked`]).
    Ticked(TickedClock),
}

impl Clock {
    /// Unix milliseconds by this clock.
    #[inline]
    pub fn now_millis(&self) -> u64 {
        match self {
            Clock::System => now_millis(),
            Clock::Manual(manual) => manual.now_millis(),
            Clock::Ticked(ticked) => ticked.now_millis(),
        }
    }

    /// The clock a store reads on its hot path: [`Clock::System`] becomes a [`TickedClock`]
    /// (one atomic load instead of a vDSO call on every lookup); a manual or ticked clock stays
    /// as it is.
    pub fn ticked(&self) -> Clock {
        match self {
            // Without a thread to tick it, the store reads the system clock itself.
            Clock::System => TickedClock::start(TICK).map_or(Clock::System, Clock::Ticked),
            other => other.clone(),
        }
    }
}

/// How often a [`TickedClock`] reads the system clock: its readings are at most this (plus the
/// ticker's scheduling delay) behind, where deadlines are seconds to hours.
pub const TICK: Duration = Duration::from_millis(5);

/// [`now_millis`] as a ticker last read it, every `tick`. Reading it is one relaxed atomic load
/// (the cache line changes once per tick), where the coarse clock's vDSO call cost 5.4–11.6 ns
/// of a ~25–40 ns session hit. The ticker is a task on the tokio runtime the clock is made on
/// (so an in-process stack's ticker runs, and is counted, on the stack's own threads), or a
/// thread of its own outside one; it holds only a weak reference and ends within a tick of the
/// last clone being dropped. Clones share one time.
#[derive(Debug, Clone)]
pub struct TickedClock(Arc<AtomicU64>);

impl TickedClock {
    /// A clock standing at the system time now, moved every `tick`; an error when no ticker
    /// can be started (outside a runtime, a thread could not be).
    pub fn start(tick: Duration) -> std::io::Result<Self> {
        let now = Arc::new(AtomicU64::new(now_millis()));
        let weak: Weak<AtomicU64> = Arc::downgrade(&now);
        // A plain store, as the system clock itself would read: a wall clock stepped back (NTP)
        // is followed, not held until it catches up.
        let tick_once = move || match weak.upgrade() {
            Some(now) => {
                now.store(now_millis(), Ordering::Relaxed);
                true
            }
            None => false,
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let mut ticks = tokio::time::interval(tick);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    if !tick_once() {
                        return;
                    }
                }
            });
        } else {
            std::thread::Builder::new()
                .name("session-clock".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(tick);
                        if !tick_once() {
                            return;
                        }
                    }
                })?;
        }
        Ok(TickedClock(now))
    }

    #[inline]
    pub fn now_millis(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Two ticked clocks are equal when they are the same clock (clones of one another).
impl PartialEq for TickedClock {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TickedClock {}

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
    use super::{Clock, ManualClock, TickedClock, now_millis};
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_a_runtime_the_ticker_is_a_task_and_stops_with_the_clock() {
        let before = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        let ticked = TickedClock::start(Duration::from_millis(5)).expect("a task");
        assert_eq!(
            tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks(),
            before + 1
        );
        let first = ticked.now_millis();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(ticked.now_millis() >= first + 150, "it moved");
        drop(ticked);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks(),
            before,
            "the ticker ended with its clock"
        );
    }

    #[test]
    fn a_ticked_clock_follows_the_system_clock_within_its_tick() {
        let ticked = TickedClock::start(Duration::from_millis(5)).expect("a thread");
        let first = ticked.now_millis();
        std::thread::sleep(Duration::from_millis(200));
        let later = ticked.now_millis();
        let system = now_millis();
        assert!(later >= first + 150, "it moved: {first} → {later}");
        // Five-millisecond ticks, the coarse clock's own 4 ms, and a busy machine's scheduling.
        assert!(
            system.abs_diff(later) <= 100,
            "system {system}, ticked {later}"
        );
        let clock = Clock::System.ticked();
        assert!(matches!(clock, Clock::Ticked(_)));
        assert_eq!(clock.ticked(), clock, "a ticked clock stays the same clock");
        let manual = Clock::Manual(ManualClock::new());
        assert_eq!(manual.ticked(), manual, "tests keep their manual clock");
    }
}
