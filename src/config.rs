//! The `memgate.yaml` schema: parsing, validation and per-workload resolution.
//!
//! Loading happens in three passes. Pass 1 is serde with
//! `deny_unknown_fields`, wrapped in `serde_path_to_error` so every error
//! names the file, the line and column, and the field path; an unknown key
//! gets the closest valid key as a suggestion. Pass 2 validates across
//! fields (version, duplicate names, ranges). Pass 3 resolves each workload:
//! built-in defaults, then `defaults:`, then the workload's own overrides.
//! Running, measuring and gating are left to later stages.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::lang::Lang;
use crate::policy::{GatePolicy, Quantity, RawGate, ThresholdSpec};
use crate::units::HumanDuration;

/// The only config version this memgate reads.
pub const CONFIG_VERSION: u32 = 1;

/// Built-in default: measured repetitions per workload.
pub const DEFAULT_REPETITIONS: u32 = 5;
/// Built-in default: unmeasured warm-up runs before the measured ones.
pub const DEFAULT_WARMUP: u32 = 1;
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
}

/// A command: a line split by POSIX shell word rules, or a list of arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandLine(pub Vec<String>);

impl<'de> Deserialize<'de> for CommandLine {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CommandLine;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a command line string or a list of arguments")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<CommandLine, E> {
                let words = shlex::split(v).ok_or_else(|| {
                    E::custom(format!(
                        "cannot split `{v}` into words: unbalanced quotes or a trailing backslash"
                    ))
                })?;
                if words.is_empty() {
                    return Err(E::custom("the command is empty"));
                }
                Ok(CommandLine(words))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CommandLine, A::Error> {
                let mut words = Vec::new();
                while let Some(w) = seq.next_element::<String>()? {
                    words.push(w);
                }
                if words.is_empty() {
                    return Err(de::Error::custom("the command is empty"));
                }
                Ok(CommandLine(words))
            }
        }
        d.deserialize_any(V)
    }
}

/// A YAML scalar read as a string, so `GOGC: 100` works like `GOGC: "100"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Pass 1: the file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    version: u32,
    baseline: Option<PathBuf>,
    base_ref: Option<String>,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    gate: RawGate,
    #[serde(default)]
    thresholds: BTreeMap<String, ThresholdSpec>,
    #[serde(default)]
    budgets: BTreeMap<String, BTreeMap<String, Quantity>>,
    workloads: Vec<RawWorkload>,
}

/// Settings shared by every workload unless it overrides them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    repetitions: Option<u32>,
    warmup: Option<u32>,
    timeout: Option<HumanDuration>,
    build_timeout: Option<HumanDuration>,
    kill_grace: Option<HumanDuration>,
    sample_interval: Option<HumanDuration>,
    #[serde(default)]
    env: BTreeMap<String, Scalar>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkload {
    name: String,
    lang: Lang,
    build: Option<CommandLine>,
    run: CommandLine,
    dir: Option<PathBuf>,
    binary: Option<PathBuf>,
    #[serde(default)]
    env: BTreeMap<String, Scalar>,
    #[serde(default)]
    tags: BTreeMap<String, Scalar>,
    collect: Option<Vec<Collector>>,
    #[serde(default)]
    thresholds: BTreeMap<String, ThresholdSpec>,
    #[serde(default)]
    budgets: BTreeMap<String, Quantity>,
    repetitions: Option<u32>,
    warmup: Option<u32>,
    timeout: Option<HumanDuration>,
    build_timeout: Option<HumanDuration>,
    kill_grace: Option<HumanDuration>,
    sample_interval: Option<HumanDuration>,
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
    /// Run `warmup + repetitions` times, in `dir`.
    pub run: Vec<String>,
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
    /// Measured runs.
    pub repetitions: u32,
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
}

impl Workload {
    /// Tags inferred from a workload's definition and environment, overridden by
    /// the user's own tags: build profile and allocator for Rust, and the Go
    /// runtime's memory knobs.
    pub fn inferred_tags(&self) -> BTreeMap<String, String> {
        let mut tags = BTreeMap::new();
        if self.lang == Lang::Rust
            && let Some(build) = &self.build
        {
            let profile = build
                .iter()
                .position(|a| a == "--profile")
                .and_then(|i| build.get(i + 1).cloned())
                .or_else(|| {
                    build
                        .iter()
                        .find_map(|a| a.strip_prefix("--profile=").map(str::to_owned))
                })
                .unwrap_or_else(|| {
                    if build.iter().any(|a| a == "--release" || a == "-r") {
                        "release"
                    } else {
                        "debug"
                    }
                    .into()
                });
            tags.insert("profile".into(), profile);
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
}

/// Why a config could not be used. Always names the file.
#[derive(Debug, thiserror::Error)]
#[error("{}{}", path.display(), kind)]
pub struct ConfigError {
    /// The config file.
    pub path: PathBuf,
    /// What went wrong, and where in the file.
    pub kind: ConfigErrorKind,
}

/// The kinds of config error, each carrying its location.
#[derive(Debug, thiserror::Error)]
pub enum ConfigErrorKind {
    /// The file could not be read.
    #[error(": cannot read the file: {source}")]
    Read {
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Malformed YAML, a wrong type, an unknown key or a bad unit.
    #[error("{}{}: {message}", location(*line, *column), field_prefix(field))]
    Syntax {
        /// 1-based line, when the parser knows it.
        line: Option<usize>,
        /// 1-based column, when the parser knows it.
        column: Option<usize>,
        /// Dotted field path, e.g. `workloads[2].timeout`.
        field: Option<String>,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A value that parses but does not make sense (pass 2).
    #[error(": {field}: {message}")]
    Invalid {
        /// Dotted field path.
        field: String,
        /// What was wrong and what was expected.
        message: String,
    },
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

fn field_prefix(field: &Option<String>) -> String {
    match field {
        Some(f) if !f.is_empty() && f != "." => format!(": {f}"),
        _ => String::new(),
    }
}

impl Config {
    /// Reads, validates and resolves the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError {
            path: path.to_owned(),
            kind: ConfigErrorKind::Read { source },
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
        let raw = parse_raw(text).map_err(err)?;
        validate(&raw).map_err(err)?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_owned)
            .unwrap_or_else(|| PathBuf::from("."));
        let base = std::path::absolute(&base).unwrap_or(base);
        Ok(Config {
            path: path.to_owned(),
            dir: base.clone(),
            baseline: base.join(
                raw.baseline
                    .as_deref()
                    .unwrap_or(Path::new(DEFAULT_BASELINE)),
            ),
            workloads: raw
                .workloads
                .iter()
                .map(|w| resolve(&raw.defaults, w, &base))
                .collect(),
            policy: GatePolicy {
                config: Some(path.to_owned()),
                ..policy(&raw)
            },
            base_ref: raw.base_ref.clone(),
        })
    }

    /// Workloads selected by name, in config order; an unknown name is an error
    /// that suggests the closest known one.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Workload>, ConfigError> {
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

fn parse_raw(text: &str) -> Result<RawConfig, ConfigErrorKind> {
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, RawConfig>(de).map_err(|e| {
        // serde_path_to_error writes `?` for a key it never got to read.
        let path = e.path().to_string();
        let field = path.split(".?").next().unwrap_or_default().to_owned();
        let inner = e.into_inner();
        let (line, column) = match inner.location() {
            Some(l) => (Some(l.line()), Some(l.column())),
            None => (None, None),
        };
        let message = with_suggestion(&strip_path(&strip_location(&inner.to_string()), &field));
        ConfigErrorKind::Syntax {
            line,
            column,
            field: Some(field),
            message,
        }
    })
}

/// serde_yaml appends " at line L column C" to its messages (once per
/// mark); the location is reported separately, in the `file:line:column` prefix.
fn strip_location(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find(" at line ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + " at line ".len()..];
        // Skip "L column C".
        let skip = after
            .split_once(" column ")
            .map(|(line, tail)| {
                let digits = tail.chars().take_while(char::is_ascii_digit).count();
                line.len() + " column ".len() + digits
            })
            .filter(|_| after.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or(0);
        if skip == 0 {
            out.push_str(" at line ");
        }
        rest = &after[skip..];
    }
    out.push_str(rest);
    out
}

/// serde_yaml prefixes messages below the root with its own path, e.g.
/// `workloads[0]: unknown field`; the field is reported separately.
fn strip_path(message: &str, field: &str) -> String {
    match message.split_once(": ") {
        Some((prefix, rest)) if field.starts_with(prefix) => rest.to_owned(),
        _ => message.to_owned(),
    }
}

/// Adds "did you mean" to serde's unknown-field and unknown-variant messages.
fn with_suggestion(message: &str) -> String {
    let Some(rest) = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))
    else {
        return message.to_owned();
    };
    let Some((given, tail)) = rest.split_once('`') else {
        return message.to_owned();
    };
    let expected: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
    match closest(given, &expected) {
        Some(s) => format!("{message}; did you mean `{s}`?"),
        None => message.to_owned(),
    }
}

/// The candidate closest to `given`, if it is close enough to be a typo.
fn closest<'a>(given: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(given, c), *c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Pass 2: checks across fields.
fn validate(raw: &RawConfig) -> Result<(), ConfigErrorKind> {
    let invalid = |field: String, message: String| ConfigErrorKind::Invalid { field, message };
    if raw.version != CONFIG_VERSION {
        return Err(invalid(
            "version".into(),
            format!(
                "unsupported version {}; this memgate reads version {CONFIG_VERSION}",
                raw.version
            ),
        ));
    }
    if raw.workloads.is_empty() {
        return Err(invalid(
            "workloads".into(),
            "the list is empty; add at least one workload".into(),
        ));
    }
    check_settings(
        "defaults",
        raw.defaults.repetitions,
        raw.defaults.timeout,
        raw.defaults.sample_interval,
    )?;
    for key in raw.defaults.env.keys() {
        check_env_key(&format!("defaults.env.{key}"), key)?;
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, w) in raw.workloads.iter().enumerate() {
        let at = format!("workloads[{i}]");
        check_name(&format!("{at}.name"), &w.name)?;
        if let Some(first) = seen.insert(&w.name, i) {
            return Err(invalid(
                format!("{at}.name"),
                format!(
                    "duplicate workload name `{}` (first used by workloads[{first}]); names must be unique",
                    w.name
                ),
            ));
        }
        check_settings(&at, w.repetitions, w.timeout, w.sample_interval)?;
        for key in w.env.keys() {
            check_env_key(&format!("{at}.env.{key}"), key)?;
        }
    }
    let names: Vec<&str> = raw.workloads.iter().map(|w| w.name.as_str()).collect();
    for workload in raw.budgets.keys() {
        if !names.contains(&workload.as_str()) {
            let mut message =
                format!("no workload named `{workload}`; budgets are keyed by workload name");
            if let Some(s) = closest(workload, &names) {
                message.push_str(&format!("; did you mean `{s}`?"));
            }
            return Err(invalid(format!("budgets.{workload}"), message));
        }
    }
    policy(raw)
        .validate()
        .map_err(|e| invalid(e.field, e.message))
}

fn check_name(field: &str, name: &str) -> Result<(), ConfigErrorKind> {
    let message = if name.trim().is_empty() {
        "the name is empty"
    } else if name.chars().any(char::is_control) {
        "the name contains a control character"
    } else if name.contains(':') {
        "the name contains `:`, which separates workload from metric in `--accept WORKLOAD:METRIC`"
    } else {
        return Ok(());
    };
    Err(ConfigErrorKind::Invalid {
        field: field.into(),
        message: message.into(),
    })
}

fn check_env_key(field: &str, key: &str) -> Result<(), ConfigErrorKind> {
    if key.is_empty() || key.contains('=') || key.contains('\0') {
        return Err(ConfigErrorKind::Invalid {
            field: field.into(),
            message:
                "an environment variable name must be non-empty and contain neither `=` nor NUL"
                    .into(),
        });
    }
    Ok(())
}

fn check_settings(
    at: &str,
    repetitions: Option<u32>,
    timeout: Option<HumanDuration>,
    sample_interval: Option<HumanDuration>,
) -> Result<(), ConfigErrorKind> {
    let invalid = |field: &str, message: String| ConfigErrorKind::Invalid {
        field: format!("{at}.{field}"),
        message,
    };
    if repetitions == Some(0) {
        return Err(invalid("repetitions", "must be at least 1".into()));
    }
    if let Some(t) = timeout
        && t.0.is_zero()
    {
        return Err(invalid("timeout", "must be longer than 0".into()));
    }
    if let Some(s) = sample_interval
        && !s.0.is_zero()
        && s.0 < MIN_SAMPLE_INTERVAL
    {
        return Err(invalid(
            "sample_interval",
            format!(
                "{s} is too short; use 0 (off) or at least {}",
                HumanDuration(MIN_SAMPLE_INTERVAL)
            ),
        ));
    }
    Ok(())
}

/// The gate policy: top-level sections plus each workload's own.
fn policy(raw: &RawConfig) -> GatePolicy {
    let mut budgets = raw.budgets.clone();
    for w in &raw.workloads {
        if !w.budgets.is_empty() {
            budgets
                .entry(w.name.clone())
                .or_default()
                .extend(w.budgets.clone());
        }
    }
    GatePolicy {
        config: None,
        confidence: raw.gate.confidence,
        correction: raw.gate.correction.unwrap_or_default(),
        strict_env: raw.gate.strict_env.unwrap_or(false),
        thresholds: raw.thresholds.clone(),
        workload_thresholds: raw
            .workloads
            .iter()
            .filter(|w| !w.thresholds.is_empty())
            .map(|w| (w.name.clone(), w.thresholds.clone()))
            .collect(),
        budgets,
    }
}

/// Pass 3: built-in defaults, then `defaults:`, then the workload's own keys.
fn resolve(d: &RawDefaults, w: &RawWorkload, base: &Path) -> Workload {
    let pick = |own: Option<HumanDuration>, shared: Option<HumanDuration>, builtin: Duration| {
        own.or(shared).map(|h| h.0).unwrap_or(builtin)
    };
    let dir = match &w.dir {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => base.join(d),
        None => base.to_owned(),
    };
    let binary = w.binary.as_ref().map(|b| {
        if b.is_absolute() {
            b.clone()
        } else {
            dir.join(b)
        }
    });
    let mut env: BTreeMap<String, String> = d
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    env.extend(w.env.iter().map(|(k, v)| (k.clone(), v.0.clone())));
    Workload {
        name: w.name.clone(),
        lang: w.lang,
        build: w.build.as_ref().map(|c| c.0.clone()),
        run: w.run.0.clone(),
        dir,
        binary,
        env,
        tags: w
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
        collect: w.collect.clone().unwrap_or_else(|| match w.lang {
            Lang::Go => vec![Collector::Gctrace],
            Lang::Rust | Lang::Other => Vec::new(),
        }),
        repetitions: w
            .repetitions
            .or(d.repetitions)
            .unwrap_or(DEFAULT_REPETITIONS),
        warmup: w.warmup.or(d.warmup).unwrap_or(DEFAULT_WARMUP),
        timeout: pick(w.timeout, d.timeout, DEFAULT_TIMEOUT),
        build_timeout: pick(w.build_timeout, d.build_timeout, DEFAULT_BUILD_TIMEOUT),
        kill_grace: pick(w.kill_grace, d.kill_grace, DEFAULT_KILL_GRACE),
        sample_interval: pick(
            w.sample_interval,
            d.sample_interval,
            DEFAULT_SAMPLE_INTERVAL,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indoc::indoc;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(Path::new("/p/memgate.yaml"), text).map_err(|e| e.to_string())
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
                "/p/memgate.yaml:6:5: workloads[0].repetitons: unknown field `repetitons`, expected one of `name`, `lang`, `build`, `run`, `dir`, `binary`, `env`, `tags`, `collect`, `thresholds`, `budgets`, `repetitions`, `warmup`, `timeout`, `build_timeout`, `kill_grace`, `sample_interval`; did you mean `repetitions`?",
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
                "version: 1\nworkloads: [\n",
                "/p/memgate.yaml:3:1: workloads: did not find expected node content, while parsing a flow node",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).unwrap_err(), *expected, "for config:\n{text}");
        }
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
