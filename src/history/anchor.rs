//! The levels `drift:` budgets count from: for each current workload and
//! metric that a rule covers, the anchor commit's median in the history,
//! in the current results' environment, and the recorded changes of level
//! since.

use std::collections::BTreeMap;
use std::path::Path;

use crate::gate::drift::{AnchorLevel, rule_for};
use crate::policy::{Anchor, DriftRule};
use crate::results::Results;

use super::drift::{DriftSettings, shifts};
use super::{History, HistoryError};

/// The anchor levels of `cur`'s metrics under `rules`, from the history at
/// `db`, and notes on what could not be anchored (no history, a ref not
/// recorded). A git ref is resolved in `repo`.
pub fn anchor_levels(
    db: &Path,
    rules: &BTreeMap<String, DriftRule>,
    cur: &Results,
    repo: &Path,
) -> Result<(Vec<AnchorLevel>, Vec<String>), HistoryError> {
    let mut notes = Vec::new();
    if rules.is_empty() {
        return Ok((Vec::new(), notes));
    }
    if !db.exists() {
        notes.push(format!(
            "drift budgets are set, but there is no history at {} yet (`check --save-baseline` and `memgate history add` record one)",
            db.display()
        ));
        return Ok((Vec::new(), notes));
    }
    let h = History::open(db, false)?;
    let mut levels = Vec::new();
    let mut resolved: BTreeMap<String, Option<String>> = BTreeMap::new();
    for w in &cur.workloads {
        for metric in w.metrics.keys() {
            let Some(rule) = rule_for(rules, metric) else {
                continue;
            };
            // Enough of the newest commits for the anchor and the changes
            // since; a ref may name any recorded commit.
            let last = match &rule.since {
                Anchor::Commits(n) | Anchor::Best(n) => {
                    Some((*n + 1).max(DriftSettings::default().window))
                }
                Anchor::Ref(_) => None,
            };
            let Some(series) = h.series_in(cur, &w.name, metric, last)? else {
                continue;
            };
            let at = match &rule.since {
                Anchor::Commits(n) => series.points.len().checked_sub(*n).or(Some(0)),
                Anchor::Best(n) => {
                    let from = series.points.len().saturating_sub(*n);
                    let better = |a: f64, b: f64| match series.better {
                        crate::metrics::Better::Lower => a < b,
                        crate::metrics::Better::Higher => a > b,
                    };
                    (from..series.points.len()).reduce(|best, i| {
                        if better(
                            series.points[i].summary.median,
                            series.points[best].summary.median,
                        ) {
                            i
                        } else {
                            best
                        }
                    })
                }
                Anchor::Ref(r) => {
                    let sha = resolved
                        .entry(r.clone())
                        .or_insert_with(|| rev_parse(repo, r))
                        .clone();
                    let found = sha
                        .as_deref()
                        .and_then(|sha| series.points.iter().position(|p| p.sha == sha));
                    if found.is_none() {
                        notes.push(format!(
                            "drift of {}/{metric}: {r} is not a recorded commit of this environment's history",
                            w.name
                        ));
                    }
                    found
                }
            };
            let Some(mut at) = at else {
                continue;
            };
            // An increase accepted since moved the anchor to its commit.
            let mut described = rule.since.to_string();
            if let Some(moved) = series.points.iter().rposition(|p| p.accepted.is_some())
                && moved > at
            {
                at = moved;
                described = format!(
                    "{described}, moved here by an acceptance: {}",
                    series.points[moved].accepted.as_deref().unwrap_or_default()
                );
            }
            let anchor = &series.points[at];
            let changes = shifts(&series, DriftSettings::default())
                .into_iter()
                .filter(|s| {
                    series
                        .points
                        .iter()
                        .position(|p| p.sha == s.to_sha)
                        .is_some_and(|i| i > at)
                })
                .map(|s| (s.to_sha, s.change))
                .collect();
            levels.push(AnchorLevel {
                workload: w.name.clone(),
                metric: metric.clone(),
                sha: anchor.sha.clone(),
                level: anchor.summary.median,
                described,
                changes,
            });
        }
    }
    Ok((levels, notes))
}

/// Commits a verdict's trace shows.
const TRACE_COMMITS: usize = 30;

/// Attaches to each failing verdict its metric's last commits in the
/// history at `db` (in `cur`'s environment), with the changes of level
/// marked; nothing when there is no history or no series.
pub fn attach_traces(
    db: &Path,
    verdicts: &mut crate::verdicts::Verdicts,
    cur: &Results,
) -> Result<(), HistoryError> {
    if !db.exists() || !verdicts.verdicts.iter().any(|v| v.status.fails()) {
        return Ok(());
    }
    let h = History::open(db, false)?;
    for v in verdicts.verdicts.iter_mut().filter(|v| v.status.fails()) {
        let Some(series) = h.series_in(
            cur,
            &v.workload,
            &v.metric,
            Some(DriftSettings::default().window),
        )?
        else {
            continue;
        };
        let start = series.points.len().saturating_sub(TRACE_COMMITS);
        let shown = &series.points[start..];
        let changes = shifts(&series, DriftSettings::default())
            .iter()
            .filter_map(|s| shown.iter().position(|p| p.sha == s.to_sha))
            .collect();
        let short = |sha: &str| sha.chars().take(12).collect::<String>();
        v.history = Some(crate::verdicts::Trace {
            medians: shown.iter().map(|p| p.summary.median).collect(),
            changes,
            commits: (
                shown.first().map(|p| short(&p.sha)).unwrap_or_default(),
                shown.last().map(|p| short(&p.sha)).unwrap_or_default(),
            ),
        });
    }
    Ok(())
}

/// The commit `reference` names in the repository at `repo`, if any.
fn rev_parse(repo: &Path, reference: &str) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
        .arg(format!("{reference}^{{commit}}"))
        .current_dir(repo)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
