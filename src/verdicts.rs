//! The verdicts schema (`memgate/verdicts/v1`): what one gate run
//! concluded, per (workload, metric), and the context a report needs (both
//! sides, settings, environment differences, failed workloads, timelines).
//! Plain data: the gate writes it, reports and `memgate report` read it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::fingerprint::Environment;
use crate::metrics::{Better, Stability, Unit};
use crate::policy::{Correction, LoadSensitive, Threshold};
use crate::results::{Results, Timeline};
use crate::stats::{HodgesLehmann, Summary};

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
    /// Not measured now because the workload's current build or runs
    /// failed. Fails the gate.
    Failed,
    /// In the baseline, not measured now: a collector broke or a workload
    /// disappeared. Fails the gate unless the config says it was removed.
    Missing,
    /// A regression someone declared intended (`--accept`). Reported, does not fail.
    Accepted,
    /// A regression that something other than the code can explain: an
    /// environment difference that can change the metric, or the load on
    /// the runner against a stored baseline. Reported, does not fail.
    Warning,
    /// Too few samples to reach significance, and no change far beyond the
    /// tolerances. Reported with the runs needed, does not fail.
    Inconclusive,
    /// In the baseline only, and the config says the workload was removed
    /// or the metric is optional. Reported, does not fail.
    Removed,
    /// New: measured now, not in the baseline. Reported, does not fail.
    New,
    /// Significantly better, beyond the tolerances.
    Improvement,
    /// No change worth reporting.
    Unchanged,
}

impl Status {
    /// Whether this verdict fails the gate.
    pub fn fails(self) -> bool {
        matches!(
            self,
            Status::OverBudget | Status::Regression | Status::Failed | Status::Missing
        )
    }

    /// The name used in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::OverBudget => "over-budget",
            Status::Regression => "regression",
            Status::Failed => "failed",
            Status::Missing => "missing",
            Status::Accepted => "accepted",
            Status::Warning => "warning",
            Status::Inconclusive => "inconclusive",
            Status::Removed => "removed",
            Status::New => "new",
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
    /// Every sample of both sides is the same value: nothing to test.
    Exact,
    /// The samples do not overlap: every current run lies beyond every
    /// baseline run (a tight baseline and a gap beyond the tolerances, or
    /// a change far beyond them).
    Separated,
    /// A near-deterministic metric: a tight baseline and every current run
    /// within the tolerances of its median.
    Within,
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
    /// Why a regression is only a warning: said once per cause in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub softened: Option<Softened>,
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
    /// For a memory metric that regressed or broke its budget: the
    /// allocation sites whose figures changed, from both sides' heap
    /// profiles, or why there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<crate::attribution::Attribution>,
    /// The smallest regression this comparison could have caught, as a
    /// fraction of the baseline's median (0.05 = +5%): the baseline's runs,
    /// as many as the current side has, every one made worse by it, judged
    /// by the same rules at the family's first Holm bar, before any
    /// softening. `None` when no change could fail it (or nothing was
    /// compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detectable: Option<f64>,
    /// The metric's recent history, for a failing verdict when the history
    /// has the metric in this environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Trace>,
    /// When a `drift:` budget failed it: the growth since the anchor, as a
    /// fraction (0.12 = +12%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<f64>,
}

/// A metric's last commits in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Trace {
    /// Each commit's median, oldest first (at most 30).
    pub medians: Vec<f64>,
    /// Indices into `medians` where the level moved (the first commit at
    /// the new level).
    pub changes: Vec<usize>,
    /// The first and last commits shown.
    pub commits: (String, String),
}

/// What turned a regression into a warning.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "cause", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Softened {
    /// A load-sensitive metric against a stored baseline.
    Load,
    /// The baseline ran in another environment, which can change the metric.
    Environment {
        /// The differences, e.g. `kernel 6.1.0 → 6.8.0`.
        differences: Vec<String>,
    },
    /// A figure the program decides moved beyond its tolerances, with too
    /// few runs to tell the move from noise.
    FewRuns {
        /// Runs per side that would decide it.
        needed: usize,
    },
}

impl Softened {
    /// The cause in one sentence, for a report that says it once.
    pub fn explanation(&self) -> String {
        match self {
            Softened::Load => "these metrics move with the load on the runner, and against a stored baseline a busier runner looks the same: warnings, not failures (they gate in relative mode, --base-ref, or with gate.load_sensitive: fail)".into(),
            Softened::Environment { differences } => format!(
                "the baseline ran in another environment ({}), which can change these metrics: warnings, not failures (gate.strict_env: true fails them anyway)",
                differences.join(", ")
            ),
            Softened::FewRuns { needed } => format!(
                "allocation or heap figures moved beyond their tolerances, but too few runs cannot tell that from noise (counts vary across processes: one Go benchmark read 11, 14 or 17 allocs/op): warnings, not failures; at least {needed} runs per side decide them"
            ),
        }
    }
}

impl Verdict {
    /// The reason with its cause, for a format that shows one verdict at a
    /// time (annotations, JUnit).
    pub fn full_reason(&self) -> String {
        match &self.softened {
            Some(s) => format!("{}; {}", self.reason, s.explanation()),
            None => self.reason.clone(),
        }
    }
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
    /// Workloads of this side measured beside the other side's, on one
    /// machine, interleaved (relative mode): their load-sensitive metrics
    /// gate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interleaved: Vec<String>,
}

impl Side {
    /// Describes a results value read from `source`.
    pub fn of(source: &str, r: &Results) -> Side {
        Side {
            source: source.to_owned(),
            created_at: r.created_at.clone(),
            environments: r.environments.clone(),
            interleaved: Vec::new(),
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
    /// Comparisons of the run with samples on both sides: the candidates
    /// of the multiple-testing family.
    pub tests: usize,
    /// Comparisons in the Holm family (m): those whose runs can reach
    /// significance at its level (Tarone's screen).
    #[serde(default)]
    pub family: usize,
    /// Whether machine-dependent metrics fail across environments.
    pub strict_env: bool,
    /// What a load-sensitive regression does against a stored baseline.
    #[serde(default)]
    pub load_sensitive: LoadSensitive,
}

/// Counts per status and the overall result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Tally {
    /// Whether the gate passed: no regression, no budget breach, nothing
    /// missing, no failed workload.
    pub passed: bool,
    /// Current workloads whose build or runs failed.
    #[serde(default)]
    pub failed_workloads: usize,
    /// Over-budget verdicts.
    pub over_budget: usize,
    /// Regressions.
    pub regressions: usize,
    /// Metrics not measured now because their workload failed.
    #[serde(default)]
    pub failed: usize,
    /// Regressions accepted as intended.
    #[serde(default)]
    pub accepted: usize,
    /// Warnings.
    pub warnings: usize,
    /// Inconclusive verdicts.
    pub inconclusive: usize,
    /// Metrics in the baseline and not measured now.
    pub missing: usize,
    /// Metrics the config says were removed on purpose or are optional.
    #[serde(default)]
    pub removed: usize,
    /// Metrics measured now and not in the baseline.
    #[serde(default)]
    pub new: usize,
    /// Improvements.
    pub improvements: usize,
    /// Unchanged.
    pub unchanged: usize,
    /// Parity verdicts that fail: a candidate worse than its reference.
    #[serde(default)]
    pub parity_breaches: usize,
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
    /// Parity rules' verdicts: per rule (as `workload`) and metric, the
    /// candidate (as current) against the reference (as baseline) of the
    /// same run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parity: Vec<Verdict>,
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

impl Verdict {
    /// The p cell of reports: p after correction, the rule that needed no
    /// test (`exact`, `separated`), or `-`.
    pub fn p_text(&self) -> String {
        match self.test {
            Some(t) => match (t.p_adjusted.or(t.p), t.method) {
                (Some(p), _) => crate::units::fmt_p(p),
                (None, Method::Separated) => "separated".into(),
                (None, _) => "exact".into(),
            },
            None => "-".into(),
        }
    }
}

impl Tally {
    /// Metrics judged on both sides (everything but failed, missing,
    /// removed and new).
    pub fn compared(&self) -> usize {
        self.over_budget
            + self.regressions
            + self.accepted
            + self.warnings
            + self.inconclusive
            + self.improvements
            + self.unchanged
    }
}

impl Verdicts {
    /// Writes the verdicts file atomically, its verdicts serialized on
    /// every core (most of a large comparison's file).
    pub fn write(&mut self, path: &std::path::Path) -> Result<(), crate::atomic::WriteError> {
        let verdicts = std::mem::take(&mut self.verdicts);
        let written = crate::atomic::write_json_with(path, &*self, "verdicts", &verdicts);
        self.verdicts = verdicts;
        written
    }

    /// The workload names, each once, in the order of the verdicts.
    pub fn workload_names(&self) -> Vec<&str> {
        let mut seen = std::collections::BTreeSet::new();
        self.verdicts
            .iter()
            .map(|x| x.workload.as_str())
            .filter(|w| seen.insert(*w))
            .collect()
    }

    /// Whether the gate failed (a regression or a budget breach).
    pub fn failed(&self) -> bool {
        !self.tally.passed
    }
}
