//! `results.json`: every figure of one run, with the configuration and machine that produced it.
//! Written by the load runner, read by the reports; what has a fixed set of values is an enum
//! here (the backend, where the stack ran, the stack's settings, the services).

use crate::Backend;
use crate::service::Service;
use crate::settings::{PasswordHashing, Persistence, SigningAlgorithm};
use serde::{Deserialize, Deserializer, Serialize};
use std::path::Path;

/// File name of a run's results inside its run directory.
pub const RESULTS_FILE: &str = "results.json";

/// Bumped whenever a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 6;
/// The oldest schema this build still reads: version 4 spelled as text what version 5 types
/// (the backend, the target, the stack's settings, the services), with the same names, and
/// wrote `unknown (--target)` where version 5 writes nothing.
pub const OLDEST_READ: u32 = 4;

/// Results of a session-store load run (the store driven directly, no HTTP).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreRunResults {
    pub schema_version: u32,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub config: StoreRunConfig,
    pub environment: Environment,
    /// One row per operation kind of the mix.
    pub operations: Vec<OperationResult>,
    /// Completed operations in each whole second of the run, in order.
    pub operations_per_second_timeline: Vec<u64>,
    pub total_operations: u64,
    pub total_errors: u64,
    /// Measured wall time of the run, seconds.
    pub elapsed_seconds: f64,
    /// `total_operations / elapsed_seconds`.
    pub operations_per_second: f64,
    pub live_sessions_at_end: u64,
}

/// What was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreRunConfig {
    pub backend: Backend,
    pub tasks: usize,
    pub duration_seconds: u64,
    pub prefill_sessions: usize,
    /// Per-mille shares of the mix: (operation, share).
    pub mix: Vec<(String, u32)>,
    pub idle_timeout_ms: u64,
    pub absolute_timeout_ms: u64,
    /// This run's turn among repetitions of the same settings (1-based; 1 for a lone run).
    pub repetition: u32,
    /// The comparison arm this run belongs to (`dashmap-2`, `dashmap-handicap-150us`); absent
    /// for a run outside a comparison, whose arm is its backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm: Option<String>,
    /// The CPU each timed lookup spent besides the store's own (an arm's handicap, a test
    /// device), microseconds; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup_handicap_us: Option<f64>,
}

/// Settings that move the numbers, recorded with every result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub cpu_model: String,
    pub logical_cpus: usize,
    pub kernel: String,
    pub build_profile: String,
    pub target_features: Vec<String>,
    pub allocator: String,
    pub hasher: String,
    pub dashmap_shards: usize,
    pub tokio_worker_threads: usize,
    pub ssobench_version: String,
    /// The CPUs the generator's and the in-process stack's threads were pinned to (`--pin`);
    /// absent when they were not (a stack in other processes, one usable CPU, `--pin off`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<CoreSplit>,
}

/// Which CPUs each side of a run ran on, when pinned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreSplit {
    pub generator: Vec<usize>,
    pub stack: Vec<usize>,
}

/// Latency of one operation kind, in microseconds (recorded in nanoseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationResult {
    pub operation: String,
    pub count: u64,
    pub errors: u64,
    pub latency_us: Percentiles,
}

/// Percentiles of a latency histogram, microseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
}

impl Percentiles {
    /// The same figures in milliseconds (of microseconds).
    pub fn to_ms(&self) -> Percentiles {
        Percentiles {
            mean: self.mean / 1000.0,
            p50: self.p50 / 1000.0,
            p90: self.p90 / 1000.0,
            p99: self.p99 / 1000.0,
            p99_9: self.p99_9 / 1000.0,
            max: self.max / 1000.0,
        }
    }
}

/// Why a results file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a results file of this version: {source}")]
    Format {
        path: String,
        source: serde_json::Error,
    },
    #[error(
        "{path}: written with results schema {found}; this build reads schemas {OLDEST_READ} \
         to {SCHEMA_VERSION} (run the load again with this build)"
    )]
    Version { path: String, found: u64 },
    #[error("{path}: a store-level run (`loadtest store`), not an HTTP load run")]
    StoreRun { path: String },
}

/// Writes a store-level run's `results.json` into `run_dir`.
pub fn write(run_dir: &Path, results: &StoreRunResults) -> Result<(), ResultsError> {
    write_json(&run_dir.join(RESULTS_FILE), results)
}

/// Reads a store-level run's `results.json` from `run_dir`.
pub fn read(run_dir: &Path) -> Result<StoreRunResults, ResultsError> {
    read_json(&run_dir.join(RESULTS_FILE))
}

/// Results of a load run through the HTTP stack (goose scenarios).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadRunResults {
    pub schema_version: u32,
    /// Always `"load"`, to tell these files from store-level runs.
    pub kind: String,
    pub started_at: String,
    pub config: LoadRunConfig,
    pub environment: Environment,
    /// Per hop (request name as a route pattern), microseconds.
    pub hops: Vec<LatencyRow>,
    /// Per flow (a whole login: several hops), microseconds.
    pub flows: Vec<LatencyRow>,
    pub elapsed_seconds: f64,
    pub requests_total: u64,
    /// Over the configured run time (the drain of in-flight iterations after it is left out).
    pub requests_per_second: f64,
    /// Requests that got a wrong answer (status, Location, page marker) or none.
    pub errors_total: u64,
    pub error_rate: f64,
    /// Completed logins of any kind per second (password, SSO relogin, forums SSO), over the
    /// configured run time.
    pub logins_per_second: f64,
    /// Password logins per second, over the configured run time.
    pub password_logins_per_second: f64,
    pub status_codes: std::collections::BTreeMap<String, u64>,
    pub error_kinds: std::collections::BTreeMap<String, u64>,
    /// One entry per whole second of the run.
    pub timeline: Vec<TimelinePoint>,
    pub pacing: Pacing,
    pub stolen_session: StolenSessionResults,
    /// Goose's own reports, relative to the run directory (none unless asked for).
    pub goose_reports: Vec<String>,
    /// The load generator itself: its CPU, the stack's, its timer lag, its ceiling.
    pub generator: GeneratorResults,
    /// Whether the generator, not the system, set the pace, and what did otherwise.
    pub generator_bound: GeneratorBound,
    /// Each `--fault` of the run and what users went through (empty without faults).
    #[serde(default)]
    pub faults: Vec<FaultResult>,
    /// Users sent to `/login` because their session was gone.
    #[serde(default)]
    pub bounces: Bounces,
    /// Waits users made after a 503, as its `Retry-After` asked.
    #[serde(default)]
    pub retry_waits: RetryWaits,
    /// Requests each service instance got, in the order the run knew them (IdP, every store
    /// instance, every forums instance): a service of several instances is taken in turn,
    /// request by request.
    #[serde(default)]
    pub instances: Vec<InstanceRequests>,
    /// The host that ran the generator (several, comma-separated, in a merge of hosts' files).
    #[serde(default)]
    pub host: String,
    /// Wall-clock start of the measured run, seconds since the epoch (the timeline's zero and
    /// the interval logs' `StartTime`).
    #[serde(default)]
    pub measured_started_unix: f64,
    /// A merged run's load generators, one entry each (empty for a run of one generator).
    #[serde(default)]
    pub workers: Vec<WorkerResult>,
    /// A worker's wall clock against its coordinator's, measured before the release (absent
    /// for a run not started by a coordinator).
    #[serde(default)]
    pub clock: Option<ClockOffset>,
    /// Samples that reached the interval logs after their second was written, and were filed
    /// in a later one (their user sat inside one request longer than the logs' grace).
    #[serde(default)]
    pub hlog_late_samples: u64,
    /// Connections and TLS handshakes.
    #[serde(default)]
    pub transport: Transport,
    /// How logins through the provider's pages ended.
    #[serde(default)]
    pub login_outcomes: LoginOutcomes,
    /// What the users cost the generator (absent before schema 6).
    #[serde(default)]
    pub users: Option<UserCost>,
    /// What each component of the stack cost against the operations its services counted
    /// (a stack whose services run as processes of their own only; not merged across workers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub costs: Option<crate::costs::Costs>,
    /// What failed late in the run, one sentence each (a log that could not be written, the
    /// attack failing after its users started): these results hold what was measured.
    #[serde(default)]
    pub problems: Vec<String>,
    /// The warm-up at the start of the attack (`None`: the run had none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_up: Option<WarmUp>,
}

/// A run's warm-up: the first seconds of its attack, unmeasured; every other figure of the
/// results counts from its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmUp {
    /// Its longest (`--warm-up`, or the ramp-up when longer), seconds from the attack's start.
    pub limit_seconds: u64,
    /// The rule that may end it sooner, in words (`None`: a fixed warm-up).
    pub rule: Option<String>,
    /// When measuring started, seconds from the attack's start.
    pub seconds: u64,
    /// Whether the rule ended it (`false`: it ran to its limit).
    pub settled: bool,
    /// Requests answered (or not) in each of its seconds.
    pub requests: Vec<u64>,
}

/// One load generator of a merged run: its own figures beside the merged ones, so one
/// saturated worker shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerResult {
    /// The worker's run directory, relative to the merged run's.
    pub dir: String,
    pub host: String,
    pub users: usize,
    pub requests_total: u64,
    pub requests_per_second: f64,
    pub errors_total: u64,
    /// Generator CPU cores the worker used over the run time.
    pub cpu_cores: f64,
    pub threads: usize,
    pub requests_per_core: f64,
    /// Its timer lag (microseconds).
    pub lag_us: Percentiles,
    /// Whether the worker itself was the limit of its share of the load.
    pub generator_bound: bool,
    /// What limited it, in a few words.
    pub limit: String,
    /// How far its wall clock was ahead of the coordinator's (negative: behind), in ms.
    #[serde(default)]
    pub clock_offset_ms: Option<f64>,
}

/// A generator's wall clock against its coordinator's: how far ahead (negative: behind), over
/// the exchange with the smallest round trip, so known to within half that round trip.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClockOffset {
    pub offset_ms: f64,
    pub round_trip_ms: f64,
}

/// Requests one service instance got from the generator (answered or not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceRequests {
    pub service: Service,
    /// The instance's base URL.
    pub url: String,
    pub requests: u64,
}

/// One fault of a run, and what the users went through. Times in milliseconds: `began_ms`
/// and `ended_ms` from the start of the measured run (the timeline's zero), the others from
/// the moment they are named after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultResult {
    /// As given: `redis-restart@10s+3s`.
    pub spec: String,
    /// `redis-restart`, `redis-pause` or `stack-pause`.
    pub kind: String,
    pub planned_at_ms: u64,
    pub planned_down_ms: u64,
    /// When the fault was done (`None`: it never was; see `problem`).
    pub began_ms: Option<f64>,
    /// When it was undone: the restarted server answered PING, or the paused one was continued.
    pub ended_ms: Option<f64>,
    /// From `began_ms` to the first failed answer.
    pub first_error_after_ms: Option<f64>,
    /// From `ended_ms` to the first good answer.
    pub first_success_after_ms: Option<f64>,
    /// From `ended_ms` to the start of the first whole timeline second, beginning at or after
    /// it, in which under 1% of the requests failed (`None`: none before the run ended). One
    /// second's resolution.
    pub recovered_after_ms: Option<f64>,
    /// Failed requests from the second the fault began to the second it recovered in.
    pub requests_failed: u64,
    /// Users whose session was gone when they next came back (bounced to `/login`).
    pub sessions_lost: u64,
    /// Users logged in again after losing their session: silently by the IdP's SSO session,
    /// or with a password (the SSO session was gone too).
    pub relogins_sso: u64,
    pub relogins_password: u64,
    /// Carts that held lines when their session was lost, and the lines in them; plus lines
    /// missing from carts whose session survived.
    pub carts_lost: u64,
    pub cart_lines_lost: u64,
    /// The store's live-session count just before the fault and once recovered (in-process
    /// runs, counted once a second in runs with faults; a cross-check, not a measurement).
    pub sessions_alive_before: Option<u64>,
    pub sessions_alive_after: Option<u64>,
    /// What went wrong doing or undoing the fault, if anything.
    pub problem: Option<String>,
    /// The fault in plain words.
    pub verdict: String,
}

/// Users bounced to `/login` because their session was gone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bounces {
    /// Inside a fault's reach (a session alive before the fault ended): counted as lost
    /// sessions of that fault, not as failures.
    pub expected: u64,
    /// Outside any fault: a session that ended early, counted as a failure.
    pub unexpected: u64,
}

/// Waits after 503 answers, as their `Retry-After` asked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RetryWaits {
    pub count: u64,
    pub total_ms: f64,
}

/// The load generator's own figures, over the configured run time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorResults {
    /// Worker threads of the generator's runtime.
    pub threads: usize,
    /// Worker threads of the in-process stack's runtime (`None` with `--target`).
    pub stack_threads: Option<usize>,
    /// CPU cores the generator used: every thread of the load runner outside the stack's
    /// runtime (goose's control loop and the sampler included).
    pub cpu_cores: f64,
    /// CPU cores the stack used (`None` when unknown: `--target` without `--target-pid`).
    pub stack_cpu_cores: Option<f64>,
    /// What `stack_cpu_cores` covers.
    pub stack_cpu_source: String,
    /// Requests per second per core the generator used.
    pub requests_per_core: f64,
    /// How late a 1 ms sleep on the generator's runtime woke, microseconds.
    pub lag_us: Percentiles,
    /// This machine's calibrated generator ceiling, when `loadtest calibrate` has run here.
    pub calibration: Option<Calibration>,
    pub connections_opened: u64,
    /// Requests sent again on a new connection because the server had closed an idle one.
    pub resent: u64,
    /// CPU the hypervisor gave other guests over the measured window, cores: time neither
    /// side got, which a pinned run cannot avoid (`None` where the host does not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_steal_cores: Option<f64>,
    /// Its cgroup's CPU limit and how often it held the generator back over the attack (warm-up
    /// included; `None` where the system does not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_throttling: Option<CpuThrottling>,
}

/// A CPU limit's hold on a process: the scheduler's periods, those in which the quota ran out
/// and the process waited for the next, and how long it waited.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CpuThrottling {
    /// The limit, cores (`None`: no limit).
    pub limit_cores: Option<f64>,
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_seconds: f64,
}

impl CpuThrottling {
    /// Share of the periods in which the process was throttled (`None` without periods).
    pub fn share(&self) -> Option<f64> {
        (self.periods > 0).then(|| self.throttled_periods as f64 / self.periods as f64)
    }
}

/// What the generator's users cost it: how long they took to start, and its memory with them
/// (schema 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserCost {
    pub users_planned: u64,
    pub users_started: u64,
    /// Starting every user was to take this long (users ÷ `--ramp-rate`, or 1 s).
    pub ramp_up_planned_seconds: f64,
    /// From the start of the attack to the last user's start (`None`: not every user started).
    pub all_started_after_seconds: Option<f64>,
    /// The generator's resident memory just before its users started, bytes.
    pub rss_before_bytes: Option<u64>,
    /// Its highest reading during the run.
    pub rss_peak_bytes: Option<u64>,
    /// At steady state: the median of its readings once every user had started (`None` when no
    /// reading came after).
    pub rss_steady_bytes: Option<u64>,
    /// (steady − before) ÷ users started: what one user costs in resident memory, its open
    /// connections' buffers included (the kernel's socket buffers are not in it).
    pub rss_per_user_bytes: Option<f64>,
    /// The most descriptors the generator held open at once.
    pub open_files_peak: Option<u64>,
    /// Connections opened per second over the measured window: the churn an idle limit
    /// shorter than the think time causes.
    #[serde(default)]
    pub new_connections_per_second: Option<f64>,
    /// The most TCP sockets in TIME_WAIT on this host at once, and the most kernel memory its
    /// TCP sockets held, bytes (both the whole host's).
    #[serde(default)]
    pub host_time_wait_peak: Option<u64>,
    #[serde(default)]
    pub host_tcp_memory_peak_bytes: Option<u64>,
    /// The most connections the stack held at once (see `TimelinePoint::stack_connections`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_connections_peak: Option<u64>,
    /// Connections the stack answered 503 and closed for being over its `--max-connections`,
    /// every service together: counted when it ran in the load runner's process (a separate
    /// `serve` says its own count when it stops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_refused_over_cap: Option<u64>,
}

/// What `loadtest calibrate` measured on a machine: the generator's ceiling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Requests per second per generator core against a trivial endpoint.
    pub requests_per_core: f64,
    pub requests_per_second: f64,
    pub generator_threads: usize,
    pub users: usize,
    /// RFC 3339, UTC.
    pub measured_at: String,
    /// The machine key the figure is kept under.
    pub machine: String,
}

/// The run's own verdict on what limited it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorBound {
    /// The generator, not the system, set the pace: its CPU, its timer lag or its calibrated
    /// ceiling reached a limit (see `reasons`).
    pub bound: bool,
    /// What limited the run: `generator`, `stack`, `machine` (both sides together saturated
    /// its cores) or `target rate` (an open-model run that kept its pace).
    pub limit: String,
    /// Every rule that fired, by name (`generator_cpu`, `generator_lag`, `generator_ceiling`,
    /// `stack_cpu`, `machine_cpu`, `target_rate`, `stack_latency`), with the figures.
    pub reasons: Vec<BoundReason>,
    /// Plain words: what limited the run and what to do about it.
    pub verdict: String,
}

/// One rule of the generator-bound verdict that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundReason {
    pub rule: String,
    pub detail: String,
}

/// What the run was asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadRunConfig {
    pub backend: Backend,
    /// Where the stack ran.
    pub target: StackPlacement,
    /// Store and forums instances (each a process with `--instances`; as many as `--target`
    /// URLs otherwise).
    #[serde(default = "one_instance")]
    pub instances: u32,
    /// Load generators whose runs were merged into this one (1: a single `loadtest`).
    #[serde(default = "one_instance")]
    pub workers: u32,
    pub users: usize,
    pub run_time_seconds: u64,
    /// Scenario name and weight.
    pub scenarios: Vec<(String, usize)>,
    /// Target iterations per second across all users (`None`: closed model).
    pub target_rate: Option<f64>,
    pub store_idle_timeout_ms: u64,
    pub store_absolute_timeout_ms: u64,
    pub prefill_sessions: u64,
    /// The users' think time after each transaction (`--wait`), (min, max) milliseconds.
    pub wait_ms: Option<(u64, u64)>,
    /// Users started per second (`--ramp-rate`; `None`: every user within the first second).
    #[serde(default)]
    pub ramp_rate: Option<f64>,
    /// The CPU each session lookup of the run's stack spent besides its own (`--handicap`, a
    /// test device), microseconds; absent without one, or against `--target`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup_handicap_us: Option<f64>,
    pub cart_reads: u32,
    pub stolen_window_ms: u64,
    pub replay_interval_ms: u64,
    /// How the IdP the run started signed its tokens (`None`: not known, the stack was
    /// `--target`'s).
    #[serde(deserialize_with = "known_or_unknown")]
    pub signing_algorithm: Option<SigningAlgorithm>,
    /// How the IdP the run started checked passwords (`None`: not known, with `--target`).
    #[serde(deserialize_with = "known_or_unknown")]
    pub password_hashing: Option<PasswordHashing>,
    pub request_timeout_ms: u64,
    /// Whether goose's own metrics and reports were on (`--goose-reports`).
    pub goose_metrics: bool,
    /// This run's turn among repetitions of the same settings (1-based; 1 for a lone run).
    pub repetition: u32,
    /// The comparison arm this run belongs to (`dashmap-2`, `dashmap-handicap-150us`); absent
    /// for a run outside a comparison, whose arm is its backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm: Option<String>,
    /// Unmeasured load on the same stack before the measured run, milliseconds.
    pub warm_up_ms: u64,
    /// `--fault` as given, in order.
    #[serde(default)]
    pub faults: Vec<String>,
    /// Persistence of the redis-server the run started (`none` otherwise).
    #[serde(default)]
    pub redis_persistence: Persistence,
    /// Every host that received load, as resolved at the start.
    #[serde(default)]
    pub target_hosts: Vec<TargetHost>,
    /// `--users-file`, if the accounts came from one, and how many it held.
    #[serde(default)]
    pub users_file: Option<String>,
    #[serde(default)]
    pub accounts: u64,
    /// `--login-form`, `--username-field`, `--password-field`, `--max-form-steps`.
    #[serde(default)]
    pub login_form: Option<String>,
    #[serde(default)]
    pub username_field: Option<String>,
    #[serde(default)]
    pub password_field: Option<String>,
    #[serde(default)]
    pub max_form_steps: u8,
    /// The windows a long run's figures are judged in for drift (`--soak-window`), seconds;
    /// absent: one minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soak_window_seconds: Option<u64>,
}

impl LoadRunConfig {
    /// The signing algorithm as reports show it (`unknown (--target)` where the run did not
    /// start the stack).
    pub fn signing_algorithm_name(&self) -> &'static str {
        self.signing_algorithm
            .map_or(UNKNOWN_SETTING, SigningAlgorithm::jws_name)
    }

    /// The password hashing as reports show it.
    pub fn password_hashing_name(&self) -> &'static str {
        self.password_hashing
            .map_or(UNKNOWN_SETTING, PasswordHashing::name)
    }
}

/// What reports show for a setting of a stack the run did not start.
pub const UNKNOWN_SETTING: &str = "unknown (--target)";

/// `1`: one instance, one worker (what files from before these fields meant).
fn one_instance() -> u32 {
    1
}

/// One hop's or flow's latency, raw and corrected for coordinated omission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyRow {
    pub name: String,
    pub count: u64,
    pub errors: u64,
    pub raw_us: Percentiles,
    /// Corrected with each user's intended interval (open model); equal to raw in a closed run.
    pub corrected_us: Percentiles,
    /// (percentile, microseconds) pairs of the raw distribution, for spectrum charts.
    pub spectrum_us: Vec<(f64, f64)>,
    /// Where a hop's time went: connecting, the TLS handshake, the wait for the first byte
    /// (hops only; absent in files from before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<Phases>,
}

/// A hop's time by part, as means over its answered samples, microseconds. A hop's time is
/// connect + handshake (for the requests that opened a connection) + the request to the
/// answer's complete head, whose first byte `first_byte_mean_us` times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phases {
    /// Requests of this hop that opened a connection.
    pub connections: u64,
    pub connect_mean_us: Option<f64>,
    /// Requests of this hop that made a TLS handshake.
    pub handshakes: u64,
    pub handshake_mean_us: Option<f64>,
    /// From writing the request to the answer's first byte, every answered sample.
    pub first_byte_mean_us: f64,
}

/// How the generator reached the services: connections, and TLS when any target was HTTPS.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transport {
    /// Connections opened (as in `generator.connections_opened`).
    pub connections_opened: u64,
    /// Connections the users closed after they sat idle past their limit (schema 6 on).
    #[serde(default)]
    pub closed_idle: u64,
    /// The users' idle limit on a connection, milliseconds (`None`: kept until the server
    /// closes it).
    #[serde(default)]
    pub keep_alive_idle_ms: Option<u64>,
    /// Connect times of the connections opened, microseconds (`None` in a merged run).
    pub connect_us: Option<Percentiles>,
    /// TLS (`None`: every target was plain HTTP).
    pub tls: Option<TlsResults>,
}

/// The run's TLS handshakes and settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TlsResults {
    pub handshakes_full: u64,
    /// Abbreviated handshakes that resumed an earlier session.
    pub handshakes_resumed: u64,
    /// Handshakes of TLS 1.3 (the others were 1.2).
    pub handshakes_tls13: u64,
    /// Handshake times, microseconds (`None` without any of that kind, or in a merged run).
    pub handshake_full_us: Option<Percentiles>,
    pub handshake_resumed_us: Option<Percentiles>,
    /// Whose resumption cache a browser uses: `per-user`, `shared` or `off`.
    pub resumption: String,
    /// Certificates were not verified (`--insecure`).
    pub insecure: bool,
    /// The private CA trusted besides the platform's roots (`--ca-cert`).
    pub ca_cert: Option<String>,
}

/// How logins through the provider's pages ended. Only `completed` logins count as logins;
/// the others are failures, named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginOutcomes {
    pub completed: u64,
    /// The login form came back after the password: a wrong password, a locked account, a
    /// validation error.
    pub form_again: u64,
    /// 429 Too Many Requests.
    pub rate_limited: u64,
    /// An error status, or a page without a form to go on with.
    pub error_page: u64,
    /// More form pages than `--max-form-steps`, or too many redirects.
    pub too_many_steps: u64,
    /// A password asked where the provider's SSO session should have logged the user in.
    pub password_asked: u64,
}

impl LoginOutcomes {
    /// Every login that did not complete.
    pub fn failed(&self) -> u64 {
        self.form_again
            + self.rate_limited
            + self.error_page
            + self.too_many_steps
            + self.password_asked
    }

    pub fn add(&mut self, other: &LoginOutcomes) {
        self.completed += other.completed;
        self.form_again += other.form_again;
        self.rate_limited += other.rate_limited;
        self.error_page += other.error_page;
        self.too_many_steps += other.too_many_steps;
        self.password_asked += other.password_asked;
    }
}

/// Where the load went: each service's hosts as resolved at the start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetHost {
    pub service: Service,
    /// The instance's base URL.
    pub url: String,
    /// The addresses its name resolved to, taken in turn by new connections.
    pub addresses: Vec<String>,
}

/// Per-second counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    pub second: u64,
    /// When this sample was taken, seconds since sampling began (rates divide by this rather
    /// than assume each sample spans exactly one second).
    pub elapsed_seconds: f64,
    /// Requests sent in that second, answered or not.
    pub requests: u64,
    pub errors: u64,
    pub logins: u64,
    pub password_logins: u64,
    /// Scenario iterations started in that second.
    pub iterations: u64,
    /// Users bounced to `/login` in that second (their session was gone).
    #[serde(default)]
    pub bounces: u64,
    /// The store app's live sessions, as last counted (counted every second in memory, every
    /// five on Redis; by the store itself at `/ssobench/sessions` when the stack runs in
    /// processes of its own, summed over instances that each hold their own).
    pub store_sessions_alive: Option<u64>,
    /// The memory the store's backend held outside the apps, bytes, as last read (Redis's
    /// `used_memory`, every key on it: the IdP's SSO sessions too); absent in memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_memory_bytes: Option<u64>,
    /// Each stack process's resident memory at the end of that second, bytes, by the name it
    /// is known by (`idp`, `store`, `store 2`, `redis-server 6379`, ...): a stack in processes
    /// of its own (`--instances`, `--stack-processes`, `--target-pid`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub stack_rss_bytes: std::collections::BTreeMap<String, u64>,
    /// Percentiles of every hop completed in that second, microseconds (0 when none was).
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p99_9_us: f64,
    /// Requests of that second by HTTP status (`"no answer"` for none).
    pub status_codes: std::collections::BTreeMap<String, u64>,
    /// CPU cores the generator used in that second.
    pub generator_cpu_cores: f64,
    /// CPU cores the stack used in that second (`None` when unknown).
    pub stack_cpu_cores: Option<f64>,
    /// CPU the hypervisor gave other guests in that second, cores (the host's `/proc/stat`
    /// steal; absent before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_steal_cores: Option<f64>,
    /// The generator's timer lag in that second, microseconds.
    pub lag_p99_us: f64,
    pub lag_max_us: f64,
    /// Users started by the end of that second (absent before schema 6).
    #[serde(default)]
    pub users: Option<u64>,
    /// The generator's resident memory at the end of that second, bytes.
    #[serde(default)]
    pub generator_rss_bytes: Option<u64>,
    /// Descriptors the generator held open (its connections, mostly).
    #[serde(default)]
    pub generator_open_files: Option<u64>,
    /// Connections the stack held open at the end of that second: counted by its servers when
    /// it ran in the load runner's process; the descriptors of its processes otherwise
    /// (`--target-pid`, `--instances`); absent when nothing tells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_connections: Option<u64>,
    /// Connections the generator opened in that second (a user's first visit, or one after its
    /// connection was closed while it was idle).
    #[serde(default)]
    pub connections_opened: Option<u64>,
    /// This host's TCP sockets in TIME_WAIT (every process's; `/proc/net/sockstat`).
    #[serde(default)]
    pub host_time_wait: Option<u64>,
    /// This host's TCP socket buffers, bytes: the kernel's memory, outside any RSS.
    #[serde(default)]
    pub host_tcp_memory_bytes: Option<u64>,
}

/// Open-model pacing: what was asked and what was delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pacing {
    pub target_rate: Option<f64>,
    pub achieved_rate: f64,
    pub iterations: u64,
    /// Iterations that started later than scheduled.
    pub late: u64,
    /// Scheduled iterations skipped because the user was more than one interval behind.
    pub dropped: u64,
}

/// What the stolen-session scenario saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StolenSessionResults {
    pub observations: u64,
    /// How long the replayed cookie stayed usable, capped by the observation window.
    pub usable_ms: Percentiles,
    pub window_ms: u64,
    /// Observations where the cookie still worked when the window closed.
    pub outlived_window: u64,
    /// Replays after the victim's logout that were refused (must be all of them).
    pub refused_after_logout: u64,
    pub served_after_logout: u64,
}

/// Writes a load run's `results.json` into `run_dir`.
pub fn write_load(run_dir: &Path, results: &LoadRunResults) -> Result<(), ResultsError> {
    write_json(&run_dir.join(RESULTS_FILE), results)
}

/// Either kind of run, as read from a run directory.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyResults {
    Load(Box<LoadRunResults>),
    Store(Box<StoreRunResults>),
}

/// Reads a run directory's `results.json` of either kind, checking the schema version first so
/// that an old file gets a message saying what it is.
pub fn read_any(run_dir: &Path) -> Result<AnyResults, ResultsError> {
    let path = run_dir.join(RESULTS_FILE);
    let header: Header = read_json(&path)?;
    if !(u64::from(OLDEST_READ)..=u64::from(SCHEMA_VERSION)).contains(&header.schema_version) {
        return Err(ResultsError::Version {
            path: path.display().to_string(),
            found: header.schema_version,
        });
    }
    if header.kind.as_deref() != Some("load") && header.operations.is_some() {
        return read_json(&path).map(|r| AnyResults::Store(Box::new(r)));
    }
    read_json(&path).map(|r| AnyResults::Load(Box::new(r)))
}

/// Reads a load run's `results.json` from `run_dir`; a store-level run's is refused by name.
pub fn read_load(run_dir: &Path) -> Result<LoadRunResults, ResultsError> {
    match read_any(run_dir)? {
        AnyResults::Load(results) => Ok(*results),
        AnyResults::Store(_) => Err(ResultsError::StoreRun {
            path: run_dir.join(RESULTS_FILE).display().to_string(),
        }),
    }
}

/// The fields that tell a results file's kind and version apart.
#[derive(Deserialize)]
struct Header {
    schema_version: u64,
    kind: Option<String>,
    operations: Option<serde::de::IgnoredAny>,
}

/// Where a run's stack ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StackPlacement {
    /// In the load runner's process.
    InProcess,
    /// Started by the run as processes of its own (`--instances`, `--workers`).
    Processes,
    /// Already running, at these store URLs (`--target`).
    Target(Vec<String>),
}

impl std::fmt::Display for StackPlacement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StackPlacement::InProcess => f.write_str("in-process"),
            StackPlacement::Processes => f.write_str("processes"),
            StackPlacement::Target(urls) => f.write_str(&urls.join(",")),
        }
    }
}

impl<'de> Deserialize<'de> for StackPlacement {
    /// Version 5's form, or version 4's text (`in-process`, `processes` or the URLs joined
    /// by commas).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "kebab-case")]
        enum Tagged {
            Target(Vec<String>),
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Text(String),
            Tagged(Tagged),
        }
        Ok(match Wire::deserialize(deserializer)? {
            Wire::Text(text) => match text.as_str() {
                "in-process" => StackPlacement::InProcess,
                "processes" => StackPlacement::Processes,
                urls => StackPlacement::Target(urls.split(',').map(str::to_owned).collect()),
            },
            Wire::Tagged(Tagged::Target(urls)) => StackPlacement::Target(urls),
        })
    }
}

/// A setting of the stack, or nothing where the run did not start the stack: version 5 writes
/// `null` there, version 4 wrote `unknown (--target)`.
fn known_or_unknown<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire<T> {
        Known(T),
        Unknown(Option<String>),
    }
    match Wire::<T>::deserialize(deserializer)? {
        Wire::Known(value) => Ok(Some(value)),
        Wire::Unknown(None) => Ok(None),
        Wire::Unknown(Some(text)) if text.starts_with("unknown") => Ok(None),
        Wire::Unknown(Some(text)) => Err(serde::de::Error::custom(format!(
            "{text:?} is no known setting"
        ))),
    }
}

/// The file a comparison writes at the top of its folder: how its rounds went.
pub const ROUNDS_FILE: &str = "rounds.json";

/// Why a comparison stopped adding rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoundsStopped {
    /// It ran the rounds asked for (`--repeat`).
    Planned,
    /// Every pair's interval came within the precision asked for (`--precision`).
    PrecisionReached,
    /// The time budget (`--max-time`) would have run out in another round.
    TimeBudget,
    /// The most rounds a comparison runs.
    RoundLimit,
}

/// How a comparison's rounds went: one round runs every arm once, in a rotated order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rounds {
    /// The arms as given (`dashmap+handicap=150us`), in order.
    pub arms: Vec<String>,
    /// Each arm's name in folders, results and reports (`dashmap-2`), in the same order.
    pub names: Vec<String>,
    /// The precision asked for: each pair's 95% interval within ±this share of its ratio, on
    /// the log scale (`--precision 10%`: 0.10); absent with a fixed `--repeat`.
    pub precision: Option<f64>,
    /// Rounds run before the precision rule may stop the comparison.
    pub min_rounds: u32,
    /// The rounds asked for with `--repeat`, or the most the rule allows.
    pub planned_rounds: u32,
    /// The time budget (`--max-time`), seconds.
    pub max_time_seconds: Option<f64>,
    /// Rounds run.
    pub rounds: u32,
    /// The comparison's wall time, seconds.
    pub elapsed_seconds: f64,
    pub stopped: RoundsStopped,
    /// The widest pair's interval reach when it stopped (0.12: ±12%); absent below two rounds.
    pub widest_reach: Option<f64>,
}

/// Writes a comparison's `rounds.json` into `dir`.
pub fn write_rounds(dir: &Path, rounds: &Rounds) -> Result<(), ResultsError> {
    write_json(&dir.join(ROUNDS_FILE), rounds)
}

/// Reads a comparison's `rounds.json` from `dir`, when it has one.
pub fn read_rounds(dir: &Path) -> Result<Option<Rounds>, ResultsError> {
    let path = dir.join(ROUNDS_FILE);
    if !path.exists() {
        return Ok(None);
    }
    read_json(&path).map(Some)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ResultsError> {
    let text = std::fs::read_to_string(path).map_err(|source| ResultsError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ResultsError::Format {
        path: path.display().to_string(),
        source,
    })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ResultsError> {
    let text = serde_json::to_string_pretty(value).map_err(|source| ResultsError::Format {
        path: path.display().to_string(),
        source,
    })?;
    std::fs::write(path, text).map_err(|source| ResultsError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StoreRunResults {
        StoreRunResults {
            schema_version: SCHEMA_VERSION,
            started_at: "2026-11-24T15:00:00Z".into(),
            config: StoreRunConfig {
                backend: Backend::Dashmap,
                tasks: 4,
                duration_seconds: 2,
                prefill_sessions: 10,
                mix: vec![("load_and_extend".into(), 950)],
                idle_timeout_ms: 1_800_000,
                absolute_timeout_ms: 28_800_000,
                repetition: 1,
                arm: None,
                lookup_handicap_us: None,
            },
            environment: Environment {
                cpu_model: "test cpu".into(),
                logical_cpus: 2,
                kernel: "6.1".into(),
                build_profile: "release".into(),
                target_features: vec!["sse2".into()],
                allocator: "system".into(),
                hasher: "siphash".into(),
                dashmap_shards: 8,
                tokio_worker_threads: 2,
                ssobench_version: "0.0.0".into(),
                cores: Some(CoreSplit {
                    generator: vec![0],
                    stack: vec![1],
                }),
            },
            operations: vec![OperationResult {
                operation: "load_and_extend".into(),
                count: 100,
                errors: 1,
                latency_us: Percentiles {
                    mean: 0.5,
                    p50: 0.4,
                    p90: 0.9,
                    p99: 2.0,
                    p99_9: 8.5,
                    max: 30.0,
                },
            }],
            operations_per_second_timeline: vec![50, 50],
            total_operations: 100,
            total_errors: 1,
            elapsed_seconds: 2.0,
            operations_per_second: 50.0,
            live_sessions_at_end: 10,
        }
    }

    #[test]
    fn written_results_read_back_equal() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), &sample()).expect("write");
        assert_eq!(read(dir.path()).expect("read"), sample());
    }

    #[test]
    fn rounds_read_back_equal_and_a_folder_without_them_has_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(read_rounds(dir.path()).expect("read"), None);
        let rounds = Rounds {
            arms: vec!["dashmap".into(), "dashmap+handicap=150us".into()],
            names: vec!["dashmap".into(), "dashmap-handicap-150us".into()],
            precision: Some(0.1),
            min_rounds: 5,
            planned_rounds: 1000,
            max_time_seconds: Some(1800.0),
            rounds: 7,
            elapsed_seconds: 301.5,
            stopped: RoundsStopped::PrecisionReached,
            widest_reach: Some(0.083),
        };
        write_rounds(dir.path(), &rounds).expect("write");
        assert_eq!(read_rounds(dir.path()).expect("read"), Some(rounds));
        let text = std::fs::read_to_string(dir.path().join(ROUNDS_FILE)).expect("text");
        assert!(text.contains("\"precision-reached\""), "{text}");
    }

    #[test]
    fn a_foreign_file_is_a_format_error_naming_the_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(RESULTS_FILE), r#"{"schema_version": 1}"#).expect("write");
        match read(dir.path()) {
            Err(error @ ResultsError::Format { .. }) => {
                assert!(error.to_string().contains(RESULTS_FILE), "{error}");
            }
            other => panic!("expected a format error, got {other:?}"),
        }
    }

    #[test]
    fn a_version_4_file_is_read_with_its_text_as_the_enums_and_older_ones_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut json = serde_json::to_value(sample()).expect("json");
        json["schema_version"] = 4.into();
        std::fs::write(dir.path().join(RESULTS_FILE), json.to_string()).expect("write");
        assert!(matches!(
            read_any(dir.path()),
            Ok(AnyResults::Store(results)) if results.config.backend == Backend::Dashmap
        ));
        json["schema_version"] = 3.into();
        std::fs::write(dir.path().join(RESULTS_FILE), json.to_string()).expect("write");
        let error = read_any(dir.path()).expect_err("too old");
        assert!(
            matches!(error, ResultsError::Version { found: 3, .. }),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains(&format!("schemas 4 to {SCHEMA_VERSION}")),
            "{error}"
        );
    }

    #[test]
    fn version_4_text_reads_as_the_typed_settings_and_placements() {
        #[derive(Debug, Deserialize)]
        struct Settings {
            target: StackPlacement,
            #[serde(deserialize_with = "known_or_unknown")]
            signing_algorithm: Option<SigningAlgorithm>,
            #[serde(deserialize_with = "known_or_unknown")]
            password_hashing: Option<PasswordHashing>,
        }
        let read = |json: &str| serde_json::from_str::<Settings>(json).expect(json);
        let v4 = read(
            r#"{"target": "http://127.0.0.2:1,http://127.0.0.2:2",
                "signing_algorithm": "unknown (--target)", "password_hashing": "unknown (--target)"}"#,
        );
        assert_eq!(
            v4.target,
            StackPlacement::Target(vec![
                "http://127.0.0.2:1".into(),
                "http://127.0.0.2:2".into()
            ])
        );
        assert_eq!((v4.signing_algorithm, v4.password_hashing), (None, None));
        let v4 = read(
            r#"{"target": "processes", "signing_algorithm": "ES256", "password_hashing": "argon2"}"#,
        );
        assert_eq!(v4.target, StackPlacement::Processes);
        assert_eq!(v4.signing_algorithm, Some(SigningAlgorithm::Es256));
        assert_eq!(v4.password_hashing, Some(PasswordHashing::Argon2));
        for placement in [
            StackPlacement::InProcess,
            StackPlacement::Processes,
            StackPlacement::Target(vec!["https://a:1".into()]),
        ] {
            let json = format!(
                r#"{{"target": {}, "signing_algorithm": null, "password_hashing": null}}"#,
                serde_json::to_string(&placement).expect("json")
            );
            assert_eq!(read(&json).target, placement);
        }
        assert!(
            serde_json::from_str::<Settings>(
                r#"{"target": "in-process", "signing_algorithm": "HS256", "password_hashing": null}"#
            )
            .is_err()
        );
    }

    #[test]
    fn a_missing_file_is_an_io_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(matches!(read(dir.path()), Err(ResultsError::Io { .. })));
    }
}
