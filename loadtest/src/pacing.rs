//! Open-model pacing: each user starts its iterations on a fixed schedule (the target rate
//! divided among the users), so a slow system meets the same arrival rate instead of slowing the
//! generator down with it. Iterations that start late are counted; when a user falls more than a
//! whole interval behind, the missed slots are dropped (and counted) rather than bunched up.

use crate::recorder::RunRecorder;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

/// Tolerance before an iteration counts as late.
const LATE_AFTER: Duration = Duration::from_millis(1);

/// One user's schedule.
#[derive(Debug, Clone)]
pub struct Pacer {
    interval: Option<Duration>,
    next: Option<Instant>,
}

impl Pacer {
    pub fn new(interval: Option<Duration>) -> Self {
        Pacer {
            interval,
            next: None,
        }
    }

    /// The intended time between this user's iterations (`None` in a closed run).
    pub fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// Waits for this user's next slot (closed model: returns at once).
    pub async fn wait_turn(&mut self, run: &RunRecorder) {
        let Some(interval) = self.interval else {
            return;
        };
        let now = Instant::now();
        // Spread the first slots over one interval so users do not start in lockstep.
        let scheduled = *self
            .next
            .get_or_insert_with(|| now + interval.mul_f64(rand::random::<f64>()));
        let mut start = scheduled;
        if now < scheduled {
            tokio::time::sleep_until(scheduled).await;
        } else if now - scheduled > LATE_AFTER {
            run.late.fetch_add(1, Ordering::Relaxed);
            let behind = now - scheduled;
            if behind > interval {
                let missed = (behind.as_nanos() / interval.as_nanos().max(1)) as u32;
                run.dropped.fetch_add(u64::from(missed), Ordering::Relaxed);
                start = scheduled + interval * missed;
            }
        }
        self.next = Some(start + interval);
    }
}
