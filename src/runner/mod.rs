//! The runner: builds each selected workload once, runs it through the
//! launcher (warm-ups, then the measured runs of each phase: a Go workload's
//! footprint and behaviour, see [`crate::phase`]), hands each successful
//! measured run to the collectors, and assembles one [`Results`] value.
//! The benchmarks of a `gobench` workload run round by round, a run of
//! each in turn.
//!
//! Failed builds and runs are recorded in the results with their reason and
//! stderr tail, never dropped and never sampled. Writing the file and
//! choosing the exit code are left to the caller.

mod builds;
mod cargotest;
mod escapees;
mod expand;
mod gobench;
mod one_run;
mod plan;
pub use gobench::Pins;
pub mod launch;
pub mod procfs;
pub mod reap;
pub mod relative;
pub mod spawn;
mod start;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::attribution::{RunSites, Sites, SourceTree};
use crate::collect::{
    Collect,
    criterion::Criterion,
    dhat::{Dhat, ValgrindDhat},
    gctrace::Gctrace,
    gobench::GoBenchLine,
    malloc::Malloc,
    probe::Probe,
    rusage::Rusage,
};
use crate::config::{Collector, Workload};
use crate::fingerprint::Environment;
use crate::phase::Phase;
use crate::results::{Failure, Results, WorkloadResults};
use builds::Builds;
use one_run::{failure_tail, indent, run_once, run_status};
pub use plan::{PlanError, RunPlan, Selection};

/// Lines of stderr kept for a failed build or run.
pub const STDERR_TAIL_LINES: usize = 20;

/// Why a run could not go on. Failed builds and runs are not errors: they
/// are recorded in the results.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Ctrl-C, SIGTERM or SIGHUP.
    #[error("interrupted; the workload's process group was ended and no results were written")]
    Interrupted,
    /// A workload's `dir` does not exist or is not a directory.
    #[error("workload `{workload}`: {} {}; fix `dir:` in the config", dir.display(), if dir.exists() { "is not a directory" } else { "does not exist" })]
    MissingDir {
        /// The workload.
        workload: String,
        /// Its resolved directory.
        dir: PathBuf,
    },
    /// The launcher could not be started or did not report.
    #[error("launcher {} failed: {problem}", launcher.display())]
    Launcher {
        /// The executable.
        launcher: PathBuf,
        /// What happened.
        problem: LauncherProblem,
    },
    /// The scratch directory could not be used.
    #[error("scratch file {}: {source}", path.display())]
    Scratch {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Signal handlers could not be installed.
    #[error("cannot install the Ctrl-C handler: {source}")]
    Signals {
        /// The OS error.
        source: std::io::Error,
    },
}

/// How the launcher failed memgate.
#[derive(Debug, thiserror::Error)]
pub enum LauncherProblem {
    /// memgate's own executable cannot be found.
    #[error("cannot find memgate's own executable: {0}")]
    NotFound(std::io::Error),
    /// It could not be started.
    #[error("cannot start it: {0}")]
    Spawn(std::io::Error),
    /// Waiting for it failed.
    #[error("cannot wait for it: {0}")]
    Wait(std::io::Error),
    /// It exited unsuccessfully.
    #[error("{status}; {stderr_tail}")]
    Failed {
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The end of its stderr.
        stderr_tail: String,
    },
    /// Its report is not JSON of the expected shape.
    #[error("unreadable report {}: {source}", path.display())]
    Report {
        /// The report file.
        path: PathBuf,
        /// What serde said.
        source: serde_json::Error,
    },
}

/// Runs the plan, printing one progress line per build and run to `log`.
pub fn execute(plan: &RunPlan, log: &mut dyn Write) -> Result<Results, RunError> {
    spawn::install_interrupt_handler()?;
    for w in &plan.workloads {
        if !w.dir.is_dir() {
            return Err(RunError::MissingDir {
                workload: w.name.clone(),
                dir: w.dir.clone(),
            });
        }
    }
    let scratch = scratch_dir()?;
    let environment = Environment::detect(&plan.repo_dir);
    // Every build before any run, all at once (see [`builds`]).
    let mut builds = Builds::default();
    builds::build_missing(
        &mut builds,
        &plan.launcher,
        &plan.workloads,
        scratch.path(),
        log,
    )?;
    // Each slot holds a configured workload's results (a gobench
    // workload's: its benchmarks'), filled in config order or, for a pair,
    // both at once.
    let mut slots: Vec<Option<Vec<WorkloadResults>>> = vec![None; plan.workloads.len()];
    for (n, w) in plan.workloads.iter().enumerate() {
        if slots[n].is_some() {
            continue;
        }
        if let Some(m) = partner(plan, n).filter(|&m| slots[m].is_none()) {
            let mut pair = run_pair(plan, [n, m], scratch.path(), &mut builds, log)?.into_iter();
            slots[n] = Some(pair.next().into_iter().collect());
            slots[m] = Some(pair.collect());
            continue;
        }
        let dir = scratch_subdir(scratch.path(), &n.to_string())?;
        let mut list_results = Vec::new();
        let expanded = match &w.cargotest {
            Some(c) => cargotest::expand(&plan.launcher, w, c, &dir, log)?,
            None => gobench::expand(&plan.launcher, w, &plan.pins, &dir, log)?,
        };
        match expanded {
            Ok(list) => {
                let dirs = (0..list.len())
                    .map(|k| scratch_subdir(scratch.path(), &format!("{n}-{k}")))
                    .collect::<Result<Vec<_>, _>>()?;
                list_results =
                    run_round_robin(&plan.launcher, list.iter().zip(dirs), &mut builds, log)?;
            }
            Err(failed) => list_results.push(*failed),
        }
        slots[n] = Some(list_results);
    }
    let workloads: Vec<WorkloadResults> = slots.into_iter().flatten().flatten().collect();
    let mut results = Results::new(vec![environment], workloads);
    results.shards = plan.shard.into_iter().collect();
    Ok(results)
}

/// A temporary directory for the runs' output files; removed on drop.
fn scratch_dir() -> Result<tempfile::TempDir, RunError> {
    tempfile::Builder::new()
        .prefix("memgate-")
        .tempdir()
        .map_err(|source| RunError::Scratch {
            path: std::env::temp_dir(),
            source,
        })
}

/// The other workload of the pair `n` is in, when both are in the plan.
fn partner(plan: &RunPlan, n: usize) -> Option<usize> {
    let name = &plan.workloads[n].name;
    plan.pairs.iter().find_map(|(a, b)| {
        let other = if a == name {
            b
        } else if b == name {
            a
        } else {
            return None;
        };
        plan.workloads.iter().position(|w| &w.name == other)
    })
}

/// Builds two workloads and runs them interleaved, round by round, so
/// both see the same machine over the same minutes.
fn run_pair(
    plan: &RunPlan,
    [n, m]: [usize; 2],
    scratch: &Path,
    builds: &mut Builds,
    log: &mut dyn Write,
) -> Result<Vec<WorkloadResults>, RunError> {
    let (a, b) = (&plan.workloads[n], &plan.workloads[m]);
    let _ = writeln!(
        log,
        "memgate: {} and {} run interleaved (a parity rule compares them)",
        a.name, b.name
    );
    let dirs = [
        scratch_subdir(scratch, &n.to_string())?,
        scratch_subdir(scratch, &m.to_string())?,
    ];
    run_round_robin(&plan.launcher, [a, b].into_iter().zip(dirs), builds, log)
}

/// A new directory `name` in `scratch`.
fn scratch_subdir(scratch: &Path, name: &str) -> Result<PathBuf, RunError> {
    let dir = scratch.join(name);
    std::fs::create_dir(&dir).map_err(|source| RunError::Scratch {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

/// The collectors of a workload: rusage first, then its `collect:` list.
fn collectors(w: &Workload) -> Vec<Box<dyn Collect>> {
    let mut list: Vec<Box<dyn Collect>> = vec![Box::new(Rusage)];
    for c in &w.collect {
        match c {
            // Always on; listing it is allowed.
            Collector::Rusage => {}
            Collector::Gctrace => list.push(Box::new(Gctrace)),
            Collector::Probe => list.push(Box::new(Probe)),
            Collector::Dhat => list.push(Box::new(Dhat)),
            Collector::ValgrindDhat => list.push(Box::new(ValgrindDhat)),
            Collector::Malloc => list.push(Box::new(Malloc)),
            Collector::Criterion => list.push(Box::new(Criterion)),
            Collector::Gobench => list.push(Box::new(GoBenchLine)),
        }
    }
    list
}

/// Runs workloads round by round: the first run of each, then the second
/// of each, and so on (one workload runs alone). A `gobench` workload's
/// benchmarks run this way, so the runs of one benchmark lie seconds
/// apart: a benchmark whose inputs follow the clock (google/btree's tests
/// seed math/rand with `time.Now().Unix()`) otherwise repeats one input in
/// every run within a second, and a check's runs and the baseline's differ
/// by the second they started in, not by the code. Slow drifts of the
/// machine fall on every benchmark alike, too.
/// Each workload builds and writes its runs' files in its own directory.
/// A parity rule's pair runs this way too.
fn run_round_robin<'w>(
    launcher: &Path,
    list: impl IntoIterator<Item = (&'w Workload, PathBuf)>,
    builds: &mut Builds,
    log: &mut dyn Write,
) -> Result<Vec<WorkloadResults>, RunError> {
    let list: Vec<_> = list.into_iter().collect();
    if let Some((_, dir)) = list.first() {
        builds::build_missing(builds, launcher, list.iter().map(|(w, _)| *w), dir, log)?;
    }
    let mut lanes = Vec::new();
    for (w, dir) in list {
        let results = prepare(launcher, w, &dir, builds, log)?;
        lanes.push(Lane {
            workload: w,
            active: results.build_failure.is_none(),
            results,
            scratch: dir,
        });
    }
    run_rounds(launcher, &mut lanes, || false, log)?;
    Ok(lanes.into_iter().map(|l| l.results).collect())
}

/// One workload as it runs in one tree, and the results its runs add to.
/// Relative mode measures two lanes of one workload: base and head.
struct Lane<'a> {
    /// The definition as it runs in this tree.
    workload: &'a Workload,
    /// The results so far: the build's, then every run's.
    results: WorkloadResults,
    /// Where this lane's runs write their files.
    scratch: PathBuf,
    /// Whether this lane's runs are due (not when they came from a cache).
    active: bool,
}

/// One run of the schedule: its index among the workload's runs, whether
/// it is a warm-up, and its phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    index: u32,
    warmup: bool,
    phase: Option<Phase>,
}

/// A workload's runs in order: the warm-ups (in the first phase), then
/// each phase's measured runs, the footprint phase's first.
fn schedule(w: &Workload) -> Vec<Step> {
    let phases: Vec<(Option<Phase>, u32)> = if w.phases.is_empty() {
        vec![(None, w.repetitions)]
    } else {
        w.phases
            .iter()
            .map(|&p| {
                let reps = match p {
                    Phase::Footprint => w.footprint_repetitions,
                    Phase::Behaviour => w.repetitions,
                };
                (Some(p), reps)
            })
            .collect()
    };
    let mut steps = Vec::new();
    let first = phases.first().and_then(|(p, _)| *p);
    for _ in 0..w.warmup {
        steps.push((true, first));
    }
    for (phase, reps) in phases {
        for _ in 0..reps {
            steps.push((false, phase));
        }
    }
    steps
        .into_iter()
        .zip(0..)
        .map(|((warmup, phase), index)| Step {
            index,
            warmup,
            phase,
        })
        .collect()
}

/// The run loop: one round per step of the first lane's [`schedule`]; in
/// each round every active lane runs once, in order, or in reverse order
/// when `reversed()` says so (it is asked once per round). Lanes share the
/// first lane's schedule and collectors: they are one workload measured in
/// different trees.
fn run_rounds(
    launcher: &Path,
    lanes: &mut [Lane<'_>],
    mut reversed: impl FnMut() -> bool,
    log: &mut dyn Write,
) -> Result<(), RunError> {
    // Each lane its own schedule and collectors: the lanes of relative
    // mode are one workload (equal schedules), a parity pair two.
    let collectors: Vec<Vec<Box<dyn Collect>>> =
        lanes.iter().map(|l| collectors(l.workload)).collect();
    let schedules: Vec<Vec<Step>> = lanes.iter().map(|l| schedule(l.workload)).collect();
    let rounds = schedules.iter().map(Vec::len).max().unwrap_or(0);
    // Each lane's source tree (its own checkout), and the sites of each
    // of its profiled runs.
    let trees: Vec<SourceTree> = lanes
        .iter()
        .map(|l| SourceTree::scan(&l.workload.dir))
        .collect();
    let mut profiles: Vec<(&'static str, Vec<RunSites>)> = vec![("", Vec::new()); lanes.len()];
    for round in 0..rounds {
        let reverse = reversed();
        for k in 0..lanes.len() {
            let i = if reverse { lanes.len() - 1 - k } else { k };
            let lane = &mut lanes[i];
            let Some(&step) = schedules[i].get(round) else {
                continue;
            };
            if lane.active {
                let of = schedules[i].len();
                let at = Position { step, of };
                let sites = run_once(
                    launcher,
                    lane.workload,
                    &collectors[i],
                    &mut lane.results,
                    at,
                    (&lane.scratch, &trees[i]),
                    log,
                )?;
                if let Some((source, sites)) = sites {
                    profiles[i].0 = source;
                    profiles[i].1.push(sites);
                }
                stop_if_first_run_failed(lane, of, log);
            }
        }
    }
    for (lane, (source, runs)) in lanes.iter_mut().zip(profiles) {
        if !runs.is_empty() {
            lane.results.sites = Some(Sites::of_runs(source, &runs));
        }
    }
    Ok(())
}

/// Whether a run records a heap profile: a measured run of the footprint
/// phase, or of a workload that has no footprint phase, when the workload
/// profiles.
fn profiled(w: &Workload, step: Step) -> bool {
    w.profile
        && !step.warmup
        && match step.phase {
            Some(p) => p == Phase::Footprint || !w.phases.contains(&Phase::Footprint),
            None => true,
        }
}

/// Fail fast: a workload whose first run failed (it could not be
/// started, crashed, timed out or its collectors found nothing) runs no
/// more. The same command would fail the same way every time, and the
/// gate fails on a failed run anyway; the reason is in the first run's
/// record and stderr tail.
fn stop_if_first_run_failed(lane: &mut Lane<'_>, of: usize, log: &mut dyn Write) {
    let [first] = lane.results.runs.as_slice() else {
        return;
    };
    if first.status.is_failure() {
        lane.active = false;
        let _ = writeln!(
            log,
            "memgate: error: {}: the first run {}; skipping the other {} runs",
            lane.results.name,
            first.status,
            of - 1
        );
    }
}

/// Where a run stands in its workload's schedule.
#[derive(Debug, Clone, Copy)]
struct Position {
    step: Step,
    /// Runs in the schedule.
    of: usize,
}

/// A workload's results before its build and runs.
fn empty_results(w: &Workload) -> WorkloadResults {
    WorkloadResults {
        name: w.name.clone(),
        lang: w.lang,
        environment: 0,
        command: w.run.clone(),
        tags: w.inferred_tags(),
        binary_sha256: None,
        iterations: w.benchmark.map(|b| b.iterations),
        build_failure: None,
        runs: Vec::new(),
        metrics: BTreeMap::new(),
        sites: None,
    }
}

/// A workload's build (run now unless `builds` ran it already) and the
/// hash of its binary: the results to which its runs are added, with
/// `build_failure` set when the build failed.
fn prepare(
    launcher: &Path,
    w: &Workload,
    scratch: &Path,
    builds: &mut Builds,
    log: &mut dyn Write,
) -> Result<WorkloadResults, RunError> {
    let mut out = empty_results(w);
    builds::build_missing(builds, launcher, [w], scratch, log)?;
    if let Some(built) = builds.get(w) {
        let status = run_status(&built.report.end, w.build_timeout)?;
        if status.is_failure() {
            let failure = Failure {
                reason: format!("build {status}"),
                stderr_tail: failure_tail(built),
            };
            let _ = writeln!(
                log,
                "memgate: error: build of {} failed: {}\n{}",
                w.name,
                status,
                indent(&failure.stderr_tail)
            );
            out.build_failure = Some(failure);
            return Ok(out);
        }
    }
    if let Some(binary) = &w.binary {
        match sha256_file(binary) {
            Ok(hash) => out.binary_sha256 = Some(hash),
            Err(e) => {
                let reason = format!(
                    "binary {} named in the config cannot be read after the build: {e}",
                    binary.display()
                );
                let _ = writeln!(log, "memgate: error: {}: {reason}", w.name);
                out.build_failure = Some(Failure {
                    reason,
                    stderr_tail: String::new(),
                });
                return Ok(out);
            }
        }
    }
    Ok(out)
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
