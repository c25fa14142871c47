//! The `memgate.yaml` schema: parsing, validation and per-workload resolution.
//!
//! Loading happens in three passes: `raw` reads the file as written
//! (every error names the line, column and field path, in `error`'s
//! terms, with the closest valid key suggested), `validate` checks across
//! fields (version, duplicate names, ranges), `resolve` resolves each
//! workload (built-in defaults, then `defaults:`, then its own keys) and
//! gathers the gate policy. Running, measuring and gating are left to
//! later stages.

mod error;
mod raw;
mod resolve;
mod validate;
pub use validate::name_problem;

pub use error::{ConfigError, ConfigErrorKind};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::lang::Lang;
use crate::phase::Phase;
use crate::policy::GatePolicy;
use error::{closest, quoted_list};

/// The only config version this memgate reads.
pub const CONFIG_VERSION: u32 = 1;

/// The fewest measured repetitions a workload gets by default; more when
/// the tests of the config need them (see [`default_repetitions`]).
pub const MIN_DEFAULT_REPETITIONS: u32 = 5;
/// Built-in default: measured runs of a Go workload's footprint phase. The
/// collector is deterministic there: three runs a side let the gate see
/// both sides' spread.
pub const DEFAULT_FOOTPRINT_REPETITIONS: u32 = 3;
/// Built-in default: unmeasured warm-up runs before the measured ones.
pub const DEFAULT_WARMUP: u32 = 1;
/// Most runs of one kind (repetitions, footprint repetitions, warm-up) a
/// workload may ask for: a schedule is planned whole before it runs, and
/// past a thousand runs a side no test gains power.
pub const MAX_RUNS: u32 = 10_000;
/// Built-in default: how long one run may take before its process group is ended.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// Built-in default: how long one build may take.
pub const DEFAULT_BUILD_TIMEOUT: Duration = Duration::from_secs(600);
/// Built-in default: time between SIGTERM and SIGKILL when a run is ended.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(3);
/// Built-in default: RSS timeline sampling interval (0 turns the timeline off).
pub const DEFAULT_SAMPLE_INTERVAL: Duration = Duration::from_millis(10);
/// Shortest sampling interval accepted; /proc reads cost tens of microseconds.
pub const MIN_SAMPLE_INTERVAL: Duration = Duration::from_millis(1);

/// An extra source of metrics beyond the rusage every run gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Collector {
    /// wait4 rusage and wall clock; always on, listing it is allowed.
    Rusage,
    /// GODEBUG=gctrace=1 lines from a Go program's stderr; the default for `lang: go`.
    Gctrace,
    /// The probe file a workload linking memgate's probe writes at exit.
    Probe,
    /// The DHAT profile a dhat-rs workload (feature `dhat-heap`) writes.
    Dhat,
    /// Run the command under `valgrind --tool=dhat`: any binary, unchanged.
    ValgrindDhat,
    /// Preload memgate's malloc counter: any dynamically linked program
    /// that allocates through the C library's malloc, unchanged.
    Malloc,
    /// A criterion benchmark's time estimate (a `cargotest` workload's
    /// criterion benchmarks).
    Criterion,
    /// The `go test -bench` result line on stdout (ns/op, B/op, allocs/op,
    /// MB/s); the default, with gctrace, of a `gobench` workload.
    Gobench,
}

impl Collector {
    /// The most metrics it gives a run of a `lang` workload: what the
    /// default repetitions are derived from.
    pub fn metrics(self, lang: Lang) -> usize {
        match (self, lang) {
            // process.rss.peak, cpu user/system, wall, faults minor/major,
            // context switches voluntary/involuntary.
            (Collector::Rusage, _) => 8,
            // cycles, forced cycles, pause total/max/p99, heap peak/live/goal, GC CPU.
            (Collector::Gctrace, _) => 9,
            // The Go probe's runtime/metrics figures, and latency.
            (Collector::Probe, Lang::Go) => 16,
            // Allocations, peak, end, reallocs, jemalloc's four and fragmentation, latency.
            (Collector::Probe, _) => 13,
            // Allocated bytes and blocks, peak, end.
            (Collector::Dhat | Collector::ValgrindDhat, _) => 4,
            // Allocated bytes and blocks, peak, end, reallocs.
            (Collector::Malloc, _) => 5,
            // Time per iteration.
            (Collector::Criterion, _) => 1,
            // ns/op, B/op, allocs/op, and a custom unit or MB/s.
            (Collector::Gobench, _) => 4,
        }
    }
}

/// The default repetitions of a config whose `defaults:` and workloads do
/// not say: enough runs a side that one test of `tests` can reach
/// significance at `alpha` after the correction (Holm's first step
/// compares the smallest p with alpha / tests; the exact U test's smallest
/// two-sided p with n runs a side is 2 / C(2n, n)), and never fewer than
/// [`MIN_DEFAULT_REPETITIONS`]. 5 runs a side reach at most 6 tests under
/// Holm; the bundled suite's ~200 need 8.
pub fn default_repetitions(tests: usize, alpha: f64, correction: crate::policy::Correction) -> u32 {
    let level = match correction {
        crate::policy::Correction::Holm => alpha / tests.max(1) as f64,
        crate::policy::Correction::None => alpha,
    };
    (crate::stats::runs_needed(level) as u32).max(MIN_DEFAULT_REPETITIONS)
}

/// A workload that runs the repository's own Go benchmarks: memgate builds
/// each package's test binary and runs every matching benchmark as a
/// workload of its own, named `<workload>/<benchmark>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoBench {
    /// Package patterns, as `go list` takes them (`./...`).
    pub packages: Vec<String>,
    /// The `-bench` regexp that selects benchmarks (`.`).
    pub bench: String,
    /// `-benchtime`: `Nx` runs every benchmark N times; a duration lets
    /// `go test` find the count once, and memgate then pins it, so every
    /// run does the same work.
    pub benchtime: String,
}

/// A workload that runs a crate's own tests: memgate builds the test
/// binaries (`cargo test --release --no-run`), lists their tests and runs
/// each one alone, on one thread, as a workload of its own named
/// `<workload>/<target>/<test>` (`::` in a test's path written `.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CargoTest {
    /// `-p`: the package whose tests run, in a workspace.
    pub package: Option<String>,
    /// The tests whose path contains this, as `cargo test FILTER` selects
    /// them; all when unset.
    pub filter: Option<String>,
    /// Run the crate's benchmarks (`cargo bench`) instead of its tests:
    /// divan's, each at a pinned iteration count.
    pub benches: bool,
}

/// `gobench.benchtime`'s two forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchTime {
    /// `Nx`: a fixed iteration count.
    Count(u64),
    /// A duration: found once by `go test`, then pinned.
    Duration,
}

impl BenchTime {
    /// Parses `1000x` or a Go duration (`1s`, `500ms`, `1.5s`).
    pub fn parse(text: &str) -> Option<BenchTime> {
        if let Some(n) = text.strip_suffix('x') {
            return n.parse().ok().filter(|&n| n > 0).map(BenchTime::Count);
        }
        let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let unit = &text[digits.len()..];
        let number_ok = digits.parse::<f64>().is_ok_and(|d| d > 0.0);
        (number_ok && ["ns", "us", "ms", "s", "m", "h"].contains(&unit))
            .then_some(BenchTime::Duration)
    }

    /// Whether `text` is a valid `benchtime`.
    pub fn is_valid(text: &str) -> bool {
        BenchTime::parse(text).is_some()
    }
}

/// A loaded, validated and resolved config.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// Its directory, absolute: relative `dir:` and `baseline:` paths, the
    /// base cache and the git state of the fingerprint start there.
    pub dir: PathBuf,
    /// Where the baseline is stored: absolute, or relative to the working directory.
    pub baseline: PathBuf,
    /// Workloads in file order, every setting resolved.
    pub workloads: Vec<Workload>,
    /// Thresholds, budgets and gate settings.
    pub policy: GatePolicy,
    /// Relative mode's base ref, when the config names one.
    pub base_ref: Option<String>,
    /// The history `drift:` budgets read and `check --save-baseline`
    /// records in: `history:`, else `history.db` beside the baseline.
    pub history: PathBuf,
}

/// Default baseline location, relative to the config's directory.
pub const DEFAULT_BASELINE: &str = ".memgate/baseline.json";

/// One workload with every setting resolved (pass 3).
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Unique name, used in results, reports and `-w`.
    pub name: String,
    /// The workload's language.
    pub lang: Lang,
    /// Run once before the repetitions, in `dir`.
    pub build: Option<Vec<String>>,
    /// Run `warmup + repetitions` times, in `dir`; empty for a `gobench`
    /// workload until the runner expands it into its benchmarks.
    pub run: Vec<String>,
    /// Go benchmarks to run instead of `run`.
    pub gobench: Option<GoBench>,
    /// The crate's tests to run instead of `run`.
    pub cargotest: Option<CargoTest>,
    /// Working directory of build and run: absolute.
    pub dir: PathBuf,
    /// The built binary whose sha256 goes into the results: absolute.
    pub binary: Option<PathBuf>,
    /// Variables added to memgate's environment: `defaults.env` then the workload's.
    pub env: BTreeMap<String, String>,
    /// User tags, recorded in the results.
    pub tags: BTreeMap<String, String>,
    /// Extra collectors: as written, else `[gctrace]` for Go and none otherwise.
    pub collect: Vec<Collector>,
    /// The phases a Go workload is measured in, in order (`[footprint,
    /// behaviour]` unless the config says otherwise); empty for a workload
    /// measured in one way only (Rust, other).
    pub phases: Vec<Phase>,
    /// Whether runs record heap profiles for attribution (`profile:`,
    /// default true): the footprint runs of a Go workload linking the probe
    /// or of a `gobench` workload; DHAT profiles are read whenever a DHAT
    /// collector runs.
    pub profile: bool,
    /// Measured runs (of the behaviour phase, for a Go workload).
    pub repetitions: u32,
    /// Measured runs of the footprint phase.
    pub footprint_repetitions: u32,
    /// Unmeasured runs before the measured ones.
    pub warmup: u32,
    /// Limit for one run.
    pub timeout: Duration,
    /// Limit for the build.
    pub build_timeout: Duration,
    /// Time between SIGTERM and SIGKILL.
    pub kill_grace: Duration,
    /// RSS timeline interval; zero means off.
    pub sample_interval: Duration,
    /// Set on a benchmark of a `gobench` workload once the runner has
    /// expanded it: its pinned count and its footprint backstop.
    pub benchmark: Option<Benchmark>,
}

/// One Go benchmark as it is run: at one iteration count, and in the
/// footprint phase with no collection during its loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Benchmark {
    /// The iteration count every run uses (`-test.benchtime=Nx`): the
    /// baseline's when it has the benchmark, else found once.
    pub iterations: u64,
    /// The footprint phase's `GOMEMLIMIT` under `GOGC=off`: a collection
    /// happens only if the run's memory reaches it.
    pub backstop_bytes: u64,
}

impl Workload {
    /// Tags inferred from a workload's definition and environment, overridden by
    /// the user's own tags: build profile and allocator for Rust, and the Go
    /// runtime's memory knobs.
    pub fn inferred_tags(&self) -> BTreeMap<String, String> {
        let mut tags = BTreeMap::new();
        if let Some(profile) = self.built_profile() {
            tags.insert("profile".into(), profile);
        }
        if self.lang == Lang::Rust
            && let Some(build) = &self.build
        {
            let features = build.join(" ");
            let allocator = ["jemalloc", "mimalloc"]
                .into_iter()
                .find(|a| features.contains(a))
                .unwrap_or("system");
            tags.insert("allocator".into(), allocator.into());
        }
        if self.lang == Lang::Go {
            tags.insert("allocator".into(), "go".into());
            for knob in ["GOGC", "GOMEMLIMIT", "GOMAXPROCS"] {
                if let Some(v) = self
                    .env
                    .get(knob)
                    .cloned()
                    .or_else(|| std::env::var(knob).ok())
                {
                    tags.insert(knob.into(), v);
                }
            }
        }
        tags.extend(self.tags.clone());
        tags
    }

    /// The Cargo profile of the Rust binary that runs, read from where
    /// Cargo put it: `target/<dir>/` (or `target/<triple>/<dir>/`, and
    /// `examples/` or `deps/`, where test and bench binaries go, below
    /// it), `<dir>` being `debug` for the dev profile
    /// and the profile's name otherwise (the Cargo book, "Build cache").
    /// The words of `build:` are never read: a `sh -c "cargo build
    /// --release"` build is a release build. `None` when the path does not
    /// say: an unknown profile, not a difference.
    fn built_profile(&self) -> Option<String> {
        if self.lang != Lang::Rust {
            return None;
        }
        let path = match &self.binary {
            Some(b) => b.clone(),
            None => PathBuf::from(self.run.first()?),
        };
        let mut dir = path.parent()?;
        if dir
            .file_name()
            .is_some_and(|n| n == "examples" || n == "deps")
        {
            dir = dir.parent()?;
        }
        let name = dir.file_name()?.to_str()?;
        let under_target = dir
            .ancestors()
            .skip(1)
            .any(|a| a.file_name().is_some_and(|n| n == "target"));
        (under_target || name == "debug" || name == "release").then(|| name.to_owned())
    }
}

impl Config {
    /// Reads, validates and resolves the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            crate::input::read_to_string(path, crate::input::CONFIG_LIMIT).map_err(|source| {
                ConfigError {
                    path: path.to_owned(),
                    kind: ConfigErrorKind::Read { source },
                }
            })?;
        Config::parse(path, &text)
    }

    /// Validates and resolves config text; `path` names the file in errors
    /// and anchors relative `dir:` paths.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let err = |kind| ConfigError {
            path: path.to_owned(),
            kind,
        };
        let raw = raw::parse(text).map_err(err)?;
        validate::validate(&raw).map_err(err)?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_owned)
            .unwrap_or_else(|| PathBuf::from("."));
        let base = std::path::absolute(&base).unwrap_or(base);
        let mut workloads: Vec<Workload> = raw
            .workloads
            .iter()
            .map(|w| resolve::workload(&raw.defaults, w, &base))
            .collect();
        let policy = resolve::policy(&raw);
        // Repetitions no one set are derived from the tests they must serve.
        let tests: usize = workloads
            .iter()
            .map(|w| {
                std::iter::once(Collector::Rusage)
                    .chain(
                        w.collect
                            .iter()
                            .copied()
                            .filter(|c| *c != Collector::Rusage),
                    )
                    .map(|c| c.metrics(w.lang))
                    .sum::<usize>()
            })
            .sum();
        let alpha = policy
            .thresholds
            .get("default")
            .and_then(|t| t.alpha)
            .unwrap_or(crate::policy::DEFAULT_ALPHA);
        let derived = default_repetitions(tests, alpha, policy.correction);
        for (w, raw_w) in workloads.iter_mut().zip(&raw.workloads) {
            if raw_w.repetitions.is_none() && raw.defaults.repetitions.is_none() {
                w.repetitions = derived;
            }
        }
        let baseline = base.join(
            raw.baseline
                .as_deref()
                .unwrap_or(Path::new(DEFAULT_BASELINE)),
        );
        let history = match &raw.history {
            Some(h) => base.join(h),
            None => baseline
                .parent()
                .unwrap_or(&base)
                .join(crate::history::HISTORY_FILE),
        };
        Ok(Config {
            path: path.to_owned(),
            dir: base.clone(),
            baseline,
            history,
            workloads,
            policy: GatePolicy {
                config: Some(path.to_owned()),
                ..policy
            },
            base_ref: raw.base_ref.clone(),
        })
    }

    /// Workloads selected by name, in config order; an unknown name is an error
    /// that suggests the closest known one.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Workload>, ConfigError> {
        if self.workloads.is_empty() {
            return Err(ConfigError {
                path: self.path.clone(),
                kind: ConfigErrorKind::Invalid {
                    field: "workloads".into(),
                    message: "the list is empty: there is nothing to run (a config of thresholds alone serves `memgate compare`)".into(),
                },
            });
        }
        if names.is_empty() {
            return Ok(self.workloads.iter().collect());
        }
        let known: Vec<&str> = self.workloads.iter().map(|w| w.name.as_str()).collect();
        for name in names {
            if !known.contains(&name.as_str()) {
                let mut message = format!(
                    "no workload named `{name}`; the config has {}",
                    quoted_list(&known)
                );
                if let Some(s) = closest(name, &known) {
                    message.push_str(&format!("; did you mean `{s}`?"));
                }
                return Err(ConfigError {
                    path: self.path.clone(),
                    kind: ConfigErrorKind::Invalid {
                        field: "workloads".into(),
                        message,
                    },
                });
            }
        }
        Ok(self
            .workloads
            .iter()
            .filter(|w| names.contains(&w.name))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indoc::indoc;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(Path::new("/p/memgate.yaml"), text).map_err(|e| e.to_string())
    }

    /// The build profile comes from where the binary is, never from the
    /// words of `build:`; a path that does not say gives no profile.
    #[test]
    fn the_profile_is_read_from_the_binary_path() {
        let c = parse(indoc! {r#"
            version: 1
            workloads:
              - {name: a, lang: rust, build: sh -c "cargo build --release", run: ./target/release/a}
              - {name: b, lang: rust, build: cargo build, run: ./x, binary: target/x86_64-unknown-linux-gnu/debug/b}
              - {name: c, lang: rust, build: cargo build --release --features jemalloc --target-dir target/jemalloc, run: ./target/jemalloc/release/examples/c}
              - {name: d, lang: rust, build: cargo build --release, run: ./bin/d}
              - {name: e, lang: rust, run: ./target/bench-fast/e}
              - {name: f, lang: rust, run: /p/target/release/deps/t-1a2b}
        "#})
        .unwrap();
        let profile = |i: usize| c.workloads[i].inferred_tags().get("profile").cloned();
        assert_eq!(profile(0).as_deref(), Some("release"));
        assert_eq!(profile(1).as_deref(), Some("debug"));
        assert_eq!(profile(2).as_deref(), Some("release"));
        assert_eq!(profile(3), None, "bin/ says nothing of a profile");
        assert_eq!(profile(4).as_deref(), Some("bench-fast"));
        assert_eq!(
            profile(5).as_deref(),
            Some("release"),
            "a test binary, in deps/"
        );
    }

    #[test]
    fn resolves_defaults_then_overrides() {
        let c = parse(indoc! {r#"
            version: 1
            defaults:
              repetitions: 7
              timeout: 30s
              env: { GOGC: 100, A: x }
            workloads:
              - name: a
                lang: go
                run: ./a -n "two words"
                dir: sub
                env: { A: y }
              - name: b
                lang: rust
                run: [./b, --flag]
                repetitions: 2
                sample_interval: 0
        "#})
        .unwrap();
        let a = &c.workloads[0];
        assert_eq!(a.run, ["./a", "-n", "two words"]);
        assert_eq!(a.dir, Path::new("/p/sub"));
        assert_eq!(a.repetitions, 7);
        assert_eq!(a.warmup, DEFAULT_WARMUP);
        assert_eq!(a.timeout, Duration::from_secs(30));
        assert_eq!(a.env["GOGC"], "100");
        assert_eq!(a.env["A"], "y");
        let b = &c.workloads[1];
        assert_eq!(b.run, ["./b", "--flag"]);
        assert_eq!(b.repetitions, 2);
        assert_eq!(b.sample_interval, Duration::ZERO);
        assert_eq!(b.dir, Path::new("/p"));
    }

    #[test]
    fn error_messages_name_file_line_and_field() {
        let cases: &[(&str, &str)] = &[
            (
                "version: 1\nworkloads:\n  - name: a\n    lang: go\n    run: x\n    repetitons: 3\n",
                "/p/memgate.yaml:6:5: workloads[0].repetitons: unknown field `repetitons`, expected one of `name`, `lang`, `build`, `run`, `gobench`, `cargotest`, `dir`, `binary`, `env`, `tags`, `collect`, `thresholds`, `budgets`, `phases`, `profile`, `repetitions`, `footprint_repetitions`, `warmup`, `timeout`, `build_timeout`, `kill_grace`, `sample_interval`; did you mean `repetitions`?",
            ),
            (
                "version: 1\nworkloads:\n  - name: a\n    lang: java\n    run: x\n",
                "/p/memgate.yaml:4:11: workloads[0].lang: unknown variant `java`, expected one of `go`, `rust`, `other`",
            ),
            (
                "version: 1\ndefaults:\n  timeout: soon\nworkloads: []\n",
                "/p/memgate.yaml:3:12: defaults.timeout: `soon` is not a duration; expected e.g. `250ms`, `1.5s`, `2m` or `0`",
            ),
            (
                "version: 1\ndefaults:\n  repetitions: many\nworkloads: []\n",
                "/p/memgate.yaml:3:16: defaults.repetitions: invalid type: string \"many\", expected u32",
            ),
            (
                "version: 1\nworkloads:\n  - name: a\n    lang: go\n    run: \"x 'y\"\n",
                "/p/memgate.yaml:5:10: workloads[0].run: cannot split `x 'y` into words: unbalanced quotes or a trailing backslash",
            ),
            (
                "version: 2\nworkloads: []\n",
                "/p/memgate.yaml: version: unsupported version 2; this memgate reads version 1",
            ),
            (
                "version: 1\nworkloads:\n  - {name: a, lang: go, run: x}\n  - {name: a, lang: go, run: y}\n",
                "/p/memgate.yaml: workloads[1].name: duplicate workload name `a` (first used by workloads[0]); names must be unique",
            ),
            (
                "version: 1\nworkloads:\n  - {name: a, lang: go, run: x, repetitions: 0}\n",
                "/p/memgate.yaml: workloads[0].repetitions: must be at least 1",
            ),
            (
                "version: 1\nbudgets: {chrun: {process.rss.peak: 1MiB}}\nworkloads:\n  - {name: churn, lang: go, run: x}\n",
                "/p/memgate.yaml: budgets.chrun: no workload named `chrun`; budgets are keyed by workload name; did you mean `churn`?",
            ),
            (
                "version: 1\nworkloads:\n  - {name: a, lang: go, run: x, budgets: {process.rss.peak: 5ms}}\n",
                "/p/memgate.yaml: budgets.a.process.rss.peak: 5ms does not fit a metric measured in bytes",
            ),
            (
                "version: 1\ntags: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
                "/p/memgate.yaml:2:71: nested more than 64 levels deep; a memgate config is a few levels deep",
            ),
            (
                "\u{feff}version: 1\nworkloads:\n  - {name: a, lang: go, run: x, repetitions: 0}\n",
                "/p/memgate.yaml: workloads[0].repetitions: must be at least 1",
            ),
            (
                "version: 1\ndefaults: {repetitions: 1000000000}\nworkloads:\n  - {name: a, lang: go, run: x}\n",
                "/p/memgate.yaml: defaults.repetitions: 1000000000 runs; at most 10000",
            ),
            (
                "version: 1\nworkloads:\n  - {name: a, lang: go, run: x, warmup: 4294967295}\n",
                "/p/memgate.yaml: workloads[0].warmup: 4294967295 runs; at most 10000",
            ),
            (
                "version: 1\ndefaults: {timeout: 600000y}\nworkloads:\n  - {name: a, lang: go, run: x}\n",
                "/p/memgate.yaml:2:21: defaults.timeout: `600000y` is longer than a year, the longest memgate waits",
            ),
            (
                "version: 1\nworkloads:\n  - {name: a, lang: go, run: x, env: {A: \"x\\0y\"}}\n",
                "/p/memgate.yaml:3:42: workloads[0].env.A: `x\\0y` contains a NUL character, which no program can receive",
            ),
            (
                "version: 1\nworkloads:\n  - {name: a, lang: go, run: [echo, \"a\\0b\"]}\n",
                "/p/memgate.yaml:3:30: workloads[0].run: `a\\0b` contains a NUL character, which no program can receive",
            ),
            (
                "version: 1\nworkloads:\n  - {name: a, lang: go, gobench: {bench: \"(\"}}\n",
                "/p/memgate.yaml: workloads[0].gobench.bench: `(` is not a regular expression: unclosed group",
            ),
            (
                "version: 1\nbudgets: {a: {process.rss.peek: 50MiB}}\nworkloads:\n  - {name: a, lang: go, run: x}\n",
                "/p/memgate.yaml: budgets.a.process.rss.peek: no metric named `process.rss.peek` (docs/measuring.md lists them); did you mean `process.rss.peak`?",
            ),
            (
                "version: 1\nworkloads:\n  - {name: a, lang: go, run: x, thresholds: {gc.pauses.max: {max_increase: 5%}}}\n",
                "/p/memgate.yaml: workloads[a].thresholds.gc.pauses.max: no metric named `gc.pauses.max` (docs/measuring.md lists them); did you mean `gc.pause.max`?",
            ),
            (
                "version: 1\nthresholds:\n  default: {alpha: 5}\nworkloads:\n  - {name: a, lang: go, run: x}\n",
                "/p/memgate.yaml: thresholds.default.alpha: 5 is not between 0 and 1 (exclusive)",
            ),
            (
                "version: 1\nthresholds:\n  process.wall: {max_increase: 5}\nworkloads:\n  - {name: a, lang: go, run: x}\n",
                "/p/memgate.yaml:3:32: thresholds.process.wall.max_increase: `5` is not a percentage; expected e.g. `5%` or `0.5%`",
            ),
            (
                "version: 1\ngate: {correction: bonferroni}\nworkloads:\n  - {name: a, lang: go, run: x}\n",
                "/p/memgate.yaml:2:20: gate.correction: unknown variant `bonferroni`, expected `holm` or `none`",
            ),
            (
                "version: 1\nworkloads:\n  - {name: a, lang: go, run: x, gobench: {}}\n",
                "/p/memgate.yaml: workloads[0].gobench: a workload has `run` or `gobench`, not both: `gobench` runs `go test` benchmarks itself",
            ),
            (
                "version: 1\nworkloads:\n  - {name: a, lang: go}\n",
                "/p/memgate.yaml: workloads[0].run: missing: give the command to run, `gobench:` to run Go benchmarks, or `cargotest:` to run a crate's tests",
            ),
            (
                "version: 1\nworkloads:\n  - {name: a, lang: rust, gobench: {}}\n",
                "/p/memgate.yaml: workloads[0].gobench: Go benchmarks need `lang: go`",
            ),
            (
                "version: 1\nworkloads:\n  - {name: a, lang: go, gobench: {benchtime: 10}}\n",
                "/p/memgate.yaml: workloads[0].gobench.benchtime: expected an iteration count like `1000x` or a duration like `1s`, `500ms`",
            ),
            (
                "version: 1\nworkloads:\n  - {name: a/b, lang: go, run: x}\n",
                "/p/memgate.yaml: workloads[0].name: the name contains `/`, which separates a `gobench` or `cargotest` workload's name from its benchmarks' or tests' (`cache/Get`)",
            ),
            (
                "version: 1\nworkloads:\n  - {name: a, lang: go, run: x}\n  - {name: b, lang: rust, run: y}\nparity:\n  - {reference: a, candidate: b, metrics: {latency.p99: 10%}}\n",
                "/p/memgate.yaml: parity[0].metrics.latency.p99: the reference `a` cannot produce `latency.p99` with its collectors (rusage, gctrace); add the collector that measures it",
            ),
            (
                "version: 1\nworkloads:\n  - {name: a, lang: go, run: x}\n  - {name: b, lang: rust, run: y}\nparity:\n  - {reference: a, candidate: bb, metrics: {process.rss.peak: 0%}}\n",
                "/p/memgate.yaml: parity[0].candidate: no workload named `bb`; did you mean `b`?",
            ),
            (
                "version: 1\nworkloads:\n  - {name: a, lang: go, run: x}\n  - {name: b, lang: rust, run: y}\nparity:\n  - {reference: a, candidate: b, metrics: {process.rss.peek: 0%}}\n",
                "/p/memgate.yaml: parity[0].metrics.process.rss.peek: `process.rss.peek` is not a metric memgate measures",
            ),
            (
                "version: 1\nworkloads: [\n",
                "/p/memgate.yaml:3:1: workloads: did not find expected node content, while parsing a flow node",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).unwrap_err(), *expected, "for config:\n{text}");
        }
    }

    #[test]
    fn unset_repetitions_are_enough_for_the_tests_after_holm() {
        use crate::policy::Correction;
        // 2 / C(10, 5) = 0.0079 <= 0.05 / 6; 2 / C(14, 7) = 0.00058 <= 0.05 / 30.
        assert_eq!(default_repetitions(6, 0.05, Correction::Holm), 5);
        assert_eq!(default_repetitions(30, 0.05, Correction::Holm), 7);
        assert_eq!(default_repetitions(200, 0.05, Correction::Holm), 8);
        assert_eq!(default_repetitions(200, 0.05, Correction::None), 5);
        // A Go workload (rusage's 8 and gctrace's 9) and another (rusage's
        // 8): 25 tests need 7 runs (2 / C(12, 6) = 0.0022 > 0.05 / 25); the
        // second workload's own setting is kept.
        let c = parse(
            "version: 1\nworkloads:\n  - {name: a, lang: go, run: x}\n  - {name: b, lang: other, run: y, repetitions: 3}\n",
        )
        .unwrap();
        assert_eq!(c.workloads[0].repetitions, 7);
        assert_eq!(c.workloads[1].repetitions, 3);
        let c = parse("version: 1\nworkloads:\n  - {name: a, lang: go, run: x}\n").unwrap();
        assert_eq!(c.workloads[0].repetitions, 6, "17 tests");
        let c = parse(
            "version: 1\ngate: {correction: none}\nworkloads:\n  - {name: a, lang: go, run: x}\n",
        )
        .unwrap();
        assert_eq!(c.workloads[0].repetitions, 5);
    }

    #[test]
    fn select_suggests_the_closest_name() {
        let c = parse("version: 1\nworkloads:\n  - {name: churn, lang: go, run: x}\n").unwrap();
        let e = c.select(&["chrun".into()]).unwrap_err().to_string();
        assert_eq!(
            e,
            "/p/memgate.yaml: workloads: no workload named `chrun`; the config has `churn`; did you mean `churn`?"
        );
    }
}
