//! `memgate compare` (two results files) and `memgate check` (run, then
//! compare with the baseline): judge, write verdicts, print them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::baseline;
use crate::cli::{CheckArgs, CompareArgs, CompareFormat, OutputArgs, RunOrder};
use crate::config::Config;
use crate::error::{Error, Outcome};
use crate::gate;
use crate::policy::GatePolicy;
use crate::report::markdown::Markdown;
use crate::report::terminal::Terminal;
use crate::report::{Json, Render, github};
use crate::results::Results;
use crate::runner::relative::{self, Order, RelativeOptions};
use crate::runner::{RunPlan, Selection};
use crate::verdicts::{Side, Verdicts};

/// `memgate compare BASELINE CURRENT`.
pub fn compare(args: CompareArgs) -> Result<Outcome, Error> {
    // The config's policy and history, or the defaults.
    let config = match &args.config {
        Some(path) => Some(Config::load(path)?),
        None if Path::new("memgate.yaml").exists() => {
            Some(Config::load(Path::new("memgate.yaml"))?)
        }
        None => None,
    };
    let (policy, history, repo) = match config {
        Some(c) => (c.policy, c.history, c.dir),
        None => (
            GatePolicy::default(),
            PathBuf::from(crate::history::DEFAULT_HISTORY),
            PathBuf::from("."),
        ),
    };
    let mut inputs = vec![
        ("the baseline", args.baseline.as_path()),
        ("the current results", args.current.as_path()),
    ];
    inputs.extend(args.config.as_deref().map(|c| ("the config (-c)", c)));
    let mut outputs: Vec<(&'static str, &Path)> = args
        .output
        .as_deref()
        .map(|o| ("-o", o))
        .into_iter()
        .collect();
    outputs.extend(written_by(&args.outputs));
    crate::atomic::check_outputs(&inputs, &outputs)?;
    // The two sides are read at once, one on each of two cores: parsing
    // is most of a large comparison's time.
    let (base, cur) = std::thread::scope(|scope| {
        let base = scope.spawn(|| read_side(&args.baseline));
        let cur = read_side(&args.current);
        let base = base
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (base, cur)
    });
    let (base, cur) = (base?, cur?);
    let base_side = Side::of(&args.baseline.display().to_string(), &base);
    let cur_side = Side::of(&args.current.display().to_string(), &cur);
    let mut verdicts = judge(
        &policy,
        (&base_side, &base),
        (&cur_side, &cur),
        &args.outputs,
        (&history, &repo),
    )?;
    if let Some(out) = &args.output {
        verdicts.write(out)?;
    }
    show(&verdicts, &args.outputs)?;
    let outcome = outcome(&verdicts, &base, &cur);
    // The process ends here: freeing a large comparison's millions of
    // values one by one took longer than writing them.
    std::mem::forget((verdicts, base, cur));
    Ok(outcome)
}

/// One side of `compare`: a results file, or `go test -bench` output
/// (gzip-compressed or not) read as `import --format gobench` would.
fn read_side(path: &Path) -> Result<Results, Error> {
    use crate::collect::import::{self, ImportError};
    let text = match import::read(path) {
        Ok(text) => text,
        // Unreadable: said as for any results file.
        Err(ImportError::Read { path, source }) => {
            return Err(crate::results::ResultsError::Read { path, source }.into());
        }
        Err(e) => return Err(e.into()),
    };
    if crate::collect::gobench::is_bench_output(&text) {
        let mut gobench = import::GobenchImport::default();
        gobench.add(path, &text)?;
        Ok(gobench.finish())
    } else {
        Ok(Results::parse(path, &text)?)
    }
}

/// The files `--report`, `--html` and `--export` write.
fn written_by(o: &OutputArgs) -> impl Iterator<Item = (&'static str, &Path)> {
    [
        ("--report", o.report.as_deref()),
        ("--html", o.html.as_deref()),
        ("--export", o.export.as_deref()),
    ]
    .into_iter()
    .filter_map(|(flag, p)| p.map(|p| (flag, p)))
}

/// `memgate check`: run, compare with the baseline, write results and
/// verdicts. With a base ref (relative mode), the baseline is the base
/// revision measured now, beside the head.
pub fn check(args: CheckArgs) -> Result<Outcome, Error> {
    let config = Config::load(&args.run.config)?;
    let base_ref = args.base_ref.clone().or_else(|| config.base_ref.clone());
    // Results that become a baseline, and both sides of relative mode,
    // measure each metric's spread (see gate::MEASURED_SPREAD_RUNS).
    let selection = Selection {
        for_baseline: args.save_baseline || base_ref.is_some(),
        ..Selection::from(&args.run)
    };
    let mut plan = RunPlan::try_from((&config, &selection))?;
    let baseline_path = args
        .baseline
        .clone()
        .unwrap_or_else(|| config.baseline.clone());
    let mut outputs = vec![
        ("-o", args.run.output.as_path()),
        ("--verdicts", args.verdicts.as_path()),
    ];
    outputs.extend(written_by(&args.outputs));
    crate::atomic::check_outputs(
        &[
            ("the config (-c)", args.run.config.as_path()),
            ("the baseline", baseline_path.as_path()),
        ],
        &outputs,
    )?;
    let (base, cur, base_label, cur_label, interleaved) = match &base_ref {
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
            let m = relative::measure(&config, &plan, &opts, &mut std::io::stderr())?;
            crate::interrupt::nothing_to_end();
            crate::atomic::write_json(&args.run.output, &m.head)?;
            crate::say!("memgate: wrote {}", args.run.output.display());
            (m.base, m.head, m.base_label, m.head_label, m.interleaved)
        }
        None => {
            // Read the baseline first: a missing one should not cost a full run.
            let mut base = baseline::load(&baseline_path)?;
            // Go benchmarks run at the baseline's counts: per-op figures
            // carry set-up amortised over the count.
            plan.pins = base.pins();
            let cur = super::measure(&plan, Some(&args.run.output))?;
            // A subset run (-w, --shard) is compared with the same subset of
            // the baseline: workloads of the config it did not select are not
            // "missing"; a workload the config no longer has still is.
            if !args.run.workloads.is_empty() || args.run.shard.is_some() {
                let configured: BTreeSet<&str> =
                    config.workloads.iter().map(|w| w.name.as_str()).collect();
                let selected: BTreeSet<&str> =
                    plan.workloads.iter().map(|w| w.name.as_str()).collect();
                base.workloads.retain(|w| {
                    let name = crate::policy::configured_name(&w.name);
                    selected.contains(name) || !configured.contains(name)
                });
            }
            let labels = (shown(&baseline_path), shown(&args.run.output));
            (base, cur, labels.0, labels.1, Vec::new())
        }
    };
    let base_side = Side {
        interleaved,
        ..Side::of(&base_label, &base)
    };
    let cur_side = Side::of(&cur_label, &cur);
    let mut verdicts = judge(
        &config.policy,
        (&base_side, &base),
        (&cur_side, &cur),
        &args.outputs,
        (&config.history, &config.dir),
    )?;
    verdicts.write(&args.verdicts)?;
    crate::say!("memgate: wrote {}", args.verdicts.display());
    show(&verdicts, &args.outputs)?;
    let outcome = outcome(&verdicts, &base, &cur);
    if args.save_baseline {
        // A subset run (-w, --shard) updates its workloads in the baseline
        // and keeps the others.
        let subset = !args.run.workloads.is_empty() || args.run.shard.is_some();
        let new = match baseline::load(&baseline_path) {
            Ok(old) if subset => old.updated_with(&cur),
            _ => cur.clone(),
        };
        save_baseline(outcome, &new, &args.run.output, &baseline_path)?;
        if outcome == Outcome::Pass {
            record_history(&cur, &args.run.output, &config.history, &verdicts);
        }
    }
    Ok(outcome)
}

/// The gate's verdicts, the `drift:` budgets applied from the history
/// (at `history`, git refs resolved in `repo`), then `--accept`; a pattern
/// that matched no regression is said, not an error.
fn judge(
    policy: &GatePolicy,
    (base_side, base): (&Side, &Results),
    (cur_side, cur): (&Side, &Results),
    outputs: &OutputArgs,
    (history, repo): (&Path, &Path),
) -> Result<Verdicts, Error> {
    let mut verdicts = gate::evaluate(policy, base_side, base, cur_side, cur)?;
    let (anchors, notes) =
        crate::history::anchor::anchor_levels(history, &policy.drift, cur, repo)?;
    for note in notes {
        crate::say!("memgate: note: {}", crate::report::escape::terminal(&note));
    }
    gate::apply_drift(&mut verdicts, &policy.drift, &anchors);
    let reason = outputs.accept_reason.clone();
    for p in gate::accept(&mut verdicts, &outputs.accept, reason)? {
        crate::say!("memgate: note: --accept {p} matched no regression");
    }
    // The failing metrics' recent history is a picture, not a verdict: a
    // history that cannot be read is said, and the verdicts stand.
    if let Err(e) = crate::history::anchor::attach_traces(history, &mut verdicts, cur) {
        crate::say!(
            "memgate: warning: no history shown: {}",
            crate::report::escape::terminal(&e.to_string())
        );
    }
    Ok(verdicts)
}

/// Prints the verdicts in the chosen format, writes the Markdown report
/// where asked, and publishes to GitHub's step summary and annotations
/// when running there.
fn show(verdicts: &Verdicts, outputs: &OutputArgs) -> Result<(), Error> {
    let printer: Box<dyn Render> = match outputs.format {
        CompareFormat::Table => Box::new(Terminal::for_stdout()),
        CompareFormat::Json => Box::new(Json),
    };
    print(&*printer, verdicts)?;
    if let Some(path) = &outputs.export {
        let text = crate::report::openmetrics::render_string(verdicts)?;
        crate::atomic::write(path, text.as_bytes())?;
        crate::say!("memgate: wrote {}", path.display());
    }
    let otlp = crate::report::otlp::Target::resolve(outputs.otlp_endpoint.as_deref(), |k| {
        std::env::var(k).ok()
    });
    let protocol = crate::report::otlp::unsupported_protocol(|k| std::env::var(k).ok());
    if let (Some(target), Some(p)) = (&otlp, &protocol) {
        crate::say!(
            "memgate: warning: OTLP export to {} skipped: protocol `{p}` asked for; memgate sends http/protobuf only",
            target.url
        );
    } else if let Some(target) = otlp {
        match crate::report::otlp::export(verdicts, &target) {
            Ok(()) => crate::say!("memgate: sent OTLP metrics to {}", target.url),
            Err(e) => crate::say!("memgate: warning: OTLP export failed: {e}"),
        }
    }
    if let Some(path) = &outputs.html {
        let html = crate::report::html::render_string(verdicts);
        crate::atomic::write(path, html.as_bytes())?;
        crate::say!("memgate: wrote {}", path.display());
    }
    let in_actions = github::in_actions();
    if outputs.report.is_none() && !in_actions {
        return Ok(());
    }
    let markdown = Markdown::default().render_string(verdicts)?;
    if let Some(path) = &outputs.report {
        crate::atomic::write(path, markdown.as_bytes())?;
        crate::say!("memgate: wrote {}", path.display());
    }
    if in_actions {
        github::append_step_summary(&markdown).map_err(Error::Stdout)?;
        // Annotations go to stderr (the runner reads workflow commands on
        // both streams): stdout stays the chosen format, parseable JSON
        // with --format json.
        let mut err = std::io::stderr().lock();
        github::Annotations
            .render(verdicts, &mut err)
            .map_err(super::stdout_error)?;
    }
    Ok(())
}

/// Renders to stdout.
fn print(printer: &dyn Render, verdicts: &Verdicts) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    printer
        .render(verdicts, &mut out)
        .map_err(super::stdout_error)
}

/// `check --save-baseline`: the new results become the baseline only when
/// the gate passed.
fn save_baseline(
    outcome: Outcome,
    cur: &Results,
    results_path: &Path,
    baseline_path: &Path,
) -> Result<(), Error> {
    if outcome == Outcome::Pass {
        baseline::store(cur, results_path, baseline_path, false)?;
        crate::say!(
            "memgate: saved the results as the baseline {}",
            baseline_path.display()
        );
    } else {
        crate::say!("memgate: the baseline was not saved: the gate did not pass");
    }
    Ok(())
}

/// `check --save-baseline` also records the results in the history (the
/// config's `history:`, else `history.db` beside the baseline), by their
/// commit. The baseline is saved whatever happens here: a history that
/// cannot be written, or results of no commit, are said, not failed on.
/// A drift budget's accepted breach is recorded too: budgets count from
/// this commit's level on.
fn record_history(cur: &Results, results_path: &Path, db: &Path, verdicts: &Verdicts) {
    let accepted: Vec<(String, String)> = verdicts
        .verdicts
        .iter()
        .filter(|v| v.status == crate::verdicts::Status::Accepted && v.drift.is_some())
        .map(|v| (v.workload.clone(), v.metric.clone()))
        .collect();
    let reason = verdicts
        .acceptance
        .as_ref()
        .and_then(|a| a.reason.clone())
        .unwrap_or_else(|| "accepted with --accept".to_owned());
    let recorded = crate::history::RecordId::of(results_path, cur, None).and_then(|id| {
        let mut h = crate::history::History::open(db, true)?;
        let added = h.add(cur, &id)?;
        h.accept(cur, &id.sha, &accepted, &reason)?;
        Ok((id, added))
    });
    match recorded {
        Ok((id, added)) => crate::say!(
            "memgate: recorded {} metric summaries of commit {} in the history {}",
            added.summaries,
            crate::report::escape::terminal(&id.sha),
            db.display()
        ),
        Err(e) => crate::say!(
            "memgate: warning: not recorded in the history: {}",
            crate::report::escape::terminal(&e.to_string())
        ),
    }
}

/// Failed builds or runs, of either side, outrank the gate: the
/// comparison is incomplete.
fn outcome(verdicts: &Verdicts, base: &Results, cur: &Results) -> Outcome {
    if cur.has_failures() || base.has_failures() {
        Outcome::WorkloadsFailed
    } else if verdicts.failed() {
        Outcome::GateFailed
    } else {
        Outcome::Pass
    }
}

/// A path as reports show it: relative to the working directory when it
/// is under it (the config's `baseline:` resolves to an absolute path).
fn shown(path: &std::path::Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(|p| p.display().to_string()))
        .unwrap_or_else(|| path.display().to_string())
}
