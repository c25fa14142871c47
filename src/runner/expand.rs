//! What the two kinds of workload that expand before their runs share
//! (`gobench`: a Go module's benchmarks; `cargotest`: a crate's tests and
//! benchmarks): each preparation step (a build, a listing) through the
//! launcher, and the record of a workload whose expansion failed.

use std::io::Write;
use std::path::Path;

use super::RunError;
use super::one_run::{failure_tail, indent, run_status};
use super::spawn::{self, LaunchRequest};
use crate::config::Workload;
use crate::results::{Failure, WorkloadResults};

/// A selected workload, ready to run: itself, or its benchmarks or tests;
/// or the results of one whose expansion failed.
pub(super) type Expanded = Result<Vec<Workload>, Box<WorkloadResults>>;

/// What a preparation step left: its stdout, or why it failed.
pub(super) struct Step {
    pub(super) stdout: String,
    pub(super) failure: Option<Failure>,
}

/// Runs one preparation step of `w` through the launcher in `dir`, with
/// the workload's environment plus `extra_env` and its build timeout.
pub(super) fn step(
    launcher: &Path,
    w: &Workload,
    (argv, dir): (&[String], &Path),
    extra_env: &[(&str, &str)],
    scratch: &Path,
    label: &str,
) -> Result<Step, RunError> {
    let mut env = w.env.clone();
    env.extend(
        extra_env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let req = LaunchRequest {
        argv,
        dir,
        env: &env,
        timeout: w.build_timeout,
        grace: w.kill_grace,
        interval: std::time::Duration::ZERO,
    };
    let launched = spawn::launch(launcher, &req, scratch, label)?;
    let status = run_status(&launched.report.end, w.build_timeout)?;
    let stdout = crate::input::read(&launched.stdout, crate::input::FILE_LIMIT)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let failure = status.is_failure().then(|| Failure {
        reason: status.to_string(),
        stderr_tail: failure_tail(&launched),
    });
    Ok(Step { stdout, failure })
}

/// The expansion of `w`, or, when it failed, its logged record: `w`'s
/// results with the failure as their build's.
pub(super) fn or_failed(
    w: &Workload,
    expanded: Result<Vec<Workload>, Failure>,
    log: &mut dyn Write,
) -> Expanded {
    expanded.map_err(|failure| {
        let _ = writeln!(
            log,
            "memgate: error: {}: {}\n{}",
            w.name,
            failure.reason,
            indent(&failure.stderr_tail)
        );
        let mut results = super::empty_results(w);
        results.build_failure = Some(failure);
        Box::new(results)
    })
}
