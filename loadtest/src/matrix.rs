//! `loadtest matrix`: the same load on several backends, one after the other, then one report
//! comparing them.
//!
//! The runs go to `<reports dir>/<timestamp>-matrix/<backend>/`, each with its own report; the
//! comparison's `index.html` sits at the top of that folder.

use crate::args::RunArgs;
use crate::run::{self, RunOutcome};
use anyhow::Context as _;
use mock_services::cli::Backend;
use mock_services::local_redis::LocalRedis;
use std::path::PathBuf;

/// The matrix's flags: every load-run flag, plus the backends to run.
#[derive(Debug, Clone, clap::Args)]
pub struct MatrixArgs {
    /// Backends to run, in order (comma-separated). `--backend` is ignored here.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "dashmap,scc,redis"
    )]
    pub backends: Vec<Backend>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// What a matrix produced.
#[derive(Debug)]
pub struct MatrixOutcome {
    pub dir: PathBuf,
    /// The comparison's `index.html`.
    pub report: PathBuf,
    pub runs: Vec<RunOutcome>,
}

/// Runs every backend in turn and renders the comparison.
pub async fn execute(args: &MatrixArgs) -> anyhow::Result<MatrixOutcome> {
    anyhow::ensure!(!args.backends.is_empty(), "--backends names no backend");
    // Every run of the matrix starts its own stack on its backend; against one --target they
    // would all measure the same server under different names.
    anyhow::ensure!(
        args.run.target.is_none(),
        "matrix runs its own in-process stack per backend; --target is not allowed here"
    );
    let backends = args.backends.clone();
    for (index, backend) in backends.iter().enumerate() {
        // Each backend's run has one folder; a second run would overwrite the first's.
        anyhow::ensure!(
            !backends[..index].contains(backend),
            "--backends names {} twice",
            backend.name()
        );
    }
    // Check that a redis-server can start before the first run, so a missing one stops the
    // matrix at once rather than after the other backends have run. The Redis run then starts
    // its own server, whose CPU it records as the stack's.
    if backends.contains(&Backend::Redis) && args.run.backend.redis_url.is_none() {
        LocalRedis::start().map_err(|error| {
            anyhow::anyhow!("the matrix's redis run needs a local redis-server, but {error}")
        })?;
    }
    let dir = args
        .run
        .reports_dir
        .clone()
        .unwrap_or_else(run::default_reports_dir)
        .join(format!(
            "{}-matrix",
            jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ")
        ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir.canonicalize().unwrap_or(dir);
    let seconds = args.run.run_time.as_secs().max(1);
    let progress = run::progress_bar(seconds * backends.len() as u64, args.run.quiet);
    let mut runs = Vec::new();
    for (index, backend) in backends.iter().enumerate() {
        let mut leg = args.run.clone();
        leg.backend.backend = *backend;
        leg.backend.redis_url = match backend {
            Backend::Redis => args.run.backend.redis_url.clone(),
            Backend::Dashmap | Backend::Scc => None,
        };
        progress.set_prefix(format!(
            "{} {}/{}",
            backend.name(),
            index + 1,
            backends.len()
        ));
        progress.set_position(seconds * index as u64);
        let outcome = run::execute_in(&leg, &dir.join(backend.name()), &progress)
            .await
            .with_context(|| format!("the {} run of the matrix", backend.name()))?;
        let line = format!(
            "{}: {:.0} req/s, {:.1} logins/s, {} errors",
            backend.name(),
            outcome.results.requests_per_second,
            outcome.results.logins_per_second,
            outcome.results.errors_total
        );
        if progress.is_hidden() {
            eprintln!("{line}");
        } else {
            progress.println(line);
        }
        runs.push(outcome);
    }
    progress.finish_and_clear();
    let run_dirs: Vec<PathBuf> = runs.iter().map(|run| run.run_dir.clone()).collect();
    let report =
        reports::render::render_comparison(&run_dirs, reports::render::default_criterion()?, &dir)
            .with_context(|| format!("rendering the comparison in {}", dir.display()))?;
    Ok(MatrixOutcome { dir, report, runs })
}
