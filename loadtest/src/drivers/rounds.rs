//! How many rounds a comparison runs: a fixed number (`--repeat`), or until every pair of
//! arms has a requests/s ratio whose 95% interval lies within `--precision` of it, at least
//! [`MIN_ROUNDS_FOR_PRECISION`] rounds and no longer than `--max-time` allows.

use crate::error::{RunResult, ensure};
use reports::stats;
use std::time::{Duration, Instant};
use vocabulary::Arm;
use vocabulary::results::{Rounds, RoundsStopped};

/// Rounds a precision rule runs before it may stop: with fewer pairs the spread itself is too
/// uncertain to trust an interval that happens to come out narrow.
pub const MIN_ROUNDS_FOR_PRECISION: u32 = 5;
/// The most rounds a comparison runs, whatever else is asked.
pub const MAX_ROUNDS: u32 = 1000;
/// The time budget of a precision rule when none is given.
pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(30 * 60);

/// The flags that decide a comparison's rounds.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RoundsArgs {
    /// Rounds to run, each running every arm once in a rotated order (1 to 1000) [default: 3
    /// in `matrix`, 1 in `store`; with --precision, as many as it takes].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_ROUNDS)), conflicts_with = "precision")]
    pub repeat: Option<u32>,
    /// Add rounds until every pair's requests/s ratio has a 95% interval within this share of
    /// it on the log scale (10%: from ÷1.10 to ×1.10), after at least 5 rounds, or until
    /// --max-time would run out (e.g. 10%).
    #[arg(long, value_name = "PERCENT", value_parser = parse_precision)]
    pub precision: Option<f64>,
    /// Start no round that would end past this much time since the first (e.g. 20m; at most
    /// 24h) [default: 30m with --precision; none with --repeat].
    #[arg(long, value_parser = parse_max_time)]
    pub max_time: Option<Duration>,
}

/// `10%` or `0.1`: a share above 0 and below 1.
fn parse_precision(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let share = match trimmed.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => trimmed.parse::<f64>(),
    }
    .map_err(|_| format!("{text:?}: expected a share such as 10% or 0.1"))?;
    if !(share > 0.0 && share < 1.0) {
        return Err(format!(
            "{text:?}: the precision must be above 0% and below 100%"
        ));
    }
    Ok(share)
}

fn parse_max_time(text: &str) -> Result<Duration, String> {
    let time = humantime::parse_duration(text).map_err(|error| format!("{text:?}: {error}"))?;
    if time.is_zero() || time > Duration::from_secs(24 * 3600) {
        return Err(format!(
            "{text:?}: the time budget must be above zero and at most 24h"
        ));
    }
    Ok(time)
}

/// The rule the rounds follow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Each pair's interval within this share (`None`: run `max_rounds`).
    pub precision: Option<f64>,
    pub min_rounds: u32,
    pub max_rounds: u32,
    pub max_time: Option<Duration>,
}

/// What to do after the rounds so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Run,
    Stop(RoundsStopped),
}

impl RoundsArgs {
    /// The rule these flags ask for; `default_repeat` rounds without either rule flag.
    pub fn policy(&self, default_repeat: u32) -> RunResult<Policy> {
        ensure!(
            self.repeat.is_none() || self.precision.is_none(),
            "--repeat and --precision are two ways to say when to stop: give one"
        );
        Ok(match self.precision {
            Some(precision) => Policy {
                precision: Some(precision),
                min_rounds: MIN_ROUNDS_FOR_PRECISION,
                max_rounds: MAX_ROUNDS,
                max_time: Some(self.max_time.unwrap_or(DEFAULT_MAX_TIME)),
            },
            None => {
                let rounds = self.repeat.unwrap_or(default_repeat);
                Policy {
                    precision: None,
                    min_rounds: rounds,
                    max_rounds: rounds,
                    max_time: self.max_time,
                }
            }
        })
    }
}

impl Policy {
    /// Whether to run another round, given each arm's requests/s so far (`throughputs[arm]`,
    /// one value per round run), the time since the first round started, and how long one
    /// round takes (the mean so far).
    pub fn next(&self, throughputs: &[Vec<f64>], elapsed: Duration, round_time: Duration) -> Next {
        let rounds = throughputs
            .iter()
            .map(Vec::len)
            .min()
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
        if rounds >= self.max_rounds {
            return Next::Stop(if self.precision.is_some() {
                RoundsStopped::RoundLimit
            } else {
                RoundsStopped::Planned
            });
        }
        if let Some(precision) = self.precision
            && rounds >= self.min_rounds
            && widest(throughputs).is_some_and(|reach| reach <= precision)
        {
            return Next::Stop(RoundsStopped::PrecisionReached);
        }
        if rounds > 0
            && let Some(budget) = self.max_time
            && elapsed + round_time > budget
        {
            return Next::Stop(RoundsStopped::TimeBudget);
        }
        Next::Run
    }
}

/// A comparison's rounds as they run, for any kind of arm: asks the rule before each round,
/// gives the round's order, keeps each arm's requests/s, and ends as the [`Rounds`] record.
/// The drivers (`matrix`, `store`) only run the legs.
#[derive(Debug)]
pub struct Ledger {
    policy: Policy,
    started: Instant,
    /// `throughputs[arm]`: one requests/s per round run.
    throughputs: Vec<Vec<f64>>,
    round: u32,
    stopped: Option<RoundsStopped>,
}

impl Ledger {
    /// Starts the clock of `arms` arms' rounds under `policy`.
    pub fn new(policy: Policy, arms: usize) -> Self {
        Self {
            policy,
            started: Instant::now(),
            throughputs: vec![Vec::new(); arms],
            round: 0,
            stopped: None,
        }
    }

    /// The next round's number (from 1) and the arms in the order it runs them, or `None`
    /// once the rule says stop (the reason is kept for [`Ledger::finish`]).
    pub fn next_round(&mut self) -> Option<(u32, Vec<usize>)> {
        let round_time = if self.round == 0 {
            Duration::ZERO
        } else {
            self.started.elapsed() / self.round
        };
        if let Next::Stop(why) =
            self.policy
                .next(&self.throughputs, self.started.elapsed(), round_time)
        {
            self.stopped = Some(why);
            return None;
        }
        self.round += 1;
        Some((self.round, round_order(self.throughputs.len(), self.round)))
    }

    /// Records arm `arm`'s requests/s in the current round.
    pub fn record(&mut self, arm: usize, throughput: f64) {
        self.throughputs[arm].push(throughput);
    }

    /// The widest pair's reach so far (see [`widest`]).
    pub fn widest(&self) -> Option<f64> {
        widest(&self.throughputs)
    }

    /// Time since the first round started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The record of the rounds run, for `rounds.json` and the report.
    pub fn finish(self, arms: &[Arm], names: Vec<String>) -> Rounds {
        Rounds {
            arms: arms.iter().map(Arm::spec).collect(),
            names,
            precision: self.policy.precision,
            min_rounds: self.policy.min_rounds,
            planned_rounds: self.policy.max_rounds,
            max_time_seconds: self.policy.max_time.map(|time| time.as_secs_f64()),
            rounds: self.round,
            elapsed_seconds: self.started.elapsed().as_secs_f64(),
            // A ledger finished before its rule said stop (never done by the drivers) ran what
            // was planned of it.
            stopped: self.stopped.unwrap_or(RoundsStopped::Planned),
            widest_reach: widest(&self.throughputs),
        }
    }
}

/// The order of round `round` (from 1): it starts `round - 1` places later in the list, so
/// each arm runs early, in the middle and late in turn, and slow drift of the machine spreads
/// over all of them instead of favouring the one that always runs first.
pub fn round_order(arms: usize, round: u32) -> Vec<usize> {
    let shift = (round as usize).saturating_sub(1) % arms.max(1);
    (0..arms).map(|i| (i + shift) % arms).collect()
}

/// Every pair of arms, `(i, j)` with `i < j`.
pub fn pairs(arms: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..arms).flat_map(move |i| (i + 1..arms).map(move |j| (i, j)))
}

/// The widest reach among the pairs' requests/s ratio intervals, as a share (0.12: ±12%);
/// `None` while some pair has no interval (fewer than two rounds), or with a single arm.
pub fn widest(throughputs: &[Vec<f64>]) -> Option<f64> {
    let mut widest: Option<f64> = None;
    for (i, j) in pairs(throughputs.len()) {
        let paired: Vec<(f64, f64)> = throughputs[i]
            .iter()
            .copied()
            .zip(throughputs[j].iter().copied())
            .collect();
        let reach = stats::paired_ratio(&paired)?.reach()?;
        widest = Some(widest.map_or(reach, |w: f64| w.max(reach)));
    }
    widest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(repeat: Option<u32>, precision: Option<f64>, max_time: Option<Duration>) -> RoundsArgs {
        RoundsArgs {
            repeat,
            precision,
            max_time,
        }
    }

    #[test]
    fn precision_and_budgets_read_as_written_and_bad_ones_are_named() {
        assert_eq!(parse_precision("10%"), Ok(0.1));
        assert_eq!(parse_precision("0.05"), Ok(0.05));
        for bad in ["0%", "100%", "ten", "-5%"] {
            assert!(parse_precision(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_max_time("20m"), Ok(Duration::from_secs(1200)));
        assert!(parse_max_time("25h").is_err());
        assert!(parse_max_time("0s").is_err());
    }

    #[test]
    fn a_fixed_count_runs_exactly_that_many_rounds() {
        let policy = args(Some(3), None, None).policy(7).expect("policy");
        let step = Duration::from_secs(10);
        assert_eq!(
            policy.next(&[vec![], vec![]], Duration::ZERO, step),
            Next::Run
        );
        let two = [vec![1.0, 1.0], vec![1.0, 1.0]];
        assert_eq!(policy.next(&two, step * 2, step), Next::Run);
        let three = [vec![1.0; 3], vec![1.0; 3]];
        assert_eq!(
            policy.next(&three, step * 3, step),
            Next::Stop(RoundsStopped::Planned)
        );
        // Without a flag, the caller's default count.
        assert_eq!(
            args(None, None, None).policy(7).expect("policy").max_rounds,
            7
        );
        assert!(args(Some(3), Some(0.1), None).policy(3).is_err());
    }

    #[test]
    fn precision_stops_once_every_pair_is_narrow_enough_but_not_before_five_rounds() {
        let policy = args(None, Some(0.10), None).policy(3).expect("policy");
        assert_eq!(policy.max_time, Some(DEFAULT_MAX_TIME));
        let step = Duration::from_secs(10);
        // Three arms whose ratios hardly move: narrow after two rounds, but the rule waits.
        let steady = |n: usize| {
            vec![
                (0..n).map(|i| 100.0 + (i % 2) as f64).collect::<Vec<_>>(),
                (0..n).map(|i| 90.0 + (i % 2) as f64).collect(),
                (0..n).map(|_| 80.0).collect(),
            ]
        };
        assert!(widest(&steady(2)).expect("reach") < 0.10);
        assert_eq!(policy.next(&steady(4), step * 4, step), Next::Run);
        assert_eq!(
            policy.next(&steady(5), step * 5, step),
            Next::Stop(RoundsStopped::PrecisionReached)
        );
        // One pair that swings ±30% keeps it going; the budget stops it before a round that
        // would end past it.
        let mut noisy = steady(6);
        noisy[2] = vec![60.0, 100.0, 60.0, 100.0, 60.0, 100.0];
        assert!(widest(&noisy).expect("reach") > 0.10);
        assert_eq!(policy.next(&noisy, step * 6, step), Next::Run);
        let budget = args(None, Some(0.10), Some(Duration::from_secs(65)))
            .policy(3)
            .expect("policy");
        assert_eq!(
            budget.next(&noisy, Duration::from_secs(60), step),
            Next::Stop(RoundsStopped::TimeBudget)
        );
    }

    #[test]
    fn rounds_rotate_the_order() {
        let names: Vec<String> = (1..=4)
            .flat_map(|round| {
                round_order(3, round)
                    .into_iter()
                    .map(move |arm| format!("{}{round}", ["d", "s", "r"][arm]))
            })
            .collect();
        assert_eq!(
            names,
            [
                "d1", "s1", "r1", "s2", "r2", "d2", "r3", "d3", "s3", "d4", "s4", "r4"
            ]
        );
        assert_eq!(round_order(1, 2), [0]);
    }

    #[test]
    fn a_ledger_runs_the_planned_rounds_and_records_them() {
        let policy = args(Some(2), None, None).policy(3).expect("policy");
        let mut ledger = Ledger::new(policy, 2);
        let mut seen = Vec::new();
        while let Some((round, order)) = ledger.next_round() {
            for arm in order {
                seen.push((round, arm));
                ledger.record(arm, 100.0 + arm as f64 + f64::from(round));
            }
        }
        assert_eq!(seen, [(1, 0), (1, 1), (2, 1), (2, 0)]);
        let arms = [Arm::plain(vocabulary::Backend::Dashmap); 2];
        let rounds = ledger.finish(&arms, vec!["dashmap".into(), "dashmap-2".into()]);
        assert_eq!(rounds.rounds, 2);
        assert_eq!(rounds.planned_rounds, 2);
        assert_eq!(rounds.stopped, RoundsStopped::Planned);
        assert!(rounds.widest_reach.is_some());
    }

    #[test]
    fn every_pair_is_compared_once() {
        assert_eq!(pairs(3).collect::<Vec<_>>(), [(0, 1), (0, 2), (1, 2)]);
        assert_eq!(pairs(1).count(), 0);
        assert_eq!(widest(&[vec![1.0, 2.0]]), None);
    }
}
