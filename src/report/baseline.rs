//! `memgate baseline show`: what a baseline holds, where and when it was
//! recorded, and each workload's metrics with their medians.

use std::io::Write;
use std::path::Path;

use super::{Render, ReportError};
use crate::results::Results;
use crate::units::human;

/// A baseline's description; `path` is where it was read from.
#[derive(Debug, Clone, Copy)]
pub struct BaselineDescription<'a> {
    /// The baseline file.
    pub path: &'a Path,
}

impl Render<Results> for BaselineDescription<'_> {
    fn render(&self, results: &Results, out: &mut dyn Write) -> Result<(), ReportError> {
        writeln!(out, "baseline: {}", self.path.display())?;
        writeln!(
            out,
            "recorded: {} by memgate {}",
            results.created_at, results.memgate_version
        )?;
        for (i, env) in results.environments.iter().enumerate() {
            let label = if results.environments.len() > 1 {
                format!("environment {}", i + 1)
            } else {
                "environment".to_owned()
            };
            match &env.git {
                Some(g) => writeln!(
                    out,
                    "commit:   {}{}{}",
                    g.commit,
                    g.branch
                        .as_deref()
                        .map(|b| format!(" ({b})"))
                        .unwrap_or_default(),
                    if g.dirty {
                        ", with uncommitted changes"
                    } else {
                        ""
                    }
                )?,
                None => writeln!(out, "commit:   unknown (not a git repository)")?,
            }
            writeln!(
                out,
                "{label}: {} {} {}, {} cores, {}; {}; {}",
                env.os_release.as_deref().unwrap_or(&env.os),
                env.kernel.as_deref().unwrap_or(""),
                env.cpu_model.as_deref().unwrap_or("unknown CPU"),
                env.cores.map_or("?".into(), |c| c.to_string()),
                env.memory_bytes.map_or("? memory".into(), |m| format!(
                    "{} memory",
                    crate::units::Bytes(m)
                )),
                env.rustc.as_deref().unwrap_or("no rustc"),
                env.go.as_deref().unwrap_or("no go"),
            )?;
            if let Some(ci) = &env.ci {
                writeln!(
                    out,
                    "ci:       {} run {}",
                    ci.provider,
                    ci.run_id.as_deref().unwrap_or("?")
                )?;
            }
        }
        for w in &results.workloads {
            let runs = w.runs.iter().filter(|r| !r.warmup).count();
            writeln!(
                out,
                "\n{} ({} measured runs{})",
                w.name,
                runs,
                if w.has_failures() {
                    ", with failures"
                } else {
                    ""
                }
            )?;
            for (name, s) in &w.metrics {
                let xs: Vec<f64> = s.samples.iter().map(|v| v.as_f64()).collect();
                let median = crate::stats::median(&xs);
                writeln!(
                    out,
                    "  {name:<40} median {:>12}  n={}",
                    human(s.unit, median),
                    xs.len()
                )?;
            }
        }
        Ok(())
    }
}
