//! One measured goose run: the run's context, the lag probe and the CPU meter, the sampler on
//! its own thread, the attack — its warm-up first, until the sampler says the rate has settled
//! (`measure::settle`) — and the end of the run at run time after measuring started, then every
//! user's measurements merged.

use crate::attack::plan::{self, AttackPlan, Kind};
use crate::error::RunResult;
use crate::error::While as _;
use crate::fault::FaultBoard;
use crate::fault::board::FaultMoments;
use crate::fault::inject::{Controls, Injector};
use crate::fault::spec::FaultSpec;
use crate::measure::cpu::{CpuMeter, CpuSides};
use crate::measure::gauges::{StackMemory, StoreGauges};
use crate::measure::interval_log::{IntervalLogger, Written};
use crate::measure::live::LiveTotals;
use crate::measure::recorder::{UserRecorder, histogram};
use crate::measure::settle::{MeasureClock, WarmUpPlan};
use crate::measure::shards::Shards;
use crate::measure::timeline::{Sampled, Sampler, SamplerInputs, StackConnections, Window};
use crate::measure::{lag, memory};
use crate::users::context::{RunContext, ScenarioSettings, Targets};
use reports::hlog::host_name;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// What a measured run needs.
#[derive(Debug)]
pub struct Drive<'a> {
    pub plan: AttackPlan<'a>,
    pub kinds: Vec<(Kind, usize)>,
    pub targets: Targets,
    pub settings: ScenarioSettings,
    pub cpu: CpuSides,
    /// The store's live sessions and its backend's memory, kept current by the stack (or
    /// never).
    pub gauges: Arc<StoreGauges>,
    pub stack_connections: StackConnections,
    /// The stack's processes whose memory is read each second.
    pub stack_memory: StackMemory,
    pub progress: &'a indicatif::ProgressBar,
    /// Faults to inject, timed from the start of the measured run, and what they act on
    /// (with a warm-up, only a fixed one: see `Drive::fault_origin`).
    pub faults: Vec<FaultSpec>,
    pub controls: Controls,
    /// Where the measured run's interval logs go (`None`: none are written).
    pub hlog_dir: Option<PathBuf>,
    /// The warm-up at the start of the attack.
    pub warm_up: WarmUpPlan,
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
    /// Wall-clock time of the measured run's zero (after the warm-up), seconds since the epoch.
    pub started_unix: f64,
    /// The timeline's seconds that rates are taken over.
    pub window: Window,
    /// What the interval logs hold (`None` without logs).
    pub intervals: Option<Written>,
    /// Users asked for and started, and after how long (seconds from the attack's start) the
    /// last one started.
    pub users_planned: usize,
    pub users_started: u64,
    pub ramp_up: Duration,
    pub all_started_after: Option<f64>,
    /// The generator's resident memory just before the users started, bytes.
    pub rss_before: Option<u64>,
    /// What failed late in the run (the attack, the interval logs), one sentence each: the
    /// results are written all the same, with these named in them.
    pub problems: Vec<String>,
}

impl Drive<'_> {
    /// Faults count from the measured run's zero, so a run with faults has a fixed warm-up:
    /// their moments are known before the attack starts.
    fn fault_origin(&self, origin: Instant) -> RunResult<Instant> {
        crate::error::ensure!(
            self.faults.is_empty() || self.warm_up.rule.is_none(),
            "a run with faults warms up for a fixed time (their moments count from the end of \
             the warm-up); the settle rule is off with --fault"
        );
        Ok(origin + Duration::from_secs(self.warm_up.limit_seconds))
    }
}

/// Runs the attack on the current runtime (the generator's) and measures it.
pub async fn drive(drive: Drive<'_>) -> RunResult<Measured> {
    let generator_threads = tokio::runtime::Handle::current().metrics().num_workers();
    // The attack's start: the warm-up's seconds count from here, the measured run's from the
    // end of the warm-up (the clock), and so do the faults' moments.
    let origin = Instant::now();
    let started_at = SystemTime::now();
    let clock = Arc::new(MeasureClock::default());
    if drive.warm_up.is_none() {
        // Set before any user starts, so none of them counts its first samples as a warm-up's.
        clock.start(origin, started_at);
    }
    let board = Arc::new(FaultBoard::new(drive.fault_origin(origin)?, &drive.faults));
    let (logger, sink) = match drive.hlog_dir {
        Some(dir) => {
            let interval = crate::measure::interval_log::interval_for(drive.plan.run_time);
            let (logger, sink) =
                IntervalLogger::start(dir, host_name(), Arc::clone(&clock), interval)
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
        Arc::clone(&clock),
        Shards::for_threads(generator_threads),
        drive.plan.users,
    ));
    // Without a warm-up rates skip a long ramp, as they always have; with one, every user
    // started during it.
    let window = if drive.warm_up.is_none() {
        Window::after_ramp(drive.plan.ramp_up, drive.plan.run_time)
    } else {
        Window::from(drive.plan.run_time)
    };
    // How long the load goes on once measuring starts: without a warm-up, the ramp and the run
    // time from the attack's start, as it always has; with one, the run time.
    let measured_for = if drive.warm_up.is_none() {
        drive.plan.ramp_up + drive.plan.run_time
    } else {
        drive.plan.run_time
    };
    let (measuring, zero) = tokio::sync::oneshot::channel();
    let lag = histogram().into_sync();
    let probe = lag::spawn(lag.recorder());
    let host = run.targets.base(run.targets.store).to_owned();
    // Goose's own end is a backstop past the warm-up's limit; the run's end comes first.
    let goose_plan = AttackPlan {
        run_time: Duration::from_secs(drive.warm_up.limit_seconds) + drive.plan.run_time,
        ..drive.plan.clone()
    };
    let attack = plan::build(&goose_plan, &drive.kinds, &run, &host)?;
    let sampler = Sampler::start(SamplerInputs {
        totals: {
            let run = Arc::clone(&run);
            Box::new(move || run.live.totals())
        },
        users: {
            let run = Arc::clone(&run);
            Box::new(move || u64::from(run.users_started()))
        },
        planned_users: drive.plan.users as u64,
        latency: {
            let run = Arc::clone(&run);
            Box::new(move |into| run.shards.take_second(into))
        },
        lag,
        cpu: CpuMeter::new(drive.cpu),
        gauges: drive.gauges,
        stack_connections: drive.stack_connections,
        stack_memory: drive.stack_memory,
        progress: drive.progress.clone(),
        run_time: measured_for,
        origin,
        started: started_at,
        warm_up: drive.warm_up,
        clock: Arc::clone(&clock),
        measuring: Some(measuring),
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
    // It comes `measured_for` after measuring started (the sampler says when).
    let ender = run.end.end_after(zero, measured_for);
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
    let elapsed_seconds = clock
        .zero()
        .map_or(started, |zero| zero.max(started))
        .elapsed()
        .as_secs_f64();
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
    let totals = match &sampled.warm_up {
        Some(warm_up) => {
            if warm_up.ended_by.is_none() {
                problems.push(
                    "the load ended before its warm-up did: nothing after the warm-up was \
                     measured"
                        .to_owned(),
                );
            }
            run.live.totals().since(&warm_up.totals)
        }
        None => run.live.totals(),
    };
    Ok(Measured {
        merged: run.merged(),
        totals,
        elapsed_seconds,
        generator_threads,
        fault_moments: board.moments(),
        fault_problems,
        started_unix: clock
            .wall()
            .unwrap_or(started_at)
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64()),
        window,
        sampled,
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
