//! The history as OpenMetrics text for dashboards: every recorded commit's
//! median, at the time its results were written (OpenMetrics timestamps,
//! seconds since the epoch), one gauge family per unit as `memgate report
//! --format openmetrics` names them (`memgate_history_bytes`,
//! `memgate_history_seconds`, `memgate_history_ratios`,
//! `memgate_history_bytes_per_second`, and `memgate_history` for counts),
//! labelled with the workload, metric, environment and commit. Written by
//! hand: the `prometheus-client` registry holds one value per series, with
//! no timestamp.

use std::fmt::Write as _;

use crate::metrics::Unit;

use super::SeriesHistory;

/// A label value as OpenMetrics quotes it: backslash, double quote and
/// line feed escaped.
fn label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The family of a unit, and the OpenMetrics unit it declares.
fn family(unit: Unit) -> (&'static str, Option<&'static str>) {
    match unit {
        Unit::Bytes => ("memgate_history_bytes", Some("bytes")),
        Unit::Seconds => ("memgate_history_seconds", Some("seconds")),
        Unit::Ratio => ("memgate_history_ratios", Some("ratios")),
        Unit::BytesPerSecond => ("memgate_history_bytes_per_second", Some("bytes_per_second")),
        Unit::Count => ("memgate_history", None),
    }
}

/// The OpenMetrics text of `series`, ending with `# EOF`. A point whose
/// date does not read as RFC 3339 is left out.
pub fn openmetrics(series: &[SeriesHistory]) -> String {
    let mut out = String::new();
    for unit in [
        Unit::Bytes,
        Unit::Seconds,
        Unit::Ratio,
        Unit::BytesPerSecond,
        Unit::Count,
    ] {
        let of_unit: Vec<&SeriesHistory> = series.iter().filter(|s| s.unit == unit).collect();
        if of_unit.is_empty() {
            continue;
        }
        let (name, declared) = family(unit);
        let _ = writeln!(out, "# TYPE {name} gauge");
        if let Some(u) = declared {
            let _ = writeln!(out, "# UNIT {name} {u}");
        }
        let _ = writeln!(
            out,
            "# HELP {name} each recorded commit's median of a memgate metric, at the time its results were written"
        );
        for s in of_unit {
            for p in &s.points {
                let Ok(at) = humantime::parse_rfc3339_weak(&p.date) else {
                    continue;
                };
                let Ok(secs) = at.duration_since(std::time::UNIX_EPOCH) else {
                    continue;
                };
                if !p.summary.median.is_finite() {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "{name}{{workload=\"{}\",metric=\"{}\",environment=\"{}\",commit=\"{}\"}} {} {}",
                    label(&s.workload),
                    label(&s.metric),
                    label(&s.environment),
                    label(&p.sha),
                    p.summary.median,
                    secs.as_secs()
                );
            }
        }
    }
    out.push_str("# EOF\n");
    out
}
