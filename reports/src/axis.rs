//! A logarithmic axis whose ticks fall on 1-2-5 steps (0.1, 0.2, 0.5, 1, 2, 5, ...) or on whole
//! decades, with light grid lines on every digit of a decade.
//!
//! plotters' own log scale puts no tick below 1 and repeats the decade labels, which makes
//! sub-millisecond latencies unreadable; this axis is the fix.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogAxis {
    low: f64,
    high: f64,
    /// Ticks only at powers of ten (for percentile spectra: 0%, 90%, 99%, ...).
    decades_only: bool,
}

impl LogAxis {
    /// `low` and `high` must be positive; anything else is widened to a positive range.
    pub fn new(low: f64, high: f64, decades_only: bool) -> Self {
        let low = if low > 0.0 && low.is_finite() {
            low
        } else {
            1e-3
        };
        let high = if high > low && high.is_finite() {
            high
        } else {
            low * 10.0
        };
        LogAxis {
            low,
            high,
            decades_only,
        }
    }

    /// Candidate ticks in range: `steps` within each decade.
    fn ticks(&self, steps: &[f64]) -> Vec<f64> {
        let first = self.low.log10().floor() as i32;
        let last = self.high.log10().ceil() as i32;
        (first..=last)
            .flat_map(|decade| steps.iter().map(move |step| step * 10f64.powi(decade)))
            .filter(|value| *value >= self.low * 0.999_999 && *value <= self.high * 1.000_001)
            .collect()
    }
}

impl Ranged for LogAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let value = value.max(self.low * 1e-3);
        let span = self.high.log10() - self.low.log10();
        let share = (value.log10() - self.low.log10()) / span;
        limit.0 + (f64::from(limit.1 - limit.0) * share).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let most = hint.max_num_points();
        if hint.weight().allow_light_points() {
            let light = self.ticks(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
            if light.len() <= most {
                return light;
            }
        }
        let choices: &[&[f64]] = if self.decades_only {
            &[&[1.0]]
        } else {
            &[&[1.0, 2.0, 5.0], &[1.0, 3.0], &[1.0]]
        };
        for steps in choices {
            let ticks = self.ticks(steps);
            if ticks.len() <= most {
                return ticks;
            }
        }
        // Too many decades for the space: every n-th decade.
        let decades = self.ticks(&[1.0]);
        let stride = decades.len().div_ceil(most.max(1)).max(1);
        decades.into_iter().step_by(stride).collect()
    }

    fn range(&self) -> Range<f64> {
        self.low..self.high
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_follow_one_two_five_below_one() {
        let axis = LogAxis::new(0.15, 30.0, false);
        assert_eq!(
            axis.key_points(12),
            vec![0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0]
        );
        assert_eq!(axis.key_points(4), vec![1.0, 10.0]);
    }

    #[test]
    fn decades_only_and_mapping() {
        let axis = LogAxis::new(1.0, 1000.0, true);
        assert_eq!(axis.key_points(10), vec![1.0, 10.0, 100.0, 1000.0]);
        assert_eq!(axis.map(&1.0, (0, 300)), 0);
        assert_eq!(axis.map(&10.0, (0, 300)), 100);
        assert_eq!(axis.map(&1000.0, (0, 300)), 300);
    }
}
