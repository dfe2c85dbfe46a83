//! A load run through the HTTP stack, as a story: start the stack (or check `--target`), prefill,
//! drive the goose attack while the sampler watches, assemble and write `results.json`, check
//! the thresholds, stop the stack, render the report.

use crate::args::RunArgs;
use crate::attack::{AttackPlan, Kind};
use crate::calibrate;
use crate::collect;
use crate::context::{ScenarioSettings, Targets};
use crate::fault::inject::Controls;
use crate::login::LoginSettings;
use crate::measure::{self, Drive};
use crate::stack::Stack;
use crate::thresholds;
use crate::timeline::UNKNOWN;
use anyhow::Context as _;
use reports::results::LoadRunResults;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
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

/// The workspace's `reports/` folder, wherever the command is run from.
pub fn default_reports_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../reports"))
}

/// A new run directory's name: the time, to the second.
pub fn timestamp() -> String {
    jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// Runs the load into a new `<reports dir>/<timestamp>/`, with its own progress bar (hidden
/// with `--quiet` or when stderr is not a terminal).
pub async fn execute(args: &RunArgs) -> anyhow::Result<RunOutcome> {
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

/// The bar a run (or a matrix of runs) advances once a second: `seconds` long in all.
pub fn progress_bar(seconds: u64, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(seconds);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix:>10} [{elapsed_precise}] {wide_bar} {pos}/{len} s  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// When the load starts once the run is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    AtOnce,
    /// A worker of a run: it says it is ready and waits for the word (the start barrier).
    OnGo,
}

/// Runs the load on the current runtime (the generator's), writes `results.json` (and goose's
/// reports, when asked for) into `run_dir`, and renders the run's own report there. With
/// `--workers`, the load comes from worker processes and their runs are merged.
pub async fn execute_in(
    args: &RunArgs,
    run_dir: &Path,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<RunOutcome> {
    if args.workers > 1 {
        return crate::workers::execute(args, run_dir, progress).await;
    }
    execute_one(args, run_dir, progress, Start::AtOnce).await
}

/// One generator's run: this process makes all of the load (or, a worker, its share).
pub async fn execute_one(
    args: &RunArgs,
    run_dir: &Path,
    progress: &indicatif::ProgressBar,
    start: Start,
) -> anyhow::Result<RunOutcome> {
    args.validate()?;
    let login = args.login_settings()?;
    let started_at = jiff::Timestamp::now();
    let mut stack = Stack::start(args).await?;
    let targets = stack.targets()?.with_tls(&args.tls_options())?;
    announce(args, &targets, progress);
    targets.check_tls().await?;
    let provider_logout = crate::login::provider::end_session(&targets).await;
    stack.prefill(args.prefill_sessions).await?;
    let sessions_alive = Arc::new(AtomicU64::new(UNKNOWN));
    stack.count_sessions(&sessions_alive, !args.faults.is_empty());
    std::fs::create_dir_all(run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    let run_dir = run_dir
        .canonicalize()
        .unwrap_or_else(|_| run_dir.to_owned());

    if start == Start::OnGo {
        crate::workers::ready_and_wait().await?;
    }
    let kinds: Vec<(Kind, usize)> = args
        .scenarios()
        .iter()
        .map(|(name, weight)| (Kind::Load(*name), *weight))
        .collect();
    if !args.warm_up().is_zero() {
        // The same load, unmeasured: connections, caches and the store warm up, and what it
        // measured is dropped.
        measure::drive(Drive {
            plan: AttackPlan {
                users: args.users,
                run_time: args.warm_up(),
                wait: args.wait,
                goose_reports: None,
            },
            kinds: kinds.clone(),
            targets: targets.clone(),
            settings: scenario_settings(args, &login, &provider_logout),
            cpu: stack.cpu_sides(),
            sessions_alive: Arc::clone(&sessions_alive),
            progress,
            faults: Vec::new(),
            controls: Controls::default(),
            hlog_dir: None,
        })
        .await
        .context("the warm-up")?;
    }
    let measured = measure::drive(Drive {
        plan: AttackPlan {
            users: args.users,
            run_time: args.run_time(),
            wait: args.wait,
            goose_reports: args.goose_reports.then_some(run_dir.as_path()),
        },
        kinds,
        targets: targets.clone(),
        settings: scenario_settings(args, &login, &provider_logout),
        cpu: stack.cpu_sides(),
        sessions_alive,
        progress,
        faults: args.faults.clone(),
        controls: stack.fault_controls(),
        hlog_dir: Some(run_dir.join(reports::hlog::HLOG_DIR)),
    })
    .await?;

    let reports_dir = args.reports_dir.clone().unwrap_or_else(default_reports_dir);
    let results = collect::results(collect::Inputs {
        args,
        stack: &stack,
        targets: &targets,
        measured: &measured,
        started_at,
        calibration: calibrate::load(&reports_dir),
        goose_reports: if args.goose_reports {
            vec!["goose-report.html".into(), "goose-report.json".into()]
        } else {
            Vec::new()
        },
    });
    reports::results::write_load(&run_dir, &results)?;
    let violations = thresholds::check(args, &results);
    stack.shutdown().await?;
    let report = reports::render::render_run(&run_dir, &results)
        .with_context(|| format!("rendering the report in {}", run_dir.display()))?;
    Ok(RunOutcome {
        run_dir,
        report,
        results,
        violations,
    })
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
        paused_between_transactions: args.wait.is_some(),
        first_user: args.first_user,
    }
}
