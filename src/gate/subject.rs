//! What the gate judges (one metric of one workload, with its limit), and
//! the verdicts that need no comparison: a metric on one side only, or
//! measured in another phase or at another iteration count.

use crate::policy::Limit;
use crate::results::Series;
use crate::stats::Summary;
use crate::verdicts::{Status, Verdict};

use super::judge::apply_budget;

/// Why a metric is on one side only.
#[derive(Debug, Clone, Copy)]
pub(super) enum OneSided {
    /// The current workload ran, failed, and has no sample.
    CurrentFailed,
    /// The baseline's workload failed (relative mode's base did not build
    /// or run): nothing to compare with.
    BaselineFailed,
    /// Not measured now.
    BaselineOnly,
    /// In the baseline only, and the config allows it.
    Removed,
    /// New: not in the baseline.
    CurrentOnly,
}

pub(super) fn values(s: &Series) -> Vec<f64> {
    s.samples.iter().map(|v| v.as_f64()).collect()
}

/// One metric of one workload, and what it is judged against.
pub(super) struct Subject<'a> {
    pub(super) workload: &'a str,
    pub(super) metric: &'a str,
    pub(super) limit: Limit,
}

impl Subject<'_> {
    /// A verdict on this subject with no conclusion yet.
    pub(super) fn verdict(
        &self,
        s: &Series,
        status: Status,
        xs: Vec<f64>,
        ys: Vec<f64>,
    ) -> Verdict {
        Verdict {
            workload: self.workload.to_owned(),
            metric: self.metric.to_owned(),
            unit: s.unit,
            better: s.better,
            stability: s.stability,
            status,
            reason: String::new(),
            softened: None,
            baseline: Summary::of(&xs),
            current: Summary::of(&ys),
            change: None,
            test: None,
            threshold: self.limit.threshold,
            budget: self.limit.budget,
            baseline_samples: xs,
            current_samples: ys,
            attribution: None,
            detectable: None,
            history: None,
            drift: None,
        }
    }
}

/// The verdict on a metric that is on one side only.
pub(super) fn missing(subject: &Subject<'_>, s: &Series, side: OneSided) -> Verdict {
    let xs = values(s);
    let (status, reason) = match side {
        OneSided::CurrentFailed => (
            Status::Failed,
            "not measured now: the workload's current build or runs failed (see the failed workloads)",
        ),
        OneSided::BaselineFailed => (
            Status::Failed,
            "not compared: the workload's build or runs failed on the baseline side (see the failed workloads)",
        ),
        OneSided::BaselineOnly => (
            Status::Missing,
            "in the baseline, not measured now: a collector or workload is gone; if on purpose, list the workload in gate.removed or the metric in gate.optional",
        ),
        OneSided::Removed => (
            Status::Removed,
            "in the baseline only: removed on purpose (gate.removed or gate.optional)",
        ),
        OneSided::CurrentOnly => (
            Status::New,
            "new: not in the baseline, nothing to compare with",
        ),
    };
    let (baseline, current) = match side {
        OneSided::CurrentOnly | OneSided::BaselineFailed => (Vec::new(), xs),
        _ => (xs, Vec::new()),
    };
    let mut v = subject.verdict(s, status, baseline, current);
    v.reason = reason.to_owned();
    // A budget is a ceiling on what runs now, with or without a baseline.
    match side {
        OneSided::CurrentOnly => apply_budget(v),
        _ => v,
    }
}

/// The verdict on a metric measured in different phases on the two sides
/// (a baseline recorded before the workload's phases changed): never
/// compared, and a failure until a new baseline is recorded.
pub(super) fn other_phase(subject: &Subject<'_>, b: &Series, c: &Series) -> Verdict {
    let name = |s: &Series| match s.phase {
        Some(p) => format!("the {p} phase"),
        None => "a single phase".to_owned(),
    };
    let mut v = subject.verdict(c, Status::Missing, values(b), values(c));
    v.reason = format!(
        "not comparable: measured in {} in the baseline and in {} now; record a new baseline (memgate baseline save)",
        name(b),
        name(c)
    );
    v
}

/// The verdict on a metric of a Go benchmark run at different iteration
/// counts on the two sides: never compared (per-op figures carry set-up
/// amortised over the count, per-process ones grow with it), and a failure
/// until a new baseline is recorded.
pub(super) fn other_count(
    subject: &Subject<'_>,
    b: &Series,
    c: &Series,
    counts: (u64, u64),
) -> Verdict {
    let mut v = subject.verdict(c, Status::Missing, values(b), values(c));
    v.reason = format!(
        "not comparable: the benchmark ran {}x in the baseline and {}x now; record a new baseline (memgate run, then memgate baseline save)",
        counts.0, counts.1
    );
    v
}
