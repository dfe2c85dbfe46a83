//! A long run over time: its figures per window (one minute unless the run says otherwise) and a
//! drift verdict on each series ([`crate::drift`]): requests/s, the error rate, p50 and p99 of
//! every flow and hop (from the interval logs), the generator's resident memory and CPU, the
//! stack's CPU, each stack process's resident memory, Redis's used memory, and the store's live
//! sessions. A run with fewer than [`drift::MIN_POINTS`]
//! whole windows has none.

use crate::chart::{Axis, Chart, Figure, Legend, LineChart, Scale, Series};
use crate::drift::{self, Slope, Tolerance, Verdict};
use crate::hlog::{Kind, Log};
use crate::results::{LoadRunResults, TimelinePoint};
use hdrhistogram::Histogram;
use plotters::style::RGBColor;
use serde::{Deserialize, Serialize};

/// Windows of a run whose configuration names none.
pub const DEFAULT_WINDOW_SECONDS: u64 = 60;

/// Samples a latency window needs before its percentiles are plotted and judged.
const MIN_SAMPLES: u64 = 20;

/// A run's windows and the verdict on each of its series.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Soak {
    pub window_seconds: u64,
    /// Whole windows in the run (a last, partial one is left out).
    pub windows: usize,
    pub series: Vec<Trend>,
    /// Why some series are missing, when something could not be read (the interval logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One series over the run's windows and what it did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trend {
    pub name: String,
    pub unit: String,
    /// Minutes into the run at the window's start, and the window's value.
    pub points: Vec<(f64, f64)>,
    pub verdict: Verdict,
    /// The verdict in words: "grows 3.1 MB/min (2.7 to 3.5)".
    pub sentence: String,
    /// Whether it is drawn (hops are only in the table).
    pub drawn: bool,
}

impl Trend {
    /// Whether the verdict is anything but stable (or too short to tell).
    pub fn moved(&self) -> bool {
        matches!(self.verdict, Verdict::Drifting(_) | Verdict::Step { .. })
    }
}

/// Most windows a run is judged in: a longer run's windows are made longer to fit (an 8-hour
/// run's minutes become 2-minute windows). The slope's cost is quadratic in the windows.
pub const MAX_WINDOWS: u64 = 240;

/// The window length `results` is judged in, seconds: its `--soak-window` (one minute unless
/// set), made longer when the run would have more than [`MAX_WINDOWS`] of them.
pub fn window_seconds(results: &LoadRunResults) -> u64 {
    let asked = results
        .config
        .soak_window_seconds
        .unwrap_or(DEFAULT_WINDOW_SECONDS)
        .max(1);
    asked.max(results.config.run_time_seconds.div_ceil(MAX_WINDOWS))
}

/// Whether `results` is long enough for windows (reading its logs is only worth it then).
pub fn long_enough(results: &LoadRunResults) -> bool {
    results.config.run_time_seconds / window_seconds(results) >= drift::MIN_POINTS as u64
}

/// The soak view of `results` (its interval logs `logs`, a merged run's workers' logs moved to
/// its seconds), or `None` when it has too few whole windows.
pub fn soak(results: &LoadRunResults, logs: &[Log]) -> Option<Soak> {
    if !long_enough(results) {
        return None;
    }
    // Whole intervals of the logs in each window (a run over an hour logs ten seconds each).
    let interval = logs
        .iter()
        .map(|log| log.interval_seconds)
        .max()
        .unwrap_or(1);
    let window = window_seconds(results).div_ceil(interval) * interval;
    let windows = usize::try_from(results.config.run_time_seconds / window).ok()?;
    if windows < drift::MIN_POINTS {
        return None;
    }
    let minutes = |k: usize| k as f64 * window as f64 / 60.0;
    // Timeline second `s` covers the run's `[s - 1, s)`.
    let mut buckets: Vec<Vec<&TimelinePoint>> = vec![Vec::new(); windows];
    for point in &results.timeline {
        if let Some(bucket) = usize::try_from(point.second.saturating_sub(1) / window)
            .ok()
            .and_then(|k| buckets.get_mut(k))
        {
            bucket.push(point);
        }
    }
    let mut trends = Vec::new();
    let mut add = |name: String, unit: &'static str, drawn: bool, points: Vec<(f64, f64)>| {
        trends.push(trend(name, unit, drawn, points));
    };
    let per_window = |value: &dyn Fn(&[&TimelinePoint]) -> Option<f64>| -> Vec<(f64, f64)> {
        buckets
            .iter()
            .enumerate()
            .filter(|(_, points)| !points.is_empty())
            .filter_map(|(k, points)| value(points).map(|v| (minutes(k), v)))
            .collect()
    };
    let seconds = window as f64;
    add(
        "requests/s".into(),
        "requests/s",
        true,
        per_window(&|points| Some(points.iter().map(|p| p.requests).sum::<u64>() as f64 / seconds)),
    );
    add(
        "errors".into(),
        "%",
        true,
        per_window(&|points| {
            let requests: u64 = points.iter().map(|p| p.requests).sum();
            let errors: u64 = points.iter().map(|p| p.errors).sum();
            (requests > 0).then(|| 100.0 * errors as f64 / requests as f64)
        }),
    );
    for (series, logs) in latency_logs(logs) {
        // Every interval into its window, once: an interval belongs to the window its first
        // second falls in (a run over an hour logs ten seconds each; windows are whole tens).
        let mut sums: Vec<Histogram<u64>> =
            (0..windows).map(|_| crate::latency::histogram()).collect();
        for log in logs {
            for (start, histogram) in &log.intervals {
                if let Some(sum) = usize::try_from(start / window)
                    .ok()
                    .and_then(|k| sums.get_mut(k))
                {
                    let _ = sum.add(histogram);
                }
            }
        }
        let flow = results.flows.iter().any(|row| row.name == series);
        for (label, quantile) in [("p50", 0.50), ("p99", 0.99)] {
            let points = sums
                .iter()
                .enumerate()
                .filter(|(_, sum)| sum.len() >= MIN_SAMPLES)
                .map(|(k, sum)| (minutes(k), sum.value_at_quantile(quantile) as f64 / 1e3))
                .collect();
            let kind = if flow { "flow" } else { "hop" };
            add(format!("{label} of {kind} {series}"), "ms", flow, points);
        }
    }
    add(
        "generator resident memory".into(),
        "MB",
        true,
        per_window(&|points| last_known(points, |p| p.generator_rss_bytes).map(|b| b as f64 / 1e6)),
    );
    // Each stack process by its name, in the order of the names (`idp`, `redis-server 6379`,
    // `store`, ...); a process gone mid-run ends its series there.
    let processes: std::collections::BTreeSet<&String> = results
        .timeline
        .iter()
        .flat_map(|point| point.stack_rss_bytes.keys())
        .collect();
    for process in processes {
        add(
            format!("resident memory of {process}"),
            "MB",
            true,
            per_window(&|points| {
                points
                    .iter()
                    .rev()
                    .find_map(|point| point.stack_rss_bytes.get(process).copied())
                    .map(|bytes| bytes as f64 / 1e6)
            }),
        );
    }
    add(
        "Redis used memory".into(),
        "MB",
        true,
        per_window(&|points| {
            last_known(points, |p| p.backend_memory_bytes).map(|b| b as f64 / 1e6)
        }),
    );
    add(
        "store sessions alive".into(),
        "sessions",
        true,
        per_window(&|points| last_known(points, |p| p.store_sessions_alive).map(|n| n as f64)),
    );
    add(
        "generator CPU".into(),
        "cores",
        true,
        per_window(&|points| {
            Some(points.iter().map(|p| p.generator_cpu_cores).sum::<f64>() / points.len() as f64)
        }),
    );
    add(
        "stack CPU".into(),
        "cores",
        true,
        per_window(&|points| {
            let known: Vec<f64> = points.iter().filter_map(|p| p.stack_cpu_cores).collect();
            (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64)
        }),
    );
    trends.retain(|trend| !trend.points.is_empty());
    Some(Soak {
        window_seconds: window,
        windows,
        series: trends,
        note: None,
    })
}

/// A window's last known value of a figure sampled each second (a gauge, not a count).
fn last_known(points: &[&TimelinePoint], value: fn(&TimelinePoint) -> Option<u64>) -> Option<u64> {
    points.iter().rev().find_map(|point| value(point))
}

/// The logs latency windows are read from, by series: its corrected logs (equal to the raw
/// ones in a closed run), or its raw ones when there are no corrected; one per worker in a
/// merged run. The stolen cookie's are left out (their value is how long it was watched, not a
/// latency).
fn latency_logs(logs: &[Log]) -> Vec<(&str, Vec<&Log>)> {
    let mut names: Vec<&str> = logs
        .iter()
        .map(|log| log.series.as_str())
        .filter(|series| *series != "stolen")
        .collect();
    names.dedup();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|series| {
            let of = |kind: Kind| -> Vec<&Log> {
                logs.iter()
                    .filter(|log| log.series == series && log.kind == kind)
                    .collect()
            };
            let corrected = of(Kind::Corrected);
            (
                series,
                if corrected.is_empty() {
                    of(Kind::Raw)
                } else {
                    corrected
                },
            )
        })
        .collect()
}

fn trend(name: String, unit: &'static str, drawn: bool, points: Vec<(f64, f64)>) -> Trend {
    let verdict = drift::judge(&points, tolerance(unit));
    let sentence = sentence(&verdict, unit);
    Trend {
        name,
        unit: unit.to_owned(),
        points,
        verdict,
        sentence,
        drawn,
    }
}

/// A change over the whole run below 5% of the series' median does not matter, nor one below a
/// floor in the series' unit (a tenth of a percentage point of errors, 50 µs, 1 MB, a twentieth
/// of a core).
fn tolerance(unit: &str) -> Tolerance {
    let floor = match unit {
        "%" => 0.1,
        "ms" => 0.05,
        "MB" => 1.0,
        "cores" => 0.05,
        _ => 0.0,
    };
    Tolerance {
        floor,
        ..Tolerance::default()
    }
}

/// The verdict in words, slopes per minute.
pub fn sentence(verdict: &Verdict, unit: &str) -> String {
    match verdict {
        Verdict::TooShort => "too few windows to tell".into(),
        Verdict::Stable(slope) => format!("stable: {}", with_interval(slope, unit)),
        Verdict::Drifting(slope) => format!(
            "{} {} {unit}/min ({} to {})",
            if slope.per_x > 0.0 { "grows" } else { "falls" },
            figure(slope.per_x.abs()),
            figure(slope.low.abs().min(slope.high.abs())),
            figure(slope.low.abs().max(slope.high.abs()))
        ),
        Verdict::Unclear(slope) => format!(
            "unclear: {}, too wide to rule out a drift that matters",
            with_interval(slope, unit)
        ),
        Verdict::Step {
            at,
            before,
            after,
            then,
        } => {
            let step = format!(
                "a step at minute {at:.1}: {} → {} {unit}",
                figure(*before),
                figure(*after)
            );
            match then {
                Some(slope) => format!(
                    "{step}, then {}",
                    sentence(&Verdict::Drifting(*slope), unit)
                ),
                None => step,
            }
        }
    }
}

/// A slope with its interval, signed: "+0.0100 %/min (95%: −0.200 to +0.300)".
fn with_interval(slope: &Slope, unit: &str) -> String {
    format!(
        "{} {unit}/min (95%: {} to {})",
        signed(slope.per_x),
        signed(slope.low),
        signed(slope.high)
    )
}

/// Three significant figures, without a needless exponent.
fn figure(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return "0".into();
    }
    let digits = (2 - value.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{value:.digits$}")
}

fn signed(value: f64) -> String {
    if value >= 0.0 {
        format!("+{}", figure(value))
    } else {
        format!("−{}", figure(-value))
    }
}

/// One chart per drawn series: its windows, and its Theil–Sen line over them.
pub fn figures(soak: &Soak, label: &str, stem_prefix: &str) -> Vec<Figure> {
    soak.series
        .iter()
        .filter(|trend| trend.drawn)
        .enumerate()
        .map(|(index, trend)| {
            let (slope, intercept) = drift::theil_sen(&trend.points);
            let ends = [
                trend.points.first().map_or(0.0, |p| p.0),
                trend.points.last().map_or(0.0, |p| p.0),
            ];
            Figure {
                stem: format!("{stem_prefix}soak-{index}"),
                title: format!("{label}: {} over time", trend.name),
                description: format!(
                    "Each point is one {}-second window; the line is the Theil–Sen slope. {}.",
                    soak.window_seconds, trend.sentence
                ),
                chart: Chart::Lines(LineChart {
                    x_label: "minutes into the run".into(),
                    y_label: trend.unit.clone(),
                    x_axis: Axis::Linear,
                    y_scale: Scale::Linear,
                    series: vec![
                        Series {
                            name: trend.name.clone(),
                            color: RGBColor(31, 119, 180),
                            points: trend.points.clone(),
                        },
                        Series {
                            name: "slope".into(),
                            color: RGBColor(214, 39, 40),
                            points: ends.iter().map(|&x| (x, intercept + slope * x)).collect(),
                        },
                    ],
                    legend: Legend::LowerRight,
                    shaded: Vec::new(),
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{figure, sentence};
    use crate::drift::{Slope, Verdict};

    #[test]
    fn verdicts_read_as_sentences() {
        let slope = |per_x, low, high| Slope {
            per_x,
            low,
            high,
            autocorrelation: 0.2,
            effective_points: 40,
        };
        assert_eq!(
            sentence(&Verdict::Drifting(slope(3.1, 2.7, 3.5)), "MB"),
            "grows 3.10 MB/min (2.70 to 3.50)"
        );
        assert_eq!(
            sentence(&Verdict::Drifting(slope(-0.5, -0.6, -0.4)), "ms"),
            "falls 0.500 ms/min (0.400 to 0.600)"
        );
        assert_eq!(
            sentence(&Verdict::Stable(slope(0.01, -0.2, 0.3)), "%"),
            "stable: +0.0100 %/min (95%: −0.200 to +0.300)"
        );
        assert_eq!(
            sentence(
                &Verdict::Step {
                    at: 4.0,
                    before: 120.0,
                    after: 160.0,
                    then: None,
                },
                "MB"
            ),
            "a step at minute 4.0: 120 → 160 MB"
        );
        assert_eq!(
            sentence(
                &Verdict::Step {
                    at: 4.0,
                    before: 120.0,
                    after: 160.0,
                    then: Some(slope(3.1, 2.7, 3.5)),
                },
                "MB"
            ),
            "a step at minute 4.0: 120 → 160 MB, then grows 3.10 MB/min (2.70 to 3.50)"
        );
        assert!(
            sentence(&Verdict::Unclear(slope(0.5, -1.0, 2.0)), "ms").starts_with("unclear: +0.500")
        );
        assert_eq!(figure(12345.6), "12346");
    }
}
