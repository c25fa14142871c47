//! `memgate calibrate`: run each workload against itself (A/A), report each
//! metric's noise, and recommend the repetitions the gate needs to detect a
//! change of `max_increase` with the requested power ([`stats::runs_for`]):
//! with d the smallest change that can count (beyond max_increase and
//! beyond min_change relative to the median) and `a` = alpha / m under Holm
//! for the m metrics calibrated. A constant metric needs one run; a
//! near-deterministic one (its whole range within half the tolerance band)
//! needs the near-deterministic rule's runs per side.

use crate::cli::CalibrateArgs;
use crate::config::Config;
use crate::error::{Error, Outcome};
use crate::policy::{Correction, GatePolicy};
use crate::report::Render;
use crate::report::calibration::{Calibration, CalibrationRow, CalibrationTable};
use crate::results::Results;
use crate::runner::{RunPlan, Selection};
use crate::stats::{self, Summary};

/// `memgate calibrate`.
pub fn calibrate(args: CalibrateArgs) -> Result<Outcome, Error> {
    let config = Config::load(&args.config)?;
    let selection = Selection {
        workloads: args.workloads.clone(),
        repetitions: Some(args.runs),
        ..Selection::default()
    };
    let results = super::measure(&RunPlan::try_from((&config, &selection))?, None)?;
    let calibration = calibration(&config.policy, &results, args.runs, args.power)?;
    CalibrationTable
        .render(&calibration, &mut std::io::stdout().lock())
        .map_err(super::stdout_error)?;
    Ok(if results.has_failures() {
        Outcome::WorkloadsFailed
    } else {
        Outcome::Pass
    })
}

/// Each metric's noise in `results` and the runs it needs under `policy`.
fn calibration(
    policy: &GatePolicy,
    results: &Results,
    runs: u32,
    power: f64,
) -> Result<Calibration, Error> {
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
            } else if t.is_tight(s.max - s.min, s.median) {
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
            rows.push(CalibrationRow {
                workload: w.name.clone(),
                metric: metric.clone(),
                unit: series.unit,
                summary: s,
                runs_needed,
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
