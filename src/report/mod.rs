//! Renderers: each turns verdicts into one format and writes to any
//! `io::Write` (Markdown for pull requests, JSON, JUnit XML, CSV, the
//! terminal table and GitHub annotations); a baseline's description and
//! the calibration table are printed here too. Judging is the gate's; choosing the exit code is
//! `main`'s. Every string that came from a workload, a config or a results
//! file is escaped for the format it lands in.

pub mod baseline;
pub mod calibration;
pub mod csv;
pub mod escape;
pub mod github;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod openmetrics;
pub mod otlp;
pub mod terminal;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::units::human;
use crate::verdicts::{VERDICTS_SCHEMA, Verdict, Verdicts};

/// A report that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A user template that does not parse or render; names the line.
    #[error("template {}{}: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Template {
        /// The template file (or `built-in`).
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What went wrong.
        message: String,
    },
    /// The verdicts file cannot be read.
    #[error("{}: {message}", path.display())]
    Input {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// Writing failed.
    #[error("cannot write the report: {0}")]
    Io(#[from] std::io::Error),
}

/// One output format of one kind of value: the verdicts (the default),
/// a baseline's description, a calibration.
pub trait Render<T: ?Sized = Verdicts> {
    /// Writes the report of `v`.
    fn render(&self, v: &T, w: &mut dyn Write) -> Result<(), ReportError>;
}

/// The verdicts as pretty JSON (`memgate/verdicts/v1`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl Render for Json {
    fn render(&self, v: &Verdicts, w: &mut dyn Write) -> Result<(), ReportError> {
        crate::json::to_writer(&mut *w, v).map_err(std::io::Error::from)?;
        writeln!(w)?;
        Ok(())
    }
}

/// Reads a verdicts file, checking its schema first.
pub fn read_verdicts(path: &Path) -> Result<Verdicts, ReportError> {
    let err = |message: String| ReportError::Input {
        path: path.to_owned(),
        message,
    };
    let text = crate::input::read_to_string(path, crate::input::FILE_LIMIT)
        .map_err(|e| err(format!("cannot read the file: {e}")))?;
    #[derive(serde::Deserialize)]
    struct Tag {
        schema: Option<String>,
    }
    if !crate::input::is_json_object(&text) {
        return Err(err(format!(
            "not a JSON object; a verdicts file is one, with \"schema\": \"{VERDICTS_SCHEMA}\""
        )));
    }
    let tag: Tag = serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))?;
    if tag.schema.as_deref() != Some(VERDICTS_SCHEMA) {
        return Err(err(format!(
            "schema {} is not `{VERDICTS_SCHEMA}`; write it with `memgate compare -o` or `memgate check`",
            tag.schema
                .map(|s| format!("`{s}`"))
                .unwrap_or_else(|| "missing".into())
        )));
    }
    let mut de = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut de)
        .map_err(|e| err(format!("{}: {}", e.path(), e.inner())))
}

/// The cells every text format shows for one verdict.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Row {
    /// Workload name.
    pub workload: String,
    /// Metric name.
    pub metric: String,
    /// Baseline median and spread, e.g. `65.8 MiB ±0.1%`.
    pub baseline: String,
    /// Current median and spread.
    pub current: String,
    /// Change in percent and in the metric's unit.
    pub change: String,
    /// p after correction, `exact`, or `-`.
    pub p: String,
    /// Tolerances (and budget) in force.
    pub threshold: String,
    /// The verdict.
    pub status: String,
    /// Why.
    pub reason: String,
    /// The note that explains why it is only a warning, e.g. `[1]`; empty
    /// when there is none. The Markdown report says each cause once.
    pub cause: String,
    /// The metric's recent history on one line (see [`history_line`]);
    /// empty when the verdict has none.
    pub history: String,
}

impl Row {
    /// The cells of `v`.
    pub fn of(v: &Verdict) -> Row {
        let side = |s: Option<crate::stats::Summary>| {
            s.map(|s| {
                if s.cv > 0.0 {
                    format!("{} ±{:.1}%", human(v.unit, s.median), s.cv * 100.0)
                } else {
                    human(v.unit, s.median)
                }
            })
            .unwrap_or_else(|| "-".into())
        };
        let change = match v.change {
            Some(c) => {
                let pct = match c.percent() {
                    Some(p) => format!("{p:+.2}%"),
                    None if c.delta == 0.0 => "+0.00%".into(),
                    None => "from 0".into(),
                };
                let sign = if c.delta > 0.0 { "+" } else { "" };
                format!("{pct} ({sign}{})", human(v.unit, c.delta))
            }
            None => "-".into(),
        };
        let p = v.p_text();
        let mut threshold = format!(
            "{}, {}",
            v.threshold.max_increase_text(),
            human(v.unit, v.threshold.min_change)
        );
        if let Some(b) = v.budget {
            threshold.push_str(&format!(", budget {}", human(v.unit, b)));
        }
        Row {
            workload: v.workload.clone(),
            metric: v.metric.clone(),
            baseline: side(v.baseline),
            current: side(v.current),
            change,
            p,
            threshold,
            status: v.status.to_string(),
            reason: v.reason.clone(),
            cause: String::new(),
            history: history_line(v).unwrap_or_default(),
        }
    }
}

/// A failing verdict's recent history on one line: the per-commit
/// medians as a sparkline, `│` where the level moved, and the commits it
/// spans.
pub fn history_line(v: &Verdict) -> Option<String> {
    let t = v.history.as_ref()?;
    Some(format!(
        "history: {} ({} commits, {} .. {}; {} change{} of level)",
        crate::history::drift::sparkline_marked(&t.medians, &t.changes),
        t.medians.len(),
        t.commits.0,
        t.commits.1,
        t.changes.len(),
        if t.changes.len() == 1 { "" } else { "s" }
    ))
}

/// What this comparison could have caught: per memory metric (bytes and
/// counts), the median over workloads of each verdict's `detectable`
/// change, and how many comparisons no change could have failed (timings
/// are in the JSON). `None` when nothing was compared.
pub fn sensitivity_line(v: &crate::verdicts::Verdicts) -> Option<String> {
    use crate::metrics::Unit;
    let mut by: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    let mut never = 0;
    for x in v
        .verdicts
        .iter()
        .filter(|x| x.baseline.is_some() && x.current.is_some())
    {
        match x.detectable {
            Some(d) if matches!(x.unit, Unit::Bytes | Unit::Count) => {
                by.entry(x.metric.as_str()).or_default().push(d)
            }
            Some(_) => {}
            None => never += 1,
        }
    }
    if by.is_empty() && never == 0 {
        return None;
    }
    let parts: Vec<String> = by
        .into_iter()
        .map(|(m, mut ds)| {
            ds.sort_by(f64::total_cmp);
            format!("{m} +{:.1}%", ds[ds.len() / 2] * 100.0)
        })
        .collect();
    let never = (never > 0).then(|| format!("{never} comparisons could not fail at any size"));
    let caught = (!parts.is_empty()).then(|| {
        format!(
            "would have caught (median over workloads; every verdict's figure in the JSON): {}",
            parts.join(", ")
        )
    });
    Some(
        caught
            .into_iter()
            .chain(never)
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// The distinct causes of the warnings in `verdicts`, in a stable order.
pub fn causes(verdicts: &[Verdict]) -> Vec<crate::verdicts::Softened> {
    verdicts
        .iter()
        .filter_map(|v| v.softened.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}
