//! `--accept`: regressions someone declared intended. `WORKLOAD:METRIC`
//! globs turn matching regressions into accepted verdicts, recorded with
//! the reason, so the report still shows them and the gate passes.

use crate::verdicts::{Acceptance, Status, Verdicts};

/// An `--accept` pattern that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// No `:` between the workload and the metric.
    #[error("--accept `{pattern}` is not WORKLOAD:METRIC (globs allowed, e.g. `api-*:heap.*`)")]
    NotWorkloadMetric {
        /// The pattern as given.
        pattern: String,
    },
    /// One half is not a glob.
    #[error("--accept `{pattern}`: {source}")]
    Glob {
        /// The pattern as given.
        pattern: String,
        /// What the glob parser said.
        source: glob::PatternError,
    },
}

/// One compiled `WORKLOAD:METRIC` pattern, and whether it matched.
struct Pattern {
    text: String,
    workload: glob::Pattern,
    metric: glob::Pattern,
    matched: bool,
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, AcceptError> {
        let (w, m) = text
            .split_once(':')
            .ok_or_else(|| AcceptError::NotWorkloadMetric {
                pattern: text.to_owned(),
            })?;
        let glob = |g: &str| {
            glob::Pattern::new(g).map_err(|source| AcceptError::Glob {
                pattern: text.to_owned(),
                source,
            })
        };
        Ok(Pattern {
            text: text.to_owned(),
            workload: glob(w)?,
            metric: glob(m)?,
            matched: false,
        })
    }
}

/// Turns regressions matching any `WORKLOAD:METRIC` glob into accepted
/// ones, and recounts. Returns the patterns that matched nothing.
pub fn accept(
    verdicts: &mut Verdicts,
    patterns: &[String],
    reason: Option<String>,
) -> Result<Vec<String>, AcceptError> {
    if patterns.is_empty() {
        return Ok(Vec::new());
    }
    let mut compiled = patterns
        .iter()
        .map(|p| Pattern::parse(p))
        .collect::<Result<Vec<_>, _>>()?;
    let because = reason
        .as_deref()
        .map(|r| format!(", {r}"))
        .unwrap_or_default();
    for v in &mut verdicts.verdicts {
        // A regression, or a drift budget's breach (an intended increase,
        // as a regression is); a fixed ceiling (`budgets:`) is not accepted.
        let drifted = v.status == Status::OverBudget && v.drift.is_some();
        if v.status != Status::Regression && !drifted {
            continue;
        }
        if let Some(c) = compiled
            .iter_mut()
            .find(|c| c.workload.matches(&v.workload) && c.metric.matches(&v.metric))
        {
            c.matched = true;
            v.status = Status::Accepted;
            v.reason = format!("accepted ({}{because}): {}", c.text, v.reason);
        }
    }
    super::recount(verdicts);
    verdicts.acceptance = Some(Acceptance {
        patterns: patterns.to_vec(),
        reason,
    });
    Ok(compiled
        .into_iter()
        .filter(|c| !c.matched)
        .map(|c| c.text)
        .collect())
}
