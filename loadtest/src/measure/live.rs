//! The run's per-second figures, gathered without a process-wide lock on the measured path.
//!
//! Users count into the [`LiveCounters`] of their shard (atomics: a few shards per generator
//! thread, so two threads seldom count into one at the same instant; see
//! `measure::shards` for why not one set per user). Once a second the sampler sums the
//! shards' counters. No lock is taken on the measured path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Status-code slots: 1..=999 by code, 0 for a request that got no answer.
pub const STATUS_SLOTS: usize = 1000;

/// One shard's running counts (its users').
#[derive(Debug)]
pub struct LiveCounters {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub logins: AtomicU64,
    pub password_logins: AtomicU64,
    pub iterations: AtomicU64,
    pub bounces: AtomicU64,
    /// Connections opened (a request that had to connect first).
    pub connections: AtomicU64,
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
            connections: AtomicU64::new(0),
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

    /// A request opened a connection.
    pub fn connection(&self) {
        bump(&self.connections);
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
    pub connections: u64,
    /// By slot (see [`STATUS_SLOTS`]).
    pub statuses: Vec<u64>,
}

impl LiveTotals {
    /// What was counted after `earlier` (a snapshot of the same counters).
    #[must_use]
    pub fn since(&self, earlier: &LiveTotals) -> LiveTotals {
        LiveTotals {
            requests: self.requests.saturating_sub(earlier.requests),
            errors: self.errors.saturating_sub(earlier.errors),
            logins: self.logins.saturating_sub(earlier.logins),
            password_logins: self.password_logins.saturating_sub(earlier.password_logins),
            iterations: self.iterations.saturating_sub(earlier.iterations),
            bounces: self.bounces.saturating_sub(earlier.bounces),
            connections: self.connections.saturating_sub(earlier.connections),
            statuses: self
                .statuses
                .iter()
                .enumerate()
                .map(|(slot, count)| {
                    count.saturating_sub(earlier.statuses.get(slot).copied().unwrap_or(0))
                })
                .collect(),
        }
    }

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

/// Where users count: the counters of every shard.
#[derive(Debug)]
pub struct LiveRegistry {
    shards: Box<[Arc<LiveCounters>]>,
}

impl LiveRegistry {
    /// A registry of `shards` sets of counters (at least one).
    pub fn new(shards: usize) -> Self {
        LiveRegistry {
            shards: (0..shards.max(1))
                .map(|_| Arc::new(LiveCounters::default()))
                .collect(),
        }
    }

    /// The counters user `user` counts into.
    pub fn join(&self, user: usize) -> Arc<LiveCounters> {
        Arc::clone(&self.shards[user % self.shards.len()])
    }

    /// Every shard's counters summed.
    pub fn totals(&self) -> LiveTotals {
        let mut totals = LiveTotals {
            statuses: vec![0; STATUS_SLOTS],
            ..LiveTotals::default()
        };
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        for shard in &self.shards {
            totals.requests += read(&shard.requests);
            totals.errors += read(&shard.errors);
            totals.logins += read(&shard.logins);
            totals.password_logins += read(&shard.password_logins);
            totals.iterations += read(&shard.iterations);
            totals.bounces += read(&shard.bounces);
            totals.connections += read(&shard.connections);
            for (sum, count) in totals.statuses.iter_mut().zip(shard.statuses.iter()) {
                *sum += read(count);
            }
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_summed_over_users_and_statuses_kept_by_code() {
        let registry = LiveRegistry::new(2);
        let a = registry.join(0);
        let b = registry.join(1);
        let c = registry.join(2);
        assert!(Arc::ptr_eq(&a, &c), "users share their shard's counters");
        a.answered(200);
        a.answered(302);
        b.answered(200);
        b.unanswered();
        c.answered(200);
        b.error();
        a.login(true);
        b.login(false);
        let totals = registry.totals();
        assert_eq!(totals.requests, 5);
        assert_eq!(totals.errors, 1);
        assert_eq!((totals.logins, totals.password_logins), (2, 1));
        let codes: Vec<(String, u64)> = totals.status_codes().collect();
        assert_eq!(
            codes,
            [
                (NO_ANSWER.to_owned(), 1),
                ("200".to_owned(), 3),
                ("302".to_owned(), 1)
            ]
        );
        // What came after a snapshot (the end of a warm-up) is what is left.
        a.answered(200);
        a.login(false);
        let after = registry.totals().since(&totals);
        assert_eq!((after.requests, after.errors, after.logins), (1, 0, 1));
        let codes: Vec<(String, u64)> = after.status_codes().collect();
        assert_eq!(codes, [("200".to_owned(), 1)]);
    }
}
