//! Each fault's figures and verdict, from what the board saw (moments), what the users counted
//! (losses) and the per-second timeline (failures and recovery).

use super::board::FaultMoments;
use super::spec::FaultKind;
use crate::measure::recorder::FaultLosses;
use reports::format::count;
use reports::results::{FaultResult, TimelinePoint};

/// Under this share of failed requests, a whole second counts as recovered.
pub const RECOVERED_BELOW: f64 = 0.01;

/// How long after a fault the live-session count is read for the cross-check: long enough for
/// users to have come back and logged in again.
const COUNT_AFTER_MS: f64 = 3_000.0;

/// What the results need besides the board and the users.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub timeline: &'a [TimelinePoint],
    /// The run's Redis persistence (`none`, `aof-everysec`, `aof-always`).
    pub persistence: &'a str,
}

/// One timeline second as an interval of the run, milliseconds.
#[derive(Debug, Clone, Copy)]
struct Span<'a> {
    start_ms: f64,
    end_ms: f64,
    point: &'a TimelinePoint,
}

fn spans(timeline: &[TimelinePoint]) -> Vec<Span<'_>> {
    let mut start = 0.0;
    timeline
        .iter()
        .map(|point| {
            let end = point.elapsed_seconds * 1000.0;
            let span = Span {
                start_ms: start,
                end_ms: end,
                point,
            };
            start = end;
            span
        })
        .collect()
}

/// Each fault's results, in the order they happened.
pub fn results(
    moments: &[FaultMoments],
    losses: &[FaultLosses],
    problems: &[String],
    context: Context<'_>,
) -> Vec<FaultResult> {
    let spans = spans(context.timeline);
    moments
        .iter()
        .enumerate()
        .map(|(index, moment)| {
            let spec = moment.spec.to_string();
            let losses = losses.get(index).copied().unwrap_or_default();
            let problem = problems
                .iter()
                .filter(|problem| problem.starts_with(&format!("--fault {spec}:")))
                .cloned()
                .collect::<Vec<_>>();
            let ms = |us: Option<u64>| us.map(|us| us as f64 / 1000.0);
            let (began, ended) = (ms(moment.began_us), ms(moment.ended_us));
            let recovered_at = ended.and_then(|ended| {
                spans
                    .iter()
                    // A sampler tick lands a few microseconds either side of a whole second.
                    .find(|span| {
                        span.start_ms + 1.0 >= ended
                            && span.point.requests > 0
                            && (span.point.errors as f64)
                                < RECOVERED_BELOW * span.point.requests as f64
                    })
                    .map(|span| span.start_ms.max(ended))
            });
            let requests_failed = began.map_or(0, |began| {
                spans
                    .iter()
                    .filter(|span| {
                        span.end_ms > began
                            && recovered_at.is_none_or(|until| span.start_ms < until)
                    })
                    .map(|span| span.point.errors)
                    .sum()
            });
            let alive_before = began.and_then(|began| {
                spans
                    .iter()
                    .rev()
                    .find(|span| span.end_ms <= began)
                    .and_then(|span| span.point.store_sessions_alive)
            });
            let alive_after = ended.and_then(|ended| {
                spans
                    .iter()
                    .find(|span| span.end_ms >= ended + COUNT_AFTER_MS)
                    .or(spans.last())
                    .and_then(|span| span.point.store_sessions_alive)
            });
            let mut result = FaultResult {
                spec,
                kind: moment.spec.kind.name().to_owned(),
                planned_at_ms: millis(moment.spec.at),
                planned_down_ms: millis(moment.spec.down),
                began_ms: began,
                ended_ms: ended,
                first_error_after_ms: began
                    .zip(ms(moment.first_error_us))
                    .map(|(began, error)| error - began),
                first_success_after_ms: ended
                    .zip(ms(moment.first_success_us))
                    .map(|(ended, success)| success - ended),
                recovered_after_ms: ended
                    .zip(recovered_at)
                    .map(|(ended, at)| (at - ended).max(0.0)),
                requests_failed,
                sessions_lost: losses.sessions_lost,
                relogins_sso: losses.relogins_sso,
                relogins_password: losses.relogins_password,
                carts_lost: losses.carts_lost,
                cart_lines_lost: losses.cart_lines_lost,
                sessions_alive_before: alive_before,
                sessions_alive_after: alive_after,
                problem: (!problem.is_empty()).then(|| problem.join("; ")),
                verdict: String::new(),
            };
            result.verdict = verdict(&result, moment.spec.kind, context.persistence);
            result
        })
        .collect()
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// The fault in plain words.
pub fn verdict(result: &FaultResult, kind: FaultKind, persistence: &str) -> String {
    let seconds = |ms: f64| format!("{:.1} s", ms / 1000.0);
    let Some(began) = result.began_ms else {
        return format!(
            "{} planned at {}: not done ({})",
            kind.title(),
            seconds(result.planned_at_ms as f64),
            result.problem.as_deref().unwrap_or("unknown reason")
        );
    };
    let down = result.ended_ms.map_or("never undone".to_owned(), |ended| {
        format!("{} down", seconds(ended - began))
    });
    let mut parts = vec![format!("{} at {} ({down})", kind.title(), seconds(began))];
    parts.push(match result.first_error_after_ms {
        Some(ms) => format!("first error {} after it began", seconds(ms)),
        None => "no request failed".into(),
    });
    parts.push(match (result.first_success_after_ms, result.recovered_after_ms) {
        (Some(first), Some(recovered)) => format!(
            "recovered {} after {} (first success), under 1% errors from {} after",
            seconds(first),
            kind.end_word(),
            seconds(recovered)
        ),
        (Some(first), None) => format!(
            "first success {} after {}, but never a whole second under 1% errors before the run ended",
            seconds(first),
            kind.end_word()
        ),
        (None, _) => format!("no success after {} before the run ended", kind.end_word()),
    });
    parts.push(format!(
        "{} failed",
        plural(result.requests_failed, "request", "requests")
    ));
    let store_note = match kind {
        FaultKind::RedisRestart => match persistence {
            "none" => " (no persistence)".to_owned(),
            other => format!(" ({other})"),
        },
        _ => String::new(),
    };
    parts.push(if result.sessions_lost == 0 {
        format!("no session lost{store_note}")
    } else {
        format!(
            "{} lost{store_note}",
            plural(result.sessions_lost, "session", "sessions")
        )
    });
    let relogins = result.relogins_sso + result.relogins_password;
    if relogins > 0 {
        let how = match (result.relogins_sso, result.relogins_password) {
            (0, _) => "all with a password".to_owned(),
            (_, 0) => "all by SSO, without a password".to_owned(),
            (sso, password) => {
                format!("{} by SSO, {} with a password", count(sso), count(password))
            }
        };
        parts.push(format!(
            "{} logged in again, {how}",
            plural(relogins, "user", "users")
        ));
    }
    parts.push(if result.cart_lines_lost == 0 {
        "no cart line lost".into()
    } else {
        format!(
            "{} lost ({} emptied)",
            plural(result.cart_lines_lost, "cart line", "cart lines"),
            plural(result.carts_lost, "cart", "carts")
        )
    });
    if let Some(problem) = &result.problem {
        parts.push(format!("problem: {problem}"));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::parse_fault;

    fn point(second: u64, requests: u64, errors: u64, alive: u64) -> TimelinePoint {
        TimelinePoint {
            second,
            elapsed_seconds: second as f64,
            requests,
            errors,
            store_sessions_alive: Some(alive),
            ..TimelinePoint::default()
        }
    }

    /// A 16 s run, Redis killed at 6 s and back at 9.3 s, clean again from second 10.
    fn restart_run() -> (Vec<FaultMoments>, Vec<TimelinePoint>) {
        let moments = vec![FaultMoments {
            spec: parse_fault("redis-restart@6s+3s").expect("spec"),
            began_us: Some(6_000_000),
            ended_us: Some(9_300_000),
            first_error_us: Some(6_004_000),
            first_success_us: Some(9_700_000),
        }];
        let mut timeline = Vec::new();
        for second in 1..=16 {
            let (requests, errors, alive) = match second {
                1..=6 => (1000, 0, 32),
                7..=9 => (32, 32, 32),
                10 => (900, 20, 0),
                11 => (1000, 20, 32),
                _ => (1000, 1, 32),
            };
            timeline.push(point(second, requests, errors, alive));
        }
        (moments, timeline)
    }

    #[test]
    fn recovery_is_the_first_whole_clean_second_after_the_end() {
        let (moments, timeline) = restart_run();
        let losses = [FaultLosses {
            sessions_lost: 32,
            relogins_sso: 0,
            relogins_password: 32,
            carts_lost: 10,
            cart_lines_lost: 55,
        }];
        let results = results(
            &moments,
            &losses,
            &[],
            Context {
                timeline: &timeline,
                persistence: "none",
            },
        );
        let fault = &results[0];
        assert_eq!(fault.began_ms, Some(6_000.0));
        assert_eq!(fault.first_error_after_ms, Some(4.0));
        assert!((fault.first_success_after_ms.expect("success") - 400.0).abs() < 1e-6);
        // Second 10 (9–10 s) holds the end; 10–11 s had 2% errors; 11–12 s is clean.
        assert_eq!(fault.recovered_after_ms, Some(1_700.0));
        assert_eq!(fault.requests_failed, 32 * 3 + 20 + 20);
        assert_eq!(fault.sessions_alive_before, Some(32));
        assert_eq!(fault.sessions_alive_after, Some(32));
        assert_eq!(
            fault.verdict,
            "Redis restart at 6.0 s (3.3 s down); first error 0.0 s after it began; recovered \
             0.4 s after the restart (first success), under 1% errors from 1.7 s after; 136 \
             requests failed; 32 sessions lost (no persistence); 32 users logged in again, all \
             with a password; 55 cart lines lost (10 carts emptied)"
        );
    }

    #[test]
    fn a_fault_that_loses_nothing_says_so() {
        let (moments, timeline) = restart_run();
        let results = results(
            &moments,
            &[],
            &[],
            Context {
                timeline: &timeline,
                persistence: "aof-always",
            },
        );
        assert!(
            results[0]
                .verdict
                .contains("no session lost (aof-always); no cart line lost"),
            "{}",
            results[0].verdict
        );
    }

    #[test]
    fn a_fault_never_done_or_never_recovered_says_so() {
        let (mut moments, mut timeline) = restart_run();
        for point in &mut timeline[9..] {
            point.errors = point.requests / 2;
        }
        let results_never = results(
            &moments,
            &[],
            &[],
            Context {
                timeline: &timeline,
                persistence: "none",
            },
        );
        assert_eq!(results_never[0].recovered_after_ms, None);
        assert!(
            results_never[0]
                .verdict
                .contains("never a whole second under 1% errors")
        );
        moments[0].began_us = None;
        moments[0].ended_us = None;
        let problems = ["--fault redis-restart@6s+3s: no redis-server of this run".to_owned()];
        let not_done = results(
            &moments,
            &[],
            &problems,
            Context {
                timeline: &timeline,
                persistence: "none",
            },
        );
        assert_eq!(
            not_done[0].verdict,
            "Redis restart planned at 6.0 s: not done (--fault redis-restart@6s+3s: no \
             redis-server of this run)"
        );
    }
}
