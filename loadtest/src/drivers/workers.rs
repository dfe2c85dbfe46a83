//! Several load generators (`--workers N`): the stack as processes of its own, N generator
//! processes (`loadtest worker`) with the users split among them, released together by a start
//! barrier (each says `ready` once set up, and waits for `go` on its input), then their runs
//! merged into one (`reports::merge`: histograms added from the workers' interval logs, counts
//! and rates summed, the timeline aligned on wall-clock seconds). Every worker keeps its own run
//! directory (`worker-<k>/`) inside the merged run's.

use super::barrier;
use super::single::{self, RunOutcome, Start};
use crate::judge::thresholds;
use crate::setup::args::{RunArgs, StackUrls};
use crate::setup::process_stack::{self, ProcessStack};
use anyhow::Context as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A worker's directory inside the merged run's: `worker-1`, `worker-2`, …
pub const WORKER_DIR_PREFIX: &str = "worker-";
/// How long past its warm-up, run time and a request timeout a worker may take to finish (the
/// drain of its last iterations, its report).
const FINISH_WITHIN: Duration = Duration::from_secs(120);

/// `loadtest worker`: one generator of a run of several.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The worker's run directory (results.json, hlog/, its report).
    #[arg(long)]
    pub worker_dir: PathBuf,
    /// Print `ready` once set up and wait for a line `go` on standard input before the load
    /// (the start barrier that releases every worker of a run together).
    #[arg(long)]
    pub wait_for_go: bool,
}

/// Runs one worker: the load against `--target`, into `--worker-dir`.
pub async fn work(args: &WorkerArgs) -> anyhow::Result<RunOutcome> {
    anyhow::ensure!(
        !args.run.target.is_empty(),
        "a worker only makes load: give the running stack's --target (and --target-idp, \
         --target-forums)"
    );
    anyhow::ensure!(
        args.run.workers == 1 && args.run.instances == 1,
        "a worker is one generator against a running stack: --workers and --instances belong \
         to the run that starts the workers"
    );
    let start = if args.wait_for_go {
        Start::OnGo
    } else {
        Start::AtOnce
    };
    single::execute_one(
        &args.run,
        &args.worker_dir,
        &indicatif::ProgressBar::hidden(),
        start,
    )
    .await
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
) -> anyhow::Result<RunOutcome> {
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
    std::fs::create_dir_all(run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    let run_dir = run_dir
        .canonicalize()
        .unwrap_or_else(|_| run_dir.to_owned());
    let count = usize::try_from(args.workers)?;
    let mut workers = Vec::with_capacity(count);
    for index in 0..count {
        let dir = run_dir.join(format!("{WORKER_DIR_PREFIX}{}", index + 1));
        // The first worker also measures the stack's CPU.
        let pids: &[u32] = if index == 0 { &stack_pids } else { &[] };
        let child = mock_services::instances::child_command(&program)
            .arg("worker")
            .arg("--worker-dir")
            .arg(&dir)
            .arg("--wait-for-go")
            .args(
                args.worker_flags(
                    users_of(args.users, count, index),
                    (0..index)
                        .map(|before| users_of(args.users, count, before))
                        .sum(),
                    &urls,
                    pids,
                ),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting worker {} ({})", index + 1, program.display()))?;
        workers.push(Running { child, dir });
    }
    // The barrier: every worker set up, then all released at once.
    for (index, worker) in workers.iter_mut().enumerate() {
        barrier::wait_ready(&mut worker.child)
            .await
            .with_context(|| format!("worker {}", index + 1))?;
    }
    for (index, worker) in workers.iter_mut().enumerate() {
        let input = worker.child.stdin.as_mut().context("a worker's input")?;
        writeln!(input, "{}", barrier::GO)
            .and_then(|()| input.flush())
            .with_context(|| format!("releasing worker {}", index + 1))?;
    }
    wait_all(&mut workers, args, progress).await?;
    let started_stack = stack.is_some();
    if let Some(stack) = stack {
        stack.shutdown().await?;
    }
    let dirs: Vec<PathBuf> = workers.iter().map(|worker| worker.dir.clone()).collect();
    let mut results =
        reports::merge::merge_dirs(&dirs, &run_dir).context("merging the workers' runs")?;
    if started_stack {
        // The workers saw a stack at some URLs; this run started it and knows its settings.
        let config = &mut results.config;
        config.target = "processes".into();
        config.signing_algorithm = args.signing_alg.jws_name().to_owned();
        config.password_hashing = format!("{:?}", args.password_hash).to_lowercase();
        config.redis_persistence = args.backend.redis_persistence.name().to_owned();
    }
    reports::results::write_load(&run_dir, &results)?;
    let violations = thresholds::check(args, &results);
    let report = reports::render::render_run(&run_dir, &results)
        .with_context(|| format!("rendering the report in {}", run_dir.display()))?;
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
) -> anyhow::Result<()> {
    let started = Instant::now();
    // A request in flight at the end may take its whole timeout.
    let limit = args.warm_up()
        + crate::attack::plan::RAMP_UP
        + args.run_time()
        + args.request_timeout
        + FINISH_WITHIN;
    loop {
        let mut running = 0;
        for (index, worker) in workers.iter_mut().enumerate() {
            match worker.child.try_wait() {
                Ok(Some(status)) if !status.success() => anyhow::bail!(
                    "worker {} failed ({status}); its messages are above",
                    index + 1
                ),
                Ok(Some(_)) => {}
                Ok(None) => running += 1,
                Err(error) => anyhow::bail!("worker {}: {error}", index + 1),
            }
        }
        if running == 0 {
            return Ok(());
        }
        anyhow::ensure!(
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
