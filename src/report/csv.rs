//! CSV for offline analysis: one row per sample, both sides, with the
//! verdict of its (workload, metric). Quoting follows RFC 4180 (the `csv`
//! crate).

use std::io::Write;

use super::{Render, ReportError};
use crate::verdicts::Verdicts;

/// The CSV renderer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Csv;

impl Render for Csv {
    fn render(&self, v: &Verdicts, w: &mut dyn Write) -> Result<(), ReportError> {
        let mut out = ::csv::Writer::from_writer(w);
        let io = |e: ::csv::Error| ReportError::Io(std::io::Error::other(e));
        out.write_record([
            "workload", "metric", "side", "sample", "value", "unit", "verdict",
        ])
        .map_err(io)?;
        for x in &v.verdicts {
            let unit = x.unit.as_str();
            for (side, samples) in [
                ("baseline", &x.baseline_samples),
                ("current", &x.current_samples),
            ] {
                for (i, value) in samples.iter().enumerate() {
                    out.write_record([
                        x.workload.as_str(),
                        x.metric.as_str(),
                        side,
                        &(i + 1).to_string(),
                        &value.to_string(),
                        unit,
                        x.status.as_str(),
                    ])
                    .map_err(io)?;
                }
            }
        }
        out.flush()?;
        Ok(())
    }
}
