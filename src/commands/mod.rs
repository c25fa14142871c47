//! The subcommands as glue, one file each: turn parsed arguments into a
//! plan, call the stages, write outputs atomically, and pick the outcome.
//! Commands never call each other; what several share is here.

use std::path::Path;

use crate::error::Error;
use crate::report::ReportError;
use crate::results::Results;
use crate::runner::{self, RunPlan};

mod baseline;
mod calibrate;
mod compare;
mod explain;
mod history;
mod import;
mod merge;
mod report;
mod run;

pub use baseline::baseline;
pub use calibrate::calibrate;
pub use compare::{check, compare};
pub use explain::explain;
pub use history::history;
pub use import::import;
pub use merge::merge;
pub use report::report;
pub use run::run;

/// Runs the plan, writes the results file when one is named, and names the
/// workloads that failed on stderr.
fn measure(plan: &RunPlan, output: Option<&Path>) -> Result<Results, Error> {
    let mut results = runner::execute(plan, &mut std::io::stderr())?;
    crate::interrupt::nothing_to_end();
    if let Some(output) = output {
        results.write(output)?;
        crate::say!("memgate: wrote {}", output.display());
    }
    if results.has_failures() {
        let failed: Vec<&str> = results
            .workloads
            .iter()
            .filter(|w| w.has_failures())
            .map(|w| w.name.as_str())
            .collect();
        crate::say!(
            "memgate: error: failed builds or runs in: {}",
            failed.join(", ")
        );
    }
    Ok(results)
}

/// A report written to stdout: a failed write is [`Error::Stdout`] (a
/// closed pipe is not a failure: see `main`), anything else a report error.
fn stdout_error(e: ReportError) -> Error {
    match e {
        ReportError::Io(io) => Error::Stdout(io),
        other => Error::Report(other),
    }
}
