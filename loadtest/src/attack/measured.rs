//! One measured goose run: the run's context, the lag probe and the CPU meter, the sampler on
//! its own thread, the attack, and the end of the run at ramp-up plus run time — then every
//! user's measurements merged.

use crate::attack::plan::{self, AttackPlan, Kind};
use crate::error::RunResult;
use crate::error::While as _;
use crate::fault::FaultBoard;
use crate::fault::board::FaultMoments;
use crate::fault::inject::{Controls, Injector};
use crate::fault::spec::FaultSpec;
use crate::measure::cpu::{CpuMeter, CpuSides};
use crate::measure::interval_log::{IntervalLogger, Written};
use crate::measure::live::LiveTotals;
use crate::measure::recorder::{UserRecorder, histogram};
use crate::measure::shards::Shards;
use crate::measure::timeline::{Sampled, Sampler, SamplerInputs, StackConnections};
use crate::measure::{lag, memory};
use crate::users::context::{RunContext, ScenarioSettings, Targets};
use reports::hlog::host_name;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Instant, SystemTime};

/// What a measured run needs.
#[derive(Debug)]
pub struct Drive<'a> {
    pub plan: AttackPlan<'a>,
    pub kinds: Vec<(Kind, usize)>,
    pub targets: Targets,
    pub settings: ScenarioSettings,
    pub cpu: CpuSides,
    /// The store's live sessions, kept current by the stack (or never: [`crate::measure::timeline::UNKNOWN`]).
    pub sessions_alive: Arc<AtomicU64>,
    pub stack_connections: StackConnections,
    pub progress: &'a indicatif::ProgressBar,
    /// Faults to inject, timed from the start of this run, and what they act on.
    pub faults: Vec<FaultSpec>,
    pub controls: Controls,
    /// Where the measured run's interval logs go (`None`: a warm-up, which writes none).
    pub hlog_dir: Option<PathBuf>,
}

/// What a measured run saw.
#[derive(Debug)]
pub struct Measured {
    /// Every user's measurements, merged.
    pub merged: UserRecorder,
    /// Every user's counters at the end.
    pub totals: LiveTotals,
    pub sampled: Sampled,
    /// From the attack's start to its end, the drain included.
    pub elapsed_seconds: f64,
    /// Worker threads of the runtime the generator ran on.
    pub generator_threads: usize,
    /// When each fault began and ended, and the first error and success around it.
    pub fault_moments: Vec<FaultMoments>,
    /// What went wrong doing or undoing a fault, one sentence each.
    pub fault_problems: Vec<String>,
    /// Wall-clock time of the run's zero, seconds since the epoch.
    pub started_unix: f64,
    /// What the interval logs hold (`None` without logs).
    pub intervals: Option<Written>,
    /// Users asked for and started, and after how long (seconds from the attack's start) the
    /// last one started.
    pub users_planned: usize,
    pub users_started: u64,
    pub ramp_up: std::time::Duration,
    pub all_started_after: Option<f64>,
    /// The generator's resident memory just before the users started, bytes.
    pub rss_before: Option<u64>,
    /// What failed late in the run (the attack, the interval logs), one sentence each: the
    /// results are written all the same, with these named in them.
    pub problems: Vec<String>,
}

/// Runs the attack on the current runtime (the generator's) and measures it.
pub async fn drive(drive: Drive<'_>) -> RunResult<Measured> {
    let generator_threads = tokio::runtime::Handle::current().metrics().num_workers();
    // The run's zero: the timeline's seconds and the faults' moments both count from here.
    let origin = Instant::now();
    let started_at = SystemTime::now();
    let board = Arc::new(FaultBoard::new(origin, &drive.faults));
    let (logger, sink) = match drive.hlog_dir {
        Some(dir) => {
            let (logger, sink) = IntervalLogger::start(dir, host_name(), started_at, origin)
                .doing("starting the interval log thread")?;
            (Some(logger), Some(sink))
        }
        None => (None, None),
    };
    let run = Arc::new(RunContext::new(
        drive.targets,
        drive.settings,
        Arc::clone(&board),
        sink,
        Shards::for_threads(generator_threads),
        drive.plan.users,
    ));
    let lag = histogram().into_sync();
    let probe = lag::spawn(lag.recorder());
    let host = run.targets.base(run.targets.store).to_owned();
    let attack = plan::build(&drive.plan, &drive.kinds, &run, &host)?;
    let sampler = Sampler::start(SamplerInputs {
        totals: {
            let run = Arc::clone(&run);
            Box::new(move || run.live.totals())
        },
        users: {
            let run = Arc::clone(&run);
            Box::new(move || u64::from(run.users_started()))
        },
        latency: {
            let run = Arc::clone(&run);
            Box::new(move |into| run.shards.take_second(into))
        },
        lag,
        cpu: CpuMeter::new(drive.cpu),
        sessions_alive: drive.sessions_alive,
        stack_connections: drive.stack_connections,
        progress: drive.progress.clone(),
        run_time: drive.plan.run_time,
        origin,
    })
    .doing("starting the sampler thread")?;
    let injector = if board.is_empty() {
        None
    } else {
        Some(
            Injector::start(Arc::clone(&board), drive.controls)
                .doing("starting the fault injector thread")?,
        )
    };
    let rss_before = memory::resident_bytes();
    let started = Instant::now();
    // Goose ends the run only between transactions; the run's end cuts every wait inside one.
    let ender = run
        .end
        .end_at(tokio::time::Instant::now() + drive.plan.ramp_up + drive.plan.run_time);
    let outcome = attack.execute().await;
    run.end.end();
    ender.abort();
    probe.abort();
    // Undoes a fault still in progress (a run that ended early) before anything else.
    let fault_problems = match injector {
        Some(injector) => tokio::task::spawn_blocking(move || injector.finish())
            .await
            .doing("the fault injector thread failed")?,
        None => Vec::new(),
    };
    let elapsed_seconds = started.elapsed().as_secs_f64();
    // Joining the sampler waits at most for its current refresh: off the runtime's threads.
    let sampled = tokio::task::spawn_blocking(move || sampler.finish())
        .await
        .doing("the sampler thread failed")?;
    // From here on a failure does not lose the run: what was measured is kept, and the
    // failure is named in its results.
    let mut problems = Vec::new();
    if let Err(error) = outcome {
        problems.push(format!("the goose run failed: {error}"));
    }
    // Every user handed its samples over when it stopped: the last seconds can be written.
    let intervals = match logger {
        Some(logger) => match tokio::task::spawn_blocking(move || logger.finish()).await {
            Ok(Ok(written)) => Some(written),
            Ok(Err(error)) => {
                problems.push(format!(
                    "writing the interval logs: {error} (the per-second logs stop at that \
                     second; the run's totals are whole)"
                ));
                None
            }
            Err(error) => {
                problems.push(format!("the interval log thread failed: {error}"));
                None
            }
        },
        None => None,
    };
    Ok(Measured {
        merged: run.merged(),
        totals: run.live.totals(),
        sampled,
        elapsed_seconds,
        generator_threads,
        fault_moments: board.moments(),
        fault_problems,
        started_unix: started_at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64()),
        intervals,
        users_planned: drive.plan.users,
        users_started: u64::from(run.users_started()),
        ramp_up: drive.plan.ramp_up,
        all_started_after: run
            .all_started()
            .map(|at| at.saturating_duration_since(started).as_secs_f64()),
        rss_before,
        problems,
    })
}
