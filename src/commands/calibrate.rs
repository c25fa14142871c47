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
use crate::metrics::Stability;
use crate::phase::Phase;
use crate::policy::{Correction, configured_name};
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
