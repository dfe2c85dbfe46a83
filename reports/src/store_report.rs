//! Reports of store-level runs (`loadtest store`: the session backend driven directly, no
//! HTTP): operations per second over time, per-operation latency by backend, a headline table
//! and a verdict, on the same page layout as load-run reports.

use crate::chart::{Axis, BarChart, Chart, Figure, Legend, LineChart, Scale, Series};
use crate::compare::{self, Observation, Terms};
use crate::format::{count, escape, percent, rate};
use crate::html::{
    Row, RunTable, bench_section, comparison_section, document_start, environment_rows,
    figure_html, link, started_range, verdict_list,
};
use crate::report::RunResults as _;
pub use crate::report::{StoreReport, StoreRun};
use crate::results::{RESULTS_FILE, StoreRunResults};
use std::fmt::Write as _;
use std::path::Path;

/// The operation whose latency the verdict compares: the session lookup every page view makes.
const HOT_OPERATION: &str = "load_and_extend";

impl StoreReport {
    fn operations(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for run in &self.runs {
            for op in &run.results.operations {
                if !names.contains(&op.operation) {
                    names.push(op.operation.clone());
                }
            }
        }
        names
    }

    fn latency(&self, run: &StoreRun, operation: &str) -> Option<crate::results::Percentiles> {
        run.results
            .operations
            .iter()
            .find(|op| op.operation == operation && op.count > 0)
            .map(|op| op.latency_us.clone())
    }
}

/// The charts of a store-level report.
pub fn figures(report: &StoreReport) -> Vec<Figure> {
    let groups: Vec<(String, plotters::style::RGBColor)> = report
        .runs
        .iter()
        .enumerate()
        .map(|(index, run)| (run.label.clone(), report.color(index)))
        .collect();
    let observations = observations(report);
    let mut figures = if compare::repeated(&observations) {
        compare::spread_figures(&observations, &terms())
    } else {
        Vec::new()
    };
    figures.push(Figure {
        stem: "operations-per-second".into(),
        title: "Store operations per second".into(),
        description: "Operations completed in each second of the run, all kinds of the mix \
                      together."
            .into(),
        chart: Chart::Lines(LineChart {
            x_label: "time (s)".into(),
            y_label: "operations/s".into(),
            x_axis: Axis::Linear,
            y_scale: Scale::Linear,
            series: report
                .runs
                .iter()
                .enumerate()
                .map(|(index, run)| Series {
                    name: run.label.clone(),
                    color: report.color(index),
                    points: run
                        .results
                        .operations_per_second_timeline
                        .iter()
                        .enumerate()
                        .map(|(second, ops)| ((second + 1) as f64, *ops as f64))
                        .collect(),
                })
                .collect(),
            legend: Legend::LowerRight,
            shaded: Vec::new(),
        }),
    });
    let operations = report.operations();
    type Pick = fn(&crate::results::Percentiles) -> f64;
    let stats: [(&str, Pick); 2] = [("p50", |p| p.p50), ("p99", |p| p.p99)];
    for (stat, pick) in stats {
        figures.push(Figure {
            stem: format!("operations-{stat}"),
            title: format!("{stat} latency per store operation"),
            description: format!(
                "The {stat} of each operation of the mix, as the caller saw it (log scale)."
            ),
            chart: Chart::Bars(BarChart {
                value_label: format!("{stat} latency (µs)"),
                scale: Scale::Log,
                categories: operations.clone(),
                groups: groups.clone(),
                values: operations
                    .iter()
                    .map(|op| {
                        report
                            .runs
                            .iter()
                            .map(|run| report.latency(run, op).map(|p| pick(&p)))
                            .collect()
                    })
                    .collect(),
            }),
        });
    }
    figures
}

/// How the store report names what it compares.
pub fn terms() -> Terms {
    Terms {
        throughput: "operations/s",
        verb: "completed",
        units: "operations",
        latency: Some(format!("p99 of {HOT_OPERATION}")),
        show_latency: |value| format!("{} µs", us(value)),
        repeat_hint: "Run `loadtest store --arms A,B --repeat 3` (or more), or `--precision 10%`, for intervals.",
    }
}

/// The runs as the comparison core sees them.
pub fn observations(report: &StoreReport) -> Vec<Observation> {
    let mut observations: Vec<Observation> = report
        .runs
        .iter()
        .map(|run| {
            let r = &run.results;
            let (c, e) = (&r.config, &r.environment);
            let settings = [
                ("tasks", c.tasks.to_string()),
                ("duration", c.duration_seconds.to_string()),
                ("prefilled sessions", c.prefill_sessions.to_string()),
                ("operation mix", format!("{:?}", c.mix)),
                (
                    "timeouts",
                    format!("{} / {}", c.idle_timeout_ms, c.absolute_timeout_ms),
                ),
                ("runtime threads", e.tokio_worker_threads.to_string()),
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
                throughput: r.operations_per_second,
                logins: None,
                latency_p99_us: report.latency(run, HOT_OPERATION).map(|p| p.p99),
                error_rate: error_share(r),
                settings,
            }
        })
        .collect();
    crate::verdict::renumber_colliding_repetitions(&mut observations);
    observations
}

/// Plain sentences computed from the store-level results.
pub fn verdict(report: &StoreReport) -> Vec<String> {
    let runs = &report.runs;
    let Some(first) = runs.first() else {
        return vec!["No runs to compare.".into()];
    };
    let observations = observations(report);
    let mut sentences = compare::opening(report.rounds.as_ref(), &observations);
    if runs.len() == 1 {
        let r = &first.results;
        sentences.push(format!(
            "{} completed {} operations/s with {} tasks over {} prefilled sessions; {} of {} \
             operations failed ({}).",
            first.label,
            rate(r.operations_per_second),
            r.config.tasks,
            count(r.config.prefill_sessions as u64),
            count(r.total_errors),
            count(r.total_operations),
            percent(error_share(r))
        ));
        if let Some(p) = report.latency(first, HOT_OPERATION) {
            sentences.push(format!(
                "{HOT_OPERATION}: p50 {} µs, p99 {} µs.",
                us(p.p50),
                us(p.p99)
            ));
        }
    } else {
        sentences.extend(compare::verdict(&observations, &terms()));
    }
    for run in runs {
        if run.results.total_errors > 0 {
            sentences.push(format!(
                "{}: {} of {} operations failed ({}).",
                run.label,
                count(run.results.total_errors),
                count(run.results.total_operations),
                percent(error_share(&run.results))
            ));
        }
    }
    sentences
}

fn error_share(results: &StoreRunResults) -> f64 {
    if results.total_operations == 0 {
        0.0
    } else {
        results.total_errors as f64 / results.total_operations as f64
    }
}

/// Microseconds to three significant figures.
fn us(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2}")
    } else if value < 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

/// The headline rows before each operation's latency.
const HEADLINE_ROWS: &[Row<StoreRunResults>] = &[
    ("operations/s", |r| rate(r.operations_per_second)),
    ("error rate", |r| percent(error_share(r))),
    ("live sessions at the end", |r| {
        count(r.live_sessions_at_end)
    }),
];

/// What a store-level run was asked to do, a row per setting.
const CONFIG_ROWS: &[Row<StoreRunResults>] = &[
    ("backend (arm)", |r| r.backend_and_arm()),
    ("handicap (test device): CPU per lookup", |r| {
        r.config
            .lookup_handicap_us
            .map_or("none".into(), |us| format!("{us:.1} µs"))
    }),
    ("tasks", |r| r.config.tasks.to_string()),
    ("duration (s); elapsed", |r| {
        format!("{}; {:.1}", r.config.duration_seconds, r.elapsed_seconds)
    }),
    ("prefilled sessions", |r| {
        count(r.config.prefill_sessions as u64)
    }),
    ("mix (per mille)", |r| {
        r.config
            .mix
            .iter()
            .map(|(op, share)| format!("{op} {share}"))
            .collect::<Vec<_>>()
            .join(", ")
    }),
    ("idle / absolute timeout (ms)", |r| {
        format!(
            "{} / {}",
            r.config.idle_timeout_ms, r.config.absolute_timeout_ms
        )
    }),
];

/// The whole page of a store-level report.
pub fn page(
    report: &StoreReport,
    figures: &[Figure],
    bench: &[Figure],
    out_dir: &Path,
    generated_at: &str,
) -> String {
    let labels: Vec<&str> = report.runs.iter().map(|r| r.label.as_str()).collect();
    let title = format!("ssobench store-level: {}", labels.join(" vs "));
    let starts: Vec<&str> = report
        .runs
        .iter()
        .map(|r| r.results.started_at.as_str())
        .collect();
    let mut html = document_start(
        &title,
        &format!(
            "Generated {generated_at} from {} store-level run(s){}: the session backend driven \
             directly by `loadtest store`, no HTTP.",
            report.runs.len(),
            started_range(&starts)
        ),
    );
    html.push_str(&verdict_list(&verdict(report)));
    html.push_str("<h2>Headline</h2>\n");
    let observations = observations(report);
    // The spread charts stand beside the medians; the others under "Charts".
    let (spread, figures): (Vec<&Figure>, Vec<&Figure>) = figures
        .iter()
        .partition(|figure| figure.stem.starts_with("spread-"));
    if compare::repeated(&observations) {
        let spread: Vec<Figure> = spread.into_iter().cloned().collect();
        html.push_str(&comparison_section(&observations, &terms(), &spread));
        html.push_str("<h3>Every repetition</h3>\n");
    }
    let mut table = RunTable::new(report, " id=\"headline\"");
    table.rows(report, HEADLINE_ROWS);
    for operation in report.operations() {
        type Pick = fn(&crate::results::Percentiles) -> f64;
        let stats: [(&str, Pick); 3] = [
            ("p50", |p| p.p50),
            ("p99", |p| p.p99),
            ("p99.9", |p| p.p99_9),
        ];
        for (stat, pick) in stats {
            table.row(
                &format!("{operation}: {stat} (µs)"),
                report
                    .runs
                    .iter()
                    .map(|run| {
                        report
                            .latency(run, &operation)
                            .map_or("–".into(), |p| us(pick(&p)))
                    })
                    .collect(),
            );
        }
    }
    html.push_str(&table.finish());
    html.push_str("<h2>Charts</h2>\n");
    for figure in figures {
        html.push_str(&figure_html(figure));
    }
    if let Some(criterion) = &report.criterion {
        html.push_str(&bench_section(criterion, bench, out_dir));
    }
    html.push_str("<h2>Configuration and machine</h2>\n");
    let mut table = RunTable::new(report, "");
    table.rows(report, CONFIG_ROWS);
    environment_rows(&mut table, report);
    html.push_str(&table.finish());
    html.push_str("<h2>Run files</h2>\n<ul>\n");
    for run in &report.runs {
        let _ = writeln!(
            html,
            "<li>{}: {}</li>",
            escape(&run.label),
            link(&run.dir.join(RESULTS_FILE), out_dir, RESULTS_FILE)
        );
    }
    html.push_str("</ul>\n</body>\n</html>\n");
    html
}
