//! Drift budgets (`drift:`): the head may not exceed a metric's level at
//! an anchor commit by more than the budget, however small each step was.
//! The levels come from the history (read by the command); here, each
//! verdict that still passes is failed as over budget when its current
//! median is beyond it, saying how far it moved since the anchor and
//! which recorded changes of level used the budget.

use std::collections::BTreeMap;

use crate::metrics::Better;
use crate::policy::DriftRule;
use crate::units::human;
use crate::verdicts::{Status, Verdict};

/// A metric's level at its anchor, from the history.
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorLevel {
    /// Workload.
    pub workload: String,
    /// Metric.
    pub metric: String,
    /// The anchor commit.
    pub sha: String,
    /// The anchor commit's median.
    pub level: f64,
    /// How the anchor was found (`10 commits back`, `v1.4.0`).
    pub described: String,
    /// Recorded changes of level since the anchor: (first commit at the
    /// new level, relative change).
    pub changes: Vec<(String, f64)>,
}

/// The rule for `metric`: its own, else `default`.
pub fn rule_for<'r>(rules: &'r BTreeMap<String, DriftRule>, metric: &str) -> Option<&'r DriftRule> {
    rules.get(metric).or_else(|| rules.get("default"))
}

/// Fails, as over budget, each passing verdict whose current median lies
/// beyond its anchor's level by more than its rule allows. Returns how
/// many it failed.
pub fn apply(
    verdicts: &mut [Verdict],
    rules: &BTreeMap<String, DriftRule>,
    anchors: &[AnchorLevel],
) -> usize {
    let mut failed = 0;
    for v in verdicts.iter_mut().filter(|v| !v.status.fails()) {
        let (Some(rule), Some(cur)) = (rule_for(rules, &v.metric), v.current) else {
            continue;
        };
        let Some(a) = anchors
            .iter()
            .find(|a| a.workload == v.workload && a.metric == v.metric)
        else {
            continue;
        };
        if a.level == 0.0 {
            continue;
        }
        let grown = match v.better {
            Better::Lower => cur.median / a.level - 1.0,
            Better::Higher => a.level / cur.median - 1.0,
        };
        if grown.is_nan() || grown <= rule.max_increase {
            continue;
        }
        let used: Vec<String> = a
            .changes
            .iter()
            .map(|(sha, c)| {
                format!(
                    "{:+.1}% at {} ({:.0}% of the budget)",
                    c * 100.0,
                    &sha[..sha.len().min(12)],
                    c / rule.max_increase * 100.0
                )
            })
            .collect();
        v.reason = format!(
            "drift: {:+.1}% since {} ({}, {} then, {} now), over the budget of {:.1}%{}; {}",
            grown * 100.0,
            &a.sha[..a.sha.len().min(12)],
            a.described,
            human(v.unit, a.level),
            human(v.unit, cur.median),
            rule.max_increase * 100.0,
            if used.is_empty() {
                String::new()
            } else {
                format!("; the recorded changes: {}", used.join(", "))
            },
            v.reason
        );
        v.status = Status::OverBudget;
        v.drift = Some(grown);
        failed += 1;
    }
    failed
}
