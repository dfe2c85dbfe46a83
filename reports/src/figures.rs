//! Which charts a report draws, and from which figures of the results: one function per chart
//! family, each returning finished [`Figure`]s (or none when its data is absent).

use crate::chart::{Axis, BarChart, Chart, Figure, Legend, LineChart, Scale, Series};
use crate::criterion::CriterionResults;
use crate::report::{Report, backend_color, palette, slug};
use crate::results::{LatencyRow, TimelinePoint};
use vocabulary::Backend;

/// The spread of a comparison with repetitions (none otherwise).
pub fn spread_figures(report: &Report) -> Vec<Figure> {
    let observations = crate::verdict::observations(report);
    if crate::compare::repeated(&observations) {
        crate::compare::spread_figures(&observations, &crate::verdict::terms(report))
    } else {
        Vec::new()
    }
}

/// The charts of the load runs, in the order the report shows them.
pub fn load_figures(report: &Report) -> Vec<Figure> {
    let mut figures = vec![requests_per_second(report)];
    figures.extend(around_faults(report));
    if report.runs.len() > 1 {
        figures.push(p99_over_time(report));
    }
    figures.extend(latency_over_time(report));
    figures.push(logins_per_second(report));
    figures.extend(hop_bars(report));
    figures.extend(sessions_alive(report));
    figures.extend(errors_over_time(report));
    figures.push(cpu_over_time(report));
    figures.push(lag_over_time(report));
    figures.extend(users_over_time(report));
    figures.extend(memory_over_time(report));
    figures.extend(connection_churn(report));
    figures
}

/// New connections each second, and the host's sockets in TIME_WAIT (schema 6 on).
fn connection_churn(report: &Report) -> Option<Figure> {
    let mut series = labelled_series(
        report,
        |p| p.connections_opened.map(|n| n as f64),
        |label| format!("{label}: connections opened"),
        0,
    );
    if series.is_empty() {
        return None;
    }
    series.extend(labelled_series(
        report,
        |p| p.host_time_wait.map(|n| n as f64),
        |label| format!("{label}: TIME_WAIT (host)"),
        1,
    ));
    Some(over_time(
        report,
        (
            "connection-churn",
            "Connection churn",
            "Connections the load generator opened in each second (a user's first \
                      visit, or one after its idle connection was closed), and the TCP \
                      sockets in TIME_WAIT on this host (every process's, from \
                      /proc/net/sockstat).",
        ),
        "count",
        series,
    ))
}

/// Per run, one series of `value` over the timeline's seconds (runs without it left out).
fn labelled_series(
    report: &Report,
    value: impl Fn(&TimelinePoint) -> Option<f64>,
    name: impl Fn(&str) -> String,
    color_offset: usize,
) -> Vec<Series> {
    report
        .runs
        .iter()
        .enumerate()
        .filter_map(|(index, run)| {
            let points: Vec<(f64, f64)> = run
                .results
                .timeline
                .iter()
                .filter_map(|p| Some((p.second as f64, value(p)?)))
                .collect();
            (!points.is_empty()).then(|| Series {
                name: name(&run.label),
                color: palette(3 * index + color_offset),
                points,
            })
        })
        .collect()
}

/// A line chart over the run's seconds (fault windows shaded).
fn over_time(
    report: &Report,
    (stem, title, description): (&str, &str, &str),
    y_label: &str,
    series: Vec<Series>,
) -> Figure {
    Figure {
        stem: stem.into(),
        title: title.into(),
        description: description.into(),
        chart: Chart::Lines(LineChart {
            x_label: "time (s)".into(),
            y_label: y_label.into(),
            x_axis: Axis::Linear,
            y_scale: Scale::Linear,
            series,
            legend: Legend::LowerRight,
            shaded: fault_windows(report),
        }),
    }
}

/// Users started, the generator's open descriptors and the stack's open connections, each
/// second (results of schema 6 on).
fn users_over_time(report: &Report) -> Option<Figure> {
    let mut series = labelled_series(
        report,
        |p| p.users.map(|users| users as f64),
        |label| format!("{label}: users"),
        0,
    );
    if series.is_empty() {
        return None;
    }
    series.extend(labelled_series(
        report,
        |p| p.generator_open_files.map(|files| files as f64),
        |label| format!("{label}: generator descriptors"),
        1,
    ));
    series.extend(labelled_series(
        report,
        |p| p.stack_connections.map(|open| open as f64),
        |label| format!("{label}: stack connections"),
        2,
    ));
    Some(over_time(
        report,
        (
            "users",
            "Users and open connections",
            "Users started by each second (their ramp-up, then all of them); the \
                      descriptors the load generator held open (its connections, mostly: a \
                      thinking user keeps its connections until an idle limit closes them); and \
                      the connections the stack held, counted by its servers in-process or as \
                      its processes' descriptors (--target-pid, --instances).",
        ),
        "count",
        series,
    ))
}

/// The generator's resident memory each second (results of schema 6 on).
fn memory_over_time(report: &Report) -> Option<Figure> {
    let series = labelled_series(
        report,
        |p| {
            p.generator_rss_bytes
                .map(|bytes| bytes as f64 / (1024.0 * 1024.0))
        },
        |label| format!("{label}: generator"),
        0,
    );
    (!series.is_empty()).then(|| {
        over_time(
            report,
            (
                "generator-memory",
                "Load generator memory",
                "The load generator's resident memory at each second, MiB: its users' \
                      state and their connections' buffers (the kernel's socket buffers are not \
                      in it). Divided by the users, once all have started, it is the cost per \
                      user the summary states.",
            ),
            "resident memory (MiB)",
            series,
        )
    })
}

/// Percentile spectra, one chart per flow, then one per hop.
pub fn spectrum_figures(report: &Report) -> (Vec<Figure>, Vec<Figure>) {
    let flows = names(report, |r| &r.flows);
    let hops = names(report, |r| &r.hops);
    let chart =
        |kind: &str, name: &str, rows: fn(&crate::results::LoadRunResults) -> &Vec<LatencyRow>| {
            let series = report
                .runs
                .iter()
                .enumerate()
                .filter_map(|(index, run)| {
                    // A row with no successful sample has no spectrum to draw.
                    let row = rows(&run.results)
                        .iter()
                        .find(|row| row.name == name && row.count > 0)?;
                    Some(Series {
                        name: run.label.clone(),
                        color: report.color(index),
                        points: spectrum_points(&row.spectrum_us, row.count),
                    })
                })
                .collect();
            Figure {
                stem: format!("spectrum-{kind}-{}", slug(name)),
                title: format!("{name}: latency by percentile"),
                description: format!(
                    "HDR-style percentile spectrum of the {kind} {name:?} (raw, as measured): the \
                 x axis spreads the tail so that 90%, 99% and 99.9% are equally far apart; the \
                 last point of each line is the maximum."
                ),
                chart: Chart::Lines(LineChart {
                    x_label: "percentile".into(),
                    y_label: "latency (ms)".into(),
                    x_axis: Axis::PercentileSpectrum,
                    y_scale: Scale::Linear,
                    series,
                    legend: Legend::UpperLeft,
                    shaded: Vec::new(),
                }),
            }
        };
    (
        flows
            .iter()
            .map(|name| chart("flow", name, |r| &r.flows))
            .collect(),
        hops.iter()
            .map(|name| chart("hop", name, |r| &r.hops))
            .collect(),
    )
}

/// A spectrum's points in milliseconds. The maximum is recorded as 100%, which a log axis
/// cannot place; it is drawn where the n-th of n samples sits, at 1 - 1/n, as HDR plots do.
fn spectrum_points(spectrum_us: &[(f64, f64)], count: u64) -> Vec<(f64, f64)> {
    let last_sample = 100.0 * (1.0 - 1.0 / count.max(1) as f64);
    let mut last = 0.0_f64;
    spectrum_us
        .iter()
        .map(|&(percentile, us)| {
            let percentile = if percentile >= 100.0 {
                last_sample.max(last)
            } else {
                last = percentile;
                percentile
            };
            (percentile, us / 1000.0)
        })
        .collect()
}

/// Hop or flow names across all runs, in first-seen order.
pub fn names(
    report: &Report,
    rows: impl Fn(&crate::results::LoadRunResults) -> &Vec<LatencyRow>,
) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for run in &report.runs {
        for row in rows(&run.results) {
            if !names.contains(&row.name) {
                names.push(row.name.clone());
            }
        }
    }
    names
}

/// Every run's fault windows, seconds from the start of the run: shaded on the timelines.
fn fault_windows(report: &Report) -> Vec<(f64, f64)> {
    report
        .runs
        .iter()
        .flat_map(|run| run_fault_windows(&run.results))
        .collect()
}

/// One run's fault windows (a fault never undone runs to the end of its timeline).
fn run_fault_windows(results: &crate::results::LoadRunResults) -> Vec<(f64, f64)> {
    let end = results.timeline.last().map_or(0.0, |p| p.second as f64);
    results
        .faults
        .iter()
        .filter_map(|fault| {
            let began = fault.began_ms? / 1000.0;
            Some((began, fault.ended_ms.map_or(end, |ended| ended / 1000.0)))
        })
        .collect()
}

fn timeline_series(report: &Report, value: impl Fn(&TimelinePoint) -> Option<f64>) -> Vec<Series> {
    report
        .runs
        .iter()
        .enumerate()
        .map(|(index, run)| Series {
            name: run.label.clone(),
            color: report.color(index),
            points: run
                .results
                .timeline
                .iter()
                .filter_map(|point| Some((point.second as f64, value(point)?)))
                .collect(),
        })
        .collect()
}

fn requests_per_second(report: &Report) -> Figure {
    Figure {
        stem: "requests-per-second".into(),
        title: "Requests per second".into(),
        description: "Requests answered in each second of the run, all hops together (the last \
                      seconds may be the drain after the run time, when users finish their \
                      iteration)."
            .into(),
        chart: Chart::Lines(LineChart {
            x_label: "time (s)".into(),
            y_label: "requests/s".into(),
            x_axis: Axis::Linear,
            y_scale: Scale::Linear,
            series: timeline_series(report, |p| Some(p.requests as f64)),
            legend: Legend::LowerRight,
            shaded: fault_windows(report),
        }),
    }
}

fn p99_over_time(report: &Report) -> Figure {
    Figure {
        stem: "p99-over-time".into(),
        title: "p99 latency over time, by run".into(),
        description: "The 99th percentile of every hop answered in each second (log scale).".into(),
        chart: Chart::Lines(LineChart {
            x_label: "time (s)".into(),
            y_label: "p99 latency (ms)".into(),
            x_axis: Axis::Linear,
            y_scale: Scale::Log,
            series: timeline_series(report, |p| (p.requests > 0).then_some(p.p99_us / 1000.0)),
            legend: Legend::UpperRight,
            shaded: fault_windows(report),
        }),
    }
}

fn latency_over_time(report: &Report) -> Vec<Figure> {
    type Pick = fn(&TimelinePoint) -> f64;
    let percentiles: [(&str, Pick); 4] = [
        ("p50", |p| p.p50_us),
        ("p90", |p| p.p90_us),
        ("p99", |p| p.p99_us),
        ("p99.9", |p| p.p99_9_us),
    ];
    report
        .runs
        .iter()
        .map(|run| {
            let series = percentiles
                .iter()
                .enumerate()
                .map(|(index, (name, pick))| Series {
                    name: (*name).to_owned(),
                    color: palette(index + 4),
                    points: run
                        .results
                        .timeline
                        .iter()
                        .filter(|p| p.requests > 0)
                        .map(|p| (p.second as f64, pick(p) / 1000.0))
                        .collect(),
                })
                .collect();
            Figure {
                stem: format!("latency-over-time-{}", slug(&run.label)),
                title: format!("{}: latency percentiles over time", run.label),
                description: format!(
                    "Percentiles of every hop answered in each second of the {} run (raw, log \
                     scale); seconds without an answer are left out.",
                    run.label
                ),
                chart: Chart::Lines(LineChart {
                    x_label: "time (s)".into(),
                    y_label: "latency (ms)".into(),
                    x_axis: Axis::Linear,
                    y_scale: Scale::Log,
                    series,
                    legend: Legend::UpperRight,
                    shaded: run_fault_windows(&run.results),
                }),
            }
        })
        .collect()
}

fn groups(report: &Report) -> Vec<(String, plotters::style::RGBColor)> {
    report
        .runs
        .iter()
        .enumerate()
        .map(|(index, run)| (run.label.clone(), report.color(index)))
        .collect()
}

fn logins_per_second(report: &Report) -> Figure {
    Figure {
        stem: "logins-per-second".into(),
        title: "Logins per second".into(),
        description: "Completed logins per second: all kinds (password, SSO relogin, forums \
                      SSO) over the run time, and password logins alone over the whole elapsed \
                      time."
            .into(),
        chart: Chart::Bars(BarChart {
            value_label: "logins/s".into(),
            scale: Scale::Linear,
            categories: vec!["all logins".into(), "password logins".into()],
            groups: groups(report),
            values: vec![
                report
                    .runs
                    .iter()
                    .map(|r| Some(r.results.logins_per_second))
                    .collect(),
                report
                    .runs
                    .iter()
                    .map(|r| Some(r.results.password_logins_per_second))
                    .collect(),
            ],
        }),
    }
}

fn hop_bars(report: &Report) -> Vec<Figure> {
    let hops = names(report, |r| &r.hops);
    if hops.is_empty() {
        return Vec::new();
    }
    type Pick = fn(&LatencyRow) -> f64;
    let stats: [(&str, Pick); 2] = [("p50", |row| row.raw_us.p50), ("p99", |row| row.raw_us.p99)];
    stats
        .iter()
        .map(|(stat, pick)| Figure {
            stem: format!("hops-{stat}"),
            title: format!("{stat} latency per hop"),
            description: format!(
                "The {stat} of each hop (one HTTP request), raw, backends side by side (log \
                 scale)."
            ),
            chart: Chart::Bars(BarChart {
                value_label: format!("{stat} latency (ms)"),
                scale: Scale::Log,
                categories: hops.clone(),
                groups: groups(report),
                values: hops
                    .iter()
                    .map(|hop| {
                        report
                            .runs
                            .iter()
                            .map(|run| {
                                // A hop whose every attempt failed has no latency: no bar.
                                let row = run
                                    .results
                                    .hops
                                    .iter()
                                    .find(|row| &row.name == hop && row.count > 0)?;
                                Some(pick(row) / 1000.0)
                            })
                            .collect()
                    })
                    .collect(),
            }),
        })
        .collect()
}

/// The load generator's CPU and the stack's, each second, per run.
fn cpu_over_time(report: &Report) -> Figure {
    let mut series = Vec::new();
    for (index, run) in report.runs.iter().enumerate() {
        let timeline = &run.results.timeline;
        series.push(Series {
            name: format!("{}: generator", run.label),
            color: palette(3 * index),
            points: timeline
                .iter()
                .map(|p| (p.second as f64, p.generator_cpu_cores))
                .collect(),
        });
        let stack: Vec<(f64, f64)> = timeline
            .iter()
            .filter_map(|p| Some((p.second as f64, p.stack_cpu_cores?)))
            .collect();
        if !stack.is_empty() {
            series.push(Series {
                name: format!("{}: stack", run.label),
                color: palette(3 * index + 1),
                points: stack,
            });
        }
        let stolen: Vec<(f64, f64)> = timeline
            .iter()
            .filter_map(|p| Some((p.second as f64, p.host_steal_cores?)))
            .collect();
        if stolen.iter().any(|&(_, cores)| cores > 0.0) {
            series.push(Series {
                name: format!("{}: stolen (host)", run.label),
                color: palette(3 * index + 2),
                points: stolen,
            });
        }
    }
    Figure {
        stem: "cpu".into(),
        title: "CPU: load generator and stack".into(),
        description: "CPU cores used in each second by the load generator (every thread of the                       load runner outside the stack's runtime) and by the stack (the in-process                       stack's threads and a redis-server the run started, or the process given                       with --target-pid). A generator near its threads' cores sets the pace                       itself. CPU the hypervisor gave other guests (steal, the whole host's) is drawn when there was any: neither side got it."
            .into(),
        chart: Chart::Lines(LineChart {
            x_label: "time (s)".into(),
            y_label: "CPU (cores)".into(),
            x_axis: Axis::Linear,
            y_scale: Scale::Linear,
            series,
            legend: Legend::LowerRight,
            shaded: fault_windows(report),
        }),
    }
}

/// How late the generator's 1 ms timer woke, each second.
fn lag_over_time(report: &Report) -> Figure {
    Figure {
        stem: "generator-lag".into(),
        title: "Load generator timer lag (p99)".into(),
        description: "How late a 1 ms sleep on the generator's runtime woke, 99th percentile of                       each second (log scale). Above 5 ms the generator sends its own requests                       late, and the latencies it reports include its own delay."
            .into(),
        chart: Chart::Lines(LineChart {
            x_label: "time (s)".into(),
            y_label: "timer lag p99 (ms)".into(),
            x_axis: Axis::Linear,
            y_scale: Scale::Log,
            series: timeline_series(report, |p| (p.lag_p99_us > 0.0).then_some(p.lag_p99_us / 1000.0)),
            legend: Legend::UpperRight,
            shaded: fault_windows(report),
        }),
    }
}

fn sessions_alive(report: &Report) -> Option<Figure> {
    let series: Vec<Series> = timeline_series(report, |p| p.store_sessions_alive.map(|n| n as f64))
        .into_iter()
        .filter(|s| !s.points.is_empty())
        .collect();
    if series.is_empty() {
        return None;
    }
    Some(Figure {
        stem: "sessions-alive".into(),
        title: "Store sessions alive".into(),
        description: "Live sessions in the store app's backend, sampled each second (in-process \
                      runs; prefilled sessions included until they idle out)."
            .into(),
        chart: Chart::Lines(LineChart {
            x_label: "time (s)".into(),
            y_label: "sessions".into(),
            x_axis: Axis::Linear,
            y_scale: Scale::Linear,
            series,
            legend: Legend::LowerRight,
            shaded: fault_windows(report),
        }),
    })
}

/// For each run with faults: failed requests and users sent to `/login` each second, on a scale
/// of their own (beside thousands of requests they would not show), the fault windows shaded.
fn around_faults(report: &Report) -> Vec<Figure> {
    report
        .runs
        .iter()
        .filter(|run| !run.results.faults.is_empty())
        .map(|run| {
            type Pick = fn(&TimelinePoint) -> u64;
            let lines: [(&str, Pick, usize); 2] = [
                ("failed requests", |p| p.errors, 3),
                ("sent to /login (session gone)", |p| p.bounces, 6),
            ];
            let series = lines
                .iter()
                .map(|(name, pick, color)| Series {
                    name: (*name).to_owned(),
                    color: palette(*color),
                    points: per_second(&run.results.timeline, pick),
                })
                .collect();
            Figure {
                stem: format!("faults-{}", slug(&run.label)),
                title: format!("{}: failures and bounces around the faults", run.label),
                description: format!(
                    "Each second of the {} run: requests failed, and users sent to /login \
                     because their session was gone (requests per second are in the first \
                     chart). The faults' windows are shaded; their figures are in the Faults \
                     section.",
                    run.label
                ),
                chart: Chart::Lines(LineChart {
                    x_label: "time (s)".into(),
                    y_label: "per second".into(),
                    x_axis: Axis::Linear,
                    y_scale: Scale::Linear,
                    series,
                    legend: Legend::UpperRight,
                    shaded: run_fault_windows(&run.results),
                }),
            }
        })
        .collect()
}

fn errors_over_time(report: &Report) -> Vec<Figure> {
    report
        .runs
        .iter()
        .map(|run| {
            let mut codes: Vec<&String> = run
                .results
                .timeline
                .iter()
                .flat_map(|p| p.status_codes.keys())
                .collect();
            codes.sort();
            codes.dedup();
            let timeline = &run.results.timeline;
            let mut series = vec![Series {
                name: "errors".into(),
                color: palette(3),
                points: per_second(timeline, |p| p.errors),
            }];
            if timeline.iter().any(|p| p.bounces > 0) {
                series.push(Series {
                    name: "sent to /login (session gone)".into(),
                    color: palette(6),
                    points: per_second(timeline, |p| p.bounces),
                });
            }
            series.extend(codes.iter().enumerate().map(|(index, code)| Series {
                name: status_name(code),
                color: status_color(code, index),
                points: per_second(timeline, |p| {
                    p.status_codes.get(*code).copied().unwrap_or(0)
                }),
            }));
            Figure {
                stem: format!("status-over-time-{}", slug(&run.label)),
                title: format!("{}: responses by status, and errors, per second", run.label),
                description: format!(
                    "Responses of the {} run by HTTP status each second, the requests \
                     counted as errors (a wrong status, Location or page, or no answer), and \
                     users sent to /login because their session was gone. Fault windows are \
                     shaded.",
                    run.label
                ),
                chart: Chart::Lines(LineChart {
                    x_label: "time (s)".into(),
                    y_label: "responses/s".into(),
                    x_axis: Axis::Linear,
                    y_scale: Scale::Linear,
                    series,
                    legend: Legend::UpperRight,
                    shaded: run_fault_windows(&run.results),
                }),
            }
        })
        .collect()
}

/// One count of a run's timeline, second by second.
fn per_second(
    timeline: &[TimelinePoint],
    count: impl Fn(&TimelinePoint) -> u64,
) -> Vec<(f64, f64)> {
    timeline
        .iter()
        .map(|p| (p.second as f64, count(p) as f64))
        .collect()
}

/// "HTTP 200" for a status, the key itself for requests that got no answer.
pub fn status_name(code: &str) -> String {
    if code.parse::<u16>().is_ok() {
        format!("HTTP {code}")
    } else {
        code.to_owned()
    }
}

/// Success codes in cool colours, client errors orange, server errors dark red.
fn status_color(code: &str, index: usize) -> plotters::style::RGBColor {
    match code.as_bytes().first() {
        Some(b'2') => palette(index % 3),
        Some(b'3') => palette(4 + index % 2),
        Some(b'4') => plotters::style::RGBColor(255, 127, 14),
        Some(b'5') => plotters::style::RGBColor(120, 0, 0),
        _ => palette(7),
    }
}

/// The microbenchmark charts, where criterion's output has the benchmarks they need.
pub fn bench_figures(criterion: &CriterionResults) -> Vec<Figure> {
    let mut figures = Vec::new();
    for (operation, what) in [
        ("load_hit", "load of a live session"),
        (
            "load_and_extend",
            "load and extend (the cart page's lookup)",
        ),
    ] {
        if let Some(figure) = hot_path(criterion, operation, what) {
            figures.push(figure);
        }
    }
    figures.extend(throughput_lines(
        criterion,
        "scaling/mix",
        "bench-thread-scaling",
        "Thread scaling: read-heavy session mix",
        "threads",
        "Operations per second of the 95% load / 4% save / 1% create+delete mix over 100k \
         sessions, by worker threads (criterion `scaling/mix`; log scale). On a 2-core machine \
         4 threads cannot scale past 2.",
    ));
    figures.extend(throughput_lines(
        criterion,
        "redis/load_and_extend_concurrent",
        "bench-redis-concurrency",
        "Redis: load_and_extend throughput by tasks in flight",
        "concurrent tasks",
        "Operations per second of load_and_extend against Redis through one multiplexed \
         connection, by tasks in flight (criterion `redis/load_and_extend_concurrent`; log \
         scale).",
    ));
    figures
}

const SIZES: [&str; 3] = ["1k", "100k", "1M"];

fn hot_path(criterion: &CriterionResults, operation: &str, what: &str) -> Option<Figure> {
    let mut groups: Vec<(String, String)> = Vec::new();
    for bench in &criterion.benches {
        let parts = bench.parts();
        let group = match parts.as_slice() {
            ["store", op, backend, _] if *op == operation => Some((
                format!("store/{operation}/{backend}"),
                (*backend).to_owned(),
            )),
            // The bare maps, with no session logic, as the floor the stores are measured against.
            ["raw", op, map, _] if *op == operation => {
                Some((format!("raw/{operation}/{map}"), format!("bare {map}")))
            }
            _ => None,
        };
        if let Some(group) = group
            && !groups.contains(&group)
        {
            groups.push(group);
        }
    }
    if groups.is_empty() {
        return None;
    }
    // Backends in list order, then anything else, then the bare maps.
    let order = |name: &str| match Backend::from_name(name) {
        Some(backend) => backend.index(),
        None if name.starts_with("bare ") => Backend::ALL.len() + 1,
        None => Backend::ALL.len(),
    };
    groups.sort_by(|a, b| order(&a.1).cmp(&order(&b.1)).then(a.1.cmp(&b.1)));
    let values = SIZES
        .iter()
        .map(|size| {
            groups
                .iter()
                .map(|(prefix, _)| {
                    criterion
                        .find(&format!("{prefix}/{size}"))
                        .map(|b| b.time_ns)
                })
                .collect()
        })
        .collect();
    let mut bare = 0;
    let colored = groups
        .iter()
        .enumerate()
        .map(|(index, (_, name))| {
            let color = if name.starts_with("bare ") {
                bare += 1;
                palette(6 + bare)
            } else {
                backend_color(name, index)
            };
            (name.clone(), color)
        })
        .collect();
    Some(Figure {
        stem: format!("bench-{}", slug(operation)),
        title: format!("Hot path: {what}, by store size"),
        description: format!(
            "Time per call of {operation} (criterion `store/{operation}/<backend>/<size>`, \
             one task) with 1k, 100k and 1M live sessions, log scale; \"bare\" bars are the \
             maps alone with no session logic."
        ),
        chart: Chart::Bars(BarChart {
            value_label: "time per call (ns)".into(),
            scale: Scale::Log,
            categories: SIZES.iter().map(|s| format!("{s} sessions")).collect(),
            groups: colored,
            values,
        }),
    })
}

fn throughput_lines(
    criterion: &CriterionResults,
    prefix: &str,
    stem: &str,
    title: &str,
    x_label: &str,
    description: &str,
) -> Option<Figure> {
    let depth = prefix.split('/').count();
    let mut series: Vec<Series> = Vec::new();
    for bench in criterion
        .benches
        .iter()
        .filter(|b| b.id.starts_with(prefix))
    {
        let parts = bench.parts();
        let (name, x) = match &parts[depth..] {
            [name, x] => ((*name).to_owned(), *x),
            [x] => (String::new(), *x),
            _ => continue,
        };
        let (Ok(x), Some(rate)) = (x.parse::<f64>(), bench.elements_per_second()) else {
            continue;
        };
        match series.iter_mut().find(|s| s.name == name) {
            Some(existing) => existing.points.push((x, rate)),
            None => {
                let index = series.len();
                series.push(Series {
                    color: backend_color(&name, index),
                    name,
                    points: vec![(x, rate)],
                })
            }
        }
    }
    for s in &mut series {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    if series.is_empty() {
        return None;
    }
    Some(Figure {
        stem: stem.into(),
        title: title.into(),
        description: description.into(),
        chart: Chart::Lines(LineChart {
            x_label: x_label.into(),
            y_label: "operations/s".into(),
            x_axis: Axis::Log,
            y_scale: Scale::Log,
            series,
            legend: Legend::LowerRight,
            shaded: Vec::new(),
        }),
    })
}
