//! Judging one (workload, metric): the exact rule for constant or
//! deterministic samples, the Mann-Whitney U test otherwise (concluded once
//! the run's multiple-testing correction is known), tolerances, budgets,
//! and the downgrade of machine-dependent metrics across environments.

use crate::metrics::{Better, Stability, Unit};
use crate::policy::{Correction, Limit, Threshold};
use crate::results::Series;
use crate::stats::{self, Summary};
use crate::units::{fmt_p, human};
use crate::verdicts::{Change, Method, Status, TestOutcome, Verdict};

/// Why a metric is on one side only.
#[derive(Debug, Clone, Copy)]
pub(super) enum OneSided {
    /// The current workload ran, failed, and has no sample.
    CurrentFailed,
    /// Not measured now.
    BaselineOnly,
    /// New: not in the baseline.
    CurrentOnly,
}

fn values(s: &Series) -> Vec<f64> {
    s.samples.iter().map(|v| v.as_f64()).collect()
}

/// One metric of one workload, and what it is judged against.
pub(super) struct Subject<'a> {
    pub(super) workload: &'a str,
    pub(super) metric: &'a str,
    pub(super) limit: Limit,
}

impl Subject<'_> {
    /// A verdict on this subject with no samples and no conclusion yet.
    fn verdict(&self, s: &Series, status: Status, xs: Vec<f64>, ys: Vec<f64>) -> Verdict {
        Verdict {
            workload: self.workload.to_owned(),
            metric: self.metric.to_owned(),
            unit: s.unit,
            better: s.better,
            stability: s.stability,
            status,
            reason: String::new(),
            baseline: Summary::of(&xs),
            current: Summary::of(&ys),
            change: None,
            test: None,
            threshold: self.limit.threshold,
            budget: self.limit.budget,
            baseline_samples: xs,
            current_samples: ys,
        }
    }
}

/// The verdict on a metric that is on one side only.
pub(super) fn missing(subject: &Subject<'_>, s: &Series, side: OneSided) -> Verdict {
    let xs = values(s);
    let (reason, baseline_samples, current_samples) = match side {
        OneSided::CurrentFailed => (
            "not measured now: the workload's current runs failed (see the failed workloads)"
                .to_owned(),
            xs,
            Vec::new(),
        ),
        OneSided::BaselineOnly => (
            "in the baseline only: not measured now".to_owned(),
            xs,
            Vec::new(),
        ),
        OneSided::CurrentOnly => (
            "new: not in the baseline, nothing to compare with".to_owned(),
            Vec::new(),
            xs,
        ),
    };
    let mut v = subject.verdict(s, Status::Missing, baseline_samples, current_samples);
    v.reason = reason;
    v
}

pub(super) enum Judged {
    Done(Verdict),
    Test(Pending),
}

/// A verdict waiting for the run's multiple-testing correction.
pub(super) struct Pending {
    verdict: Verdict,
    pub(super) u: stats::MannWhitney,
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

/// Judges a metric on both sides: done at once under the exact rule, or a
/// U test waiting for the run's correction. `env_differs`: the sides ran in
/// environments whose difference may downgrade machine-dependent metrics.
pub(super) fn judge(
    subject: &Subject<'_>,
    b: &Series,
    c: &Series,
    confidence: f64,
    env_differs: bool,
) -> Judged {
    let unit = c.unit;
    let mut v = subject.verdict(c, Status::Inconclusive, values(b), values(c));
    let (xs, ys) = (v.baseline_samples.clone(), v.current_samples.clone());
    let (bs, cs) = (v.baseline, v.current);
    let (Some(bs), Some(cs)) = (bs, cs) else {
        v.reason = format!(
            "no successful runs on the {} side",
            if bs.is_none() { "baseline" } else { "current" }
        );
        return Judged::Done(apply_budget(v));
    };
    let change = Change {
        delta: cs.median - bs.median,
        ratio: (bs.median != 0.0).then(|| cs.median / bs.median),
    };
    v.change = Some(change);
    let what = describe_change(unit, bs.median, cs.median, &change);

    let constant = bs.is_constant() && cs.is_constant();
    if constant || c.stability == Stability::Deterministic {
        return Judged::Done(exact(v, bs, cs, &what, constant, env_differs));
    }
    let u = match stats::mann_whitney(&xs, &ys) {
        Ok(u) => u,
        Err(e) => {
            v.reason = e.to_string();
            return Judged::Done(apply_budget(v));
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
    Judged::Test(Pending {
        verdict: v,
        u,
        env_differs,
    })
}

/// The exact rule, for samples constant on both sides or a deterministic
/// metric: the change of the median against the tolerances, no test.
fn exact(
    mut v: Verdict,
    bs: Summary,
    cs: Summary,
    what: &str,
    constant: bool,
    env_differs: bool,
) -> Verdict {
    let unit = v.unit;
    let threshold = v.threshold;
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
    (v.status, v.reason) = match beyond_tolerance(v.better, bs.median, cs.median, &threshold) {
        Some(true) => (
            Status::Regression,
            format!("{what}, beyond {}; {basis}", threshold.describe(unit)),
        ),
        Some(false) => (Status::Improvement, format!("{what}; {basis}")),
        None if bs.median == cs.median => (Status::Unchanged, basis),
        None => (
            Status::Unchanged,
            format!("{what}, within {}; {basis}", threshold.describe(unit)),
        ),
    };
    if v.status == Status::Regression && env_differs && v.stability == Stability::MachineDependent {
        downgrade(&mut v);
    }
    apply_budget(v)
}

impl Pending {
    /// Concludes the U test once the run's correction is known: significant
    /// and beyond the tolerances is a change; too few runs to ever reach
    /// significance is inconclusive, with the runs needed. (Long because the
    /// four outcomes share the p and tolerance texts.)
    pub(super) fn conclude(
        self,
        p_adjusted: f64,
        divisor: f64,
        m: usize,
        correction: Correction,
    ) -> Verdict {
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
        // benchstat counts p == alpha as significant: `FormatDelta` in x/perf
        // `benchmath/sample.go` prints "~" only when p > alpha.
        let significant = p_adjusted <= t.alpha;
        (verdict.status, verdict.reason) = if significant {
            match beyond_tolerance(verdict.better, base, cur, &t) {
                Some(true) => (
                    Status::Regression,
                    format!("{what}, {p_text}; beyond {}", t.describe(unit)),
                ),
                Some(false) => (Status::Improvement, format!("{what}, {p_text}")),
                None => (
                    Status::Unchanged,
                    format!(
                        "{what}, {p_text}: significant but within {}",
                        t.describe(unit)
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
