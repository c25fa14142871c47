//! Collectors turn what one run left behind (the launcher's report, the
//! workload's stdout and stderr, files it wrote) into metric samples.
//!
//! One module per source; each implements [`Collect`]. Collectors only
//! parse: spawning and timing are the runner's, judging is the gate's.

pub mod rusage;

use std::path::Path;

use crate::metrics::MetricDef;
use crate::results::Value;
use crate::runner::launch::LaunchReport;

/// Everything a finished, successful run left for the collectors.
#[derive(Debug, Clone, Copy)]
pub struct RunArtifacts<'a> {
    /// The launcher's report: rusage, wall time, RSS timeline.
    pub report: &'a LaunchReport,
    /// The workload's captured stdout.
    pub stdout: &'a Path,
    /// The workload's captured stderr.
    pub stderr: &'a Path,
}

/// One value of one metric from one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Which metric.
    pub metric: &'static MetricDef,
    /// The collector that read it, e.g. `wait4`.
    pub source: &'static str,
    /// The value, in the metric's unit.
    pub value: Value,
}

/// A run's output that a collector could not read.
#[derive(Debug, thiserror::Error)]
#[error("{collector}: {message}")]
pub struct CollectError {
    /// The collector's name.
    pub collector: &'static str,
    /// What was wrong, naming the file and line where there is one.
    pub message: String,
}

/// A source of metric samples.
pub trait Collect {
    /// The collector's name, as written in `collect:`.
    fn name(&self) -> &'static str;
    /// Reads one run's samples.
    fn collect(&self, run: &RunArtifacts<'_>) -> Result<Vec<Sample>, CollectError>;
}
