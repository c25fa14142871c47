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

mod escapees;
mod gobench;
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

use crate::attribution::{Site, Sites, SourceTree};
use crate::collect::launch_report::End;
use crate::collect::{
    Collect, Collected, RunArtifacts, RunFiles, RunSetup, collect_all,
    dhat::{Dhat, ValgrindDhat},
    gctrace::{self, Gctrace},
    gobench::GoBenchLine,
    probe::Probe,
    rusage::Rusage,
};
use crate::config::{Collector, Config, ConfigError, Workload};
use crate::fingerprint::Environment;
use crate::gate::MEASURED_SPREAD_RUNS;
use crate::lang::Lang;
use crate::phase::Phase;
use crate::results::{Failure, Results, Run, RunStatus, Series, Shard, Timeline, WorkloadResults};
use spawn::{LaunchRequest, Launched};

/// Lines of stderr kept for a failed build or run.
pub const STDERR_TAIL_LINES: usize = 20;

/// What a command line selects from the config's workloads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Workload names; empty selects every workload.
    pub workloads: Vec<String>,
    /// Measured repetitions, overriding every workload's (in each phase).
    pub repetitions: Option<u32>,
    /// Warm-up runs, overriding every workload's.
    pub warmup: Option<u32>,
    /// Every N-th selected workload from the K-th.
    pub shard: Option<Shard>,
    /// The results are to become a baseline (or the base of relative
    /// mode): the phase that gives the memory figures is measured at least
    /// [`MEASURED_SPREAD_RUNS`] times (unless `repetitions` says
    /// otherwise), so the gate can read each metric's spread from it.
    pub for_baseline: bool,
}

impl Selection {
    /// The measured runs of `w` (all phases but the footprint, and the
    /// footprint's): `repetitions` when given; for a baseline, at least
    /// [`MEASURED_SPREAD_RUNS`] in the phase that gives the memory figures
    /// (the footprint, else the only one); else the config's.
    fn runs(&self, w: &Workload) -> (u32, u32) {
        let spread = MEASURED_SPREAD_RUNS as u32;
        match self.repetitions {
            Some(n) => (n, n),
            None if self.for_baseline && w.phases.contains(&Phase::Footprint) => {
                (w.repetitions, w.footprint_repetitions.max(spread))
            }
            None if self.for_baseline => (w.repetitions.max(spread), w.footprint_repetitions),
            None => (w.repetitions, w.footprint_repetitions),
        }
    }
}

/// Why a run plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A selected workload the config does not have.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// memgate's own executable, the launcher, cannot be found.
    #[error(transparent)]
    Launcher(RunError),
}

/// What to run, fully resolved: made once from the config and the
/// command line, then passed down unchanged.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// The workloads, settings resolved, in config order.
    pub workloads: Vec<Workload>,
    /// The shard this invocation covers, recorded in the results.
    pub shard: Option<Shard>,
    /// The memgate executable that serves as launcher.
    pub launcher: PathBuf,
    /// The directory whose git state goes into the fingerprint.
    pub repo_dir: PathBuf,
    /// Pairs of workloads run interleaved, round by round (the reference
    /// and candidate of each parity rule).
    pub pairs: Vec<(String, String)>,
    /// The iteration counts a check against a stored baseline runs Go
    /// benchmarks at: the baseline's (empty for `run`).
    pub pins: Pins,
}

impl TryFrom<(&Config, &Selection)> for RunPlan {
    type Error = PlanError;

    /// The selected workloads in config order, with the overrides applied,
    /// the shard taken, memgate itself as the launcher, and the config's
    /// directory as the repository.
    fn try_from((config, selection): (&Config, &Selection)) -> Result<RunPlan, PlanError> {
        let workloads = config
            .select(&selection.workloads)?
            .into_iter()
            .enumerate()
            .filter(|(i, _)| selection.shard.is_none_or(|s| s.contains(*i)))
            .map(|(_, w)| {
                let (repetitions, footprint_repetitions) = selection.runs(w);
                Workload {
                    repetitions,
                    footprint_repetitions,
                    warmup: selection.warmup.unwrap_or(w.warmup),
                    ..w.clone()
                }
            })
            .collect();
        let launcher = std::env::current_exe().map_err(|e| {
            PlanError::Launcher(RunError::Launcher {
                launcher: PathBuf::from("memgate"),
                problem: LauncherProblem::NotFound(e),
            })
        })?;
        Ok(RunPlan {
            workloads,
            shard: selection.shard,
            launcher,
            repo_dir: config.dir.clone(),
            pairs: config
                .policy
                .parity
                .iter()
                .map(|p| (p.reference.clone(), p.candidate.clone()))
                .collect(),
            pins: Pins::new(),
        })
    }
}

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
    // Each slot holds a configured workload's results (a gobench
    // workload's: its benchmarks'), filled in config order or, for a pair,
    // both at once.
    let mut slots: Vec<Option<Vec<WorkloadResults>>> = vec![None; plan.workloads.len()];
    for (n, w) in plan.workloads.iter().enumerate() {
        if slots[n].is_some() {
            continue;
        }
        if let Some(m) = partner(plan, n).filter(|&m| slots[m].is_none()) {
            let mut pair = run_pair(plan, [n, m], scratch.path(), log)?.into_iter();
            slots[n] = Some(pair.next().into_iter().collect());
            slots[m] = Some(pair.collect());
            continue;
        }
        let dir = scratch_subdir(scratch.path(), &n.to_string())?;
        let mut list_results = Vec::new();
        match gobench::expand(&plan.launcher, w, &plan.pins, &dir, log)? {
            Ok(list) => {
                let dirs = (0..list.len())
                    .map(|k| scratch_subdir(scratch.path(), &format!("{n}-{k}")))
                    .collect::<Result<Vec<_>, _>>()?;
                list_results = run_round_robin(&plan.launcher, list.iter().zip(dirs), log)?;
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
    run_round_robin(&plan.launcher, [a, b].into_iter().zip(dirs), log)
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
    log: &mut dyn Write,
) -> Result<Vec<WorkloadResults>, RunError> {
    let mut lanes = Vec::new();
    for (w, dir) in list {
        let results = prepare(launcher, w, &dir, log)?;
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
    let mut profiles: Vec<(&'static str, Vec<Vec<Site>>)> = vec![("", Vec::new()); lanes.len()];
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

/// Builds a workload (and hashes its binary): the results to which its
/// runs are added, with `build_failure` set when the build failed.
fn prepare(
    launcher: &Path,
    w: &Workload,
    scratch: &Path,
    log: &mut dyn Write,
) -> Result<WorkloadResults, RunError> {
    let mut out = empty_results(w);
    if let Some(build) = &w.build {
        let _ = writeln!(
            log,
            "memgate: building {}: {}",
            w.name,
            shlex::try_join(build.iter().map(String::as_str)).unwrap_or_default()
        );
        let req = LaunchRequest {
            argv: build,
            dir: &w.dir,
            env: &w.env,
            timeout: w.build_timeout,
            grace: w.kill_grace,
            interval: std::time::Duration::ZERO,
        };
        let built = spawn::launch(launcher, &req, scratch, "build")?;
        let status = run_status(&built.report.end, w.build_timeout)?;
        if status.is_failure() {
            let failure = Failure {
                reason: format!("build {status}"),
                stderr_tail: failure_tail(&built),
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

/// Runs a workload once, as `at` says (a warm-up, or a measured run of a
/// phase), and adds the run and the samples its phase keeps to `out`;
/// returns the sites of its heap profile, when it recorded one.
fn run_once(
    launcher: &Path,
    w: &Workload,
    collectors: &[Box<dyn Collect>],
    out: &mut WorkloadResults,
    at: Position,
    (scratch, tree): (&Path, &SourceTree),
    log: &mut dyn Write,
) -> Result<Option<(&'static str, Vec<Site>)>, RunError> {
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
    log_run(w, &run, at.of, &launched, log);
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
/// what it wrote to stderr when it did not, and the collectors' warnings
/// and notes.
fn log_run(w: &Workload, run: &Run, of: usize, launched: &Launched, log: &mut dyn Write) {
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
    for note in &run.notes {
        let _ = writeln!(log, "memgate: note: {}: {note}", w.name);
    }
}

/// Maps the launcher's view of an ending to the results' view; an
/// interrupted launch stops the whole run.
fn run_status(end: &End, timeout: std::time::Duration) -> Result<RunStatus, RunError> {
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
fn failure_tail(l: &Launched) -> String {
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

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
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
