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
/// included, ascending; all of `v`, sorted, when it is no longer.
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

/// The differences `y[j] - x[i]` of two sorted samples, never written out:
/// row `j` (with `x` read from its largest value down) rises along `i`,
/// and each row lies at or above the one before, so the differences below
/// any value form a staircase that one pass over both samples counts.
/// Selecting an order statistic bisects on the value until few differences
/// remain between the bounds, then selects among those alone: linear in
/// the samples' sizes per step, where writing out every difference was
/// quadratic and most of a large comparison's time.
struct Differences<'a> {
    /// Ascending.
    y: &'a [f64],
    /// Descending.
    x: Vec<f64>,
}

/// Bisection steps before the differences between the bounds are selected
/// among, however many they are (values 2^-64 of their range apart).
const BISECTION_STEPS: usize = 64;

impl<'a> Differences<'a> {
    /// `x` and `y` ascending.
    fn new(x: &[f64], y: &'a [f64]) -> Self {
        Differences {
            y,
            x: x.iter().rev().copied().collect(),
        }
    }

    fn len(&self) -> usize {
        self.x.len() * self.y.len()
    }

    fn at(&self, j: usize, i: usize) -> f64 {
        self.y[j] - self.x[i]
    }

    /// How many differences lie below `v` (`inclusive`: at or below).
    fn count(&self, v: f64, inclusive: bool) -> usize {
        self.split(|d| match d.total_cmp(&v) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Equal => inclusive,
            std::cmp::Ordering::Greater => false,
        })
        .0
    }

    /// How many differences `lower` holds for, the largest of them and the
    /// smallest of the others. `lower` must hold for every difference below
    /// one it holds for (a lower set): the staircase is then one pass.
    fn split(&self, lower: impl Fn(f64) -> bool) -> (usize, Option<f64>, Option<f64>) {
        let n1 = self.x.len();
        // Each row's count is at most the one above it.
        let mut i = n1;
        let (mut n, mut largest, mut smallest) = (0, None::<f64>, None::<f64>);
        for j in 0..self.y.len() {
            while i > 0 && !lower(self.at(j, i - 1)) {
                i -= 1;
            }
            n += i;
            if i > 0 {
                let d = self.at(j, i - 1);
                largest = Some(largest.map_or(d, |l| l.max(d)));
            }
            if i < n1 {
                let d = self.at(j, i);
                smallest = Some(smallest.map_or(d, |s| s.min(d)));
            }
        }
        (n, largest, smallest)
    }

    /// The `r`-th smallest difference (0-based; `r < len()`).
    fn select(&self, r: usize) -> f64 {
        let (n1, n2) = (self.x.len(), self.y.len());
        // The r-th lies between lo (above it once lo has moved) and hi:
        // `before` differences come before that range, `upto_hi` are at or
        // below hi, and before <= r < upto_hi.
        let (mut lo, mut hi) = (self.at(0, 0), self.at(n2 - 1, n1 - 1));
        let (mut before, mut upto_hi, mut lo_moved) = (0, self.len(), false);
        let enough = 2 * (n1 + n2);
        for _ in 0..BISECTION_STEPS {
            if upto_hi - before <= enough || lo.total_cmp(&hi).is_ge() {
                break;
            }
            let mid = lo + (hi - lo) / 2.0;
            if mid.total_cmp(&lo).is_le() || mid.total_cmp(&hi).is_ge() {
                break;
            }
            let below = self.count(mid, false);
            if below > r {
                (hi, upto_hi) = (mid, below);
                continue;
            }
            let upto = self.count(mid, true);
            if upto <= r {
                (lo, before, lo_moved) = (mid, upto, true);
            } else {
                // Ranks below..upto all hold `mid`.
                return mid;
            }
        }
        if lo.total_cmp(&hi).is_eq() {
            // Every difference in range is this one value.
            return lo;
        }
        // The differences in range, row by row, and the r-th among them.
        let mut band = Vec::with_capacity(upto_hi - before);
        for j in 0..n2 {
            let from = self.x.partition_point(|&a| {
                let o = (self.y[j] - a).total_cmp(&lo);
                o.is_lt() || (lo_moved && o.is_eq())
            });
            band.extend(
                self.x[from..]
                    .iter()
                    .map(|&a| self.y[j] - a)
                    .take_while(|d| d.total_cmp(&hi).is_le()),
            );
        }
        let at = r - before;
        band.select_nth_unstable_by(at, f64::total_cmp);
        band[at]
    }

    /// The `r`-th smallest difference and the next (`r + 1 < len()`).
    fn select_pair(&self, r: usize) -> (f64, f64) {
        let a = self.select(r);
        if self.count(a, true) > r + 1 {
            return (a, a);
        }
        // The smallest difference above `a`: each row's first.
        let next = (0..self.y.len())
            .filter_map(|j| {
                let i = self
                    .x
                    .partition_point(|&v| (self.y[j] - v).total_cmp(&a).is_le());
                (i < self.x.len()).then(|| self.at(j, i))
            })
            .min_by(f64::total_cmp)
            .unwrap_or(a);
        (a, next)
    }
}

/// The samples the estimate is read from, ascending: themselves, or their
/// evenly spaced order statistics beyond [`MAX_PAIRS`] pairs.
fn bounded(x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let side = if x.len().saturating_mul(y.len()) > MAX_PAIRS {
        MAX_PAIRS.isqrt()
    } else {
        usize::MAX
    };
    (order_statistics(x, side), order_statistics(y, side))
}

/// Estimates the shift of `y` relative to `x`, with its interval at
/// `confidence`, or without one (`lo`, `hi` unbounded, `confidence` 0) when
/// `None`: half the selections, for callers that read the shift alone.
/// `None` when either sample is empty.
pub fn hodges_lehmann(x: &[f64], y: &[f64], confidence: Option<f64>) -> Option<HodgesLehmann> {
    if x.is_empty() || y.is_empty() {
        return None;
    }
    let (x, y) = bounded(x, y);
    let d = Differences::new(&x, &y);
    let (n1, n2) = (x.len(), y.len());
    let nn = d.len();
    let shift = if nn % 2 == 1 {
        d.select(nn / 2)
    } else {
        // The two middle differences, in order.
        let (a, b) = d.select_pair(nn / 2 - 1);
        median_of_sorted(&[a, b])
    };
    let k = confidence.map_or(0, |c| lower_rank(n1, n2, c));
    let (lo, hi) = if k == 0 {
        (None, None)
    } else {
        (Some(d.select(k - 1)), Some(d.select(nn - k)))
    };
    Some(HodgesLehmann {
        shift,
        lo,
        hi,
        confidence: confidence.unwrap_or(0.0),
    })
}

/// Which of a few zones the Hodges-Lehmann shift of `y` relative to `x`
/// falls in, without computing the shift: `zone` numbers them and never
/// falls as the shift rises (below, within, beyond a tolerance). The
/// shift's zone is that of the middle difference (or between the two
/// middle ones' zones, read at their mean where they differ), and how many
/// differences lie in each zone is counted in one pass over the samples:
/// what a search that only asks "is the shift beyond this?" needs, at a
/// fraction of selecting the shift. `None` when either sample is empty.
pub fn shift_zone(x: &[f64], y: &[f64], zone: impl Fn(f64) -> u8) -> Option<u8> {
    if x.is_empty() || y.is_empty() {
        return None;
    }
    let (x, y) = bounded(x, y);
    let d = Differences::new(&x, &y);
    let nn = d.len();
    // The zone of the r-th smallest difference, the count of differences in
    // that zone and below, and the largest of those and smallest of the rest.
    let zone_of_rank = |r: usize| {
        let mut z = 0u8;
        loop {
            let (n, largest, smallest) = d.split(|v| zone(v) <= z);
            if n > r || z == u8::MAX {
                return (z, n, largest, smallest);
            }
            z += 1;
        }
    };
    let (z, n, largest, smallest) = zone_of_rank((nn - 1) / 2);
    if nn % 2 == 1 || n > nn / 2 {
        return Some(z);
    }
    // The two middle differences lie in different zones: the shift is
    // their mean.
    match (largest, smallest) {
        (Some(a), Some(b)) => Some(zone(median_of_sorted(&[a, b]))),
        _ => Some(z),
    }
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

    proptest::proptest! {
        /// The same on spread-out values, where the bisection does the
        /// work, and on values packed a few ulps apart, where it runs out
        /// of steps.
        #[test]
        fn bisection_reads_what_a_full_sort_reads(
            x in proptest::collection::vec(0.0..1e9f64, 1..60),
            y in proptest::collection::vec(0.0..1e9f64, 1..60),
            packed in proptest::bool::ANY,
        ) {
            let pack = |v: Vec<f64>| -> Vec<f64> {
                if packed {
                    v.iter().map(|a| f64::from_bits(1e6f64.to_bits() + (*a as u64 % 4))).collect()
                } else {
                    v
                }
            };
            let (x, y) = (pack(x), pack(y));
            let hl = hodges_lehmann(&x, &y, Some(0.9)).unwrap();
            let mut d: Vec<f64> = y.iter().flat_map(|b| x.iter().map(move |a| b - a)).collect();
            d.sort_by(f64::total_cmp);
            proptest::prop_assert_eq!(hl.shift, median_of_sorted(&d));
            let k = lower_rank(x.len(), y.len(), 0.9);
            let expected = (k > 0).then(|| (d[k - 1], d[d.len() - k]));
            proptest::prop_assert_eq!(hl.lo.zip(hl.hi), expected);
        }
    }

    proptest::proptest! {
        /// The zone read by counting is the zone of the shift itself, for
        /// a three-zone rule like the gate's (below -t, within, above t).
        #[test]
        fn shift_zone_is_the_zone_of_the_shift(
            x in proptest::collection::vec(0u8..20, 1..40),
            y in proptest::collection::vec(0u8..20, 1..40),
            t in 0u8..6,
        ) {
            let (x, y): (Vec<f64>, Vec<f64>) = (
                x.into_iter().map(f64::from).collect(),
                y.into_iter().map(f64::from).collect(),
            );
            let t = f64::from(t) / 2.0;
            let zone = |s: f64| if s < -t { 0 } else if s <= t { 1 } else { 2 };
            let shift = hodges_lehmann(&x, &y, None).unwrap().shift;
            proptest::prop_assert_eq!(shift_zone(&x, &y, zone), Some(zone(shift)));
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
