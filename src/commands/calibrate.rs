//! `memgate calibrate`: run each workload against itself (A/A), report each
//! metric's noise, and recommend the repetitions the gate needs to detect a
//! change of `max_increase` with the requested power.
//!
//! The recommendation (derived here, not taken from a source): the two-sample size
//! for a t-test, `n = 2 (z(1 - a/2) + z(power))^2 (cv / d)^2`, divided by
//! the Mann-Whitney test's asymptotic relative efficiency under normality,
//! 3/pi; with d the smallest change that can count (beyond max_increase and
//! beyond min_change relative to the median), `a` = alpha / m under Holm
//! for the m metrics calibrated, and
//! never below the runs whose best exact p reaches `a`. Constant and
//! deterministic metrics are compared exactly and need no more than one run.

use std::io::Write;

use crate::cli::CalibrateArgs;
use crate::config::Config;
use crate::error::{Error, Outcome};
use crate::metrics::Stability;
use crate::policy::Correction;
use crate::runner::{RunPlan, Selection};
use crate::stats::{self, Summary};
use crate::units::human;

/// Recommendations above this are printed as ">1000".
const MAX_RECOMMENDATION: usize = 1000;

/// `memgate calibrate`.
pub fn calibrate(args: CalibrateArgs) -> Result<Outcome, Error> {
    let config = Config::load(&args.config)?;
    let selection = Selection {
        workloads: args.workloads.clone(),
        repetitions: Some(args.runs),
        ..Selection::default()
    };
    let results = super::measure(&RunPlan::try_from((&config, &selection))?, None)?;
    let m: usize = results.workloads.iter().map(|w| w.metrics.len()).sum();
    let mut out = std::io::stdout().lock();
    let mut rows = vec![
        [
            "workload",
            "metric",
            "median",
            "min",
            "max",
            "cv",
            "runs needed",
        ]
        .map(String::from),
    ];
    let mut overall = 0usize;
    for w in &results.workloads {
        for (metric, series) in &w.metrics {
            let xs: Vec<f64> = series.samples.iter().map(|v| v.as_f64()).collect();
            let Some(s) = Summary::of(&xs) else { continue };
            let t = config.policy.limit(&w.name, metric, series.unit)?.threshold;
            let alpha = match config.policy.correction {
                Correction::Holm => t.alpha / m.max(1) as f64,
                Correction::None => t.alpha,
            };
            let need = if s.is_constant() || series.stability == Stability::Deterministic {
                1
            } else {
                // The smallest change that can count: beyond max_increase
                // and beyond min_change, relative to the median.
                let floor = if s.median == 0.0 {
                    f64::INFINITY
                } else {
                    t.min_change / s.median.abs()
                };
                runs_for(s.cv, t.max_increase.max(floor), alpha, args.power)
            };
            overall = overall.max(need);
            rows.push([
                w.name.clone(),
                metric.clone(),
                human(series.unit, s.median),
                human(series.unit, s.min),
                human(series.unit, s.max),
                format!("{:.2}%", s.cv * 100.0),
                if need > MAX_RECOMMENDATION {
                    format!(">{MAX_RECOMMENDATION}")
                } else {
                    need.to_string()
                },
            ]);
        }
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = " ".repeat(widths[i] - c.chars().count());
                if i < 2 {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end()).map_err(Error::Stdout)?;
    }
    writeln!(
        out,
        "\n{} A/A runs per workload; runs needed per side to detect each metric's max_increase with {:.0}% power at alpha/{} (Holm over {} metrics): up to {}",
        args.runs,
        args.power * 100.0,
        m,
        m,
        if overall > MAX_RECOMMENDATION { format!(">{MAX_RECOMMENDATION}") } else { overall.to_string() }
    )
    .map_err(Error::Stdout)?;
    Ok(if results.has_failures() {
        Outcome::WorkloadsFailed
    } else {
        Outcome::Pass
    })
}

/// Runs per side to detect a relative shift `d` of a metric with coefficient
/// of variation `cv`, at two-sided level `alpha` with `power`.
pub fn runs_for(cv: f64, d: f64, alpha: f64, power: f64) -> usize {
    let floor = stats::runs_needed(alpha);
    if d <= 0.0 {
        return usize::MAX;
    }
    if d.is_infinite() {
        return floor;
    }
    let z = |p: f64| stats::normal_quantile(p);
    let t_test = 2.0 * (z(1.0 - alpha / 2.0) + z(power)).powi(2) * (cv / d).powi(2);
    let n = (t_test / (3.0 / std::f64::consts::PI)).ceil();
    (n.min(1e9) as usize).max(floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recommendation_grows_with_noise() {
        // cv 5%, detect 5%, alpha 0.05, 80% power: 2 * (1.96 + 0.8416)^2 * 1 / 0.955 = 16.4 -> 17
        assert_eq!(runs_for(0.05, 0.05, 0.05, 0.8), 17);
        // very quiet metrics still need the exact test's floor
        assert_eq!(runs_for(0.0001, 0.05, 0.05, 0.8), 4);
        assert_eq!(runs_for(0.0001, 0.05, 0.001, 0.8), 7);
        assert!(runs_for(0.5, 0.05, 0.05, 0.8) > 1000);
    }
}
