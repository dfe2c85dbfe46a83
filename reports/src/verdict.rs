//! The report's verdict: a few plain sentences computed from the results — who served more,
//! at what p99, whether the runs are comparable at all, and what went wrong.

use crate::format::{count, ms, percent, rate, ratio};
use crate::report::{Report, Run};
use crate::results::LatencyRow;

/// Differences smaller than this share are called a tie: on a shared 2-core machine, runs of
/// the same build differ by a few percent from one to the next.
pub const NOISE: f64 = 0.05;

/// The verdict, one sentence per entry.
pub fn verdict(report: &Report) -> Vec<String> {
    let mut sentences = Vec::new();
    let runs = &report.runs;
    if runs.is_empty() {
        return vec!["No runs to compare.".into()];
    }
    sentences.extend(differences(runs));
    if runs.len() == 1 {
        sentences.extend(single(&runs[0]));
    } else {
        sentences.extend(comparison(runs));
    }
    for run in runs {
        sentences.extend(limit(run, runs.len() == 1));
        sentences.extend(problems(run));
    }
    sentences
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

/// Settings that make two runs incomparable when they differ (the backend aside).
fn differences(runs: &[Run]) -> Vec<String> {
    let first = &runs[0].results;
    let mut differing = Vec::new();
    let mut check = |name: &str, same: bool| {
        if !same {
            differing.push(name.to_owned());
        }
    };
    for run in &runs[1..] {
        let (a, b) = (&first.config, &run.results.config);
        check("users", a.users == b.users);
        check("run time", a.run_time_seconds == b.run_time_seconds);
        check("scenario mix", a.scenarios == b.scenarios);
        check("target rate", a.target_rate == b.target_rate);
        check(
            "store timeouts",
            a.store_idle_timeout_ms == b.store_idle_timeout_ms
                && a.store_absolute_timeout_ms == b.store_absolute_timeout_ms,
        );
        check(
            "prefilled sessions",
            a.prefill_sessions == b.prefill_sessions,
        );
        check(
            "signing algorithm",
            a.signing_algorithm == b.signing_algorithm,
        );
        check("target", a.target == b.target);
        check(
            "runtime threads",
            run.results.generator.threads == first.generator.threads
                && run.results.generator.stack_threads == first.generator.stack_threads,
        );
        check("password hashing", a.password_hashing == b.password_hashing);
        let (a, b) = (&first.environment, &run.results.environment);
        check(
            "machine",
            a.cpu_model == b.cpu_model && a.logical_cpus == b.logical_cpus,
        );
        check("build profile", a.build_profile == b.build_profile);
    }
    differing.dedup();
    let mut unique = Vec::new();
    for name in differing {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    if unique.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "These runs differ in {}: the comparison below is not like for like.",
            unique.join(", ")
        )]
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
fn busiest_common_hop(runs: &[Run]) -> Option<String> {
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
fn hop_p99(run: &Run, name: &str) -> Option<f64> {
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

/// Above this share of failed requests a run's throughput describes a failing system, and the
/// verdict names no winner against it.
pub const FAILING: f64 = 0.01;

fn comparison(runs: &[Run]) -> Vec<String> {
    let mut sentences = Vec::new();
    let mut by_rate: Vec<&Run> = runs.iter().collect();
    by_rate.sort_by(|a, b| {
        b.results
            .requests_per_second
            .total_cmp(&a.results.requests_per_second)
    });
    let best = by_rate[0];
    let best_rate = best.results.requests_per_second;
    if best_rate <= 0.0 {
        return vec!["No run answered any request: there is nothing to compare.".into()];
    }
    let hop = busiest_common_hop(runs);
    let p99 = |run: &Run| hop.as_deref().and_then(|hop| hop_p99(run, hop));
    let p99_name = if runs
        .iter()
        .any(|run| run.results.config.target_rate.is_some())
    {
        "corrected p99"
    } else {
        "p99"
    };
    for other in &by_rate[1..] {
        let other_rate = other.results.requests_per_second;
        if other_rate <= 0.0 {
            sentences.push(format!("{} answered no requests.", other.label));
            continue;
        }
        if let Some(failing) = [best, *other]
            .into_iter()
            .find(|run| run.results.error_rate > FAILING)
        {
            sentences.push(format!(
                "{} against {}: no winner, because {} failed {} of its requests (more than \
                 {:.0}%), so its requests/s counts failures.",
                best.label,
                other.label,
                failing.label,
                percent(failing.results.error_rate),
                FAILING * 100.0
            ));
            continue;
        }
        let factor = best_rate / other_rate;
        let latency = match (p99(best), p99(other), &hop) {
            (Some(mine), Some(theirs), Some(hop)) => Some((mine, theirs, hop)),
            _ => None,
        };
        let sentence = if factor - 1.0 < NOISE {
            let tail = latency.map_or(String::new(), |(mine, theirs, hop)| {
                format!("; {p99_name} on {hop}: {} vs {} ms", ms(mine), ms(theirs))
            });
            format!(
                "{} and {} served about the same ({} vs {} requests/s, within {:.0}%, which \
                 is run-to-run noise on a shared machine: a tie){tail}.",
                best.label,
                other.label,
                rate(best_rate),
                rate(other_rate),
                NOISE * 100.0
            )
        } else {
            let head = format!(
                "{} served {} the requests of {} ({} vs {} requests/s)",
                best.label,
                ratio(factor),
                other.label,
                rate(best_rate),
                rate(other_rate)
            );
            match latency {
                Some((mine, theirs, hop)) if mine <= theirs * (1.0 + NOISE) => format!(
                    "{head} at an equal or lower {p99_name} on {hop} ({} vs {} ms).",
                    ms(mine),
                    ms(theirs)
                ),
                Some((mine, theirs, hop)) => format!(
                    "{head}, but at a higher {p99_name} on {hop} ({} vs {} ms): a trade-off, not a \
                     clear win.",
                    ms(mine),
                    ms(theirs)
                ),
                None => format!("{head}."),
            }
        };
        sentences.push(sentence);
    }
    let mut by_logins: Vec<&Run> = runs.iter().collect();
    by_logins.sort_by(|a, b| {
        b.results
            .logins_per_second
            .total_cmp(&a.results.logins_per_second)
    });
    sentences.push(format!(
        "Logins/s: {}.",
        by_logins
            .iter()
            .map(|run| format!("{} {}", run.label, rate(run.results.logins_per_second)))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    sentences
}

fn problems(run: &Run) -> Vec<String> {
    let r = &run.results;
    let mut sentences = Vec::new();
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
    if r.stolen_session.served_after_logout > 0 {
        sentences.push(format!(
            "{}: a stolen cookie was still served after its owner logged out ({} times) — a \
             session-revocation bug.",
            run.label, r.stolen_session.served_after_logout
        ));
    }
    if let Some(target) = r.pacing.target_rate
        && r.pacing.achieved_rate < target * (1.0 - NOISE)
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
