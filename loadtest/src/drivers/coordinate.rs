//! `loadtest coordinate`: the coordinator of a distributed run as a process of its own (the
//! coordinator pod of `loadtest kube`). It reads the run `kube` wrote, waits for its workers,
//! releases them together, gathers their files, merges them with the same code as `--workers`,
//! and serves the merged report until `/report.tar` is fetched or `--serve-for` passes.

use super::single::RunOutcome;
use super::workers::{self, merge_into};
use crate::coordinate::coordinator::{Coordinator, Unseen};
use crate::coordinate::protocol::{self, TOKEN_ENV};
use crate::error::While as _;
use crate::error::{RunResult, ensure};
use crate::setup::args::{RunArgs, StackUrls};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// `loadtest coordinate`.
#[derive(Debug, Clone, clap::Args)]
pub struct CoordinateArgs {
    /// The run, as `loadtest kube` wrote it (its arguments as JSON: the Secret's `run.json`).
    #[arg(long)]
    pub run: PathBuf,
    /// Where the coordinator listens: its workers, and `kubectl port-forward`, reach it here.
    #[arg(long, default_value = "0.0.0.0:7878")]
    pub listen: SocketAddr,
    /// The merged run's directory (each worker's files in `worker-<k>/` under it).
    #[arg(long)]
    pub out: PathBuf,
    /// The run's token, which every worker's request carries.
    #[arg(long, env = TOKEN_ENV, hide_env_values = true)]
    pub token: String,
    /// How long the merged report is served, unless `/report.tar` is fetched first.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub serve_for: Duration,
}

/// Coordinates the run, merges it, serves its report; the outcome once served.
pub async fn execute(args: &CoordinateArgs) -> RunResult<RunOutcome> {
    let text = std::fs::read_to_string(&args.run)
        .doing_with(|| format!("reading the run from {}", args.run.display()))?;
    let run: RunArgs = serde_json::from_str(&text)
        .doing_with(|| format!("reading the run from {}", args.run.display()))?;
    run.validate()?;
    ensure!(
        !run.target.is_empty(),
        "a coordinated run's workers need --target (the system under test): this coordinator \
         starts no stack"
    );
    ensure!(
        args.token.len() >= 32,
        "the run's token is too short to guard its uploads ({} characters; `loadtest kube` \
         writes 32)",
        args.token.len()
    );
    let urls = StackUrls {
        idp: run.target_idp.clone(),
        stores: run.target.clone(),
        forums: run.target_forums.clone(),
    };
    let count = usize::try_from(run.workers)?;
    let plans = (0..count)
        .map(|index| workers::worker_plan(&run, count, index, &urls, &[]))
        .collect();
    std::fs::create_dir_all(&args.out).doing_with(|| format!("creating {}", args.out.display()))?;
    let out = args.out.canonicalize().unwrap_or_else(|_| args.out.clone());
    let coordinator = Coordinator::start(args.listen, args.token.clone(), plans, &out).await?;
    eprintln!(
        "coordinator listening on {}: waiting for {count} worker(s), at most {} s",
        args.listen,
        run.ready_within.as_secs()
    );
    let gathered = async {
        let released = coordinator
            .release_when_ready(run.ready_within, &mut Unseen)
            .await?;
        eprintln!("{}", workers::released_line(count, &released));
        coordinator
            .gather(workers::results_within(&run), &mut Unseen)
            .await
    }
    .await;
    let dirs = match gathered {
        Ok(dirs) => dirs,
        Err(error) => {
            // The pods still running learn at their next heartbeat that the run is over and
            // stop loading the target: keep answering until each has had one.
            eprintln!("{error}");
            eprintln!("telling the other workers the run is over");
            tokio::time::sleep(protocol::HEARTBEAT_EVERY * 2 + Duration::from_secs(1)).await;
            coordinator.shutdown();
            return Err(error);
        }
    };
    let outcome = merge_into(&run, &dirs, &out, false)?;
    coordinator.publish_report(&out);
    eprintln!(
        "merged into {}; serving the report for {} s or until /report.tar is fetched",
        out.display(),
        args.serve_for.as_secs()
    );
    let fetched = tokio::time::timeout(args.serve_for, coordinator.report_fetched()).await;
    if fetched.is_ok() {
        // The archive is built whole before it is sent; give it time to reach the client
        // (through a port-forward) before the process ends.
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    coordinator.shutdown();
    Ok(outcome)
}
