//! The gate: turns a baseline, the current results and the policy into
//! verdicts, one per (workload, metric), without crying wolf.
//!
//! - Both sides constant, or a deterministic metric: the exact rule. Any
//!   change beyond the tolerance is real; no test is needed or meaningful.
//! - Otherwise the two-sided Mann-Whitney U test, Holm-corrected across
//!   every test of the run; a regression needs significance AND a change of
//!   the median beyond both `max_increase` and `min_change`.
//! - Sample sizes that can never reach significance after correction give
//!   "inconclusive", with the number of runs that would be needed.
//! - A budget fails on its own when the current median exceeds it.
//! - When the two sides ran in different environments, regressions of
//!   machine-dependent metrics become warnings unless `strict_env`.
//!
//! The verdicts are data; reports render them and `main` picks the exit code.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::fingerprint::Environment;
use crate::metrics::{Better, Stability, Unit};
use crate::policy::{Correction, GatePolicy, PolicyError, Threshold};
use crate::results::{Results, Series, Timeline, WorkloadResults};
use crate::stats::{self, HodgesLehmann, Summary};
use crate::units::human;

/// The schema tag of verdicts files.
pub const VERDICTS_SCHEMA: &str = "memgate/verdicts/v1";

/// What the gate concluded for one (workload, metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The current median exceeds a hard budget. Fails the gate.
    OverBudget,
    /// Significantly worse, beyond the tolerances. Fails the gate.
    Regression,
    /// A regression someone declared intended (`--accept`). Reported, does not fail.
    Accepted,
    /// A regression of a machine-dependent metric measured in another
    /// environment than its baseline. Reported, does not fail.
    Warning,
    /// Too few samples to ever reach significance.
    Inconclusive,
    /// The metric or workload is on one side only.
    Missing,
    /// Significantly better, beyond the tolerances.
    Improvement,
    /// No change worth reporting.
    Unchanged,
}

impl Status {
    /// Whether this verdict fails the gate.
    pub fn fails(self) -> bool {
        matches!(self, Status::OverBudget | Status::Regression)
    }

    /// The name used in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::OverBudget => "over-budget",
            Status::Regression => "regression",
            Status::Accepted => "accepted",
            Status::Warning => "warning",
            Status::Inconclusive => "inconclusive",
            Status::Missing => "missing",
            Status::Improvement => "improvement",
            Status::Unchanged => "unchanged",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a verdict was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Medians compared directly against the tolerances.
    Exact,
    /// Two-sided Mann-Whitney U test, then the tolerances.
    MannWhitneyU,
}

/// The statistics behind a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TestOutcome {
    /// Exact rule or U test.
    pub method: Method,
    /// The U test's two-sided p-value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    /// p after the run's multiple-testing correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_adjusted: Option<f64>,
    /// Whether the U test used its exact distribution.
    #[serde(default)]
    pub exact_distribution: bool,
    /// The smallest p these sample sizes can give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_attainable_p: Option<f64>,
    /// The p a test needs to count, after correction (alpha / m under Holm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection_threshold: Option<f64>,
    /// Hodges-Lehmann shift (current - baseline) and its interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<HodgesLehmann>,
}

/// The change of the median.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// current median - baseline median, in the metric's unit.
    pub delta: f64,
    /// current median / baseline median; absent when the baseline is 0.
    pub ratio: Option<f64>,
}

impl Change {
    /// The change in percent, when defined.
    pub fn percent(&self) -> Option<f64> {
        self.ratio.map(|r| (r - 1.0) * 100.0)
    }
}

/// One (workload, metric) judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// Workload name.
    pub workload: String,
    /// Metric name.
    pub metric: String,
    /// Unit of the values.
    pub unit: Unit,
    /// Direction of improvement.
    pub better: Better,
    /// Whether the values travel between machines.
    pub stability: Stability,
    /// The conclusion.
    pub status: Status,
    /// Why, in one sentence with the figures.
    pub reason: String,
    /// The baseline side, when it has samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Summary>,
    /// The current side, when it has samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Summary>,
    /// Change of the median.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// Statistics behind the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<TestOutcome>,
    /// The tolerances applied.
    pub threshold: Threshold,
    /// The hard ceiling, when one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<f64>,
    /// Every baseline sample.
    pub baseline_samples: Vec<f64>,
    /// Every current sample.
    pub current_samples: Vec<f64>,
}

/// One side of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Side {
    /// Where the results came from (a path, or a ref and commit).
    pub source: String,
    /// When they were written.
    pub created_at: String,
    /// The environments they were measured in.
    pub environments: Vec<Environment>,
}

impl Side {
    /// Describes a results value read from `source`.
    pub fn of(source: &str, r: &Results) -> Side {
        Side {
            source: source.to_owned(),
            created_at: r.created_at.clone(),
            environments: r.environments.clone(),
        }
    }
}

/// A field of the environment fingerprint that differs between the sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EnvDifference {
    /// The workload whose sides differ.
    pub workload: String,
    /// The field, e.g. `cpu_model` or `tags.allocator`.
    pub field: String,
    /// The baseline's value.
    pub baseline: String,
    /// The current value.
    pub current: String,
}

/// A workload of the current results whose build or runs failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FailedWorkload {
    /// Workload name.
    pub workload: String,
    /// What failed.
    pub reason: String,
}

/// Settings the verdicts were reached with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Multiple-testing correction.
    pub correction: Correction,
    /// Confidence of the shift intervals.
    pub confidence: f64,
    /// Number of U tests in the run (m for Holm).
    pub tests: usize,
    /// Whether machine-dependent metrics fail across environments.
    pub strict_env: bool,
}

/// Counts per status and the overall result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Tally {
    /// Whether the gate passed (no regression, no budget breach).
    pub passed: bool,
    /// Over-budget verdicts.
    pub over_budget: usize,
    /// Regressions.
    pub regressions: usize,
    /// Regressions accepted as intended.
    #[serde(default)]
    pub accepted: usize,
    /// Warnings.
    pub warnings: usize,
    /// Inconclusive verdicts.
    pub inconclusive: usize,
    /// Metrics or workloads on one side only.
    pub missing: usize,
    /// Improvements.
    pub improvements: usize,
    /// Unchanged.
    pub unchanged: usize,
}

/// Everything one gate run concluded: the verdicts file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Verdicts {
    /// Always [`VERDICTS_SCHEMA`].
    pub schema: String,
    /// The memgate version that judged.
    pub memgate_version: String,
    /// When.
    pub created_at: String,
    /// The baseline side.
    pub baseline: Side,
    /// The current side.
    pub current: Side,
    /// Settings in force.
    pub settings: Settings,
    /// Environment differences between the sides, per workload.
    pub environment_differences: Vec<EnvDifference>,
    /// Current workloads whose build or runs failed.
    pub failed_workloads: Vec<FailedWorkload>,
    /// One per (workload, metric), failing ones first.
    pub verdicts: Vec<Verdict>,
    /// Counts and the overall result.
    pub tally: Tally,
    /// The regressions declared intended, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<Acceptance>,
    /// RSS timelines of each side's median run (by process.rss.peak), per
    /// workload, where they were recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timelines: Vec<TimelinePair>,
}

/// `--accept`: which regressions are intended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    /// `WORKLOAD:METRIC` globs.
    pub patterns: Vec<String>,
    /// Why, as given with `--accept-reason`.
    pub reason: Option<String>,
}

/// The median run's RSS timeline on both sides of one workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TimelinePair {
    /// Workload name.
    pub workload: String,
    /// The baseline's median run.
    pub baseline: Option<Timeline>,
    /// The current median run.
    pub current: Option<Timeline>,
}

/// Most points kept of a timeline in the verdicts.
pub const TIMELINE_POINTS: usize = 60;

/// The timeline of the run whose process.rss.peak is the median, thinned
/// to at most [`TIMELINE_POINTS`] points.
fn median_timeline(w: &WorkloadResults) -> Option<Timeline> {
    let mut runs: Vec<(&crate::results::Run, u64)> = w
        .runs
        .iter()
        .filter(|r| !r.warmup && r.status.is_ok())
        .filter_map(|r| {
            let t = r.timeline.as_ref()?;
            let peak = t.rss_bytes.iter().copied().max()?;
            Some((r, peak))
        })
        .collect();
    if runs.is_empty() {
        return None;
    }
    runs.sort_by_key(|(_, peak)| *peak);
    let t = runs[runs.len() / 2].0.timeline.as_ref()?;
    let step = t.t_us.len().div_ceil(TIMELINE_POINTS).max(1);
    Some(Timeline {
        interval_seconds: t.interval_seconds,
        t_us: t.t_us.iter().step_by(step).copied().collect(),
        rss_bytes: t.rss_bytes.iter().step_by(step).copied().collect(),
    })
}

impl Verdicts {
    /// Turns regressions matching any `WORKLOAD:METRIC` glob into accepted
    /// ones, and recounts. Returns the patterns that matched nothing.
    pub fn accept(
        &mut self,
        patterns: &[String],
        reason: Option<String>,
    ) -> Result<Vec<String>, String> {
        if patterns.is_empty() {
            return Ok(Vec::new());
        }
        let mut compiled = Vec::new();
        for p in patterns {
            let (w, m) = p.split_once(':').ok_or_else(|| {
                format!("`{p}` is not WORKLOAD:METRIC (globs allowed, e.g. `api-*:heap.*`)")
            })?;
            let glob = |g: &str| glob::Pattern::new(g).map_err(|e| format!("`{p}`: {e}"));
            compiled.push((p.clone(), glob(w)?, glob(m)?, false));
        }
        for v in &mut self.verdicts {
            if v.status != Status::Regression {
                continue;
            }
            if let Some(c) = compiled
                .iter_mut()
                .find(|c| c.1.matches(&v.workload) && c.2.matches(&v.metric))
            {
                c.3 = true;
                v.status = Status::Accepted;
                v.reason = format!(
                    "accepted ({}{}): {}",
                    c.0,
                    reason
                        .as_deref()
                        .map(|r| format!(", {r}"))
                        .unwrap_or_default(),
                    v.reason
                );
            }
        }
        self.verdicts.sort_by_key(|v| v.status);
        self.tally = tally(&self.verdicts);
        self.acceptance = Some(Acceptance {
            patterns: patterns.to_vec(),
            reason,
        });
        Ok(compiled.into_iter().filter(|c| !c.3).map(|c| c.0).collect())
    }
}

impl Verdicts {
    /// The workload names, each once, in the order of the verdicts.
    pub fn workload_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for x in &self.verdicts {
            if !names.contains(&x.workload.as_str()) {
                names.push(&x.workload);
            }
        }
        names
    }

    /// Whether the gate failed (a regression or a budget breach).
    pub fn failed(&self) -> bool {
        !self.tally.passed
    }
}

/// Judges `current` against `baseline` under `policy`.
pub fn evaluate(
    policy: &GatePolicy,
    baseline: &Side,
    base: &Results,
    current: &Side,
    cur: &Results,
) -> Result<Verdicts, PolicyError> {
    let confidence = policy.confidence();
    let mut differences = Vec::new();
    let mut verdicts = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();

    let base_by_name: BTreeMap<&str, &WorkloadResults> = base
        .workloads
        .iter()
        .map(|w| (w.name.as_str(), w))
        .collect();
    let cur_names: Vec<&str> = cur.workloads.iter().map(|w| w.name.as_str()).collect();
    for cw in &cur.workloads {
        let Some(bw) = base_by_name.get(cw.name.as_str()) else {
            for (metric, s) in &cw.metrics {
                verdicts.push(missing(policy, &cw.name, metric, s, Side2::CurrentOnly)?);
            }
            continue;
        };
        let diffs = env_differences(bw, base, cw, cur);
        let env_differs = !diffs.is_empty();
        differences.extend(diffs);
        let metrics: std::collections::BTreeSet<&String> =
            bw.metrics.keys().chain(cw.metrics.keys()).collect();
        for metric in metrics {
            match (bw.metrics.get(metric), cw.metrics.get(metric)) {
                (Some(b), Some(c)) => {
                    let j = judge(policy, &cw.name, metric, b, c, confidence, env_differs)?;
                    match j {
                        Judged::Done(v) => verdicts.push(v),
                        Judged::Test(p) => pending.push(p),
                    }
                }
                (Some(b), None) => {
                    let side = if cw.has_failures() {
                        Side2::CurrentFailed
                    } else {
                        Side2::BaselineOnly
                    };
                    verdicts.push(missing(policy, &cw.name, metric, b, side)?)
                }
                (None, Some(c)) => {
                    verdicts.push(missing(policy, &cw.name, metric, c, Side2::CurrentOnly)?)
                }
                (None, None) => {}
            }
        }
    }
    for bw in &base.workloads {
        if !cur_names.contains(&bw.name.as_str()) {
            for (metric, s) in &bw.metrics {
                verdicts.push(missing(policy, &bw.name, metric, s, Side2::BaselineOnly)?);
            }
        }
    }

    let m = pending.len();
    let ps: Vec<f64> = pending.iter().map(|p| p.u.p).collect();
    let adjusted = match policy.correction {
        Correction::Holm => stats::holm(&ps),
        Correction::None => ps.clone(),
    };
    let divisor = match policy.correction {
        Correction::Holm => m.max(1) as f64,
        Correction::None => 1.0,
    };
    for (p, adj) in pending.into_iter().zip(adjusted) {
        verdicts.push(p.conclude(adj, divisor, m, policy.correction));
    }

    verdicts.sort_by_key(|v| v.status);
    let failed_workloads = cur
        .workloads
        .iter()
        .filter_map(|w| {
            let reason = if let Some(f) = &w.build_failure {
                f.reason.clone()
            } else {
                let failed: Vec<String> = w
                    .runs
                    .iter()
                    .filter(|r| r.status.is_failure())
                    .map(|r| format!("run {}: {}", r.index + 1, r.status))
                    .collect();
                if failed.is_empty() {
                    return None;
                }
                failed.join("; ")
            };
            Some(FailedWorkload {
                workload: w.name.clone(),
                reason,
            })
        })
        .collect();
    let tally = tally(&verdicts);
    let timelines = cur
        .workloads
        .iter()
        .filter_map(|cw| {
            let baseline = base_by_name
                .get(cw.name.as_str())
                .and_then(|bw| median_timeline(bw));
            let current = median_timeline(cw);
            (baseline.is_some() || current.is_some()).then(|| TimelinePair {
                workload: cw.name.clone(),
                baseline,
                current,
            })
        })
        .collect();
    Ok(Verdicts {
        schema: VERDICTS_SCHEMA.to_owned(),
        memgate_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: crate::fingerprint::now_rfc3339(),
        baseline: baseline.clone(),
        current: current.clone(),
        settings: Settings {
            correction: policy.correction,
            confidence,
            tests: m,
            strict_env: policy.strict_env,
        },
        environment_differences: differences,
        failed_workloads,
        verdicts,
        tally,
        acceptance: None,
        timelines,
    })
}

fn tally(verdicts: &[Verdict]) -> Tally {
    let mut t = Tally::default();
    for v in verdicts {
        match v.status {
            Status::OverBudget => t.over_budget += 1,
            Status::Regression => t.regressions += 1,
            Status::Accepted => t.accepted += 1,
            Status::Warning => t.warnings += 1,
            Status::Inconclusive => t.inconclusive += 1,
            Status::Missing => t.missing += 1,
            Status::Improvement => t.improvements += 1,
            Status::Unchanged => t.unchanged += 1,
        }
    }
    t.passed = t.over_budget == 0 && t.regressions == 0;
    t
}

#[derive(Debug, Clone, Copy)]
enum Side2 {
    /// The current workload ran, failed, and has no sample.
    CurrentFailed,
    BaselineOnly,
    CurrentOnly,
}

fn values(s: &Series) -> Vec<f64> {
    s.samples.iter().map(|v| v.as_f64()).collect()
}

fn missing(
    policy: &GatePolicy,
    workload: &str,
    metric: &str,
    s: &Series,
    side: Side2,
) -> Result<Verdict, PolicyError> {
    let xs = values(s);
    let (reason, baseline_samples, current_samples) = match side {
        Side2::CurrentFailed => (
            "not measured now: the workload's current runs failed (see the failed workloads)"
                .to_owned(),
            xs,
            Vec::new(),
        ),
        Side2::BaselineOnly => (
            "in the baseline only: not measured now".to_owned(),
            xs,
            Vec::new(),
        ),
        Side2::CurrentOnly => (
            "new: not in the baseline, nothing to compare with".to_owned(),
            Vec::new(),
            xs,
        ),
    };
    Ok(Verdict {
        workload: workload.to_owned(),
        metric: metric.to_owned(),
        unit: s.unit,
        better: s.better,
        stability: s.stability,
        status: Status::Missing,
        reason,
        baseline: Summary::of(&baseline_samples),
        current: Summary::of(&current_samples),
        change: None,
        test: None,
        threshold: policy.threshold(workload, metric, s.unit)?,
        budget: policy.budget(workload, metric, s.unit)?,
        baseline_samples,
        current_samples,
    })
}

enum Judged {
    Done(Verdict),
    Test(Pending),
}

/// A verdict waiting for the run's multiple-testing correction.
struct Pending {
    verdict: Verdict,
    u: stats::MannWhitney,
    env_differs: bool,
}

/// Whether a change of the median is beyond both tolerances, and in which
/// direction: `Some(true)` worse, `Some(false)` better, `None` within.
fn beyond_tolerance(better: Better, base: f64, cur: f64, t: &Threshold) -> Option<bool> {
    let worse_by = match better {
        Better::Lower => cur - base,
        Better::Higher => base - cur,
    };
    let relative = if base == 0.0 {
        if worse_by == 0.0 {
            0.0
        } else {
            f64::INFINITY.copysign(worse_by)
        }
    } else {
        worse_by / base.abs()
    };
    if relative > t.max_increase && worse_by > t.min_change {
        Some(true)
    } else if -relative > t.max_increase && -worse_by > t.min_change {
        Some(false)
    } else {
        None
    }
}

fn describe_change(unit: Unit, base: f64, cur: f64, change: &Change) -> String {
    let pct = change
        .percent()
        .map(|p| format!("{p:+.2}% "))
        .unwrap_or_default();
    format!("{pct}(median {} → {})", human(unit, base), human(unit, cur))
}

fn tolerance_text(unit: Unit, t: &Threshold) -> String {
    format!(
        "{:.4}% and {}",
        t.max_increase * 100.0,
        human(unit, t.min_change)
    )
    .replace(".0000%", "%")
}

fn judge(
    policy: &GatePolicy,
    workload: &str,
    metric: &str,
    b: &Series,
    c: &Series,
    confidence: f64,
    env_differs: bool,
) -> Result<Judged, PolicyError> {
    let unit = c.unit;
    // Only a difference that is allowed to matter downgrades anything.
    let env_differs = env_differs && !policy.strict_env;
    let (xs, ys) = (values(b), values(c));
    let threshold = policy.threshold(workload, metric, unit)?;
    let budget = policy.budget(workload, metric, unit)?;
    let (bs, cs) = (Summary::of(&xs), Summary::of(&ys));
    let mut v = Verdict {
        workload: workload.to_owned(),
        metric: metric.to_owned(),
        unit,
        better: c.better,
        stability: c.stability,
        status: Status::Inconclusive,
        reason: String::new(),
        baseline: bs,
        current: cs,
        change: None,
        test: None,
        threshold,
        budget,
        baseline_samples: xs.clone(),
        current_samples: ys.clone(),
    };
    let (Some(bs), Some(cs)) = (bs, cs) else {
        v.reason = format!(
            "no successful runs on the {} side",
            if bs.is_none() { "baseline" } else { "current" }
        );
        return Ok(Judged::Done(apply_budget(v)));
    };
    let change = Change {
        delta: cs.median - bs.median,
        ratio: (bs.median != 0.0).then(|| cs.median / bs.median),
    };
    v.change = Some(change);
    let what = describe_change(unit, bs.median, cs.median, &change);

    let constant = bs.is_constant() && cs.is_constant();
    if constant || c.stability == Stability::Deterministic {
        v.test = Some(TestOutcome {
            method: Method::Exact,
            p: None,
            p_adjusted: None,
            exact_distribution: false,
            min_attainable_p: None,
            detection_threshold: None,
            shift: None,
        });
        let basis = if constant {
            if bs.median == cs.median {
                format!(
                    "identical on both sides ({} x{} vs x{})",
                    human(unit, bs.median),
                    bs.n,
                    cs.n
                )
            } else {
                "constant on both sides".to_owned()
            }
        } else {
            format!(
                "deterministic metric, compared exactly (it varied: {} to {})",
                human(unit, cs.min.min(bs.min)),
                human(unit, cs.max.max(bs.max))
            )
        };
        (v.status, v.reason) = match beyond_tolerance(c.better, bs.median, cs.median, &threshold) {
            Some(true) => (
                Status::Regression,
                format!(
                    "{what}, beyond {}; {basis}",
                    tolerance_text(unit, &threshold)
                ),
            ),
            Some(false) => (Status::Improvement, format!("{what}; {basis}")),
            None if bs.median == cs.median => (Status::Unchanged, basis),
            None => (
                Status::Unchanged,
                format!(
                    "{what}, within {}; {basis}",
                    tolerance_text(unit, &threshold)
                ),
            ),
        };
        if v.status == Status::Regression
            && env_differs
            && c.stability == Stability::MachineDependent
        {
            downgrade(&mut v);
        }
        return Ok(Judged::Done(apply_budget(v)));
    }
    let u = match stats::mann_whitney(&xs, &ys) {
        Ok(u) => u,
        Err(e) => {
            v.reason = e.to_string();
            return Ok(Judged::Done(apply_budget(v)));
        }
    };
    v.test = Some(TestOutcome {
        method: Method::MannWhitneyU,
        p: Some(u.p),
        p_adjusted: None,
        exact_distribution: u.exact,
        min_attainable_p: Some(stats::min_attainable_p(xs.len(), ys.len())),
        detection_threshold: None,
        shift: stats::hodges_lehmann(&xs, &ys, confidence),
    });
    v.reason = what;
    Ok(Judged::Test(Pending {
        verdict: v,
        u,
        env_differs,
    }))
}

impl Pending {
    fn conclude(self, p_adjusted: f64, divisor: f64, m: usize, correction: Correction) -> Verdict {
        let Pending {
            mut verdict,
            u,
            env_differs,
        } = self;
        let t = verdict.threshold;
        let unit = verdict.unit;
        let detect = t.alpha / divisor;
        let what = std::mem::take(&mut verdict.reason);
        let (n1, n2) = (
            verdict.baseline_samples.len(),
            verdict.current_samples.len(),
        );
        let min_p = stats::min_attainable_p(n1, n2);
        if let Some(test) = verdict.test.as_mut() {
            test.p_adjusted = Some(p_adjusted);
            test.detection_threshold = Some(detect);
        }
        let correction_text = match correction {
            Correction::Holm if m > 1 => format!(" after Holm over {m} tests"),
            _ => String::new(),
        };
        let p_text = if correction_text.is_empty() {
            format!("p = {}", fmt_p(u.p))
        } else {
            format!("p = {}, {}{correction_text}", fmt_p(u.p), fmt_p(p_adjusted))
        };
        let (base, cur) = match (verdict.baseline, verdict.current) {
            (Some(b), Some(c)) => (b.median, c.median),
            _ => (f64::NAN, f64::NAN),
        };
        // benchstat counts p == alpha as significant (reference §1.6).
        let significant = p_adjusted <= t.alpha;
        (verdict.status, verdict.reason) = if significant {
            match beyond_tolerance(verdict.better, base, cur, &t) {
                Some(true) => (
                    Status::Regression,
                    format!("{what}, {p_text}; beyond {}", tolerance_text(unit, &t)),
                ),
                Some(false) => (Status::Improvement, format!("{what}, {p_text}")),
                None => (
                    Status::Unchanged,
                    format!(
                        "{what}, {p_text}: significant but within {}",
                        tolerance_text(unit, &t)
                    ),
                ),
            }
        } else if min_p > detect {
            let needed = stats::runs_needed(detect);
            (
                Status::Inconclusive,
                format!(
                    "{what}; {n1} vs {n2} runs cannot reach significance: the smallest possible p is {}, {} needs p <= {}; use at least {needed} runs per side",
                    fmt_p(min_p),
                    if correction_text.is_empty() {
                        format!("alpha {}", t.alpha)
                    } else {
                        format!("Holm over {m} tests")
                    },
                    fmt_p(detect)
                ),
            )
        } else {
            (
                Status::Unchanged,
                format!("{what}, {p_text}: no significant difference"),
            )
        };
        if verdict.status == Status::Regression
            && env_differs
            && verdict.stability == Stability::MachineDependent
        {
            downgrade(&mut verdict);
        }
        apply_budget(verdict)
    }
}

/// p-values for people: 4 significant digits, scientific when small.
pub fn fmt_p(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}

fn downgrade(v: &mut Verdict) {
    v.status = Status::Warning;
    v.reason = format!(
        "{}; a warning, not a failure: the baseline was measured in another environment (see the differences) and this metric depends on the machine; set gate.strict_env to fail anyway",
        v.reason
    );
}

fn apply_budget(mut v: Verdict) -> Verdict {
    if let (Some(budget), Some(cur)) = (v.budget, v.current) {
        let over = match v.better {
            Better::Lower => cur.median > budget,
            Better::Higher => cur.median < budget,
        };
        if over {
            v.reason = format!(
                "median {} is over the budget of {}; {}",
                human(v.unit, cur.median),
                human(v.unit, budget),
                v.reason
            );
            v.status = Status::OverBudget;
        }
    }
    v
}

/// Fingerprint fields that differ between the environments of one workload.
fn env_differences(
    bw: &WorkloadResults,
    base: &Results,
    cw: &WorkloadResults,
    cur: &Results,
) -> Vec<EnvDifference> {
    let (Some(be), Some(ce)) = (
        base.environments.get(bw.environment),
        cur.environments.get(cw.environment),
    ) else {
        return Vec::new();
    };
    let toolchain = |e: &Environment| match cw.lang {
        crate::config::Lang::Go => e.go.clone(),
        crate::config::Lang::Rust => e.rustc.clone(),
        crate::config::Lang::Other => None,
    };
    let thp = |e: &Environment| {
        e.thp
            .as_ref()
            .map(|t| format!("enabled={} defrag={}", t.enabled, t.defrag))
    };
    let fields: Vec<(&str, Option<String>, Option<String>)> = vec![
        ("os", Some(be.os.clone()), Some(ce.os.clone())),
        ("arch", Some(be.arch.clone()), Some(ce.arch.clone())),
        ("cpu_model", be.cpu_model.clone(), ce.cpu_model.clone()),
        (
            "cores",
            be.cores.map(|c| c.to_string()),
            ce.cores.map(|c| c.to_string()),
        ),
        ("kernel", be.kernel.clone(), ce.kernel.clone()),
        ("thp", thp(be), thp(ce)),
        ("toolchain", toolchain(be), toolchain(ce)),
    ];
    let mut out: Vec<EnvDifference> = fields
        .into_iter()
        .filter(|(_, b, c)| b != c)
        .map(|(field, b, c)| EnvDifference {
            workload: cw.name.clone(),
            field: field.to_owned(),
            baseline: b.unwrap_or_else(|| "unknown".into()),
            current: c.unwrap_or_else(|| "unknown".into()),
        })
        .collect();
    for tag in ["allocator", "profile", "GOGC", "GOMEMLIMIT", "GOMAXPROCS"] {
        let (b, c) = (bw.tags.get(tag), cw.tags.get(tag));
        if b != c {
            out.push(EnvDifference {
                workload: cw.name.clone(),
                field: format!("tags.{tag}"),
                baseline: b.cloned().unwrap_or_else(|| "unset".into()),
                current: c.cloned().unwrap_or_else(|| "unset".into()),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{self, MetricDef};
    use crate::results::{RESULTS_SCHEMA, Value};

    fn results(workload: &str, metric: &MetricDef, samples: &[f64], cpu: &str) -> Results {
        let mut s = Series::new(metric, "test");
        s.samples = samples
            .iter()
            .map(|&v| {
                if v.fract() == 0.0 {
                    Value::Int(v as u64)
                } else {
                    Value::Float(v)
                }
            })
            .collect();
        let mut env = crate::fingerprint::Environment::detect(std::path::Path::new("/nonexistent"));
        env.cpu_model = Some(cpu.into());
        Results {
            schema: RESULTS_SCHEMA.into(),
            memgate_version: "test".into(),
            created_at: "2026-11-23T00:00:00Z".into(),
            shards: vec![],
            environments: vec![env],
            workloads: vec![WorkloadResults {
                name: workload.into(),
                lang: crate::config::Lang::Other,
                environment: 0,
                command: vec!["x".into()],
                tags: BTreeMap::new(),
                binary_sha256: None,
                build_failure: None,
                runs: vec![],
                metrics: BTreeMap::from([(metric.name.to_owned(), s)]),
            }],
        }
    }

    fn judge1(base: &[f64], cur: &[f64], policy: &GatePolicy) -> Verdict {
        judge_with(base, cur, policy, "cpu", "cpu")
    }

    fn judge_with(
        base: &[f64],
        cur: &[f64],
        policy: &GatePolicy,
        cpu_b: &str,
        cpu_c: &str,
    ) -> Verdict {
        let b = results("w", &metrics::RSS_PEAK, base, cpu_b);
        let c = results("w", &metrics::RSS_PEAK, cur, cpu_c);
        let v = evaluate(policy, &Side::of("b", &b), &b, &Side::of("c", &c), &c).unwrap();
        assert_eq!(v.verdicts.len(), 1);
        v.verdicts[0].clone()
    }

    const MIB: f64 = 1048576.0;

    fn spread(center: f64, n: usize) -> Vec<f64> {
        (0..n).map(|i| center + (i as f64) * 10_000.0).collect()
    }

    #[test]
    fn clear_regression_fails() {
        let v = judge1(
            &spread(100.0 * MIB, 8),
            &spread(120.0 * MIB, 8),
            &GatePolicy::default(),
        );
        assert_eq!(v.status, Status::Regression, "{}", v.reason);
        assert!(
            v.reason.starts_with(
                "+19.99% (median 100.0 MiB → 120.0 MiB), p = 0.0002; beyond 5% and 512.0 KiB"
            ),
            "{}",
            v.reason
        );
    }

    #[test]
    fn small_change_within_tolerance_passes() {
        let v = judge1(
            &spread(100.0 * MIB, 8),
            &spread(103.0 * MIB, 8),
            &GatePolicy::default(),
        );
        assert_eq!(v.status, Status::Unchanged, "{}", v.reason);
        assert!(
            v.reason.contains("significant but within 5%"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn too_few_runs_are_inconclusive_with_runs_needed() {
        let v = judge1(
            &spread(100.0 * MIB, 3),
            &spread(150.0 * MIB, 3),
            &GatePolicy::default(),
        );
        assert_eq!(v.status, Status::Inconclusive);
        assert!(
            v.reason.contains("use at least 4 runs per side"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn identical_constants_compare_exactly() {
        let v = judge1(&[5.0 * MIB; 4], &[5.0 * MIB; 4], &GatePolicy::default());
        assert_eq!(v.status, Status::Unchanged);
        assert_eq!(v.test.unwrap().method, Method::Exact);
        assert!(
            v.reason.starts_with("identical on both sides"),
            "{}",
            v.reason
        );
        let v = judge1(&[5.0 * MIB; 2], &[6.0 * MIB; 2], &GatePolicy::default());
        assert_eq!(
            v.status,
            Status::Regression,
            "constants that differ need no test: {}",
            v.reason
        );
    }

    #[test]
    fn budget_fails_on_its_own() {
        let mut policy = GatePolicy::default();
        policy.budgets.insert(
            "w".into(),
            BTreeMap::from([(
                "process.rss.peak".into(),
                crate::policy::Quantity::Bytes(50 << 20),
            )]),
        );
        let v = judge1(&spread(100.0 * MIB, 3), &spread(100.0 * MIB, 3), &policy);
        assert_eq!(v.status, Status::OverBudget);
        assert!(
            v.reason
                .starts_with("median 100.0 MiB is over the budget of 50.0 MiB"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn other_machine_turns_machine_dependent_regressions_into_warnings() {
        let v = judge_with(
            &spread(100.0 * MIB, 8),
            &spread(120.0 * MIB, 8),
            &GatePolicy::default(),
            "cpu A",
            "cpu B",
        );
        assert_eq!(v.status, Status::Warning, "{}", v.reason);
        let strict = GatePolicy {
            strict_env: true,
            ..Default::default()
        };
        let v = judge_with(
            &spread(100.0 * MIB, 8),
            &spread(120.0 * MIB, 8),
            &strict,
            "cpu A",
            "cpu B",
        );
        assert_eq!(v.status, Status::Regression);
    }

    #[test]
    fn missing_sides_are_reported() {
        let b = results("old", &metrics::RSS_PEAK, &[1.0], "c");
        let c = results("new", &metrics::RSS_PEAK, &[1.0], "c");
        let v = evaluate(
            &GatePolicy::default(),
            &Side::of("b", &b),
            &b,
            &Side::of("c", &c),
            &c,
        )
        .unwrap();
        let statuses: Vec<(&str, Status)> = v
            .verdicts
            .iter()
            .map(|v| (v.workload.as_str(), v.status))
            .collect();
        assert_eq!(
            statuses,
            [("new", Status::Missing), ("old", Status::Missing)]
        );
        assert!(v.tally.passed);
    }

    #[test]
    fn holm_raises_the_bar_across_many_tests() {
        // One shifted metric among many: 6 vs 6 separated gives p = 0.0022,
        // significant alone but not after Holm over 30 tests (0.05/30 = 0.0017).
        let base = spread(100.0 * MIB, 6);
        let cur = spread(130.0 * MIB, 6);
        let mut b = results("w", &metrics::RSS_PEAK, &base, "c");
        let mut c = results("w", &metrics::RSS_PEAK, &cur, "c");
        for i in 0..29 {
            let mut s = Series::new(&metrics::RSS_PEAK, "t");
            s.samples = spread(10.0 * MIB, 6)
                .iter()
                .map(|&v| Value::Int(v as u64 + i))
                .collect();
            b.workloads[0]
                .metrics
                .insert(format!("custom.{i}"), s.clone());
            c.workloads[0].metrics.insert(format!("custom.{i}"), s);
        }
        let v = evaluate(
            &GatePolicy::default(),
            &Side::of("b", &b),
            &b,
            &Side::of("c", &c),
            &c,
        )
        .unwrap();
        assert_eq!(v.settings.tests, 30);
        let rss = v
            .verdicts
            .iter()
            .find(|v| v.metric == "process.rss.peak")
            .unwrap();
        assert_eq!(rss.status, Status::Inconclusive, "{}", rss.reason);
        assert!(
            rss.reason.contains("use at least 7 runs per side"),
            "{}",
            rss.reason
        );
        let none = GatePolicy {
            correction: Correction::None,
            ..Default::default()
        };
        let v = evaluate(&none, &Side::of("b", &b), &b, &Side::of("c", &c), &c).unwrap();
        let rss = v
            .verdicts
            .iter()
            .find(|v| v.metric == "process.rss.peak")
            .unwrap();
        assert_eq!(rss.status, Status::Regression, "{}", rss.reason);
    }
}
