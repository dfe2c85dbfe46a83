//! `reports`: renders charts and `index.html` again from saved run directories.

use anyhow::Context as _;
use clap::Parser;
use reports::criterion;
use reports::render::{self, render_comparison};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Render an ssobench report (charts and index.html) from saved run directories"
)]
struct Cli {
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

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
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
        (None, [first, ..]) => {
            let parent = first
                .canonicalize()
                .with_context(|| format!("run directory {}", first.display()))?
                .parent()
                .map(PathBuf::from)
                .unwrap_or_default();
            let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ");
            parent.join(format!("{stamp}-comparison"))
        }
        (None, []) => anyhow::bail!("give at least one run directory"),
    };
    let index = render_comparison(&cli.run_dirs, criterion, &out)?;
    println!("report: {}", index.display());
    Ok(())
}
