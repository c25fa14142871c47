//! The run's multiple-testing family, fixed before any outcome is read.
//!
//! Every comparison of the run with samples on both sides is a candidate,
//! whichever rule goes on to decide it. Which candidates join the family
//! depends only on their numbers of runs (Tarone's screen: R. E. Tarone,
//! "A modified Bonferroni method for discrete data", Biometrics 46(2),
//! 1990): with K the smallest integer such that at most K candidates can
//! reach a p of alpha / K, the family is those candidates. A comparison
//! whose runs can never reach significance at that level is left out, so
//! it cannot dilute the others, and it stays out whatever its values are.
//! The family's size is known before anything is judged, so making one
//! metric worse never moves another metric's bar.
//!
//! Holm's correction then runs once per direction over the family: a
//! member's p counts for the direction its runs lean (the U statistic),
//! and is 1 for the other; a rule's decision counts as p = 0 in its
//! direction and 1 in the other, a rule's "no change" as 1. A current run
//! made worse can only lower a member's p in the worse direction, and
//! Holm's adjusted p-values never rise when another p falls (Holm 1979),
//! so no regression turns into a pass through another metric. Each
//! direction alone keeps the family-wise error rate at alpha: under no
//! change, the two-sided p falls below t with its runs leaning one given
//! way with probability at most t.

use crate::stats;

/// One candidate: its runs per side, its alpha, and its p-values for a
/// change for the worse and for the better.
#[derive(Debug, Clone, Copy)]
pub(super) struct Candidate {
    pub(super) runs: (usize, usize),
    pub(super) alpha: f64,
    pub(super) worse: f64,
    pub(super) better: f64,
}

/// The family and its Holm-adjusted p-values.
#[derive(Debug, Clone)]
pub(super) struct Family {
    /// Candidates considered.
    pub(super) candidates: usize,
    /// Tarone's K: every member's smallest possible p is at most
    /// alpha / K.
    pub(super) k: usize,
    /// Per candidate, in order: `Some((worse, better))` adjusted within the
    /// family, `None` for a candidate left out.
    pub(super) adjusted: Vec<Option<(f64, f64)>>,
}

impl Family {
    /// Members in the family.
    pub(super) fn size(&self) -> usize {
        self.adjusted.iter().flatten().count()
    }

    /// The family under Holm: Tarone's screen, then Holm per direction.
    pub(super) fn holm(candidates: &[Candidate]) -> Family {
        let min_p: Vec<f64> = candidates
            .iter()
            .map(|c| stats::min_attainable_p(c.runs.0, c.runs.1))
            .collect();
        let can_reach = |k: usize| {
            candidates
                .iter()
                .zip(&min_p)
                .filter(|(c, p)| **p <= c.alpha / k as f64)
                .count()
        };
        // The smallest K whose count is at most K: the count never rises as
        // K does, so the first K past it is found by bisection (at K = the
        // number of candidates the count is at most K).
        let (mut lo, mut hi) = (1, candidates.len().max(1));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if can_reach(mid) <= mid {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let k = lo;
        let member: Vec<bool> = candidates
            .iter()
            .zip(&min_p)
            .map(|(c, p)| *p <= c.alpha / k as f64)
            .collect();
        let pick = |f: fn(&Candidate) -> f64| -> Vec<f64> {
            candidates
                .iter()
                .zip(&member)
                .filter(|(_, m)| **m)
                .map(|(c, _)| f(c))
                .collect()
        };
        let mut worse = stats::holm(&pick(|c| c.worse)).into_iter();
        let mut better = stats::holm(&pick(|c| c.better)).into_iter();
        let adjusted = member
            .iter()
            .map(|&m| m.then(|| (worse.next().unwrap_or(1.0), better.next().unwrap_or(1.0))))
            .collect();
        Family {
            candidates: candidates.len(),
            k,
            adjusted,
        }
    }

    /// No correction: every candidate a member, its p as it is.
    pub(super) fn uncorrected(candidates: &[Candidate]) -> Family {
        Family {
            candidates: candidates.len(),
            k: 1,
            adjusted: candidates
                .iter()
                .map(|c| Some((c.worse, c.better)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(runs: usize, worse: f64) -> Candidate {
        Candidate {
            runs: (runs, runs),
            alpha: 0.05,
            worse,
            better: 1.0,
        }
    }

    #[test]
    fn candidates_that_cannot_reach_significance_stay_out() {
        // 3 vs 3: the smallest p is 0.1, never below 0.05; 8 vs 8 can.
        let f = Family::holm(&[candidate(8, 0.038), candidate(3, 1.0)]);
        assert_eq!(f.k, 1);
        assert_eq!(f.size(), 1);
        assert_eq!(f.adjusted[0], Some((0.038, 1.0)));
        assert_eq!(f.adjusted[1], None);
        // Its values do not matter: the same family with it at p = 0.1.
        let g = Family::holm(&[candidate(8, 0.038), candidate(3, 0.1)]);
        assert_eq!(g.adjusted, f.adjusted);
    }

    #[test]
    fn tarone_finds_the_smallest_k() {
        // 30 candidates of 6 vs 6 (smallest p 2/924 = 0.002165): every K
        // up to 23 (0.05/23 = 0.002174) lets all 30 in, more than K; at
        // K = 24 (0.002083) none can.
        let f = Family::holm(&vec![candidate(6, 1.0); 30]);
        assert_eq!((f.k, f.size()), (24, 0));
        // 10 of them at 10 vs 10 (1.1e-5): K = 24 again, which keeps
        // exactly those, and Holm runs over the 10 (first bar 0.05/10).
        let mut c = vec![candidate(6, 1.0); 20];
        c.extend(vec![candidate(10, 1.0); 10]);
        let f = Family::holm(&c);
        assert_eq!((f.k, f.size()), (24, 10));
        assert!(f.adjusted[..20].iter().all(Option::is_none));
    }

    proptest::proptest! {
        /// The bisection finds the K a scan from 1 up finds.
        #[test]
        fn tarone_bisection_finds_what_a_scan_finds(
            runs in proptest::collection::vec(2usize..12, 1..80),
        ) {
            let c: Vec<Candidate> = runs.iter().map(|&r| candidate(r, 1.0)).collect();
            let reach = |k: usize| {
                c.iter()
                    .filter(|c| stats::min_attainable_p(c.runs.0, c.runs.1) <= c.alpha / k as f64)
                    .count()
            };
            let scanned = (1..=c.len()).find(|&k| reach(k) <= k).unwrap_or(1);
            proptest::prop_assert_eq!(Family::holm(&c).k, scanned);
        }
    }

    #[test]
    fn a_rule_decision_frees_the_bar_of_the_others() {
        // A change decided by a rule counts as p = 0 in its direction.
        let f = Family::holm(&[candidate(8, 0.0), candidate(8, 0.04)]);
        assert_eq!(f.adjusted[1].unwrap().0, 0.04);
        // A rule's "no change" counts as p = 1: Holm over both.
        let f = Family::holm(&[candidate(8, 1.0), candidate(8, 0.04)]);
        assert_eq!(f.adjusted[1].unwrap().0, 0.08);
    }
}
