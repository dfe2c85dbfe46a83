//! One generator's load run through the HTTP stack, as a story: start the stack (or check
//! `--target`), prefill, drive the goose attack while the sampler watches, assemble and write
//! `results.json`, check the thresholds, stop the stack, render the report.

use crate::attack::measured::{self, Drive};
use crate::attack::plan::{AttackPlan, Kind};
use crate::coordinate::link::Link;
use crate::drivers::calibrate;
use crate::error::RunResult;
use crate::error::While as _;
use crate::judge::collect;
use crate::judge::thresholds;
use crate::measure::cgroup::CgroupCpu;
use crate::measure::gauges::StoreGauges;
use crate::setup::args::RunArgs;
use crate::setup::costs::{self, CostMeter, CostReading};
use crate::setup::output;
use crate::setup::stack::Stack;
use crate::users::context::{ScenarioSettings, Targets};
use crate::users::login::LoginSettings;
use reports::results::LoadRunResults;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a run produced.
#[derive(Debug)]
pub struct RunOutcome {
    pub run_dir: PathBuf,
    /// The run's rendered report (`index.html` in the run directory).
    pub report: PathBuf,
    pub results: LoadRunResults,
    /// Threshold violations, one sentence each.
    pub violations: Vec<String>,
}

/// When the load starts once the run is set up.
#[derive(Debug, Clone, Copy)]
pub enum Start<'a> {
    AtOnce,
    /// A worker of a coordinated run: it says it is ready and starts at the release.
    Coordinated(&'a Link),
}

/// One generator's run: this process makes all of the load (or, a worker, its share).
pub async fn execute_one(
    args: &RunArgs,
    run_dir: &Path,
    progress: &indicatif::ProgressBar,
    start: Start<'_>,
) -> RunResult<RunOutcome> {
    args.validate()?;
    // Refused here, with the arithmetic, rather than out of descriptors once users have started.
    let in_process = args.stack_in_process();
    crate::setup::capacity::Needs::of(args, in_process).check(
        mock_services::limits::raise_open_files(),
        crate::setup::capacity::memory_available(),
    )?;
    let login = args.login_settings()?;
    let started_at = jiff::Timestamp::now();
    let stack = Stack::start(args).await?;
    let targets = stack.targets()?.with_tls(&args.tls_options())?;
    let loopback_v4 = targets.origins.sites().all(|(_, site)| {
        site.instances().iter().all(|origin| {
            origin
                .addrs
                .iter()
                .all(|addr| addr.ip().is_loopback() && addr.is_ipv4())
        })
    });
    let (source_addrs, chosen) =
        crate::setup::capacity::source_addrs(args, loopback_v4, in_process);
    if let Some(chosen) = chosen {
        progress.println(chosen);
    }
    announce(args, &targets, progress);
    targets.check_tls().await?;
    let provider_logout = crate::users::login::provider::end_session(&targets).await;
    stack.prefill(args.prefill_sessions).await?;
    let gauges = StoreGauges::unknown();
    let gauge_watch = stack.watch_gauges(&gauges, &targets, !args.faults.is_empty());
    std::fs::create_dir_all(run_dir).doing_with(|| format!("creating {}", run_dir.display()))?;
    let run_dir = run_dir
        .canonicalize()
        .unwrap_or_else(|_| run_dir.to_owned());

    // Read before a coordinated worker waits for its release, so that the release starts
    // every worker's load at once.
    let cost_meter = stack.cost_meter(&targets);
    let costs_before = match &cost_meter {
        Some(meter) => Some(meter.read().await),
        None => None,
    };
    // The stack's processes by the services they serve, when they told them.
    let stack_memory = stack.memory(
        &costs_before
            .as_ref()
            .and_then(|reading| reading.as_ref().ok())
            .map(CostReading::process_names)
            .unwrap_or_default(),
    );
    let clock = match start {
        Start::AtOnce => None,
        Start::Coordinated(link) => Some(link.ready_and_wait().await?),
    };
    let kinds: Vec<(Kind, usize)> = args
        .scenarios()
        .iter()
        .map(|(name, weight)| (Kind::Load(*name), *weight))
        .collect();
    let cgroup_before = CgroupCpu::read();
    let measured = measured::drive(Drive {
        plan: AttackPlan {
            users: args.users,
            ramp_up: args.ramp_up(),
            run_time: args.run_time(),
            goose_reports: args.goose_reports.then_some(run_dir.as_path()),
        },
        kinds,
        targets: targets.clone(),
        settings: scenario_settings(args, &login, &provider_logout, &source_addrs),
        cpu: stack.cpu_sides(),
        gauges,
        stack_connections: stack.connections(),
        stack_memory,
        progress,
        faults: args.faults.clone(),
        controls: stack.fault_controls(),
        hlog_dir: Some(run_dir.join(reports::hlog::HLOG_DIR)),
        // The warm-up is the attack's first seconds: its users stay logged in into the
        // measured run.
        warm_up: args.warm_up_plan(),
    })
    .await?;
    let costs = match (&cost_meter, costs_before) {
        (Some(meter), Some(before)) => costs_since(meter, before, progress).await,
        _ => None,
    };
    let throttling = cgroup_before
        .zip(CgroupCpu::read())
        .and_then(|(before, after)| after.since(&before));

    let reports_dir = args
        .reports_dir
        .clone()
        .unwrap_or_else(output::default_reports_dir);
    let results = collect::results(collect::Inputs {
        args,
        stack: &stack,
        targets: &targets,
        measured: &measured,
        started_at,
        calibration: calibrate::load(&reports_dir),
        clock,
        throttling,
        goose_reports: if args.goose_reports {
            vec!["goose-report.html".into(), "goose-report.json".into()]
        } else {
            Vec::new()
        },
        costs,
    });
    reports::results::write_load(&run_dir, &results)?;
    let mut violations = thresholds::check(args, &results);
    // A run that met a limit late wrote what it measured; it still does not pass.
    violations.extend(
        results
            .problems
            .iter()
            .map(|problem| format!("the run met a problem: {problem}")),
    );
    drop(gauge_watch);
    stack.shutdown().await?;
    let report = reports::render::render_run(&run_dir, &results)
        .doing_with(|| format!("rendering the report in {}", run_dir.display()))?;
    Ok(RunOutcome {
        run_dir,
        report,
        results,
        violations,
    })
}

/// The stack's costs from `before` to now; `None` when they could not be read (a stack of
/// someone else's services counts nothing), said above the progress bar, not fatal.
async fn costs_since(
    meter: &CostMeter,
    before: Result<CostReading, String>,
    progress: &indicatif::ProgressBar,
) -> Option<vocabulary::costs::Costs> {
    let costs = match before {
        Ok(before) => meter
            .read()
            .await
            .and_then(|after| costs::between(&before, &after)),
        Err(error) => Err(error),
    };
    costs
        .map_err(|error| {
            progress.println(format!(
                "the stack's costs by component are not recorded: {error}"
            ));
        })
        .ok()
}

/// Says where the run's load goes, before it starts: every host, with users and rate.
fn announce(args: &RunArgs, targets: &Targets, progress: &indicatif::ProgressBar) {
    let rate = match args.rate {
        Some(rate) => format!("{rate} iterations/s"),
        None => "as fast as answered (no --rate)".to_owned(),
    };
    let mut lines = vec![format!(
        "load goes to these hosts, from {} users at {rate}{}:",
        args.users,
        if args.insecure {
            "; TLS certificates NOT verified (--insecure)"
        } else {
            ""
        }
    )];
    lines.extend(
        targets
            .describe()
            .into_iter()
            .map(|line| format!("  {line}")),
    );
    let generator_threads = tokio::runtime::Handle::current().metrics().num_workers();
    lines.push(match &args.cores {
        Some(split) => format!(
            "generator: {generator_threads} thread(s) on CPUs {:?}; stack: {} thread(s) on \
                 CPUs {:?} (pinned; --pin off leaves placement to the kernel)",
            split.generator,
            args.stack_threads(),
            split.stack
        ),
        None => format!("generator: {generator_threads} thread(s), not pinned"),
    });
    let text = lines.join("\n");
    // Above the progress bar when there is one, else on stderr.
    if progress.is_hidden() {
        eprintln!("{text}");
    } else {
        progress.println(text);
    }
}

/// How the scenarios behave in this run.
fn scenario_settings(
    args: &RunArgs,
    login: &LoginSettings,
    provider_logout: &Option<bytes::Bytes>,
    source_addrs: &Option<crate::http::SourceAddrs>,
) -> ScenarioSettings {
    ScenarioSettings {
        pacing_interval: args
            .rate
            .map(|rate| Duration::from_secs_f64(args.users as f64 / rate)),
        expiry_wait: args.store_idle_timeout + Duration::from_millis(300),
        cart_reads: args.cart_reads,
        stolen_window: args.stolen_window,
        replay_interval: args.replay_interval,
        request_timeout: args.request_timeout,
        goose_metrics: args.goose_reports,
        login: login.clone(),
        provider_logout: provider_logout.clone(),
        think: args.wait,
        keep_alive_idle: args.keep_alive_idle(),
        source_addrs: source_addrs.clone(),
        first_user: args.first_user,
    }
}
