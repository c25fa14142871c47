//! Location and spread of one sample.

use serde::{Deserialize, Serialize};

/// The median of a sample (the mean of the two middle values for even n);
/// `NaN` for an empty sample. Equals Hyndman-Fan R8 at q = 0.5, which is
/// what benchstat reports.
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    median_of_sorted(&v)
}

/// [`median`] of values already in ascending order, read in place.
pub fn median_of_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// What a report shows of one side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Median.
    pub median: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Coefficient of variation (standard deviation / mean); 0 when the mean is 0.
    pub cv: f64,
}

impl Summary {
    /// Summarizes a non-empty sample; `None` when empty.
    pub fn of(xs: &[f64]) -> Option<Summary> {
        if xs.is_empty() {
            return None;
        }
        let n = xs.len();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Some(Summary {
            n,
            median: median(xs),
            min: xs.iter().copied().fold(f64::INFINITY, f64::min),
            max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            cv: if mean == 0.0 {
                0.0
            } else {
                var.sqrt() / mean.abs()
            },
        })
    }

    /// Whether every sample has the same value.
    pub fn is_constant(&self) -> bool {
        self.min == self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn summary_spread() {
        let s = Summary::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!((s.n, s.median, s.min, s.max), (8, 4.5, 2.0, 9.0));
        // sample sd = sqrt(32/7), mean 5
        assert!((s.cv - (32.0f64 / 7.0).sqrt() / 5.0).abs() < 1e-12);
        assert!(Summary::of(&[1.0, 1.0]).unwrap().is_constant());
    }
}
