//! `collect: [criterion]`: a criterion benchmark's time per iteration, as
//! criterion estimates it, for the benchmarks a `cargotest` workload with
//! `benches: true` runs that way. criterion chooses its iteration counts by
//! the clock, so a run's allocations do not repeat; its time estimate is
//! what there is to gate. memgate points `CRITERION_HOME` (criterion's
//! output directory) at a directory of the run and reads the estimate the
//! one benchmark wrote there, `<id>/new/estimates.json`: the slope of its
//! linear sampling when it has one, else the mean, in nanoseconds (what
//! criterion prints as `time:`).

use std::path::{Path, PathBuf};

use super::{Collect, CollectError, Collected, RunArtifacts, RunSetup, Sample};
use crate::metrics;
use crate::results::Value;

/// criterion's output directory variable.
pub const HOME_ENV: &str = "CRITERION_HOME";

/// A criterion benchmark's estimate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Criterion;

impl Collect for Criterion {
    fn name(&self) -> &'static str {
        "criterion"
    }

    fn setup(&self, run: &mut RunSetup<'_>) {
        run.env.insert(
            HOME_ENV.into(),
            run.files.criterion_home.display().to_string(),
        );
    }

    fn collect(&self, run: &RunArtifacts<'_>) -> Result<Collected, CollectError> {
        let err = |message: String| CollectError {
            collector: "criterion",
            message,
        };
        let home = &run.files.criterion_home;
        let found = estimates(home);
        let [path] = found.as_slice() else {
            return Err(err(format!(
                "expected the estimate of one benchmark under {}, found {}: is it a criterion benchmark run with `--bench --exact NAME`?",
                home.display(),
                found.len()
            )));
        };
        let text = crate::input::read(path, crate::input::FILE_LIMIT)
            .map_err(|e| err(format!("{}: {e}", path.display())))?;
        let doc: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| err(format!("{}: {e}", path.display())))?;
        let nanos = ["slope", "mean"]
            .iter()
            .find_map(|k| doc[k]["point_estimate"].as_f64())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| {
                err(format!(
                    "{}: no slope or mean point_estimate",
                    path.display()
                ))
            })?;
        Ok(Collected {
            samples: vec![Sample {
                metric: &metrics::OP_TIME,
                source: "criterion",
                value: Value::Float(nanos * 1e-9),
            }],
            ..Collected::default()
        })
    }
}

/// The `new/estimates.json` files under `home` (a benchmark id's `/`
/// makes directories: at most four levels are searched).
fn estimates(home: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![(home.to_owned(), 0)];
    while let Some((dir, depth)) = dirs.pop() {
        let candidate = dir.join("new").join("estimates.json");
        if candidate.is_file() {
            found.push(candidate);
            continue;
        }
        if depth == 4 {
            continue;
        }
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) && e.file_name() != "report" {
                dirs.push((e.path(), depth + 1));
            }
        }
    }
    found
}
