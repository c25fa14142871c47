//! Collectors turn what one run left behind (the launcher's report, the
//! workload's stdout and stderr, files it wrote) into metric samples.
//!
//! One module per source; each implements [`Collect`]. Collectors only
//! parse: spawning and timing are the runner's, judging is the gate's.

pub mod criterion;
pub mod dhat;
pub mod gctrace;
pub mod gobench;
pub mod import;
pub mod launch_report;
pub mod malloc;
pub mod pprof;
pub mod probe;
pub mod rusage;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::attribution::{RunSites, SourceTree};
use crate::metrics::MetricDef;
use crate::results::Value;
use launch_report::LaunchReport;

/// The step between the values `source` reports in `unit`, when coarser
/// than the unit: the Go runtime's GC trace prints heap sizes in whole
/// MiB (`heap0>>20` in `gcMarkTermination`, src/runtime/mgc.go).
pub fn resolution(source: &str, unit: crate::metrics::Unit) -> Option<f64> {
    (source == "gctrace" && unit == crate::metrics::Unit::Bytes).then_some(gctrace::MIB)
}

/// Everything a finished, successful run left for the collectors.
#[derive(Debug, Clone, Copy)]
pub struct RunArtifacts<'a> {
    /// The launcher's report: rusage, wall time, RSS timeline.
    pub report: &'a LaunchReport,
    /// The workload's captured stdout.
    pub stdout: &'a Path,
    /// The workload's captured stderr.
    pub stderr: &'a Path,
    /// The files this run was told to write.
    pub files: &'a RunFiles,
    /// The workload's source files: what a profile's frames are folded to.
    pub tree: &'a SourceTree,
    /// The workload's command, as configured (before a collector wrapped it).
    pub command: &'a [String],
    /// The directory it ran in.
    pub dir: &'a Path,
}

/// Per-run files a workload is told to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFiles {
    /// MEMGATE_PROBE_FILE.
    pub probe: PathBuf,
    /// MEMGATE_DHAT_FILE, or valgrind's --dhat-out-file.
    pub dhat: PathBuf,
    /// MEMGATE_HEAP_PROFILE (the Go probe), or `go test -memprofile`.
    pub heap_profile: PathBuf,
    /// MEMGATE_MALLOC_FILE, the malloc counter's lines.
    pub malloc: PathBuf,
    /// Where the malloc counter's library is written, once per directory.
    pub malloc_library: PathBuf,
    /// CRITERION_HOME, where a criterion benchmark writes its estimate.
    pub criterion_home: PathBuf,
}

impl RunFiles {
    /// The files of run `index` in `scratch`.
    pub fn in_dir(scratch: &Path, index: u32) -> RunFiles {
        RunFiles {
            probe: scratch.join(format!("run{index}.probe.json")),
            dhat: scratch.join(format!("run{index}.dhat.json")),
            heap_profile: scratch.join(format!("run{index}.heap.pb.gz")),
            malloc: scratch.join(format!("run{index}.malloc")),
            malloc_library: scratch.join("libmemgate_malloc.so"),
            criterion_home: scratch.join(format!("run{index}.criterion")),
        }
    }
}

/// What a collector may change before a run starts.
#[derive(Debug)]
pub struct RunSetup<'a> {
    /// Variables added to the run's environment.
    pub env: &'a mut BTreeMap<String, String>,
    /// The command; a collector may wrap it (valgrind).
    pub argv: &'a mut Vec<String>,
    /// The files this run will be told to write.
    pub files: &'a RunFiles,
    /// Whether this run records a heap profile (a footprint run of a
    /// workload with `profile: true`).
    pub profile: bool,
}

/// The `runtime.MemProfileRate` of a profiled Go run: one sample per
/// 16 KiB allocated on average. Each sample records a stack, so the rate
/// is what profiling costs: on go-retain (138 MB allocated) a footprint
/// run took 200 ms against 177 ms without (at 4 KiB: 241 ms; at 1, every
/// allocation: 920 ms); a site that allocates 10 MiB is estimated within
/// about 4% (one sample per 16 KiB: 640 samples).
pub const GO_MEMPROFILE_RATE: u32 = 16 * 1024;

/// What a collector read from one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collected {
    /// The samples.
    pub samples: Vec<Sample>,
    /// Things the report should say, e.g. unreadable lines.
    pub warnings: Vec<String>,
    /// Things worth knowing that are not problems (a record cut off by exit).
    pub notes: Vec<String>,
    /// The allocation sites of the run's heap profile, and the profile's
    /// kind (`pprof`, `dhat`).
    pub sites: Option<(&'static str, RunSites)>,
}

/// One value of one metric from one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Which metric.
    pub metric: &'static MetricDef,
    /// The collector that read it, e.g. `wait4`.
    pub source: &'static str,
    /// The value, in the metric's unit.
    pub value: Value,
}

/// A run's output that a collector could not read.
#[derive(Debug, thiserror::Error)]
#[error("{collector}: {message}")]
pub struct CollectError {
    /// The collector's name.
    pub collector: &'static str,
    /// What was wrong, naming the file and line where there is one.
    pub message: String,
}

/// A source of metric samples.
pub trait Collect {
    /// The collector's name, as written in `collect:`.
    fn name(&self) -> &'static str;
    /// Adjusts the run before it starts: environment (GODEBUG,
    /// MEMGATE_PROBE_FILE) or command (valgrind).
    fn setup(&self, _run: &mut RunSetup<'_>) {}
    /// Reads one run's samples.
    fn collect(&self, run: &RunArtifacts<'_>) -> Result<Collected, CollectError>;
}

/// How much a source is trusted for a metric, when two collectors give it.
/// gctrace has each cycle's pause to two significant digits, while the
/// runtime's `/sched/pauses/total/gc:seconds` histogram (Go >= 1.22;
/// `/gc/pauses:seconds` before) has buckets about 25% wide: gctrace wins
/// for pauses. For everything else the probe
/// reads exact runtime/metrics values, while gctrace prints MiB truncated
/// and whole percents: the probe wins.
fn rank(metric: &str, source: &str) -> u8 {
    match (source, metric.starts_with("gc.pause.")) {
        ("gctrace", true) => 3,
        ("probe", false) => 3,
        ("probe", true) | ("gctrace", false) => 2,
        _ => 1,
    }
}

/// Runs every collector on one run; a metric given twice keeps the value
/// of the better-ranked source.
pub fn collect_all(
    collectors: &[Box<dyn Collect>],
    run: &RunArtifacts<'_>,
) -> Result<Collected, CollectError> {
    let mut all = Collected::default();
    for c in collectors {
        let got = c.collect(run)?;
        for s in got.samples {
            match all
                .samples
                .iter_mut()
                .find(|x| x.metric.name == s.metric.name)
            {
                Some(x) if rank(s.metric.name, s.source) > rank(x.metric.name, x.source) => *x = s,
                Some(_) => {}
                None => all.samples.push(s),
            }
        }
        all.warnings.extend(got.warnings);
        all.notes.extend(got.notes);
        if all.sites.is_none() {
            all.sites = got.sites;
        }
    }
    Ok(all)
}
