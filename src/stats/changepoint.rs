//! Change points in a metric's history: where the level of a series of
//! per-commit medians moved, by PELT (Killick, Fearnhead and Eckley,
//! "Optimal detection of changepoints with a linear computational cost",
//! JASA 107(500), 2012) with the normal mean-change cost: the segmentation
//! minimising the sum over segments of the squared deviations from each
//! segment's mean, divided by the noise variance, plus a penalty per
//! change. PELT finds the exact minimum of that penalised cost, pruning
//! candidates that can never start an optimal last segment.
//!
//! - **Penalty**: 2 ln n per change (the Schwarz information criterion for
//!   one new mean, the default of R's `changepoint::cpt.mean`).
//! - **Noise**: the variance is estimated from the series itself, robustly
//!   to the level shifts being sought, as the squared median absolute
//!   difference of successive values / (sqrt 2 x 0.6745) (MAD of first
//!   differences, consistent for Gaussian noise), floored at a fraction of
//!   the level that the caller chooses per kind of metric: a figure the
//!   program decides repeats to a fraction of a percent, a time moves with
//!   the runner's load by several.
//! - **Minimum segment length**: no segment shorter than `min_segment`
//!   points, so one odd run cannot be a change by itself.
//! - **Confirmation**: a boundary stands only when the medians of the
//!   segments on its two sides differ by at least four standard errors;
//!   the weakest is merged away first (one outlying commit among ordinary
//!   ones moves a mean, not a median).
//! - **Edges**: a change whose new segment reaches the end of the window
//!   with fewer than `min_segment` points is not reported (the minimum
//!   segment length already forbids it): the next commits re-check it.

/// One change of level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePoint {
    /// Index of the first point of the new level.
    pub index: usize,
    /// Median of the segment before.
    pub before: f64,
    /// Median of the segment from `index`.
    pub after: f64,
}

/// Finds the change points of `xs` with segments of at least
/// `min_segment` points and noise at least `floor` (an absolute standard
/// deviation); in order of index.
pub fn changepoints(xs: &[f64], min_segment: usize, floor: f64) -> Vec<ChangePoint> {
    let n = xs.len();
    let min_segment = min_segment.max(1);
    if n < 2 * min_segment {
        return Vec::new();
    }
    let sigma = noise(xs).max(floor);
    if sigma.is_nan() || sigma <= 0.0 {
        return Vec::new();
    }
    let var = sigma * sigma;
    // Prefix sums give each segment's cost in O(1).
    let mut s1 = vec![0.0; n + 1];
    let mut s2 = vec![0.0; n + 1];
    for (i, &x) in xs.iter().enumerate() {
        s1[i + 1] = s1[i] + x;
        s2[i + 1] = s2[i] + x * x;
    }
    // Cost of xs[a..t]: its squared deviations from its mean, over var
    // (the reciprocals computed once: this is the inner loop).
    let inv_var = 1.0 / var;
    let inv_len: Vec<f64> = (0..=n)
        .map(|m| if m == 0 { 0.0 } else { 1.0 / m as f64 })
        .collect();
    let penalty = 2.0 * (n as f64).ln();
    // f[t]: the least penalised cost of xs[..t]; last[t]: where its last
    // segment starts.
    let mut f = vec![f64::INFINITY; n + 1];
    let mut last = vec![0usize; n + 1];
    f[0] = -penalty;
    // The segment starts still in the running, each with what its cost
    // needs side by side (the loop reads them in order), admitted once a
    // segment from them would be long enough.
    struct Start {
        at: usize,
        f: f64,
        s1: f64,
        s2: f64,
    }
    let start = |at: usize, f: &[f64]| Start {
        at,
        f: f[at],
        s1: s1[at],
        s2: s2[at],
    };
    let mut starts_in_running = vec![start(0, &f)];
    // Each start's cost so far at t, computed once for both the choice
    // and the pruning.
    let mut costs: Vec<f64> = Vec::new();
    for t in min_segment..=n {
        if t >= 2 * min_segment {
            starts_in_running.push(start(t - min_segment, &f));
        }
        let (t1, t2) = (s1[t], s2[t]);
        let (mut best, mut arg) = (f64::INFINITY, 0);
        costs.clear();
        for c in &starts_in_running {
            let sum = t1 - c.s1;
            let cost = c.f + ((t2 - c.s2) - sum * sum * inv_len[t - c.at]).max(0.0) * inv_var;
            costs.push(cost);
            if cost + penalty < best {
                best = cost + penalty;
                arg = c.at;
            }
        }
        f[t] = best;
        last[t] = arg;
        // PELT's pruning: a start whose cost so far already exceeds the
        // best by more than the penalty can never be optimal later.
        let mut k = 0;
        starts_in_running.retain(|_| {
            let keep = costs[k] <= best;
            k += 1;
            keep
        });
    }
    let mut starts = Vec::new();
    let mut t = n;
    while t > 0 {
        let s = last[t];
        starts.push(s);
        t = s;
    }
    starts.reverse();
    confirm(xs, &mut starts, sigma, min_segment);
    let mut bounds = starts.clone();
    bounds.push(n);
    let median = |a: usize, b: usize| super::median(&xs[a..b]);
    (1..starts.len())
        .map(|i| ChangePoint {
            index: starts[i],
            before: median(bounds[i - 1], bounds[i]),
            after: median(bounds[i], bounds[i + 1]),
        })
        .collect()
}

/// How many standard errors the medians of two neighbouring segments must
/// differ by for their boundary to stand: PELT has already picked the
/// boundary that separates them best, and the noise is estimated from the
/// series, so the bar is high (on 200 series of pure Gaussian noise, 80
/// commits each, none stands; see the tests).
const CONFIRM_Z: f64 = 5.0;

/// Drops, weakest first, each boundary between segments whose medians
/// differ by less than [`CONFIRM_Z`] standard errors (a median's is about
/// 1.2533 sigma / sqrt n for Gaussian noise), or either of whose segments
/// has fewer than `min_segment` points on its own side of the midpoint
/// between the two medians, merging its segments: the mean-change cost
/// lets one outlying commit and two ordinary ones make a segment of their
/// own, and at the window's end a segment of two new points and an old
/// one; neither moves a median, nor holds a level.
fn confirm(xs: &[f64], starts: &mut Vec<usize>, sigma: f64, min_segment: usize) {
    loop {
        let mut bounds = starts.clone();
        bounds.push(xs.len());
        let weakest = (1..starts.len())
            .map(|i| {
                let (a, b) = (&xs[bounds[i - 1]..bounds[i]], &xs[bounds[i]..bounds[i + 1]]);
                let (ma, mb) = (super::median(a), super::median(b));
                let se = 1.2533 * sigma * (1.0 / a.len() as f64 + 1.0 / b.len() as f64).sqrt();
                let mid = (ma + mb) / 2.0;
                let own = |seg: &[f64], m: f64| {
                    seg.iter().filter(|&&x| (x - mid) * (m - mid) > 0.0).count()
                };
                let holds = own(a, ma) >= min_segment && own(b, mb) >= min_segment;
                (i, if holds { (mb - ma).abs() / se } else { 0.0 })
            })
            .filter(|&(_, z)| z < CONFIRM_Z)
            .min_by(|x, y| x.1.total_cmp(&y.1));
        match weakest {
            Some((i, _)) => {
                starts.remove(i);
            }
            None => return,
        }
    }
}

/// The noise's standard deviation, from the median absolute difference of
/// successive values: a level shift moves one difference, not the median.
fn noise(xs: &[f64]) -> f64 {
    let diffs: Vec<f64> = xs.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    // MAD / 0.6745 estimates a Gaussian's sigma; a difference of two
    // independent values has sigma * sqrt 2.
    super::median(&diffs) / 0.6745 / std::f64::consts::SQRT_2
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random Gaussian series (Box-Muller over a
    /// linear congruential generator), so tests need no crate of their own.
    fn noisy(n: usize, level: impl Fn(usize) -> f64, sd: f64, seed: u64) -> Vec<f64> {
        let mut state = seed;
        let mut uniform = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        (0..n)
            .map(|i| {
                let z =
                    (-2.0 * uniform().ln()).sqrt() * (2.0 * std::f64::consts::PI * uniform()).cos();
                level(i) + sd * z
            })
            .collect()
    }

    #[test]
    fn one_step_is_found_where_it_is() {
        let xs = noisy(60, |i| if i < 35 { 100.0 } else { 110.0 }, 1.0, 7);
        let cps = changepoints(&xs, 3, 0.0);
        assert_eq!(cps.len(), 1, "{cps:?}");
        assert!((34..=36).contains(&cps[0].index), "{cps:?}");
        assert!((cps[0].after / cps[0].before - 1.1).abs() < 0.01, "{cps:?}");
    }

    #[test]
    fn steps_of_three_to_five_sigma_held_for_twenty_commits_are_found() {
        let mut found = [0; 3];
        for (k, step) in [3.0, 4.0, 5.0].into_iter().enumerate() {
            for seed in 1..=50 {
                let xs = noisy(
                    40,
                    |i| if i < 20 { 100.0 } else { 100.0 + 3.0 * step },
                    3.0,
                    seed,
                );
                let cps = changepoints(&xs, 3, 0.0);
                if cps.len() == 1 && (17..=23).contains(&cps[0].index) {
                    found[k] += 1;
                }
            }
        }
        // Measured: 45, 50 and 50 of 50 (3, 4 and 5 sigma).
        assert!(
            found[0] >= 40 && found[1] == 50 && found[2] == 50,
            "{found:?}"
        );
    }

    #[test]
    fn noise_alone_has_no_change_points() {
        for seed in 1..=200 {
            let xs = noisy(80, |_| 100.0, 3.0, seed);
            assert!(
                changepoints(&xs, 3, 0.0).is_empty(),
                "seed {seed} sigma {} {:?}",
                noise(&xs),
                changepoints(&xs, 3, 0.0)
            );
        }
    }

    #[test]
    fn one_outlier_is_not_a_change() {
        let mut xs = noisy(40, |_| 100.0, 0.5, 3);
        xs[20] = 130.0;
        assert!(changepoints(&xs, 3, 0.0).is_empty());
    }

    #[test]
    fn a_new_level_too_short_at_the_edge_waits() {
        let mut xs = noisy(40, |_| 100.0, 0.5, 5);
        xs.extend([120.0, 120.2]);
        assert!(changepoints(&xs, 3, 0.0).is_empty());
        xs.push(119.9);
        assert_eq!(changepoints(&xs, 3, 0.0).len(), 1);
    }

    #[test]
    fn ten_steps_of_three_percent_are_each_found() {
        // The slow boil: a deterministic figure, +3% every 5 commits.
        let xs: Vec<f64> = (0..50).map(|i: i32| 1e6 * 1.03f64.powi(i / 5)).collect();
        let cps = changepoints(&xs, 3, 1e6 * 0.001);
        assert_eq!(cps.len(), 9, "{cps:?}");
        // The floor keeps a constant series quiet.
        assert!(changepoints(&[5.0; 30], 3, 0.005).is_empty());
    }
}
