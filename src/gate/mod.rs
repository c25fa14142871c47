//! The gate: turns a baseline, the current results and the policy into
//! verdicts, one per (workload, metric), without crying wolf.
//!
//! - Identical samples on both sides: unchanged. Sides that do not overlap,
//!   with a tight baseline or far beyond the tolerances, and a tight
//!   baseline with every current run within them: decided from the spread
//!   itself (the near-deterministic rule, see `judge`).
//! - Otherwise the two-sided Mann-Whitney U test, Holm-corrected across
//!   the run's family, fixed by the numbers of runs before any outcome is
//!   read (see `family`); a regression needs significance AND a shift
//!   beyond both `max_increase` and `min_change`.
//! - Sample sizes that can never reach significance after correction give
//!   "inconclusive", with the number of runs that would be needed.
//! - A budget fails on its own when the current median exceeds it.
//! - A regression that the environment difference between the sides can
//!   explain (per metric: see `env`), or of a load-sensitive metric against
//!   a stored baseline, is a warning unless the config says otherwise.
//! - Series of different phases are never compared.
//!
//! The verdicts are data; reports render them and `main` picks the exit code.

mod accept;
pub mod drift;
mod env;
mod family;
mod judge;
mod subject;

pub use accept::{AcceptError, accept};
pub use judge::{MEASURED_SPREAD_RUNS, SEPARATED_MIN_RUNS};

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use crate::attribution;
use crate::policy::{Correction, GatePolicy, Limit, PolicyError};
use crate::results::{Results, Timeline, WorkloadResults};
use crate::verdicts::{
    EnvDifference, FailedWorkload, Settings, Side, Status, Tally, TimelinePair, VERDICTS_SCHEMA,
    Verdict, Verdicts,
};
use env::Softening;
use family::Family;
use judge::{Compared, Judged, Words};
use subject::{OneSided, Subject};

/// Judges `current` against `baseline` under `policy`. Every threshold and
/// budget is resolved before anything is judged, so a limit that does not
/// fit its metric's unit is the only error, and it names the config field.
pub fn evaluate(
    policy: &GatePolicy,
    baseline: &Side,
    base: &Results,
    current: &Side,
    cur: &Results,
) -> Result<Verdicts, PolicyError> {
    let limits = Limits::resolve(policy, base, cur)?;
    let base_by_name: BTreeMap<&str, &WorkloadResults> = base
        .workloads
        .iter()
        .map(|w| (w.name.as_str(), w))
        .collect();
    // Each workload is judged on its own (a Go module's benchmarks are a
    // thousand of them).
    let per_workload = crate::parallel::map(&cur.workloads, 16, |cw| {
        let Some(bw) = base_by_name.get(cw.name.as_str()) else {
            return (
                one_sided(policy, &limits, cw, OneSided::CurrentOnly),
                Vec::new(),
            );
        };
        let diffs = env::env_differences(bw, base, cw, cur);
        let interleaved = baseline.interleaved.contains(&cw.name);
        (
            both_sides(policy, &limits, bw, cw, &diffs, interleaved),
            diffs,
        )
    });
    let mut differences = Vec::new();
    let mut judged: Vec<Judged> = Vec::new();
    for (j, d) in per_workload {
        judged.extend(j);
        differences.extend(d);
    }
    let cur_names: BTreeSet<&str> = cur.workloads.iter().map(|w| w.name.as_str()).collect();
    for bw in base.workloads.iter() {
        if !cur_names.contains(bw.name.as_str()) {
            judged.extend(one_sided(policy, &limits, bw, OneSided::BaselineOnly));
        }
    }
    let mut failed = failed_workloads(cur, "");
    failed.extend(failed_workloads(base, "on the baseline side: "));
    let (mut verdicts, family) = conclude(judged, policy.correction, policy.confidence());
    attribute(&mut verdicts, &base_by_name, cur);
    verdicts.sort_by_key(|v| v.status);
    let parity = parity(policy, cur)?;
    let tally = tally(&verdicts, &parity, failed.len());
    Ok(Verdicts {
        schema: VERDICTS_SCHEMA.to_owned(),
        memgate_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: crate::fingerprint::now_rfc3339(),
        baseline: baseline.clone(),
        current: current.clone(),
        settings: Settings {
            correction: policy.correction,
            confidence: policy.confidence(),
            tests: family.candidates,
            family: family.size(),
            strict_env: policy.strict_env,
            load_sensitive: policy.load_sensitive,
        },
        environment_differences: differences,
        tally,
        failed_workloads: failed,
        verdicts,
        parity,
        acceptance: None,
        timelines: timelines(&base_by_name, cur),
    })
}

/// Applies the `drift:` budgets to judged verdicts (see [`drift`]) and
/// recounts them; returns how many failed by drift.
pub fn apply_drift(
    verdicts: &mut Verdicts,
    rules: &BTreeMap<String, crate::policy::DriftRule>,
    anchors: &[drift::AnchorLevel],
) -> usize {
    let n = drift::apply(&mut verdicts.verdicts, rules, anchors);
    recount(verdicts);
    n
}

/// Puts the verdicts back in order and counts them again, after a step
/// that changed statuses (drift budgets, `--accept`).
fn recount(verdicts: &mut Verdicts) {
    verdicts.verdicts.sort_by_key(|v| v.status);
    verdicts.tally = tally(
        &verdicts.verdicts,
        &verdicts.parity,
        verdicts.failed_workloads.len(),
    );
}

/// Every metric of a workload that is on one side only.
fn one_sided(
    policy: &GatePolicy,
    limits: &Limits<'_>,
    w: &WorkloadResults,
    side: OneSided,
) -> Vec<Judged> {
    w.metrics
        .iter()
        .map(|(metric, s)| {
            let side = absent(policy, &w.name, metric, side);
            Judged::Done(subject::missing(&limits.subject(&w.name, metric), s, side))
        })
        .collect()
}

/// A metric of the baseline the config allows to be absent is removed, not
/// missing.
fn absent(policy: &GatePolicy, workload: &str, metric: &str, side: OneSided) -> OneSided {
    match side {
        OneSided::BaselineOnly if policy.may_be_absent(workload, metric) => OneSided::Removed,
        other => other,
    }
}

/// Every metric of a workload on both sides: judged where both have it (in
/// the same phase), missing where one has it. `diffs`: how the sides'
/// environments differ; `interleaved`: the baseline was measured beside the
/// current side, on this machine.
fn both_sides(
    policy: &GatePolicy,
    limits: &Limits<'_>,
    bw: &WorkloadResults,
    cw: &WorkloadResults,
    diffs: &[EnvDifference],
    interleaved: bool,
) -> Vec<Judged> {
    let metrics: BTreeSet<&String> = bw.metrics.keys().chain(cw.metrics.keys()).collect();
    // A Go benchmark run at another count than the baseline's.
    let counts = match (bw.iterations, cw.iterations) {
        (Some(b), Some(c)) if b != c => Some((b, c)),
        _ => None,
    };
    metrics
        .into_iter()
        .filter_map(|metric| {
            let subject = limits.subject(&cw.name, metric);
            let missing = |s, side| {
                let side = absent(policy, &cw.name, metric, side);
                Judged::Done(subject::missing(&subject, s, side))
            };
            // A current series with no sample was not measured now.
            let now = cw.metrics.get(metric).filter(|c| !c.samples.is_empty());
            if let (Some(n), Some(b), Some(c)) = (counts, bw.metrics.get(metric), now) {
                return Some(Judged::Done(subject::other_count(&subject, b, c, n)));
            }
            Some(match (bw.metrics.get(metric), now) {
                (Some(b), Some(c)) if b.phase != c.phase => {
                    Judged::Done(subject::other_phase(&subject, b, c))
                }
                (Some(b), Some(c)) => {
                    let soften =
                        Softening::of(policy, diffs, metric, (c.stability, c.phase), interleaved);
                    judge::judge(&subject, b, c, policy.confidence(), soften, Words::Written)
                }
                (Some(b), None) if cw.has_failures() => missing(b, OneSided::CurrentFailed),
                (Some(b), None) => missing(b, OneSided::BaselineOnly),
                (None, Some(c)) if bw.has_failures() => missing(c, OneSided::BaselineFailed),
                (None, Some(c)) => missing(c, OneSided::CurrentOnly),
                (None, None) => return None,
            })
        })
        .collect()
}

/// The limits of every (workload, metric) on either side, resolved once.
struct Limits<'a>(BTreeMap<(&'a str, &'a str), Limit>);

impl<'a> Limits<'a> {
    /// Resolves the limits of every series of both sides, in the current
    /// side's unit where both have the metric.
    fn resolve(
        policy: &GatePolicy,
        base: &'a Results,
        cur: &'a Results,
    ) -> Result<Self, PolicyError> {
        let mut map = BTreeMap::new();
        for w in cur.workloads.iter().chain(&base.workloads) {
            for (metric, s) in &w.metrics {
                if let Entry::Vacant(e) = map.entry((w.name.as_str(), metric.as_str())) {
                    e.insert(policy.limit(&w.name, metric, s.unit)?);
                }
            }
        }
        Ok(Limits(map))
    }

    fn subject<'s>(&self, workload: &'s str, metric: &'s str) -> Subject<'s> {
        Subject {
            workload,
            metric,
            // Every series of both sides was resolved.
            limit: self.0.get(&(workload, metric)).copied().unwrap_or_default(),
        }
    }
}

/// Concludes every comparison once the run's family is fixed (see
/// [`family`]): Holm's correction across it, or none.
fn conclude(
    judged: Vec<Judged>,
    correction: Correction,
    confidence: f64,
) -> (Vec<Verdict>, Family) {
    let mut verdicts = Vec::new();
    let mut compared: Vec<Compared> = Vec::new();
    for j in judged {
        match j {
            Judged::Done(v) => verdicts.push(v),
            Judged::Compared(c) => compared.push(c),
        }
    }
    let candidates: Vec<_> = compared.iter().map(Compared::candidate).collect();
    let family = match correction {
        Correction::Holm => Family::holm(&candidates),
        Correction::None => Family::uncorrected(&candidates),
    };
    let m = family.size().max(1) as f64;
    // Each comparison is concluded and its detectable change searched on
    // its own: a dozen judgements each, most of a large comparison's time.
    let pairs: Vec<_> = compared.into_iter().zip(family.adjusted.clone()).collect();
    verdicts.extend(crate::parallel::map_owned(pairs, 64, |(c, adj)| {
        let mut v = c.conclude(adj, &family, correction);
        // The bar of the family's first Holm step; none out of it.
        let bar = match (correction, adj) {
            (Correction::None, _) => v.threshold.alpha,
            (Correction::Holm, Some(_)) => v.threshold.alpha / m,
            (Correction::Holm, None) => 0.0,
        };
        v.detectable = judge::detectable(&v, bar, confidence);
        v
    }));
    (verdicts, family)
}

/// The parity rules' verdicts on the current results: for each rule whose
/// workloads both ran, the candidate's series judged against the
/// reference's exactly as a current run against a baseline (the rule's
/// tolerance as `max_increase`; no absolute floor but a stepped figure's
/// resolution, since a built-in floor such as latency.p99's 50 µs can
/// exceed what the services measure and pass a 2x p99 of 8 µs under a 10%
/// rule; the parity comparisons one family of their own), as one run
/// measured them: load-sensitive metrics gate, and phases are not
/// compared (a Go workload's memory comes from its footprint phase, a Rust
/// one's from its only runs). A metric one side lacks is missing.
fn parity(policy: &GatePolicy, cur: &Results) -> Result<Vec<Verdict>, PolicyError> {
    let mut judged = Vec::new();
    for rule in &policy.parity {
        let find = |name: &str| cur.workloads.iter().find(|w| w.name == name);
        let (Some(reference), Some(candidate)) = (find(&rule.reference), find(&rule.candidate))
        else {
            // A run of other workloads (-w, --shard) judges no parity.
            continue;
        };
        let side = |w: &WorkloadResults| {
            let mut only = WorkloadResults {
                name: rule.name.clone(),
                metrics: BTreeMap::new(),
                sites: None,
                ..w.clone()
            };
            for (metric, _) in &rule.metrics {
                if let Some(s) = w.metrics.get(metric) {
                    let mut s = s.clone();
                    s.phase = None;
                    only.metrics.insert(metric.clone(), s);
                }
            }
            Results::new(cur.environments.clone(), vec![only])
        };
        let (base, now) = (side(reference), side(candidate));
        let rule_policy = GatePolicy {
            thresholds: rule
                .metrics
                .iter()
                .map(|(m, t)| {
                    (
                        m.clone(),
                        crate::policy::ThresholdSpec {
                            max_increase: Some(crate::units::Percent(*t)),
                            min_change: Some(crate::policy::Quantity::Number(0.0)),
                            alpha: None,
                        },
                    )
                })
                .collect(),
            parity: Vec::new(),
            ..policy.clone()
        };
        let rule_policy = GatePolicy {
            workload_thresholds: BTreeMap::new(),
            budgets: BTreeMap::new(),
            ..rule_policy
        };
        let limits = Limits::resolve(&rule_policy, &base, &now)?;
        judged.extend(both_sides(
            &rule_policy,
            &limits,
            &base.workloads[0],
            &now.workloads[0],
            &[],
            true,
        ));
    }
    let (mut verdicts, _) = conclude(judged, policy.correction, policy.confidence());
    verdicts.sort_by_key(|v| v.status);
    Ok(verdicts)
}

/// Names the allocation sites behind each metric that regressed or broke
/// its budget, where a heap profile can explain the metric: the sites of
/// both sides compared (see [`crate::attribution`]), or a note that a side
/// has none.
fn attribute(
    verdicts: &mut [Verdict],
    base_by_name: &BTreeMap<&str, &WorkloadResults>,
    cur: &Results,
) {
    for v in verdicts
        .iter_mut()
        .filter(|v| matches!(v.status, Status::Regression | Status::OverBudget))
    {
        let Some(measure) = attribution::Measure::for_metric(&v.metric) else {
            continue;
        };
        let base = base_by_name
            .get(v.workload.as_str())
            .and_then(|w| w.sites.as_ref());
        let now_w = cur.workloads.iter().find(|w| w.name == v.workload);
        let now = now_w.and_then(|w| w.sites.as_ref());
        // A benchmark's per-op figure against whole-run profiles.
        let per_op = now_w
            .and_then(|w| w.iterations)
            .filter(|_| v.metric.starts_with("op."));
        let change = match (v.baseline, v.current) {
            (Some(b), Some(c)) => c.median - b.median,
            _ => 0.0,
        };
        // The sites' own quantity, measured exactly: the sides' medians.
        let exact = match (v.metric.as_str(), v.baseline, v.current) {
            ("heap.alloc.bytes" | "heap.alloc.objects" | "heap.live.bytes", Some(b), Some(c)) => {
                Some((b.median, c.median))
            }
            _ => None,
        };
        v.attribution = Some(match (base, now) {
            (Some(b), Some(c)) => attribution::diff(b, c, measure, change, per_op, exact),
            (None, _) => attribution::missing(measure, "baseline"),
            (_, None) => attribution::missing(measure, "current run"),
        });
    }
}

/// Workloads of one side whose build or runs failed, and what failed,
/// after `side`.
fn failed_workloads(results: &Results, side: &str) -> Vec<FailedWorkload> {
    results
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
                reason: format!("{side}{reason}"),
            })
        })
        .collect()
}

/// Both sides' median-run RSS timelines of every current workload that has one.
fn timelines(base_by_name: &BTreeMap<&str, &WorkloadResults>, cur: &Results) -> Vec<TimelinePair> {
    cur.workloads
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
        .collect()
}

/// Counts per status; the gate passes when nothing fails, no parity rule
/// is breached, every workload ran, and something was compared.
fn tally(verdicts: &[Verdict], parity: &[Verdict], failed_workloads: usize) -> Tally {
    let mut t = Tally {
        failed_workloads,
        parity_breaches: parity.iter().filter(|v| v.status.fails()).count(),
        ..Tally::default()
    };
    for v in verdicts {
        let count = match v.status {
            Status::OverBudget => &mut t.over_budget,
            Status::Regression => &mut t.regressions,
            Status::Failed => &mut t.failed,
            Status::Missing => &mut t.missing,
            Status::Accepted => &mut t.accepted,
            Status::Warning => &mut t.warnings,
            Status::Inconclusive => &mut t.inconclusive,
            Status::Removed => &mut t.removed,
            Status::New => &mut t.new,
            Status::Improvement => &mut t.improvements,
            Status::Unchanged => &mut t.unchanged,
        };
        *count += 1;
    }
    // Comparing nothing is never a pass.
    t.passed = failed_workloads == 0
        && t.parity_breaches == 0
        && t.compared() > 0
        && !verdicts.iter().any(|v| v.status.fails());
    t
}

/// Most points kept of a timeline in the verdicts.
pub const TIMELINE_POINTS: usize = 60;

/// The timeline of the run whose process.rss.peak is the median, thinned
/// to at most [`TIMELINE_POINTS`] points; of a Go workload, among the runs
/// of the phase that gives its process.rss.peak.
fn median_timeline(w: &WorkloadResults) -> Option<Timeline> {
    let phase = w
        .metrics
        .get(crate::metrics::RSS_PEAK.name)
        .and_then(|s| s.phase);
    let mut runs: Vec<(&crate::results::Run, u64)> = w
        .runs
        .iter()
        .filter(|r| !r.warmup && r.status.is_ok() && r.phase == phase)
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::metrics::{self, MetricDef};
    use crate::results::{RESULTS_SCHEMA, Series, Value};
    use crate::verdicts::{Method, Softened};

    /// One workload's results with one metric's samples, measured on `cpu`.
    pub(crate) fn results(
        workload: &str,
        metric: &MetricDef,
        samples: &[f64],
        cpu: &str,
    ) -> Results {
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
                lang: crate::lang::Lang::Other,
                environment: 0,
                command: vec!["x".into()],
                tags: BTreeMap::new(),
                binary_sha256: None,
                iterations: None,
                build_failure: None,
                runs: vec![],
                sites: None,
                metrics: BTreeMap::from([(metric.name.to_owned(), s)]),
            }],
        }
    }

    /// The verdicts on `c` against `b` under `policy`.
    fn eval(policy: &GatePolicy, b: &Results, c: &Results) -> Verdicts {
        evaluate(policy, &Side::of("b", b), b, &Side::of("c", c), c).unwrap()
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
        let v = eval(policy, &b, &c);
        assert_eq!(v.verdicts.len(), 1);
        v.verdicts[0].clone()
    }

    const MIB: f64 = 1048576.0;

    /// The verdict on a figure the program decides (heap.end.bytes,
    /// deterministic), which the near-deterministic rule may judge.
    fn judge_heap(base: &[f64], cur: &[f64]) -> Verdict {
        let b = results("w", &metrics::HEAP_END, base, "cpu");
        let c = results("w", &metrics::HEAP_END, cur, "cpu");
        eval(&GatePolicy::default(), &b, &c).verdicts[0].clone()
    }

    /// A tight sample: `n` values 10 KB apart (far inside 5%).
    fn spread(center: f64, n: usize) -> Vec<f64> {
        (0..n).map(|i| center + (i as f64) * 10_000.0).collect()
    }

    /// A noisy sample: `n` values across 8% above `center`, wider than the
    /// 5% tolerance, so only the U test can decide.
    fn noisy(center: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| center * (1.0 + 0.08 * i as f64 / (n - 1).max(1) as f64))
            .collect()
    }

    #[test]
    fn clear_regression_of_a_tight_metric_fails_by_separation() {
        let v = judge_heap(&spread(100.0 * MIB, 10), &spread(110.0 * MIB, 3));
        assert_eq!(v.status, Status::Regression, "{}", v.reason);
        assert_eq!(v.test.unwrap().method, Method::Separated);
        assert!(
            v.reason
                .contains("every current run is above every baseline run by at least"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn clear_regression_of_a_noisy_metric_fails_by_the_u_test() {
        let v = judge1(
            &noisy(100.0 * MIB, 8),
            &noisy(112.0 * MIB, 8),
            &GatePolicy::default(),
        );
        assert_eq!(v.status, Status::Regression, "{}", v.reason);
        assert_eq!(v.test.unwrap().method, Method::MannWhitneyU);
        assert!(v.reason.contains("beyond 5% and 512.0 KiB"), "{}", v.reason);
    }

    #[test]
    fn small_change_within_tolerance_passes() {
        let v = judge1(
            &noisy(100.0 * MIB, 8),
            &noisy(103.0 * MIB, 8),
            &GatePolicy::default(),
        );
        assert_eq!(v.status, Status::Unchanged, "{}", v.reason);
        let v = judge_heap(&spread(100.0 * MIB, 10), &spread(103.0 * MIB, 3));
        assert_eq!(v.status, Status::Unchanged, "{}", v.reason);
        assert_eq!(v.test.unwrap().method, Method::Within);
        assert!(
            v.reason
                .contains("every current run is within the tolerances 5% and"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn too_few_runs_are_inconclusive_with_runs_needed() {
        let v = judge1(
            &noisy(100.0 * MIB, 3),
            &noisy(110.0 * MIB, 3),
            &GatePolicy::default(),
        );
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        assert!(
            v.reason.contains("use at least 4 runs per side"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn a_change_far_beyond_the_tolerance_never_passes_as_inconclusive() {
        // 3 vs 3 noisy runs, +99%: the U test cannot reach significance.
        let v = judge1(
            &noisy(100.0 * MIB, 3),
            &noisy(199.0 * MIB, 3),
            &GatePolicy::default(),
        );
        assert_eq!(v.status, Status::Regression, "{}", v.reason);
        assert!(v.reason.contains("too far to pass"), "{}", v.reason);
        // One run a side, +50%.
        let v = judge1(&[100.0 * MIB], &[150.0 * MIB], &GatePolicy::default());
        assert_eq!(v.status, Status::Regression, "{}", v.reason);
        // One run a side, +6%: no evidence either way.
        let v = judge1(&[100.0 * MIB], &[106.0 * MIB], &GatePolicy::default());
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
    }

    #[test]
    fn few_constant_runs_are_no_evidence() {
        let v = judge1(&[5.0 * MIB; 4], &[5.0 * MIB; 4], &GatePolicy::default());
        assert_eq!(v.status, Status::Unchanged);
        assert_eq!(v.test.unwrap().method, Method::Exact);
        assert!(
            v.reason.starts_with("identical on both sides"),
            "{}",
            v.reason
        );
        // 2 vs 2 constants, +12%: two runs a side decide nothing.
        let v = judge1(&[5.0 * MIB; 2], &[5.6 * MIB; 2], &GatePolicy::default());
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        // 3 vs 3 constants, +12%: three equal runs are no measured spread
        // (a metric with two values shows three equal ones often), so the
        // test decides, and 3 vs 3 cannot reach significance.
        let v = judge1(&[5.0 * MIB; 3], &[5.6 * MIB; 3], &GatePolicy::default());
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
        assert_eq!(v.test.unwrap().method, Method::MannWhitneyU);
        // A baseline of 10 equal runs measured a heap figure's spread:
        // separated, and tight.
        let v = judge_heap(&[5.0 * MIB; 10], &[5.6 * MIB; 3]);
        assert_eq!(v.status, Status::Regression, "{}", v.reason);
        assert_eq!(v.test.unwrap().method, Method::Separated);
        // ... and a worse current run keeps it failing.
        let v = judge_heap(
            &[5.0 * MIB; 10],
            &[5.6 * MIB, 5.6 * MIB, 5.6 * MIB + 4096.0],
        );
        assert_eq!(v.status, Status::Regression, "{}", v.reason);
        // 9 runs are one short of a measured spread.
        let v = judge_heap(&[5.0 * MIB; 9], &[5.6 * MIB; 3]);
        assert_ne!(v.test.unwrap().method, Method::Separated, "{}", v.reason);
        // Peak RSS, which the kernel decides, has rare modes 10 runs miss
        // (btree's DescendRangeG: 5.0-5.1 MiB in 10 runs, 5.6-5.8 MiB in 3
        // of another recording): never judged by the rule, the test decides
        // (here alone, p = 0.007; among a module's hundreds, under Holm, not).
        let v = judge1(&[5.0 * MIB; 10], &[5.7 * MIB; 3], &GatePolicy::default());
        assert_eq!(v.test.unwrap().method, Method::MannWhitneyU, "{}", v.reason);
    }

    /// A heap figure read from gctrace in whole MiB is never judged finer:
    /// a 1 MiB step on a 9 MiB heap (+11%) is within, 2 MiB fails.
    #[test]
    fn a_figure_read_in_steps_must_change_by_more_than_one_step() {
        let stepped = |samples: &[f64]| {
            let mut r = results("w", &metrics::HEAP_PEAK, samples, "c");
            for s in r.workloads[0].metrics.values_mut() {
                s.resolution = crate::collect::resolution("gctrace", s.unit);
            }
            r
        };
        let base = stepped(&[9.0 * MIB; 10]);
        let v = eval(&GatePolicy::default(), &base, &stepped(&[10.0 * MIB; 3]));
        assert!(!v.verdicts[0].status.fails(), "{}", v.verdicts[0].reason);
        assert!(
            v.verdicts[0].reason.contains("1.0 MiB"),
            "the step is the smallest change: {}",
            v.verdicts[0].reason
        );
        let v = eval(&GatePolicy::default(), &base, &stepped(&[11.0 * MIB; 3]));
        assert_eq!(
            v.verdicts[0].status,
            Status::Regression,
            "{}",
            v.verdicts[0].reason
        );
    }

    /// A Go benchmark run at another count than the baseline's is not
    /// compared, whatever its figures; at the same count it is.
    #[test]
    fn a_benchmark_at_another_count_is_not_comparable() {
        let at = |n: u64, bytes: f64| {
            let mut r = results("w", &metrics::OP_ALLOC_BYTES, &[bytes; 10], "c");
            r.workloads[0].iterations = Some(n);
            r
        };
        let v = eval(&GatePolicy::default(), &at(31, 544.0), &at(9, 544.0));
        assert_eq!(v.verdicts[0].status, Status::Missing);
        assert!(
            v.verdicts[0]
                .reason
                .contains("the benchmark ran 31x in the baseline and 9x now"),
            "{}",
            v.verdicts[0].reason
        );
        let v = eval(&GatePolicy::default(), &at(31, 544.0), &at(31, 544.0));
        assert_eq!(v.verdicts[0].status, Status::Unchanged);
    }

    /// The false alarm the near-deterministic rule made on 3 baseline runs
    /// of go-bigobj's page faults (+-12% spread): three runs that happened
    /// to lie close were read as a tight metric. Its 10-run spread is not
    /// tight, so the same current runs go to the test and pass.
    #[test]
    fn three_close_baseline_runs_of_a_noisy_metric_are_not_a_spread() {
        // As recorded: baseline range 469, every current run above by 1429.
        let lucky = [26_825.0, 27_186.0, 27_294.0];
        let cur = [28_723.0, 28_800.0, 29_000.0];
        let faults = |b: &[f64], c: &[f64]| {
            let b = results("w", &metrics::FAULTS_MINOR, b, "c");
            let c = results("w", &metrics::FAULTS_MINOR, c, "c");
            eval(&GatePolicy::default(), &b, &c).verdicts[0].clone()
        };
        let v = faults(&lucky, &cur);
        assert!(!v.status.fails(), "{}", v.reason);
        assert_eq!(v.test.unwrap().method, Method::MannWhitneyU);
        let measured = [
            26_700.0, 34_000.0, 26_825.0, 27_186.0, 27_294.0, 31_000.0, 29_500.0, 33_100.0,
            28_000.0, 30_200.0,
        ];
        let v = faults(&measured, &cur);
        assert!(!v.status.fails(), "{}", v.reason);
    }

    #[test]
    fn a_deterministic_metric_that_varies_is_not_compared_by_its_medians() {
        // heap.alloc.bytes is declared deterministic; 1% noise with no shift.
        let base = [100.0, 101.0, 99.0, 100.5, 99.5].map(|x| x * MIB);
        let cur = [100.2, 99.1, 101.1, 99.6, 100.4].map(|x| x * MIB);
        let b = results("w", &metrics::HEAP_ALLOC_BYTES, &base, "c");
        let c = results("w", &metrics::HEAP_ALLOC_BYTES, &cur, "c");
        let v = eval(&GatePolicy::default(), &b, &c);
        assert_eq!(
            v.verdicts[0].status,
            Status::Unchanged,
            "{}",
            v.verdicts[0].reason
        );
        // Five baseline runs measure no spread: the test decides.
        assert_eq!(v.verdicts[0].test.unwrap().method, Method::MannWhitneyU);
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

    /// The verdict on `c` against `b` (one series each) when `edit`
    /// changes the current side's environment and `side` the baseline's.
    fn judge_edited(
        metric: &MetricDef,
        base: &[f64],
        cur: &[f64],
        policy: &GatePolicy,
        edit: impl Fn(&mut crate::fingerprint::Environment),
        side: impl Fn(&mut Side),
    ) -> Verdict {
        let b = results("w", metric, base, "cpu");
        let mut c = results("w", metric, cur, "cpu");
        edit(&mut c.environments[0]);
        let mut bs = Side::of("b", &b);
        side(&mut bs);
        let v = evaluate(policy, &bs, &b, &Side::of("c", &c), &c).unwrap();
        v.verdicts[0].clone()
    }

    #[test]
    fn an_environment_difference_softens_only_what_it_can_change() {
        let strict = GatePolicy {
            strict_env: true,
            ..Default::default()
        };
        for (base, cur) in [
            (spread(100.0 * MIB, 8), spread(120.0 * MIB, 8)),
            (noisy(100.0 * MIB, 8), noisy(112.0 * MIB, 8)),
        ] {
            // Another CPU model does not change how memory becomes
            // resident: RSS still fails.
            let v = judge_with(&base, &cur, &GatePolicy::default(), "cpu A", "cpu B");
            assert_eq!(v.status, Status::Regression, "{}", v.reason);
            // Another build of the same kernel release can (it moved
            // jemalloc's metadata +27%, see env::can_change): a warning
            // that names the kernel.
            let v = judge_edited(
                &metrics::RSS_PEAK,
                &base,
                &cur,
                &GatePolicy::default(),
                |e| e.kernel = e.kernel.as_ref().map(|k| format!("{k} (rebuilt)")),
                |_| {},
            );
            assert_eq!(v.status, Status::Warning, "{}", v.reason);
            assert!(
                matches!(&v.softened, Some(Softened::Environment { differences }) if differences[0].starts_with("kernel: ")),
                "{:?}",
                v.softened
            );
            // Another number of cores can: a warning that names it.
            let cores =
                |e: &mut crate::fingerprint::Environment| e.cores = Some(e.cores.unwrap_or(1) + 2);
            let v = judge_edited(
                &metrics::RSS_PEAK,
                &base,
                &cur,
                &GatePolicy::default(),
                cores,
                |_| {},
            );
            assert_eq!(v.status, Status::Warning, "{}", v.reason);
            assert!(
                matches!(&v.softened, Some(Softened::Environment { differences }) if differences[0].starts_with("cores: ")),
                "{:?}",
                v.softened
            );
            let v = judge_edited(&metrics::RSS_PEAK, &base, &cur, &strict, cores, |_| {});
            assert_eq!(v.status, Status::Regression);
            // Allocation counts do not depend on the machine at all.
            let v = judge_edited(
                &metrics::HEAP_ALLOC_BYTES,
                &base,
                &cur,
                &GatePolicy::default(),
                cores,
                |_| {},
            );
            assert_eq!(v.status, Status::Regression, "{}", v.reason);
        }
    }

    #[test]
    fn load_sensitive_metrics_warn_against_a_stored_baseline_and_gate_interleaved() {
        let base: Vec<f64> = (0..8).map(|i| 1.0 + 0.01 * i as f64).collect();
        let cur: Vec<f64> = base.iter().map(|x| x * 2.0).collect();
        let stored = judge_edited(
            &metrics::WALL,
            &base,
            &cur,
            &GatePolicy::default(),
            |_| {},
            |_| {},
        );
        assert_eq!(stored.status, Status::Warning, "{}", stored.reason);
        assert_eq!(stored.softened, Some(Softened::Load));
        assert!(
            stored
                .full_reason()
                .contains("move with the load on the runner"),
            "{}",
            stored.full_reason()
        );
        let interleaved = judge_edited(
            &metrics::WALL,
            &base,
            &cur,
            &GatePolicy::default(),
            |_| {},
            |s| s.interleaved = vec!["w".into()],
        );
        assert_eq!(interleaved.status, Status::Regression);
        let fail = GatePolicy {
            load_sensitive: crate::policy::LoadSensitive::Fail,
            ..Default::default()
        };
        let v = judge_edited(&metrics::WALL, &base, &cur, &fail, |_| {}, |_| {});
        assert_eq!(v.status, Status::Regression);
        // A memory metric of a footprint run is not load-sensitive.
        let mib = |xs: &[f64]| xs.iter().map(|x| x * 100.0 * MIB).collect::<Vec<f64>>();
        let v = judge_edited(
            &metrics::HEAP_LIVE,
            &mib(&base),
            &mib(&cur),
            &GatePolicy::default(),
            |_| {},
            |_| {},
        );
        assert_eq!(v.status, Status::Regression);
    }

    /// A verdict's `detectable` change is what the gate does: the baseline's
    /// runs made worse by it fail, by a hair less pass. Both a
    /// deterministic figure (the near-deterministic rule, about its 5%
    /// tolerance) and peak RSS (the test at 10 vs 8 runs, then the U test's
    /// bar) are checked.
    #[test]
    fn detectable_is_the_smallest_change_that_fails() {
        let base: Vec<f64> = (0..10)
            .map(|i| 100.0 * MIB + 4096.0 * f64::from(i))
            .collect();
        let spaced = |n: usize| -> Vec<f64> { (0..n).map(|i| base[i * 9 / (n - 1)]).collect() };
        for (judged, n) in [
            (judge_heap as fn(&[f64], &[f64]) -> Verdict, 3),
            (rss_default, 8),
        ] {
            let v = judged(&base, &spaced(n));
            let d = v.detectable.expect("a change this comparison catches");
            assert!(d > 0.0 && d < 0.5, "{d}");
            let worse = |x: f64| {
                spaced(n)
                    .iter()
                    .map(|s| s * (1.0 + x))
                    .collect::<Vec<f64>>()
            };
            assert_eq!(judged(&base, &worse(d)).status, Status::Regression, "+{d}");
            assert_ne!(
                judged(&base, &worse(d - 0.001)).status,
                Status::Regression,
                "+{d} - 0.1%"
            );
        }
        // One run a side: only the far rule, at 4 x 5% from the run.
        let v = judge_heap(&base[..1], &base[..1]);
        assert!(
            (v.detectable.unwrap() - 0.2).abs() < 0.001,
            "{:?}",
            v.detectable
        );
    }

    fn rss_default(base: &[f64], cur: &[f64]) -> Verdict {
        judge1(base, cur, &GatePolicy::default())
    }

    /// The verdict on go-retain's live heap as a footprint run measures it
    /// (31.08 MiB, spread under 0.1%) under the bundled 2% tolerance.
    fn live_heap(base: &[f64], cur: &[f64]) -> Verdict {
        let policy = GatePolicy {
            thresholds: BTreeMap::from([(
                "heap.live.bytes".into(),
                crate::policy::ThresholdSpec {
                    max_increase: Some(crate::units::Percent(0.02)),
                    ..Default::default()
                },
            )]),
            ..Default::default()
        };
        let b = results("w", &metrics::HEAP_LIVE, base, "c");
        let c = results("w", &metrics::HEAP_LIVE, cur, "c");
        eval(&policy, &b, &c).verdicts[0].clone()
    }

    #[test]
    fn near_deterministic_rule_catches_three_percent_with_three_runs_and_not_noise() {
        // A baseline of 10 runs, as `memgate run` records it; 3 current.
        let measured: Vec<f64> = (0..10)
            .map(|i| 31_080_000.0 + 2_300.0 * f64::from(i))
            .collect();
        let base: [f64; 3] = [31_080_000.0, 31_083_000.0, 31_101_000.0];
        let grown: Vec<f64> = base.iter().map(|x| (x * 1.03).round()).collect();
        let v = live_heap(&measured, &grown);
        assert_eq!(v.status, Status::Regression, "{}", v.reason);
        assert_eq!(v.test.unwrap().method, Method::Separated);
        // A/A: the same spread on both sides, shifted within it.
        let again = [31_079_000.0, 31_095_000.0, 31_104_000.0];
        let v = live_heap(&measured, &again);
        assert_eq!(v.status, Status::Unchanged, "{}", v.reason);
        assert_eq!(v.test.unwrap().method, Method::Within);
        // One or two runs a side say nothing about the spread: noise (here
        // 1.5%, beyond any A/A seen) never fails, and neither does +3%,
        // which only the far rule (4 x 2%) could catch.
        for n in [1, 2] {
            let noisy: Vec<f64> = base[..n].iter().map(|x| x * 1.015).collect();
            let v = live_heap(&base[..n], &noisy);
            assert!(!v.status.fails(), "n = {n}: {}", v.reason);
            let v = live_heap(&base[..n], &grown[..n]);
            assert!(!v.status.fails(), "n = {n}: {}", v.reason);
            let far: Vec<f64> = base[..n].iter().map(|x| x * 1.10).collect();
            assert_eq!(live_heap(&base[..n], &far).status, Status::Regression);
        }
        // A baseline whose spread is not within half the tolerance band
        // cannot be trusted to be near-deterministic: the U test decides,
        // and with 3 runs a side it cannot; +3.2% beyond the 2% tolerance
        // of a deterministic figure warns (never passes unseen), +1% does
        // not.
        let wide = [30_800_000.0, 31_000_000.0, 31_200_000.0];
        let v = live_heap(&wide, &[31_900_000.0, 32_000_000.0, 32_100_000.0]);
        assert_eq!(v.status, Status::Warning, "{}", v.reason);
        assert!(matches!(v.softened, Some(Softened::FewRuns { .. })));
        let v = live_heap(&wide, &[31_200_000.0, 31_300_000.0, 31_400_000.0]);
        assert_eq!(v.status, Status::Inconclusive, "{}", v.reason);
    }

    #[test]
    fn the_far_rule_needs_a_gap_wider_than_the_baseline_range() {
        // A bimodal metric (Go's random map seeds): three runs in each mode.
        let base = [23.0 * MIB, 24.0 * MIB, 34.0 * MIB];
        let cur = [35.0 * MIB, 35.5 * MIB, 36.0 * MIB];
        let v = live_heap(&base, &cur);
        assert!(!v.status.fails(), "{}", v.reason);
        let v = live_heap(&base, &[46.0 * MIB, 47.0 * MIB, 48.0 * MIB]);
        assert_eq!(v.status, Status::Regression, "{}", v.reason);
    }

    #[test]
    fn series_of_different_phases_are_never_compared() {
        let b = results("w", &metrics::HEAP_LIVE, &[1.0, 1.0, 1.0], "c");
        let mut c = b.clone();
        let s = c.workloads[0].metrics.get_mut("heap.live.bytes").unwrap();
        s.phase = Some(crate::phase::Phase::Footprint);
        let v = eval(&GatePolicy::default(), &b, &c);
        assert_eq!(v.verdicts[0].status, Status::Missing);
        assert!(
            v.verdicts[0]
                .reason
                .starts_with("not comparable: measured in a single phase in the baseline and in the footprint phase now"),
            "{}",
            v.verdicts[0].reason
        );
        assert!(!v.tally.passed);
    }

    fn statuses(v: &Verdicts) -> Vec<(&str, Status)> {
        v.verdicts
            .iter()
            .map(|v| (v.workload.as_str(), v.status))
            .collect()
    }

    #[test]
    fn missing_metrics_fail_unless_removed_on_purpose() {
        let mut b = results("old", &metrics::RSS_PEAK, &[1.0], "c");
        b.workloads
            .extend(results("kept", &metrics::RSS_PEAK, &[1.0; 3], "c").workloads);
        let mut c = results("new", &metrics::RSS_PEAK, &[1.0], "c");
        c.workloads
            .extend(results("kept", &metrics::RSS_PEAK, &[1.0; 3], "c").workloads);
        let judge = |policy: &GatePolicy| eval(policy, &b, &c);
        let v = judge(&GatePolicy::default());
        assert_eq!(
            statuses(&v),
            [
                ("old", Status::Missing),
                ("new", Status::New),
                ("kept", Status::Unchanged)
            ]
        );
        assert!(!v.tally.passed);
        let removed = GatePolicy {
            removed: vec!["old".into()],
            ..Default::default()
        };
        let v = judge(&removed);
        assert_eq!(v.verdicts[0].status, Status::Removed);
        assert!(v.tally.passed);
        let optional = GatePolicy {
            optional: vec!["o*:process.rss.*".into()],
            ..Default::default()
        };
        assert!(judge(&optional).tally.passed);
    }

    #[test]
    fn nothing_in_common_never_passes() {
        let b = results("a", &metrics::RSS_PEAK, &[1.0; 3], "c");
        let c = results("b", &metrics::RSS_PEAK, &[1.0; 3], "c");
        let v = eval(&GatePolicy::default(), &b, &c);
        assert!(!v.tally.passed);
        let mut empty = c.clone();
        empty.workloads.clear();
        let v = eval(&GatePolicy::default(), &b, &empty);
        assert_eq!(statuses(&v), [("a", Status::Missing)]);
        assert!(!v.tally.passed);
    }

    #[test]
    fn a_series_without_samples_is_missing() {
        let b = results("w", &metrics::RSS_PEAK, &[1.0; 3], "c");
        let c = results("w", &metrics::RSS_PEAK, &[], "c");
        let v = eval(&GatePolicy::default(), &b, &c);
        assert_eq!(statuses(&v), [("w", Status::Missing)]);
        assert!(!v.tally.passed);
    }

    #[test]
    fn holm_raises_the_bar_across_many_tests() {
        // One shifted noisy metric among many: 6 vs 6 separated gives p =
        // 0.0022, significant alone but out of the family of 30 (Tarone's
        // K = 24: 0.05/24 = 0.0021); +15% is short of the far rule's 4 x 5%.
        let base = noisy(100.0 * MIB, 6);
        let cur = noisy(115.0 * MIB, 6);
        let mut b = results("w", &metrics::RSS_PEAK, &base, "c");
        let mut c = results("w", &metrics::RSS_PEAK, &cur, "c");
        for i in 0..29 {
            let mut s = Series::new(&metrics::RSS_PEAK, "t");
            s.samples = noisy(10.0 * MIB, 6)
                .iter()
                .map(|&v| Value::Int(v as u64 + i))
                .collect();
            b.workloads[0]
                .metrics
                .insert(format!("custom.{i}"), s.clone());
            c.workloads[0].metrics.insert(format!("custom.{i}"), s);
        }
        let v = eval(&GatePolicy::default(), &b, &c);
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
        let v = eval(&none, &b, &c);
        let rss = v
            .verdicts
            .iter()
            .find(|v| v.metric == "process.rss.peak")
            .unwrap();
        assert_eq!(rss.status, Status::Regression, "{}", rss.reason);
    }
}
