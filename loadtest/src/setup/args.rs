//! The load run's flags, and the parsers of their values.

use crate::error::{RunError, RunResult, ensure};
use crate::fault::{FaultSpec, parse_fault, spec};
use crate::http::{ResumptionMode, TlsOptions};
use crate::measure::settle::{SettleRule, WarmUpPlan};
use crate::names::MAX_FORM_STEPS;
use crate::users::login::form::SelectorText;
use crate::users::login::{Accounts, DEFAULT_MAX_FORM_STEPS, FormRules, LoginSettings};
use mock_services::cli::{Backend, BackendArgs};
use mock_services::idp::{PasswordHashing, SigningAlgorithm};
use mock_services::local_redis::Persistence;
use std::path::PathBuf;
use std::time::Duration;

/// The scenarios, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ScenarioName {
    Journey,
    Cart,
    CartView,
    Stolen,
}

impl ScenarioName {
    pub fn goose_name(self) -> &'static str {
        match self {
            ScenarioName::Journey => "login_sso_journey",
            ScenarioName::Cart => "cart_browsing",
            ScenarioName::CartView => "cart_view",
            ScenarioName::Stolen => "stolen_session",
        }
    }

    /// Its name on `--scenario`.
    pub fn flag_name(self) -> &'static str {
        match self {
            ScenarioName::Journey => "journey",
            ScenarioName::Cart => "cart",
            ScenarioName::CartView => "cart-view",
            ScenarioName::Stolen => "stolen",
        }
    }
}

/// `name[:weight]`, e.g. `journey:2`.
pub fn parse_scenario(text: &str) -> Result<(ScenarioName, usize), String> {
    let (name, weight) = text.split_once(':').unwrap_or((text, "1"));
    let scenario = match name {
        "journey" | "login_sso_journey" => ScenarioName::Journey,
        "cart" | "cart_browsing" => ScenarioName::Cart,
        "cart-view" | "cart_view" => ScenarioName::CartView,
        "stolen" | "stolen_session" => ScenarioName::Stolen,
        other => {
            return Err(format!(
                "unknown scenario {other:?}: use journey, cart, cart-view or stolen"
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

/// `--keep-alive-idle`: how long a connection may sit unused (`None`: until the server closes
/// it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdleLimit(pub Option<Duration>);

/// `--keep-alive-idle`: a duration above zero, or `none`.
pub fn parse_keep_alive_idle(text: &str) -> Result<IdleLimit, String> {
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok(IdleLimit(None));
    }
    match humantime::parse_duration(text.trim()) {
        Ok(limit) if !limit.is_zero() => Ok(IdleLimit(Some(limit))),
        Ok(_) => Err(format!(
            "{text:?}: the idle limit must be above zero (or none)"
        )),
        Err(error) => Err(format!("{text:?}: {error}")),
    }
}

/// `--settle`: how a warm-up ends.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Settle {
    /// Once the request rate has settled to within this share (see [`SettleRule`]), or at
    /// `--warm-up`.
    Within(f64),
    /// At `--warm-up`: a fixed warm-up.
    Off,
}

impl Default for Settle {
    fn default() -> Self {
        Settle::Within(SettleRule::DEFAULT.within)
    }
}

/// `--settle`: `off`, or a share above 0% and at most 50% (`5%`, `0.05`).
pub fn parse_settle(text: &str) -> Result<Settle, String> {
    let trimmed = text.trim();
    if trimmed.eq_ignore_ascii_case("off") {
        return Ok(Settle::Off);
    }
    let share = match trimmed.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => trimmed.parse::<f64>(),
    }
    .map_err(|_| format!("{text:?}: expected a share such as 5% (or off)"))?;
    if !(share > 0.0 && share <= 0.5) {
        return Err(format!(
            "{text:?}: the settle share must be above 0% and at most 50% (or off)"
        ));
    }
    Ok(Settle::Within(share))
}

/// A browser's idle limit on a kept-alive connection: Firefox's `network.http.keep-alive.timeout`.
pub const DEFAULT_KEEP_ALIVE_IDLE: Duration = Duration::from_secs(115);

/// Users per second for `--ramp-rate`: a positive, finite number.
pub fn parse_ramp_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{text:?}: expected users per second, a number above 0"
        )),
    }
}

/// Starting every one of `users` at `rate` users per second (or all within one second).
pub fn ramp_up(users: usize, rate: Option<f64>) -> Duration {
    match rate {
        Some(rate) if rate > 0.0 => Duration::from_secs_f64(users as f64 / rate).max(MIN_RAMP_UP),
        _ => DEFAULT_RAMP_UP,
    }
}

/// Without `--ramp-rate`: every user starts within the first second.
pub const DEFAULT_RAMP_UP: Duration = Duration::from_secs(1);
/// Goose counts its ramp in whole milliseconds.
const MIN_RAMP_UP: Duration = Duration::from_millis(1);

/// `MIN..MAX` (e.g. `100ms..1s`) or one duration: each user's pause after each transaction.
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

/// Threads of one side by default: half the machine's cores each (at least one), so that on
/// a small machine the generator and the stack each have a core of their own.
pub fn default_threads() -> usize {
    (std::thread::available_parallelism().map_or(1, |n| n.get()) / 2).max(1)
}

/// The load run's flags (and, whole, what a run sends each of its workers).
#[derive(Debug, Clone, clap::Args, serde::Serialize, serde::Deserialize)]
pub struct RunArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Run against a store app already running (its base URL, http:// or https://, a host
    /// name or an address) instead of an in-process stack; repeat it for several instances of
    /// the store, which users then take in turn, request by request (round robin, as behind a
    /// balancer); see --target-idp, --target-forums and --target-pid. Names are resolved once,
    /// at the start; a name of several addresses has them taken in turn by new connections.
    /// Load goes only where these name: test only systems you own or may test.
    #[arg(long)]
    pub target: Vec<String>,
    /// The identity provider of --target: the mock IdP, or any OpenID provider (its issuer's
    /// origin) whose relying parties the store and forums are (`serve --provider`).
    #[arg(long, default_value = "http://127.0.0.1:9010")]
    pub target_idp: String,
    /// The forums app of --target; repeat it for several instances, taken in turn.
    #[arg(long, default_values_t = ["http://127.0.0.3:9012".to_owned()])]
    pub target_forums: Vec<String>,
    /// A PEM file of CA certificates to trust besides the platform's roots, for HTTPS targets
    /// with a private CA.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Accept any certificate of an HTTPS target, unverified (named in the report).
    #[arg(long)]
    pub insecure: bool,
    /// Serve the stack the run starts over HTTPS with this certificate chain (PEM; its names
    /// must be 127.0.0.1, 127.0.0.2 and 127.0.0.3: `mock-services dev-cert` makes one) and
    /// trust --ca-cert for it.
    #[arg(long, value_name = "FILE", requires_all = ["tls_key", "ca_cert"])]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Whose TLS session cache a simulated browser resumes from when it reconnects: its own
    /// (per-user, as separate browsers), one shared by every user, or none (off).
    #[arg(long, value_enum, default_value_t = ResumptionMode::PerUser)]
    pub tls_resumption: ResumptionMode,
    /// The accounts users log in as: CSV lines `username,password` (a header line is
    /// optional); users take them in turn. Without it, the mock IdP's seeded users
    /// (user1@example.com …) with --user-password.
    #[arg(long, value_name = "FILE")]
    pub users_file: Option<PathBuf>,
    /// The login form's CSS selector (e.g. `#kc-form-login`) [default: the first form holding
    /// a password input].
    #[arg(long, value_name = "SELECTOR")]
    pub login_form: Option<String>,
    /// The name of the login form's username input [default: the text or email input before
    /// the password input].
    #[arg(long, value_name = "NAME")]
    pub username_field: Option<String>,
    /// The name of the login form's password input [default: the password input].
    #[arg(long, value_name = "NAME")]
    pub password_field: Option<String>,
    /// Form pages a login may pass through (login, consent, "continue", identifier-first
    /// pages) before it is counted as a failure.
    #[arg(long, default_value_t = DEFAULT_MAX_FORM_STEPS,
          value_parser = clap::value_parser!(u8).range(1..=MAX_FORM_STEPS as i64))]
    pub max_form_steps: u8,
    /// Store and forums instances: above 1 the run starts the stack as processes (one IdP, N
    /// store and N forums instances, each its own process, as `serve --instances N` does) on
    /// the shared backend (redis or redis-cluster), and users take the instances in turn,
    /// request by request.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub instances: u32,
    /// Start the stack as processes even with one instance: the IdP, the store and the forums
    /// each in a process of its own (any backend), so the run records each component's CPU
    /// against the operations its services counted (`costs` in results.json). --instances
    /// above 1 always does.
    #[arg(long)]
    pub stack_processes: bool,
    /// Load generators: above 1, the run starts the stack as processes (as with --instances,
    /// in-memory backends included when there is one instance) and N generator processes
    /// (`loadtest worker`) with the users split among them, released together, then merges
    /// their results and interval logs into one run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub workers: u32,
    /// This generator's first user's place among the run's users (set by `--workers` for each
    /// worker, so the run's users log in as different accounts).
    #[arg(long, hide = true, default_value_t = 0)]
    pub first_user: usize,
    /// More processes of --target's stack whose CPU counts as the stack's (set by `--workers`
    /// for the worker that measures the stack).
    #[arg(long, hide = true, value_delimiter = ',')]
    pub stack_pids: Vec<u32>,
    /// How long every worker of --workers may take to get ready (fetch its arguments, set up,
    /// measure its clock) before the run is refused, naming the late ones. On a cluster allow
    /// for scheduling and image pulls.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub ready_within: Duration,
    /// How long past the warm-up, ramp, run time and a request timeout a worker may take to
    /// send its results (the drain of its last iterations, its report, the upload).
    #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
    pub results_within: Duration,
    /// A test device: worker K of --workers misbehaves on purpose (`K:never-ready`,
    /// `K:exit-mid-run`, `K:withhold-results`, `K:clock-off=DURATION`), to check that the run
    /// ends naming it.
    #[arg(long, hide = true)]
    pub worker_fault: Vec<crate::setup::worker_fault::WorkerFault>,
    /// The program serving a stack started as processes (set by tests: the `loadtest`
    /// binary, whose hidden `serve` subcommand runs the stack) [default: this program].
    #[arg(skip)]
    pub stack_program: Option<PathBuf>,
    /// The process serving --target, whose CPU is then recorded as the stack's.
    #[arg(long)]
    pub target_pid: Option<u32>,
    /// Concurrent simulated users.
    #[arg(long, default_value_t = 32)]
    pub users: usize,
    /// Open model: target iterations per second across all users (each user paced at
    /// users/rate). Without it the run is closed: each user starts its next iteration at once.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Users started per second, so that many logins do not land in one instant; the run time
    /// starts once every user has started, and the time it took is reported [default: every
    /// user within the first second].
    #[arg(long, value_name = "USERS_PER_S", value_parser = parse_ramp_rate)]
    pub ramp_rate: Option<f64>,
    /// Generated accounts (`user1@example.com` … `user<N>@example.com`): the in-process stack
    /// seeds this many, and users log in as them, each its own while there are enough; with
    /// --target, the number the IdP seeded (`serve --users`) [default: 10,000, or the run's
    /// users when more]. Not used with --users-file.
    #[arg(long, value_name = "N")]
    pub accounts: Option<u64>,
    /// How long the measured run lasts (e.g. 30s, 2m, 8h; at most 24h) [default: 30s; in
    /// `matrix`, 10s per repetition]. Runs of six windows or more (--soak-window) get a drift
    /// verdict on each series.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub run_time: Option<Duration>,
    /// The windows a long run's figures are judged in for drift: p50/p99 of every hop and flow,
    /// errors, requests/s, memory, CPU and sessions alive per window, each with a slope and its
    /// interval, or a step (whole seconds) [default: 1m].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub soak_window: Option<Duration>,
    /// The most warm-up: load from the same users on the same stack, unmeasured, before
    /// measuring starts, in whole seconds counted from the first user's start (never shorter
    /// than the ramp-up); it ends sooner once the rate settles (--settle) [default: none; in
    /// `matrix`, at most 10s per run].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub warm_up: Option<Duration>,
    /// How the warm-up ends: at the first second the last 3 one-second request counts, every
    /// user started, are each within this share of their mean (or at --warm-up); `off`: at
    /// --warm-up. Off with --fault (fault times count from the end of the warm-up) and for the
    /// workers of a run (so their measured seconds line up).
    #[arg(long, value_name = "PERCENT|off", default_value = "5%", value_parser = parse_settle)]
    pub settle: Settle,
    /// This run's turn among repetitions (set by `matrix`, and for each worker of a run).
    #[arg(long, hide = true, default_value_t = 1)]
    pub repetition: u32,
    /// The comparison arm this run belongs to (set by `matrix`; `dashmap-2`,
    /// `dashmap-handicap-150us`).
    #[arg(long, hide = true)]
    pub arm: Option<String>,
    /// Scenario and weight, repeatable: journey, cart, cart-view, stolen [default: journey:2
    /// cart:2 stolen:1].
    #[arg(long = "scenario", value_parser = parse_scenario)]
    pub scenarios: Vec<(ScenarioName, usize)>,
    /// Pause after each transaction (a user's think time), `MIN..MAX` or one duration, drawn
    /// anew each time; the user's connections stay open meanwhile, up to --keep-alive-idle
    /// [default: none: each user
    /// goes on at once, or at its pace with --rate].
    #[arg(long, value_parser = parse_wait)]
    pub wait: Option<(Duration, Duration)>,
    /// A user closes a connection it has not used for this long, as a browser's idle timeout
    /// does; its next visit opens a new one (counted: connections opened and closed idle).
    /// `none` keeps every connection until the server closes it [default: 115s, Firefox's
    /// keep-alive timeout; `serve` closes idle connections after 30s on its side].
    #[arg(long, value_name = "DURATION", value_parser = parse_keep_alive_idle)]
    pub keep_alive_idle: Option<IdleLimit>,
    /// A test device, for the stacks this run starts: when their apps' sessions are on
    /// BACKEND, every session lookup also spends DURATION of CPU (a busy wait), so a comparison
    /// has a known difference to find (e.g. dashmap:20us). As `serve --handicap`.
    #[arg(long, value_name = "BACKEND:DURATION", value_parser = mock_services::cli::Handicap::parse)]
    pub handicap: Option<mock_services::cli::Handicap>,
    /// Addresses the users' connections come from, a list or IPv4 ranges (e.g.
    /// 127.0.0.2-127.0.0.40): each user binds its connections to one of them in turn, so the
    /// run is not held to one address's ephemeral ports (about 28,000 per source and
    /// destination). The addresses must be this host's [default: the kernel's choice; against
    /// loopback targets, 127.0.0.2 onwards when the run needs more than one address's ports].
    #[arg(long, value_name = "ADDRS", value_parser = crate::http::SourceAddrs::parse)]
    pub source_addrs: Option<crate::http::SourceAddrs>,
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
    /// Live sessions put in the store app's backend before the run (by the stack the run
    /// starts, in-process or as processes; not with --target or --workers).
    #[arg(long, default_value_t = 0)]
    pub prefill_sessions: u64,
    /// The in-process IdP's signing algorithm.
    #[arg(long, value_enum, default_value_t = SigningAlgorithm::Rs256)]
    pub signing_alg: SigningAlgorithm,
    /// How the in-process IdP checks passwords (argon2 models a real IdP's CPU per login).
    #[arg(long, value_enum, default_value_t = PasswordHashing::Plain)]
    pub password_hash: PasswordHashing,
    /// The seeded users' password (the in-process IdP's, or what --target's IdP expects).
    #[arg(long, default_value = "password")]
    pub user_password: String,
    /// Every request's timeout (connect, send, answer).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
    /// Worker threads of the generator's runtime [default: half the cores, at least 1].
    #[arg(long)]
    pub generator_threads: Option<usize>,
    /// Worker threads of the in-process stack's runtime [default: half the cores, at least 1].
    #[arg(long)]
    pub stack_threads: Option<usize>,
    /// Pin the generator's and the in-process stack's threads to CPUs of their own, split in
    /// proportion to their threads (`auto`: when the stack runs in this process and two CPUs
    /// or more are usable); `off` leaves placement to the kernel.
    #[arg(long, value_enum, default_value_t = crate::setup::cores::Pin::Auto)]
    pub pin: crate::setup::cores::Pin,
    /// The CPUs each side is pinned to, decided where the generator's runtime is built
    /// (`main`) and carried here to the stack's runtime and the results; `None`: not pinned.
    #[arg(skip)]
    #[serde(skip)]
    pub cores: Option<reports::results::CoreSplit>,
    /// Also feed every request to goose's own metrics and write goose's HTML and JSON reports
    /// (costs the generator CPU per request; see the README).
    #[arg(long)]
    pub goose_reports: bool,
    /// A fault inside the measured run, repeatable: KIND@AT+DOWN with KIND redis-restart
    /// (SIGKILL to the redis-server the run started, the same server started again after DOWN),
    /// redis-pause (SIGSTOP, SIGCONT after DOWN) or stack-pause (the in-process stack's
    /// requests held at a gate, or SIGSTOP/SIGCONT to --target-pid); AT counts from the start
    /// of the measured run, e.g. redis-restart@10s+3s.
    #[arg(long = "fault", value_parser = parse_fault)]
    pub faults: Vec<FaultSpec>,
    /// Exit non-zero when a fault took longer than this to recover from (from its end to the
    /// first whole second under 1% failed requests), or never recovered.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub max_recovery: Option<Duration>,
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

/// The base URLs of a running stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackUrls {
    pub idp: String,
    pub stores: Vec<String>,
    pub forums: Vec<String>,
}

/// The run's flags alone, to parse them where no command wraps them.
#[derive(Debug, clap::Parser)]
struct RunFlags {
    #[command(flatten)]
    args: RunArgs,
}

impl Default for RunArgs {
    /// Every flag at its default, as `loadtest` with no flag has them.
    fn default() -> Self {
        use clap::Parser as _;
        RunFlags::try_parse_from(["loadtest"])
            .map(|flags| flags.args)
            .expect("the run's flags all have defaults")
    }
}

/// A load run's measured time when none is given.
pub const DEFAULT_RUN_TIME: Duration = Duration::from_secs(30);

/// The longest run: a soak of a day, bounded as every run is.
pub const MAX_RUN_TIME: Duration = Duration::from_secs(24 * 3600);

impl RunArgs {
    /// The certificate and key the stack the run starts is served with, if HTTPS.
    pub fn stack_tls(&self) -> Option<mock_services::web::tls::TlsFiles> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(mock_services::web::tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        }
    }

    /// How the generator's HTTPS connections are verified and resumed.
    pub fn tls_options(&self) -> TlsOptions {
        TlsOptions {
            ca_cert: self.ca_cert.clone(),
            insecure: self.insecure,
            resumption: self.tls_resumption,
        }
    }

    /// How users log in: the accounts (`--users-file` read and checked here, naming a bad
    /// line) and the login-form flags.
    pub fn login_settings(&self) -> RunResult<LoginSettings> {
        let accounts = match &self.users_file {
            Some(path) => Accounts::read(path)
                .map_err(|error| RunError::refused(format!("--users-file {error}")))?,
            None => Accounts::Generated {
                password: self.user_password.clone(),
                count: self.accounts(),
            },
        };
        let login_form = self
            .login_form
            .as_deref()
            .map(SelectorText::parse)
            .transpose()
            .map_err(RunError::refused)?;
        Ok(LoginSettings {
            accounts,
            rules: FormRules::new(
                login_form,
                self.username_field.clone(),
                self.password_field.clone(),
            ),
            max_form_steps: self.max_form_steps,
        })
    }

    /// The measured run time.
    pub fn run_time(&self) -> Duration {
        self.run_time.unwrap_or(DEFAULT_RUN_TIME)
    }

    /// The mock IdP's generated accounts the users log in as: `--accounts`, or 10,000, or the
    /// run's users when there are more (each user its own account).
    pub fn accounts(&self) -> u64 {
        self.accounts.unwrap_or_else(|| {
            crate::users::login::accounts::GENERATED.max((self.first_user + self.users) as u64)
        })
    }

    /// The users' idle limit on their connections (`None`: kept until the server closes them).
    pub fn keep_alive_idle(&self) -> Option<Duration> {
        self.keep_alive_idle
            .map_or(Some(DEFAULT_KEEP_ALIVE_IDLE), |limit| limit.0)
    }

    /// How long starting every user takes: users ÷ `--ramp-rate`, or one second.
    pub fn ramp_up(&self) -> Duration {
        ramp_up(self.users, self.ramp_rate)
    }

    /// The unmeasured warm-up's limit (zero: none).
    pub fn warm_up(&self) -> Duration {
        self.warm_up.unwrap_or(Duration::ZERO)
    }

    /// The warm-up this run makes: at most `--warm-up` (and never shorter than the ramp), ended
    /// sooner by the settle rule unless `--settle off` or the run has faults.
    pub fn warm_up_plan(&self) -> WarmUpPlan {
        if self.warm_up().is_zero() {
            return WarmUpPlan::NONE;
        }
        let ramp = self.ramp_up().as_secs_f64().ceil() as u64;
        WarmUpPlan {
            limit_seconds: self.warm_up().as_secs().max(ramp),
            rule: match self.settle {
                Settle::Within(within) if self.faults.is_empty() => Some(SettleRule {
                    within,
                    ..SettleRule::DEFAULT
                }),
                _ => None,
            },
        }
    }

    /// The scenario mix asked for, or the default one.
    pub fn scenarios(&self) -> Vec<(ScenarioName, usize)> {
        if self.scenarios.is_empty() {
            vec![
                (ScenarioName::Journey, 2),
                (ScenarioName::Cart, 2),
                (ScenarioName::Stolen, 1),
            ]
        } else {
            self.scenarios.clone()
        }
    }

    /// The arguments of a worker of this run: `users` of the run's users, starting at
    /// `first_user`, against the given stack; the generator's settings as this run has them,
    /// and the rest — what belongs to the run that starts the workers (the stack, its faults,
    /// the thresholds, the merge) — at their defaults.
    pub fn for_worker(
        &self,
        users: usize,
        first_user: usize,
        stack: &StackUrls,
        stack_pids: &[u32],
    ) -> RunArgs {
        let defaults = RunArgs::default();
        RunArgs {
            // The backend names the results; the worker starts no store.
            backend: BackendArgs {
                backend: self.backend.backend,
                ..defaults.backend.clone()
            },
            target: stack.stores.clone(),
            target_idp: stack.idp.clone(),
            target_forums: stack.forums.clone(),
            ca_cert: self.ca_cert.clone(),
            insecure: self.insecure,
            tls_resumption: self.tls_resumption,
            users_file: self.users_file.clone(),
            login_form: self.login_form.clone(),
            username_field: self.username_field.clone(),
            password_field: self.password_field.clone(),
            max_form_steps: self.max_form_steps,
            first_user,
            stack_pids: stack_pids.to_vec(),
            users,
            // Each user keeps the pace it would have in the whole run.
            rate: self
                .rate
                .map(|rate| rate * users as f64 / self.users as f64),
            // Every worker reads the same directory of accounts.
            accounts: Some(self.accounts()),
            // Each worker starts its share of users over the same ramp.
            ramp_rate: self
                .ramp_rate
                .map(|rate| rate * users as f64 / self.users as f64),
            run_time: Some(self.run_time()),
            soak_window: self.soak_window,
            warm_up: self.warm_up,
            // A fixed warm-up: every worker starts measuring at the same second.
            settle: Settle::Off,
            repetition: self.repetition,
            arm: self.arm.clone(),
            scenarios: self.scenarios.clone(),
            wait: self.wait,
            keep_alive_idle: self.keep_alive_idle,
            source_addrs: self.source_addrs.clone(),
            store_idle_timeout: self.store_idle_timeout,
            store_absolute_timeout: self.store_absolute_timeout,
            cart_reads: self.cart_reads,
            stolen_window: self.stolen_window,
            replay_interval: self.replay_interval,
            user_password: self.user_password.clone(),
            request_timeout: self.request_timeout,
            generator_threads: self.generator_threads,
            // Where the machine's calibration is kept, for each worker's own judgement.
            reports_dir: self.reports_dir.clone(),
            quiet: true,
            ..defaults
        }
    }

    /// Whether the run starts its stack in this process (not as processes, not `--target`).
    pub fn stack_in_process(&self) -> bool {
        self.target.is_empty() && self.instances == 1 && !self.stack_processes
    }

    pub fn stack_threads(&self) -> usize {
        self.stack_threads.unwrap_or_else(default_threads)
    }

    /// The CPUs this run gives its generator and its stack (`--pin`; `setup::cores`).
    pub fn core_split(&self, generator_threads: usize) -> Option<reports::results::CoreSplit> {
        let in_process_stack = self.stack_in_process() && self.workers == 1;
        crate::setup::cores::for_run(
            self.pin,
            in_process_stack,
            generator_threads,
            self.stack_threads(),
        )
    }

    /// Checks what flags alone can tell, before anything starts.
    pub fn validate(&self) -> RunResult<()> {
        ensure!(self.run_time() <= MAX_RUN_TIME, "--run-time is at most 24h");
        ensure!(
            self.soak_window.is_none_or(|window| {
                window >= Duration::from_secs(1) && window.subsec_nanos() == 0
            }),
            "--soak-window takes whole seconds, at least 1s"
        );
        let logged = crate::measure::interval_log::interval_for(self.run_time());
        ensure!(
            self.soak_window
                .is_none_or(|window| window.as_secs() % logged == 0),
            "--soak-window must be whole multiples of {logged}s in a run this long: its interval \
             logs hold {logged}-second intervals"
        );
        ensure!(
            self.run_time() >= Duration::from_secs(1),
            "--run-time is at least 1s"
        );
        ensure!(
            self.warm_up() <= Duration::from_secs(600) && self.warm_up().subsec_nanos() == 0,
            "--warm-up takes whole seconds, at most 10m"
        );
        ensure!(self.users >= 1, "--users must be at least 1");
        ensure!(
            self.worker_fault
                .iter()
                .all(|fault| fault.worker <= self.workers as usize),
            "--worker-fault names a worker this run does not have (--workers {})",
            self.workers
        );
        ensure!(
            self.request_timeout > Duration::ZERO
                && self.request_timeout <= Duration::from_secs(300),
            "--request-timeout must be between 1ms and 5m"
        );
        if let Some(rate) = self.rate {
            ensure!(
                rate > 0.0 && rate.is_finite(),
                "--rate must be a positive number"
            );
        }
        for (flag, threads) in [
            ("--generator-threads", self.generator_threads),
            ("--stack-threads", self.stack_threads),
        ] {
            ensure!(
                threads.is_none_or(|n| (1..=1024).contains(&n)),
                "{flag} must be between 1 and 1024"
            );
        }
        let external = !self.target.is_empty();
        ensure!(
            !external || self.tls_cert.is_none(),
            "--tls-cert serves the stack the run starts over HTTPS; with --target the stack is \
             another process's (give https:// URLs and --ca-cert)"
        );
        ensure!(
            !external || self.backend.redis_persistence == Persistence::None,
            "--redis-persistence sets up the redis-server the run starts; with --target the stack \
             and its store are another process's"
        );
        ensure!(
            self.stack_in_process() || external || self.faults.is_empty(),
            "--fault acts on the in-process stack and its redis-server (or on --target-pid); with \
             --instances or --stack-processes the stack is in processes of its own, which faults \
             do not reach"
        );
        spec::validate(
            &self.faults,
            self.run_time(),
            spec::Ownership {
                redis: !external
                    && self.stack_in_process()
                    && self.backend.backend == Backend::Redis
                    && self.backend.redis_url.is_none(),
                in_process_stack: self.stack_in_process(),
                target_pid: self.target_pid.is_some(),
            },
        )
        .map_err(RunError::refused)?;
        ensure!(
            self.max_recovery.is_none() || !self.faults.is_empty(),
            "--max-recovery limits the recovery from a --fault: give one"
        );
        ensure!(
            self.stack_in_process() || self.prefill_sessions <= mock_services::serve::MAX_PREFILL,
            "--prefill-sessions is at most {} for a stack of processes",
            mock_services::serve::MAX_PREFILL
        );
        ensure!(
            !(external && self.stack_processes),
            "--stack-processes starts the stack as processes; --target names one already running"
        );
        if self.instances > 1 {
            ensure!(
                !external,
                "--instances starts the stack as processes; --target names one already running \
                 (repeat --target for each of its store instances)"
            );
            ensure!(
                !self.backend.backend.is_in_memory(),
                "--instances {} needs a shared session backend (--backend redis or \
                 redis-cluster): each instance is its own process, and {} keeps its sessions in \
                 one process's memory",
                self.instances,
                self.backend.backend.name()
            );
            ensure!(
                self.stack_threads.is_none(),
                "--stack-threads sizes the in-process stack; with --instances each instance is a \
                 process with a thread per core"
            );
            ensure!(
                self.target_pid.is_none(),
                "--target-pid names the process of --target; with --instances the run measures \
                 the stack's processes itself"
            );
        }
        ensure!(
            self.stack_pids.is_empty() || external,
            "--stack-pids names processes of --target's stack"
        );
        if self.workers > 1 {
            let workers = usize::try_from(self.workers)?;
            ensure!(
                self.users >= workers,
                "--workers {workers} splits --users among them: give at least one user each"
            );
            ensure!(
                self.faults.is_empty(),
                "--fault acts on a stack this process runs in-process; with --workers the stack \
                 and the generators are processes of their own"
            );
            ensure!(
                self.prefill_sessions == 0 && self.stack_threads.is_none(),
                "--prefill-sessions and --stack-threads apply to the in-process stack; with \
                 --workers the stack is a process of its own"
            );
            ensure!(
                !self.goose_reports,
                "--goose-reports writes goose's reports of one process; a run of several \
                 workers has no single goose report"
            );
            ensure!(
                self.instances == 1 || !self.backend.backend.is_in_memory(),
                "--instances above 1 needs a shared session backend (redis or redis-cluster)"
            );
        }
        match self.target.first() {
            Some(_) => {
                ensure!(
                    self.prefill_sessions == 0,
                    "--prefill-sessions needs the in-process stack (no --target)"
                );
                ensure!(
                    self.stack_threads.is_none(),
                    "--stack-threads sizes the in-process stack; with --target the stack is another process"
                );
                if let Some(pid) = self.target_pid {
                    ensure!(
                        pid != std::process::id(),
                        "--target-pid {pid} is this process: name the process serving --target"
                    );
                    ensure!(
                        std::path::Path::new(&format!("/proc/{pid}/stat")).exists(),
                        "--target-pid {pid}: no such process"
                    );
                }
            }
            None => ensure!(
                self.target_pid.is_none(),
                "--target-pid names the process of --target; the in-process stack is measured by its threads"
            ),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_lasts_at_most_a_day_and_its_soak_windows_fit_its_logs() {
        let run = |run_time: u64, window: Option<u64>| RunArgs {
            run_time: Some(Duration::from_secs(run_time)),
            soak_window: window.map(Duration::from_secs),
            ..RunArgs::default()
        };
        assert!(run(8 * 3600, None).validate().is_ok());
        assert!(run(24 * 3600, Some(60)).validate().is_ok());
        assert!(run(24 * 3600 + 1, None).validate().is_err());
        assert!(run(600, Some(15)).validate().is_ok(), "one-second logs");
        let error = run(2 * 3600, Some(15))
            .validate()
            .expect_err("15 s of 10 s intervals");
        assert!(error.to_string().contains("multiples of 10s"), "{error}");
    }

    #[test]
    fn the_warm_up_settles_unless_told_not_to_and_never_ends_before_the_ramp() {
        assert_eq!(parse_settle("5%"), Ok(Settle::Within(0.05)));
        assert_eq!(parse_settle("0.1"), Ok(Settle::Within(0.1)));
        assert_eq!(parse_settle("OFF"), Ok(Settle::Off));
        for bad in ["0%", "60%", "soon"] {
            assert!(parse_settle(bad).is_err(), "{bad}");
        }
        let mut args = RunArgs::default();
        assert_eq!(args.settle, Settle::Within(0.05));
        assert_eq!(args.warm_up_plan(), WarmUpPlan::NONE);
        args.warm_up = Some(Duration::from_secs(10));
        assert_eq!(
            args.warm_up_plan(),
            WarmUpPlan {
                limit_seconds: 10,
                rule: Some(SettleRule::DEFAULT)
            }
        );
        // Thirty users at one a second: the warm-up lasts at least the ramp.
        args.users = 30;
        args.ramp_rate = Some(1.0);
        assert_eq!(args.warm_up_plan().limit_seconds, 30);
        // Fixed: asked for, with faults (their moments count from its end), and for workers
        // (their measured seconds line up).
        let fixed = RunArgs {
            settle: Settle::Off,
            ..args.clone()
        };
        assert_eq!(fixed.warm_up_plan().rule, None);
        let faulted = RunArgs {
            faults: vec![parse_fault("stack-pause@1s+1s").expect("fault")],
            ..args.clone()
        };
        assert_eq!(faulted.warm_up_plan().rule, None);
        let stack = StackUrls {
            idp: "http://127.0.0.1:1".into(),
            stores: vec!["http://127.0.0.1:2".into()],
            forums: vec!["http://127.0.0.1:3".into()],
        };
        let worker = args.for_worker(15, 0, &stack, &[]);
        assert_eq!(worker.warm_up_plan().rule, None);
        assert_eq!(worker.warm_up, args.warm_up);
    }
}
