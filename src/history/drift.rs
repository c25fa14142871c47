//! Drift: where each series' level moved, commit by commit (see
//! [`crate::stats::changepoint`]), with the noise model its kind of metric
//! deserves: the noise a series shows, but never less than its commits'
//! own runs' spread, nor a floor relative to its level, by stability.

use crate::metrics::{Better, Stability};
use crate::stats::changepoint::changepoints;

use super::SeriesHistory;

/// The least noise assumed, relative to a series' level: what the program
/// decides (allocations, a Go heap figure) repeats to a fraction of a
/// percent; what the kernel and allocator decide (RSS, faults), to about
/// half of one; a time or a pause moves with the runner's load by several.
pub fn noise_floor(stability: Stability) -> f64 {
    match stability {
        Stability::Deterministic => 0.001,
        Stability::MachineDependent => 0.005,
        Stability::LoadSensitive => 0.02,
    }
}

/// One move of a series' level.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    /// The last commit at the old level.
    pub from_sha: String,
    /// The first commit at the new level.
    pub to_sha: String,
    /// Its date.
    pub date: String,
    /// Mean of the per-commit medians before.
    pub before: f64,
    /// And after.
    pub after: f64,
    /// Relative change, after / before - 1 (0 when before is 0).
    pub change: f64,
    /// Whether it moved the worse way.
    pub worse: bool,
}

/// Settings of a drift search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftSettings {
    /// Fewest commits a level must hold to count.
    pub min_segment: usize,
    /// Smallest relative move reported.
    pub min_change: f64,
    /// Most recent commits searched.
    pub window: usize,
}

impl Default for DriftSettings {
    fn default() -> Self {
        DriftSettings {
            min_segment: 3,
            min_change: 0.01,
            window: 100,
        }
    }
}

/// The moves of `s`'s level within the last `window` commits, oldest
/// first.
pub fn shifts(s: &SeriesHistory, settings: DriftSettings) -> Vec<Shift> {
    let start = s.points.len().saturating_sub(settings.window);
    let points = &s.points[start..];
    let medians: Vec<f64> = points.iter().map(|p| p.summary.median).collect();
    let level = crate::stats::median(&medians).abs();
    // A commit's median is itself noisy, and when its runs have modes or a
    // heavy tail (a Go allocation total at 13.2 or 17.4 MB; involuntary
    // context switches of 20 to 605 in one commit's runs) it moves like
    // one run: the runs' own spread, their range over 3 (about a standard
    // deviation for ten Gaussian runs), is the least noise a series of
    // medians is assumed to have.
    let within: Vec<f64> = points
        .iter()
        .filter(|p| p.summary.n >= 3)
        .map(|p| (p.summary.max - p.summary.min) / 3.0)
        .collect();
    let floor = (noise_floor(s.stability) * level).max(crate::stats::median(&within).max(0.0));
    changepoints(&medians, settings.min_segment, floor)
        .into_iter()
        .filter_map(|cp| {
            let change = if cp.before == 0.0 {
                0.0
            } else {
                cp.after / cp.before - 1.0
            };
            (change.abs() >= settings.min_change).then(|| Shift {
                from_sha: points[cp.index - 1].sha.clone(),
                to_sha: points[cp.index].sha.clone(),
                date: points[cp.index].date.clone(),
                before: cp.before,
                after: cp.after,
                change,
                worse: match s.better {
                    Better::Lower => cp.after > cp.before,
                    Better::Higher => cp.after < cp.before,
                },
            })
        })
        .collect()
}

/// The medians as a line of block characters, lowest to highest, oldest
/// first: the shape of a series at a glance.
pub fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    values
        .iter()
        .map(|&v| {
            if hi > lo {
                BARS[(((v - lo) / (hi - lo)) * 7.0).round() as usize]
            } else {
                BARS[3]
            }
        })
        .collect()
}

/// [`sparkline`] with a `│` before each index in `changes` (where the
/// level moved).
pub fn sparkline_marked(values: &[f64], changes: &[usize]) -> String {
    sparkline(values)
        .chars()
        .enumerate()
        .flat_map(|(i, c)| {
            let mark = changes.contains(&i).then_some('│');
            mark.into_iter().chain(std::iter::once(c))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Point;
    use crate::metrics::Unit;
    use crate::stats::Summary;

    fn series(medians: &[f64], stability: Stability) -> SeriesHistory {
        SeriesHistory {
            workload: "w".into(),
            metric: "heap.live.bytes".into(),
            unit: Unit::Bytes,
            better: Better::Lower,
            stability,
            environment: "linux/x86_64".into(),
            points: medians
                .iter()
                .enumerate()
                .map(|(i, &m)| Point {
                    sha: format!("{i:040}"),
                    branch: None,
                    date: format!("2026-01-{:02}", i + 1),
                    summary: Summary {
                        n: 5,
                        median: m,
                        min: m,
                        max: m,
                        cv: 0.0,
                    },
                    accepted: None,
                })
                .collect(),
        }
    }

    #[test]
    fn a_three_percent_step_of_a_deterministic_figure_is_a_worse_shift() {
        let mut m = vec![1e6; 10];
        m.extend([1.03e6; 5]);
        let found = shifts(
            &series(&m, Stability::Deterministic),
            DriftSettings::default(),
        );
        assert_eq!(found.len(), 1, "{found:?}");
        let s = &found[0];
        assert_eq!(
            (s.from_sha.as_str(), s.to_sha.as_str()),
            (
                format!("{:040}", 9).as_str(),
                format!("{:040}", 10).as_str()
            )
        );
        assert!(s.worse && (s.change - 0.03).abs() < 1e-9);
    }

    #[test]
    fn the_same_step_of_a_load_sensitive_time_within_its_noise_is_not() {
        // +-2% of load noise around the level: a 3% step is within it.
        let m: Vec<f64> = (0..15)
            .map(|i| if i < 10 { 1.0 } else { 1.03 } * (1.0 + 0.02 * ((i * 7 % 5) as f64 - 2.0) / 2.0))
            .collect();
        assert!(
            shifts(
                &series(&m, Stability::LoadSensitive),
                DriftSettings::default()
            )
            .is_empty()
        );
    }

    #[test]
    fn sparkline_spans_its_range() {
        assert_eq!(sparkline(&[1.0, 2.0, 3.0]), "▁▅█");
        assert_eq!(sparkline(&[2.0, 2.0]), "▄▄");
        assert_eq!(sparkline_marked(&[1.0, 1.0, 3.0, 3.0], &[2]), "▁▁│██");
    }
}
