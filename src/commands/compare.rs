//! `memgate compare` (two results files) and `memgate check` (run, then
//! compare with the baseline): judge, write verdicts, print them.

use std::path::{Path, PathBuf};

use crate::baseline;
use crate::cli::{CheckArgs, CompareArgs, CompareFormat, RunOrder};
use crate::config::Config;
use crate::error::{Error, Outcome};
use crate::gate;
use crate::policy::GatePolicy;
use crate::report::markdown::Markdown;
use crate::report::{github, terminal};
use crate::results::Results;
use crate::runner::relative::{self, Order, RelativeOptions};
use crate::verdicts::{Side, Verdicts};

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
    let mut verdicts = judge(
        &policy,
        &config_path,
        &args.baseline,
        &base,
        &args.current,
        &cur,
    )?;
    accept(
        &mut verdicts,
        &args.outputs.accept,
        args.outputs.accept_reason.clone(),
    )?;
    if let Some(out) = &args.output {
        crate::atomic::write_json(out, &verdicts)?;
    }
    print(&verdicts, args.format)?;
    publish(&verdicts, args.outputs.report.as_deref())?;
    Ok(outcome(&verdicts, &cur))
}

/// `memgate check`: run, compare with the baseline, write results and
/// verdicts. With a base ref (relative mode), the baseline is the base
/// revision measured now, beside the head.
pub fn check(args: CheckArgs) -> Result<Outcome, Error> {
    let config = Config::load(&args.run.config)?;
    let baseline_path = args
        .baseline
        .clone()
        .unwrap_or_else(|| config.baseline.clone());
    let base_ref = args.base_ref.clone().or_else(|| config.base_ref.clone());
    let (base, cur, base_label, cur_label) = match &base_ref {
        Some(r) => {
            let opts = RelativeOptions {
                base_ref: r.clone(),
                order: match args.order {
                    RunOrder::Alternate => Order::Alternate,
                    RunOrder::Shuffled => Order::Shuffled { seed: args.seed },
                },
                cache: !args.no_cache,
                cache_max_bytes: args.cache_max.0,
            };
            let plan = super::run::plan(&config, &args.run)?;
            let fallback = baseline::load(&baseline_path).ok();
            let m = relative::measure(
                &config,
                &plan,
                &opts,
                fallback.as_ref(),
                &mut std::io::stderr(),
            )?;
            crate::atomic::write_json(&args.run.output, &m.head)?;
            eprintln!("memgate: wrote {}", args.run.output.display());
            (m.base, m.head, m.base_label, m.head_label)
        }
        None => {
            // Read the baseline first: a missing one should not cost a full run.
            let mut base = baseline::load(&baseline_path)?;
            let cur = super::run::measure(&config, &args.run)?;
            // A subset run (-w, --shard) is compared with the same subset of
            // the baseline; workloads it did not select are not "missing".
            if !args.run.workloads.is_empty() || args.run.shard.is_some() {
                let ran: Vec<&str> = cur.workloads.iter().map(|w| w.name.as_str()).collect();
                base.workloads.retain(|w| ran.contains(&w.name.as_str()));
            }
            let labels = (
                baseline_path.display().to_string(),
                args.run.output.display().to_string(),
            );
            (base, cur, labels.0, labels.1)
        }
    };
    let mut verdicts = gate::evaluate(
        &config.policy,
        &Side::of(&base_label, &base),
        &base,
        &Side::of(&cur_label, &cur),
        &cur,
    )
    .map_err(|source| Error::Policy {
        path: config.path.clone(),
        source,
    })?;
    accept(
        &mut verdicts,
        &args.outputs.accept,
        args.outputs.accept_reason.clone(),
    )?;
    crate::atomic::write_json(&args.verdicts, &verdicts)?;
    eprintln!("memgate: wrote {}", args.verdicts.display());
    print(&verdicts, args.format)?;
    publish(&verdicts, args.outputs.report.as_deref())?;
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

/// Applies `--accept`; a pattern that matched no regression is said, not an error.
fn accept(
    verdicts: &mut Verdicts,
    patterns: &[String],
    reason: Option<String>,
) -> Result<(), Error> {
    let unmatched = gate::accept(verdicts, patterns, reason)?;
    for p in unmatched {
        eprintln!("memgate: note: --accept {p} matched no regression");
    }
    Ok(())
}

/// Writes the Markdown report where asked, and to GitHub's step summary
/// and annotations when running there.
fn publish(verdicts: &Verdicts, report: Option<&Path>) -> Result<(), Error> {
    let in_actions = std::env::var_os("GITHUB_STEP_SUMMARY").is_some()
        || std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    if report.is_none() && !in_actions {
        return Ok(());
    }
    let markdown = Markdown::default().render_string(verdicts)?;
    if let Some(path) = report {
        crate::atomic::write(path, markdown.as_bytes())?;
        eprintln!("memgate: wrote {}", path.display());
    }
    if in_actions {
        github::publish(verdicts, &markdown, &mut std::io::stdout().lock())
            .map_err(Error::Stdout)?;
    }
    Ok(())
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
