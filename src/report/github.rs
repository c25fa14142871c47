//! GitHub Actions: append the Markdown report to the job's step summary
//! (GITHUB_STEP_SUMMARY) and print `::error` / `::warning` workflow
//! commands for regressions, budget breaches, parity breaches, a gate that
//! compared nothing, failed workloads and warnings (GITHUB_ACTIONS=true),
//! with GitHub's escaping for command data.

use std::io::Write;
use std::path::Path;

use super::escape;
use super::{Render, ReportError};
use crate::verdicts::{Status, Verdicts};

/// The annotation lines for `v`.
pub fn annotations(v: &Verdicts) -> Vec<String> {
    let mut out = Vec::new();
    for x in &v.verdicts {
        let level = match x.status {
            Status::Regression | Status::OverBudget => "error",
            Status::Warning => "warning",
            _ => continue,
        };
        let title = format!("memgate {}: {}/{}", x.status, x.workload, x.metric);
        out.push(format!(
            "::{level} title={}::{}",
            escape::command_property(&title),
            escape::command_data(&x.full_reason())
        ));
    }
    for x in v.parity.iter().filter(|x| x.status.fails()) {
        let title = format!("memgate parity {}: {}/{}", x.status, x.workload, x.metric);
        out.push(format!(
            "::error title={}::{}",
            escape::command_property(&title),
            escape::command_data(&x.full_reason())
        ));
    }
    if v.tally.compared() == 0 {
        out.push(format!(
            "::error title={}::{}",
            escape::command_property("memgate: nothing was compared"),
            escape::command_data(
                "no metric was measured on both sides: the gate cannot pass without looking"
            )
        ));
    }
    for f in &v.failed_workloads {
        let title = format!("memgate: {} failed", f.workload);
        out.push(format!(
            "::error title={}::{}",
            escape::command_property(&title),
            escape::command_data(&f.reason)
        ));
    }
    out
}

/// Whether memgate runs in GitHub Actions: a step summary file is named,
/// or GITHUB_ACTIONS is `true`.
pub fn in_actions() -> bool {
    std::env::var_os("GITHUB_STEP_SUMMARY").is_some()
        || std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Appends `markdown` to the job's step summary, when GITHUB_STEP_SUMMARY
/// names one.
pub fn append_step_summary(markdown: &str) -> std::io::Result<()> {
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(Path::new(&summary))?;
        f.write_all(markdown.as_bytes())?;
        f.write_all(b"\n")?;
    }
    Ok(())
}

/// The `::error` / `::warning` workflow commands, one per line, when
/// GITHUB_ACTIONS is `true`; nothing otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub struct Annotations;

impl Render for Annotations {
    fn render(&self, v: &Verdicts, out: &mut dyn Write) -> Result<(), ReportError> {
        if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
            for line in annotations(v) {
                writeln!(out, "{line}")?;
            }
        }
        Ok(())
    }
}
