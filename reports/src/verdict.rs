//! The load report's verdict: a few plain sentences computed from the results — whether the
//! runs are comparable, who served more and how sure that is (the comparison core in
//! `compare.rs`, shared with store-level reports), what limited each run, and what went wrong.

use crate::compare::{self, Observation, Terms};
use crate::format::{count, ms, percent, rate};
use crate::report::{Report, Run, RunResults as _};
use crate::results::LatencyRow;

pub use crate::compare::FAILING;

/// How far below its target rate an open-model run may fall before the verdict says it
/// missed its pace.
pub const PACE_SHORTFALL: f64 = 0.05;

/// The verdict, one sentence per entry.
pub fn verdict(report: &Report) -> Vec<String> {
    let runs = &report.runs;
    if runs.is_empty() {
        return vec!["No runs to compare.".into()];
    }
    let observations = observations(report);
    let mut sentences: Vec<String> = report
        .rounds
        .as_ref()
        .map(compare::rounds_sentence)
        .into_iter()
        .collect();
    sentences.extend(compare::differences(&observations));
    if runs.len() == 1 {
        sentences.extend(single(&runs[0]));
    } else {
        sentences.extend(compare::verdict(&observations, &terms(report)));
    }
    for run in runs {
        sentences.extend(limit(run, runs.len() == 1));
        sentences.extend(faults(run, runs.len() == 1));
        sentences.extend(problems(run));
    }
    sentences
}

/// Each fault of a run in plain words (named after the run in a comparison); its failed
/// requests are the fault's doing, so read the run's error rate with them in mind.
fn faults(run: &Run, single: bool) -> Vec<String> {
    run.results
        .faults
        .iter()
        .map(|fault| {
            if single {
                format!("{}.", fault.verdict)
            } else {
                format!("{}: {}.", run.label, fault.verdict)
            }
        })
        .collect()
}

/// What limited a run, in the run's own words: always for a single run; in a comparison only
/// when the generator was the limit, since then the figures compare load generators, not
/// backends.
fn limit(run: &Run, single: bool) -> Option<String> {
    let judged = &run.results.generator_bound;
    if single {
        Some(judged.verdict.clone())
    } else if judged.bound {
        Some(format!(
            "{}'s run was generator-bound, so its figures are the load generator's limit, not the backend's: {}",
            run.label, judged.verdict
        ))
    } else {
        None
    }
}

/// How the load report names what it compares.
pub fn terms(report: &Report) -> Terms {
    let latency = busiest_common_hop(&report.runs).map(|hop| {
        let kind = if open_model(report) {
            "corrected p99"
        } else {
            "p99"
        };
        format!("{kind} on {hop}")
    });
    Terms {
        throughput: "requests/s",
        verb: "served",
        units: "requests",
        latency,
        show_latency: |us| format!("{} ms", ms(us)),
        repeat_hint: "Run `loadtest matrix --repeat 3` (or more), or `--precision 10%`, for intervals.",
    }
}

fn open_model(report: &Report) -> bool {
    report
        .runs
        .iter()
        .any(|run| run.results.config.target_rate.is_some())
}

/// The runs as the comparison core sees them: grouped by backend, paired by repetition, with
/// every setting that must match for a like-for-like comparison.
pub fn observations(report: &Report) -> Vec<Observation> {
    let hop = busiest_common_hop(&report.runs);
    let mut observations: Vec<Observation> = report
        .runs
        .iter()
        .map(|run| {
            let r = &run.results;
            let (c, e) = (&r.config, &r.environment);
            let settings = [
                ("users", c.users.to_string()),
                ("run time", c.run_time_seconds.to_string()),
                ("warm-up", c.warm_up_ms.to_string()),
                ("scenario mix", format!("{:?}", c.scenarios)),
                ("target rate", format!("{:?}", c.target_rate)),
                ("wait", format!("{:?}", c.wait_ms)),
                ("cart reads", c.cart_reads.to_string()),
                (
                    "stolen-session window",
                    format!("{} / {}", c.stolen_window_ms, c.replay_interval_ms),
                ),
                (
                    "store timeouts",
                    format!(
                        "{} / {}",
                        c.store_idle_timeout_ms, c.store_absolute_timeout_ms
                    ),
                ),
                ("prefilled sessions", c.prefill_sessions.to_string()),
                ("signing algorithm", c.signing_algorithm_name().to_owned()),
                ("password hashing", c.password_hashing_name().to_owned()),
                ("request timeout", c.request_timeout_ms.to_string()),
                ("goose metrics", c.goose_metrics.to_string()),
                ("target", c.target.to_string()),
                ("app instances", c.instances.to_string()),
                ("load generators", c.workers.to_string()),
                (
                    "runtime threads",
                    format!("{} / {:?}", r.generator.threads, r.generator.stack_threads),
                ),
                ("machine", format!("{} / {}", e.cpu_model, e.logical_cpus)),
                ("build profile", e.build_profile.clone()),
                (
                    "allocator, hasher, shards",
                    format!("{} / {} / {}", e.allocator, e.hasher, e.dashmap_shards),
                ),
                ("version", e.ssobench_version.clone()),
            ]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
            Observation {
                group: r.arm(),
                repetition: c.repetition,
                throughput: r.requests_per_second,
                logins: Some(r.logins_per_second),
                latency_p99_us: hop.as_deref().and_then(|hop| hop_p99(run, hop)),
                error_rate: r.error_rate,
                settings,
            }
        })
        .collect();
    renumber_colliding_repetitions(&mut observations);
    observations
}

/// Runs made separately are each repetition 1; when one backend has such repeats, they are
/// numbered in the order given, so that each still pairs with one run of the others.
pub fn renumber_colliding_repetitions(observations: &mut [Observation]) {
    let names: Vec<String> = observations.iter().map(|o| o.group.clone()).collect();
    for name in names {
        let mut seen = Vec::new();
        let collide = observations.iter().filter(|o| o.group == name).any(|o| {
            let repeated = seen.contains(&o.repetition);
            seen.push(o.repetition);
            repeated
        });
        if collide {
            let mut turn = 0;
            for observation in observations.iter_mut().filter(|o| o.group == name) {
                turn += 1;
                observation.repetition = turn;
            }
        }
    }
}

fn single(run: &Run) -> Vec<String> {
    let r = &run.results;
    let mut sentences = vec![format!(
        "{} served {} requests/s and {} logins/s ({} with a password) with {} users over {} s; \
         {} of {} requests failed ({}).",
        run.label,
        rate(r.requests_per_second),
        rate(r.logins_per_second),
        rate(r.password_logins_per_second),
        r.config.users,
        r.config.run_time_seconds,
        count(r.errors_total),
        count(r.requests_total),
        percent(r.error_rate)
    )];
    if let Some(flow) = slowest(&r.flows) {
        sentences.push(format!(
            "Slowest flow at p99: {} at {} ms (p50 {} ms).",
            flow.name,
            ms(flow.raw_us.p99),
            ms(flow.raw_us.p50)
        ));
    }
    if let Some(hop) = slowest(&r.hops) {
        sentences.push(format!(
            "Slowest hop at p99: {} at {} ms.",
            hop.name,
            ms(hop.raw_us.p99)
        ));
    }
    sentences
}

fn slowest(rows: &[LatencyRow]) -> Option<&LatencyRow> {
    rows.iter()
        .filter(|row| row.count > 0)
        .max_by(|a, b| a.raw_us.p99.total_cmp(&b.raw_us.p99))
}

/// The hop all runs served, with samples in each, most often in total: the fairest single
/// latency to compare runs on.
pub fn busiest_common_hop(runs: &[Run]) -> Option<String> {
    let sample_count = |run: &Run, name: &str| {
        run.results
            .hops
            .iter()
            .find(|h| h.name == name)
            .map_or(0, |h| h.count)
    };
    runs[0]
        .results
        .hops
        .iter()
        .filter(|hop| runs.iter().all(|run| sample_count(run, &hop.name) > 0))
        .max_by_key(|hop| {
            runs.iter()
                .map(|run| sample_count(run, &hop.name))
                .sum::<u64>()
        })
        .map(|hop| hop.name.clone())
}

/// A hop's p99: corrected for coordinated omission in an open-model run (where the raw
/// figure hides the requests a stall kept from being sent), raw in a closed one (where the two
/// are equal).
pub fn hop_p99(run: &Run, name: &str) -> Option<f64> {
    run.results
        .hops
        .iter()
        .find(|hop| hop.name == name && hop.count > 0)
        .map(|hop| {
            if run.results.config.target_rate.is_some() {
                hop.corrected_us.p99
            } else {
                hop.raw_us.p99
            }
        })
}

fn problems(run: &Run) -> Vec<String> {
    let r = &run.results;
    let mut sentences: Vec<String> = r
        .problems
        .iter()
        .map(|problem| {
            format!(
                "{}: the run met a problem, and these are the figures it measured until then: {problem}.",
                run.label
            )
        })
        .collect();
    if r.errors_total > 0 {
        let top = r
            .error_kinds
            .iter()
            .max_by_key(|(_, count)| **count)
            .map(|(kind, count)| format!("; most often: {kind} ({count})"))
            .unwrap_or_default();
        let weight = if r.error_rate > FAILING {
            " — over 1%, so its throughput and latency figures describe a failing system"
        } else {
            ""
        };
        sentences.push(format!(
            "{}: {} of {} requests failed ({}){top}{weight}.",
            run.label,
            count(r.errors_total),
            count(r.requests_total),
            percent(r.error_rate)
        ));
    }
    let failed_logins = r.login_outcomes.failed();
    if failed_logins > 0 {
        let o = &r.login_outcomes;
        let named: Vec<String> = [
            (o.form_again, "the login form again after the password"),
            (o.rate_limited, "rate-limited (429)"),
            (o.error_page, "an error page"),
            (o.too_many_steps, "too many pages"),
            (o.password_asked, "a password asked where SSO should log in"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{what} ({})", count(n)))
        .collect();
        sentences.push(format!(
            "{}: {} logins did not complete, none counted as a login: {}.",
            run.label,
            count(failed_logins),
            named.join(", ")
        ));
    }
    if r.transport.tls.as_ref().is_some_and(|tls| tls.insecure) {
        sentences.push(format!(
            "{}: TLS certificates were not verified (--insecure).",
            run.label
        ));
    }
    if r.bounces.unexpected > 0 {
        sentences.push(format!(
            "{}: {} users were sent to /login with no fault to explain it — sessions that \
             ended early, counted as failures.",
            run.label,
            count(r.bounces.unexpected)
        ));
    }
    if r.stolen_session.served_after_logout > 0 {
        sentences.push(format!(
            "{}: a stolen cookie was still served after its owner logged out ({} times) — a \
             session-revocation bug.",
            run.label, r.stolen_session.served_after_logout
        ));
    }
    if let Some(target) = r.pacing.target_rate
        && r.pacing.achieved_rate < target * (1.0 - PACE_SHORTFALL)
    {
        sentences.push(format!(
            "{}: asked for {} iterations/s, achieved {} ({} late, {} dropped): the load \
             generator or the stack could not keep the pace. Compare the corrected p99 column \
             of the hop table, which counts the requests the stalls kept from being sent.",
            run.label,
            rate(target),
            rate(r.pacing.achieved_rate),
            r.pacing.late,
            r.pacing.dropped
        ));
    }
    sentences
}
