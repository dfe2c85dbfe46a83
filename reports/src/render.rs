//! Renders a report into a directory: `charts/*.png` and `charts/*.svg`, then `index.html`.

use crate::chart::ChartError;
use crate::criterion::{self, CriterionError, CriterionResults};
use crate::figures;
use crate::html::{self, Sections};
use crate::report::Report;
use crate::results::{AnyResults, LoadRunResults, ResultsError, StoreRunResults};
use crate::soak::{self, Soak};
use crate::store_report::{self, StoreReport};
use std::path::{Path, PathBuf};

/// File name of a report's page.
pub const INDEX_FILE: &str = "index.html";
/// Folder of a report's charts, next to its page.
pub const CHARTS_DIR: &str = "charts";
/// A long run's windows and drift verdicts, next to the page: `[[run label, soak], …]`.
pub const SOAK_FILE: &str = "soak.json";

/// Each run's windows and drift verdicts (runs too short for six windows have none), by label.
/// Interval logs that cannot be read leave the latency series out, and the section says why.
fn soaks(report: &Report) -> Vec<(String, Soak)> {
    let mut soaks = Vec::new();
    for run in &report.runs {
        // Reading a long run's logs is the costly part: only when there are windows to fill.
        if !soak::long_enough(&run.results) {
            continue;
        }
        let logs = if run.results.workers.is_empty() {
            crate::hlog::read_dir(&run.dir).map_err(|error| error.to_string())
        } else {
            crate::merge::workers_logs(&run.dir, &run.results).map_err(|error| error.to_string())
        };
        let (logs, note) = match logs {
            Ok(logs) => (logs, None),
            Err(error) => (
                Vec::new(),
                Some(format!(
                    "no latency series: the interval logs could not be read ({error})"
                )),
            ),
        };
        if let Some(mut found) = soak::soak(&run.results, &logs) {
            found.note = note;
            soaks.push((run.label.clone(), found));
        }
    }
    soaks
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Results(#[from] ResultsError),
    #[error(transparent)]
    Criterion(#[from] CriterionError),
    #[error(transparent)]
    Chart(#[from] ChartError),
    #[error(
        "{0} is a store-level run and {1} an HTTP load run: a report compares runs of one kind"
    )]
    MixedKinds(String, String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn charts_dir(out_dir: &Path) -> Result<PathBuf, ReportError> {
    let charts = out_dir.join(CHARTS_DIR);
    std::fs::create_dir_all(&charts).map_err(|source| ReportError::Io {
        path: charts.display().to_string(),
        source,
    })?;
    Ok(charts)
}

fn write_index(out_dir: &Path, page: String) -> Result<PathBuf, ReportError> {
    let index = out_dir.join(INDEX_FILE);
    std::fs::write(&index, page).map_err(|source| ReportError::Io {
        path: index.display().to_string(),
        source,
    })?;
    Ok(index)
}

fn generated_at() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

/// Draws every chart of `report` into `<out_dir>/charts/` and writes `<out_dir>/index.html`;
/// returns the page's path.
pub fn render(report: &Report, out_dir: &Path) -> Result<PathBuf, ReportError> {
    let charts = charts_dir(out_dir)?;
    let (flow_spectra, hop_spectra) = figures::spectrum_figures(report);
    let soaks = soaks(report);
    let sections = Sections {
        soak_figures: soaks
            .iter()
            .enumerate()
            .flat_map(|(index, (label, soak))| soak::figures(soak, label, &format!("run{index}-")))
            .collect(),
        soaks,
        spread: figures::spread_figures(report),
        load: figures::load_figures(report),
        flow_spectra,
        hop_spectra,
        bench: report
            .criterion
            .as_ref()
            .map(figures::bench_figures)
            .unwrap_or_default(),
    };
    for figure in sections
        .spread
        .iter()
        .chain(&sections.load)
        .chain(&sections.flow_spectra)
        .chain(&sections.hop_spectra)
        .chain(&sections.bench)
        .chain(&sections.soak_figures)
    {
        figure.write(&charts)?;
    }
    if !sections.soaks.is_empty() {
        let path = out_dir.join(SOAK_FILE);
        let json = serde_json::to_vec_pretty(&sections.soaks).map_err(|error| ReportError::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(error),
        })?;
        std::fs::write(&path, json).map_err(|source| ReportError::Io {
            path: path.display().to_string(),
            source,
        })?;
    }
    let page = html::page(report, &sections, out_dir, &generated_at());
    write_index(out_dir, page)
}

/// The same for store-level runs.
pub fn render_store(report: &StoreReport, out_dir: &Path) -> Result<PathBuf, ReportError> {
    let charts = charts_dir(out_dir)?;
    let figures = store_report::figures(report);
    let bench = report
        .criterion
        .as_ref()
        .map(figures::bench_figures)
        .unwrap_or_default();
    for figure in figures.iter().chain(&bench) {
        figure.write(&charts)?;
    }
    let page = store_report::page(report, &figures, &bench, out_dir, &generated_at());
    write_index(out_dir, page)
}

/// Renders one store-level run's own report into its run directory.
pub fn render_store_run(run_dir: &Path, results: &StoreRunResults) -> Result<PathBuf, ReportError> {
    let report = StoreReport::from_results(
        vec![(run_dir.to_owned(), results.clone())],
        criterion_or_warn(),
    );
    render_store(&report, run_dir)
}

/// Renders one load run's own report into its run directory, with criterion's latest
/// estimates when `cargo bench` has left any in the workspace.
pub fn render_run(run_dir: &Path, results: &LoadRunResults) -> Result<PathBuf, ReportError> {
    let report = Report::from_results(
        vec![(run_dir.to_owned(), results.clone())],
        criterion_or_warn(),
    );
    render(&report, run_dir)
}

/// Renders the runs in `run_dirs` (all HTTP load runs, or all store-level runs) into
/// `out_dir`.
pub fn render_comparison(
    run_dirs: &[PathBuf],
    criterion: Option<CriterionResults>,
    out_dir: &Path,
) -> Result<PathBuf, ReportError> {
    let mut load = Vec::new();
    let mut store = Vec::new();
    for dir in run_dirs {
        match crate::results::read_any(dir)? {
            AnyResults::Load(results) => load.push((dir.clone(), *results)),
            AnyResults::Store(results) => store.push((dir.clone(), *results)),
        }
    }
    match (load.first(), store.first()) {
        (Some((load_dir, _)), Some((store_dir, _))) => Err(ReportError::MixedKinds(
            store_dir.display().to_string(),
            load_dir.display().to_string(),
        )),
        (None, Some(_)) => {
            let mut report = StoreReport::from_results(store, criterion);
            report.rounds = crate::results::read_rounds(out_dir)?;
            render_store(&report, out_dir)
        }
        _ => {
            let mut report = Report::from_results(load, criterion);
            report.rounds = crate::results::read_rounds(out_dir)?;
            render(&report, out_dir)
        }
    }
}

/// The microbenchmarks for a run's own report: a run's results matter more than a side
/// section, so an unreadable criterion folder is a warning, not a failed run.
pub fn criterion_or_warn() -> Option<CriterionResults> {
    default_criterion().unwrap_or_else(|error| {
        eprintln!("warning: microbenchmarks left out of the report: {error}");
        None
    })
}

/// Criterion's estimates from the workspace's default location, if `cargo bench` ran there.
pub fn default_criterion() -> Result<Option<CriterionResults>, ReportError> {
    let dir = criterion::default_dir();
    if !dir.is_dir() {
        return Ok(None);
    }
    let results = criterion::read(&dir)?;
    Ok((!results.benches.is_empty()).then_some(results))
}
