//! Several load generators' runs of one load made into one run: every hop's and flow's
//! histograms added from the workers' interval logs (so the merged percentiles are those of all
//! samples, not an average of percentiles), counts and rates summed, the timeline aligned on
//! wall-clock seconds, and each worker's own generator figures kept beside the merged ones.
//!
//! Workers must share every setting but their users: the merge refuses others, naming the
//! settings that differ. Each worker's logs must hold exactly the samples its results count.

use crate::hlog::{self, HlogError, Kind, Log};
use crate::latency;
use crate::results::{
    self, BoundReason, GeneratorBound, GeneratorResults, InstanceRequests, LatencyRow,
    LoadRunResults, ResultsError, TimelinePoint, UserCost, WorkerResult,
};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The stolen cookie's series (its row in `results.json` is `stolen_session`).
pub const STOLEN: &str = "stolen";

/// Why workers could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("no worker directory to merge")]
    Empty,
    #[error(transparent)]
    Results(#[from] ResultsError),
    #[error(transparent)]
    Hlog(#[from] HlogError),
    #[error(
        "{dir}: its configuration differs from {first}'s in {fields}; the workers of one run \
         share every setting but their users"
    )]
    Differs {
        dir: String,
        first: String,
        fields: String,
    },
    #[error("{dir}: a run with faults cannot be merged (each fault belongs to one stack)")]
    Faults { dir: String },
    #[error(
        "{dir}: its measured run started {seconds:.1} s apart from {first}'s, longer than the run \
         time: not one load"
    )]
    Apart {
        dir: String,
        first: String,
        seconds: f64,
    },
    #[error(
        "{dir}: its interval logs hold {logged} samples of {series:?} but its results count \
         {counted}"
    )]
    Inconsistent {
        dir: String,
        series: String,
        logged: u64,
        counted: u64,
    },
}

/// One worker's run, read back.
#[derive(Debug, Clone)]
pub struct Worker {
    pub dir: PathBuf,
    pub results: LoadRunResults,
    pub logs: Vec<Log>,
}

impl Worker {
    /// Reads a worker's `results.json` and interval logs, and checks that they agree.
    pub fn read(dir: &Path) -> Result<Worker, MergeError> {
        let worker = Worker {
            dir: dir.to_owned(),
            results: results::read_load(dir)?,
            logs: hlog::read_dir(dir)?,
        };
        worker.check()?;
        Ok(worker)
    }

    fn log(&self, series: &str, kind: Kind) -> Option<&Log> {
        self.logs
            .iter()
            .find(|log| log.series == series && log.kind == kind)
    }

    /// Every series' raw samples in the logs equal its count in the results, and every log is
    /// of a series the results have (a log left from an earlier run in a reused directory is
    /// refused, not added).
    fn check(&self) -> Result<(), MergeError> {
        for log in &self.logs {
            let known = log.series == STOLEN
                || self
                    .results
                    .hops
                    .iter()
                    .chain(&self.results.flows)
                    .any(|row| row.name == log.series);
            if !known {
                return Err(MergeError::Inconsistent {
                    dir: self.dir.display().to_string(),
                    series: log.series.clone(),
                    logged: log.total().len(),
                    counted: 0,
                });
            }
        }
        let stolen = self.results.stolen_session.observations;
        let counted = self
            .results
            .hops
            .iter()
            .chain(&self.results.flows)
            .map(|row| (row.name.as_str(), row.count))
            .chain(std::iter::once((STOLEN, stolen)));
        for (series, counted) in counted {
            // Raw only: the corrected log holds more samples wherever a sample stood for
            // requests a stall held back.
            let logged = self
                .log(series, Kind::Raw)
                .map_or(0, |log| log.total().len());
            if logged != counted {
                return Err(MergeError::Inconsistent {
                    dir: self.dir.display().to_string(),
                    series: series.to_owned(),
                    logged,
                    counted,
                });
            }
        }
        Ok(())
    }

    fn offset(&self, base: f64) -> u64 {
        (self.started_unix() - base).round().max(0.0) as u64
    }

    /// When its measured run started, on its coordinator's clock where it was measured
    /// against one (a worker whose clock is off is put back where it belongs), else on its own.
    fn started_unix(&self) -> f64 {
        let offset = self
            .results
            .clock
            .map_or(0.0, |clock| clock.offset_ms / 1e3);
        self.results.measured_started_unix - offset
    }
}

/// The interval logs of a merged run's workers (each `worker-<k>/hlog/`), every interval moved
/// to the merged run's seconds as the merge moves that worker's timeline.
pub fn workers_logs(run_dir: &Path, merged: &LoadRunResults) -> Result<Vec<Log>, MergeError> {
    let workers = merged
        .workers
        .iter()
        .map(|worker| Worker::read(&run_dir.join(&worker.dir)))
        .collect::<Result<Vec<_>, _>>()?;
    let base = earliest_start(&workers);
    Ok(workers
        .into_iter()
        .flat_map(|worker| {
            let offset = worker.offset(base);
            worker.logs.into_iter().map(move |mut log| {
                for (second, _) in &mut log.intervals {
                    *second += offset;
                }
                log
            })
        })
        .collect())
}

/// When the earliest of `workers` started measuring: second 0 of their merged run.
fn earliest_start(workers: &[Worker]) -> f64 {
    workers
        .iter()
        .map(Worker::started_unix)
        .fold(f64::INFINITY, f64::min)
}

/// Reads every worker directory and merges them; the merged run's directory is `out_dir`
/// (worker directories are named relative to it).
pub fn merge_dirs(dirs: &[PathBuf], out_dir: &Path) -> Result<LoadRunResults, MergeError> {
    let workers = dirs
        .iter()
        .map(|dir| Worker::read(dir))
        .collect::<Result<Vec<_>, _>>()?;
    merge(&workers, out_dir)
}

/// The settings in which two configurations differ (users aside), by name.
fn differing(first: &LoadRunResults, other: &LoadRunResults) -> Vec<String> {
    let value = |results: &LoadRunResults| {
        let mut value = serde_json::to_value(&results.config).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.remove("users");
            // Each worker has its share of the rate; what must match is each user's pace.
            if let Some(rate) = results.config.target_rate {
                let pace = rate / results.config.users.max(1) as f64;
                map.insert(
                    "target_rate".into(),
                    serde_json::json!(format!("{pace:.6}/user")),
                );
            }
        }
        value
    };
    let (first, other) = (value(first), value(other));
    let (Some(first), Some(other)) = (first.as_object(), other.as_object()) else {
        return vec!["configuration".into()];
    };
    let mut keys: Vec<&String> = first.keys().chain(other.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| first.get(*key) != other.get(*key))
        .cloned()
        .collect()
}

/// The sum of two optional counts: either alone when the other is missing.
fn added_option(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    }
}

/// What the users cost the workers together: counts and memory added over the processes, the
/// last worker's start the whole run's; `None` when some worker did not state it.
fn merged_user_cost(workers: &[Worker]) -> Option<UserCost> {
    let costs: Vec<&UserCost> = workers
        .iter()
        .map(|worker| worker.results.users.as_ref())
        .collect::<Option<_>>()?;
    let sum = |field: fn(&UserCost) -> Option<u64>| {
        costs.iter().map(|cost| field(cost)).sum::<Option<u64>>()
    };
    let users_started = costs.iter().map(|cost| cost.users_started).sum::<u64>();
    let rss_before_bytes = sum(|cost| cost.rss_before_bytes);
    let rss_steady_bytes = sum(|cost| cost.rss_steady_bytes);
    Some(UserCost {
        users_planned: costs.iter().map(|cost| cost.users_planned).sum(),
        users_started,
        ramp_up_planned_seconds: costs
            .iter()
            .map(|cost| cost.ramp_up_planned_seconds)
            .fold(0.0, f64::max),
        all_started_after_seconds: costs
            .iter()
            .map(|cost| cost.all_started_after_seconds)
            .collect::<Option<Vec<f64>>>()
            .map(|each| each.into_iter().fold(0.0, f64::max)),
        rss_before_bytes,
        // Each worker's own peak, added: at most what they held together.
        rss_peak_bytes: sum(|cost| cost.rss_peak_bytes),
        rss_steady_bytes,
        rss_per_user_bytes: match (rss_steady_bytes, rss_before_bytes) {
            (Some(steady), Some(before)) if users_started > 0 => {
                Some((steady as f64 - before as f64) / users_started as f64)
            }
            _ => None,
        },
        open_files_peak: sum(|cost| cost.open_files_peak),
        new_connections_per_second: costs
            .iter()
            .map(|cost| cost.new_connections_per_second)
            .sum::<Option<f64>>(),
        // The host's figures: the largest any worker saw.
        host_time_wait_peak: costs
            .iter()
            .filter_map(|cost| cost.host_time_wait_peak)
            .max(),
        host_tcp_memory_peak_bytes: costs
            .iter()
            .filter_map(|cost| cost.host_tcp_memory_peak_bytes)
            .max(),
        // The stack's: read by the one worker given its processes, if any.
        stack_connections_peak: costs
            .iter()
            .filter_map(|cost| cost.stack_connections_peak)
            .max(),
        stack_refused_over_cap: costs
            .iter()
            .filter_map(|cost| cost.stack_refused_over_cap)
            .max(),
    })
}

/// Merges workers' runs of one load.
pub fn merge(workers: &[Worker], out_dir: &Path) -> Result<LoadRunResults, MergeError> {
    let first = workers.first().ok_or(MergeError::Empty)?;
    let mut merged = merge_figures(workers, first, out_dir)?;
    merged.generator_bound = merged_bound(workers, &merged);
    Ok(merged)
}

/// Everything but the verdict.
fn merge_figures(
    workers: &[Worker],
    first: &Worker,
    out_dir: &Path,
) -> Result<LoadRunResults, MergeError> {
    for worker in workers {
        let fields = differing(&first.results, &worker.results);
        if !fields.is_empty() {
            return Err(MergeError::Differs {
                dir: worker.dir.display().to_string(),
                first: first.dir.display().to_string(),
                fields: fields.join(", "),
            });
        }
        if !worker.results.faults.is_empty() {
            return Err(MergeError::Faults {
                dir: worker.dir.display().to_string(),
            });
        }
        // Workers of one load measure the same seconds; runs that did not overlap are not one
        // load, and their rates must not be added.
        let apart = (worker.started_unix() - first.started_unix()).abs();
        if apart >= first.results.config.run_time_seconds as f64 {
            return Err(MergeError::Apart {
                dir: worker.dir.display().to_string(),
                first: first.dir.display().to_string(),
                seconds: apart,
            });
        }
    }
    let each = || workers.iter().map(|worker| &worker.results);
    let sum = |value: fn(&LoadRunResults) -> u64| each().map(value).sum::<u64>();
    let sum_f = |value: fn(&LoadRunResults) -> f64| each().map(value).sum::<f64>();
    let base = earliest_start(workers);

    let hops = merged_rows(workers, |results| &results.hops);
    let flows = merged_rows(workers, |results| &results.flows);
    let stolen_raw = added(workers, STOLEN, Kind::Raw);
    let requests_total = sum(|r| r.requests_total);
    let errors_total = sum(|r| r.errors_total);
    let requests_per_second = sum_f(|r| r.requests_per_second);
    let generator = merged_generator(workers, requests_per_second);
    let mut config = first.results.config.clone();
    config.users = each().map(|results| results.config.users).sum();
    config.target_rate = each()
        .filter_map(|results| results.config.target_rate)
        .reduce(|a, b| a + b);
    config.ramp_rate = each()
        .filter_map(|results| results.config.ramp_rate)
        .reduce(|a, b| a + b);
    config.workers = u32::try_from(workers.len()).unwrap_or(u32::MAX);
    let mut hosts: Vec<&str> = each().map(|results| results.host.as_str()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    let stolen = &first.results.stolen_session;
    Ok(LoadRunResults {
        schema_version: results::SCHEMA_VERSION,
        kind: "load".into(),
        started_at: each()
            .map(|results| results.started_at.clone())
            .min()
            .unwrap_or_default(),
        config,
        environment: first.results.environment.clone(),
        timeline: merged_timeline(workers, base, &hops),
        hops,
        flows,
        elapsed_seconds: sum_max(each().map(|results| results.elapsed_seconds)),
        requests_total,
        requests_per_second,
        errors_total,
        error_rate: if requests_total == 0 {
            0.0
        } else {
            errors_total as f64 / requests_total as f64
        },
        logins_per_second: sum_f(|r| r.logins_per_second),
        password_logins_per_second: sum_f(|r| r.password_logins_per_second),
        status_codes: summed_maps(each().map(|results| &results.status_codes)),
        error_kinds: summed_maps(each().map(|results| &results.error_kinds)),
        pacing: results::Pacing {
            target_rate: each()
                .filter_map(|results| results.pacing.target_rate)
                .reduce(|a, b| a + b),
            achieved_rate: sum_f(|r| r.pacing.achieved_rate),
            iterations: sum(|r| r.pacing.iterations),
            late: sum(|r| r.pacing.late),
            dropped: sum(|r| r.pacing.dropped),
        },
        stolen_session: results::StolenSessionResults {
            observations: sum(|r| r.stolen_session.observations),
            usable_ms: latency::percentiles(&stolen_raw).to_ms(),
            window_ms: stolen.window_ms,
            outlived_window: sum(|r| r.stolen_session.outlived_window),
            refused_after_logout: sum(|r| r.stolen_session.refused_after_logout),
            served_after_logout: sum(|r| r.stolen_session.served_after_logout),
        },
        goose_reports: Vec::new(),
        generator_bound: GeneratorBound {
            bound: false,
            limit: String::new(),
            reasons: Vec::new(),
            verdict: String::new(),
        },
        generator,
        faults: Vec::new(),
        bounces: results::Bounces {
            expected: sum(|r| r.bounces.expected),
            unexpected: sum(|r| r.bounces.unexpected),
        },
        retry_waits: results::RetryWaits {
            count: sum(|r| r.retry_waits.count),
            total_ms: sum_f(|r| r.retry_waits.total_ms),
        },
        instances: merged_instances(workers),
        host: hosts.join(", "),
        measured_started_unix: base,
        // The merged run is on the coordinator's clock (or the first worker's).
        clock: None,
        hlog_late_samples: sum(|r| r.hlog_late_samples),
        transport: merged_transport(workers),
        login_outcomes: each().fold(results::LoginOutcomes::default(), |mut total, results| {
            total.add(&results.login_outcomes);
            total
        }),
        users: merged_user_cost(workers),
        warm_up: merged_warm_up(workers),
        // Each worker read the stack's costs over its own span: summing them would count the
        // stack's CPU once per worker.
        costs: None,
        problems: workers
            .iter()
            .flat_map(|worker| {
                worker
                    .results
                    .problems
                    .iter()
                    .map(move |problem| format!("{}: {problem}", worker.results.host))
            })
            .collect(),
        workers: workers
            .iter()
            .map(|worker| worker_result(worker, out_dir))
            .collect(),
    })
}

fn sum_max(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, f64::max)
}

/// The workers' warm-up: the same fixed time for each (no settle rule across processes), its
/// requests per second summed over them.
fn merged_warm_up(workers: &[Worker]) -> Option<results::WarmUp> {
    let mut merged = workers.first()?.results.warm_up.clone()?;
    for worker in &workers[1..] {
        let Some(theirs) = &worker.results.warm_up else {
            continue;
        };
        if merged.requests.len() < theirs.requests.len() {
            merged.requests.resize(theirs.requests.len(), 0);
        }
        for (sum, requests) in merged.requests.iter_mut().zip(&theirs.requests) {
            *sum += requests;
        }
    }
    Some(merged)
}

/// Every worker's intervals of one series added up.
fn added(workers: &[Worker], series: &str, kind: Kind) -> Histogram<u64> {
    let mut total = latency::histogram();
    for log in workers.iter().filter_map(|worker| worker.log(series, kind)) {
        let _ = total.add(log.total());
    }
    total
}

/// The rows of `rows` (hops or flows) of every worker, in the order they first appear, each
/// from the workers' histograms added and their errors summed.
fn merged_rows(
    workers: &[Worker],
    rows: fn(&LoadRunResults) -> &Vec<LatencyRow>,
) -> Vec<LatencyRow> {
    let mut names: Vec<&str> = Vec::new();
    for worker in workers {
        for row in rows(&worker.results) {
            if !names.contains(&row.name.as_str()) {
                names.push(&row.name);
            }
        }
    }
    names
        .into_iter()
        .map(|name| {
            let errors = workers
                .iter()
                .flat_map(|worker| rows(&worker.results))
                .filter(|row| row.name == name)
                .map(|row| row.errors)
                .sum();
            let raw = added(workers, name, Kind::Raw);
            let corrected = added(workers, name, Kind::Corrected);
            let mut row = latency::row(name, &raw, &corrected, errors);
            row.phases = merged_phases(
                workers
                    .iter()
                    .flat_map(|worker| rows(&worker.results))
                    .filter(|row| row.name == name),
            );
            row
        })
        .collect()
}

/// Workers' means of a hop's parts, combined exactly: each mean weighted by what it counted.
fn merged_phases<'a>(rows: impl Iterator<Item = &'a LatencyRow>) -> Option<results::Phases> {
    let mut samples = 0u64;
    let mut merged = results::Phases {
        connections: 0,
        connect_mean_us: None,
        handshakes: 0,
        handshake_mean_us: None,
        first_byte_mean_us: 0.0,
    };
    let (mut connect, mut handshake, mut first_byte) = (0.0, 0.0, 0.0);
    for row in rows {
        let Some(phases) = &row.phases else {
            continue;
        };
        samples += row.count;
        merged.connections += phases.connections;
        merged.handshakes += phases.handshakes;
        connect += phases.connect_mean_us.unwrap_or(0.0) * phases.connections as f64;
        handshake += phases.handshake_mean_us.unwrap_or(0.0) * phases.handshakes as f64;
        first_byte += phases.first_byte_mean_us * row.count as f64;
    }
    if samples == 0 {
        return None;
    }
    let mean = |total: f64, count: u64| (count > 0).then(|| total / count as f64);
    merged.connect_mean_us = mean(connect, merged.connections);
    merged.handshake_mean_us = mean(handshake, merged.handshakes);
    merged.first_byte_mean_us = first_byte / samples as f64;
    Some(merged)
}

/// Workers' connection and handshake counts, summed; their percentiles are each worker's own
/// (a worker's results keep no histogram of them to add), so the merge has none.
fn merged_transport(workers: &[Worker]) -> results::Transport {
    let mut merged = results::Transport::default();
    for worker in workers {
        let transport = &worker.results.transport;
        merged.connections_opened += transport.connections_opened;
        merged.closed_idle += transport.closed_idle;
        merged.keep_alive_idle_ms = transport.keep_alive_idle_ms;
        if let Some(tls) = &transport.tls {
            let total = merged.tls.get_or_insert_with(|| results::TlsResults {
                resumption: tls.resumption.clone(),
                insecure: tls.insecure,
                ca_cert: tls.ca_cert.clone(),
                ..results::TlsResults::default()
            });
            total.handshakes_full += tls.handshakes_full;
            total.handshakes_resumed += tls.handshakes_resumed;
            total.handshakes_tls13 += tls.handshakes_tls13;
        }
    }
    merged
}

fn summed_maps<'a>(maps: impl Iterator<Item = &'a BTreeMap<String, u64>>) -> BTreeMap<String, u64> {
    let mut total = BTreeMap::new();
    for map in maps {
        for (key, value) in map {
            *total.entry(key.clone()).or_default() += value;
        }
    }
    total
}

/// Each worker's timeline moved to its wall-clock second (workers released together start
/// within a second of each other; each is moved by its start's distance from the earliest,
/// rounded to whole seconds), counts summed, CPU summed, lag the worst; every second's latency
/// percentiles from every worker's hop intervals of that second, added.
fn merged_timeline(workers: &[Worker], base: f64, hops: &[LatencyRow]) -> Vec<TimelinePoint> {
    let mut seconds: BTreeMap<u64, TimelinePoint> = BTreeMap::new();
    let mut latencies: BTreeMap<u64, Histogram<u64>> = BTreeMap::new();
    for worker in workers {
        let offset = worker.offset(base);
        for point in &worker.results.timeline {
            let second = point.second + offset;
            let merged = seconds.entry(second).or_insert_with(|| TimelinePoint {
                second,
                ..TimelinePoint::default()
            });
            merged.elapsed_seconds = merged
                .elapsed_seconds
                .max(point.elapsed_seconds + offset as f64);
            merged.requests += point.requests;
            merged.errors += point.errors;
            merged.logins += point.logins;
            merged.password_logins += point.password_logins;
            merged.iterations += point.iterations;
            merged.bounces += point.bounces;
            merged.store_sessions_alive =
                merged.store_sessions_alive.or(point.store_sessions_alive);
            // Only the worker given the stack's processes reads their memory.
            merged.backend_memory_bytes =
                merged.backend_memory_bytes.or(point.backend_memory_bytes);
            for (process, bytes) in &point.stack_rss_bytes {
                merged
                    .stack_rss_bytes
                    .entry(process.clone())
                    .or_insert(*bytes);
            }
            for (status, count) in &point.status_codes {
                *merged.status_codes.entry(status.clone()).or_default() += count;
            }
            merged.generator_cpu_cores += point.generator_cpu_cores;
            // Only the worker given the stack's processes measures them.
            merged.stack_cpu_cores = match (merged.stack_cpu_cores, point.stack_cpu_cores) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            merged.lag_p99_us = merged.lag_p99_us.max(point.lag_p99_us);
            merged.lag_max_us = merged.lag_max_us.max(point.lag_max_us);
            merged.host_steal_cores = match (merged.host_steal_cores, point.host_steal_cores) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            // Each worker is a process of its own: users, memory and descriptors add up.
            merged.users = added_option(merged.users, point.users);
            merged.generator_rss_bytes =
                added_option(merged.generator_rss_bytes, point.generator_rss_bytes);
            merged.generator_open_files =
                added_option(merged.generator_open_files, point.generator_open_files);
            merged.connections_opened =
                added_option(merged.connections_opened, point.connections_opened);
            // Only the worker given the stack's processes reads its connections.
            merged.stack_connections = merged.stack_connections.max(point.stack_connections);
            // The host's own figures: the same on every worker of one host, so the largest.
            merged.host_time_wait = merged.host_time_wait.max(point.host_time_wait);
            merged.host_tcp_memory_bytes = merged
                .host_tcp_memory_bytes
                .max(point.host_tcp_memory_bytes);
        }
        // Interval `s` of the logs is the timeline's second `s + 1`; a longer interval (a run
        // over an hour logs ten seconds each) stands for every second it spans: its samples
        // are not told apart by second, and its percentiles are each second's best estimate.
        for row in hops {
            if let Some(log) = worker.log(&row.name, Kind::Raw) {
                for (start, histogram) in &log.intervals {
                    for second in start + 1..=start + log.interval_seconds {
                        let _ = latencies
                            .entry(second + offset)
                            .or_insert_with(latency::histogram)
                            .add(histogram);
                    }
                }
            }
        }
    }
    let mut timeline: Vec<TimelinePoint> = seconds.into_values().collect();
    for point in &mut timeline {
        if let Some(histogram) = latencies.get(&point.second) {
            let p = latency::percentiles(histogram);
            (point.p50_us, point.p90_us, point.p99_us, point.p99_9_us) =
                (p.p50, p.p90, p.p99, p.p99_9);
        }
    }
    timeline
}

fn merged_generator(workers: &[Worker], requests_per_second: f64) -> GeneratorResults {
    let first = &workers[0].results.generator;
    let cpu_cores: f64 = workers.iter().map(|w| w.results.generator.cpu_cores).sum();
    let measured_stack = workers
        .iter()
        .enumerate()
        .find(|(_, worker)| worker.results.generator.stack_cpu_cores.is_some());
    let worst_lag = workers
        .iter()
        .map(|worker| worker.results.generator.lag_us.clone())
        .max_by(|a, b| a.p99.total_cmp(&b.p99))
        .unwrap_or_else(|| first.lag_us.clone());
    GeneratorResults {
        threads: workers.iter().map(|w| w.results.generator.threads).sum(),
        stack_threads: None,
        cpu_cores,
        stack_cpu_cores: measured_stack.and_then(|(_, w)| w.results.generator.stack_cpu_cores),
        stack_cpu_source: match measured_stack {
            Some((index, worker)) => format!(
                "measured by worker {}: {}",
                index + 1,
                worker.results.generator.stack_cpu_source
            ),
            None => first.stack_cpu_source.clone(),
        },
        requests_per_core: if cpu_cores > 0.0 {
            requests_per_second / cpu_cores
        } else {
            0.0
        },
        lag_us: worst_lag,
        calibration: first.calibration.clone(),
        connections_opened: workers
            .iter()
            .map(|w| w.results.generator.connections_opened)
            .sum(),
        resent: workers.iter().map(|w| w.results.generator.resent).sum(),
        // The host's: the most any worker saw (workers of one host see the same).
        host_steal_cores: workers
            .iter()
            .filter_map(|w| w.results.generator.host_steal_cores)
            .reduce(f64::max),
        // The most throttled worker's (each is judged with its own).
        cpu_throttling: workers
            .iter()
            .filter_map(|w| w.results.generator.cpu_throttling)
            .max_by(|a, b| {
                a.share()
                    .unwrap_or(0.0)
                    .total_cmp(&b.share().unwrap_or(0.0))
            }),
    }
}

/// The merged run's verdict. A worker that was generator-bound held its share of the load
/// back, so the merged run is bound too. Otherwise the run is judged again from the merged
/// figures — every worker's generator CPU together, the stack's, the machine's cores (those of
/// each distinct host) — since no worker alone sees the others' CPU: two workers each well
/// under their core can together leave the stack no room.
fn merged_bound(workers: &[Worker], merged: &LoadRunResults) -> GeneratorBound {
    let count = workers.len();
    let bound: Vec<(usize, &GeneratorBound)> = workers
        .iter()
        .enumerate()
        .filter(|(_, worker)| worker.results.generator_bound.bound)
        .map(|(index, worker)| (index + 1, &worker.results.generator_bound))
        .collect();
    let mut hosts: Vec<&str> = workers
        .iter()
        .map(|worker| worker.results.host.as_str())
        .collect();
    hosts.sort_unstable();
    hosts.dedup();
    if bound.is_empty() && hosts.len() > 1 {
        // The machine rule needs the stack's host's CPU alone: not known across hosts.
        let first = &workers[0].results.generator_bound;
        return GeneratorBound {
            verdict: format!(
                "No worker of the {count} was generator-bound; they ran on {} hosts, so the run \
                 is not judged over the machine as a whole. Worker 1's judgement: {}",
                hosts.len(),
                first.verdict
            ),
            ..first.clone()
        };
    }
    if bound.is_empty() {
        let generator = &merged.generator;
        let judged = crate::bound::judge(&crate::bound::Evidence {
            in_process: false,
            logical_cpus: workers[0].results.environment.logical_cpus,
            generator_threads: generator.threads,
            generator_cpu_cores: generator.cpu_cores,
            stack_threads: None,
            stack_processes: 0,
            stack_cpu_cores: generator.stack_cpu_cores,
            lag_p99_us: generator.lag_us.p99,
            requests_per_second: merged.requests_per_second,
            calibration: generator.calibration.clone(),
            target_rate: merged.pacing.target_rate,
            achieved_rate: merged.pacing.achieved_rate,
            think: crate::bound::Think::of(
                merged.config.wait_ms,
                crate::bound::Think::mean_users(&merged.timeline),
                &merged.hops,
                merged.elapsed_seconds,
            ),
            // Each worker's own limit was judged with its own run.
            throttling: None,
        });
        return GeneratorBound {
            verdict: format!(
                "Judged over all {count} workers together (none was generator-bound alone): {}",
                judged.verdict
            ),
            ..judged
        };
    }
    GeneratorBound {
        bound: true,
        limit: "generator".into(),
        reasons: bound
            .iter()
            .flat_map(|(index, judged)| {
                judged.reasons.iter().map(move |reason| BoundReason {
                    rule: reason.rule.clone(),
                    detail: format!("worker {index}: {}", reason.detail),
                })
            })
            .collect(),
        verdict: format!(
            "{} of the {count} workers were generator-bound, so the merged figures are the \
             generators' limit too: {}",
            bound.len(),
            bound
                .iter()
                .map(|(index, judged)| format!("worker {index}: {}", judged.verdict))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

fn merged_instances(workers: &[Worker]) -> Vec<InstanceRequests> {
    let mut merged: Vec<InstanceRequests> = Vec::new();
    for instance in workers.iter().flat_map(|w| &w.results.instances) {
        match merged
            .iter_mut()
            .find(|known| known.service == instance.service && known.url == instance.url)
        {
            Some(known) => known.requests += instance.requests,
            None => merged.push(instance.clone()),
        }
    }
    merged
}

fn worker_result(worker: &Worker, out_dir: &Path) -> WorkerResult {
    let results = &worker.results;
    WorkerResult {
        dir: crate::report::relative(&worker.dir, out_dir)
            .display()
            .to_string(),
        host: results.host.clone(),
        users: results.config.users,
        requests_total: results.requests_total,
        requests_per_second: results.requests_per_second,
        errors_total: results.errors_total,
        cpu_cores: results.generator.cpu_cores,
        threads: results.generator.threads,
        requests_per_core: results.generator.requests_per_core,
        lag_us: results.generator.lag_us.clone(),
        generator_bound: results.generator_bound.bound,
        limit: results.generator_bound.limit.clone(),
        clock_offset_ms: results.clock.map(|clock| clock.offset_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(name: &str, cpu_cores: f64, stack: Option<f64>) -> Worker {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dashmap");
        let mut results = results::read_load(&fixture).expect("fixture");
        results.host = "h".into();
        results.environment.logical_cpus = 2;
        results.generator.threads = 1;
        results.generator.cpu_cores = cpu_cores;
        results.generator.stack_cpu_cores = stack;
        results.generator.lag_us.p99 = 500.0;
        results.generator.calibration = None;
        results.generator_bound = GeneratorBound {
            bound: false,
            limit: "stack".into(),
            reasons: Vec::new(),
            verdict: "The stack's response time was the limit.".into(),
        };
        Worker {
            dir: PathBuf::from(name),
            results,
            logs: Vec::new(),
        }
    }

    #[test]
    fn workers_that_together_fill_the_machine_are_judged_together() {
        // Each worker alone: 0.45 cores of its one, beside a stack of 1.0 — no limit in sight.
        // Together with the stack they use 1.9 of the machine's 2 cores.
        let workers = [worker("a", 0.45, Some(1.0)), worker("b", 0.45, None)];
        let merged = merge(&workers, Path::new(".")).expect("merge");
        assert!(!merged.generator_bound.bound);
        assert_eq!(merged.generator_bound.limit, "machine");
        assert!(
            merged
                .generator_bound
                .verdict
                .starts_with("Judged over all 2 workers together"),
            "{}",
            merged.generator_bound.verdict
        );
        assert!((merged.generator.cpu_cores - 0.9).abs() < 1e-9);
        assert_eq!(merged.generator.stack_cpu_cores, Some(1.0));
    }

    #[test]
    fn shares_of_a_rate_merge_when_each_user_keeps_the_pace() {
        let paced = |name: &str, users: usize, rate: f64| {
            let mut worker = worker(name, 0.2, None);
            worker.results.config.users = users;
            worker.results.config.target_rate = Some(rate);
            worker
        };
        // 90 iterations/s over 8 users, split 3 / 3 / 2.
        let workers = [
            paced("a", 3, 33.75),
            paced("b", 3, 33.75),
            paced("c", 2, 22.5),
        ];
        let merged = merge(&workers, Path::new(".")).expect("merge");
        assert_eq!(merged.config.target_rate, Some(90.0));
        assert_eq!(merged.config.users, 8);
        let refused = merge(&[paced("a", 3, 30.0), paced("b", 3, 60.0)], Path::new("."))
            .expect_err("another pace")
            .to_string();
        assert!(refused.contains("target_rate"), "{refused}");
    }

    #[test]
    fn runs_that_did_not_overlap_are_not_one_load() {
        let mut later = worker("b", 0.2, None);
        later.results.measured_started_unix += later.results.config.run_time_seconds as f64;
        let refused = merge(&[worker("a", 0.2, None), later], Path::new("."))
            .expect_err("apart")
            .to_string();
        assert!(refused.contains("not one load"), "{refused}");
    }

    #[test]
    fn workers_on_several_hosts_are_not_judged_over_one_machine() {
        let mut elsewhere = worker("b", 0.45, None);
        elsewhere.results.host = "other".into();
        let merged =
            merge(&[worker("a", 0.45, Some(1.0)), elsewhere], Path::new(".")).expect("merge");
        assert_eq!(merged.host, "h, other");
        assert_eq!(merged.generator_bound.limit, "stack");
        assert!(
            merged.generator_bound.verdict.contains("2 hosts"),
            "{}",
            merged.generator_bound.verdict
        );
    }

    #[test]
    fn one_bound_worker_makes_the_merged_run_bound() {
        let mut bound = worker("b", 0.95, None);
        bound.results.generator_bound = GeneratorBound {
            bound: true,
            limit: "generator".into(),
            reasons: vec![BoundReason {
                rule: "generator_cpu".into(),
                detail: "the generator used 0.95 cores".into(),
            }],
            verdict: "Generator-bound.".into(),
        };
        let merged = merge(&[worker("a", 0.3, Some(0.5)), bound], Path::new(".")).expect("merge");
        assert!(merged.generator_bound.bound);
        assert_eq!(
            merged.generator_bound.reasons[0].detail,
            "worker 2: the generator used 0.95 cores"
        );
    }
}
