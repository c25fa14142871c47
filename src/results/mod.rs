//! The results file: every sample of every metric, per workload, with the
//! runs that produced them and the environment they ran in.
//!
//! `results.json` is versioned (`"schema": "memgate/results/v1"`) and read
//! back with `deny_unknown_fields`, so a file from another version is refused
//! with a message instead of being half understood. This module also merges
//! the results of a sharded CI matrix. Measuring is the runner's job;
//! judging the samples is the gate's.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fingerprint::Environment;
use crate::lang::Lang;
use crate::metrics::{Better, MetricDef, Stability, Unit};
use crate::phase::Phase;

mod value;
pub use value::{Value, storable};

/// The schema tag written into, and required of, every results file.
pub const RESULTS_SCHEMA: &str = "memgate/results/v1";

/// One invocation's measurements (or several, merged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Results {
    /// Always [`RESULTS_SCHEMA`].
    pub schema: String,
    /// The memgate version that wrote the file.
    pub memgate_version: String,
    /// When the file was written (RFC 3339, UTC).
    pub created_at: String,
    /// The shards this file covers; empty when every workload ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<Shard>,
    /// The machines and toolchains the workloads ran on.
    pub environments: Vec<Environment>,
    /// Per-workload results, in config order.
    pub workloads: Vec<WorkloadResults>,
}

/// `--shard K/N`: this invocation ran every N-th workload starting at the K-th.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// 1-based shard index.
    pub index: u32,
    /// Number of shards.
    pub total: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a shard; expected K/N with 1 <= K <= N, e.g. `2/4`");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, total): (u32, u32) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > total {
            return Err(bad());
        }
        Ok(Shard { index, total })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

impl Shard {
    /// Whether the workload at 0-based `position` in the config belongs to this shard.
    pub fn contains(&self, position: usize) -> bool {
        position % self.total as usize == (self.index - 1) as usize
    }
}

/// Everything measured for one workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct WorkloadResults {
    /// The workload's name from the config.
    pub name: String,
    /// Its language.
    pub lang: Lang,
    /// Index into [`Results::environments`].
    pub environment: usize,
    /// The command that was run, as arguments.
    pub command: Vec<String>,
    /// Inferred tags (profile, allocator, GOGC, ...) overridden by user tags.
    pub tags: BTreeMap<String, String>,
    /// sha256 of the binary named by `binary:` in the config, after the build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_sha256: Option<String>,
    /// A Go benchmark's iteration count, the same in every run. Per-op and
    /// per-process figures depend on it (setup is amortised over it, and
    /// the heap grows with it), so the gate never compares series measured
    /// at different counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u64>,
    /// Set when the build failed; then there are no runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_failure: Option<Failure>,
    /// Every run, warm-up and failed ones included, in order.
    pub runs: Vec<Run>,
    /// Samples per metric: one per successful measured run, in run order.
    pub metrics: BTreeMap<String, Series>,
    /// The allocation sites of the runs' heap profiles (the footprint runs
    /// of a Go workload, every run under DHAT), when any recorded one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sites: Option<crate::attribution::Sites>,
}

impl WorkloadResults {
    /// Whether the build or any run failed.
    pub fn has_failures(&self) -> bool {
        self.build_failure.is_some() || self.runs.iter().any(|r| r.status.is_failure())
    }
}

/// A failed build or run, as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Failure {
    /// What happened, in words.
    pub reason: String,
    /// The last lines the process wrote to stderr.
    pub stderr_tail: String,
}

/// One execution of a workload's run command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// 0-based position among this workload's runs (warm-ups first).
    pub index: u32,
    /// Warm-up runs are recorded but never sampled.
    pub warmup: bool,
    /// The phase the run measured (a Go workload's footprint or
    /// behaviour); absent for a workload measured one way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// How the run ended.
    pub status: RunStatus,
    /// Wall-clock seconds from spawn to reaping.
    pub wall_seconds: f64,
    /// The launcher's own peak resident memory, which bounds what it held
    /// when it spawned the workload: wait4's peak never reads below its
    /// RSS at the spawn (see runner::launch).
    pub rss_floor_bytes: u64,
    /// The highest VmHWM seen by the sampler; a lower bound of the real peak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_hwm_sampled_bytes: Option<u64>,
    /// The RSS timeline, when sampling was on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Timeline>,
    /// The last lines of stderr, kept for failed runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_tail: Option<String>,
    /// What the collectors noticed, e.g. unreadable gctrace lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// What the collectors noted that is not a problem, e.g. a gctrace
    /// record cut off by the program's exit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RunStatus {
    /// Exited with status 0.
    Ok,
    /// Exited with a non-zero status.
    Exited {
        /// The exit status.
        code: i32,
    },
    /// Killed by a signal it did not ask for.
    Signaled {
        /// The signal number.
        signal: i32,
    },
    /// Passed its timeout; its process group was ended.
    TimedOut {
        /// The timeout, in seconds.
        after_seconds: f64,
    },
    /// The command could not be started.
    SpawnFailed {
        /// Why, from the OS.
        message: String,
    },
    /// The run exited 0 but a collector could not read what it left.
    CollectFailed {
        /// The collector and what was wrong.
        message: String,
    },
}

impl RunStatus {
    /// Anything but a clean exit.
    pub fn is_failure(&self) -> bool {
        !self.is_ok()
    }

    /// A clean exit.
    pub fn is_ok(&self) -> bool {
        matches!(self, RunStatus::Ok)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunStatus::Ok => f.write_str("exited 0"),
            RunStatus::Exited { code } => write!(f, "exited with status {code}"),
            RunStatus::Signaled { signal } => {
                write!(f, "killed by signal {signal} ({})", signal_name(*signal))
            }
            RunStatus::TimedOut { after_seconds } => write!(f, "timed out after {after_seconds}s"),
            RunStatus::SpawnFailed { message } => write!(f, "could not be started: {message}"),
            RunStatus::CollectFailed { message } => {
                write!(f, "exited 0 but its output could not be read: {message}")
            }
        }
    }
}

/// A short name for common signals, for messages.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

/// RSS sampled from /proc while the run was alive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Timeline {
    /// The configured interval, in seconds.
    pub interval_seconds: f64,
    /// Microseconds since spawn, per sample.
    pub t_us: Vec<u64>,
    /// VmRSS in bytes, per sample.
    pub rss_bytes: Vec<u64>,
}

/// All samples of one metric for one workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Series {
    /// Unit of the samples.
    pub unit: Unit,
    /// Direction of improvement.
    pub better: Better,
    /// Whether the values travel between machines.
    pub stability: Stability,
    /// The collector that produced the samples, e.g. `wait4`.
    pub source: String,
    /// The phase whose runs gave the samples; absent for a workload
    /// measured one way. Series of different phases are never compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// The step between the values the source can report, when coarser
    /// than the unit (gctrace prints heap sizes in whole MiB): the gate
    /// never calls a change smaller than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<f64>,
    /// One value per successful measured run that reported the metric, in run order.
    pub samples: Vec<Value>,
}

impl Series {
    /// An empty series for a known metric of a program measured one way,
    /// without a concurrent collector.
    pub fn new(def: &MetricDef, source: &str) -> Series {
        Series::measured(def, source, None, false)
    }

    /// An empty series for a known metric measured in `phase`, with
    /// (`concurrent_gc`) or without a concurrent collector pacing the heap.
    pub fn measured(
        def: &MetricDef,
        source: &str,
        phase: Option<Phase>,
        concurrent_gc: bool,
    ) -> Series {
        Series {
            unit: def.unit,
            better: def.better,
            stability: def.stability_under(concurrent_gc),
            source: source.to_owned(),
            phase,
            resolution: crate::collect::resolution(source, def.unit),
            samples: Vec::new(),
        }
    }
}

/// A results file that could not be read or merged. Always names the file.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// Not readable.
    #[error("{}: cannot read the file: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not JSON, or not the results schema.
    #[error("{}{}: {field}: {message}", path.display(), line.map(|l| format!(":{l}:{}", column.unwrap_or(0))).unwrap_or_default())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error, when known.
        line: Option<usize>,
        /// 1-based column of the error, when known.
        column: Option<usize>,
        /// Field path of the error.
        field: String,
        /// What was wrong.
        message: String,
    },
    /// A different schema version.
    #[error("{}: schema `{found}` is not `{RESULTS_SCHEMA}`; re-run it with this memgate, or use the memgate that wrote it", path.display())]
    Schema {
        /// The file.
        path: PathBuf,
        /// The schema it declares.
        found: String,
    },
    /// Two inputs of a merge hold the same workload.
    #[error("{}: workload `{workload}` is also in {}; the inputs of a merge must not overlap", path.display(), other.display())]
    Overlap {
        /// The later file.
        path: PathBuf,
        /// The earlier file holding the same workload.
        other: PathBuf,
        /// The workload in both.
        workload: String,
    },
    /// Inputs of a merge measured different commits.
    #[error("{}: measured commit {found}, but {} measured {expected}; merge only results of one commit", path.display(), other.display())]
    MixedCommits {
        /// The later file.
        path: PathBuf,
        /// The first file.
        other: PathBuf,
        /// The first file's commit.
        expected: String,
        /// This file's commit.
        found: String,
    },
}

impl Results {
    /// Writes the results file atomically, its workloads serialized on
    /// every core (a Go module's thousand benchmarks are most of it).
    pub fn write(&mut self, path: &Path) -> Result<(), crate::atomic::WriteError> {
        let workloads = std::mem::take(&mut self.workloads);
        let written = crate::atomic::write_json_with(path, &*self, "workloads", &workloads);
        self.workloads = workloads;
        written
    }

    /// The iteration count of every Go benchmark that has one, by name.
    pub fn pins(&self) -> BTreeMap<String, u64> {
        self.workloads
            .iter()
            .filter_map(|w| Some((w.name.clone(), w.iterations?)))
            .collect()
    }

    /// A results value written now by this memgate.
    pub fn new(environments: Vec<Environment>, workloads: Vec<WorkloadResults>) -> Results {
        Results {
            schema: RESULTS_SCHEMA.to_owned(),
            memgate_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_at: crate::fingerprint::now_rfc3339(),
            shards: Vec::new(),
            environments,
            workloads,
        }
    }

    /// Reads and checks a results file.
    pub fn read(path: &Path) -> Result<Results, ResultsError> {
        let text =
            crate::input::read_to_string(path, crate::input::FILE_LIMIT).map_err(|source| {
                ResultsError::Read {
                    path: path.to_owned(),
                    source,
                }
            })?;
        Results::parse(path, &text)
    }

    /// Parses results text; `path` names the source in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Results, ResultsError> {
        let parse_error = |e: serde_json::Error, field: String| ResultsError::Parse {
            path: path.to_owned(),
            line: (e.line() > 0).then_some(e.line()),
            column: (e.column() > 0).then_some(e.column()),
            field,
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_owned(),
        };
        // Look at the schema tag first, so a file of another version gets the
        // version message rather than an unknown-field one.
        #[derive(Deserialize)]
        struct Tag {
            schema: Option<String>,
        }
        if !crate::input::is_json_object(text) {
            return Err(ResultsError::Parse {
                path: path.to_owned(),
                line: None,
                column: None,
                field: ".".into(),
                message: format!(
                    "not a JSON object; a results file is one, starting with \"schema\": \"{RESULTS_SCHEMA}\""
                ),
            });
        }
        let tag: Tag = serde_json::from_str(text).map_err(|e| parse_error(e, ".".into()))?;
        match tag.schema {
            Some(s) if s == RESULTS_SCHEMA => {}
            Some(found) => {
                return Err(ResultsError::Schema {
                    path: path.to_owned(),
                    found,
                });
            }
            None => {
                return Err(ResultsError::Parse {
                    path: path.to_owned(),
                    line: None,
                    column: None,
                    field: "schema".into(),
                    message: format!(
                        "missing; a results file starts with \"schema\": \"{RESULTS_SCHEMA}\""
                    ),
                });
            }
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let results: Results = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            parse_error(e.into_inner(), field)
        })?;
        results
            .check()
            .map_err(|(field, message)| ResultsError::Parse {
                path: path.to_owned(),
                line: None,
                column: None,
                field,
                message,
            })?;
        Ok(results)
    }

    /// Checks across fields that serde cannot: unique workload names,
    /// environment indices that exist, the unit and direction memgate
    /// defines for its own metrics, timelines that run forward with one
    /// RSS value per time. Returns the field and the problem.
    fn check(&self) -> Result<(), (String, String)> {
        let mut seen = std::collections::BTreeMap::new();
        for (i, w) in self.workloads.iter().enumerate() {
            let at = format!("workloads[{i}]");
            if let Some(first) = seen.insert(w.name.as_str(), i) {
                return Err((
                    format!("{at}.name"),
                    format!(
                        "workload `{}` appears twice (first as workloads[{first}]); one file holds each workload once",
                        w.name
                    ),
                ));
            }
            if w.environment >= self.environments.len() {
                return Err((
                    format!("{at}.environment"),
                    format!(
                        "{} is not an index of the {} environments",
                        w.environment,
                        self.environments.len()
                    ),
                ));
            }
            // memgate's own definitions win: a file cannot turn a metric it
            // defines around (`better: higher` on process.rss.peak) or
            // give it another unit.
            for (name, series) in &w.metrics {
                let Some(def) = crate::metrics::lookup(name) else {
                    continue;
                };
                let field = format!("{at}.metrics.{name}");
                if series.unit != def.unit {
                    return Err((
                        format!("{field}.unit"),
                        format!(
                            "`{}`, but memgate measures {name} in {}",
                            series.unit.as_str(),
                            def.unit.as_str()
                        ),
                    ));
                }
                if series.better != def.better {
                    return Err((
                        format!("{field}.better"),
                        format!(
                            "`{}`, but for {name} {} is better",
                            series.better.as_str(),
                            def.better.as_str()
                        ),
                    ));
                }
            }
            for (j, run) in w.runs.iter().enumerate() {
                let Some(t) = &run.timeline else { continue };
                let field = format!("{at}.runs[{j}].timeline");
                if t.t_us.len() != t.rss_bytes.len() {
                    return Err((field, "t_us and rss_bytes differ in length".into()));
                }
                if t.t_us.windows(2).any(|p| p[1] < p[0]) {
                    return Err((format!("{field}.t_us"), "times run backwards".into()));
                }
            }
        }
        Ok(())
    }

    /// These results with `newer`'s workloads in place of their namesakes
    /// and the others kept: how a run of some workloads updates a baseline
    /// of all. Environments are those the kept workloads use.
    pub fn updated_with(&self, newer: &Results) -> Results {
        let mut out = Results::new(Vec::new(), Vec::new());
        out.created_at = newer.created_at.clone();
        let fresh: Vec<&str> = newer.workloads.iter().map(|w| w.name.as_str()).collect();
        let kept = self
            .workloads
            .iter()
            .filter(|w| !fresh.contains(&w.name.as_str()))
            .map(|w| (self, w));
        for (from, w) in kept.chain(newer.workloads.iter().map(|w| (newer, w))) {
            let mut w = w.clone();
            if let Some(env) = from.environments.get(w.environment) {
                w.environment = find_or_push(&mut out.environments, |e| e == env, || env.clone());
            }
            out.workloads.push(w);
        }
        out
    }

    /// Whether any workload's build or run failed.
    pub fn has_failures(&self) -> bool {
        self.workloads.iter().any(WorkloadResults::has_failures)
    }
}

/// The index of the first item matching, after pushing `make()` when none does.
pub(crate) fn find_or_push<T>(
    items: &mut Vec<T>,
    matches: impl Fn(&T) -> bool,
    make: impl FnOnce() -> T,
) -> usize {
    match items.iter().position(matches) {
        Some(i) => i,
        None => {
            items.push(make());
            items.len() - 1
        }
    }
}

/// Joins results of a sharded matrix into one file. Refuses other schema
/// versions (at read time), overlapping workloads and different commits.
pub fn merge(
    first: (PathBuf, Results),
    rest: Vec<(PathBuf, Results)>,
) -> Result<Results, ResultsError> {
    let (first_path, mut merged) = first;
    let mut owner: BTreeMap<String, PathBuf> = merged
        .workloads
        .iter()
        .map(|w| (w.name.clone(), first_path.clone()))
        .collect();
    let first_commit = commit_of(&merged);
    for (path, part) in rest {
        if let (Some(expected), Some(found)) = (&first_commit, commit_of(&part))
            && *expected != found
        {
            return Err(ResultsError::MixedCommits {
                path,
                other: first_path,
                expected: expected.clone(),
                found,
            });
        }
        let mut env_map = Vec::with_capacity(part.environments.len());
        for env in part.environments {
            env_map.push(find_or_push(
                &mut merged.environments,
                |e| *e == env,
                || env.clone(),
            ));
        }
        for mut w in part.workloads {
            if let Some(other) = owner.get(&w.name) {
                return Err(ResultsError::Overlap {
                    path,
                    other: other.clone(),
                    workload: w.name,
                });
            }
            owner.insert(w.name.clone(), path.clone());
            w.environment = env_map.get(w.environment).copied().unwrap_or(0);
            merged.workloads.push(w);
        }
        merged.shards.extend(part.shards);
    }
    merged.shards.sort_by_key(|s| (s.total, s.index));
    merged.shards.dedup();
    merged.created_at = crate::fingerprint::now_rfc3339();
    Ok(merged)
}

fn commit_of(r: &Results) -> Option<String> {
    r.environments
        .iter()
        .find_map(|e| e.git.as_ref().map(|g| g.commit.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_pick_every_nth_from_the_kth() {
        let s: Shard = "2/4".parse().unwrap();
        let picked: Vec<usize> = (0..10).filter(|&i| s.contains(i)).collect();
        assert_eq!(picked, [1, 5, 9]);
        assert!("0/4".parse::<Shard>().is_err());
        assert!("5/4".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }

    #[test]
    fn values_keep_integers_integers() {
        let v: Vec<Value> = serde_json::from_str("[1, 2.5, 9007199254740991]").unwrap();
        assert_eq!(
            v,
            [Value::Int(1), Value::Float(2.5), Value::Int((1 << 53) - 1)]
        );
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            "[1,2.5,9007199254740991]"
        );
        assert!(serde_json::from_str::<Value>("-3").is_err());
        // 2^53 and above: sums of such samples are not exact, near f64::MAX
        // not finite.
        assert!(serde_json::from_str::<Value>("18446744073709551615").is_err());
        assert!(serde_json::from_str::<Value>("1.7e308").is_err());
    }

    #[test]
    fn another_schema_is_refused_by_name() {
        let e = Results::parse(
            Path::new("r.json"),
            r#"{"schema":"memgate/results/v9","x":1}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "r.json: schema `memgate/results/v9` is not `memgate/results/v1`; re-run it with this memgate, or use the memgate that wrote it"
        );
        let e = Results::parse(
            Path::new("r.json"),
            "{\n  \"schema\": \"memgate/results/v1\",\n  \"bogus\": 1\n}",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("r.json:3:"), "{e}");
        assert!(e.to_string().contains("unknown field `bogus`"), "{e}");
    }

    /// A real results file, edited: what the checks refuse, by field.
    #[test]
    fn edited_files_are_refused_naming_the_field() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(".memgate/baseline.json"),
        )
        .unwrap();
        assert!(Results::parse(Path::new("b.json"), &text).is_ok());
        let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let refuse = |doc: &serde_json::Value, want: &str| {
            let e = Results::parse(Path::new("b.json"), &doc.to_string()).unwrap_err();
            assert!(e.to_string().contains(want), "{e}");
        };
        let first = doc["workloads"][0].clone();
        let mut dup = doc.clone();
        dup["workloads"].as_array_mut().unwrap().push(first);
        refuse(&dup, "appears twice");
        let metric = doc["workloads"][0]["metrics"]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        doc["workloads"][0]["metrics"][&metric]["samples"][0] = serde_json::json!(-1.5);
        refuse(&doc, "negative sample -1.5");
        doc["workloads"][0]["metrics"][&metric]["samples"][0] = serde_json::json!(0.5);
        let mut turned = doc.clone();
        turned["workloads"][0]["metrics"]["process.rss.peak"]["better"] =
            serde_json::json!("higher");
        refuse(&turned, "but for process.rss.peak lower is better");
        let mut unit = doc.clone();
        unit["workloads"][0]["metrics"]["process.rss.peak"]["unit"] = serde_json::json!("seconds");
        refuse(&unit, "but memgate measures process.rss.peak in bytes");
        doc["workloads"][0]["metrics"][&metric]["samples"][0] = serde_json::json!(1.7e308);
        refuse(&doc, "is too large");
        doc["workloads"][0]["metrics"][&metric]["samples"][0] = serde_json::json!(1);
        doc["workloads"][0]["environment"] = serde_json::json!(7);
        refuse(&doc, "workloads[0].environment: 7 is not an index");
    }

    #[test]
    fn a_partial_run_updates_a_baseline_and_keeps_the_rest() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(".memgate/baseline.json"),
        )
        .unwrap();
        let all = Results::parse(Path::new("b.json"), &text).unwrap();
        let mut one = all.clone();
        one.workloads.retain(|w| w.name == "go-churn");
        one.workloads[0].command = vec!["changed".into()];
        let updated = all.updated_with(&one);
        let names = |r: &Results| {
            let mut n: Vec<String> = r.workloads.iter().map(|w| w.name.clone()).collect();
            n.sort();
            n
        };
        assert_eq!(names(&updated), names(&all));
        let churn = updated
            .workloads
            .iter()
            .find(|w| w.name == "go-churn")
            .unwrap();
        assert_eq!(churn.command, ["changed"]);
        assert!(updated.check().is_ok());
    }
}
