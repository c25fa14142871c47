//! `memgate calibrate`: run each workload against itself (A/A), report each
//! metric's noise, and recommend the repetitions the gate needs to detect a
//! change of `max_increase` with the requested power ([`stats::runs_for`]):
//! with d the smallest change that can count (beyond max_increase and
//! beyond min_change relative to the median) and `a` = alpha / m under Holm
//! for the m metrics calibrated. A constant metric needs one run; a
//! near-deterministic one (a figure the program decides, its spread
//! measured and its whole range within half the tolerance band) needs the
//! near-deterministic rule's runs per side, as the gate decides it. Beside it, each
//! metric's "would catch": the gate's own figure ([`Verdict::detectable`],
//! the one `check` prints), for these runs as a stored baseline and the
//! configured runs as the current side.
//!
//! [`Verdict::detectable`]: crate::verdicts::Verdict::detectable

use crate::cli::CalibrateArgs;
use crate::config::Config;
use crate::error::{Error, Outcome};
use crate::metrics::Stability;
use crate::phase::Phase;
use crate::policy::{Correction, configured_name};
use crate::report::Render;
use crate::report::calibration::{Calibration, CalibrationRow, CalibrationTable};
use crate::results::Results;
use crate::runner::{RunPlan, Selection};
use crate::stats::{self, Summary};
use crate::verdicts::Side;
use std::collections::BTreeMap;

/// `memgate calibrate`.
pub fn calibrate(args: CalibrateArgs) -> Result<Outcome, Error> {
    let config = Config::load(&args.config)?;
    let selection = Selection {
        workloads: args.workloads.clone(),
        repetitions: Some(args.runs),
        ..Selection::default()
    };
    let results = super::measure(&RunPlan::try_from((&config, &selection))?, None)?;
    let calibration = calibration(&config, &results, args.runs, args.power)?;
    CalibrationTable
        .render(&calibration, &mut std::io::stdout().lock())
        .map_err(super::stdout_error)?;
    Ok(if results.has_failures() {
        Outcome::WorkloadsFailed
    } else {
        Outcome::Pass
    })
}

/// Most runs a side the advice asks for before it suggests something else.
const MOST_RUNS_ADVISED: usize = 30;

/// Each metric's noise in `results` and the runs it needs under the
/// config's policy, with advice where the config's repetitions fall short.
fn calibration(
    config: &Config,
    results: &Results,
    runs: u32,
    power: f64,
) -> Result<Calibration, Error> {
    let policy = &config.policy;
    let catches = would_catch(config, results)?;
    let m: usize = results.workloads.iter().map(|w| w.metrics.len()).sum();
    let mut rows = Vec::new();
    for w in &results.workloads {
        for (metric, series) in &w.metrics {
            let xs: Vec<f64> = series.samples.iter().map(|v| v.as_f64()).collect();
            let Some(s) = Summary::of(&xs) else { continue };
            let t = policy.limit(&w.name, metric, series.unit)?.threshold;
            let alpha = match policy.correction {
                Correction::Holm => t.alpha / m.max(1) as f64,
                Correction::None => t.alpha,
            };
            let runs_needed = if s.is_constant() {
                1
            } else if series.stability == Stability::Deterministic
                && s.n >= crate::gate::MEASURED_SPREAD_RUNS
                && t.is_tight(s.max - s.min, s.median)
            {
                crate::gate::SEPARATED_MIN_RUNS
            } else {
                // The smallest change that can count: beyond max_increase
                // and beyond min_change, relative to the median.
                let floor = if s.median == 0.0 {
                    f64::INFINITY
                } else {
                    t.min_change / s.median.abs()
                };
                stats::runs_for(s.cv, t.max_increase.max(floor), alpha, power)
            };
            let configured = configured_runs(config, &w.name, series.phase);
            let advice = advice(Advice {
                runs_needed,
                configured,
                phase: series.phase,
                load_sensitive: series.stability == Stability::LoadSensitive,
                tolerance_at_most: |n| {
                    tolerance_for(s.cv, n, alpha, power).filter(|d| *d > t.max_increase)
                },
            });
            rows.push(CalibrationRow {
                workload: w.name.clone(),
                metric: metric.clone(),
                unit: series.unit,
                summary: s,
                runs_needed,
                configured,
                would_catch: catches
                    .get(&(w.name.as_str(), metric.as_str()))
                    .copied()
                    .flatten(),
                advice,
            });
        }
    }
    Ok(Calibration {
        runs,
        power,
        metrics: m,
        rows,
    })
}

/// Each metric's `detectable` change as `check` would give it: `results`
/// as a stored baseline, its first configured runs as the current side,
/// judged by the gate under the config's policy (one Holm family).
fn would_catch<'a>(
    config: &Config,
    results: &'a Results,
) -> Result<BTreeMap<(&'a str, &'a str), Option<f64>>, Error> {
    let mut current = results.clone();
    for w in &mut current.workloads {
        for series in w.metrics.values_mut() {
            let n = configured_runs(config, &w.name, series.phase).max(1) as usize;
            series.samples.truncate(n);
        }
    }
    let side = Side::of("calibration", results);
    let verdicts = crate::gate::evaluate(&config.policy, &side, results, &side, &current)?;
    let by_name: BTreeMap<(&str, &str), Option<f64>> = verdicts
        .verdicts
        .iter()
        .map(|v| ((v.workload.as_str(), v.metric.as_str()), v.detectable))
        .collect();
    Ok(results
        .workloads
        .iter()
        .flat_map(|w| {
            w.metrics.keys().map(|metric| {
                let key = (w.name.as_str(), metric.as_str());
                (key, by_name.get(&key).copied().flatten())
            })
        })
        .collect())
}

/// The runs a side the config gives a metric of `workload` measured in
/// `phase`.
fn configured_runs(config: &Config, workload: &str, phase: Option<Phase>) -> u32 {
    config
        .workloads
        .iter()
        .find(|w| w.name == configured_name(workload))
        .map_or(crate::config::MIN_DEFAULT_REPETITIONS, |w| match phase {
            Some(Phase::Footprint) => w.footprint_repetitions,
            _ => w.repetitions,
        })
}

/// What one metric's advice is made of.
struct Advice<F: Fn(usize) -> Option<f64>> {
    runs_needed: usize,
    configured: u32,
    phase: Option<Phase>,
    load_sensitive: bool,
    /// The smallest `max_increase` that decides with n runs, when it is
    /// looser than the one in force.
    tolerance_at_most: F,
}

/// One row's advice: nothing when the configured runs suffice; else the
/// repetitions to set when they are few enough; else what else helps.
fn advice<F: Fn(usize) -> Option<f64>>(a: Advice<F>) -> String {
    let key = match a.phase {
        Some(Phase::Footprint) => "footprint_repetitions",
        _ => "repetitions",
    };
    if a.runs_needed <= a.configured as usize {
        return format!("ok ({} configured)", a.configured);
    }
    if a.runs_needed <= MOST_RUNS_ADVISED {
        return format!("{key}: {}", a.runs_needed);
    }
    if a.load_sensitive {
        return "moves with the load: relative mode (--base-ref) gates it; against a stored baseline it only warns".into();
    }
    match (a.tolerance_at_most)(a.configured as usize) {
        Some(d) => format!(
            "max_increase: {:.0}% decides with the {} configured runs",
            (d * 100.0).ceil(),
            a.configured
        ),
        None => format!("noisier than its tolerance: {key}: {}", a.runs_needed),
    }
}

/// The smallest relative change (in steps of 1%, up to 500%) that `n` runs
/// a side detect for a metric of coefficient of variation `cv`.
fn tolerance_for(cv: f64, n: usize, alpha: f64, power: f64) -> Option<f64> {
    (1..=500)
        .map(|pct| f64::from(pct) / 100.0)
        .find(|&d| stats::runs_for(cv, d, alpha, power) <= n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::HEAP_ALLOC_BYTES;

    /// "would catch" is the gate's figure: a constant allocation figure,
    /// its spread measured (10 runs), with 3 configured runs is caught just
    /// beyond its 5% tolerance; with 1 run, where only the far rule can
    /// decide, at 4 times it.
    #[test]
    fn would_catch_is_the_gates_detectable_change() {
        let results = crate::gate::tests::results("w", &HEAP_ALLOC_BYTES, &[1e6; 10], "cpu");
        for (runs, expected) in [(3, 0.05), (1, 0.20)] {
            let config = Config::parse(
                std::path::Path::new("memgate.yaml"),
                &format!(
                    "version: 1\ndefaults: {{repetitions: {runs}}}\nworkloads:\n  - {{name: w, lang: other, run: 'true'}}\n"
                ),
            )
            .unwrap();
            let c = calibration(&config, &results, 10, 0.8).unwrap();
            let caught = c.rows[0].would_catch.expect("a change this catches");
            // The search's precision is a tenth of a percent: the first
            // step beyond the tolerance.
            assert!(
                caught > expected && caught <= expected + 0.001 + 1e-12,
                "{runs} runs: would catch {caught}, expected just beyond {expected}"
            );
        }
    }
}
