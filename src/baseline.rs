//! The baseline store: a results file kept as the reference the gate
//! compares with, written atomically and refused when it holds failures.
//!
//! A baseline is a plain results file (`memgate/results/v1`), so it carries
//! its own commit, date and environment; this module only decides what may
//! become one and describes it.

use std::path::{Path, PathBuf};

use crate::atomic::{self, WriteError};
use crate::results::{Results, ResultsError};

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
