//! Wall-clock time in Unix milliseconds, the unit of every session deadline.

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

#[cfg(test)]
mod tests {
    use super::now_millis;
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
}
