//! `loadtest matrix`: the same load on several arms — backends, or a backend with a variant —
//! in interleaved rounds (A B C, then B C A, then C A B, …), each run on a fresh stack, measured
//! once its rate has settled (`measure::settle`), for a fixed number of rounds or until every
//! pair's interval is as narrow as asked (`rounds.rs`); then one report comparing them with
//! intervals.
//!
//! The runs go to `<reports dir>/<timestamp>-matrix/<arm>/<round>/`, each with its own report;
//! the comparison's `index.html` and `rounds.json` sit at the top of that folder.

use crate::drivers::rounds::{Ledger, RoundsArgs};
use crate::drivers::run::{self, RunOutcome};
use crate::error::While as _;
use crate::error::{RunError, RunResult, ensure};
use crate::setup::args::RunArgs;
use crate::setup::output;
use mock_services::cli::{Backend, Handicap};
use mock_services::local_redis::{LocalRedis, Persistence};
use std::path::PathBuf;
use std::time::Duration;
use vocabulary::Arm;
use vocabulary::results::Rounds;

/// A matrix run's measured time per round when none is given: with its warm-up, a run of the
/// plain matrix takes 15 to 20 s.
pub const DEFAULT_RUN_TIME: Duration = Duration::from_secs(10);
/// A matrix run's longest warm-up when none is given: ended sooner once the rate settles
/// (`--settle`), after 4 to 8 s in most runs on a 2-core machine.
pub const DEFAULT_WARM_UP: Duration = Duration::from_secs(10);
/// Rounds when neither `--repeat` nor `--precision` is given.
pub const DEFAULT_ROUNDS: u32 = 3;

/// The matrix's flags: every load-run flag, plus the arms and the rounds.
#[derive(Debug, Clone, clap::Args)]
pub struct MatrixArgs {
    /// Arms to compare, comma-separated: a backend, or a backend with a variant
    /// (`dashmap+handicap=150us`: every session lookup spends 150 µs more, a test device). An
    /// arm named twice runs twice (an A/A check). Each round starts one later in this list.
    /// `--backend` is ignored here.
    #[arg(
        long = "backends",
        visible_alias = "arms",
        value_name = "ARMS",
        value_delimiter = ',',
        value_parser = Arm::parse,
        default_values_t = Backend::ALL.map(Arm::plain)
    )]
    pub arms: Vec<Arm>,
    #[command(flatten)]
    pub rounds: RoundsArgs,
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
    /// How the rounds went (also in the folder's `rounds.json`).
    pub rounds: Rounds,
}

impl MatrixOutcome {
    /// Prints a matrix: one line per run, then the comparison's verdict and where its report is.
    pub fn print(&self) {
        for run in &self.runs {
            let r = &run.results;
            println!(
                "{} #{}: {:.0} req/s, {:.1} logins/s, {} errors ({:.3}%); limit: {}",
                r.config.arm.as_deref().unwrap_or(r.config.backend.name()),
                r.config.repetition,
                r.requests_per_second,
                r.logins_per_second,
                r.errors_total,
                r.error_rate * 100.0,
                r.generator_bound.limit
            );
        }
        let mut report = reports::report::Report::from_results(
            self.runs
                .iter()
                .map(|run| (run.run_dir.clone(), run.results.clone()))
                .collect(),
            None,
        );
        report.rounds = Some(self.rounds.clone());
        println!("verdict:");
        for sentence in reports::verdict::verdict(&report) {
            println!("  - {sentence}");
        }
        println!("comparison report: {}", self.report.display());
    }
}

/// Runs every arm in rounds, interleaved, until the rounds' rule stops, and renders the
/// comparison.
pub async fn execute(args: &MatrixArgs) -> RunResult<MatrixOutcome> {
    ensure!(!args.arms.is_empty(), "--backends names no backend");
    // Every run of the matrix starts its own stack on its arm; against one --target they
    // would all measure the same server under different names.
    ensure!(
        args.run.target.is_empty(),
        "matrix runs its own in-process stack per backend; --target is not allowed here"
    );
    let policy = args.rounds.policy(DEFAULT_ROUNDS)?;
    let arms = args.arms.clone();
    let names = vocabulary::arm::names(&arms);
    let mut template = args.run.clone();
    template.run_time = Some(args.run.run_time.unwrap_or(DEFAULT_RUN_TIME));
    template.warm_up = Some(args.run.warm_up.unwrap_or(DEFAULT_WARM_UP));
    let leg = |index: usize, repetition: u32| {
        let arm = arms[index];
        let mut leg = template.clone();
        leg.repetition = repetition;
        leg.arm = Some(names[index].clone());
        leg.backend.backend = arm.backend;
        if let Some(cost) = arm.handicap {
            leg.handicap = Some(Handicap {
                backend: arm.backend,
                cost,
            });
        }
        if arm.backend.is_in_memory() {
            // Redis settings are the Redis runs'; the in-memory runs have none.
            leg.backend.redis_url = None;
            leg.backend.redis_persistence = Persistence::None;
        }
        leg
    };
    // Every run's flags are checked before the first starts: a fault one backend cannot take
    // (a Redis restart on an in-memory run) stops the matrix at once.
    for (index, name) in names.iter().enumerate() {
        leg(index, 1)
            .validate()
            .doing_with(|| format!("the {name} runs of the matrix"))?;
    }
    // Check that a redis-server can start before the first run, so a missing one stops the
    // matrix at once rather than after the other backends have run. Each Redis run then starts
    // its own server, whose CPU it records as the stack's.
    if arms.iter().any(|arm| arm.backend == Backend::Redis) && args.run.backend.redis_url.is_none()
    {
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
    let per_run = (template.warm_up() + template.run_time()).as_secs().max(1);
    let per_round = per_run * arms.len() as u64;
    let progress = output::progress_bar(per_round * u64::from(policy.min_rounds), args.run.quiet);
    let say = |line: String| {
        if progress.is_hidden() {
            eprintln!("{line}");
        } else {
            progress.println(line);
        }
    };
    let mut ledger = Ledger::new(policy, arms.len());
    let mut runs = Vec::new();
    while let Some((round, order)) = ledger.next_round() {
        if round > policy.min_rounds {
            progress.set_length(per_round * u64::from(round));
        }
        for (turn, index) in order.into_iter().enumerate() {
            let name = &names[index];
            progress.set_prefix(format!("{name} round {round}, {}/{}", turn + 1, arms.len()));
            progress.set_position(per_round * u64::from(round - 1) + per_run * turn as u64);
            let run_dir = dir.join(name).join(round.to_string());
            let outcome = run::execute_in(&leg(index, round), &run_dir, &progress)
                .await
                .doing_with(|| format!("the {name} run of round {round} of the matrix"))?;
            say(format!(
                "{name} #{round}: {:.0} req/s, {:.1} logins/s, {} errors; {}",
                outcome.results.requests_per_second,
                outcome.results.logins_per_second,
                outcome.results.errors_total,
                outcome.results.generator_bound.limit
            ));
            ledger.record(index, outcome.results.requests_per_second);
            runs.push(outcome);
        }
        if let (Some(precision), Some(reach)) = (policy.precision, ledger.widest()) {
            say(format!(
                "after round {round} ({}): the widest pair's requests/s interval reaches ±{:.1}% \
                 (aim: ±{:.1}%)",
                reports::format::span(ledger.elapsed().as_secs_f64()),
                reach * 100.0,
                precision * 100.0
            ));
        }
    }
    progress.finish_and_clear();
    let rounds = ledger.finish(&arms, names.clone());
    vocabulary::results::write_rounds(&dir, &rounds)
        .doing_with(|| format!("writing the rounds into {}", dir.display()))?;
    let run_dirs: Vec<PathBuf> = runs.iter().map(|run| run.run_dir.clone()).collect();
    let report =
        reports::render::render_comparison(&run_dirs, reports::render::default_criterion()?, &dir)
            .doing_with(|| format!("rendering the comparison in {}", dir.display()))?;
    Ok(MatrixOutcome {
        dir,
        report,
        runs,
        rounds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arms_are_read_from_the_backends_flag() {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            matrix: MatrixArgs,
        }
        let cli = Cli::try_parse_from(["matrix", "--arms", "dashmap,dashmap+handicap=1ms"])
            .expect("parses");
        assert_eq!(
            cli.matrix.arms,
            [
                Arm::plain(Backend::Dashmap),
                Arm::parse("dashmap+handicap=1ms").expect("arm")
            ]
        );
        let all = Cli::try_parse_from(["matrix"]).expect("parses");
        assert_eq!(all.matrix.arms, Backend::ALL.map(Arm::plain));
        assert!(Cli::try_parse_from(["matrix", "--backends", "dashmap+x=1"]).is_err());
        assert!(Cli::try_parse_from(["matrix", "--repeat", "2", "--precision", "10%"]).is_err());
    }
}
