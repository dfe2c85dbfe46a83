//! Several load generators (`--workers N`): the stack as processes of its own, N generator
//! processes (`loadtest worker`) with the users split among them, released together by a start
//! barrier (each is given its arguments whole on its input, says `ready` once set up, and waits for `go`), then their runs
//! merged into one (`reports::merge`: histograms added from the workers' interval logs, counts
//! and rates summed, the timeline aligned on wall-clock seconds). Every worker keeps its own run
//! directory (`worker-<k>/`) inside the merged run's.

use super::barrier;
use super::single::{self, RunOutcome, Start};
use crate::error::While as _;
use crate::error::{RunResult, bail, ensure};
use crate::judge::thresholds;
use crate::setup::args::{RunArgs, StackUrls};
use crate::setup::process_stack::{self, ProcessStack};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// A worker's directory inside the merged run's: `worker-1`, `worker-2`, …
pub const WORKER_DIR_PREFIX: &str = "worker-";
/// How long past its warm-up, run time and a request timeout a worker may take to finish (the
/// drain of its last iterations, its report).
const FINISH_WITHIN: Duration = Duration::from_secs(120);

/// `loadtest worker`: one generator of a run of several.
#[derive(Debug, Clone, clap::Args, serde::Serialize, serde::Deserialize)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The worker's run directory (results.json, hlog/, its report).
    #[arg(long, required_unless_present = "config_on_stdin")]
    pub worker_dir: Option<PathBuf>,
    /// Print `ready` once set up and wait for a line `go` on standard input before the load
    /// (the start barrier that releases every worker of a run together).
    #[arg(long)]
    pub wait_for_go: bool,
}

/// `loadtest worker` as a command: its flags, or — for the workers a run starts — its
/// arguments whole on standard input.
#[derive(Debug, clap::Args)]
pub struct WorkerCommand {
    #[command(flatten)]
    pub args: WorkerArgs,
    /// Read the arguments, whole, from the first line of standard input instead of flags (how a
    /// run with --workers starts its workers).
    #[arg(long, hide = true)]
    pub config_on_stdin: bool,
}

impl WorkerCommand {
    /// The worker's arguments: from the command line, or read from standard input now.
    pub fn receive(&mut self) -> RunResult<&WorkerArgs> {
        if self.config_on_stdin {
            self.args = mock_services::children::receive_config()
                .doing("reading the worker's arguments from standard input")?;
            self.config_on_stdin = false;
        }
        Ok(&self.args)
    }
}

/// Runs one worker: the load against `--target`, into `--worker-dir`.
pub async fn work(args: &WorkerArgs) -> RunResult<RunOutcome> {
    ensure!(
        !args.run.target.is_empty(),
        "a worker only makes load: give the running stack's --target (and --target-idp, \
         --target-forums)"
    );
    ensure!(
        args.run.workers == 1 && args.run.instances == 1,
        "a worker is one generator against a running stack: --workers and --instances belong \
         to the run that starts the workers"
    );
    let dir = args
        .worker_dir
        .as_ref()
        .doing("a worker needs --worker-dir, where its run goes")?;
    let start = if args.wait_for_go {
        Start::OnGo
    } else {
        Start::AtOnce
    };
    single::execute_one(&args.run, dir, &indicatif::ProgressBar::hidden(), start).await
}

/// Users of worker `index` (0-based) of `workers`: as even as can be, the first ones one more.
pub fn users_of(users: usize, workers: usize, index: usize) -> usize {
    users / workers + usize::from(index < users % workers)
}

/// A started worker.
#[derive(Debug)]
struct Running {
    child: Child,
    dir: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The parent of a run of several workers: the stack, the workers, the barrier, the merge.
pub async fn execute(
    args: &RunArgs,
    run_dir: &Path,
    progress: &indicatif::ProgressBar,
) -> RunResult<RunOutcome> {
    args.validate()?;
    let program = process_stack::program(args)?;
    let (stack, urls, stack_pids) = if args.target.is_empty() {
        let stack = ProcessStack::start(&process_stack::serve_args(args), &program).await?;
        let urls = StackUrls {
            idp: stack.idp.clone(),
            stores: stack.stores.clone(),
            forums: stack.forums.clone(),
        };
        let pids = stack.pids().to_vec();
        (Some(stack), urls, pids)
    } else {
        let urls = StackUrls {
            idp: args.target_idp.clone(),
            stores: args.target.clone(),
            forums: args.target_forums.clone(),
        };
        (None, urls, args.target_pid.into_iter().collect())
    };
    std::fs::create_dir_all(run_dir).doing_with(|| format!("creating {}", run_dir.display()))?;
    let run_dir = run_dir
        .canonicalize()
        .unwrap_or_else(|_| run_dir.to_owned());
    let count = usize::try_from(args.workers)?;
    let mut workers = Vec::with_capacity(count);
    for index in 0..count {
        let dir = run_dir.join(format!("{WORKER_DIR_PREFIX}{}", index + 1));
        // The first worker also measures the stack's CPU.
        let pids: &[u32] = if index == 0 { &stack_pids } else { &[] };
        let worker = WorkerArgs {
            run: args.for_worker(
                users_of(args.users, count, index),
                (0..index)
                    .map(|before| users_of(args.users, count, before))
                    .sum(),
                &urls,
                pids,
            ),
            worker_dir: Some(dir.clone()),
            wait_for_go: true,
        };
        let child = mock_services::children::spawn(&program, "worker", &worker, true)
            .doing_with(|| format!("starting worker {}", index + 1))?;
        workers.push(Running { child, dir });
    }
    // The barrier: every worker set up, then all released at once.
    for (index, worker) in workers.iter_mut().enumerate() {
        barrier::wait_ready(&mut worker.child)
            .await
            .doing_with(|| format!("worker {}", index + 1))?;
    }
    for (index, worker) in workers.iter_mut().enumerate() {
        barrier::release(&mut worker.child)
            .doing_with(|| format!("releasing worker {}", index + 1))?;
    }
    wait_all(&mut workers, args, progress).await?;
    let started_stack = stack.is_some();
    if let Some(stack) = stack {
        stack.shutdown().await?;
    }
    let dirs: Vec<PathBuf> = workers.iter().map(|worker| worker.dir.clone()).collect();
    let mut results =
        reports::merge::merge_dirs(&dirs, &run_dir).doing("merging the workers' runs")?;
    if started_stack {
        // The workers saw a stack at some URLs; this run started it and knows its settings.
        let config = &mut results.config;
        config.target = reports::results::StackPlacement::Processes;
        config.signing_algorithm = Some(args.signing_alg);
        config.password_hashing = Some(args.password_hash);
        config.redis_persistence = args.backend.redis_persistence;
        config.lookup_handicap_us =
            mock_services::cli::Handicap::cost_on(args.handicap, args.backend.backend)
                .map(|cost| cost.as_secs_f64() * 1e6);
    }
    results.config.arm.clone_from(&args.arm);
    reports::results::write_load(&run_dir, &results)?;
    let violations = thresholds::check(args, &results);
    let report = reports::render::render_run(&run_dir, &results)
        .doing_with(|| format!("rendering the report in {}", run_dir.display()))?;
    Ok(RunOutcome {
        run_dir,
        report,
        results,
        violations,
    })
}

/// Waits for every worker to exit on its own, within its run time and a margin.
async fn wait_all(
    workers: &mut [Running],
    args: &RunArgs,
    progress: &indicatif::ProgressBar,
) -> RunResult<()> {
    let started = Instant::now();
    // A request in flight at the end may take its whole timeout.
    let limit =
        args.warm_up() + args.ramp_up() + args.run_time() + args.request_timeout + FINISH_WITHIN;
    loop {
        let mut running = 0;
        for (index, worker) in workers.iter_mut().enumerate() {
            match worker.child.try_wait() {
                Ok(Some(status)) if !status.success() => bail!(
                    "worker {} failed ({status}); its messages are above",
                    index + 1
                ),
                Ok(Some(_)) => {}
                Ok(None) => running += 1,
                Err(error) => bail!("worker {}: {error}", index + 1),
            }
        }
        if running == 0 {
            return Ok(());
        }
        ensure!(
            started.elapsed() < limit,
            "{running} worker(s) still running {} s after the start: stopped",
            limit.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        progress.set_position(started.elapsed().as_secs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_split_as_evenly_as_they_can_be() {
        let split = |users, workers| {
            (0..workers)
                .map(|index| users_of(users, workers, index))
                .collect::<Vec<_>>()
        };
        assert_eq!(split(32, 2), [16, 16]);
        assert_eq!(split(7, 3), [3, 2, 2]);
        assert_eq!(split(3, 3), [1, 1, 1]);
        assert_eq!(split(10, 4).iter().sum::<usize>(), 10);
    }
}
