//! The sampler: a thread of its own that, once a second, sums the users' counters, collects
//! their interval histograms, reads CPU by side and the generator's timer lag, and advances the
//! progress bar. It never awaits the system under test and never blocks a runtime thread.

use crate::measure::cpu::{self, CpuMeter};
use crate::measure::gauges::{StackMemory, StoreGauges};
use crate::measure::live::LiveTotals;
use crate::measure::memory;
use crate::measure::recorder::{histogram, percentiles};
use crate::measure::settle::{MeasureClock, WarmUpEnd, WarmUpPlan, WarmUpWatch};
use hdrhistogram::Histogram;
use hdrhistogram::sync::SyncHistogram;
use reports::results::TimelinePoint;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

/// How long a refresh waits for the lag probe to hand over its interval.
const REFRESH_WAIT: Duration = Duration::from_millis(50);

/// Adds the second's hop latencies into the histogram given, and starts the next second.
pub type TakeSecond = Box<dyn FnMut(&mut Histogram<u64>) + Send>;

/// What the sampler reads.
pub struct SamplerInputs {
    /// Every user's live counters, summed (called once a second). A function rather than the
    /// run's context, so that measurement knows nothing of the users it measures.
    pub totals: Box<dyn FnMut() -> LiveTotals + Send>,
    /// Users started so far.
    pub users: Box<dyn Fn() -> u64 + Send>,
    /// The users the run starts.
    pub planned_users: u64,
    /// Adds the hop latencies of the second just ended into the histogram it is given (and
    /// starts the next second).
    pub latency: TakeSecond,
    /// The lag probe's lateness.
    pub lag: SyncHistogram<u64>,
    pub cpu: CpuMeter,
    /// The store's live sessions and its backend's memory, kept current beside the sampler.
    pub gauges: Arc<StoreGauges>,
    pub stack_connections: StackConnections,
    /// The stack's processes whose resident memory is read each second.
    pub stack_memory: StackMemory,
    pub progress: indicatif::ProgressBar,
    /// The measured run time: the sampler stops by itself an hour after the warm-up's limit
    /// and it.
    pub run_time: Duration,
    /// The attack's start (at wall-clock `started`): second N ends N seconds after it.
    pub origin: Instant,
    pub started: SystemTime,
    /// The warm-up: the sampler decides when it ends, and then starts `clock`.
    pub warm_up: WarmUpPlan,
    pub clock: Arc<MeasureClock>,
    /// Told the measured run's zero once the clock starts (the run's end is timed from it).
    pub measuring: Option<tokio::sync::oneshot::Sender<Instant>>,
}

impl std::fmt::Debug for SamplerInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamplerInputs")
            .field("cpu", &self.cpu)
            .field("run_time", &self.run_time)
            .field("warm_up", &self.warm_up)
            .finish_non_exhaustive()
    }
}

/// The connections the stack holds open now, as the stack can tell: counted by its servers
/// in-process, its processes' descriptors otherwise; `None` when nothing tells.
pub struct StackConnections(pub Box<dyn Fn() -> Option<u64> + Send>);

impl StackConnections {
    /// A stack whose connections nothing tells (`--target` without `--target-pid`).
    pub fn unknown() -> Self {
        StackConnections(Box::new(|| None))
    }

    /// The descriptors these processes hold, summed (`None` when none can be read).
    pub fn of_processes(pids: Vec<u32>) -> Self {
        StackConnections(Box::new(move || {
            pids.iter()
                .filter_map(|&pid| memory::open_files_of(pid))
                .reduce(|a, b| a + b)
        }))
    }
}

impl std::fmt::Debug for StackConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StackConnections")
    }
}

/// What the sampler saw, once stopped.
#[derive(Debug)]
pub struct Sampled {
    /// The measured seconds, counted from the measured run's zero (the warm-up's are in
    /// `warm_up`).
    pub timeline: Vec<TimelinePoint>,
    /// Every lag sample of the run, microseconds.
    pub lag: Histogram<u64>,
    /// How the warm-up went (`None` without one).
    pub warm_up: Option<WarmedUp>,
}

/// A warm-up, as the sampler saw it.
#[derive(Debug, Clone)]
pub struct WarmedUp {
    /// Its seconds, counted from the attack's start (measuring starts after the last).
    pub timeline: Vec<TimelinePoint>,
    pub ended_by: Option<WarmUpEnd>,
    /// Every user's counters when it ended: the measured run's totals are those at the end
    /// less these.
    pub totals: LiveTotals,
}

/// A running sampler.
#[derive(Debug)]
pub struct Sampler {
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<Sampled>,
}

impl Sampler {
    pub fn start(inputs: SamplerInputs) -> std::io::Result<Sampler> {
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ssobench-sampler".into())
            .spawn(move || sample(inputs, &stopped))?;
        Ok(Sampler { stop, thread })
    }

    /// Stops sampling (the current partial second is not kept) and returns what was seen.
    pub fn finish(self) -> Sampled {
        let _ = self.stop.send(());
        self.thread.join().unwrap_or_else(|_| Sampled {
            timeline: Vec::new(),
            lag: histogram(),
            warm_up: None,
        })
    }
}

fn sample(mut inputs: SamplerInputs, stopped: &mpsc::Receiver<()>) -> Sampled {
    let started = inputs.origin;
    let mut timeline = Vec::new();
    let mut lag_all = histogram();
    let mut latency = histogram();
    let mut last = (inputs.totals)();
    let mut last_at = 0.0;
    let mut last_steal = cpu::host_steal_ns();
    let mut watch = WarmUpWatch::new(inputs.warm_up);
    let mut warm_up = (!inputs.warm_up.is_none()).then(|| WarmedUp {
        timeline: Vec::new(),
        ended_by: None,
        totals: LiveTotals::default(),
    });
    // Without a warm-up the attack's start is the measured run's zero.
    if warm_up.is_none() {
        start_measuring(&mut inputs, 0);
    }
    // The second the measured run started at (counted from the attack's start), and its
    // elapsed time then: measured points count from them.
    let mut measured_from = (0, 0.0);
    // Until the run ends (it drains in-flight iterations after the run time), or an hour past.
    let last_second = inputs.warm_up.limit_seconds + inputs.run_time.as_secs() + 3600;
    for second in 1..=last_second {
        let tick = started + Duration::from_secs(second);
        match stopped.recv_timeout(tick.saturating_duration_since(Instant::now())) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
        }
        let elapsed_seconds = started.elapsed().as_secs_f64();
        let now = (inputs.totals)();
        let cpu = inputs.cpu.read();
        let steal = cpu::host_steal_ns();
        let tcp = memory::host_tcp();
        (inputs.latency)(&mut latency);
        inputs.lag.refresh_timeout(REFRESH_WAIT);
        let hops = percentiles(&latency);
        let lag = percentiles(&inputs.lag);
        // The run's lag is the measured run's: a warm-up's seconds are left out.
        if warm_up
            .as_ref()
            .is_none_or(|warming| warming.ended_by.is_some())
        {
            let _ = lag_all.add(&*inputs.lag);
        }
        latency.reset();
        inputs.lag.reset();
        let span = (elapsed_seconds - last_at).max(1e-9);
        let cores = |ns: u64| ns as f64 / 1e9 / span;
        let mut point = TimelinePoint {
            second,
            elapsed_seconds,
            requests: now.requests - last.requests,
            errors: now.errors - last.errors,
            logins: now.logins - last.logins,
            password_logins: now.password_logins - last.password_logins,
            iterations: now.iterations - last.iterations,
            bounces: now.bounces - last.bounces,
            store_sessions_alive: inputs.gauges.sessions_alive(),
            backend_memory_bytes: inputs.gauges.backend_memory_bytes(),
            stack_rss_bytes: inputs.stack_memory.read(),
            p50_us: hops.p50,
            p90_us: hops.p90,
            p99_us: hops.p99,
            p99_9_us: hops.p99_9,
            status_codes: status_delta(&last, &now),
            generator_cpu_cores: cores(cpu.generator_ns),
            stack_cpu_cores: cpu.stack_ns.map(cores),
            host_steal_cores: match (last_steal, steal) {
                (Some(before), Some(now)) => Some(cores(now.saturating_sub(before))),
                _ => None,
            },
            lag_p99_us: lag.p99,
            lag_max_us: lag.max,
            users: Some((inputs.users)()),
            connections_opened: Some(now.connections - last.connections),
            generator_rss_bytes: memory::resident_bytes(),
            generator_open_files: memory::open_files(),
            stack_connections: (inputs.stack_connections.0)(),
            host_time_wait: tcp.map(|tcp| tcp.time_wait),
            host_tcp_memory_bytes: tcp.map(|tcp| tcp.memory_bytes),
        };
        let everyone = point
            .users
            .is_some_and(|users| users >= inputs.planned_users);
        let requests = point.requests;
        last_at = elapsed_seconds;
        last_steal = steal;
        inputs.progress.inc(1);
        inputs.progress.set_message(format!(
            "{} req/s  {} logins/s  {} errors/s  p99 {:.1} ms  cpu gen {:.2}{}",
            point.requests,
            point.logins,
            point.errors,
            point.p99_us / 1000.0,
            point.generator_cpu_cores,
            point
                .stack_cpu_cores
                .map_or(String::new(), |cores| format!(" stack {cores:.2}")),
        ));
        match &mut warm_up {
            Some(warming) if warming.ended_by.is_none() => {
                let ended = watch.second(second, requests, everyone);
                warming.timeline.push(point);
                if let Some(how) = ended {
                    warming.ended_by = Some(how);
                    start_measuring(&mut inputs, second);
                    // Counted afresh once the clock is set: what users answered while this
                    // second was being read counts in neither the warm-up nor the run, as
                    // their histograms do not hold it either.
                    let fresh = (inputs.totals)();
                    measured_from = (second, started.elapsed().as_secs_f64());
                    warming.totals = fresh.clone();
                    last = fresh;
                    continue;
                }
            }
            _ => {
                point.second -= measured_from.0;
                point.elapsed_seconds -= measured_from.1;
                timeline.push(point);
            }
        }
        last = now;
    }
    Sampled {
        timeline,
        lag: lag_all,
        warm_up,
    }
}

/// Starts the measured run at second `second` of the attack (0: its start): the clock, then
/// whoever times the run's end from it.
fn start_measuring(inputs: &mut SamplerInputs, second: u64) {
    let after = Duration::from_secs(second);
    let zero = inputs.origin + after;
    inputs.clock.start(zero, inputs.started + after);
    if let Some(measuring) = inputs.measuring.take() {
        let _ = measuring.send(zero);
    }
}

fn status_delta(before: &LiveTotals, now: &LiveTotals) -> BTreeMap<String, u64> {
    let before: BTreeMap<String, u64> = before.status_codes().collect();
    now.status_codes()
        .filter_map(|(code, total)| {
            let earlier = before.get(&code).copied().unwrap_or(0);
            (total > earlier).then(|| (code, total - earlier))
        })
        .collect()
}

/// The timeline's first `run_time` samples and the time they span (`None` when they span none).
/// The seconds of a timeline that rates are taken over: the configured run time, after a long
/// ramp-up. The default start (every user within the first second) stays inside the window, as
/// it always has; a ramp of more than a second is left out, so rates describe every user at
/// work, not users still arriving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Whole seconds left out at the start.
    pub skip: u64,
    pub run_time: Duration,
}

impl Window {
    /// The window of a run whose users took `ramp_up` to start.
    pub fn after_ramp(ramp_up: Duration, run_time: Duration) -> Window {
        let skip = if ramp_up > Duration::from_secs(1) {
            ramp_up.as_secs_f64().ceil() as u64
        } else {
            0
        };
        Window { skip, run_time }
    }
}

impl From<Duration> for Window {
    fn from(run_time: Duration) -> Window {
        Window { skip: 0, run_time }
    }
}

/// The window's samples, when they span some time, with the time before the first.
fn steady_window(
    timeline: &[TimelinePoint],
    window: Window,
) -> Option<(&[TimelinePoint], f64, f64)> {
    let skip = (window.skip as usize).min(timeline.len());
    let end = (skip + window.run_time.as_secs() as usize).min(timeline.len());
    let samples = &timeline[skip..end];
    let start = skip
        .checked_sub(1)
        .map_or(0.0, |before| timeline[before].elapsed_seconds);
    let span = samples.last()?.elapsed_seconds - start;
    (span > 0.0).then_some((samples, start, span))
}

/// Rate over the configured run time: the counts of the timeline's samples in the window
/// (see [`Window`]) divided by the time those samples actually span (measured, not assumed to
/// be one second each). The drain at the end, when goose lets in-flight iterations finish, is
/// left out.
pub fn steady_rate(
    timeline: &[TimelinePoint],
    window: impl Into<Window>,
    value: impl Fn(&TimelinePoint) -> u64,
) -> f64 {
    steady_window(timeline, window.into()).map_or(0.0, |(samples, _, span)| {
        samples.iter().map(|point| value(point) as f64).sum::<f64>() / span
    })
}

/// CPU cores a side used over the window: each sample's cores times the time it spans, over
/// the time they all span.
pub fn steady_cores(
    timeline: &[TimelinePoint],
    window: impl Into<Window>,
    cores: impl Fn(&TimelinePoint) -> f64,
) -> f64 {
    steady_window(timeline, window.into()).map_or(0.0, |(samples, start, span)| {
        let mut previous = start;
        let mut used = 0.0;
        for point in samples {
            used += cores(point) * (point.elapsed_seconds - previous);
            previous = point.elapsed_seconds;
        }
        used / span
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(second: u64, elapsed_seconds: f64, generator_cpu_cores: f64) -> TimelinePoint {
        TimelinePoint {
            second,
            elapsed_seconds,
            requests: second * 10,
            generator_cpu_cores,
            ..TimelinePoint::default()
        }
    }

    #[test]
    fn cores_are_weighted_by_the_time_each_sample_spans() {
        // One core for the first second, half a core for the next two; the drain is left out.
        let timeline = [point(1, 1.0, 1.0), point(2, 3.0, 0.5), point(3, 4.0, 2.0)];
        let cores = steady_cores(&timeline, Duration::from_secs(2), |p| p.generator_cpu_cores);
        assert!((cores - 2.0 / 3.0).abs() < 1e-9, "{cores}");
        assert_eq!(
            steady_rate(&timeline, Duration::from_secs(2), |p| p.requests),
            30.0 / 3.0
        );
        assert_eq!(steady_cores(&[], Duration::from_secs(2), |_| 1.0), 0.0);
    }
}
