//! The builds of a plan, run at once before any measured run: every
//! distinct build command (the same argv in the same directory with the
//! same environment is built once, however many workloads name it) starts
//! as soon as a lane is free, in as many lanes as the machine has cores.
//! A build that spends most of its time in one process (jemalloc's
//! `configure` script, run by `tikv-jemalloc-sys`) leaves the other core to
//! the rest; no run is measured until every build has ended, so the
//! concurrency costs no figure its quiet.
//!
//! Each build's time stays visible in the log. The plan's workloads build
//! first, all at once; the builds found later (a `gobench` workload's test
//! binaries, relative mode's two trees) build at once in their own turn.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use super::spawn::{self, LaunchRequest, Launched};
use super::{RunError, scratch_subdir};
use crate::config::Workload;

/// What makes two workloads' builds one build.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct BuildKey {
    dir: PathBuf,
    argv: Vec<String>,
    env: BTreeMap<String, String>,
}

impl BuildKey {
    /// The build of `w`, when it has one.
    pub(super) fn of(w: &Workload) -> Option<BuildKey> {
        w.build.as_ref().map(|argv| BuildKey {
            dir: w.dir.clone(),
            argv: argv.clone(),
            env: w.env.clone(),
        })
    }
}

/// The builds already run, by what they built.
#[derive(Debug, Default)]
pub(super) struct Builds {
    done: HashMap<BuildKey, Launched>,
    /// Builds started so far: each writes its output in a directory of
    /// its own, `build<n>`.
    started: usize,
}

impl Builds {
    /// The finished build of `w`, when it has one and it was run.
    pub(super) fn get(&self, w: &Workload) -> Option<&Launched> {
        BuildKey::of(w).and_then(|k| self.done.get(&k))
    }
}

/// One distinct build: the first workload that names it (its timeout and
/// grace apply) and every workload's name, for the log.
struct Job<'w> {
    key: BuildKey,
    first: &'w Workload,
    names: Vec<&'w str>,
}

/// What a lane tells the thread that writes the log.
enum Event {
    Started(usize),
    Finished(usize, Box<Result<Launched, RunError>>),
}

/// Runs the distinct builds of `workloads` not yet in `builds` at once,
/// each with its output in a directory of `scratch`, logs when each starts
/// and how long it took, and adds them to `builds`. A build that fails is
/// kept like one that passed (its workloads record the failure); an
/// interrupt or a launcher that cannot start ends every lane and is the
/// error.
pub(super) fn build_missing<'w>(
    builds: &mut Builds,
    launcher: &Path,
    workloads: impl IntoIterator<Item = &'w Workload>,
    scratch: &Path,
    log: &mut dyn Write,
) -> Result<(), RunError> {
    let mut jobs: Vec<Job<'w>> = Vec::new();
    for w in workloads {
        let Some(key) = BuildKey::of(w).filter(|k| !builds.done.contains_key(k)) else {
            continue;
        };
        match jobs.iter_mut().find(|j| j.key == key) {
            Some(job) => job.names.push(&w.name),
            None => jobs.push(Job {
                key,
                first: w,
                names: vec![&w.name],
            }),
        }
    }
    // The first build of each tool in each directory first, then the
    // second of each, and so on: a directory's first build is where a cold
    // cache is filled (Go's runtime, a crate's dependencies), and one slow
    // build (jemalloc's) starts early instead of after every build of the
    // directories listed before it.
    let mut seen: HashMap<(&Path, &str), usize> = HashMap::new();
    let turns: Vec<usize> = jobs
        .iter()
        .map(|j| {
            let tool = j.key.argv.first().map_or("", String::as_str);
            let turn = seen.entry((&j.key.dir, tool)).or_default();
            *turn += 1;
            *turn
        })
        .collect();
    let mut ordered: Vec<(usize, Job<'w>)> = turns.into_iter().zip(jobs).collect();
    ordered.sort_by_key(|(turn, _)| *turn);
    let jobs: Vec<Job<'w>> = ordered.into_iter().map(|(_, job)| job).collect();
    let dirs = (builds.started..builds.started + jobs.len())
        .map(|n| scratch_subdir(scratch, &format!("build{n}")))
        .collect::<Result<Vec<_>, _>>()?;
    builds.started += jobs.len();
    let lanes = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len());
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    let mut first_error = None;
    std::thread::scope(|s| {
        for _ in 0..lanes {
            let tx = tx.clone();
            let (jobs, dirs, next, failed) = (&jobs, &dirs, &next, &failed);
            s.spawn(move || {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    if k >= jobs.len() || failed.load(Ordering::SeqCst) {
                        break;
                    }
                    let _ = tx.send(Event::Started(k));
                    let w = jobs[k].first;
                    let req = LaunchRequest {
                        argv: &jobs[k].key.argv,
                        dir: &w.dir,
                        env: &w.env,
                        timeout: w.build_timeout,
                        grace: w.kill_grace,
                        interval: std::time::Duration::ZERO,
                    };
                    let built = spawn::launch(launcher, &req, &dirs[k], "build");
                    if built.is_err() {
                        failed.store(true, Ordering::SeqCst);
                    }
                    let _ = tx.send(Event::Finished(k, Box::new(built)));
                }
            });
        }
        drop(tx);
        for event in rx {
            match event {
                Event::Started(k) => {
                    let _ = writeln!(
                        log,
                        "memgate: building {}: {}",
                        jobs[k].names.join(", "),
                        shlex::try_join(jobs[k].key.argv.iter().map(String::as_str))
                            .unwrap_or_default()
                    );
                }
                Event::Finished(k, built) => match *built {
                    Ok(built) => {
                        // What each build costs stays visible: on a fresh
                        // machine one (jemalloc's, from source) can take longer
                        // than every run.
                        let _ = writeln!(
                            log,
                            "memgate: {}: build took {:.1} s",
                            jobs[k].names.join(", "),
                            built.report.wall_ns as f64 / 1e9
                        );
                        builds.done.insert(jobs[k].key.clone(), built);
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                },
            }
        }
    });
    first_error.map_or(Ok(()), Err)
}
