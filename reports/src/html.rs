//! `index.html`: one self-contained page per report. Styles are inline, charts are relative
//! PNGs (with their SVGs linked), and nothing is fetched from anywhere, so the page works
//! offline and from a copied folder.

use crate::chart::Figure;
use crate::criterion::CriterionResults;
use crate::figures::names;
use crate::format::{count, escape, ms, ns, percent, rate, timestamp};
use crate::report::{Report, RunResults, relative};
use crate::results::{Environment, LoadRunResults};
use crate::verdict::verdict;
use std::fmt::Write as _;
use std::path::Path;

/// The charts of a report, grouped as the page shows them.
#[derive(Debug, Default)]
pub struct Sections {
    /// Every repetition's figures by backend, shown beside the headline (comparisons with
    /// repetitions only).
    pub spread: Vec<Figure>,
    pub load: Vec<Figure>,
    pub flow_spectra: Vec<Figure>,
    pub hop_spectra: Vec<Figure>,
    pub bench: Vec<Figure>,
    /// Each long run's windows and drift verdicts, by label, and their charts.
    pub soaks: Vec<(String, crate::soak::Soak)>,
    pub soak_figures: Vec<Figure>,
}

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1060px; color: #222;
       padding: 0 1rem; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; }
h2 { margin-top: 2.4rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.8rem 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f4f4f4; }
tr.section th { background: #fafafa; text-align: left; font-weight: 600; }
figure { margin: 1.6rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.92rem; }
.verdict li { margin: 0.3rem 0; }
details summary { cursor: pointer; font-weight: 600; margin: 1rem 0; }
code { background: #f4f4f4; padding: 0 0.2rem; }
";

/// The whole page. `out_dir` is where `index.html` goes; links are made relative to it.
pub fn page(report: &Report, sections: &Sections, out_dir: &Path, generated_at: &str) -> String {
    let labels: Vec<&str> = report.runs.iter().map(|r| r.label.as_str()).collect();
    let title = if labels.len() > 1 {
        format!("ssobench: {}", labels.join(" vs "))
    } else {
        format!(
            "ssobench: {} load run",
            labels.first().copied().unwrap_or("empty")
        )
    };
    let starts: Vec<&str> = report
        .runs
        .iter()
        .map(|r| r.results.started_at.as_str())
        .collect();
    let mut html = document_start(
        &title,
        &format!(
            "Generated {generated_at} from {} run(s){}.",
            report.runs.len(),
            started_range(&starts)
        ),
    );
    html.push_str(&verdict_list(&verdict(report)));
    if !report.runs.is_empty() {
        html.push_str("<h2>Headline</h2>\n");
        let observations = crate::verdict::observations(report);
        if crate::compare::repeated(&observations) {
            html.push_str(&comparison_section(
                &observations,
                &crate::verdict::terms(report),
                &sections.spread,
            ));
            html.push_str("<h3>Every repetition</h3>\n");
        }
        html.push_str(&headline_table(report));
    }
    html.push_str(&crate::fault_section::section(report));
    html.push_str(&crate::instance_section::section(report));
    html.push_str(&crate::worker_section::section(report));
    html.push_str(&soak_section(&sections.soaks, &sections.soak_figures));
    if !sections.load.is_empty() {
        html.push_str("<h2>Charts</h2>\n");
        for figure in &sections.load {
            html.push_str(&figure_html(figure));
        }
    }
    if !sections.flow_spectra.is_empty() || !sections.hop_spectra.is_empty() {
        html.push_str("<h2>Latency spectra</h2>\n");
        for figure in &sections.flow_spectra {
            html.push_str(&figure_html(figure));
        }
        if !sections.hop_spectra.is_empty() {
            let _ = writeln!(
                html,
                "<details>\n<summary>Per hop ({} charts)</summary>",
                sections.hop_spectra.len()
            );
            for figure in &sections.hop_spectra {
                html.push_str(&figure_html(figure));
            }
            html.push_str("</details>\n");
        }
    }
    if !report.runs.is_empty() {
        html.push_str("<h2 id=\"generator\">Load generator</h2>\n");
        html.push_str(&generator_table(report));
        html.push_str("<h2>Every hop and flow</h2>\n");
        html.push_str(&latency_table(report));
        html.push_str(&crate::transport_section::section(report));
        html.push_str("<h2>Stolen session, status codes and errors</h2>\n");
        html.push_str(&outcomes_table(report));
    }
    if let Some(criterion) = &report.criterion {
        html.push_str(&bench_section(criterion, &sections.bench, out_dir));
    }
    if !report.runs.is_empty() {
        html.push_str("<h2>Configuration and machine</h2>\n");
        html.push_str(&config_table(report));
        html.push_str("<h2>Run files</h2>\n<ul>\n");
        for run in &report.runs {
            let mut links = vec![link(
                &run.dir.join(crate::results::RESULTS_FILE),
                out_dir,
                "results.json",
            )];
            for goose in &run.results.goose_reports {
                let text = if goose.ends_with(".html") {
                    format!("{goose} (goose's own page; its charts load from a CDN, online only)")
                } else {
                    goose.clone()
                };
                links.push(link(&run.dir.join(goose), out_dir, &text));
            }
            let _ = writeln!(
                html,
                "<li>{}: {}</li>",
                escape(&run.label),
                links.join(", ")
            );
        }
        html.push_str("</ul>\n");
    }
    html.push_str("</body>\n</html>\n");
    html
}

/// The page's head, title and subtitle; the caller closes `body` and `html`.
pub(crate) fn document_start(title: &str, subtitle: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n\
         <p class=\"sub\">{subtitle}</p>\n",
        title = escape(title),
        subtitle = escape(subtitle),
    )
}

pub(crate) fn verdict_list(sentences: &[String]) -> String {
    let mut html = String::from("<h2>Verdict</h2>\n<ul class=\"verdict\">\n");
    for sentence in sentences {
        let _ = writeln!(html, "<li>{}</li>", escape(sentence));
    }
    html.push_str("</ul>\n");
    html
}

/// ", started A to B" over the runs' start times.
pub(crate) fn started_range(started: &[&str]) -> String {
    let mut starts: Vec<String> = started.iter().map(|s| timestamp(s)).collect();
    starts.sort();
    match (starts.first(), starts.last()) {
        (Some(first), Some(last)) if first == last => format!(", started {first}"),
        (Some(first), Some(last)) => format!(", started {first} to {last}"),
        _ => String::new(),
    }
}

pub(crate) fn link(path: &Path, out_dir: &Path, text: &str) -> String {
    let href = relative(path, out_dir);
    format!("<a href=\"{}\">{}</a>", href_of(&href), escape(text))
}

/// A relative path as an href: each segment percent-encoded, so `#`, `?`, `%` or a space in a
/// folder name cannot end or bend the link.
fn href_of(path: &Path) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    path.components()
        .map(|part| {
            percent_encoding::utf8_percent_encode(&part.as_os_str().to_string_lossy(), SEGMENT)
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("/")
}

pub(crate) fn figure_html(figure: &Figure) -> String {
    let (width, height) = figure.size();
    format!(
        "<figure id=\"{stem}\">\n<img src=\"charts/{stem}.png\" width=\"{width}\" \
         height=\"{height}\" alt=\"{title}\">\n<figcaption>{description} \
         <a href=\"charts/{stem}.svg\">SVG</a></figcaption>\n</figure>\n",
        stem = escape(&figure.stem),
        title = escape(&figure.title),
        description = escape(&figure.description),
    )
}

/// A table with one column per run and one row per figure.
pub(crate) struct RunTable {
    html: String,
}

/// A row of a table with a column per run: its name, and how one run's cell reads.
pub(crate) type Row<R> = (&'static str, fn(&R) -> String);

impl RunTable {
    pub(crate) fn new<R: RunResults>(report: &Report<R>, attributes: &str) -> Self {
        Self::with_labels(report.runs.iter().map(|run| run.label.as_str()), attributes)
    }

    pub(crate) fn with_labels<'a>(labels: impl Iterator<Item = &'a str>, attributes: &str) -> Self {
        let mut html = format!("<table{attributes}>\n<thead><tr><th></th>");
        for label in labels {
            let _ = write!(html, "<th>{}</th>", escape(label));
        }
        html.push_str("</tr></thead>\n<tbody>\n");
        RunTable { html }
    }

    pub(crate) fn row(&mut self, name: &str, cells: Vec<String>) {
        let _ = write!(self.html, "<tr><td>{}</td>", escape(name));
        for cell in cells {
            let _ = write!(self.html, "<td>{}</td>", escape(&cell));
        }
        self.html.push_str("</tr>\n");
    }

    /// One row per entry of `rows`, a cell per run of `report`.
    pub(crate) fn rows<R: RunResults>(&mut self, report: &Report<R>, rows: &[Row<R>]) {
        for (name, cell) in rows {
            self.row(name, report.each(cell));
        }
    }

    pub(crate) fn finish(mut self) -> String {
        self.html.push_str("</tbody>\n</table>\n");
        self.html
    }
}

/// The machine and build rows every report's configuration table ends with.
const ENVIRONMENT_ROWS: &[Row<Environment>] = &[
    ("CPU", |e| e.cpu_model.clone()),
    ("logical CPUs; tokio workers", |e| {
        format!("{}; {}", e.logical_cpus, e.tokio_worker_threads)
    }),
    ("kernel", |e| e.kernel.clone()),
    ("build profile", |e| e.build_profile.clone()),
    ("target features", |e| e.target_features.join(" ")),
    ("allocator", |e| e.allocator.clone()),
    ("hasher", |e| e.hasher.clone()),
    ("dashmap shards", |e| e.dashmap_shards.to_string()),
    ("CPUs: generator | stack", |e| match &e.cores {
        Some(split) => format!(
            "{} | {} (pinned)",
            cpu_list(&split.generator),
            cpu_list(&split.stack)
        ),
        None => "not pinned".into(),
    }),
    ("ssobench version", |e| e.ssobench_version.clone()),
];

/// `0-3,6`: CPUs as `taskset` writes them.
fn cpu_list(cpus: &[usize]) -> String {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for &cpu in cpus {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == cpu => *end = cpu,
            _ => ranges.push((cpu, cpu)),
        }
    }
    ranges
        .iter()
        .map(|&(start, end)| {
            if start == end {
                start.to_string()
            } else {
                format!("{start}-{end}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The machine and build rows, a cell per run of `report`.
pub(crate) fn environment_rows<R: RunResults>(table: &mut RunTable, report: &Report<R>) {
    for (name, cell) in ENVIRONMENT_ROWS {
        table.row(name, report.each(|r| cell(r.environment())));
    }
}

/// The headline figures, one column per run: logins/s, requests/s, error rate, then p50, p99
/// and p99.9 of each flow (raw, milliseconds).
pub fn headline_table(report: &Report) -> String {
    let mut table = RunTable::new(report, " id=\"headline\"");
    table.row("logins/s", report.each(|r| rate(r.logins_per_second)));
    table.row(
        "password logins/s",
        report.each(|r| rate(r.password_logins_per_second)),
    );
    table.row("requests/s", report.each(|r| rate(r.requests_per_second)));
    table.row("error rate", report.each(|r| percent(r.error_rate)));
    for flow in names(report, |r| &r.flows) {
        type Pick = fn(&crate::results::Percentiles) -> f64;
        let stats: [(&str, Pick); 3] = [
            ("p50", |p| p.p50),
            ("p99", |p| p.p99),
            ("p99.9", |p| p.p99_9),
        ];
        for (stat, pick) in stats {
            table.row(
                &format!("{flow}: {stat} (ms)"),
                report.each(|r| {
                    r.flows
                        .iter()
                        .find(|row| row.name == flow)
                        .map_or("–".into(), |row| ms(pick(&row.raw_us)))
                }),
            );
        }
    }
    table.finish()
}

/// A comparison with repetitions: the medians, the ratios between backends, and the spread.
pub(crate) fn comparison_section(
    observations: &[crate::compare::Observation],
    terms: &crate::compare::Terms,
    spread: &[Figure],
) -> String {
    let mut html = summary_table(
        &crate::compare::summary_rows(observations, terms),
        observations,
    );
    let ratios = crate::compare::ratio_rows(observations, terms);
    if !ratios.is_empty() {
        let columns = crate::compare::ratio_columns(observations, terms);
        let mut table = RunTable::with_labels(columns.iter().map(String::as_str), " id=\"ratios\"");
        for (pair, cells) in &ratios {
            table.row(pair, cells.clone());
        }
        html.push_str(&table.finish());
        html.push_str(
            "<p class=\"sub\">Each ratio is the geometric mean of the two backends' \
             per-repetition ratios, with a 95% interval (Student's t on their logarithms); \
             \"higher\" or \"lower\" only when the interval excludes 1.</p>\n",
        );
    }
    for figure in spread {
        html.push_str(&figure_html(figure));
    }
    html
}

/// A comparison's summary table: one column per backend, each cell a median with its interval.
pub(crate) fn summary_table(
    rows: &[(String, Vec<String>)],
    observations: &[crate::compare::Observation],
) -> String {
    let groups = crate::compare::groups(observations);
    let mut table = RunTable::with_labels(
        groups.iter().map(|group| group.name.as_str()),
        " id=\"summary\"",
    );
    for (name, cells) in rows {
        table.row(name, cells.clone());
    }
    let mut html = table.finish();
    html.push_str(
        "<p class=\"sub\">Medians over each backend's repetitions; the interval is the range \
         of order statistics that covers the true median at the confidence shown (75% with \
         three repetitions, 94% with five), whatever the distribution.</p>\n",
    );
    html
}

/// Every hop and flow of every run, raw and corrected.
fn latency_table(report: &Report) -> String {
    let mut html = String::from(
        "<table>\n<thead><tr><th>hop / flow</th><th>run</th><th>count</th><th>errors</th>\
         <th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th>\
         <th>p99 ms, corrected</th></tr></thead>\n<tbody>\n",
    );
    for (kind, rows) in [
        ("Flows", names(report, |r| &r.flows)),
        ("Hops", names(report, |r| &r.hops)),
    ] {
        let _ = writeln!(
            html,
            "<tr class=\"section\"><th colspan=\"10\">{kind}</th></tr>"
        );
        for name in rows {
            for run in &report.runs {
                let list = if kind == "Flows" {
                    &run.results.flows
                } else {
                    &run.results.hops
                };
                let Some(row) = list.iter().find(|row| row.name == name) else {
                    continue;
                };
                if row.count == 0 {
                    // Every attempt failed: there is no latency to show, and zeros would lie.
                    let _ = writeln!(
                        html,
                        "<tr><td>{}</td><td>{}</td><td>0</td><td>{}</td><td colspan=\"6\">no \
                         successful sample</td></tr>",
                        escape(&name),
                        escape(&run.label),
                        count(row.errors)
                    );
                    continue;
                }
                let p = &row.raw_us;
                let _ = writeln!(
                    html,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                     <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&name),
                    escape(&run.label),
                    count(row.count),
                    row.errors,
                    ms(p.p50),
                    ms(p.p90),
                    ms(p.p99),
                    ms(p.p99_9),
                    ms(p.max),
                    ms(row.corrected_us.p99)
                );
            }
        }
    }
    html.push_str(
        "</tbody>\n</table>\n<p class=\"sub\">Raw latencies are as measured; the \
                   corrected p99 adds the requests an open-model schedule would have sent \
                   during stalls (coordinated omission), and equals the raw p99 in a closed \
                   run.</p>\n",
    );
    html
}

/// The generator's own figures: its CPU and the stack's, its timer lag, this machine's
/// calibrated ceiling, and what limited each run.
fn generator_table(report: &Report) -> String {
    let mut table = RunTable::new(report, " id=\"generator-figures\"");
    table.row(
        "what limited the run",
        report.each(|r| r.generator_bound.limit.clone()),
    );
    table.row(
        "generator-bound",
        report.each(|r| {
            if r.generator_bound.bound {
                "yes".into()
            } else {
                "no".into()
            }
        }),
    );
    table.row(
        "threads: generator / stack",
        report.each(|r| {
            format!(
                "{} / {}",
                r.generator.threads,
                r.generator
                    .stack_threads
                    .map_or("–".into(), |n| n.to_string())
            )
        }),
    );
    table.row(
        "CPU cores: generator",
        report.each(|r| format!("{:.2}", r.generator.cpu_cores)),
    );
    table.row(
        "CPU cores: stack",
        report.each(|r| {
            r.generator
                .stack_cpu_cores
                .map_or("unknown".into(), |cores| format!("{cores:.2}"))
        }),
    );
    table.row(
        "stack CPU covers",
        report.each(|r| r.generator.stack_cpu_source.clone()),
    );
    table.row(
        "CPU cores stolen by the hypervisor (host)",
        report.each(|r| {
            r.generator
                .host_steal_cores
                .map_or("–".into(), |cores| format!("{cores:.2}"))
        }),
    );
    table.row(
        "requests/s per generator core",
        report.each(|r| rate(r.generator.requests_per_core)),
    );
    table.row(
        "timer lag p50 / p99 / max (ms)",
        report.each(|r| {
            let lag = &r.generator.lag_us;
            format!("{} / {} / {}", ms(lag.p50), ms(lag.p99), ms(lag.max))
        }),
    );
    table.row(
        "this machine's calibrated ceiling (requests/s per generator core)",
        report.each(|r| match &r.generator.calibration {
            Some(calibration) => format!(
                "{} (calibrated {})",
                rate(calibration.requests_per_core),
                timestamp(&calibration.measured_at)
            ),
            None => "not calibrated: run `loadtest calibrate` once on this machine".into(),
        }),
    );
    if report.runs.iter().any(|run| run.results.users.is_some()) {
        table.row(
            "users started of planned; all started after (s), planned",
            report.each(|r| match &r.users {
                Some(users) => format!(
                    "{} of {}; {}, {:.1}",
                    count(users.users_started),
                    count(users.users_planned),
                    users
                        .all_started_after_seconds
                        .map_or("not all".into(), |after| format!("{after:.1}")),
                    users.ramp_up_planned_seconds
                ),
                None => "–".into(),
            }),
        );
        table.row(
            "generator memory (MiB): before users / steady / peak; per user (KiB)",
            report.each(|r| match &r.users {
                Some(users) => {
                    let mib = |bytes: Option<u64>| {
                        bytes.map_or("–".into(), |b| format!("{:.1}", b as f64 / 1048576.0))
                    };
                    format!(
                        "{} / {} / {}; {}",
                        mib(users.rss_before_bytes),
                        mib(users.rss_steady_bytes),
                        mib(users.rss_peak_bytes),
                        users
                            .rss_per_user_bytes
                            .map_or("–".into(), |b| format!("{:.1}", b / 1024.0))
                    )
                }
                None => "–".into(),
            }),
        );
        table.row(
            "new connections/s; TIME_WAIT at most (host); kernel TCP memory at most (MiB, host)",
            report.each(|r| match &r.users {
                Some(users) => format!(
                    "{}; {}; {}",
                    users
                        .new_connections_per_second
                        .map_or("–".into(), |n| format!("{n:.1}")),
                    users.host_time_wait_peak.map_or("–".into(), count),
                    users
                        .host_tcp_memory_peak_bytes
                        .map_or("–".into(), |b| format!("{:.1}", b as f64 / 1048576.0))
                ),
                None => "–".into(),
            }),
        );
        table.row(
            "descriptors open at most",
            report.each(|r| {
                r.users
                    .as_ref()
                    .and_then(|users| users.open_files_peak)
                    .map_or("–".into(), count)
            }),
        );
        table.row(
            "stack: connections open at most; refused over its --max-connections",
            report.each(|r| match &r.users {
                Some(users) => format!(
                    "{}; {}",
                    users.stack_connections_peak.map_or("–".into(), count),
                    users.stack_refused_over_cap.map_or("–".into(), count)
                ),
                None => "–".into(),
            }),
        );
    }
    table.row(
        "connections opened; requests resent after an idle close",
        report.each(|r| {
            format!(
                "{}; {}",
                count(r.generator.connections_opened),
                count(r.generator.resent)
            )
        }),
    );
    let mut html = table.finish();
    html.push_str("<ul class=\"verdict\">\n");
    for run in &report.runs {
        let _ = writeln!(
            html,
            "<li>{}: {}</li>",
            escape(&run.label),
            escape(&run.results.generator_bound.verdict)
        );
    }
    html.push_str(
        "</ul>\n<p class=\"sub\">A run is generator-bound when the generator used at \
                   least 90% of its threads' CPU, or its timer lag p99 exceeded 5 ms, or its \
                   requests/s reached 90% of this machine's calibrated ceiling.</p>\n",
    );
    html
}

fn outcomes_table(report: &Report) -> String {
    let mut table = RunTable::new(report, "");
    table.row(
        "stolen cookie: observations",
        report.each(|r| r.stolen_session.observations.to_string()),
    );
    table.row(
        "stolen cookie: usable p50 / max (ms)",
        report.each(|r| {
            let s = &r.stolen_session;
            if s.observations == 0 {
                "–".into()
            } else {
                format!("{:.0} / {:.0}", s.usable_ms.p50, s.usable_ms.max)
            }
        }),
    );
    table.row(
        "stolen cookie: outlived the window",
        report.each(|r| {
            format!(
                "{} (window {} ms)",
                r.stolen_session.outlived_window, r.stolen_session.window_ms
            )
        }),
    );
    table.row(
        "replays after logout: refused / served",
        report.each(|r| {
            format!(
                "{} / {}",
                r.stolen_session.refused_after_logout, r.stolen_session.served_after_logout
            )
        }),
    );
    let mut codes: Vec<&String> = report
        .runs
        .iter()
        .flat_map(|run| run.results.status_codes.keys())
        .collect();
    codes.sort();
    codes.dedup();
    for code in codes {
        table.row(
            &crate::figures::status_name(code),
            report.each(|r| rate(r.status_codes.get(code).copied().unwrap_or(0) as f64)),
        );
    }
    let mut kinds: Vec<&String> = report
        .runs
        .iter()
        .flat_map(|run| run.results.error_kinds.keys())
        .collect();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        table.row(
            &format!("error: {kind}"),
            report.each(|r| r.error_kinds.get(kind).copied().unwrap_or(0).to_string()),
        );
    }
    table.finish()
}

/// How a run's warm-up went, in words.
pub fn warm_up(warm_up: Option<&crate::results::WarmUp>) -> String {
    let Some(w) = warm_up else {
        return "none".into();
    };
    match (&w.rule, w.settled) {
        (Some(rule), true) => format!(
            "settled after {} s: {rule} (at most {} s)",
            w.seconds, w.limit_seconds
        ),
        (Some(rule), false) => format!(
            "{} s, its limit: the rate had not settled ({rule})",
            w.seconds
        ),
        (None, _) => format!("{} s (fixed)", w.seconds),
    }
}

/// What a load run was asked to do, a row per setting.
const LOAD_CONFIG_ROWS: &[Row<LoadRunResults>] = &[
    ("started", |r| timestamp(&r.started_at)),
    ("backend (arm)", |r| r.backend_and_arm()),
    ("target", |r| r.config.target.to_string()),
    ("users", |r| r.config.users.to_string()),
    ("ramp-up", |r| match r.config.ramp_rate {
        Some(per_second) => format!("{} users/s", rate(per_second)),
        None => "every user within the first second".into(),
    }),
    ("run time (s); elapsed", |r| {
        format!("{}; {:.1}", r.config.run_time_seconds, r.elapsed_seconds)
    }),
    ("warm-up", |r| warm_up(r.warm_up.as_ref())),
    ("scenarios (weight)", |r| {
        r.config
            .scenarios
            .iter()
            .map(|(name, weight)| format!("{name} ({weight})"))
            .collect::<Vec<_>>()
            .join(", ")
    }),
    ("handicap (test device): CPU per session lookup", |r| {
        r.config
            .lookup_handicap_us
            .map_or("none".into(), |us| format!("{us:.1} µs"))
    }),
    ("pacing", |r| match r.config.target_rate {
        Some(rate_) => format!("open, {} iterations/s", rate(rate_)),
        None => "closed".into(),
    }),
    ("store idle / absolute timeout (ms)", |r| {
        format!(
            "{} / {}",
            r.config.store_idle_timeout_ms, r.config.store_absolute_timeout_ms
        )
    }),
    ("prefilled sessions", |r| count(r.config.prefill_sessions)),
    ("wait after each transaction (ms)", |r| {
        r.config
            .wait_ms
            .map_or("none".into(), |(low, high)| format!("{low}..{high}"))
    }),
    ("faults", |r| {
        if r.config.faults.is_empty() {
            "none".into()
        } else {
            r.config.faults.join(", ")
        }
    }),
    ("redis persistence", |r| {
        r.config.redis_persistence.name().to_owned()
    }),
    ("cart reads per journey", |r| {
        r.config.cart_reads.to_string()
    }),
    ("stolen-session window / replay interval (ms)", |r| {
        format!(
            "{} / {}",
            r.config.stolen_window_ms, r.config.replay_interval_ms
        )
    }),
    ("signing algorithm; password hashing", |r| {
        format!(
            "{}; {}",
            r.config.signing_algorithm_name(),
            r.config.password_hashing_name()
        )
    }),
    ("request timeout (ms); goose metrics", |r| {
        format!(
            "{}; {}",
            r.config.request_timeout_ms,
            if r.config.goose_metrics { "on" } else { "off" }
        )
    }),
];

fn config_table(report: &Report) -> String {
    let mut table = RunTable::new(report, "");
    table.rows(report, LOAD_CONFIG_ROWS);
    environment_rows(&mut table, report);
    table.finish()
}

pub(crate) fn bench_section(
    criterion: &CriterionResults,
    figures: &[Figure],
    out_dir: &Path,
) -> String {
    let mut html = String::from("<h2>Microbenchmarks</h2>\n");
    let when = match (&criterion.oldest, &criterion.newest) {
        (Some(oldest), Some(newest)) if oldest != newest => format!("{oldest} to {newest}"),
        (_, Some(newest)) => newest.clone(),
        _ => "unknown".into(),
    };
    let _ = writeln!(
        html,
        "<p>From criterion's saved estimates in <code>{}</code> (written {}) by <code>cargo \
         bench</code>: measured separately from the runs above, one benchmark at a time, and \
         as current as the last <code>cargo bench</code> of each benchmark.</p>",
        escape(&relative(&criterion.dir, out_dir).to_string_lossy()),
        escape(&when)
    );
    if !criterion.skipped.is_empty() {
        let _ = writeln!(
            html,
            "<p>Left out, unreadable: {}.</p>",
            escape(&criterion.skipped.join("; "))
        );
    }
    if criterion.benches.is_empty() {
        html.push_str("<p>No benchmark estimates found there yet.</p>\n");
        return html;
    }
    for figure in figures {
        html.push_str(&figure_html(figure));
    }
    html.push_str(
        "<details>\n<summary>Every benchmark</summary>\n<table>\n<thead><tr><th>benchmark</th>\
         <th>time per iteration</th><th>95% interval</th><th>throughput</th></tr></thead>\n\
         <tbody>\n",
    );
    for bench in &criterion.benches {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{} – {}</td><td>{}</td></tr>",
            escape(&bench.id),
            ns(bench.time_ns),
            ns(bench.low_ns),
            ns(bench.high_ns),
            bench
                .elements_per_second()
                .map_or("–".into(), |r| format!("{} ops/s", rate(r)))
        );
    }
    html.push_str("</tbody>\n</table>\n</details>\n");
    html
}

/// Over time: each long run's series judged for drift, then their charts.
fn soak_section(soaks: &[(String, crate::soak::Soak)], figures: &[Figure]) -> String {
    if soaks.is_empty() {
        return String::new();
    }
    let mut html = String::from(
        "<h2 id=\"soak\">Over time: drift</h2>\n<p>Each series in windows; its slope is the \
         Theil–Sen median of pairwise slopes, its interval a bootstrap that keeps the windows' \
         autocorrelation (an AR(1) sieve, widened for the series' effective number of points). \
         <em>Stable</em>: even the interval's far end moves the series by less than 5% of its \
         median (or a floor per unit, whichever is larger) over the run; <em>unclear</em>: the \
         interval holds zero but also slopes that would matter. A level shift that two flat \
         segments fit far better than a line is named as a step. Each verdict is at 95%: among \
         dozens of series, one steady series in twenty may still read as moved. Every window's \
         figures and verdicts: <code>soak.json</code>.</p>\n",
    );
    for (label, soak) in soaks {
        let moved = soak.series.iter().filter(|trend| trend.moved()).count();
        let _ = writeln!(
            html,
            "<h3>{} — {} windows of {} s: {}</h3>\n<table>\n<tr><th>series</th>\
             <th>windows</th><th>verdict</th></tr>",
            escape(label),
            soak.windows,
            soak.window_seconds,
            if moved == 0 {
                "every series stable".to_owned()
            } else {
                format!("{moved} series moved")
            }
        );
        for trend in &soak.series {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}{}{}</td></tr>",
                escape(&trend.name),
                trend.points.len(),
                if trend.moved() { "<strong>" } else { "" },
                escape(&trend.sentence),
                if trend.moved() { "</strong>" } else { "" },
            );
        }
        html.push_str("</table>\n");
        if let Some(note) = &soak.note {
            let _ = writeln!(html, "<p><strong>{}</strong></p>", escape(note));
        }
    }
    for figure in figures {
        html.push_str(&figure_html(figure));
    }
    html
}
