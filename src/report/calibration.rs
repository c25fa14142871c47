//! The calibration table `memgate calibrate` prints: each metric's A/A
//! noise, the runs a side the gate needs to detect its tolerance, and the
//! smallest regression the configured runs would catch.

use std::io::Write;

use super::{Render, ReportError};
use crate::metrics::Unit;
use crate::stats::Summary;
use crate::units::human;

/// Recommendations above this are printed as ">1000".
const MAX_RECOMMENDATION: usize = 1000;

/// What an A/A calibration found.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Runs of each workload.
    pub runs: u32,
    /// The power the recommendations aim for.
    pub power: f64,
    /// The metrics calibrated: m for Holm.
    pub metrics: usize,
    /// One row per (workload, metric) with samples.
    pub rows: Vec<CalibrationRow>,
}

/// One metric's noise and recommendation.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationRow {
    /// Workload name.
    pub workload: String,
    /// Metric name.
    pub metric: String,
    /// The metric's unit.
    pub unit: Unit,
    /// Its samples, summarised.
    pub summary: Summary,
    /// Runs a side to detect its tolerance.
    pub runs_needed: usize,
    /// Runs a side the config gives this metric now.
    pub configured: u32,
    /// The smallest regression (a fraction of the median) `check` would
    /// catch with the configured runs against these runs as its baseline;
    /// `None` when no change could fail.
    pub would_catch: Option<f64>,
    /// What to do when `configured` is short of `runs_needed`.
    pub advice: String,
}

/// The aligned table and a closing sentence.
#[derive(Debug, Clone, Copy, Default)]
pub struct CalibrationTable;

fn recommendation(n: usize) -> String {
    if n > MAX_RECOMMENDATION {
        format!(">{MAX_RECOMMENDATION}")
    } else {
        n.to_string()
    }
}

impl Render<Calibration> for CalibrationTable {
    fn render(&self, c: &Calibration, out: &mut dyn Write) -> Result<(), ReportError> {
        let header = [
            "workload",
            "metric",
            "median",
            "min",
            "max",
            "cv",
            "runs needed",
            "would catch",
            "advice",
        ];
        let mut rows = vec![header.map(String::from)];
        rows.extend(c.rows.iter().map(|r| {
            let s = r.summary;
            [
                r.workload.clone(),
                r.metric.clone(),
                human(r.unit, s.median),
                human(r.unit, s.min),
                human(r.unit, s.max),
                format!("{:.2}%", s.cv * 100.0),
                recommendation(r.runs_needed),
                r.would_catch
                    .map_or_else(|| "never".into(), |d| format!("+{:.1}%", d * 100.0)),
                r.advice.clone(),
            ]
        }));
        let widths: Vec<usize> = (0..header.len())
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        for r in &rows {
            let line: Vec<String> = r
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (cell, width))| {
                    let pad = " ".repeat(width - cell.chars().count());
                    // Names and advice left-aligned, figures right-aligned.
                    if i < 2 || i == 8 {
                        format!("{cell}{pad}")
                    } else {
                        format!("{pad}{cell}")
                    }
                })
                .collect();
            writeln!(out, "{}", line.join("  ").trim_end())?;
        }
        let short = c
            .rows
            .iter()
            .filter(|r| r.runs_needed > r.configured as usize)
            .count();
        writeln!(
            out,
            "\n{} A/A runs per workload; runs needed per side to detect each metric's max_increase with {:.0}% power at alpha/{m} (Holm over {m} metrics); would catch: the smallest regression `check` calls with the configured runs against these runs as its baseline, the figure it prints as \"would have caught\".",
            c.runs,
            c.power * 100.0,
            m = c.metrics,
        )?;
        if short == 0 {
            writeln!(
                out,
                "Every metric can decide with the configured repetitions."
            )?;
        } else {
            writeln!(
                out,
                "{short} of {} metrics cannot decide with the configured repetitions: follow the advice column (a `repetitions:` the table names, a looser `max_increase`, or relative mode for what moves with the load).",
                c.rows.len()
            )?;
        }
        Ok(())
    }
}
