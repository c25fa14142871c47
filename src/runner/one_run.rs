//! One run of a workload: set up the collectors, launch it, turn the
//! launcher's report into a status, collect the samples its phase keeps,
//! record the run and log its progress line (and its stderr when it failed).

use std::io::Write;
use std::path::Path;

use super::spawn::{self, LaunchRequest, Launched};
use super::{Position, RunError, STDERR_TAIL_LINES, Step, profiled};
use crate::attribution::{RunSites, SourceTree};
use crate::collect::launch_report::End;
use crate::collect::{Collect, Collected, RunArtifacts, RunFiles, RunSetup, collect_all, gctrace};
use crate::config::Workload;
use crate::lang::Lang;
use crate::phase::Phase;
use crate::results::{Run, RunStatus, Series, Timeline, WorkloadResults};

/// Runs a workload once, as `at` says (a warm-up, or a measured run of a
/// phase), and adds the run and the samples its phase keeps to `out`;
/// returns the sites of its heap profile, when it recorded one.
pub(super) fn run_once(
    launcher: &Path,
    w: &Workload,
    collectors: &[Box<dyn Collect>],
    out: &mut WorkloadResults,
    at: Position,
    (scratch, tree): (&Path, &SourceTree),
    log: &mut dyn Write,
) -> Result<Option<(&'static str, RunSites)>, RunError> {
    let Step {
        index,
        warmup,
        phase,
    } = at.step;
    let files = RunFiles::in_dir(scratch, index);
    let mut env = w.env.clone();
    if let Some(p) = phase {
        p.apply(&mut env, w.benchmark.map(|b| b.backstop_bytes));
    }
    let mut argv = w.run.clone();
    for c in collectors {
        c.setup(&mut RunSetup {
            env: &mut env,
            argv: &mut argv,
            files: &files,
            profile: profiled(w, at.step),
        });
    }
    let req = LaunchRequest {
        argv: &argv,
        dir: &w.dir,
        env: &env,
        timeout: w.timeout,
        grace: w.kill_grace,
        interval: w.sample_interval,
    };
    let launched = spawn::launch(launcher, &req, scratch, &format!("run{index}"))?;
    let report = &launched.report;
    let mut status = run_status(&report.end, w.timeout)?;
    let mut collected = Collected::default();
    if status.is_ok() && !warmup {
        let artifacts = RunArtifacts {
            report,
            stdout: &launched.stdout,
            stderr: &launched.stderr,
            files: &files,
            tree,
            command: &w.run,
            dir: &w.dir,
        };
        match collect_all(collectors, &artifacts) {
            Ok(c) => collected = c,
            Err(e) => {
                status = RunStatus::CollectFailed {
                    message: e.to_string(),
                }
            }
        }
    }
    // Only the footprint phase runs a Go program with its collector
    // stop-the-world.
    let concurrent_gc = w.lang == Lang::Go && phase != Some(Phase::Footprint);
    let bench_footprint = w.benchmark.filter(|_| phase == Some(Phase::Footprint));
    let unforced = bench_footprint.and_then(|_| unforced_cycles(&collected));
    if let (Some(b), Some(n)) = (bench_footprint, unforced.filter(|&n| n > 0)) {
        collected.warnings.push(format!(
            "the footprint run's GOMEMLIMIT backstop ({}) collected {n} time(s) during the benchmark: its B/op and allocs/op may move with those collections",
            crate::units::Bytes(b.backstop_bytes)
        ));
    }
    for s in std::mem::take(&mut collected.samples) {
        if phase.is_some_and(|p| !p.keeps(s.metric, &w.phases)) {
            continue;
        }
        // Under GOGC=off the trace's goal is the backstop's, not the heap's.
        if bench_footprint.is_some() && s.metric.name == crate::metrics::HEAP_GOAL.name {
            continue;
        }
        out.metrics
            .entry(s.metric.name.to_owned())
            .or_insert_with(|| Series::measured(s.metric, s.source, phase, concurrent_gc))
            .samples
            .push(s.value);
    }
    if !report.escaped.is_empty() {
        collected.warnings.push(format!(
            "it left {} process(es) running outside its process group when it ended; memgate ended them: {}",
            report.escaped.len(),
            report.escaped.join("; ")
        ));
    }
    let stderr_tail = status.is_failure().then(|| failure_tail(&launched));
    let run = Run {
        index,
        warmup,
        phase,
        status,
        wall_seconds: report.wall_ns as f64 / 1e9,
        rss_floor_bytes: report.rss_floor_bytes,
        rss_hwm_sampled_bytes: report.hwm_sampled_bytes,
        timeline: (!w.sample_interval.is_zero()).then(|| Timeline {
            interval_seconds: w.sample_interval.as_secs_f64(),
            t_us: report.t_us.clone(),
            rss_bytes: report.rss_bytes.clone(),
        }),
        stderr_tail,
        warnings: collected.warnings,
        notes: collected.notes,
    };
    // A note every run repeats is logged once.
    let new_notes: Vec<&String> = run
        .notes
        .iter()
        .filter(|n| !out.runs.iter().any(|r| r.notes.contains(n)))
        .collect();
    log_run(w, &run, at.of, &launched, &new_notes, log);
    out.runs.push(run);
    Ok(collected.sites.take())
}

/// The collections of a run beyond the forced ones, from its GC trace;
/// `None` without one. In a benchmark's footprint run (`GOGC=off`) the
/// runtime collects for nothing else than its `GOMEMLIMIT` backstop.
fn unforced_cycles(collected: &Collected) -> Option<u64> {
    let count = |name: &str| {
        collected
            .samples
            .iter()
            .find(|s| s.metric.name == name)
            .map(|s| s.value.as_f64() as u64)
    };
    let cycles = count(crate::metrics::GC_CYCLES.name)?;
    Some(cycles.saturating_sub(count(crate::metrics::GC_CYCLES_FORCED.name).unwrap_or(0)))
}

/// The progress line of one run, then its stderr tail when it failed or
/// what it wrote to stderr when it did not, the collectors' warnings and
/// the `notes` not logged before.
fn log_run(
    w: &Workload,
    run: &Run,
    of: usize,
    launched: &Launched,
    notes: &[&String],
    log: &mut dyn Write,
) {
    let report = &launched.report;
    let peak = report
        .rusage
        .map(|_| crate::units::Bytes(crate::collect::rusage::peak_rss(report)));
    let phase = run
        .phase
        .filter(|_| !run.warmup)
        .map(|p| format!("{p} "))
        .unwrap_or_default();
    let _ = writeln!(
        log,
        "memgate: {} {phase}{} {}/{}: {} in {:.3}s{}",
        w.name,
        if run.warmup { "warm-up" } else { "run" },
        run.index + 1,
        of,
        run.status,
        run.wall_seconds,
        peak.map(|p| format!(", peak RSS {p}")).unwrap_or_default()
    );
    match &run.stderr_tail {
        Some(tail) => {
            let _ = writeln!(log, "{}", indent(tail));
        }
        None => pass_through(&launched.stderr, log),
    }
    for warning in &run.warnings {
        let _ = writeln!(log, "memgate: warning: {}: {warning}", w.name);
    }
    for note in notes {
        let _ = writeln!(log, "memgate: note: {}: {note}", w.name);
    }
}

/// Maps the launcher's view of an ending to the results' view; an
/// interrupted launch stops the whole run.
pub(super) fn run_status(end: &End, timeout: std::time::Duration) -> Result<RunStatus, RunError> {
    Ok(match end {
        End::Exited { code: 0 } => RunStatus::Ok,
        End::Exited { code } => RunStatus::Exited { code: *code },
        End::Signaled { signal } => RunStatus::Signaled { signal: *signal },
        End::TimedOut => RunStatus::TimedOut {
            after_seconds: timeout.as_secs_f64(),
        },
        End::SpawnFailed { message } => RunStatus::SpawnFailed {
            message: message.clone(),
        },
        End::Interrupted => return Err(RunError::Interrupted),
    })
}

/// stderr's tail, or stdout's when stderr is empty.
pub(super) fn failure_tail(l: &Launched) -> String {
    let err = spawn::tail(&l.stderr, STDERR_TAIL_LINES);
    if err.trim().is_empty() {
        spawn::tail(&l.stdout, STDERR_TAIL_LINES)
    } else {
        err
    }
}

/// Most lines a successful run's stderr passes through to memgate's.
const PASS_THROUGH_LINES: usize = 20;

/// Shows what a successful run wrote to stderr, gctrace and valgrind's
/// own lines (`==PID== ...`) excepted: the collectors read the file, and
/// nothing the workload said is lost.
fn pass_through(stderr: &Path, log: &mut dyn Write) {
    let Ok(bytes) = crate::input::read(stderr, crate::input::FILE_LIMIT) else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !gctrace::is_trace_line(l) && !is_valgrind_line(l))
        .collect();
    for l in lines.iter().take(PASS_THROUGH_LINES) {
        let _ = writeln!(log, "    | {}", spawn::clip(l));
    }
    if lines.len() > PASS_THROUGH_LINES {
        let _ = writeln!(
            log,
            "    | ... {} more lines",
            lines.len() - PASS_THROUGH_LINES
        );
    }
}

/// valgrind's own output: `==1234== ...`.
fn is_valgrind_line(line: &str) -> bool {
    line.strip_prefix("==")
        .and_then(|rest| rest.split_once("=="))
        .is_some_and(|(pid, _)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

pub(super) fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
