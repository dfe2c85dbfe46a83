//! Whether a run measured the system or the load generator, and what limited it.
//!
//! A run is generator-bound when the generator used at least 90% of its threads' CPU, or its
//! timer lag p99 exceeded 5 ms, or its requests/s reached 90% of this machine's calibrated
//! ceiling. Otherwise the limit was the stack's CPU (90% of its threads), the machine's cores
//! (both sides together at 85% of them), an open-model run's own target rate, or the stack's
//! response time.

use crate::results::{BoundReason, Calibration, GeneratorBound};

/// Share of its threads' CPU at which the generator is saturated.
pub const CPU_SHARE: f64 = 0.9;
/// Timer lag p99 above which the generator delays its own requests, microseconds.
pub const LAG_P99_US: f64 = 5_000.0;
/// Share of the calibrated ceiling at which the generator is at its limit.
pub const CEILING_SHARE: f64 = 0.9;
/// Share of its threads' CPU at which the stack is saturated.
pub const STACK_CPU_SHARE: f64 = 0.9;
/// Share of the machine's cores both sides together use when the machine is the limit. Lower
/// than the per-side shares: CPU spent in interrupts on other tasks' behalf and the gaps between
/// wake-ups never show in either side's threads. On the 2-core development machine, runs where
/// both sides were busy read 1.73–1.76 cores (86–88%), never 90%.
pub const MACHINE_SHARE: f64 = 0.85;
/// Share of the target rate an open-model run must achieve to have kept its pace.
pub const RATE_KEPT: f64 = 0.99;

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
        }
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
}
