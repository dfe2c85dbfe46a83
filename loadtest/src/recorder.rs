//! Latency and counters of a load run: per-user HDR histograms (microseconds, raw and
//! corrected for coordinated omission) merged at the end, and process-wide counters sampled
//! once a second for the timeline and the progress line.

use hdrhistogram::Histogram;
use reports::results::{LatencyRow, Percentiles};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Highest latency the histograms hold: one minute, in microseconds.
const MAX_US: u64 = 60_000_000;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("valid histogram bounds")
}

/// Raw and corrected histograms of one hop or flow, and its error count.
#[derive(Debug, Clone)]
pub struct Latency {
    raw: Histogram<u64>,
    corrected: Histogram<u64>,
    errors: u64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            raw: histogram(),
            corrected: histogram(),
            errors: 0,
        }
    }
}

impl Latency {
    /// Records one sample. With an intended interval (open model), a sample longer than it also
    /// stands for the requests that would have been sent meanwhile (HdrHistogram's
    /// `record_correct`), so a stall shows in the tail as it would for a fixed arrival rate.
    pub fn record(&mut self, elapsed: Duration, interval: Option<Duration>) {
        let micros = u64::try_from(elapsed.as_micros())
            .unwrap_or(MAX_US)
            .clamp(1, MAX_US);
        self.raw.saturating_record(micros);
        match interval.map(|i| u64::try_from(i.as_micros()).unwrap_or(MAX_US)) {
            Some(expected) if expected > 0 => {
                let _ = self.corrected.record_correct(micros, expected);
            }
            _ => self.corrected.saturating_record(micros),
        }
    }

    pub fn error(&mut self) {
        self.errors += 1;
    }

    fn merge(&mut self, other: &Latency) {
        let _ = self.raw.add(&other.raw);
        let _ = self.corrected.add(&other.corrected);
        self.errors += other.errors;
    }

    pub fn count(&self) -> u64 {
        self.raw.len()
    }

    pub fn row(&self, name: &str) -> LatencyRow {
        LatencyRow {
            name: name.to_owned(),
            count: self.raw.len(),
            errors: self.errors,
            raw_us: percentiles(&self.raw),
            corrected_us: percentiles(&self.corrected),
            spectrum_us: spectrum(&self.raw),
        }
    }
}

/// Percentiles of a microsecond histogram.
pub fn percentiles(histogram: &Histogram<u64>) -> Percentiles {
    if histogram.is_empty() {
        return Percentiles {
            mean: 0.0,
            p50: 0.0,
            p90: 0.0,
            p99: 0.0,
            p99_9: 0.0,
            max: 0.0,
        };
    }
    let at = |q: f64| histogram.value_at_quantile(q) as f64;
    Percentiles {
        mean: histogram.mean(),
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        p99_9: at(0.999),
        max: histogram.max() as f64,
    }
}

/// The HDR percentile spectrum, for charts: ten points per decade of 1/(1 - percentile)
/// (0%, 20.6%, 36.9%, ... 90%, ... 99%, ... up to 99.999%), as far as the sample count resolves
/// (no point beyond the n-th of n samples), then the maximum as 100%.
fn spectrum(histogram: &Histogram<u64>) -> Vec<(f64, f64)> {
    if histogram.is_empty() {
        return Vec::new();
    }
    let resolvable = histogram.len() as f64;
    let mut points: Vec<(f64, f64)> = (0..=50)
        .map(|step| 10f64.powf(f64::from(step) / 10.0))
        .take_while(|&odds| odds <= resolvable)
        .map(|odds| {
            let quantile = 1.0 - 1.0 / odds;
            (
                quantile * 100.0,
                histogram.value_at_quantile(quantile) as f64,
            )
        })
        .collect();
    points.push((100.0, histogram.max() as f64));
    points
}

/// The status-code key of requests that got no HTTP answer.
pub const NO_ANSWER: &str = "no answer";

/// Hop latency percentiles of one second of the run, microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SecondPercentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p99_9: f64,
}

/// One user's measurements, merged into the run's when the user stops.
#[derive(Debug, Clone, Default)]
pub struct UserRecorder {
    pub hops: BTreeMap<&'static str, Latency>,
    pub flows: BTreeMap<&'static str, Latency>,
    pub stolen_usable: Option<Box<Latency>>,
}

impl UserRecorder {
    pub fn hop(&mut self, name: &'static str) -> &mut Latency {
        self.hops.entry(name).or_default()
    }

    pub fn flow(&mut self, name: &'static str) -> &mut Latency {
        self.flows.entry(name).or_default()
    }

    pub fn stolen(&mut self) -> &mut Latency {
        self.stolen_usable.get_or_insert_with(Box::default)
    }
}

/// Where the services are and how the scenarios behave, fixed for a run.
#[derive(Debug, Clone, Default)]
pub struct RunSettings {
    pub idp_url: String,
    pub store_url: String,
    pub forums_url: String,
    /// Each user's intended time between iterations (open model), or `None` (closed).
    pub pacing_interval: Option<Duration>,
    /// How long the journey waits for the store session to expire (its idle timeout + margin).
    pub expiry_wait: Duration,
    /// Cart page views per journey iteration (one cart write besides).
    pub cart_reads: u32,
    /// How long the stolen-session scenario keeps replaying a cookie.
    pub stolen_window: Duration,
    pub replay_interval: Duration,
}

/// Everything the run has merged so far, and the live counters.
#[derive(Debug, Default)]
pub struct RunRecorder {
    pub settings: RunSettings,
    pub merged: Mutex<UserRecorder>,
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub logins: AtomicU64,
    pub password_logins: AtomicU64,
    pub iterations: AtomicU64,
    pub late: AtomicU64,
    pub dropped: AtomicU64,
    pub stolen_outlived: AtomicU64,
    pub stolen_refused_after_logout: AtomicU64,
    pub stolen_served_after_logout: AtomicU64,
    pub status_codes: Mutex<BTreeMap<String, u64>>,
    pub error_kinds: Mutex<BTreeMap<String, u64>>,
    /// Hop latencies of the current second, for the p50/p99 timeline.
    pub this_second: Mutex<Option<Histogram<u64>>>,
}

static RUN: OnceLock<Mutex<std::sync::Arc<RunRecorder>>> = OnceLock::new();

/// The recorder of the run in progress (goose transactions are plain functions, so they reach
/// it through this process-wide slot; runs in one process go one after another).
pub fn current() -> std::sync::Arc<RunRecorder> {
    let slot = RUN.get_or_init(|| Mutex::new(std::sync::Arc::default()));
    std::sync::Arc::clone(&slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
}

/// Starts a fresh recorder for a new run.
pub fn reset(settings: RunSettings) -> std::sync::Arc<RunRecorder> {
    let slot = RUN.get_or_init(|| Mutex::new(std::sync::Arc::default()));
    let fresh = std::sync::Arc::new(RunRecorder {
        settings,
        ..RunRecorder::default()
    });
    *slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = std::sync::Arc::clone(&fresh);
    fresh
}

impl RunRecorder {
    pub fn merge(&self, user: &UserRecorder) {
        let mut merged = self
            .merged
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (name, latency) in &user.hops {
            merged.hops.entry(name).or_default().merge(latency);
        }
        for (name, latency) in &user.flows {
            merged.flows.entry(name).or_default().merge(latency);
        }
        if let Some(stolen) = &user.stolen_usable {
            merged.stolen().merge(stolen);
        }
    }

    /// Counts one answered request.
    pub fn request(&self, status: u16, elapsed: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        *self
            .status_codes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(status.to_string())
            .or_default() += 1;
        let micros = u64::try_from(elapsed.as_micros())
            .unwrap_or(MAX_US)
            .clamp(1, MAX_US);
        let mut second = self
            .this_second
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        second
            .get_or_insert_with(histogram)
            .saturating_record(micros);
    }

    /// Counts a request that got no answer (refused, reset, timed out): it was sent, so it is
    /// in the request total that error rates divide by. The caller counts the failure.
    pub fn unanswered(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        *self
            .status_codes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(NO_ANSWER.to_owned())
            .or_default() += 1;
    }

    /// Counts one failure, by kind (a short, stable description).
    pub fn error(&self, kind: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self
            .error_kinds
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(kind.to_owned())
            .or_default() += 1;
    }

    /// Takes the current second's hop histogram: its percentiles in µs (all 0 when no hop
    /// completed in that second).
    pub fn take_second(&self) -> SecondPercentiles {
        let taken = self
            .this_second
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        match taken {
            Some(h) if !h.is_empty() => SecondPercentiles {
                p50: h.value_at_quantile(0.5) as f64,
                p90: h.value_at_quantile(0.9) as f64,
                p99: h.value_at_quantile(0.99) as f64,
                p99_9: h.value_at_quantile(0.999) as f64,
            },
            _ => SecondPercentiles::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correction_fills_in_what_a_stall_hid() {
        let mut latency = Latency::default();
        for _ in 0..99 {
            latency.record(Duration::from_millis(1), Some(Duration::from_millis(10)));
        }
        // One 1-second stall with a 10 ms intended interval hides ~99 requests.
        latency.record(Duration::from_secs(1), Some(Duration::from_millis(10)));
        let row = latency.row("x");
        assert_eq!(row.count, 100);
        assert!(row.raw_us.p90 < 2_000.0, "{row:?}");
        assert!(
            row.corrected_us.p90 > 100_000.0,
            "the corrected tail must show the stall: {row:?}"
        );
    }

    #[test]
    fn closed_runs_record_corrected_equal_to_raw() {
        let mut latency = Latency::default();
        latency.record(Duration::from_secs(1), None);
        latency.record(Duration::from_millis(2), None);
        let row = latency.row("x");
        assert_eq!(row.raw_us, row.corrected_us);
    }
}
