//! The baseline store: a results file kept as the reference the gate
//! compares with, written atomically and refused when it holds failures.
//!
//! A baseline is a plain results file (`memgate/results/v1`), so it carries
//! its own commit, date and environment; this module only decides what may
//! become one and describes it.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::atomic::{self, WriteError};
use crate::results::{Results, ResultsError};
use crate::units::human;

/// The baseline file's name inside a store directory.
pub const BASELINE_FILE: &str = "baseline.json";

/// Why a baseline could not be saved or read.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// No baseline where one was expected.
    #[error("no baseline at {}; record one with `memgate run` then `memgate baseline save .memgate/results.json`", path.display())]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The results hold failed builds or runs.
    #[error("{}: failed builds or runs in {}; a baseline must be clean (pass --allow-failed to keep it anyway)", path.display(), workloads.join(", "))]
    HasFailures {
        /// The results file.
        path: PathBuf,
        /// Workloads with failures.
        workloads: Vec<String>,
    },
    /// The file is not valid results.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// It could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Reads the baseline at `path`.
pub fn load(path: &Path) -> Result<Results, BaselineError> {
    if !path.exists() {
        return Err(BaselineError::Missing {
            path: path.to_owned(),
        });
    }
    Ok(Results::read(path)?)
}

/// Stores the results at `results_path` as the baseline at `target`.
pub fn save(
    results_path: &Path,
    target: &Path,
    allow_failed: bool,
) -> Result<Results, BaselineError> {
    let results = Results::read(results_path)?;
    store(&results, results_path, target, allow_failed)?;
    Ok(results)
}

/// Stores a results value (read from `source`) as the baseline at `target`.
pub fn store(
    results: &Results,
    source: &Path,
    target: &Path,
    allow_failed: bool,
) -> Result<(), BaselineError> {
    if results.has_failures() && !allow_failed {
        return Err(BaselineError::HasFailures {
            path: source.to_owned(),
            workloads: results
                .workloads
                .iter()
                .filter(|w| w.has_failures())
                .map(|w| w.name.clone())
                .collect(),
        });
    }
    atomic::write_json(target, results)?;
    Ok(())
}

/// Prints what a baseline holds and where it came from.
pub fn describe(results: &Results, path: &Path, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "baseline: {}", path.display())?;
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
