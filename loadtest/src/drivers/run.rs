//! A load run through the HTTP stack: from one generator (this process, `single`) or several
//! (`--workers`, `workers`), into a new run directory.

use crate::error::RunResult;
use crate::setup::args::RunArgs;
use crate::setup::output::{default_reports_dir, progress_bar, timestamp};
use std::path::Path;

pub use super::single::RunOutcome;

/// Runs the load into a new `<reports dir>/<timestamp>/`, with its own progress bar (hidden
/// with `--quiet` or when stderr is not a terminal).
pub async fn execute(args: &RunArgs) -> RunResult<RunOutcome> {
    let run_dir = args
        .reports_dir
        .clone()
        .unwrap_or_else(default_reports_dir)
        .join(timestamp());
    let progress = progress_bar((args.warm_up() + args.run_time()).as_secs(), args.quiet);
    progress.set_prefix(args.backend.backend.name());
    let outcome = execute_in(args, &run_dir, &progress).await;
    progress.finish_and_clear();
    outcome
}

/// Runs the load on the current runtime (the generator's), writes `results.json` (and goose's
/// reports, when asked for) into `run_dir`, and renders the run's own report there. With
/// `--workers`, the load comes from worker processes and their runs are merged.
pub async fn execute_in(
    args: &RunArgs,
    run_dir: &Path,
    progress: &indicatif::ProgressBar,
) -> RunResult<RunOutcome> {
    if args.workers > 1 {
        return super::workers::execute(args, run_dir, progress).await;
    }
    super::single::execute_one(args, run_dir, progress, super::single::Start::AtOnce).await
}
