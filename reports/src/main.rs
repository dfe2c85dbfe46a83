//! `reports`: renders charts and `index.html` again from saved run directories.

use anyhow::Context as _;
use clap::Parser;
use reports::criterion;
use reports::render::{self, render_comparison};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Render an ssobench report (charts and index.html) from saved run directories",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Run directories (each holding a load run's results.json). One directory: its report is
    /// rendered into it. Several: a comparison is rendered into --out.
    #[arg(required = true)]
    run_dirs: Vec<PathBuf>,
    /// Where the report goes [default: the run directory for one run; for several, a new
    /// `<timestamp>-comparison/` folder beside the first].
    #[arg(long)]
    out: Option<PathBuf>,
    /// criterion's output directory [default: $CRITERION_HOME, else the workspace's
    /// target/criterion when it exists].
    #[arg(long, conflicts_with = "no_criterion")]
    criterion: Option<PathBuf>,
    /// Leave the microbenchmarks out.
    #[arg(long)]
    no_criterion: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Merge the runs of several load generators of one load (`loadtest worker` directories,
    /// each with results.json and hlog/) into one run: histograms added from their interval
    /// logs, counts and rates summed, the timeline aligned on wall-clock seconds. Refuses
    /// workers whose configuration differs (users aside).
    Merge {
        /// The workers' run directories.
        #[arg(required = true)]
        worker_dirs: Vec<PathBuf>,
        /// Where the merged run goes [default: a new `<timestamp>-merged/` beside the first
        /// worker's directory].
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn merge(worker_dirs: &[PathBuf], out: Option<PathBuf>) -> anyhow::Result<()> {
    let out = match out {
        Some(out) => out,
        None => beside(&worker_dirs[0], "merged")?,
    };
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let results = reports::merge::merge_dirs(worker_dirs, &out)?;
    reports::results::write_load(&out, &results)?;
    let index = render::render_run(&out, &results)?;
    println!(
        "merged {} workers: {} requests, {:.0} requests/s, {} errors",
        results.workers.len(),
        results.requests_total,
        results.requests_per_second,
        results.errors_total
    );
    println!(
        "results: {}",
        out.join(reports::results::RESULTS_FILE).display()
    );
    println!("report: {}", index.display());
    Ok(())
}

/// A new `<timestamp>-<what>/` folder beside `dir`.
fn beside(dir: &std::path::Path, what: &str) -> anyhow::Result<PathBuf> {
    let parent = dir
        .canonicalize()
        .with_context(|| format!("run directory {}", dir.display()))?
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ");
    Ok(parent.join(format!("{stamp}-{what}")))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Merge { worker_dirs, out }) = cli.command {
        return merge(&worker_dirs, out);
    }
    let criterion = match (&cli.criterion, cli.no_criterion) {
        (_, true) => None,
        (Some(dir), false) => Some(
            criterion::read(dir)
                .with_context(|| format!("reading criterion output in {}", dir.display()))?,
        ),
        (None, false) => render::default_criterion()?,
    };
    let out = match (&cli.out, cli.run_dirs.as_slice()) {
        (Some(out), _) => out.clone(),
        (None, [one]) => one.clone(),
        (None, [first, ..]) => beside(first, "comparison")?,
        (None, []) => anyhow::bail!("give at least one run directory"),
    };
    let index = render_comparison(&cli.run_dirs, criterion, &out)?;
    println!("report: {}", index.display());
    Ok(())
}
