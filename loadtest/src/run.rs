//! A load run through the HTTP stack: start the stack in-process (or point at one on loopback),
//! prefill sessions, run the goose scenarios, and write `results.json` with goose's reports.

use crate::browser;
use crate::environment;
use crate::recorder::{self, RunSettings};
use crate::scenarios::{cart_browsing, login_sso_journey, stolen_session};
use anyhow::Context as _;
use goose::config::GooseConfiguration;
use goose::prelude::*;
use mock_services::cli::BackendArgs;
use mock_services::serve::{RunningStack, ServeArgs};
use mock_services::session::SessionStore;
use reports::results::{
    LoadRunConfig, LoadRunResults, Pacing, SCHEMA_VERSION, StolenSessionResults, TimelinePoint,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The scenarios, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScenarioName {
    Journey,
    Cart,
    Stolen,
}

impl ScenarioName {
    pub fn goose_name(self) -> &'static str {
        match self {
            ScenarioName::Journey => "login_sso_journey",
            ScenarioName::Cart => "cart_browsing",
            ScenarioName::Stolen => "stolen_session",
        }
    }
}

/// `name[:weight]`, e.g. `journey:2`.
pub fn parse_scenario(text: &str) -> Result<(ScenarioName, usize), String> {
    let (name, weight) = text.split_once(':').unwrap_or((text, "1"));
    let scenario = match name {
        "journey" | "login_sso_journey" => ScenarioName::Journey,
        "cart" | "cart_browsing" => ScenarioName::Cart,
        "stolen" | "stolen_session" => ScenarioName::Stolen,
        other => {
            return Err(format!(
                "unknown scenario {other:?}: use journey, cart or stolen"
            ));
        }
    };
    let weight: usize = weight
        .parse()
        .map_err(|_| format!("weight of {name} must be a whole number"))?;
    if weight == 0 {
        return Err(format!(
            "weight of {name} must be at least 1 (leave the scenario out instead)"
        ));
    }
    Ok((scenario, weight))
}

/// `MIN..MAX` (e.g. `100ms..1s`) or one duration: goose's pause after each transaction.
pub fn parse_wait(text: &str) -> Result<(Duration, Duration), String> {
    let (low, high) = text.split_once("..").unwrap_or((text, text));
    let parse = |part: &str| {
        humantime::parse_duration(part.trim()).map_err(|error| format!("{part:?}: {error}"))
    };
    let (low, high) = (parse(low)?, parse(high)?);
    if low > high {
        return Err(format!("{text:?}: the minimum is above the maximum"));
    }
    Ok((low, high))
}

/// `NAME=MS`: a p99 limit for a hop or flow.
pub fn parse_p99_limit(text: &str) -> Result<(String, f64), String> {
    let (name, ms) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("{text:?}: expected NAME=MS"))?;
    let ms: f64 = ms
        .parse()
        .map_err(|_| format!("{text:?}: MS must be a number"))?;
    Ok((name.to_owned(), ms))
}

/// The load run's flags.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Run against a store app already running on loopback (its base URL) instead of an
    /// in-process stack; see --target-idp and --target-forums.
    #[arg(long)]
    pub target: Option<String>,
    /// The IdP of --target.
    #[arg(long, default_value = "http://127.0.0.1:9010")]
    pub target_idp: String,
    /// The forums app of --target.
    #[arg(long, default_value = "http://127.0.0.3:9012")]
    pub target_forums: String,
    /// Concurrent simulated users.
    #[arg(long, default_value_t = 32)]
    pub users: usize,
    /// Open model: target iterations per second across all users (each user paced at
    /// users/rate). Without it the run is closed: each user starts its next iteration at once.
    #[arg(long)]
    pub rate: Option<f64>,
    /// How long the measured run lasts (e.g. 30s, 2m; at most 1h).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub run_time: Duration,
    /// Scenario and weight, repeatable: journey, cart, stolen [default: journey:2 cart:2 stolen:1].
    #[arg(long = "scenario", value_parser = parse_scenario)]
    pub scenarios: Vec<(ScenarioName, usize)>,
    /// Pause after each transaction, `MIN..MAX` or one duration (goose's wait time) [default:
    /// none: each user goes on at once, or at its pace with --rate].
    #[arg(long, value_parser = parse_wait)]
    pub wait: Option<(Duration, Duration)>,
    /// The store's session idle timeout (the in-process stack's, or --target's): the journey
    /// waits it out to reach the SSO relogin.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub store_idle_timeout: Duration,
    /// The store's session absolute timeout (in-process stack).
    #[arg(long, default_value = "8h", value_parser = humantime::parse_duration)]
    pub store_absolute_timeout: Duration,
    /// Cart page views per journey (one cart write besides).
    #[arg(long, default_value_t = 3)]
    pub cart_reads: u32,
    /// How long the stolen-session scenario keeps replaying one cookie.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub stolen_window: Duration,
    /// Time between the attacker's replays.
    #[arg(long, default_value = "250ms", value_parser = humantime::parse_duration)]
    pub replay_interval: Duration,
    /// Live sessions put in the store app's backend before the run (in-process only).
    #[arg(long, default_value_t = 0)]
    pub prefill_sessions: u64,
    /// The in-process IdP's signing algorithm.
    #[arg(long, default_value = "rs256")]
    pub signing_alg: String,
    /// Exit non-zero when the share of failed requests exceeds this (0 to 1).
    #[arg(long)]
    pub max_error_rate: Option<f64>,
    /// Exit non-zero when this hop's or flow's raw p99 exceeds MS milliseconds; repeatable.
    #[arg(long = "max-p99", value_parser = parse_p99_limit)]
    pub max_p99: Vec<(String, f64)>,
    /// Where run directories go (one `<timestamp>/` per run) [default: the workspace's
    /// `reports/` folder].
    #[arg(long)]
    pub reports_dir: Option<PathBuf>,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
}

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

/// Refuses any target but loopback.
fn require_loopback(url: &str, flag: &str) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("{flag} {url}"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    anyhow::ensure!(
        loopback,
        "{flag} {url}: ssobench only sends load to loopback (127.0.0.0/8, [::1], localhost)"
    );
    Ok(())
}

/// Runs the load into a new `<reports dir>/<timestamp>/`, with its own progress bar (hidden
/// with `--quiet` or when stderr is not a terminal).
pub async fn execute(args: &RunArgs) -> anyhow::Result<RunOutcome> {
    let run_dir = args
        .reports_dir
        .clone()
        .unwrap_or_else(default_reports_dir)
        .join(
            jiff::Timestamp::now()
                .strftime("%Y%m%dT%H%M%SZ")
                .to_string(),
        );
    let progress = progress_bar(args.run_time.as_secs(), args.quiet);
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

/// Runs the load, writes `results.json` and goose's reports into `run_dir`, and renders the
/// run's own report there. `progress` advances one step per measured second.
pub async fn execute_in(
    args: &RunArgs,
    run_dir: &Path,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<RunOutcome> {
    anyhow::ensure!(
        args.run_time <= Duration::from_secs(3600),
        "--run-time is at most 1h"
    );
    anyhow::ensure!(args.users >= 1, "--users must be at least 1");
    if let Some(rate) = args.rate {
        anyhow::ensure!(
            rate > 0.0 && rate.is_finite(),
            "--rate must be a positive number"
        );
    }
    let scenarios = if args.scenarios.is_empty() {
        vec![
            (ScenarioName::Journey, 2),
            (ScenarioName::Cart, 2),
            (ScenarioName::Stolen, 1),
        ]
    } else {
        args.scenarios.clone()
    };
    let started_at = jiff::Timestamp::now();

    let stack = match &args.target {
        Some(target) => {
            anyhow::ensure!(
                args.prefill_sessions == 0,
                "--prefill-sessions needs the in-process stack (no --target)"
            );
            for (url, flag) in [
                (target.as_str(), "--target"),
                (&args.target_idp, "--target-idp"),
                (&args.target_forums, "--target-forums"),
            ] {
                require_loopback(url, flag)?;
            }
            None
        }
        None => Some(start_stack(args).await?),
    };
    let (idp_url, store_url, forums_url) = match (&stack, &args.target) {
        (Some(stack), _) => (
            stack.idp_url.clone().unwrap_or_default(),
            stack.store_url.clone().unwrap_or_default(),
            stack.forums_url.clone().unwrap_or_default(),
        ),
        (None, Some(target)) => (
            args.target_idp.trim_end_matches('/').to_owned(),
            target.trim_end_matches('/').to_owned(),
            args.target_forums.trim_end_matches('/').to_owned(),
        ),
        (None, None) => unreachable_target(),
    };
    if let Some(store) = stack.as_ref().and_then(|s| s.store.as_ref()) {
        prefill(store.sessions(), args.prefill_sessions).await?;
    }

    let pacing_interval = args
        .rate
        .map(|rate| Duration::from_secs_f64(args.users as f64 / rate));
    let run = recorder::reset(RunSettings {
        idp_url,
        store_url: store_url.clone(),
        forums_url,
        pacing_interval,
        expiry_wait: args.store_idle_timeout + Duration::from_millis(300),
        cart_reads: args.cart_reads,
        stolen_window: args.stolen_window,
        replay_interval: args.replay_interval,
    });

    std::fs::create_dir_all(run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    let run_dir = run_dir
        .canonicalize()
        .unwrap_or_else(|_| run_dir.to_owned());

    let sessions = stack
        .as_ref()
        .and_then(|s| s.store.as_ref())
        .map(|store| store.sessions().clone());
    let (stop_sampler, stopped) = tokio::sync::watch::channel(false);
    let sampler = tokio::spawn(sample_timeline(
        Arc::clone(&run),
        sessions,
        progress.clone(),
        args.run_time,
        stopped,
    ));
    let measured = Instant::now();
    let attack = build_attack(args, &scenarios, &store_url, &run_dir)?;
    let goose_result = attack.execute().await;
    let elapsed = measured.elapsed().as_secs_f64();
    let _ = stop_sampler.send(true);
    let timeline = sampler.await.context("the timeline sampler failed")?;
    goose_result.context("the goose run failed")?;

    let results = collect(
        args,
        &scenarios,
        &run,
        started_at,
        elapsed,
        timeline,
        stack.as_ref(),
    );
    reports::results::write_load(&run_dir, &results)?;
    let violations = check_thresholds(args, &results);
    if let Some(stack) = stack {
        stack.shutdown().await?;
    }
    let report = reports::render::render_run(&run_dir, &results)
        .with_context(|| format!("rendering the report in {}", run_dir.display()))?;
    Ok(RunOutcome {
        run_dir,
        report,
        results,
        violations,
    })
}

fn unreachable_target() -> ! {
    panic!("either an in-process stack or --target is always set")
}

async fn start_stack(args: &RunArgs) -> anyhow::Result<RunningStack> {
    let idle = humantime::format_duration(args.store_idle_timeout).to_string();
    let absolute = humantime::format_duration(args.store_absolute_timeout).to_string();
    let mut flags: Vec<String> = [
        "--idp-addr",
        "127.0.0.1:0",
        "--store-addr",
        "127.0.0.2:0",
        "--forums-addr",
        "127.0.0.3:0",
        "--idle-timeout",
        &idle,
        "--absolute-timeout",
        &absolute,
        "--signing-alg",
        &args.signing_alg,
        "--backend",
        args.backend.backend.name(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(url) = &args.backend.redis_url {
        flags.extend(["--redis-url".to_owned(), url.clone()]);
    }
    let serve = ServeArgs::from_flags(flags.iter().map(String::as_str))?;
    mock_services::serve::start(&serve).await
}

/// Creates `count` live sessions directly in the store's backend, 64 at a time.
async fn prefill(store: &mock_services::session::AnyStore, count: u64) -> anyhow::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let started = Instant::now();
    mock_services::session::prefill(store, usize::try_from(count)?, 64).await?;
    eprintln!("prefilled {count} sessions in {:.2?}", started.elapsed());
    Ok(())
}

/// `transaction!` takes only a bare identifier; this takes a path.
macro_rules! tx {
    ($function:path) => {
        Transaction::new(Arc::new(move |user| Box::pin($function(user))))
    };
}

fn build_attack(
    args: &RunArgs,
    scenarios: &[(ScenarioName, usize)],
    store_url: &str,
    run_dir: &Path,
) -> anyhow::Result<GooseAttack> {
    let mut config = GooseConfiguration::default();
    config.host = Some(store_url.to_owned());
    config.users = Some(args.users);
    config.increase_rate = Some(args.users.to_string());
    config.run_time = Some(format!("{}s", args.run_time.as_secs().max(1)));
    config.no_reset_metrics = true;
    config.no_print_metrics = true;
    config.no_telnet = true;
    config.quiet = 1;
    config.report_file = vec![
        run_dir.join("goose-report.html").display().to_string(),
        run_dir.join("goose-report.json").display().to_string(),
    ];
    let mut attack = GooseAttack::initialize_with_config(config)?;
    for (name, weight) in scenarios {
        let mut scenario = Scenario::new(name.goose_name()).set_weight(*weight)?;
        if let Some((low, high)) = args.wait {
            scenario = scenario.set_wait_time(low, high)?;
        }
        let scenario = match name {
            ScenarioName::Journey => scenario
                .register_transaction(tx!(browser::install).set_on_start())
                .register_transaction(tx!(login_sso_journey::iteration).set_name("journey"))
                .register_transaction(tx!(browser::flush).set_on_stop()),
            ScenarioName::Cart => scenario
                .register_transaction(tx!(cart_browsing::start).set_on_start())
                .register_transaction(
                    tx!(cart_browsing::view)
                        .set_name("view cart")
                        .set_weight(19)?,
                )
                .register_transaction(tx!(cart_browsing::add).set_name("add to cart"))
                .register_transaction(tx!(browser::flush).set_on_stop()),
            ScenarioName::Stolen => scenario
                .register_transaction(tx!(browser::install).set_on_start())
                .register_transaction(tx!(stolen_session::iteration).set_name("theft"))
                .register_transaction(tx!(browser::flush).set_on_stop()),
        };
        attack = attack.register_scenario(scenario);
    }
    Ok(attack)
}

/// Samples the counters once a second (the timeline) and advances the progress bar.
///
/// Nothing here waits on the system under test: the live-session count comes from
/// [`count_sessions`], which runs beside it, so a slow count cannot stretch a "second".
async fn sample_timeline(
    run: Arc<recorder::RunRecorder>,
    sessions: Option<mock_services::session::AnyStore>,
    progress: indicatif::ProgressBar,
    run_time: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<TimelinePoint> {
    let started = Instant::now();
    let alive = Arc::new(AtomicU64::new(UNKNOWN));
    let counter =
        sessions.map(|store| tokio::spawn(count_sessions(store, Arc::clone(&alive), stop.clone())));
    let mut timeline = Vec::new();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    let mut last = Counters::default();
    let mut seen_codes = std::collections::BTreeMap::<String, u64>::new();
    // Until the run ends (it drains in-flight iterations after the run time), or an hour past.
    for second in 1..=run_time.as_secs() + 3600 {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
        let now = Counters::read(&run);
        let percentiles = run.take_second();
        let codes = run
            .status_codes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let status_codes = codes
            .iter()
            .filter_map(|(code, &total)| {
                let before = seen_codes.get(code).copied().unwrap_or(0);
                (total > before).then(|| (code.clone(), total - before))
            })
            .collect();
        seen_codes = codes;
        let point = TimelinePoint {
            second,
            elapsed_seconds: started.elapsed().as_secs_f64(),
            requests: now.requests - last.requests,
            errors: now.errors - last.errors,
            logins: now.logins - last.logins,
            password_logins: now.password_logins - last.password_logins,
            iterations: now.iterations - last.iterations,
            store_sessions_alive: match alive.load(Ordering::Relaxed) {
                UNKNOWN => None,
                count => Some(count),
            },
            p50_us: percentiles.p50,
            p90_us: percentiles.p90,
            p99_us: percentiles.p99,
            p99_9_us: percentiles.p99_9,
            status_codes,
        };
        last = now;
        progress.inc(1);
        progress.set_message(format!(
            "{} req/s  {} logins/s  {} errors/s  p99 {:.1} ms",
            point.requests,
            point.logins,
            point.errors,
            percentiles.p99 / 1000.0
        ));
        timeline.push(point);
    }
    if let Some(counter) = counter {
        counter.abort();
    }
    timeline
}

/// `store_sessions_alive` not sampled yet (or the count failed).
const UNKNOWN: u64 = u64::MAX;

/// Keeps `alive` at the store's live-session count. In memory that is cheap and runs every
/// second; on Redis it is a SCAN over the keyspace on the app's own connection, which competes
/// with the measured traffic, so it runs every five seconds there.
async fn count_sessions(
    store: mock_services::session::AnyStore,
    alive: Arc<AtomicU64>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let every = if store.backend_name() == "redis" {
        Duration::from_secs(5)
    } else {
        Duration::from_secs(1)
    };
    loop {
        let count = store.live_count().await.unwrap_or(UNKNOWN);
        alive.store(count, Ordering::Relaxed);
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}

/// The run's cumulative counters at one instant.
#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    requests: u64,
    errors: u64,
    logins: u64,
    password_logins: u64,
    iterations: u64,
}

impl Counters {
    fn read(run: &recorder::RunRecorder) -> Self {
        Counters {
            requests: run.requests.load(Ordering::Relaxed),
            errors: run.errors.load(Ordering::Relaxed),
            logins: run.logins.load(Ordering::Relaxed),
            password_logins: run.password_logins.load(Ordering::Relaxed),
            iterations: run.iterations.load(Ordering::Relaxed),
        }
    }
}

fn collect(
    args: &RunArgs,
    scenarios: &[(ScenarioName, usize)],
    run: &recorder::RunRecorder,
    started_at: jiff::Timestamp,
    elapsed: f64,
    timeline: Vec<TimelinePoint>,
    stack: Option<&RunningStack>,
) -> LoadRunResults {
    let merged = run
        .merged
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let requests_total = run.requests.load(Ordering::Relaxed);
    let errors_total = run.errors.load(Ordering::Relaxed);
    let iterations = run.iterations.load(Ordering::Relaxed);
    let stolen = merged.stolen_usable.as_deref().cloned().unwrap_or_default();
    let stolen_row = stolen.row("stolen");
    let to_ms = |p: reports::results::Percentiles| reports::results::Percentiles {
        mean: p.mean / 1000.0,
        p50: p.p50 / 1000.0,
        p90: p.p90 / 1000.0,
        p99: p.p99 / 1000.0,
        p99_9: p.p99_9 / 1000.0,
        max: p.max / 1000.0,
    };
    let requests_per_second = steady_rate(&timeline, args.run_time, |p| p.requests);
    let logins_per_second = steady_rate(&timeline, args.run_time, |p| p.logins);
    let password_logins_per_second = steady_rate(&timeline, args.run_time, |p| p.password_logins);
    let achieved_rate = steady_rate(&timeline, args.run_time, |p| p.iterations);
    LoadRunResults {
        schema_version: SCHEMA_VERSION,
        kind: "load".into(),
        started_at: started_at.to_string(),
        config: LoadRunConfig {
            backend: args.backend.backend.name().into(),
            target: args.target.clone().unwrap_or_else(|| "in-process".into()),
            users: args.users,
            run_time_seconds: args.run_time.as_secs(),
            scenarios: scenarios
                .iter()
                .map(|(name, weight)| (name.goose_name().to_owned(), *weight))
                .collect(),
            target_rate: args.rate,
            store_idle_timeout_ms: args.store_idle_timeout.as_millis() as u64,
            store_absolute_timeout_ms: args.store_absolute_timeout.as_millis() as u64,
            prefill_sessions: args.prefill_sessions,
            wait_ms: args
                .wait
                .map(|(low, high)| (low.as_millis() as u64, high.as_millis() as u64)),
            cart_reads: args.cart_reads,
            stolen_window_ms: args.stolen_window.as_millis() as u64,
            replay_interval_ms: args.replay_interval.as_millis() as u64,
            signing_algorithm: if stack.is_some() {
                args.signing_alg.to_uppercase()
            } else {
                "unknown (--target)".into()
            },
        },
        environment: environment::capture(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        ),
        hops: merged
            .hops
            .iter()
            .map(|(name, latency)| latency.row(name))
            .collect(),
        flows: merged
            .flows
            .iter()
            .map(|(name, latency)| latency.row(name))
            .collect(),
        elapsed_seconds: elapsed,
        requests_total,
        requests_per_second,
        errors_total,
        error_rate: if requests_total == 0 {
            0.0
        } else {
            errors_total as f64 / requests_total as f64
        },
        logins_per_second,
        password_logins_per_second,
        status_codes: run
            .status_codes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone(),
        error_kinds: run
            .error_kinds
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone(),
        timeline,
        pacing: Pacing {
            target_rate: args.rate,
            achieved_rate,
            iterations,
            late: run.late.load(Ordering::Relaxed),
            dropped: run.dropped.load(Ordering::Relaxed),
        },
        stolen_session: StolenSessionResults {
            observations: stolen_row.count,
            usable_ms: to_ms(stolen_row.raw_us),
            window_ms: args.stolen_window.as_millis() as u64,
            outlived_window: run.stolen_outlived.load(Ordering::Relaxed),
            refused_after_logout: run.stolen_refused_after_logout.load(Ordering::Relaxed),
            served_after_logout: run.stolen_served_after_logout.load(Ordering::Relaxed),
        },
        goose_reports: vec!["goose-report.html".into(), "goose-report.json".into()],
    }
}

/// Rate over the configured run time: the counts of the timeline's first `run_time` samples
/// divided by the time those samples actually span (measured, not assumed to be one second
/// each). The drain at the end, when goose lets in-flight iterations finish, is left out.
pub fn steady_rate(
    timeline: &[TimelinePoint],
    run_time: Duration,
    value: impl Fn(&TimelinePoint) -> u64,
) -> f64 {
    let samples = (run_time.as_secs() as usize).min(timeline.len());
    let Some(last) = samples.checked_sub(1).and_then(|i| timeline.get(i)) else {
        return 0.0;
    };
    let span = last.elapsed_seconds;
    if span <= 0.0 {
        return 0.0;
    }
    timeline.iter().take(samples).map(value).sum::<u64>() as f64 / span
}

/// The `--max-error-rate` and `--max-p99` rules that failed.
pub fn check_thresholds(args: &RunArgs, results: &LoadRunResults) -> Vec<String> {
    let mut violations = Vec::new();
    if let Some(limit) = args.max_error_rate
        && results.error_rate > limit
    {
        violations.push(format!(
            "error rate {:.4} exceeds --max-error-rate {limit}",
            results.error_rate
        ));
    }
    for (name, limit_ms) in &args.max_p99 {
        let row = results
            .hops
            .iter()
            .chain(&results.flows)
            .find(|row| &row.name == name);
        match row {
            Some(row) if row.raw_us.p99 / 1000.0 > *limit_ms => violations.push(format!(
                "{name}: p99 {:.2} ms exceeds --max-p99 {limit_ms} ms",
                row.raw_us.p99 / 1000.0
            )),
            Some(_) => {}
            None => violations.push(format!("--max-p99 {name}: no hop or flow of that name ran")),
        }
    }
    violations
}
