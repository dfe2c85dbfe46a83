//! `loadtest calibrate`: this machine's generator ceiling. The same hop path, through goose
//! users as a run drives it, against a trivial in-process endpoint (no session work, on the
//! stack's own threads) for a few seconds; requests/s per generator core is the ceiling. The
//! figure is kept under `<reports>/calibration/<machine>.json` and shown beside every later run
//! on that machine.

use crate::attack::measured::{self, Drive};
use crate::attack::plan::{AttackPlan, Kind};
use crate::error::While as _;
use crate::error::{RunResult, ensure};
use crate::measure::cpu::CpuSides;
use crate::measure::timeline::{steady_cores, steady_rate};
use crate::setup::args::default_threads;
use crate::setup::output::{default_reports_dir, progress_bar};
use crate::setup::stack::{STACK_THREAD_NAME, StackRuntime};
use crate::users::context::{ScenarioSettings, Targets};
use crate::users::scenarios::calibration;
use reports::results::Calibration;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `loadtest calibrate`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct CalibrateArgs {
    /// Concurrent users (connections) driving the trivial endpoint.
    #[arg(long, default_value_t = 32)]
    pub users: usize,
    /// How long to measure (at least 2s, at most 1m).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub run_time: Duration,
    /// Worker threads of the trivial server's runtime [default: half the cores, at least 1].
    #[arg(long)]
    pub server_threads: Option<usize>,
    /// Where `calibration/` goes [default: the workspace's `reports/` folder].
    #[arg(long)]
    pub reports_dir: Option<PathBuf>,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
}

/// What calibration measured, and where it was kept.
#[derive(Debug)]
pub struct Calibrated {
    pub calibration: Calibration,
    pub file: PathBuf,
    /// Generator and server CPU over the measured time, cores.
    pub generator_cpu_cores: f64,
    pub server_cpu_cores: Option<f64>,
}

impl Calibrated {
    /// Prints what `loadtest calibrate` measured and where it was kept.
    pub fn print(&self) {
        let calibration = &self.calibration;
        println!(
            "generator ceiling: {:.0} requests/s per generator core ({:.0} requests/s on {:.2} cores, {} thread(s), {} users{})",
            calibration.requests_per_core,
            calibration.requests_per_second,
            self.generator_cpu_cores,
            calibration.generator_threads,
            calibration.users,
            self.server_cpu_cores.map_or(String::new(), |cores| format!(
                "; the trivial server used {cores:.2} cores"
            ))
        );
        println!(
            "kept for machine {}: {}",
            calibration.machine,
            self.file.display()
        );
    }
}

/// Measures the ceiling on the current runtime (the generator's) and keeps it.
pub async fn execute(args: &CalibrateArgs) -> RunResult<Calibrated> {
    ensure!(
        (Duration::from_secs(2)..=Duration::from_secs(60)).contains(&args.run_time),
        "--run-time is between 2s and 1m"
    );
    ensure!(
        (1..=10_000).contains(&args.users),
        "--users is between 1 and 10000"
    );
    let runtime = StackRuntime::new(args.server_threads.unwrap_or_else(default_threads), None)?;
    let (url, server) = runtime.run(serve_trivial()).await??;
    let progress = progress_bar(args.run_time.as_secs(), args.quiet);
    progress.set_prefix("calibrate");
    let measured = measured::drive(Drive {
        plan: AttackPlan {
            users: args.users,
            run_time: args.run_time,
            ramp_up: crate::setup::args::DEFAULT_RAMP_UP,
            goose_reports: None,
        },
        kinds: vec![(Kind::Calibration, 1)],
        targets: Targets::single(&url)?,
        settings: ScenarioSettings {
            pacing_interval: None,
            expiry_wait: Duration::ZERO,
            cart_reads: 0,
            stolen_window: Duration::ZERO,
            replay_interval: Duration::ZERO,
            request_timeout: Duration::from_secs(30),
            goose_metrics: false,
            login: crate::users::login::LoginSettings::default(),
            provider_logout: None,
            think: None,
            keep_alive_idle: None,
            source_addrs: None,
            first_user: 0,
        },
        cpu: CpuSides {
            stack_thread_name: Some(STACK_THREAD_NAME),
            stack_pids: Vec::new(),
            moving_pid: None,
        },
        gauges: crate::measure::gauges::StoreGauges::unknown(),
        stack_connections: crate::measure::timeline::StackConnections::unknown(),
        stack_memory: crate::measure::gauges::StackMemory::none(),
        progress: &progress,
        faults: Vec::new(),
        controls: crate::fault::inject::Controls::default(),
        // Written as in every measured run, so the ceiling includes their cost; the last
        // calibration's logs stay beside its figure.
        hlog_dir: Some(
            args.reports_dir
                .clone()
                .unwrap_or_else(default_reports_dir)
                .join("calibration")
                .join(reports::hlog::HLOG_DIR),
        ),
        warm_up: crate::measure::settle::WarmUpPlan::NONE,
    })
    .await;
    progress.finish_and_clear();
    server.abort();
    let measured = measured?;
    ensure!(
        measured.totals.errors == 0,
        "calibration requests failed: {:?}",
        measured
            .merged
            .failures
            .iter()
            .map(|(failure, count)| format!("{failure}: {count}"))
            .collect::<Vec<_>>()
    );
    let timeline = &measured.sampled.timeline;
    let requests_per_second = steady_rate(timeline, args.run_time, |p| p.requests);
    let generator_cpu_cores = steady_cores(timeline, args.run_time, |p| p.generator_cpu_cores);
    ensure!(
        requests_per_second > 0.0 && generator_cpu_cores > 0.0,
        "calibration measured nothing ({requests_per_second:.0} requests/s on {generator_cpu_cores:.2} cores)"
    );
    let calibration = Calibration {
        requests_per_core: requests_per_second / generator_cpu_cores,
        requests_per_second,
        generator_threads: measured.generator_threads,
        users: args.users,
        measured_at: jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        machine: machine_key(),
    };
    let reports_dir = args.reports_dir.clone().unwrap_or_else(default_reports_dir);
    let file = save(&reports_dir, &calibration)?;
    let file = file.canonicalize().unwrap_or(file);
    Ok(Calibrated {
        calibration,
        file,
        generator_cpu_cores,
        server_cpu_cores: timeline
            .iter()
            .all(|p| p.stack_cpu_cores.is_some())
            .then(|| {
                steady_cores(timeline, args.run_time, |p| {
                    p.stack_cpu_cores.unwrap_or(0.0)
                })
            }),
    })
}

/// A trivial endpoint on a free loopback port: one small page with the calibration marker.
async fn serve_trivial() -> RunResult<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .doing("binding the calibration endpoint")?;
    let url = format!("http://{}", listener.local_addr()?);
    let page = format!(
        "<!doctype html><title>calibration</title><main id=\"{}\">ok</main>\n",
        calibration::MARKER
    );
    let router = axum::Router::new().route(
        calibration::PATH,
        axum::routing::get(move || {
            let page = page.clone();
            async move { axum::response::Html(page) }
        }),
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok((url, server))
}

/// This machine's key: host name, CPU model and logical CPU count, as a file name.
pub fn machine_key() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|_| "unknown-host".into());
    let environment = crate::measure::environment::capture(1, None);
    slug(&format!(
        "{host}-{}-{}cpu",
        environment.cpu_model, environment.logical_cpus
    ))
}

fn slug(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_owned()
}

fn file(reports_dir: &Path, machine: &str) -> PathBuf {
    reports_dir
        .join("calibration")
        .join(format!("{machine}.json"))
}

/// Keeps a calibration for its machine.
pub fn save(reports_dir: &Path, calibration: &Calibration) -> RunResult<PathBuf> {
    let path = file(reports_dir, &calibration.machine);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).doing_with(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, serde_json::to_string_pretty(calibration)?)
        .doing_with(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// This machine's calibration, if `loadtest calibrate` has run here.
pub fn load(reports_dir: &Path) -> Option<Calibration> {
    let text = std::fs::read_to_string(file(reports_dir, &machine_key())).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_keys_are_file_names() {
        assert_eq!(
            slug("ci-box-Intel(R) Xeon(R) CPU @ 2.20GHz-2cpu"),
            "ci-box-intel-r-xeon-r-cpu-2-20ghz-2cpu"
        );
        let key = machine_key();
        assert!(!key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }

    #[test]
    fn a_kept_calibration_is_found_for_this_machine_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(load(dir.path()), None);
        let mine = Calibration {
            requests_per_core: 50_000.0,
            requests_per_second: 48_000.0,
            generator_threads: 1,
            users: 32,
            measured_at: "2026-12-01T00:00:00Z".into(),
            machine: machine_key(),
        };
        save(dir.path(), &mine).expect("save");
        let other = Calibration {
            machine: "another-machine".into(),
            requests_per_core: 1.0,
            ..mine.clone()
        };
        save(dir.path(), &other).expect("save");
        assert_eq!(load(dir.path()), Some(mine));
    }
}
