//! Whether a run measured the system or the load generator, and what limited it.
//!
//! A run is generator-bound when the generator used at least 90% of its threads' CPU, or its
//! timer lag p99 exceeded 5 ms, or its cgroup's CPU limit stopped it in at least 5% of the
//! scheduler's periods (a pod's CPU limit), or its requests/s reached 90% of this machine's
//! calibrated ceiling. Otherwise the limit was the stack's CPU (90% of its threads), the machine's cores
//! (both sides together at 85% of them), an open-model run's own target rate, the users' think
//! time (when they spent most of their time thinking, by Little's law), or the stack's response
//! time.

use crate::results::{BoundReason, Calibration, GeneratorBound};

/// Share of its threads' CPU at which the generator is saturated.
pub const CPU_SHARE: f64 = 0.9;
/// Timer lag p99 above which the generator delays its own requests, microseconds.
pub const LAG_P99_US: f64 = 5_000.0;
/// Share of the calibrated ceiling at which the generator is at its limit.
pub const CEILING_SHARE: f64 = 0.9;
/// Share of the scheduler's periods in which a CPU limit may stop the generator before it is
/// the limit: a throttled period stops every thread until the next (100 ms by default), so
/// requests go out late and their latencies are the limit's, not the system's.
pub const THROTTLED_SHARE: f64 = 0.05;
/// Share of its threads' CPU at which the stack is saturated.
pub const STACK_CPU_SHARE: f64 = 0.9;
/// Share of the machine's cores both sides together use when the machine is the limit. Lower
/// than the per-side shares: CPU spent in interrupts on other tasks' behalf and the gaps between
/// wake-ups never show in either side's threads. On the 2-core development machine, runs where
/// both sides were busy read 1.73–1.76 cores (86–88%), never 90%.
pub const MACHINE_SHARE: f64 = 0.85;
/// Share of the target rate an open-model run must achieve to have kept its pace.
pub const RATE_KEPT: f64 = 0.99;
/// Share of their time users may spend waiting for answers for their think time, not the
/// stack, to be what set the pace of a closed run.
pub const THINK_BUSY_SHARE: f64 = 0.5;

/// Users who think between pages: how long, and how much of their time they waited for answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Think {
    /// The think time between transactions, (min, max) milliseconds.
    pub range_ms: (u64, u64),
    /// Users present at an average instant (the ramp counted as it went).
    pub users: f64,
    /// Users waiting for an answer at an average instant, by Little's law: the requests' total
    /// time (count × mean of every hop) over the run's seconds.
    pub waiting: f64,
}

impl Think {
    /// From the hops' latency rows of a run of `seconds` with `users` users present on average,
    /// thinking `range_ms`; `None` without think time or users.
    pub fn of(
        range_ms: Option<(u64, u64)>,
        users: f64,
        hops: &[crate::results::LatencyRow],
        seconds: f64,
    ) -> Option<Think> {
        let range_ms = range_ms.filter(|&(_, max)| max > 0)?;
        if users <= 0.0 || seconds <= 0.0 {
            return None;
        }
        let busy_us: f64 = hops.iter().map(|h| h.count as f64 * h.raw_us.mean).sum();
        Some(Think {
            range_ms,
            users,
            waiting: busy_us / 1e6 / seconds,
        })
    }

    /// Users present at an average second of a timeline (0 when it does not count them).
    pub fn mean_users(timeline: &[crate::results::TimelinePoint]) -> f64 {
        let counted: Vec<u64> = timeline.iter().filter_map(|point| point.users).collect();
        if counted.is_empty() {
            return 0.0;
        }
        counted.iter().sum::<u64>() as f64 / counted.len() as f64
    }

    /// Share of the users' time spent waiting for answers.
    pub fn busy_share(&self) -> f64 {
        self.waiting / self.users
    }
}

/// What the judgement reads.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The stack ran in the load runner's process (not `--target`).
    pub in_process: bool,
    pub logical_cpus: usize,
    pub generator_threads: usize,
    pub generator_cpu_cores: f64,
    pub stack_threads: Option<usize>,
    /// Processes started for the stack (a `redis-server`), each counted as one core more the
    /// stack can use.
    pub stack_processes: usize,
    pub stack_cpu_cores: Option<f64>,
    pub lag_p99_us: f64,
    pub requests_per_second: f64,
    pub calibration: Option<Calibration>,
    pub target_rate: Option<f64>,
    pub achieved_rate: f64,
    /// The users' think time, when they had one (closed model with `--wait`).
    pub think: Option<Think>,
    /// The generator's cgroup CPU limit and its throttling, where the system says.
    pub throttling: Option<crate::results::CpuThrottling>,
}

/// Cores `threads` threads can use on this machine.
fn usable(threads: usize, logical_cpus: usize) -> f64 {
    threads.min(logical_cpus.max(1)) as f64
}

fn reason(rule: &str, detail: String) -> BoundReason {
    BoundReason {
        rule: rule.to_owned(),
        detail,
    }
}

/// Judges a run from its figures.
pub fn judge(evidence: &Evidence) -> GeneratorBound {
    let generator_capacity = usable(evidence.generator_threads, evidence.logical_cpus);
    let mut generator = Vec::new();
    if evidence.generator_cpu_cores >= CPU_SHARE * generator_capacity {
        generator.push(reason(
            "generator_cpu",
            format!(
                "the generator used {:.2} cores of the {} its {} thread(s) can use (≥ {:.0}%)",
                evidence.generator_cpu_cores,
                generator_capacity,
                evidence.generator_threads,
                CPU_SHARE * 100.0
            ),
        ));
    }
    if evidence.lag_p99_us > LAG_P99_US {
        generator.push(reason(
            "generator_lag",
            format!(
                "its timer lag p99 was {:.1} ms (> {:.0} ms): it sent its own requests late",
                evidence.lag_p99_us / 1000.0,
                LAG_P99_US / 1000.0
            ),
        ));
    }
    if let Some(throttling) = &evidence.throttling
        && let Some(share) = throttling.share()
        && share >= THROTTLED_SHARE
    {
        generator.push(reason(
            "generator_throttled",
            format!(
                "its CPU limit ({}) stopped it in {:.0}% of the scheduler's periods (≥ {:.0}%), \
                 {:.1} s in all",
                throttling.limit_cores.map_or_else(
                    || "its cgroup's".to_owned(),
                    |cores| format!("{cores:.2} cores")
                ),
                share * 100.0,
                THROTTLED_SHARE * 100.0,
                throttling.throttled_seconds
            ),
        ));
    }
    if let Some(calibration) = &evidence.calibration {
        let ceiling = calibration.requests_per_core * generator_capacity;
        if ceiling > 0.0 && evidence.requests_per_second >= CEILING_SHARE * ceiling {
            generator.push(reason(
                "generator_ceiling",
                format!(
                    "it drove {:.0} requests/s, {:.0}% of this machine's calibrated ceiling ({:.0}/s per core × {} cores)",
                    evidence.requests_per_second,
                    evidence.requests_per_second / ceiling * 100.0,
                    calibration.requests_per_core,
                    generator_capacity
                ),
            ));
        }
    }
    if !generator.is_empty() {
        let details: Vec<&str> = generator.iter().map(|r| r.detail.as_str()).collect();
        return GeneratorBound {
            bound: true,
            limit: "generator".into(),
            verdict: format!(
                "Generator-bound: {}. These figures are the load generator's limit, not the stack's: use fewer users here, run the stack on other cores (`serve` it separately and point --target and --target-pid at it), or add generator processes.",
                details.join("; ")
            ),
            reasons: generator,
        };
    }
    let sides = format!(
        "the generator used {:.2} of {} core(s) with a timer lag p99 of {:.1} ms",
        evidence.generator_cpu_cores,
        generator_capacity,
        evidence.lag_p99_us / 1000.0
    );
    if let (Some(threads), Some(cores)) = (evidence.stack_threads, evidence.stack_cpu_cores) {
        let capacity = usable(threads + evidence.stack_processes, evidence.logical_cpus);
        let what = match evidence.stack_processes {
            0 => format!("its {threads} runtime thread(s)"),
            processes => {
                format!(
                    "its {threads} runtime thread(s) and the {processes} process(es) it started"
                )
            }
        };
        if cores >= STACK_CPU_SHARE * capacity {
            return not_bound(
                "stack",
                reason(
                    "stack_cpu",
                    format!("the stack used {cores:.2} cores of the {capacity} {what} can use"),
                ),
                format!(
                    "The stack's CPU was the limit: it used {cores:.2} of the {capacity} core(s) {what} can use, while {sides}."
                ),
            );
        }
    }
    if let Some(stack) = evidence.stack_cpu_cores {
        let both = evidence.generator_cpu_cores + stack;
        let machine = evidence.logical_cpus.max(1) as f64;
        if both >= MACHINE_SHARE * machine {
            return not_bound(
                "machine",
                reason(
                    "machine_cpu",
                    format!(
                        "generator ({:.2}) and stack ({stack:.2}) together used {:.0}% of the machine's {} cores",
                        evidence.generator_cpu_cores,
                        both / machine * 100.0,
                        evidence.logical_cpus
                    ),
                ),
                format!(
                    "The machine's cores were the limit: the generator ({:.2} cores) and the stack ({stack:.2}) shared its {} cores and used {:.0}% of them; the generator's share is CPU the stack did not get. To measure the stack alone, {}.",
                    evidence.generator_cpu_cores,
                    evidence.logical_cpus,
                    both / machine * 100.0,
                    if evidence.in_process {
                        "`serve` it on other cores and point --target and --target-pid at it"
                    } else {
                        "give it cores of its own (another machine, or `taskset` for each process)"
                    }
                ),
            );
        }
    }
    if let Some(target) = evidence.target_rate
        && evidence.achieved_rate >= RATE_KEPT * target
    {
        return not_bound(
            "target rate",
            reason(
                "target_rate",
                format!(
                    "achieved {:.1} of the target {target:.1} iterations/s",
                    evidence.achieved_rate
                ),
            ),
            format!(
                "The run kept its target rate ({:.1} of {target:.1} iterations/s): neither the generator nor the stack was the limit ({sides}).",
                evidence.achieved_rate
            ),
        );
    }
    let stack = match evidence.stack_cpu_cores {
        Some(cores) => format!("the stack used {cores:.2} cores"),
        None => "the stack's CPU is unknown (give --target-pid)".into(),
    };
    if let Some(think) = &evidence.think
        && think.busy_share() < THINK_BUSY_SHARE
    {
        let (min, max) = think.range_ms;
        let range = if min == max {
            format!("{:.1} s", min as f64 / 1000.0)
        } else {
            format!("{:.1}–{:.1} s", min as f64 / 1000.0, max as f64 / 1000.0)
        };
        return not_bound(
            "think time",
            reason(
                "think_time",
                format!(
                    "on average {:.1} of {:.0} users ({}) were waiting for an answer; the rest were thinking {range}",
                    think.waiting,
                    think.users,
                    percent(think.busy_share())
                ),
            ),
            format!(
                "The users' think time set the pace: they think {range} between pages and spent {} of their time waiting for answers; no CPU was saturated ({sides}; {stack}). For more load from these users, shorten --wait or add users.",
                percent(think.busy_share())
            ),
        );
    }
    not_bound(
        "stack",
        reason(
            "stack_latency",
            format!("no side saturated: {sides}; {stack}"),
        ),
        format!(
            "The stack's response time was the limit: no CPU was saturated ({sides}; {stack}), and each user waits for its answer before the next request."
        ),
    )
}

/// A share as a percentage, to two decimals, or "under 0.01%".
fn percent(share: f64) -> String {
    if share < 1e-4 {
        "under 0.01%".into()
    } else {
        format!("{:.2}%", share * 100.0)
    }
}

fn not_bound(limit: &str, why: BoundReason, verdict: String) -> GeneratorBound {
    GeneratorBound {
        bound: false,
        limit: limit.to_owned(),
        reasons: vec![why],
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence() -> Evidence {
        Evidence {
            in_process: true,
            logical_cpus: 2,
            generator_threads: 1,
            generator_cpu_cores: 0.4,
            stack_threads: Some(1),
            stack_processes: 0,
            stack_cpu_cores: Some(0.5),
            lag_p99_us: 1_100.0,
            requests_per_second: 20_000.0,
            calibration: None,
            target_rate: None,
            achieved_rate: 0.0,
            think: None,
            throttling: None,
        }
    }

    #[test]
    fn a_generator_its_cpu_limit_throttles_is_generator_bound() {
        let mut throttled = evidence();
        throttled.throttling = Some(crate::results::CpuThrottling {
            limit_cores: Some(1.0),
            periods: 300,
            throttled_periods: 60,
            throttled_seconds: 2.4,
        });
        check(&throttled, true, "generator", &["generator_throttled"]);
        let judged = judge(&throttled);
        assert!(
            judged.verdict.contains("1.00 cores") && judged.verdict.contains("20%"),
            "{}",
            judged.verdict
        );
        // Throttled now and then, under the share: not the limit.
        throttled.throttling = Some(crate::results::CpuThrottling {
            limit_cores: Some(1.0),
            periods: 300,
            throttled_periods: 3,
            throttled_seconds: 0.1,
        });
        assert!(!judge(&throttled).bound);
    }

    fn check(evidence: &Evidence, bound: bool, limit: &str, rules: &[&str]) {
        let judged = judge(evidence);
        assert_eq!(judged.bound, bound, "{judged:?}");
        assert_eq!(judged.limit, limit, "{judged:?}");
        let fired: Vec<&str> = judged.reasons.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(fired, rules, "{judged:?}");
    }

    #[test]
    fn a_saturated_or_lagging_generator_is_called_generator_bound() {
        let mut busy = evidence();
        busy.generator_cpu_cores = 0.95;
        check(&busy, true, "generator", &["generator_cpu"]);
        busy.lag_p99_us = 12_000.0;
        check(
            &busy,
            true,
            "generator",
            &["generator_cpu", "generator_lag"],
        );
        let mut lagging = evidence();
        lagging.lag_p99_us = 6_000.0;
        check(&lagging, true, "generator", &["generator_lag"]);
        assert!(judge(&lagging).verdict.contains("--target"));
    }

    #[test]
    fn reaching_the_calibrated_ceiling_is_generator_bound() {
        let mut near = evidence();
        near.calibration = Some(Calibration {
            requests_per_core: 21_000.0,
            requests_per_second: 20_000.0,
            generator_threads: 1,
            users: 32,
            measured_at: "2026-12-01T00:00:00Z".into(),
            machine: "test".into(),
        });
        check(&near, true, "generator", &["generator_ceiling"]);
        near.requests_per_second = 10_000.0;
        check(&near, false, "stack", &["stack_latency"]);
    }

    #[test]
    fn otherwise_the_stack_the_machine_or_the_rate_was_the_limit() {
        let mut stack = evidence();
        stack.stack_cpu_cores = Some(0.97);
        check(&stack, false, "stack", &["stack_cpu"]);
        let mut with_redis = evidence();
        with_redis.stack_processes = 1;
        with_redis.generator_cpu_cores = 0.42;
        with_redis.stack_cpu_cores = Some(1.35);
        check(&with_redis, false, "machine", &["machine_cpu"]);
        let mut machine = evidence();
        machine.stack_threads = Some(2);
        machine.generator_cpu_cores = 0.85;
        machine.stack_cpu_cores = Some(1.0);
        check(&machine, false, "machine", &["machine_cpu"]);
        let mut paced = evidence();
        paced.target_rate = Some(100.0);
        paced.achieved_rate = 99.5;
        check(&paced, false, "target rate", &["target_rate"]);
        let mut unknown = evidence();
        unknown.stack_threads = None;
        unknown.stack_cpu_cores = None;
        check(&unknown, false, "stack", &["stack_latency"]);
        assert!(judge(&unknown).verdict.contains("--target-pid"));
    }

    #[test]
    fn users_who_mostly_think_are_paced_by_their_think_time() {
        let row = |count: u64, mean_us: f64| crate::results::LatencyRow {
            name: "hop".into(),
            count,
            errors: 0,
            raw_us: crate::results::Percentiles {
                mean: mean_us,
                ..Default::default()
            },
            corrected_us: Default::default(),
            spectrum_us: Vec::new(),
            phases: None,
        };
        // 1,000 users, 60 s: 15,000 requests of 2 ms keep 0.5 users waiting on average.
        let thinking = Think::of(
            Some((20_000, 40_000)),
            1_000.0,
            &[row(15_000, 2_000.0)],
            60.0,
        )
        .expect("users think");
        assert!((thinking.waiting - 0.5).abs() < 1e-9, "{thinking:?}");
        let mut paced = evidence();
        paced.think = Some(thinking);
        check(&paced, false, "think time", &["think_time"]);
        let verdict = judge(&paced).verdict;
        assert!(verdict.contains("20.0–40.0 s"), "{verdict}");
        assert!(verdict.contains("0.05%"), "{verdict}");
        // Answers so slow the users wait most of the time: the stack's response time again.
        let slow = Think::of(Some((20, 40)), 10.0, &[row(60_000, 8_000.0)], 60.0);
        paced.think = slow;
        check(&paced, false, "stack", &["stack_latency"]);
        // A saturated stack is named before the think time.
        paced.think = Think::of(
            Some((20_000, 40_000)),
            1_000.0,
            &[row(7_500, 2_000.0)],
            60.0,
        );
        paced.stack_cpu_cores = Some(0.97);
        check(&paced, false, "stack", &["stack_cpu"]);
        assert!(Think::of(None, 1_000.0, &[], 60.0).is_none());
        assert!(Think::of(Some((0, 0)), 1_000.0, &[], 60.0).is_none());
    }
}
