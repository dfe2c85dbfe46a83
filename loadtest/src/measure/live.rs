//! The run's per-second figures, gathered without a process-wide lock on the measured path.
//!
//! Each user counts into its own [`LiveCounters`] (atomics that only its task writes, so no
//! cache line is fought over) and records hop latencies into its own
//! `hdrhistogram::sync::Recorder`. Once a second the sampler sums the counters and refreshes the
//! run's `SyncHistogram`, which collects every recorder's interval histogram. The only locks
//! are taken when a user joins and once a second by the sampler.

use crate::measure::recorder::histogram;
use hdrhistogram::sync::{IdleRecorder, Recorder, SyncHistogram};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Status-code slots: 1..=999 by code, 0 for a request that got no answer.
pub const STATUS_SLOTS: usize = 1000;

/// One user's running counts.
#[derive(Debug)]
pub struct LiveCounters {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub logins: AtomicU64,
    pub password_logins: AtomicU64,
    pub iterations: AtomicU64,
    pub bounces: AtomicU64,
    statuses: Box<[AtomicU64]>,
}

impl Default for LiveCounters {
    fn default() -> Self {
        LiveCounters {
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            logins: AtomicU64::new(0),
            password_logins: AtomicU64::new(0),
            iterations: AtomicU64::new(0),
            bounces: AtomicU64::new(0),
            statuses: (0..STATUS_SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl LiveCounters {
    /// A request answered with `status`.
    pub fn answered(&self, status: u16) {
        bump(&self.requests);
        bump(&self.statuses[usize::from(status).min(STATUS_SLOTS - 1)]);
    }

    /// A request that got no answer: it was sent, so it counts as a request (error rates
    /// divide by requests); its failure is counted by the caller.
    pub fn unanswered(&self) {
        bump(&self.requests);
        bump(&self.statuses[0]);
    }

    pub fn error(&self) {
        bump(&self.errors);
    }

    pub fn login(&self, with_password: bool) {
        bump(&self.logins);
        if with_password {
            bump(&self.password_logins);
        }
    }

    pub fn iteration(&self) {
        bump(&self.iterations);
    }

    /// Sent to `/login` because the session was gone.
    pub fn bounce(&self) {
        bump(&self.bounces);
    }
}

/// The sum of every user's counters at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveTotals {
    pub requests: u64,
    pub errors: u64,
    pub logins: u64,
    pub password_logins: u64,
    pub iterations: u64,
    pub bounces: u64,
    /// By slot (see [`STATUS_SLOTS`]).
    pub statuses: Vec<u64>,
}

impl LiveTotals {
    /// Status codes with counts, `"no answer"` for slot 0.
    pub fn status_codes(&self) -> impl Iterator<Item = (String, u64)> + '_ {
        self.statuses
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(slot, count)| {
                let name = if slot == 0 {
                    NO_ANSWER.to_owned()
                } else {
                    slot.to_string()
                };
                (name, *count)
            })
    }
}

/// The status-code key of requests that got no HTTP answer.
pub const NO_ANSWER: &str = "no answer";

/// Where users join: the counters of every user, and the source of latency recorders.
#[derive(Debug)]
pub struct LiveRegistry {
    users: Mutex<Vec<Arc<LiveCounters>>>,
    /// Not counted as a recorder itself (an idle one): the sampler never waits for it.
    recorders: Mutex<IdleRecorder<Recorder<u64>, u64>>,
}

impl LiveRegistry {
    /// A registry, and the histogram its recorders feed (for the sampler).
    pub fn new() -> (Self, SyncHistogram<u64>) {
        let latency: SyncHistogram<u64> = histogram().into_sync();
        let registry = LiveRegistry {
            users: Mutex::new(Vec::new()),
            recorders: Mutex::new(latency.recorder().into_idle()),
        };
        (registry, latency)
    }

    /// A new user's counters.
    pub fn join(&self) -> Arc<LiveCounters> {
        let counters = Arc::new(LiveCounters::default());
        self.users
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&counters));
        counters
    }

    /// A latency recorder for one user's hops.
    pub fn latency_recorder(&self) -> Recorder<u64> {
        self.recorders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recorder()
    }

    /// Every user's counters summed.
    pub fn totals(&self) -> LiveTotals {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        let mut totals = LiveTotals {
            statuses: vec![0; STATUS_SLOTS],
            ..LiveTotals::default()
        };
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        for user in users.iter() {
            totals.requests += read(&user.requests);
            totals.errors += read(&user.errors);
            totals.logins += read(&user.logins);
            totals.password_logins += read(&user.password_logins);
            totals.iterations += read(&user.iterations);
            totals.bounces += read(&user.bounces);
            for (sum, count) in totals.statuses.iter_mut().zip(user.statuses.iter()) {
                *sum += read(count);
            }
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counts_are_summed_over_users_and_statuses_kept_by_code() {
        let (registry, _latency) = LiveRegistry::new();
        let a = registry.join();
        let b = registry.join();
        a.answered(200);
        a.answered(302);
        b.answered(200);
        b.unanswered();
        b.error();
        a.login(true);
        b.login(false);
        let totals = registry.totals();
        assert_eq!(totals.requests, 4);
        assert_eq!(totals.errors, 1);
        assert_eq!((totals.logins, totals.password_logins), (2, 1));
        let codes: Vec<(String, u64)> = totals.status_codes().collect();
        assert_eq!(
            codes,
            [
                (NO_ANSWER.to_owned(), 1),
                ("200".to_owned(), 2),
                ("302".to_owned(), 1)
            ]
        );
    }

    #[test]
    fn recorders_hand_their_interval_to_the_sampler() {
        let (registry, mut latency) = LiveRegistry::new();
        let mut recorder = registry.latency_recorder();
        recorder.record(500).expect("record");
        // The sampler's refresh starts a new interval; the recorder hands its histogram over at
        // its next sample (or when dropped).
        latency.refresh_timeout(Duration::ZERO);
        recorder.record(70_000).expect("record");
        latency.refresh_timeout(Duration::from_secs(1));
        assert_eq!(latency.len(), 2);
        drop(recorder);
        latency.refresh_timeout(Duration::ZERO);
        assert_eq!(latency.len(), 2);
    }
}
