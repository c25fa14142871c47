//! The gate's policy from `memgate.yaml`: thresholds (soft limits, judged
//! with statistics), budgets (hard ceilings, judged on the current median)
//! and the gate's settings, resolved per workload and metric.
//!
//! Resolution order for a threshold: the metric's built-in noise floor and
//! memgate's defaults, then `thresholds.default`, then the metric's own
//! built-in tolerance (time, context switches, pauses, latency, mapped
//! memory), then `thresholds.<metric>`, then the workload's
//! `thresholds.default` and `thresholds.<metric>`; each key on its own.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::metrics::{self, Unit};
use crate::units::{Bytes, HumanDuration, Percent};

/// Built-in relative tolerance: a change must exceed 5% to count.
pub const DEFAULT_MAX_INCREASE: f64 = 0.05;
/// Built-in significance level, benchstat's default.
pub const DEFAULT_ALPHA: f64 = 0.05;
/// Built-in confidence of the shift interval, benchstat's default.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;

/// An absolute amount in a metric's unit: `1MiB`, `5ms` or a plain number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quantity {
    /// A size; only for metrics in bytes.
    Bytes(u64),
    /// A time; only for metrics in seconds.
    Duration(Duration),
    /// A plain number in the metric's own unit.
    Number(f64),
}

impl FromStr for Quantity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if let Ok(n) = t.parse::<f64>() {
            return if n.is_finite() && n >= 0.0 {
                Ok(Quantity::Number(n))
            } else {
                Err(format!("`{t}` must be a finite number, zero or more"))
            };
        }
        if t.ends_with(['B', 'b']) {
            return t.parse::<Bytes>().map(|b| Quantity::Bytes(b.0));
        }
        t.parse::<HumanDuration>()
            .map(|d| Quantity::Duration(d.0))
            .map_err(|_| format!("`{t}` is not an amount; expected a size (`1MiB`), a duration (`5ms`) or a number"))
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quantity::Bytes(b) => write!(f, "{}", Bytes(*b)),
            Quantity::Duration(d) => write!(f, "{}", HumanDuration(*d)),
            Quantity::Number(n) => write!(f, "{n}"),
        }
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size (`1MiB`), a duration (`5ms`) or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity::Number(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                Err(E::custom(format!("`{v}` must be zero or more")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                v.to_string().parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl Quantity {
    /// The amount in a metric's unit, or why it does not fit that unit.
    pub fn in_unit(&self, unit: Unit) -> Result<f64, UnitMismatch> {
        match (self, unit) {
            (Quantity::Number(n), _) => Ok(*n),
            (Quantity::Bytes(b), Unit::Bytes) => Ok(*b as f64),
            (Quantity::Duration(d), Unit::Seconds) => Ok(d.as_secs_f64()),
            (q, unit) => Err(UnitMismatch { quantity: *q, unit }),
        }
    }
}

/// A size or duration given for a metric in another unit.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("{quantity} does not fit a metric measured in {}", unit_name(*unit))]
pub struct UnitMismatch {
    /// The amount as written.
    pub quantity: Quantity,
    /// The metric's unit.
    pub unit: Unit,
}

fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Bytes => "bytes",
        Unit::Seconds => "seconds",
        Unit::Count => "counts; give a plain number",
        Unit::Ratio => "a ratio; give a plain number",
        Unit::BytesPerSecond => "bytes per second; give a plain number",
    }
}

/// One threshold entry as written; every key optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    /// Relative tolerance, e.g. `5%`.
    pub max_increase: Option<Percent>,
    /// Absolute noise floor in the metric's unit.
    pub min_change: Option<Quantity>,
    /// Significance level of the test.
    pub alpha: Option<f64>,
}

/// How p-values are corrected across the tests of one gate run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Correction {
    /// Holm's step-down method: family-wise error rate at alpha.
    #[default]
    Holm,
    /// No correction: each test at alpha, as benchstat does.
    None,
}

/// The `gate:` section as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGate {
    /// Confidence of the shift interval.
    pub confidence: Option<f64>,
    /// Multiple-testing correction.
    pub correction: Option<Correction>,
    /// Fail on machine-dependent metrics even when the environments differ.
    pub strict_env: Option<bool>,
    /// What a regression of a load-sensitive metric does against a stored
    /// baseline.
    pub load_sensitive: Option<LoadSensitive>,
    /// Workloads deleted on purpose: in the baseline, not measured now,
    /// and not a failure.
    #[serde(default)]
    pub removed: Vec<String>,
    /// `WORKLOAD:METRIC` globs of metrics that may be absent now (e.g.
    /// `"*:latency.*"`).
    #[serde(default)]
    pub optional: Vec<String>,
}

/// What a regression of a load-sensitive metric (time, pauses, latency,
/// anything measured under a concurrent collector) does when the baseline
/// was stored, not measured beside the current side on this machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum LoadSensitive {
    /// Reported as a warning: a busier runner looks the same.
    #[default]
    Warn,
    /// Fails like any regression.
    Fail,
}

/// A resolved threshold for one (workload, metric).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// Relative tolerance as a fraction.
    pub max_increase: f64,
    /// Absolute noise floor in the metric's unit.
    pub min_change: f64,
    /// Significance level.
    pub alpha: f64,
}

impl Default for Threshold {
    /// memgate's built-in tolerances, with no noise floor.
    fn default() -> Self {
        Threshold {
            max_increase: DEFAULT_MAX_INCREASE,
            min_change: 0.0,
            alpha: DEFAULT_ALPHA,
        }
    }
}

impl Threshold {
    /// The relative tolerance for people, e.g. `5%` or `2.5%`.
    pub fn max_increase_text(&self) -> String {
        let percent = format!("{:.4}", self.max_increase * 100.0);
        format!("{}%", percent.trim_end_matches('0').trim_end_matches('.'))
    }

    /// The tolerance band around a median: the larger of `min_change` and
    /// `max_increase` of it.
    pub fn band(&self, median: f64) -> f64 {
        self.min_change.max(self.max_increase * median.abs())
    }

    /// Whether a spread (max - min) around `median` is tight enough for the
    /// near-deterministic rule: within half the tolerance band.
    pub fn is_tight(&self, range: f64, median: f64) -> bool {
        range <= self.band(median) / 2.0
    }

    /// Both tolerances for people, e.g. `5% and 512.0 KiB`.
    pub fn describe(&self, unit: Unit) -> String {
        format!(
            "{} and {}",
            self.max_increase_text(),
            crate::units::human(unit, self.min_change)
        )
    }
}

/// What one (workload, metric) is judged against.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limit {
    /// The tolerances of the statistical rule.
    pub threshold: Threshold,
    /// The hard ceiling, in the metric's unit.
    pub budget: Option<f64>,
}

/// Thresholds, budgets and settings for a gate run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatePolicy {
    /// The config file it was read from, named in its errors.
    pub config: Option<PathBuf>,
    /// Confidence of the shift interval; [`DEFAULT_CONFIDENCE`] when unset.
    pub confidence: Option<f64>,
    /// Multiple-testing correction.
    pub correction: Correction,
    /// See [`RawGate::strict_env`].
    pub strict_env: bool,
    /// See [`RawGate::load_sensitive`].
    pub load_sensitive: LoadSensitive,
    /// `thresholds:`: `default` and per-metric entries.
    pub thresholds: BTreeMap<String, ThresholdSpec>,
    /// Per-workload `thresholds:`.
    pub workload_thresholds: BTreeMap<String, BTreeMap<String, ThresholdSpec>>,
    /// Per workload, per metric: hard ceilings.
    pub budgets: BTreeMap<String, BTreeMap<String, Quantity>>,
    /// See [`RawGate::removed`].
    pub removed: Vec<String>,
    /// See [`RawGate::optional`].
    pub optional: Vec<String>,
    /// `parity:` rules, judged on the current results alone.
    pub parity: Vec<ParityRule>,
    /// `drift:` budgets, by metric name or `default`.
    pub drift: BTreeMap<String, DriftRule>,
}

/// A drift budget: the head may not exceed a metric's level at the anchor
/// by more than `max_increase` (the worse way), however small each step.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftRule {
    /// Where the level is read.
    pub since: Anchor,
    /// The most the level may have grown since, as a fraction.
    pub max_increase: f64,
}

/// The commit a drift budget counts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// This many recorded commits before the newest (`10 commits`).
    Commits(usize),
    /// The best level among the last this many commits (`best of 10
    /// commits`): an improvement since then is kept, not spent.
    Best(usize),
    /// A git ref: a release tag, a branch, a SHA (`v1.4.0`).
    Ref(String),
}

impl std::str::FromStr for Anchor {
    type Err = String;

    /// `N commits` or `best of N commits` (N from 1 to 10,000), or any
    /// other text as a git ref.
    fn from_str(s: &str) -> Result<Anchor, String> {
        let t = s.trim();
        if let Some(rest) = t.strip_prefix("best of ") {
            return match rest.parse::<Anchor>() {
                Ok(Anchor::Commits(n)) => Ok(Anchor::Best(n)),
                _ => Err(format!(
                    "`{t}`: expected `best of N commits`, N from 1 to 10000"
                )),
            };
        }
        if let Some(n) = t
            .strip_suffix("commits")
            .or_else(|| t.strip_suffix("commit"))
            .map(str::trim)
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        {
            return match n.parse::<usize>() {
                Ok(k @ 1..=10_000) => Ok(Anchor::Commits(k)),
                _ => Err(format!("`{t}`: from 1 to 10000 commits")),
            };
        }
        if t.is_empty() || t.starts_with('-') || t.chars().any(char::is_whitespace) {
            return Err(format!(
                "`{t}` is neither `N commits` nor a git ref (a tag, a branch, a SHA)"
            ));
        }
        Ok(Anchor::Ref(t.to_owned()))
    }
}

impl std::fmt::Display for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Anchor::Commits(n) => write!(f, "{n} commits back"),
            Anchor::Best(n) => write!(f, "the best of the last {n} commits"),
            Anchor::Ref(r) => write!(f, "{r}"),
        }
    }
}

/// A parity rule: the candidate workload's metrics must not exceed the
/// reference workload's by more than each metric's tolerance (in the
/// direction the metric counts as worse), on samples of the same run.
#[derive(Debug, Clone, PartialEq)]
pub struct ParityRule {
    /// Its name in reports: as written, or `CANDIDATE vs REFERENCE`.
    pub name: String,
    /// The workload that sets the bar (e.g. the Go build).
    pub reference: String,
    /// The workload held to it (e.g. the Rust port).
    pub candidate: String,
    /// The metrics compared and their tolerances (0.1 = 10%).
    pub metrics: Vec<(String, f64)>,
}

/// A threshold or budget that does not fit the metric it names.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{field}: {problem}", config.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
pub struct PolicyError {
    /// The config file, when the policy came from one.
    pub config: Option<PathBuf>,
    /// The config field, e.g. `thresholds.process.wall.min_change`.
    pub field: String,
    /// What does not fit.
    pub problem: PolicyProblem,
}

/// What is wrong with a policy entry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyProblem {
    /// An amount in the wrong unit for the metric it applies to.
    #[error("{mismatch}{}", metric.as_ref().map(|m| format!(" (metric `{m}`)")).unwrap_or_default())]
    Unit {
        /// The amount and the metric's unit.
        mismatch: UnitMismatch,
        /// The metric, when the field does not name it.
        metric: Option<String>,
    },
    /// alpha or confidence outside (0, 1).
    #[error("{0} is not between 0 and 1 (exclusive)")]
    NotProbability(f64),
    /// A metric name memgate does not measure: a limit on it would never
    /// apply.
    #[error("no metric named `{name}` (docs/measuring.md lists them){}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownMetric {
        /// The name as written.
        name: String,
        /// The known name closest to it, when it looks like a typo.
        suggestion: Option<&'static str>,
    },
}

/// Whether `name` is a metric a workload can have: one memgate defines, or
/// a Go benchmark's own unit (`bench.<unit>`, from `b.ReportMetric`).
fn is_metric(name: &str) -> bool {
    metrics::lookup(name).is_some() || name.strip_prefix("bench.").is_some_and(|u| !u.is_empty())
}

/// The known metric closest to a misspelt `name` (Jaro-Winkler >= 0.8).
fn closest_metric(name: &str) -> Option<&'static str> {
    metrics::ALL
        .iter()
        .map(|m| (strsim::jaro_winkler(name, m.name), m.name))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n)
}

/// The name of the config workload a result comes from: a `gobench`
/// workload's benchmarks are `<workload>/<benchmark>` (config names hold
/// no `/`).
pub fn configured_name(workload: &str) -> &str {
    workload.split('/').next().unwrap_or(workload)
}

/// A workload's own entry in a table keyed by workload name: its own, or
/// its config workload's (a benchmark of a `gobench` workload).
fn own_entry<'a, T>(table: &'a BTreeMap<String, T>, workload: &str) -> Option<&'a T> {
    table
        .get(workload)
        .or_else(|| table.get(configured_name(workload)))
}

impl GatePolicy {
    fn unknown_metric(&self, field: String, name: &str) -> PolicyError {
        PolicyError {
            config: self.config.clone(),
            field,
            problem: PolicyProblem::UnknownMetric {
                name: name.to_owned(),
                suggestion: closest_metric(name),
            },
        }
    }

    /// An amount in the wrong unit at `field` (for `metric`, when the field
    /// does not name it).
    fn unit_error(
        &self,
        field: String,
        mismatch: UnitMismatch,
        metric: Option<String>,
    ) -> PolicyError {
        PolicyError {
            config: self.config.clone(),
            field,
            problem: PolicyProblem::Unit { mismatch, metric },
        }
    }

    /// Whether a metric of the baseline may be absent now: its workload was
    /// removed on purpose, or an `optional` glob matches it.
    pub fn may_be_absent(&self, workload: &str, metric: &str) -> bool {
        self.removed
            .iter()
            .any(|w| w == workload || w == configured_name(workload))
            || self.optional.iter().any(|p| {
                p.split_once(':').is_some_and(|(w, m)| {
                    let glob = |g: &str, s: &str| glob::Pattern::new(g).is_ok_and(|g| g.matches(s));
                    glob(w, workload) && glob(m, metric)
                })
            })
    }

    /// The confidence level in use.
    pub fn confidence(&self) -> f64 {
        self.confidence.unwrap_or(DEFAULT_CONFIDENCE)
    }

    /// The threshold for `metric` of `workload`, whose samples are in `unit`.
    fn threshold(
        &self,
        workload: &str,
        metric: &str,
        unit: Unit,
    ) -> Result<Threshold, PolicyError> {
        let def = metrics::lookup(metric);
        let mut t = Threshold {
            min_change: def.map_or(0.0, |m| m.noise_floor),
            ..Threshold::default()
        };
        let mut layers: Vec<(String, &ThresholdSpec)> = Vec::new();
        if let Some(spec) = self.thresholds.get("default") {
            layers.push(("thresholds.default".into(), spec));
        }
        // A metric with a built-in tolerance keeps it over the generic
        // default; an entry naming the metric overrides both.
        let builtin = def.and_then(|m| m.tolerance).map(|tol| ThresholdSpec {
            max_increase: Some(Percent(tol)),
            min_change: None,
            alpha: None,
        });
        if let Some(spec) = &builtin {
            layers.push(("built-in".into(), spec));
        }
        if let Some(spec) = self.thresholds.get(metric) {
            layers.push((format!("thresholds.{metric}"), spec));
        }
        if let Some(own) = own_entry(&self.workload_thresholds, workload) {
            for key in ["default", metric] {
                if let Some(spec) = own.get(key) {
                    layers.push((format!("workloads[{workload}].thresholds.{key}"), spec));
                }
            }
        }
        for (field, spec) in layers {
            if let Some(p) = spec.max_increase {
                t.max_increase = p.0;
            }
            if let Some(a) = spec.alpha {
                t.alpha = a;
            }
            if let Some(q) = spec.min_change {
                t.min_change = q.in_unit(unit).map_err(|e| {
                    self.unit_error(format!("{field}.min_change"), e, Some(metric.to_owned()))
                })?;
            }
        }
        Ok(t)
    }

    /// The threshold and budget of `metric` of `workload`, whose samples
    /// are in `unit`.
    pub fn limit(&self, workload: &str, metric: &str, unit: Unit) -> Result<Limit, PolicyError> {
        Ok(Limit {
            threshold: self.threshold(workload, metric, unit)?,
            budget: self.budget(workload, metric, unit)?,
        })
    }

    /// The hard ceiling for `metric` of `workload`, in the metric's unit.
    fn budget(&self, workload: &str, metric: &str, unit: Unit) -> Result<Option<f64>, PolicyError> {
        let Some(q) = own_entry(&self.budgets, workload).and_then(|b| b.get(metric)) else {
            return Ok(None);
        };
        q.in_unit(unit)
            .map(Some)
            .map_err(|e| self.unit_error(format!("budgets.{workload}.{metric}"), e, None))
    }

    /// Checks every entry naming a known metric against its unit and the
    /// ranges of alpha and confidence; returns the first problem.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let check_prob = |field: String, v: f64| {
            if v > 0.0 && v < 1.0 {
                Ok(())
            } else {
                Err(PolicyError {
                    config: self.config.clone(),
                    field,
                    problem: PolicyProblem::NotProbability(v),
                })
            }
        };
        if let Some(c) = self.confidence {
            check_prob("gate.confidence".into(), c)?;
        }
        let all_thresholds = std::iter::once((None, &self.thresholds)).chain(
            self.workload_thresholds
                .iter()
                .map(|(w, t)| (Some(w.as_str()), t)),
        );
        for (workload, table) in all_thresholds {
            let prefix = workload
                .map(|w| format!("workloads[{w}]."))
                .unwrap_or_default();
            for (metric, spec) in table {
                if metric != "default" && !is_metric(metric) {
                    return Err(self.unknown_metric(format!("{prefix}thresholds.{metric}"), metric));
                }
                if let Some(a) = spec.alpha {
                    check_prob(format!("{prefix}thresholds.{metric}.alpha"), a)?;
                }
                if let (Some(def), Some(q)) = (metrics::lookup(metric), spec.min_change) {
                    q.in_unit(def.unit).map_err(|e| {
                        self.unit_error(format!("{prefix}thresholds.{metric}.min_change"), e, None)
                    })?;
                }
            }
        }
        for (workload, table) in &self.budgets {
            for (metric, q) in table {
                if !is_metric(metric) {
                    return Err(self.unknown_metric(format!("budgets.{workload}.{metric}"), metric));
                }
                if let Some(def) = metrics::lookup(metric) {
                    q.in_unit(def.unit).map_err(|e| {
                        self.unit_error(format!("budgets.{workload}.{metric}"), e, None)
                    })?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_by_form() {
        assert_eq!(
            "1MiB".parse::<Quantity>().unwrap(),
            Quantity::Bytes(1 << 20)
        );
        assert_eq!(
            "5ms".parse::<Quantity>().unwrap(),
            Quantity::Duration(Duration::from_millis(5))
        );
        assert_eq!("12".parse::<Quantity>().unwrap(), Quantity::Number(12.0));
        assert!("lots".parse::<Quantity>().is_err());
        assert_eq!(Quantity::Bytes(1024).in_unit(Unit::Bytes), Ok(1024.0));
        assert!(Quantity::Bytes(1024).in_unit(Unit::Seconds).is_err());
    }

    #[test]
    fn thresholds_resolve_in_layers() {
        let mut p = GatePolicy::default();
        p.thresholds.insert(
            "default".into(),
            ThresholdSpec {
                max_increase: Some(Percent(0.1)),
                ..Default::default()
            },
        );
        p.thresholds.insert(
            "process.rss.peak".into(),
            ThresholdSpec {
                min_change: Some(Quantity::Bytes(2 << 20)),
                ..Default::default()
            },
        );
        let mut own = BTreeMap::new();
        own.insert(
            "process.rss.peak".into(),
            ThresholdSpec {
                max_increase: Some(Percent(0.2)),
                alpha: Some(0.01),
                ..Default::default()
            },
        );
        p.workload_thresholds.insert("w".into(), own);
        let t = p.threshold("w", "process.rss.peak", Unit::Bytes).unwrap();
        assert_eq!(
            (t.max_increase, t.min_change, t.alpha),
            (0.2, (2 << 20) as f64, 0.01)
        );
        let t = p
            .threshold("other", "process.faults.minor", Unit::Count)
            .unwrap();
        assert_eq!(t.max_increase, 0.1, "the generic default");
        assert_eq!(t.min_change, metrics::FAULTS_MINOR.noise_floor);
        // Load-sensitive metrics keep their built-in tolerance over the
        // generic default, until the config names them.
        let t = p.threshold("other", "process.wall", Unit::Seconds).unwrap();
        assert_eq!(t.max_increase, 0.25);
        p.thresholds.insert(
            "process.wall".into(),
            ThresholdSpec {
                max_increase: Some(Percent(0.02)),
                ..Default::default()
            },
        );
        assert_eq!(
            p.threshold("other", "process.wall", Unit::Seconds)
                .unwrap()
                .max_increase,
            0.02
        );
    }
}
