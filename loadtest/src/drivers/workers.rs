//! Several load generators (`--workers N`): the stack as processes of its own, N generator
//! processes (`loadtest worker`) with the users split among them, coordinated over loopback
//! HTTP exactly as pods on a cluster are (`coordinate`: each worker fetches its arguments,
//! measures its clock against the coordinator's, says it is ready; all are released at one
//! instant; each sends its files), then their runs merged into one (`reports::merge`:
//! histograms added from the workers' interval logs, counts and rates summed, the timeline
//! aligned on wall-clock seconds). Every worker's files land in `worker-<k>/` of the merged
//! run. On one host the coordinator also sees each worker's exit.

use super::single::{self, RunOutcome, Start};
use crate::coordinate::coordinator::Released;
use crate::coordinate::coordinator::{Coordinator, Fleet};
use crate::coordinate::link::Link;
use crate::coordinate::protocol::{INDEX_ENV, POD_ENV, TOKEN_ENV};
pub use crate::coordinate::worker_args::{WORKER_DIR_PREFIX, WorkerArgs};
use crate::error::While as _;
use crate::error::{RunResult, ensure};
use crate::judge::thresholds;
use crate::setup::args::{RunArgs, StackUrls};
use crate::setup::process_stack::{self, ProcessStack};
use crate::setup::worker_fault::Misbehaviour;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

/// `loadtest worker` as a command: its flags, or — for a worker of a coordinated run — the
/// coordinator that gives it its arguments.
#[derive(Debug, clap::Args)]
pub struct WorkerCommand {
    #[command(flatten)]
    pub args: WorkerArgs,
    /// The coordinator of the run this worker belongs to: it gives the worker its arguments
    /// (the flags above are then ignored), releases it with the others, and takes its results.
    #[arg(long)]
    pub coordinator: Option<String>,
    /// The run's token, which every request to the coordinator carries.
    #[arg(long, env = TOKEN_ENV, hide_env_values = true)]
    pub token: Option<String>,
    /// This worker's place among the run's (0-based), as an Indexed Job numbers its pods.
    #[arg(long, env = INDEX_ENV)]
    pub index: Option<usize>,
}

impl WorkerCommand {
    /// The worker's arguments: from the command line, or — coordinated — asked of the
    /// coordinator now, on a runtime of its own (the generator's thread count is among them).
    pub fn receive(&mut self) -> RunResult<&WorkerArgs> {
        if self.coordinator.is_some() {
            let link = self.link()?.doing("a coordinated worker's link")?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let worker_dir = self.args.worker_dir.take();
            self.args = runtime.block_on(link.args())?;
            self.args.worker_dir = worker_dir;
        }
        Ok(&self.args)
    }

    /// The link to the coordinator, for a coordinated worker.
    fn link(&self) -> RunResult<Option<Link>> {
        let Some(coordinator) = &self.coordinator else {
            return Ok(None);
        };
        let token = self.token.as_deref().doing_with(|| {
            format!("a coordinated worker needs the run's token (--token or {TOKEN_ENV})")
        })?;
        let index = self.index.doing_with(|| {
            format!("a coordinated worker needs its index (--index or {INDEX_ENV})")
        })?;
        let pod = std::env::var(POD_ENV).unwrap_or_else(|_| {
            format!("{} pid {}", reports::hlog::host_name(), std::process::id())
        });
        Ok(Some(Link::new(coordinator, token, index, &pod)?))
    }
}

/// Runs one worker: the load against `--target`, into `--worker-dir`, or — coordinated — its
/// share of the run, released with the others, its files sent to the coordinator.
pub async fn work(command: &WorkerCommand) -> RunResult<RunOutcome> {
    let args = &command.args;
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
    let progress = indicatif::ProgressBar::hidden();
    let Some(mut link) = command.link()? else {
        let dir = args
            .worker_dir
            .as_ref()
            .doing("a worker needs --worker-dir, where its run goes")?;
        return single::execute_one(&args.run, dir, &progress, Start::AtOnce).await;
    };
    link.misbehave(args.misbehaviour);
    let scratch = args.worker_dir.is_none();
    let dir = args.worker_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "ssobench-worker-{}-{}",
            command.index.unwrap_or_default(),
            std::process::id()
        ))
    });
    let outcome =
        match single::execute_one(&args.run, &dir, &progress, Start::Coordinated(&link)).await {
            Ok(outcome) => outcome,
            Err(error) => {
                link.failed(&error.to_string()).await;
                return Err(error);
            }
        };
    if link.misbehaviour() == Some(Misbehaviour::WithholdResults) {
        eprintln!("this worker keeps its results (--worker-fault withhold-results)");
        return Ok(outcome);
    }
    if let Err(error) = link.send_results(&outcome.run_dir).await {
        link.failed(&error.to_string()).await;
        return Err(error);
    }
    if scratch {
        let _ = std::fs::remove_dir_all(&outcome.run_dir);
    }
    Ok(outcome)
}

/// Users of worker `index` (0-based) of `workers`: as even as can be, the first ones one more.
pub fn users_of(users: usize, workers: usize, index: usize) -> usize {
    users / workers + usize::from(index < users % workers)
}

/// The workers a run started on this host: the coordinator sees their exits.
#[derive(Debug)]
struct LocalFleet {
    children: Vec<Child>,
    progress: indicatif::ProgressBar,
}

impl Fleet for LocalFleet {
    fn ended(&mut self, index: usize) -> Option<Result<(), String>> {
        let child = self.children.get_mut(index)?;
        match child.try_wait() {
            Ok(Some(status)) if status.success() => Some(Ok(())),
            Ok(Some(status)) => Some(Err(status.to_string())),
            Ok(None) => None,
            Err(error) => Some(Err(error.to_string())),
        }
    }

    fn tick(&mut self, since_release: Duration) {
        self.progress.set_position(since_release.as_secs());
    }
}

impl LocalFleet {
    /// Waits a little for workers that have sent everything to exit, then stops any left.
    async fn finish(&mut self) {
        for _ in 0..40 {
            if self
                .children
                .iter_mut()
                .all(|child| !matches!(child.try_wait(), Ok(None)))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for LocalFleet {
    fn drop(&mut self) {
        for child in &mut self.children {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The parent of a run of several workers: the stack, the coordinator, the workers, the merge.
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
    // The first worker also measures the stack's CPU.
    let plans = (0..count)
        .map(|index| worker_plan(args, count, index, &urls, &stack_pids))
        .collect();
    let token = crate::coordinate::new_token();
    let coordinator = Coordinator::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        token.clone(),
        plans,
        &run_dir,
    )
    .await?;
    let mut fleet = LocalFleet {
        children: Vec::with_capacity(count),
        progress: progress.clone(),
    };
    for index in 0..count {
        // The command line and environment a pod of the Indexed Job gets, on loopback.
        let child = mock_services::children::command(&program)
            .arg("worker")
            .args(["--coordinator", coordinator.url()])
            .env(TOKEN_ENV, &token)
            .env(INDEX_ENV, index.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .doing_with(|| format!("starting worker {}", index + 1))?;
        fleet.children.push(child);
    }
    let released = coordinator
        .release_when_ready(args.ready_within, &mut fleet)
        .await?;
    progress.println(released_line(count, &released));
    let dirs = coordinator.gather(results_within(args), &mut fleet).await?;
    fleet.finish().await;
    coordinator.shutdown();
    let started_stack = stack.is_some();
    if let Some(stack) = stack {
        stack.shutdown().await?;
    }
    merge_into(args, &dirs, &run_dir, started_stack)
}

/// How the release went, in a line: how many workers, how far the widest clock was.
pub fn released_line(count: usize, released: &Released) -> String {
    let widest = released
        .clocks
        .iter()
        .map(|clock| clock.offset_ms.abs())
        .fold(0.0, f64::max);
    format!("released {count} workers together; clocks within {widest:.1} ms of the coordinator's")
}

/// How long after the release every worker's results may take: warm-up, ramp, run time, a
/// request in flight at the end (its whole timeout), and `--results-within`.
pub fn results_within(args: &RunArgs) -> Duration {
    args.warm_up() + args.ramp_up() + args.run_time() + args.request_timeout + args.results_within
}

/// The workers' runs in `dirs` merged into `run_dir` (results, report), the run's own settings
/// put back where it started the stack.
pub fn merge_into(
    args: &RunArgs,
    dirs: &[std::path::PathBuf],
    run_dir: &Path,
    started_stack: bool,
) -> RunResult<RunOutcome> {
    let mut results =
        reports::merge::merge_dirs(dirs, run_dir).doing("merging the workers' runs")?;
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
    reports::results::write_load(run_dir, &results)?;
    let violations = thresholds::check(args, &results);
    let report = reports::render::render_run(run_dir, &results)
        .doing_with(|| format!("rendering the report in {}", run_dir.display()))?;
    Ok(RunOutcome {
        run_dir: run_dir.to_owned(),
        report,
        results,
        violations,
    })
}

/// Worker `index`'s share of the run: its users, rate and first user, the stack's URLs (and,
/// for the first, the stack's processes to measure), and any misbehaviour asked of it.
pub fn worker_plan(
    args: &RunArgs,
    count: usize,
    index: usize,
    urls: &StackUrls,
    stack_pids: &[u32],
) -> WorkerArgs {
    let pids: &[u32] = if index == 0 { stack_pids } else { &[] };
    WorkerArgs {
        run: args.for_worker(
            users_of(args.users, count, index),
            (0..index)
                .map(|before| users_of(args.users, count, before))
                .sum(),
            urls,
            pids,
        ),
        worker_dir: None,
        misbehaviour: args
            .worker_fault
            .iter()
            .find(|fault| fault.worker == index + 1)
            .map(|fault| fault.misbehaviour),
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
