//! The two-sided Mann-Whitney U test, computed as benchstat computes it
//! (go-moremath `stats/utest.go` and `udist.go` at the version x/perf pins):
//!
//! - U1 = R1 - n1(n1+1)/2 from mid-ranks, ties counting 0.5; the test
//!   uses the smaller of U1 and U2 = n1*n2 - U1;
//! - the exact null distribution when there are no ties and both samples
//!   have at most [`EXACT_LIMIT`] values, or there are ties and both have at
//!   most [`TIES_EXACT_LIMIT`]; two-sided p = 2 * CDF(U_small), or 1 when
//!   U1 = U2, without ties; with ties, where the distribution need not be
//!   symmetric, p = 2 * min(P(U1 <= u1), P(U1 >= u1)) (here memgate departs
//!   from go-moremath, whose doubled CDF can exceed 1 or read the wrong tail);
//! - otherwise the normal approximation with tie correction and continuity
//!   correction;
//! - an empty sample, or all values equal, is an error: the test says nothing.
//!
//! The exact distribution with ties is the permutation distribution of the
//! rank sum under the observed tie structure, counted by dynamic
//! programming over tie groups on doubled mid-ranks (which are integers).
//! It is the distribution Klotz's algorithm computes in go-moremath.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

/// Largest sample size for the exact distribution without ties
/// (go-moremath `MannWhitneyExactLimit`).
pub const EXACT_LIMIT: usize = 50;
/// Largest sample size for the exact distribution with ties
/// (go-moremath `MannWhitneyTiesExactLimit` at the version x/perf pins).
pub const TIES_EXACT_LIMIT: usize = 25;

/// The outcome of one test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MannWhitney {
    /// The smaller of U1 and U2 (a multiple of 0.5).
    pub u: f64,
    /// U of the first sample, `R1 - n1(n1+1)/2`: pairs where the first
    /// sample's value is the larger, ties counting 0.5 (go-moremath's `U`).
    pub u1: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Whether the exact distribution was used.
    pub exact: bool,
}

/// Why the test has nothing to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UTestError {
    /// A sample is empty (go-moremath `ErrSampleSize`).
    #[error("sample is too small (n1 = {n1}, n2 = {n2})")]
    SampleTooSmall {
        /// Size of the first sample.
        n1: usize,
        /// Size of the second sample.
        n2: usize,
    },
    /// Every value of both samples is equal (go-moremath `ErrSamplesEqual`).
    #[error("all samples are equal")]
    AllEqual,
}

/// Runs the test of `x` (first sample, e.g. the baseline) against `y`.
pub fn mann_whitney(x: &[f64], y: &[f64]) -> Result<MannWhitney, UTestError> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 {
        return Err(UTestError::SampleTooSmall { n1, n2 });
    }
    let mut merged: Vec<(f64, bool)> = x
        .iter()
        .map(|&v| (v, true))
        .chain(y.iter().map(|&v| (v, false)))
        .collect();
    merged.sort_by(|a, b| a.0.total_cmp(&b.0));

    // Tie groups: (size, doubled mid-rank, members from x).
    let mut groups: Vec<(usize, u64, usize)> = Vec::new();
    let mut twice_r1: u64 = 0;
    let mut i = 0;
    while i < merged.len() {
        let start = i;
        let mut from_x = 0;
        while i < merged.len() && merged[i].0 == merged[start].0 {
            from_x += usize::from(merged[i].1);
            i += 1;
        }
        // Ranks start..i (0-based) are start+1..=i; doubled mid-rank = start+1+i.
        let twice_rank = (start + 1 + i) as u64;
        twice_r1 += twice_rank * from_x as u64;
        groups.push((i - start, twice_rank, from_x));
    }
    let has_ties = groups.len() < merged.len();
    let nn = (n1 * n2) as f64;
    let u1 = twice_r1 as f64 / 2.0 - (n1 * (n1 + 1)) as f64 / 2.0;
    let u_small = u1.min(nn - u1);

    let exact = if has_ties {
        n1 <= TIES_EXACT_LIMIT && n2 <= TIES_EXACT_LIMIT
    } else {
        n1 <= EXACT_LIMIT && n2 <= EXACT_LIMIT
    };
    if groups.len() == 1 {
        return Err(UTestError::AllEqual);
    }
    let p = if exact && has_ties {
        // With ties U1's null distribution need not be symmetric, so the
        // two tails are counted apart: p = 2 min(P(U1 <= u1), P(U1 >= u1)).
        // (go-moremath doubles P(U <= min(U1, U2)), which picks the wrong
        // tail when the tie structure is asymmetric.)
        let lower = exact_cdf(n1, n2, &groups, u1);
        let upper = 1.0 - exact_cdf(n1, n2, &groups, u1 - 0.5);
        (2.0 * lower.min(upper)).min(1.0)
    } else if exact {
        if u1 == nn - u1 {
            // Symmetric about U: doubling the CDF would count the mass at U twice.
            1.0
        } else {
            2.0 * exact_cdf(n1, n2, &groups, u_small)
        }
    } else {
        let n = (n1 + n2) as f64;
        let t: f64 = groups.iter().map(|&(s, _, _)| (s * s * s - s) as f64).sum();
        let mu = nn / 2.0;
        let sigma = (nn * ((n + 1.0) - t / (n * (n - 1.0))) / 12.0).sqrt();
        if sigma == 0.0 {
            return Err(UTestError::AllEqual);
        }
        let mut numer = u_small - mu;
        numer -= numer.signum() * 0.5 * f64::from(numer != 0.0);
        let z = numer / sigma;
        let phi = standard_normal_cdf(z);
        2.0 * phi.min(1.0 - phi)
    };
    Ok(MannWhitney {
        u: u_small,
        u1,
        p,
        exact,
    })
}

/// Φ(z).
pub(crate) fn standard_normal_cdf(z: f64) -> f64 {
    Normal::standard().cdf(z)
}

/// z such that Φ(z) = p.
pub(crate) fn standard_normal_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// P(U1 <= u) under the null for these tie groups.
fn exact_cdf(n1: usize, n2: usize, groups: &[(usize, u64, usize)], u: f64) -> f64 {
    if u < 0.0 {
        return 0.0;
    }
    // U1 = R1 - n1(n1+1)/2, so 2*U1 <= 2u  <=>  2*R1 <= 2u + n1(n1+1).
    let limit = (2.0 * u).round() as u64 + (n1 * (n1 + 1)) as u64;
    if groups.len() == n1 + n2 {
        return untied_cdf(n1, n2, (2.0 * u).round() as u64 / 2);
    }
    let ways = subset_sums(n1, groups.iter().map(|&(s, r, _)| (s, r)), limit);
    ways.iter().sum::<f64>() / binomial(n1 + n2, n1)
}

/// For choosing `k` items in total from groups of (size, doubled rank),
/// the number of ways per doubled rank-sum up to `limit`, for k = n1.
fn subset_sums(n1: usize, groups: impl Iterator<Item = (usize, u64)>, limit: u64) -> Vec<f64> {
    let width = limit as usize + 1;
    // table[k * width + s]: ways to choose k items with doubled rank-sum s.
    let mut table = vec![0.0f64; (n1 + 1) * width];
    table[0] = 1.0;
    let mut taken_max = 0usize;
    for (size, twice_rank) in groups {
        let mut next = vec![0.0f64; table.len()];
        for k in 0..=taken_max.min(n1) {
            for s in 0..width {
                let w = table[k * width + s];
                if w == 0.0 {
                    continue;
                }
                let mut choose = 1.0f64;
                for j in 0..=size.min(n1 - k) {
                    if j > 0 {
                        choose = choose * (size - j + 1) as f64 / j as f64;
                    }
                    let s2 = s as u64 + j as u64 * twice_rank;
                    if s2 > limit {
                        break;
                    }
                    next[(k + j) * width + s2 as usize] += w * choose;
                }
            }
        }
        taken_max += size;
        table = next;
    }
    table[n1 * width..].to_vec()
}

/// A null CDF of U, indexed by U.
type Cdf = std::sync::Arc<Vec<f64>>;

/// Null CDFs of U without ties, per (n1, n2): they depend on nothing else,
/// and a gate run compares many metrics with the same sample sizes on
/// every core, so they are kept for the process (a cache per thread was
/// built again by every thread of every parallel step). A gate run sees a
/// few sizes: a short list, searched in order, outruns hashing the key;
/// at most one per pair of sizes up to [`EXACT_LIMIT`].
static UNTIED: std::sync::Mutex<Vec<((usize, usize), Cdf)>> = std::sync::Mutex::new(Vec::new());

/// P(U <= u) without ties, from the cached distribution for (n1, n2).
fn untied_cdf(n1: usize, n2: usize, u: u64) -> f64 {
    let cdf = untied_distribution(n1, n2);
    cdf[(u as usize).min(cdf.len() - 1)]
}

/// The CDF of U for samples of n1 and n2 distinct values, indexed by U.
fn untied_distribution(n1: usize, n2: usize) -> Cdf {
    let cache = || {
        UNTIED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let find = |cached: &[((usize, usize), Cdf)]| {
        cached
            .iter()
            .find(|(k, _)| *k == (n1, n2))
            .map(|(_, c)| c.clone())
    };
    if let Some(c) = find(&cache()) {
        return c;
    }
    // Built outside the lock; a thread that built it meanwhile wins.
    let built = Cdf::new(untied_cdf_of(n1, n2));
    let mut cached = cache();
    if let Some(c) = find(&cached) {
        return c;
    }
    cached.push(((n1, n2), built.clone()));
    built
}

/// The CDF of U for samples of n1 and n2 distinct values, computed.
fn untied_cdf_of(n1: usize, n2: usize) -> Vec<f64> {
    // Counts of U: the coefficients of the Gaussian binomial [n1+n2 choose n1]_q,
    // by the Mann-Whitney (1947) recurrence f(a, b, u) = f(a-1, b, u-b) + f(a, b-1, u),
    // iterated over b with a rolling table over a.
    let max_u = n1 * n2;
    // f[a][u] for the current b.
    let mut f: Vec<Vec<f64>> = (0..=n1).map(|_| vec![0.0; max_u + 1]).collect();
    for row in f.iter_mut() {
        row[0] = 1.0; // b = 0: only U = 0.
    }
    for b in 1..=n2 {
        // f(0, b, u) = [u == 0]; f(a, b, u) = f(a-1, b, u-b) + f(a, b-1, u).
        // f(a-1, b, u-b) is 0 unless b <= u <= a*b (U of a and b values is
        // at most a*b): only those u move.
        for a in 1..=n1 {
            let (lower, upper) = f.split_at_mut(a);
            let prev_a = &lower[a - 1];
            let cur = &mut upper[0];
            for u in (b..=a * b).rev() {
                cur[u] += prev_a[u - b];
            }
        }
    }
    let counts = &f[n1];
    let total: f64 = counts.iter().sum();
    let mut acc = 0.0;
    counts
        .iter()
        .map(|c| {
            acc += c;
            acc / total
        })
        .collect()
}

/// The U-distribution quantile used for confidence intervals: the smallest
/// u with P(U <= u) >= p, for samples without ties.
pub(crate) fn untied_quantile(n1: usize, n2: usize, p: f64) -> usize {
    let cdf = untied_distribution(n1, n2);
    // The CDF never falls: the first at or above p by bisection.
    cdf.partition_point(|&c| c < p - 1e-12).min(cdf.len() - 1)
}

/// C(n, k) as a float.
fn binomial(n: usize, k: usize) -> f64 {
    let k = k.min(n - k);
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// The smallest two-sided p the exact test can give for samples of n1 and
/// n2 distinct values: complete separation, 2 / C(n1 + n2, n1).
pub fn min_attainable_p(n1: usize, n2: usize) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    (2.0 / binomial(n1 + n2, n1)).min(1.0)
}

/// The fewest runs per side (equal on both sides) whose best attainable p
/// reaches `threshold`, e.g. alpha / m under Holm.
pub fn runs_needed(threshold: f64) -> usize {
    (1..=200)
        .find(|&n| min_attainable_p(n, n) <= threshold)
        .unwrap_or(200)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: &[f64], y: &[f64]) -> f64 {
        mann_whitney(x, y).unwrap().p
    }

    /// Two-sided p by brute force: every way of drawing n1 of the pooled
    /// values as the first sample, p = 2 min(P(U1 <= u1), P(U1 >= u1)).
    fn enumerated_p(x: &[f64], y: &[f64]) -> f64 {
        let pooled: Vec<f64> = x.iter().chain(y).copied().collect();
        let u1_of = |first: &[bool]| {
            let side = |in_first: bool| {
                pooled
                    .iter()
                    .zip(first)
                    .filter(move |(_, f)| **f == in_first)
                    .map(|(v, _)| *v)
            };
            let mut u = 0.0;
            for a in side(true) {
                for b in side(false) {
                    u += if a > b {
                        1.0
                    } else if a == b {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
            u
        };
        let n = pooled.len();
        let observed: Vec<bool> = (0..n).map(|i| i < x.len()).collect();
        let u_obs = u1_of(&observed);
        let (mut le, mut ge, mut total) = (0u32, 0u32, 0u32);
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize != x.len() {
                continue;
            }
            let first: Vec<bool> = (0..n).map(|i| mask & (1 << i) != 0).collect();
            let u = u1_of(&first);
            total += 1;
            le += u32::from(u <= u_obs);
            ge += u32::from(u >= u_obs);
        }
        (2.0 * f64::from(le.min(ge)) / f64::from(total)).min(1.0)
    }

    #[test]
    fn tied_p_values_match_enumeration_and_stay_in_zero_one() {
        let cases: [(&[f64], &[f64]); 6] = [
            (&[1.0, 1.0, 3.0, 3.0], &[1.0, 3.0, 3.0]),
            (&[2.0, 3.0, 3.0, 3.0, 3.0], &[1.0, 1.0, 2.0]),
            (&[1.0, 1.0, 2.0], &[2.0, 3.0, 3.0, 3.0, 3.0]),
            (&[5.0, 5.0, 5.0, 6.0], &[6.0, 6.0, 7.0, 7.0, 7.0]),
            (&[1.0, 2.0, 2.0, 2.0, 9.0], &[2.0, 2.0, 3.0]),
            (&[4.0, 4.0, 4.0, 4.0, 4.0, 5.0], &[4.0, 5.0, 5.0]),
        ];
        for (x, y) in cases {
            let got = p(x, y);
            let want = enumerated_p(x, y);
            assert!((0.0..=1.0).contains(&got), "{x:?} vs {y:?}: p = {got}");
            assert!(
                (got - want).abs() < 1e-12,
                "{x:?} vs {y:?}: p = {got}, enumeration {want}"
            );
        }
        // The asymmetric case that doubled the wrong tail: 4/56.
        assert!((p(&[2.0, 3.0, 3.0, 3.0, 3.0], &[1.0, 1.0, 2.0]) - 4.0 / 56.0).abs() < 1e-12);
    }

    #[test]
    fn complete_separation_hits_the_exact_floor() {
        // 12 x6 vs 14 x6 is two tie groups, fully separated: exact p = 2/C(12,6)
        // = 0.002165, which benchstat prints as p=0.002 for allocs/op 12 vs 14.
        let a = [12.0; 6];
        let b = [14.0; 6];
        assert!((p(&a, &b) - 2.0 / 924.0).abs() < 1e-12);
        let x: Vec<f64> = (0..6).map(f64::from).collect();
        let y: Vec<f64> = (10..16).map(f64::from).collect();
        assert!((p(&x, &y) - 2.0 / 924.0).abs() < 1e-12);
        assert!((min_attainable_p(6, 6) - 2.0 / 924.0).abs() < 1e-15);
    }

    #[test]
    fn degenerate_inputs_are_errors() {
        assert_eq!(
            mann_whitney(&[], &[1.0]),
            Err(UTestError::SampleTooSmall { n1: 0, n2: 1 })
        );
        assert_eq!(mann_whitney(&[3.0, 3.0], &[3.0]), Err(UTestError::AllEqual));
    }

    #[test]
    fn symmetric_u_gives_p_one() {
        assert_eq!(p(&[1.0, 4.0], &[2.0, 3.0]), 1.0);
    }

    #[test]
    fn untied_distribution_matches_brute_force() {
        // 3 vs 4 values: enumerate all C(7,3) placements of x among the ranks.
        let (n1, n2) = (3usize, 4usize);
        let mut counts = vec![0u32; n1 * n2 + 1];
        for mask in 0u32..(1 << 7) {
            if mask.count_ones() as usize != n1 {
                continue;
            }
            let r1: usize = (0..7).filter(|i| mask & (1 << i) != 0).map(|i| i + 1).sum();
            counts[r1 - n1 * (n1 + 1) / 2] += 1;
        }
        let mut acc = 0.0;
        for (u, c) in counts.iter().enumerate() {
            acc += f64::from(*c) / 35.0;
            assert!(
                (untied_cdf(n1, n2, u as u64) - acc).abs() < 1e-12,
                "u = {u}"
            );
        }
    }

    #[test]
    fn tied_exact_matches_brute_force_permutations() {
        let x = [1.0, 2.0, 2.0, 3.0];
        let y = [2.0, 3.0, 3.0, 4.0, 4.0];
        let observed = mann_whitney(&x, &y).unwrap();
        // Enumerate every assignment of 4 of the 9 pooled values to x.
        let pooled: Vec<f64> = x.iter().chain(y.iter()).copied().collect();
        let u_of = |a: &[f64], b: &[f64]| -> f64 {
            a.iter()
                .flat_map(|&v| {
                    b.iter().map(move |&w| {
                        if v < w {
                            1.0
                        } else if v == w {
                            0.5
                        } else {
                            0.0
                        }
                    })
                })
                .sum()
        };
        let (mut below, mut total) = (0u32, 0u32);
        for mask in 0u32..(1 << 9) {
            if mask.count_ones() != 4 {
                continue;
            }
            let a: Vec<f64> = (0..9)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| pooled[i])
                .collect();
            let b: Vec<f64> = (0..9)
                .filter(|i| mask & (1 << i) == 0)
                .map(|i| pooled[i])
                .collect();
            // go-moremath's U1 is "x smaller than y" pairs: the complement of u_of(b, a)
            let u1 = 20.0 - u_of(&a, &b);
            total += 1;
            if u1 <= observed.u + 1e-9 {
                below += 1;
            }
        }
        let expected = 2.0 * f64::from(below) / f64::from(total);
        assert!(observed.exact);
        assert!(
            (observed.p - expected).abs() < 1e-12,
            "{} vs {expected}",
            observed.p
        );
    }

    #[test]
    fn runs_needed_follows_the_holm_floor_table() {
        // The exact test's floor 2/C(2n, n) must reach alpha / m under Holm:
        // alpha 0.05 with m = 1, 5, 20, 50, 200, 500 metrics needs n runs a side.
        let table = [(1, 4), (5, 5), (20, 6), (50, 7), (200, 8), (500, 9)];
        for (m, n) in table {
            assert_eq!(runs_needed(0.05 / m as f64), n, "m = {m}");
        }
    }
}
