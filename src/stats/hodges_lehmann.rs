//! The Hodges-Lehmann estimate of the shift between two samples and its
//! distribution-free confidence interval (Moses), the natural companion of
//! the Mann-Whitney test (R `wilcox.test(conf.int = TRUE)` reports it as the
//! "difference in location"; SAS PROC NPAR1WAY, option HL).
//!
//! The shift is the median of all pairwise differences `y_j - x_i`. With
//! the n1*n2 differences sorted, the interval runs from the k-th smallest
//! to the k-th largest, where k - 1 is the (1 - confidence)/2 quantile of
//! the null U distribution: exact (no-ties distribution) for samples of up
//! to 50 values, the normal approximation beyond.
//!
//! The work is quadratic, so it is bounded: beyond [`MAX_PAIRS`] pairs each
//! sample is first reduced to evenly spaced order statistics (at most
//! `sqrt(MAX_PAIRS)` a side), and the estimate and interval are those of
//! the reduced samples: an approximation for samples of thousands of runs,
//! with an interval as wide as the reduced sizes give.

use serde::{Deserialize, Serialize};

use super::mann_whitney::{EXACT_LIMIT, standard_normal_quantile, untied_quantile};
use super::summary::median_of_sorted;

/// The estimate and interval, in the samples' unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HodgesLehmann {
    /// Median of pairwise differences (current - baseline).
    pub shift: f64,
    /// Lower bound of the interval; `None` (unbounded) when the samples are
    /// too small for the confidence.
    pub lo: Option<f64>,
    /// Upper bound of the interval; `None` (unbounded) likewise.
    pub hi: Option<f64>,
    /// The requested confidence level.
    pub confidence: f64,
}

/// Most pairwise differences computed for one estimate.
pub const MAX_PAIRS: usize = 1 << 20;

/// At most `k` evenly spaced order statistics of `v`, smallest and largest
/// included; `v` itself when it is no longer.
fn order_statistics(v: &[f64], k: usize) -> Vec<f64> {
    let mut sorted = v.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    if sorted.len() <= k || k < 2 {
        return sorted;
    }
    let last = (sorted.len() - 1) as f64;
    (0..k)
        .map(|i| sorted[(i as f64 * last / (k - 1) as f64).round() as usize])
        .collect()
}

/// k, the 1-based rank of the interval's lower bound among the sorted
/// differences (the upper is the k-th largest): P(U <= k - 1) <= (1 -
/// confidence) / 2; 0 when no rank is that unlikely.
fn lower_rank(n1: usize, n2: usize, confidence: f64) -> usize {
    let tail = (1.0 - confidence) / 2.0;
    if n1 <= EXACT_LIMIT && n2 <= EXACT_LIMIT {
        untied_quantile(n1, n2, tail)
    } else {
        let (a, b, n) = (n1 as f64, n2 as f64, (n1 + n2) as f64);
        let sigma = (a * b * (n + 1.0) / 12.0).sqrt();
        let z = standard_normal_quantile(1.0 - tail);
        (a * b / 2.0 - z * sigma).floor().max(0.0) as usize
    }
}

/// Puts the `ranks`-th smallest values of `v` (0-based, ascending, each
/// less `offset`) in their sorted places: each selection splits `v` into
/// values no larger and no smaller, where the other ranks are found.
fn select_ranks(v: &mut [f64], ranks: &[usize], offset: usize) {
    let Some(&r) = ranks.get(ranks.len() / 2) else {
        return;
    };
    let i = r - offset;
    v.select_nth_unstable_by(i, f64::total_cmp);
    let (below, rest) = v.split_at_mut(i);
    let (left, right) = ranks.split_at(ranks.len() / 2);
    select_ranks(below, left, offset);
    select_ranks(&mut rest[1..], &right[1..], offset + i + 1);
}

/// Estimates the shift of `y` relative to `x`, with its interval at
/// `confidence`, or without one (`lo`, `hi` unbounded, `confidence` 0) when
/// `None`: half the selections, for callers that read the shift alone.
/// `None` when either sample is empty.
pub fn hodges_lehmann(x: &[f64], y: &[f64], confidence: Option<f64>) -> Option<HodgesLehmann> {
    if x.is_empty() || y.is_empty() {
        return None;
    }
    let (x, y) = if x.len().saturating_mul(y.len()) > MAX_PAIRS {
        let side = MAX_PAIRS.isqrt();
        (order_statistics(x, side), order_statistics(y, side))
    } else {
        (x.to_vec(), y.to_vec())
    };
    let (x, y) = (x.as_slice(), y.as_slice());
    let (n1, n2) = (x.len(), y.len());
    let mut diffs: Vec<f64> = Vec::with_capacity(n1 * n2);
    for &b in y {
        for &a in x {
            diffs.push(b - a);
        }
    }
    let nn = n1 * n2;
    let k = confidence.map_or(0, |c| lower_rank(n1, n2, c));
    // Only these order statistics are read: selecting them is linear in
    // the differences, where sorting them all took most of a comparison.
    let mid = nn / 2;
    let mut ranks = vec![mid];
    if nn % 2 == 0 {
        ranks.push(mid - 1);
    }
    if k > 0 {
        ranks.extend([k - 1, nn - k]);
    }
    ranks.sort_unstable();
    ranks.dedup();
    select_ranks(&mut diffs, &ranks, 0);
    // The one or two middle differences, in order.
    let shift = median_of_sorted(&diffs[(nn - 1) / 2..=mid]);
    let (lo, hi) = if k == 0 {
        (None, None)
    } else {
        (Some(diffs[k - 1]), Some(diffs[nn - k]))
    };
    Some(HodgesLehmann {
        shift,
        lo,
        hi,
        confidence: confidence.unwrap_or(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Selecting the order statistics reads what sorting every
        /// difference did (ties, odd and even counts, interval or none,
        /// asked for or not).
        #[test]
        fn selection_reads_what_a_full_sort_reads(
            x in proptest::collection::vec(0u8..20, 1..40),
            y in proptest::collection::vec(0u8..20, 1..40),
        ) {
            let (x, y): (Vec<f64>, Vec<f64>) = (
                x.into_iter().map(f64::from).collect(),
                y.into_iter().map(f64::from).collect(),
            );
            let hl = hodges_lehmann(&x, &y, Some(0.95)).unwrap();
            let mut d: Vec<f64> = y.iter().flat_map(|b| x.iter().map(move |a| b - a)).collect();
            d.sort_by(f64::total_cmp);
            proptest::prop_assert_eq!(hl.shift, median_of_sorted(&d));
            let k = lower_rank(x.len(), y.len(), 0.95);
            let expected = (k > 0).then(|| (d[k - 1], d[d.len() - k]));
            proptest::prop_assert_eq!(hl.lo.zip(hl.hi), expected);
            // The shift alone is the same shift, with no interval.
            let alone = hodges_lehmann(&x, &y, None).unwrap();
            proptest::prop_assert_eq!(alone.shift, hl.shift);
            proptest::prop_assert_eq!(alone.lo.or(alone.hi), None);
        }
    }

    #[test]
    fn thousands_of_runs_are_bounded() {
        let x: Vec<f64> = (0..3000).map(f64::from).collect();
        let y: Vec<f64> = (0..3000).map(|i| f64::from(i) + 100.0).collect();
        let hl = hodges_lehmann(&x, &y, Some(0.95)).unwrap();
        assert!((hl.shift - 100.0).abs() < 5.0, "{hl:?}");
        assert!(hl.lo.unwrap() <= 100.0 && 100.0 <= hl.hi.unwrap(), "{hl:?}");
    }

    #[test]
    fn shift_of_a_pure_translation() {
        let x = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0];
        let y: Vec<f64> = x.iter().map(|v| v + 5.0).collect();
        let hl = hodges_lehmann(&x, &y, Some(0.95)).unwrap();
        assert_eq!(hl.shift, 5.0);
        assert!(hl.lo.unwrap() <= 5.0 && hl.hi.unwrap() >= 5.0);
    }

    /// R: wilcox.test(y, x, conf.int = TRUE, exact = TRUE) with
    /// x = 1:5, y = c(3.5, 6.5, 7.5, 8.5, 11.5): the 25 differences have
    /// k = 3 at 95% (P(U <= 2) = 4/252 <= 0.025 < P(U <= 3) = 7/252), so the
    /// interval is the 3rd smallest and 3rd largest difference.
    #[test]
    fn small_sample_interval_uses_exact_order_statistics() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [3.5, 6.5, 7.5, 8.5, 11.5];
        let hl = hodges_lehmann(&x, &y, Some(0.95)).unwrap();
        let mut d: Vec<f64> = y
            .iter()
            .flat_map(|b| x.iter().map(move |a| b - a))
            .collect();
        d.sort_by(f64::total_cmp);
        assert_eq!((hl.lo, hl.hi), (Some(d[2]), Some(d[22])));
        assert_eq!(hl.shift, d[12]);
    }

    #[test]
    fn too_small_for_an_interval() {
        let hl = hodges_lehmann(&[1.0, 2.0], &[3.0, 4.0], Some(0.95)).unwrap();
        assert_eq!((hl.lo, hl.hi), (None, None));
        assert!(hodges_lehmann(&[], &[1.0], Some(0.95)).is_none());
    }
}
