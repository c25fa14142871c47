//! `memgate compare` (two results files) and `memgate check` (run, then
//! compare with the baseline): judge, write verdicts, print them.

use std::path::{Path, PathBuf};

use crate::baseline;
use crate::cli::{CheckArgs, CompareArgs, CompareFormat};
use crate::config::Config;
use crate::error::{Error, Outcome};
use crate::gate::{self, Side, Verdicts};
use crate::policy::GatePolicy;
use crate::report::terminal;
use crate::results::Results;

/// `memgate compare BASELINE CURRENT`.
pub fn compare(args: CompareArgs) -> Result<Outcome, Error> {
    let policy = match &args.config {
        Some(path) => Config::load(path)?.policy,
        None if Path::new("memgate.yaml").exists() => {
            Config::load(Path::new("memgate.yaml"))?.policy
        }
        None => GatePolicy::default(),
    };
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("memgate.yaml"));
    let base = Results::read(&args.baseline)?;
    let cur = Results::read(&args.current)?;
    let verdicts = judge(
        &policy,
        &config_path,
        &args.baseline,
        &base,
        &args.current,
        &cur,
    )?;
    if let Some(out) = &args.output {
        crate::atomic::write_json(out, &verdicts)?;
    }
    print(&verdicts, args.format)?;
    Ok(outcome(&verdicts, &cur))
}

/// `memgate check`: run, compare with the baseline, write results and verdicts.
pub fn check(args: CheckArgs) -> Result<Outcome, Error> {
    let config = Config::load(&args.run.config)?;
    let baseline_path = args
        .baseline
        .clone()
        .unwrap_or_else(|| config.baseline.clone());
    // Read the baseline first: a missing one should not cost a full run.
    let mut base = baseline::load(&baseline_path)?;
    let cur = super::run::measure(&config, &args.run)?;
    // A subset run (-w, --shard) is compared with the same subset of the
    // baseline; workloads it did not select are not "missing".
    if !args.run.workloads.is_empty() || args.run.shard.is_some() {
        let ran: Vec<&str> = cur.workloads.iter().map(|w| w.name.as_str()).collect();
        base.workloads.retain(|w| ran.contains(&w.name.as_str()));
    }
    let verdicts = judge(
        &config.policy,
        &config.path,
        &baseline_path,
        &base,
        &args.run.output,
        &cur,
    )?;
    crate::atomic::write_json(&args.verdicts, &verdicts)?;
    eprintln!("memgate: wrote {}", args.verdicts.display());
    print(&verdicts, args.format)?;
    let outcome = outcome(&verdicts, &cur);
    if args.save_baseline {
        if outcome == Outcome::Pass {
            baseline::store(&cur, &args.run.output, &baseline_path, false)?;
            eprintln!(
                "memgate: saved the results as the baseline {}",
                baseline_path.display()
            );
        } else {
            eprintln!("memgate: the baseline was not saved: the gate did not pass");
        }
    }
    Ok(outcome)
}

fn judge(
    policy: &GatePolicy,
    config: &Path,
    base_path: &Path,
    base: &Results,
    cur_path: &Path,
    cur: &Results,
) -> Result<Verdicts, Error> {
    gate::evaluate(
        policy,
        &Side::of(&base_path.display().to_string(), base),
        base,
        &Side::of(&cur_path.display().to_string(), cur),
        cur,
    )
    .map_err(|source| Error::Policy {
        path: config.to_owned(),
        source,
    })
}

fn print(verdicts: &Verdicts, format: CompareFormat) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    let written = match format {
        CompareFormat::Table => {
            terminal::render(verdicts, terminal::stdout_wants_color(), &mut out)
        }
        CompareFormat::Json => serde_json::to_writer_pretty(&mut out, verdicts)
            .map_err(std::io::Error::from)
            .and_then(|_| std::io::Write::write_all(&mut out, b"\n")),
    };
    written.map_err(Error::Stdout)
}

/// Failed runs outrank the gate: the comparison is incomplete.
fn outcome(verdicts: &Verdicts, cur: &Results) -> Outcome {
    if cur.has_failures() {
        Outcome::WorkloadsFailed
    } else if verdicts.failed() {
        Outcome::GateFailed
    } else {
        Outcome::Pass
    }
}
