//! Open-model pacing: each user starts its iterations on a fixed schedule (the target rate
//! divided among the users), so a slow system meets the same arrival rate instead of slowing the
//! generator down with it. Iterations that start late are counted; when a user falls more than a
//! whole interval behind, the missed slots are dropped (and counted) rather than bunched up.

use crate::users::stop::{Ended, RunEnd};
use std::time::Duration;
use tokio::time::Instant;

/// Tolerance before an iteration counts as late.
const LATE_AFTER: Duration = Duration::from_millis(1);

/// One user's schedule and what it missed.
#[derive(Debug, Clone)]
pub struct Pacer {
    interval: Option<Duration>,
    next: Option<Instant>,
    pub late: u64,
    pub dropped: u64,
}

impl Pacer {
    pub fn new(interval: Option<Duration>) -> Self {
        Pacer {
            interval,
            next: None,
            late: 0,
            dropped: 0,
        }
    }

    /// The intended time between this user's iterations (`None` in a closed run).
    pub fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// How long until this user's next slot (zero in a closed run or when already due).
    pub fn until_next(&self) -> Duration {
        self.next.map_or(Duration::ZERO, |next| {
            next.saturating_duration_since(Instant::now())
        })
    }

    /// Waits for this user's next slot (closed model: returns at once), or until the run ends.
    pub async fn wait_turn(&mut self, end: &RunEnd) -> Result<(), Ended> {
        let Some(interval) = self.interval else {
            return Ok(());
        };
        let now = Instant::now();
        // Spread the first slots over one interval so users do not start in lockstep.
        let scheduled = *self
            .next
            .get_or_insert_with(|| now + interval.mul_f64(rand::random::<f64>()));
        let mut start = scheduled;
        if now < scheduled {
            end.sleep_until(scheduled).await?;
        } else if now - scheduled > LATE_AFTER {
            self.late += 1;
            let behind = now - scheduled;
            if behind > interval {
                let missed = (behind.as_nanos() / interval.as_nanos().max(1)) as u32;
                self.dropped += u64::from(missed);
                start = scheduled + interval * missed;
            }
        }
        self.next = Some(start + interval);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_user_that_falls_behind_counts_late_and_dropped_slots() {
        let end = RunEnd::default();
        let mut pacer = Pacer::new(Some(Duration::from_millis(100)));
        pacer.wait_turn(&end).await.expect("first slot");
        pacer.wait_turn(&end).await.expect("second slot");
        assert_eq!((pacer.late, pacer.dropped), (0, 0));
        // An iteration that took 350 ms: the next slot is late, and three slots were missed.
        tokio::time::advance(Duration::from_millis(350)).await;
        pacer.wait_turn(&end).await.expect("late slot");
        assert_eq!((pacer.late, pacer.dropped), (1, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_interval_ends_with_the_run() {
        let end = RunEnd::default();
        let _ender = end.end_at(Instant::now() + Duration::from_secs(1));
        let mut pacer = Pacer::new(Some(Duration::from_secs(3600)));
        pacer.next = Some(Instant::now() + Duration::from_secs(3000));
        assert_eq!(pacer.wait_turn(&end).await, Err(Ended));
    }
}
