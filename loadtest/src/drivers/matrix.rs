//! `loadtest matrix`: the same load on several backends, repeated and interleaved — A B C,
//! then B C A, then C A B, … — each run on a fresh stack after an unmeasured warm-up, then one
//! report comparing them with intervals.
//!
//! The runs go to `<reports dir>/<timestamp>-matrix/<backend>/<repetition>/`, each with its own
//! report; the comparison's `index.html` sits at the top of that folder.

use crate::drivers::run::{self, RunOutcome};
use crate::error::While as _;
use crate::error::{RunError, RunResult, ensure};
use crate::setup::args::RunArgs;
use crate::setup::output;
use mock_services::cli::Backend;
use mock_services::local_redis::{LocalRedis, Persistence};
use std::path::PathBuf;
use std::time::Duration;

/// A matrix run's measured time per repetition when none is given: three backends, three
/// repetitions, and the whole matrix stays around two minutes.
pub const DEFAULT_RUN_TIME: Duration = Duration::from_secs(10);
/// A matrix run's warm-up when none is given.
pub const DEFAULT_WARM_UP: Duration = Duration::from_secs(2);

/// The matrix's flags: every load-run flag, plus the backends and the repetitions.
#[derive(Debug, Clone, clap::Args)]
pub struct MatrixArgs {
    /// Backends to run (comma-separated); each repetition starts one later in this list.
    /// `--backend` is ignored here.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_values_t = Backend::ALL
    )]
    pub backends: Vec<Backend>,
    /// Runs per backend (1 to 20), interleaved; with one, the comparison cannot judge noise.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub repeat: u32,
    #[command(flatten)]
    pub run: RunArgs,
}

/// What a matrix produced.
#[derive(Debug)]
pub struct MatrixOutcome {
    pub dir: PathBuf,
    /// The comparison's `index.html`.
    pub report: PathBuf,
    /// Every run, in the order they ran.
    pub runs: Vec<RunOutcome>,
}

impl MatrixOutcome {
    /// Prints a matrix: one line per run, then the comparison's verdict and where its report is.
    pub fn print(&self) {
        for run in &self.runs {
            let r = &run.results;
            println!(
                "{} #{}: {:.0} req/s, {:.1} logins/s, {} errors ({:.3}%); limit: {}",
                r.config.backend,
                r.config.repetition,
                r.requests_per_second,
                r.logins_per_second,
                r.errors_total,
                r.error_rate * 100.0,
                r.generator_bound.limit
            );
        }
        let report = reports::report::Report::from_results(
            self.runs
                .iter()
                .map(|run| (run.run_dir.clone(), run.results.clone()))
                .collect(),
            None,
        );
        println!("verdict:");
        for sentence in reports::verdict::verdict(&report) {
            println!("  - {sentence}");
        }
        println!("comparison report: {}", self.report.display());
    }
}

/// The order of a matrix's runs: repetition `r` (from 1) starts `r - 1` places later in the
/// list, so each backend runs early, in the middle and late in turn, and slow drift of the
/// machine spreads over all of them instead of favouring the one that always runs first.
pub fn order(backends: &[Backend], repeat: u32) -> Vec<(u32, Backend)> {
    let n = backends.len();
    (1..=repeat)
        .flat_map(|repetition| {
            let shift = (repetition as usize - 1) % n.max(1);
            (0..n).map(move |i| (repetition, backends[(i + shift) % n]))
        })
        .collect()
}

/// Runs every backend `repeat` times, interleaved, and renders the comparison.
pub async fn execute(args: &MatrixArgs) -> RunResult<MatrixOutcome> {
    ensure!(!args.backends.is_empty(), "--backends names no backend");
    // Every run of the matrix starts its own stack on its backend; against one --target they
    // would all measure the same server under different names.
    ensure!(
        args.run.target.is_empty(),
        "matrix runs its own in-process stack per backend; --target is not allowed here"
    );
    let backends = args.backends.clone();
    for (index, backend) in backends.iter().enumerate() {
        // Each backend's runs have one folder; a second list entry would overwrite the first's.
        ensure!(
            !backends[..index].contains(backend),
            "--backends names {} twice",
            backend.name()
        );
    }
    let mut template = args.run.clone();
    template.run_time = Some(args.run.run_time.unwrap_or(DEFAULT_RUN_TIME));
    template.warm_up = Some(args.run.warm_up.unwrap_or(DEFAULT_WARM_UP));
    let leg = |backend: Backend, repetition: u32| {
        let mut leg = template.clone();
        leg.repetition = repetition;
        leg.backend.backend = backend;
        if backend.is_in_memory() {
            // Redis settings are the Redis runs'; the in-memory runs have none.
            leg.backend.redis_url = None;
            leg.backend.redis_persistence = Persistence::None;
        }
        leg
    };
    // Every run's flags are checked before the first starts: a fault one backend cannot take
    // (a Redis restart on an in-memory run) stops the matrix at once.
    for backend in &backends {
        leg(*backend, 1)
            .validate()
            .doing_with(|| format!("the {} runs of the matrix", backend.name()))?;
    }
    // Check that a redis-server can start before the first run, so a missing one stops the
    // matrix at once rather than after the other backends have run. Each Redis run then starts
    // its own server, whose CPU it records as the stack's.
    if backends.contains(&Backend::Redis) && args.run.backend.redis_url.is_none() {
        LocalRedis::start_with(args.run.backend.redis_persistence).map_err(|error| {
            RunError::refused(format!(
                "the matrix's redis runs need a local redis-server, but {error}"
            ))
        })?;
    }
    let dir = args
        .run
        .reports_dir
        .clone()
        .unwrap_or_else(output::default_reports_dir)
        .join(format!("{}-matrix", output::timestamp()));
    std::fs::create_dir_all(&dir).doing_with(|| format!("creating {}", dir.display()))?;
    let dir = dir.canonicalize().unwrap_or(dir);
    let turns = order(&backends, args.repeat);
    let per_run = (template.warm_up() + template.run_time()).as_secs().max(1);
    let progress = output::progress_bar(per_run * turns.len() as u64, args.run.quiet);
    let mut runs = Vec::new();
    for (index, (repetition, backend)) in turns.iter().enumerate() {
        let leg = leg(*backend, *repetition);
        progress.set_prefix(format!("{} {}/{}", backend.name(), index + 1, turns.len()));
        progress.set_position(per_run * index as u64);
        let run_dir = dir.join(backend.name()).join(repetition.to_string());
        let outcome = run::execute_in(&leg, &run_dir, &progress)
            .await
            .doing_with(|| {
                format!(
                    "the {} run of repetition {repetition} of the matrix",
                    backend.name()
                )
            })?;
        let line = format!(
            "{} #{repetition}: {:.0} req/s, {:.1} logins/s, {} errors; {}",
            backend.name(),
            outcome.results.requests_per_second,
            outcome.results.logins_per_second,
            outcome.results.errors_total,
            outcome.results.generator_bound.limit
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
            .doing_with(|| format!("rendering the comparison in {}", dir.display()))?;
    Ok(MatrixOutcome { dir, report, runs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetitions_rotate_the_order() {
        let rotated = order(&[Backend::Dashmap, Backend::Scc, Backend::Redis], 4);
        let names: Vec<String> = rotated
            .iter()
            .map(|(repetition, backend)| format!("{}{repetition}", &backend.name()[..1]))
            .collect();
        assert_eq!(
            names,
            [
                "d1", "s1", "r1", "s2", "r2", "d2", "r3", "d3", "s3", "d4", "s4", "r4"
            ]
        );
        assert_eq!(
            order(&[Backend::Scc], 2),
            [(1, Backend::Scc), (2, Backend::Scc)]
        );
    }
}
