//! Judging one (workload, metric). In order:
//!
//! 1. A side without samples: missing (fails), failed (its workload failed;
//!    fails), removed (the config says so; passes) or new (passes).
//! 2. Every sample of both sides the same value: unchanged, nothing to test.
//! 3. **Separated**: every current run beyond every baseline run, and
//!    either
//!    - *near-deterministic*: a baseline whose spread was measured (at
//!      least [`MEASURED_SPREAD_RUNS`] runs) and whose whole range fits in
//!      half the tolerance band, at least [`SEPARATED_MIN_RUNS`] current
//!      runs, and a gap between the sides beyond the tolerances (allocation
//!      counts, a Go footprint: spread well under 1%, where a rank test
//!      cannot reach significance with 3 + 3 runs); or
//!    - *far*: the gap between the sides, from the nearest baseline run,
//!      is more than [`FAR_MULTIPLE`] times the tolerances of that run
//!      (and wider than the baseline's range when its spread is measured),
//!      at any number of runs: a change that large never passes as
//!      "inconclusive", and one outlying baseline run cannot hide it.
//!
//!    With a measured, tight baseline and enough current runs, every
//!    current run within the tolerances of the baseline's median is
//!    **unchanged** (no test needed).
//!
//!    Three equal baseline runs are not a measured spread: a metric with a
//!    few values shows three equal ones often (google/btree's allocs/op
//!    read 11, 14 or 17 at one count with no collection), and across
//!    hundreds of metrics one such decision outside the test is a false
//!    alarm. See [`MEASURED_SPREAD_RUNS`].
//! 4. Otherwise the two-sided Mann-Whitney U test, concluded once the run's
//!    family is fixed (see [`super::family`]; every comparison of steps
//!    2-4 is a candidate of it): significant and beyond the tolerances is
//!    a change; too few runs to ever reach significance is inconclusive,
//!    with the runs needed.
//!
//! Every rule only ever reads the samples through quantities that move one
//! way when a current sample grows (its minimum, its median, the U
//! statistic), so making a current run worse never turns a failure into a
//! pass. Then budgets, and the downgrade of a regression that an
//! environment difference or a stored baseline's load can explain.

use crate::metrics::{Better, Stability, Unit};
use crate::policy::{Correction, Limit, Threshold};
use crate::results::Series;
use crate::stats::{self, Summary};
use crate::units::{fmt_p, human};
use crate::verdicts::{Change, Method, Softened, Status, TestOutcome, Verdict};

use super::env::Softening;
use super::family::{Candidate, Family};
use super::subject::{Subject, values};

/// Current runs the near-deterministic rule needs: fewer, and one unlucky
/// run decides.
pub const SEPARATED_MIN_RUNS: usize = 3;

/// Baseline runs that measure a metric's spread, so that the
/// near-deterministic rule may read it. Allocation counts of real
/// benchmarks are not deterministic by construction, even at a pinned
/// count with no collection: google/btree's
/// `DeleteAndRestore/ClearBigFreelist` read 11, 14 or 17 allocs/op across
/// processes (inputs seeded by the clock's second, which is also why the
/// runner takes benchmarks round by round). For a metric whose main value
/// comes with
/// probability p, a false alarm needs all n baseline runs at it and all 3
/// current runs at a worse one: at most p^n (1-p)^3, whose largest value
/// over p is 1.6% at n = 3, 0.3% at n = 6 and 0.09% at n = 10. A metric
/// spreading +-12% (go-bigobj's page faults) never shows 10 runs within
/// half a 5% band. `memgate run`, `check --save-baseline` and relative mode
/// measure the phase that gives the memory figures at least this often.
pub const MEASURED_SPREAD_RUNS: usize = 10;

/// How many times the tolerances the gap between the sides must exceed to
/// fail however few runs there are.
pub const FAR_MULTIPLE: f64 = 4.0;

/// Whether a judgement writes its reasons and the shift's interval: the
/// verdicts a user reads do; the sensitivity search ([`detectable`]), which
/// reads only the status, does not (formatting was most of its time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Words {
    /// Reasons written, the Hodges-Lehmann interval computed.
    Written,
    /// The status alone.
    Skipped,
}

impl Words {
    /// `text()`, or nothing when the words are skipped.
    fn say(self, text: impl FnOnce() -> String) -> String {
        match self {
            Words::Written => text(),
            Words::Skipped => String::new(),
        }
    }
}

pub(super) enum Judged {
    /// Decided with nothing to compare: one side, another phase or count.
    Done(Verdict),
    /// Both sides measured: a candidate of the run's family.
    Compared(Compared),
}

/// A comparison of both sides: decided by a rule, or a U test waiting for
/// the run's family (see [`super::family`]).
pub(super) struct Compared {
    verdict: Verdict,
    /// Its p-values for a change for the worse and for the better: a
    /// rule's decision is 0 in its direction, the test's p counts for the
    /// way the runs lean.
    p: (f64, f64),
    /// The U test, what may soften its regression, and whether its
    /// conclusion is worded.
    test: Option<(stats::MannWhitney, Softening, Words)>,
}

impl Compared {
    /// A rule's decision, by the status it gave.
    fn ruled(verdict: Verdict, status: Status) -> Judged {
        let p = match status {
            Status::Regression => (0.0, 1.0),
            Status::Improvement => (1.0, 0.0),
            _ => (1.0, 1.0),
        };
        Judged::Compared(Compared {
            verdict,
            p,
            test: None,
        })
    }

    /// What the family needs of this comparison.
    pub(super) fn candidate(&self) -> Candidate {
        Candidate {
            runs: (
                self.verdict.baseline_samples.len(),
                self.verdict.current_samples.len(),
            ),
            alpha: self.verdict.threshold.alpha,
            worse: self.p.0,
            better: self.p.1,
        }
    }
}

/// How much worse `cur` is than `base` for a metric where `better` wins:
/// positive when worse, in the metric's unit.
fn worse_by(better: Better, base: f64, cur: f64) -> f64 {
    match better {
        Better::Lower => cur - base,
        Better::Higher => base - cur,
    }
}

/// Whether a change of `worse` (in the unit, positive when worse) from a
/// baseline at `base` is beyond both tolerances scaled by `scale`, and in
/// which direction: `Some(true)` worse, `Some(false)` better, `None` within.
fn beyond(worse: f64, base: f64, t: &Threshold, scale: f64) -> Option<bool> {
    let relative = if base == 0.0 {
        if worse == 0.0 {
            0.0
        } else {
            f64::INFINITY.copysign(worse)
        }
    } else {
        worse / base.abs()
    };
    let (rel_limit, abs_limit) = (t.max_increase * scale, t.min_change * scale);
    if relative > rel_limit && worse > abs_limit {
        Some(true)
    } else if -relative > rel_limit && -worse > abs_limit {
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

/// Judges a metric on both sides: done at once (no samples, identical,
/// separated), or a U test waiting for the run's correction. `soften`:
/// what may turn a regression into a warning.
pub(super) fn judge(
    subject: &Subject<'_>,
    b: &Series,
    c: &Series,
    confidence: f64,
    soften: Softening,
    words: Words,
) -> Judged {
    let unit = c.unit;
    let mut v = subject.verdict(c, Status::Inconclusive, values(b), values(c));
    // A figure read in steps (gctrace's whole MiB) is never judged finer:
    // a change must exceed one step to count.
    let step = [b.resolution, c.resolution]
        .into_iter()
        .flatten()
        .fold(0.0, f64::max);
    v.threshold.min_change = v.threshold.min_change.max(step);
    let (Some(bs), Some(cs)) = (v.baseline, v.current) else {
        // A series with no samples although its runs did not fail: the
        // collector gave nothing this time.
        v.status = Status::Missing;
        v.reason = words.say(|| {
            format!(
                "no samples on the {} side",
                if v.baseline.is_none() {
                    "baseline"
                } else {
                    "current"
                }
            )
        });
        return Judged::Done(apply_budget(v));
    };
    let change = Change {
        delta: cs.median - bs.median,
        ratio: (bs.median != 0.0).then(|| cs.median / bs.median),
    };
    v.change = Some(change);
    let what = words.say(|| describe_change(unit, bs.median, cs.median, &change));
    if bs.min == bs.max && cs.min == cs.max && bs.min == cs.min {
        v.test = Some(TestOutcome::exact(Method::Exact));
        v.status = Status::Unchanged;
        v.reason = words.say(|| {
            format!(
                "identical on both sides ({} x{} vs x{})",
                human(unit, bs.median),
                bs.n,
                cs.n
            )
        });
        return Compared::ruled(apply_budget(v), Status::Unchanged);
    }
    if let Some(separated) = separated(&v, bs, cs, words) {
        v.test = Some(TestOutcome::exact(Method::Separated));
        (v.status, v.reason) = separated;
        v.reason = words.say(|| format!("{what}; {}", v.reason));
        let status = v.status;
        downgrade(&mut v, &soften);
        return Compared::ruled(apply_budget(v), status);
    }
    if let Some(why) = within(&v, bs, cs, words) {
        v.test = Some(TestOutcome::exact(Method::Within));
        v.status = Status::Unchanged;
        v.reason = words.say(|| format!("{what}; {why}"));
        return Compared::ruled(apply_budget(v), Status::Unchanged);
    }
    let (xs, ys) = (&v.baseline_samples, &v.current_samples);
    let u = match stats::mann_whitney(xs, ys) {
        Ok(u) => u,
        Err(e) => {
            v.reason = words.say(|| format!("{what}; {e}"));
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
        // The search computes the shift only where it decides (see
        // `Compared::conclude`).
        shift: match words {
            Words::Written => stats::hodges_lehmann(xs, ys, Some(confidence)),
            Words::Skipped => None,
        },
    });
    v.reason = what;
    // The way the runs lean: U1 counts the pairs where the baseline run is
    // the larger, so below half of all pairs the current side lies higher.
    let half = (xs.len() * ys.len()) as f64 / 2.0;
    let higher_is_worse = v.better == Better::Lower;
    let p = if u.u1 == half {
        (u.p, u.p)
    } else if (u.u1 < half) == higher_is_worse {
        (u.p, 1.0)
    } else {
        (1.0, u.p)
    };
    Judged::Compared(Compared {
        verdict: v,
        p,
        test: Some((u, soften, words)),
    })
}

/// The separated rule: `Some((status, why))` when every current run lies
/// beyond every baseline run and either the baseline is tight (its range
/// within half the tolerance band), both sides have enough runs and the
/// gap is beyond the tolerances, or the median moved far beyond them and
/// the gap is wider than the baseline's range. Only the baseline's spread
/// is read: a current run made worse can widen the gap, never close it.
fn separated(v: &Verdict, bs: Summary, cs: Summary, words: Words) -> Option<(Status, String)> {
    let t = &v.threshold;
    let unit = v.unit;
    // The nearest current run to the baseline, in the direction of the change.
    let (worse_gap, better_gap) = match v.better {
        Better::Lower => (cs.min - bs.max, bs.min - cs.max),
        Better::Higher => (bs.min - cs.max, cs.min - bs.max),
    };
    let (gap, status) = if worse_gap > 0.0 {
        (worse_gap, Status::Regression)
    } else if better_gap > 0.0 {
        (better_gap, Status::Improvement)
    } else {
        return None;
    };
    let word = if cs.min > bs.max { "above" } else { "below" };
    let (n1, n2) = (bs.n, cs.n);
    let range = bs.max - bs.min;
    let tight = t.is_tight(range, bs.median) && spread_can_be_measured(v);
    let signed_gap = if status == Status::Regression {
        gap
    } else {
        -gap
    };
    if n1 >= MEASURED_SPREAD_RUNS
        && n2 >= SEPARATED_MIN_RUNS
        && tight
        && beyond(signed_gap, bs.median, t, 1.0).is_some()
    {
        return Some((
            status,
            words.say(|| {
                format!(
                    "every current run is {word} every baseline run by at least {} ({n1} vs {n2} runs, baseline range {} measured within half the tolerances {})",
                    human(unit, gap),
                    human(unit, range),
                    t.describe(unit)
                )
            }),
        ));
    }
    // Far: the gap itself, from the nearest baseline run, is beyond four
    // times the tolerances of that run, so one high baseline run cannot
    // hide a change of +310% (its spread unmeasured, the range says
    // nothing); with a measured spread the gap must also pass its range.
    let nearest = if cs.min > bs.max { bs.max } else { bs.min };
    let measured = n1 >= MEASURED_SPREAD_RUNS;
    if beyond(signed_gap, nearest, t, FAR_MULTIPLE).is_some() && (!measured || gap > range) {
        return Some((
            status,
            words.say(|| {
                format!(
                    "every current run is {word} every baseline run by {}, more than {FAR_MULTIPLE} times the tolerances {} ({n1} vs {n2} runs: too few for the test, too far to pass)",
                    human(unit, gap),
                    t.describe(unit)
                )
            }),
        ));
    }
    None
}

/// Whether a baseline's range can stand for the metric's spread: only for
/// what the program decides (allocation counts and heap figures,
/// `Stability::Deterministic`). What the kernel and allocator decide (peak
/// RSS, page faults) has rare modes a 10-run baseline misses: google/btree's
/// `DescendRangeG` read 5.0-5.1 MiB of peak RSS in 10 runs of one recording
/// and 5.6-5.8 MiB in 3 of another, and failed 2 of 1,500 resampled A/A
/// gates by this rule. Those go to the test; the far rule still catches a
/// large change.
fn spread_can_be_measured(v: &Verdict) -> bool {
    v.stability == Stability::Deterministic
}

/// The near-deterministic rule's pass: with a measured, tight baseline and
/// enough current runs, every current run within the tolerances of the
/// baseline's median is no change, with no test needed. A current run made
/// worse can only leave this rule, never enter it.
fn within(v: &Verdict, bs: Summary, cs: Summary, words: Words) -> Option<String> {
    let t = &v.threshold;
    let range = bs.max - bs.min;
    let enough = bs.n >= MEASURED_SPREAD_RUNS && cs.n >= SEPARATED_MIN_RUNS;
    let inside = |x: f64| beyond(worse_by(v.better, bs.median, x), bs.median, t, 1.0).is_none();
    let tight = t.is_tight(range, bs.median) && spread_can_be_measured(v);
    (enough && tight && inside(cs.min) && inside(cs.max)).then(|| {
        words.say(|| {
            format!(
                "every current run is within the tolerances {} of the baseline's median ({} vs {} runs, baseline range {})",
                t.describe(v.unit),
                bs.n,
                cs.n,
                human(v.unit, range)
            )
        })
    })
}

impl TestOutcome {
    /// The outcome of a rule that needs no test.
    fn exact(method: Method) -> TestOutcome {
        TestOutcome {
            method,
            p: None,
            p_adjusted: None,
            exact_distribution: false,
            min_attainable_p: None,
            detection_threshold: None,
            shift: None,
        }
    }
}

impl Compared {
    /// Concludes a U test once the run's family is known (a rule's
    /// decision stands): significant in the family and beyond the
    /// tolerances is a change; runs too few to ever reach significance are
    /// inconclusive, with the runs needed. `adjusted`: the comparison's
    /// Holm-adjusted p-values (worse, better), `None` when its runs left it
    /// out of the family.
    pub(super) fn conclude(
        self,
        adjusted: Option<(f64, f64)>,
        family: &Family,
        correction: Correction,
    ) -> Verdict {
        let Compared {
            mut verdict,
            p,
            test,
        } = self;
        let Some((u, soften, words)) = test else {
            return verdict;
        };
        let t = verdict.threshold;
        let what = std::mem::take(&mut verdict.reason);
        let (n1, n2) = (
            verdict.baseline_samples.len(),
            verdict.current_samples.len(),
        );
        let min_p = stats::min_attainable_p(n1, n2);
        let holm = matches!(correction, Correction::Holm);
        let m = family.size();
        let Some((worse, better)) = adjusted else {
            // Tarone's screen: at the family's level these runs cannot
            // reach significance, whatever their values.
            let detect = t.alpha / family.k as f64;
            if let Some(test) = verdict.test.as_mut() {
                test.detection_threshold = Some(detect);
            }
            let needed = stats::runs_needed(t.alpha / family.candidates.max(1) as f64);
            verdict.status = Status::Inconclusive;
            verdict.reason = words.say(|| {
                format!(
                    "{what}; {n1} vs {n2} runs cannot reach significance: the smallest possible p is {}, and Holm across the {} comparisons of this run needs p <= {}; use at least {needed} runs per side",
                    fmt_p(min_p),
                    family.candidates,
                    fmt_p(detect),
                )
            });
            unconfirmed(&mut verdict, needed);
            return apply_budget(verdict);
        };
        // The direction the runs lean, and its adjusted p.
        let (p_adjusted, lean_worse) = if p.0 <= p.1 {
            (worse, true)
        } else {
            (better, false)
        };
        let detect = if holm {
            t.alpha / m.max(1) as f64
        } else {
            t.alpha
        };
        if let Some(test) = verdict.test.as_mut() {
            test.p_adjusted = Some(p_adjusted);
            test.detection_threshold = Some(detect);
        }
        let p_text = words.say(|| {
            if holm && m > 1 {
                format!(
                    "p = {}, {} after Holm over {m} comparisons",
                    fmt_p(u.p),
                    fmt_p(p_adjusted)
                )
            } else {
                format!("p = {}", fmt_p(u.p))
            }
        });
        // benchstat counts p == alpha as significant: `FormatDelta` in x/perf
        // `benchmath/sample.go` prints "~" only when p > alpha.
        let significant = p_adjusted <= t.alpha;
        (verdict.status, verdict.reason) = if significant {
            significant_change(&verdict, &what, &p_text, lean_worse, words)
        } else if min_p > detect {
            (
                Status::Inconclusive,
                words.say(|| {
                    format!(
                        "{what}; {n1} vs {n2} runs cannot reach significance: the smallest possible p is {}, alpha {} needs p <= {}; use at least {} runs per side",
                        fmt_p(min_p),
                        t.alpha,
                        fmt_p(detect),
                        stats::runs_needed(detect)
                    )
                }),
            )
        } else {
            (
                Status::Unchanged,
                words.say(|| format!("{what}, {p_text}: no significant difference")),
            )
        };
        if verdict.status == Status::Inconclusive {
            unconfirmed(&mut verdict, stats::runs_needed(detect));
        } else {
            downgrade(&mut verdict, &soften);
        }
        apply_budget(verdict)
    }
}

/// A significant difference: a change when beyond the tolerances. The
/// U test detects that one side tends to lie above the other; its
/// Hodges-Lehmann shift says by how much and which way, so the shift (from
/// the baseline's median) decides the direction and the size. The median
/// alone can move the other way when the runs of a side differ in shape (a
/// bimodal side); then the verdict says so.
fn significant_change(
    v: &Verdict,
    what: &str,
    p_text: &str,
    lean_worse: bool,
    words: Words,
) -> (Status, String) {
    let (base, cur) = match (v.baseline, v.current) {
        (Some(b), Some(c)) => (b.median, c.median),
        _ => (f64::NAN, f64::NAN),
    };
    let t = &v.threshold;
    let by_median = beyond(worse_by(v.better, base, cur), base, t, 1.0);
    let shift = v.test.as_ref().and_then(|x| x.shift);
    let by_shift = |s: f64| beyond(worse_by(v.better, base, base + s), base, t, 1.0);
    let call = match (shift, words) {
        (Some(s), _) => by_shift(s.shift),
        // Where no one reads the shift (the detectable search), only which
        // side of the tolerances it lies on is found. The call never
        // falls as the shift rises when lower is better, never rises when
        // higher is: numbered along the shift, the zones never fall.
        (None, Words::Skipped) => {
            let zone = |s: f64| match (by_shift(s), v.better) {
                (None, _) => 1,
                (Some(worse), Better::Lower) => 2 * u8::from(worse),
                (Some(worse), Better::Higher) => 2 * u8::from(!worse),
            };
            match stats::shift_zone(&v.baseline_samples, &v.current_samples, zone) {
                Some(1) => None,
                Some(z) => Some((z == 2) == (v.better == Better::Lower)),
                None => by_median,
            }
        }
        (None, Words::Written) => by_median,
    }
    // Significance was reached in the direction the runs lean; a shift the
    // other way (only through ties) is no change in that direction.
    .filter(|&worse| worse == lean_worse);
    let disagree = match (shift, call) {
        (Some(s), Some(worse)) if by_median != Some(worse) && words == Words::Written => format!(
            "; the median moved {} but the runs shifted {} (Hodges-Lehmann {}): the sides differ in shape, not only in level",
            if cur >= base { "up" } else { "down" },
            if s.shift >= 0.0 { "up" } else { "down" },
            human(v.unit, s.shift)
        ),
        _ => String::new(),
    };
    match call {
        Some(true) => (
            Status::Regression,
            words.say(|| format!("{what}, {p_text}; beyond {}{disagree}", t.describe(v.unit))),
        ),
        Some(false) => (
            Status::Improvement,
            words.say(|| format!("{what}, {p_text}{disagree}")),
        ),
        None => (
            Status::Unchanged,
            words.say(|| {
                format!(
                    "{what}, {p_text}: significant but within {}",
                    t.describe(v.unit)
                )
            }),
        ),
    }
}

/// Whether the current median moved the worse way beyond `scale` times
/// the verdict's tolerances.
fn median_worse_beyond(v: &Verdict, scale: f64) -> bool {
    match (v.baseline, v.current) {
        (Some(b), Some(c)) => {
            let worse = worse_by(v.better, b.median, c.median);
            beyond(worse, b.median, &v.threshold, scale) == Some(true)
        }
        _ => false,
    }
}

/// An inconclusive verdict on a figure the program decides (allocation
/// counts, heap bytes) whose median moved beyond the tolerances the worse
/// way is a warning: too few runs to fail on (counts vary across processes:
/// google/btree's allocs/op read 11, 14 or 17 at one count), too large a
/// move to pass unseen. `needed`: runs per side that would decide it.
fn unconfirmed(v: &mut Verdict, needed: usize) {
    if v.stability == Stability::Deterministic && median_worse_beyond(v, 1.0) {
        v.status = Status::Warning;
        v.softened = Some(Softened::FewRuns { needed });
    }
}

/// A regression that something other than the code can explain becomes a
/// warning, and says what: a load-sensitive metric against a stored
/// baseline, or an environment difference that can change this metric.
fn downgrade(v: &mut Verdict, soften: &Softening) {
    if v.status != Status::Regression {
        return;
    }
    // What the program decides (allocations, heap bytes) an environment
    // difference explains only up to the far rule's size: a rustc patch
    // release does not triple the allocations. Beyond it, the change fails
    // and says what differed (record a new baseline if it is the toolchain).
    let far = median_worse_beyond(v, FAR_MULTIPLE);
    if soften.load {
        v.status = Status::Warning;
        v.softened = Some(Softened::Load);
    } else if !soften.env.is_empty() && far && v.stability == Stability::Deterministic {
        v.reason = format!(
            "{}; more than {FAR_MULTIPLE} times the tolerances, more than the environment difference ({}) explains: if it is the environment, record a new baseline",
            v.reason,
            soften.env.join(", ")
        );
    } else if !soften.env.is_empty() {
        v.status = Status::Warning;
        v.softened = Some(Softened::Environment {
            differences: soften.env.clone(),
        });
    }
}

pub(super) fn apply_budget(mut v: Verdict) -> Verdict {
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

/// Largest change [`detectable`] looks for: +1000%.
const DETECTABLE_MAX: f64 = 10.0;

/// The precision of [`detectable`]: a tenth of a percent, the reports'
/// last digit.
const DETECTABLE_STEP: f64 = 1e-3;

/// The smallest relative change the worse way that a comparison like `v`
/// would call a regression: the baseline's runs, as many as the current
/// side has (evenly spaced through the sorted baseline), each made worse by
/// it, judged by [`judge`] and, for the test, at p <= `bar` (the family's
/// first Holm bar; 0 when the runs are out of the family, so that only the
/// rules can catch it). Softening is left out: a softened regression is
/// still caught, as a warning. Searched to [`DETECTABLE_STEP`].
pub(super) fn detectable(v: &Verdict, bar: f64, confidence: f64) -> Option<f64> {
    let mut xs = v.baseline_samples.clone();
    let n2 = v.current_samples.len();
    if xs.is_empty() || n2 == 0 {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let spaced: Vec<f64> = (0..n2)
        .map(|i| {
            xs[if n2 == 1 {
                xs.len() / 2
            } else {
                i * (xs.len() - 1) / (n2 - 1)
            }]
        })
        .collect();
    let series = |samples: Vec<f64>| Series {
        unit: v.unit,
        better: v.better,
        stability: v.stability,
        source: String::new(),
        phase: None,
        resolution: None,
        samples: samples
            .into_iter()
            .map(crate::results::Value::Float)
            .collect(),
    };
    let base = series(xs.clone());
    let subject = Subject {
        workload: &v.workload,
        metric: &v.metric,
        limit: Limit {
            threshold: v.threshold,
            budget: None,
        },
    };
    let caught = |x: f64| {
        let worse = spaced
            .iter()
            .map(|&s| match v.better {
                Better::Lower => s * (1.0 + x),
                Better::Higher => s / (1.0 + x),
            })
            .collect();
        match judge(
            &subject,
            &base,
            &series(worse),
            confidence,
            Softening::default(),
            Words::Skipped,
        ) {
            Judged::Done(d) => d.status == Status::Regression,
            Judged::Compared(c) => {
                let adjusted = match &c.test {
                    // Scaled so that the verdict's alpha stands for `bar`.
                    Some((u, _, _)) if bar > 0.0 => Some((u.p * v.threshold.alpha / bar, 1.0)),
                    _ => None,
                };
                let family = Family {
                    candidates: 1,
                    k: 1,
                    adjusted: vec![adjusted],
                };
                c.conclude(adjusted, &family, Correction::Holm).status == Status::Regression
            }
        }
    };
    // Most searches end at the tolerance, within a step (every metric of a
    // thousand Go benchmarks did): the tolerance and a step beside it
    // decide those. Otherwise gallop from there to a bracket [lo, hi] with
    // hi caught and lo not, then bisect it.
    let start = v
        .threshold
        .max_increase
        .clamp(DETECTABLE_STEP, DETECTABLE_MAX);
    let (mut lo, mut hi) = if caught(start) {
        let mut hi = start;
        let mut lower = start - DETECTABLE_STEP;
        loop {
            if lower < DETECTABLE_STEP {
                break (0.0, hi);
            }
            if !caught(lower) {
                break (lower, hi);
            }
            hi = lower;
            lower = hi / 2.0;
        }
    } else {
        let mut lo = start;
        let mut higher = (start + DETECTABLE_STEP).min(DETECTABLE_MAX);
        loop {
            if lo >= DETECTABLE_MAX {
                return None;
            }
            if caught(higher) {
                break (lo, higher);
            }
            lo = higher;
            higher = (lo * 2.0).min(DETECTABLE_MAX);
        }
    };
    // To a tenth of a percent: what the reports show, to their last digit
    // (a bracket a step wide, give or take a rounding, is done).
    while hi - lo > DETECTABLE_STEP * (1.0 + 1e-9) {
        let mid = (lo + hi) / 2.0;
        if caught(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}
