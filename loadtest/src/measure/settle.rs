//! When measuring starts: the warm-up is the first part of the measured attack, and it ends at
//! the first second the request rate has settled (the [`SettleRule`]) or at its limit. From then
//! on the [`MeasureClock`] is set, and everything the run reports counts from it.
//!
//! Why inside the attack: a warm-up run as an attack of its own ended its users, so the measured
//! attack's users logged in again and the measured run began with a burst of password logins on
//! cold connections — the very thing a warm-up is there to leave out.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime};

/// The rule that ends a warm-up: the last `seconds` one-second request counts, all taken with
/// every user started, are each within `within` of their mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SettleRule {
    pub seconds: usize,
    /// A share (0.05: ±5%).
    pub within: f64,
}

impl SettleRule {
    /// The rule runs use unless told otherwise: three seconds within ±5%.
    pub const DEFAULT: SettleRule = SettleRule {
        seconds: 3,
        within: 0.05,
    };

    /// Whether these one-second request counts (oldest first) have settled: the last
    /// `seconds` of them each within `within` of their mean, which is above zero.
    pub fn holds(&self, counts: &[u64]) -> bool {
        if self.seconds == 0 || counts.len() < self.seconds {
            return false;
        }
        let last = &counts[counts.len() - self.seconds..];
        let mean = last.iter().sum::<u64>() as f64 / last.len() as f64;
        mean > 0.0
            && last
                .iter()
                .all(|&count| (count as f64 - mean).abs() <= self.within * mean)
    }

    /// The rule in words, for results and reports.
    pub fn describe(&self) -> String {
        format!(
            "the last {} one-second request counts, every user started, each within ±{:.0}% of \
             their mean",
            self.seconds,
            self.within * 100.0
        )
    }
}

/// A run's warm-up as planned: at most `limit_seconds` from the attack's start (never before
/// the last user is due to start), ended sooner by `rule` when there is one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WarmUpPlan {
    pub limit_seconds: u64,
    /// `None`: the warm-up runs to its limit (a fixed warm-up).
    pub rule: Option<SettleRule>,
}

impl WarmUpPlan {
    /// No warm-up: measuring starts with the attack.
    pub const NONE: WarmUpPlan = WarmUpPlan {
        limit_seconds: 0,
        rule: None,
    };

    pub fn is_none(&self) -> bool {
        self.limit_seconds == 0
    }
}

/// Why a warm-up ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmUpEnd {
    /// Its rule held.
    Settled,
    /// It reached its limit (the rule never held, or there was none).
    Limit,
}

/// Follows a warm-up second by second and says when it ends.
#[derive(Debug, Clone)]
pub struct WarmUpWatch {
    plan: WarmUpPlan,
    /// The request count of each second since every user had started.
    counts: Vec<u64>,
    everyone_started: bool,
}

impl WarmUpWatch {
    pub fn new(plan: WarmUpPlan) -> Self {
        WarmUpWatch {
            plan,
            counts: Vec::new(),
            everyone_started: false,
        }
    }

    /// Second `second` (from 1) has ended with `requests` in it; `everyone_started` says
    /// whether every user had started by its end (a second counts towards the rule only when
    /// every user had started before it began). `Some` when the warm-up ends with it.
    pub fn second(
        &mut self,
        second: u64,
        requests: u64,
        everyone_started: bool,
    ) -> Option<WarmUpEnd> {
        if everyone_started && self.everyone_started {
            self.counts.push(requests);
        }
        self.everyone_started |= everyone_started;
        if self
            .plan
            .rule
            .is_some_and(|rule| second <= self.plan.limit_seconds && rule.holds(&self.counts))
        {
            return Some(WarmUpEnd::Settled);
        }
        (second >= self.plan.limit_seconds).then_some(WarmUpEnd::Limit)
    }
}

/// The measured run's zero, set once: at the attack's start without a warm-up, at the end of
/// the warm-up with one. Until it is set nothing is measured: users' counts and histograms and
/// the interval logs all wait for it. Shared by the run's users, its sampler and its logs.
#[derive(Debug, Default)]
pub struct MeasureClock {
    zero: OnceLock<(Instant, SystemTime)>,
}

impl MeasureClock {
    /// Starts measuring from `at` (monotonic) and `wall` (the same instant by the wall clock);
    /// a second call changes nothing.
    pub fn start(&self, at: Instant, wall: SystemTime) {
        let _ = self.zero.set((at, wall));
    }

    /// The measured run's zero, once measuring has started.
    pub fn zero(&self) -> Option<Instant> {
        self.zero.get().map(|(at, _)| *at)
    }

    /// The measured run's zero by the wall clock.
    pub fn wall(&self) -> Option<SystemTime> {
        self.zero.get().map(|(_, wall)| *wall)
    }

    pub fn is_measuring(&self) -> bool {
        self.zero.get().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_holds_only_on_enough_counts_within_the_share_of_their_mean() {
        let rule = SettleRule::DEFAULT;
        assert!(rule.holds(&[100, 103, 98]));
        assert!(rule.holds(&[20, 500, 100, 103, 98]), "only the last three");
        assert!(!rule.holds(&[100, 103]), "too few");
        assert!(!rule.holds(&[100, 112, 98]), "112 is 8% above the mean");
        assert!(!rule.holds(&[0, 0, 0]), "no requests is not settled");
        assert!(rule.describe().contains("±5%"));
    }

    #[test]
    fn a_warm_up_ends_when_the_rate_settles_or_at_its_limit() {
        let plan = WarmUpPlan {
            limit_seconds: 10,
            rule: Some(SettleRule::DEFAULT),
        };
        // Users start over the first two seconds; the first full second after is the third.
        let mut watch = WarmUpWatch::new(plan);
        let seconds = [
            (50, false),
            (80, true),
            (95, true),
            (100, true),
            (101, true),
        ];
        let ends: Vec<_> = seconds
            .iter()
            .zip(1..)
            .map(|(&(requests, started), second)| watch.second(second, requests, started))
            .collect();
        // Second 2 began before every user had started: counted from second 3 (95, 100, 101).
        assert_eq!(ends, [None, None, None, None, Some(WarmUpEnd::Settled)]);

        // A rate that keeps swinging ends at the limit.
        let mut swinging = WarmUpWatch::new(plan);
        let ends: Vec<_> = (1..=10)
            .map(|second| swinging.second(second, if second % 2 == 0 { 80 } else { 120 }, true))
            .collect();
        assert_eq!(ends[..9], [None; 9]);
        assert_eq!(ends[9], Some(WarmUpEnd::Limit));

        // A fixed warm-up ignores a settled rate.
        let mut fixed = WarmUpWatch::new(WarmUpPlan {
            limit_seconds: 4,
            rule: None,
        });
        let ends: Vec<_> = (1..=4)
            .map(|second| fixed.second(second, 100, true))
            .collect();
        assert_eq!(ends, [None, None, None, Some(WarmUpEnd::Limit)]);
    }

    #[test]
    fn the_clock_is_set_once() {
        let clock = MeasureClock::default();
        assert!(!clock.is_measuring());
        let first = Instant::now();
        clock.start(first, SystemTime::UNIX_EPOCH);
        clock.start(Instant::now(), SystemTime::now());
        assert_eq!(clock.zero(), Some(first));
        assert_eq!(clock.wall(), Some(SystemTime::UNIX_EPOCH));
    }
}
