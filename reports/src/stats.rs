//! The statistics a comparison rests on: medians with distribution-free intervals, and ratios
//! between two arms from repetitions paired by their turn, with a Student-t interval on the
//! logarithms of the paired ratios, its reach and the smallest difference it would find.
//! ARCHITECTURE.md says why these and not a bootstrap.

/// Confidence the ratio intervals are computed at.
pub const RATIO_CONFIDENCE: f64 = 0.95;

/// The confidence a median interval aims at: the narrowest interval of order statistics that
/// reaches it, or the whole range when even that falls short (few repetitions).
pub const MEDIAN_CONFIDENCE: f64 = 0.90;

/// A range and how sure it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
    /// The probability that the range covers the true value (0 to 1).
    pub confidence: f64,
}

impl Interval {
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}

/// The median of `values` (`NaN` when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// A distribution-free interval for the median: the `k`-th smallest to the `k`-th largest
/// value, which covers the true median with probability `1 − 2·P(Binomial(n, ½) < k)`
/// whatever the distribution. The narrowest such interval reaching [`MEDIAN_CONFIDENCE`], or
/// the whole range (and its lower confidence) when none does. `None` below two values.
pub fn median_interval(values: &[f64]) -> Option<Interval> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let coverage = |k: usize| 1.0 - 2.0 * binomial_half_below(n, k);
    let mut k = 1;
    while k < n.div_ceil(2) && coverage(k + 1) >= MEDIAN_CONFIDENCE {
        k += 1;
    }
    Some(Interval {
        low: sorted[k - 1],
        high: sorted[n - k],
        confidence: coverage(k),
    })
}

/// `P(Binomial(n, ½) < k)`.
fn binomial_half_below(n: usize, k: usize) -> f64 {
    let mut total = 0.0;
    let mut choose = 1.0;
    for i in 0..k.min(n + 1) {
        if i > 0 {
            choose = choose * (n + 1 - i) as f64 / i as f64;
        }
        total += choose;
    }
    total / 2f64.powi(i32::try_from(n).unwrap_or(i32::MAX))
}

/// How many times larger one backend's figure is than another's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio {
    /// The geometric mean of the paired ratios.
    pub ratio: f64,
    /// At [`RATIO_CONFIDENCE`]; `None` with fewer than two pairs (no spread to judge by).
    pub interval: Option<Interval>,
    /// Pairs it rests on.
    pub pairs: usize,
}

impl Ratio {
    /// The interval lies wholly above 1: the first is measurably larger.
    pub fn above_one(&self) -> bool {
        self.interval.is_some_and(|i| i.low > 1.0)
    }

    /// The interval lies wholly below 1: the first is measurably smaller.
    pub fn below_one(&self) -> bool {
        self.interval.is_some_and(|i| i.high < 1.0)
    }

    /// How far the interval reaches from the ratio, as a share: 0.08 when it spans the ratio
    /// ÷1.08 to ×1.08 (the interval is symmetric on the log scale). `None` without one.
    pub fn reach(&self) -> Option<f64> {
        self.interval.map(|i| i.high / self.ratio - 1.0)
    }

    /// The smallest true difference (as a share, 0.12 for 12%) that a run with this spread and
    /// this many pairs finds — names a winner at [`RATIO_CONFIDENCE`] — four times in five:
    /// the interval's half-width scaled by `(t₀.₉₇₅ + t₀.₈₀) / t₀.₉₇₅`, the textbook power
    /// calculation for a paired t-test at 80% power. `None` without an interval.
    pub fn smallest_detectable(&self) -> Option<f64> {
        let half = self.reach()?.ln_1p();
        let df = self.pairs.checked_sub(1)?;
        Some((half * (t_975(df) + t_80(df)) / t_975(df)).exp_m1())
    }

    /// The interval lies within ±`precision` of the ratio on the log scale (`precision` 0.10:
    /// from the ratio ÷1.10 to ×1.10).
    pub fn within(&self, precision: f64) -> bool {
        self.reach().is_some_and(|reach| reach <= precision)
    }
}

/// The ratio of `a` to `b` from pairs `(a_i, b_i)` measured in the same repetition: the
/// geometric mean of `a_i / b_i`, with a Student-t interval on the mean of their logarithms.
/// Pairs with a value that is not positive are left out. `None` when no pair is left.
pub fn paired_ratio(pairs: &[(f64, f64)]) -> Option<Ratio> {
    let logs: Vec<f64> = pairs
        .iter()
        .filter(|(a, b)| *a > 0.0 && *b > 0.0 && a.is_finite() && b.is_finite())
        .map(|(a, b)| (a / b).ln())
        .collect();
    let n = logs.len();
    if n == 0 {
        return None;
    }
    let mean = logs.iter().sum::<f64>() / n as f64;
    let interval = (n >= 2).then(|| {
        let variance = logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let half = t_975(n - 1) * (variance / n as f64).sqrt();
        Interval {
            low: (mean - half).exp(),
            high: (mean + half).exp(),
            confidence: RATIO_CONFIDENCE,
        }
    });
    Some(Ratio {
        ratio: mean.exp(),
        interval,
        pairs: n,
    })
}

/// The 97.5th percentile of Student's t with `df` degrees of freedom (two-sided 95%).
pub(crate) fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        // Beyond the table the quantile approaches the normal's 1.960.
        _ => 1.960 + 2.5 / df as f64,
    }
}

/// The 80th percentile of Student's t with `df` degrees of freedom (80% power, one-sided).
fn t_80(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        1.376, 1.061, 0.978, 0.941, 0.920, 0.906, 0.896, 0.889, 0.883, 0.879, 0.876, 0.873, 0.870,
        0.868, 0.866, 0.865, 0.863, 0.862, 0.861, 0.860, 0.859, 0.858, 0.858, 0.857, 0.856, 0.856,
        0.855, 0.855, 0.854, 0.854,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        // Beyond the table the quantile approaches the normal's 0.842.
        _ => 0.842 + 0.35 / df as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn median_intervals_carry_their_exact_coverage() {
        // Three values: the range covers the median 75% of the time, no narrower one exists.
        let three = median_interval(&[10.0, 30.0, 20.0]).expect("interval");
        assert_eq!((three.low, three.high), (10.0, 30.0));
        assert!((three.confidence - 0.75).abs() < 1e-12, "{three:?}");
        // Ten values: the 2nd to the 9th cover it 97.9% of the time; the 3rd to the 8th only
        // 89.1%, below the 90% aimed at.
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        let interval = median_interval(&ten).expect("interval");
        assert_eq!((interval.low, interval.high), (2.0, 9.0));
        assert!(
            (interval.confidence - 0.978_515_625).abs() < 1e-9,
            "{interval:?}"
        );
        assert_eq!(median_interval(&[1.0]), None);
    }

    #[test]
    fn paired_ratios_have_t_intervals_on_their_logs() {
        // Every pair 1.10 apart: no spread, the interval is the ratio itself.
        let steady = paired_ratio(&[(110.0, 100.0), (220.0, 200.0), (55.0, 50.0)]).expect("ratio");
        assert!((steady.ratio - 1.1).abs() < 1e-12);
        let interval = steady.interval.expect("interval");
        assert!((interval.low - 1.1).abs() < 1e-9 && (interval.high - 1.1).abs() < 1e-9);
        assert!(steady.above_one());
        // Ratios 0.9, 1.0, 1.2: the geometric mean is 1.026; with 2 degrees of freedom
        // (t = 4.303) the interval spans 1.
        let noisy = paired_ratio(&[(90.0, 100.0), (100.0, 100.0), (120.0, 100.0)]).expect("ratio");
        assert!((noisy.ratio - (0.9f64 * 1.0 * 1.2).cbrt()).abs() < 1e-12);
        let interval = noisy.interval.expect("interval");
        assert!(interval.low < 1.0 && interval.high > 1.0, "{interval:?}");
        assert!(!noisy.above_one() && !noisy.below_one());
        // One pair: a ratio, but no interval.
        let once = paired_ratio(&[(2.0, 1.0)]).expect("ratio");
        assert_eq!((once.ratio, once.interval, once.pairs), (2.0, None, 1));
        assert_eq!(paired_ratio(&[(0.0, 1.0)]), None);
        assert_eq!((once.reach(), once.smallest_detectable()), (None, None));
    }

    #[test]
    fn a_ratio_knows_its_reach_and_the_smallest_difference_it_would_find() {
        // Log-ratios ±0.05 around zero, ten pairs: sd 0.0527, half-width 2.262 × 0.0527 / √10
        // = 0.0377, so the interval reaches ×1.038.
        let pairs: Vec<(f64, f64)> = (0..10)
            .map(|i| ((if i % 2 == 0 { 0.05f64 } else { -0.05 }).exp(), 1.0))
            .collect();
        let ratio = paired_ratio(&pairs).expect("ratio");
        let sd = (10.0 * 0.0025f64 / 9.0).sqrt();
        let half = 2.262 * sd / 10f64.sqrt();
        let reach = ratio.reach().expect("reach");
        assert!((reach - half.exp_m1()).abs() < 1e-9, "{reach}");
        assert!(ratio.within(0.04) && !ratio.within(0.03));
        // 80% power adds t₀.₈₀ = 0.883 standard errors to the 2.262 of the interval.
        let detectable = ratio.smallest_detectable().expect("detectable");
        let expected = ((2.262 + 0.883) * sd / 10f64.sqrt()).exp_m1();
        assert!((detectable - expected).abs() < 1e-9, "{detectable}");
        // More pairs of the same spread narrow both.
        let more: Vec<(f64, f64)> = pairs.iter().cycle().take(40).copied().collect();
        let more = paired_ratio(&more).expect("ratio");
        assert!(more.reach() < ratio.reach());
        assert!(more.smallest_detectable() < ratio.smallest_detectable());
    }
}
