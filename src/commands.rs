//! The subcommands as glue: turn parsed arguments into a plan, call the
//! stages, write the output atomically, and pick the outcome.

use std::path::{Path, PathBuf};

use crate::cli::{MergeArgs, RunArgs};
use crate::config::Config;
use crate::error::{Error, Outcome};
use crate::results::{self, Results};
use crate::runner::{self, RunError, RunPlan};

/// `memgate run`: measure the selected workloads and write the results.
pub fn run(args: RunArgs) -> Result<Outcome, Error> {
    let config = Config::load(&args.config)?;
    let plan = plan(&config, &args)?;
    let results = runner::execute(&plan, &mut std::io::stderr())?;
    crate::atomic::write_json(&args.output, &results)?;
    eprintln!("memgate: wrote {}", args.output.display());
    Ok(if results.has_failures() {
        let failed = results
            .workloads
            .iter()
            .filter(|w| w.has_failures())
            .map(|w| w.name.as_str())
            .collect::<Vec<_>>();
        eprintln!(
            "memgate: error: failed builds or runs in: {}",
            failed.join(", ")
        );
        Outcome::WorkloadsFailed
    } else {
        Outcome::Pass
    })
}

/// Resolves the command line against the config: selection, overrides, shard.
fn plan(config: &Config, args: &RunArgs) -> Result<RunPlan, Error> {
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

/// `memgate merge`: join the results of a sharded matrix.
pub fn merge(args: MergeArgs) -> Result<Outcome, Error> {
    let mut parts = Vec::with_capacity(args.files.len());
    for path in &args.files {
        parts.push((path.clone(), Results::read(path)?));
    }
    let first = parts.remove(0);
    let merged = results::merge(first, parts)?;
    crate::atomic::write_json(&args.output, &merged)?;
    eprintln!(
        "memgate: merged {} files, {} workloads, into {}",
        args.files.len(),
        merged.workloads.len(),
        args.output.display()
    );
    Ok(Outcome::Pass)
}
