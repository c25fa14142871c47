//! `memgate run`: measure the selected workloads and write the results.

use std::path::{Path, PathBuf};

use crate::cli::RunArgs;
use crate::config::Config;
use crate::error::{Error, Outcome};
use crate::results::Results;
use crate::runner::{self, RunError, RunPlan};

/// `memgate run`.
pub fn run(args: RunArgs) -> Result<Outcome, Error> {
    let config = Config::load(&args.config)?;
    let results = measure(&config, &args)?;
    Ok(if results.has_failures() {
        Outcome::WorkloadsFailed
    } else {
        Outcome::Pass
    })
}

/// Runs what `args` select from `config`, writes the results file, and
/// names the workloads that failed on stderr.
pub(crate) fn measure(config: &Config, args: &RunArgs) -> Result<Results, Error> {
    let plan = plan(config, args)?;
    let results = runner::execute(&plan, &mut std::io::stderr())?;
    crate::atomic::write_json(&args.output, &results)?;
    eprintln!("memgate: wrote {}", args.output.display());
    if results.has_failures() {
        let failed: Vec<&str> = results
            .workloads
            .iter()
            .filter(|w| w.has_failures())
            .map(|w| w.name.as_str())
            .collect();
        eprintln!(
            "memgate: error: failed builds or runs in: {}",
            failed.join(", ")
        );
    }
    Ok(results)
}

/// Resolves the command line against the config: selection, overrides, shard.
pub(crate) fn plan(config: &Config, args: &RunArgs) -> Result<RunPlan, Error> {
    let selected = config.select(&args.workloads)?;
    let workloads = selected
        .into_iter()
        .enumerate()
        .filter(|(i, _)| args.shard.is_none_or(|s| s.contains(*i)))
        .map(|(_, w)| {
            let mut w = w.clone();
            if let Some(n) = args.repetitions {
                w.repetitions = n;
            }
            if let Some(n) = args.warmup {
                w.warmup = n;
            }
            w
        })
        .collect();
    let launcher = std::env::current_exe().map_err(|e| RunError::Launcher {
        launcher: PathBuf::from("memgate"),
        message: format!("cannot find memgate's own executable: {e}"),
    })?;
    let repo_dir = config
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned();
    Ok(RunPlan {
        workloads,
        shard: args.shard,
        launcher,
        repo_dir,
    })
}
