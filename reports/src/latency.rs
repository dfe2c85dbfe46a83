//! Latency histograms as every part of ssobench keeps them (microseconds, 3 significant
//! digits) and the figures taken from them: percentiles and the spectrum charts draw.

use crate::results::{LatencyRow, Percentiles};
use hdrhistogram::Histogram;

/// Highest latency the histograms hold: one minute, in microseconds.
pub const MAX_US: u64 = 60_000_000;

/// A microsecond histogram at 3 significant digits that grows with what it holds (a few
/// kilobytes for sub-second latencies, rather than sized for a minute up front). Record into it
/// with `record` (which grows it), never `saturating_record` (which would clamp to its current
/// size); the load runner caps every value at [`MAX_US`] before recording it.
pub fn histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant digits is a valid precision")
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
pub fn spectrum(histogram: &Histogram<u64>) -> Vec<(f64, f64)> {
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

/// A hop's or flow's row from its raw and corrected histograms.
pub fn row(
    name: &str,
    raw: &Histogram<u64>,
    corrected: &Histogram<u64>,
    errors: u64,
) -> LatencyRow {
    LatencyRow {
        name: name.to_owned(),
        count: raw.len(),
        errors,
        raw_us: percentiles(raw),
        corrected_us: percentiles(corrected),
        spectrum_us: spectrum(raw),
        phases: None,
    }
}
