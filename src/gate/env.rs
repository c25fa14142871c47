//! What can explain a change other than the code: the fingerprint fields
//! (machine, kernel, THP, toolchain, allocator and GC settings) in which a
//! workload's baseline and current runs differ, which metrics each can
//! change, and the load on a runner when the baseline was stored. A
//! regression such a cause can explain is a warning (unless
//! `gate.strict_env` or `gate.load_sensitive: fail`); everything else fails.

use crate::fingerprint::Environment;
use crate::lang::Lang;
use crate::metrics::{self, Stability};
use crate::phase::Phase;
use crate::policy::{GatePolicy, LoadSensitive};
use crate::results::{Results, WorkloadResults};
use crate::verdicts::EnvDifference;

/// Fingerprint fields that differ between the environments of one workload.
pub(super) fn env_differences(
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
        Lang::Go => e.go.clone(),
        Lang::Rust => e.rustc.clone(),
        Lang::Other => None,
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
        // A profile a side could not read is unknown, not a difference.
        let unknown = tag == "profile" && (b.is_none() || c.is_none());
        if b != c && !unknown {
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

/// What may turn a regression of one metric into a warning: the
/// environment differences that can explain a change of it, and whether it
/// moves with the load against a baseline that was not measured beside it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Softening {
    /// The differences (`field: baseline -> current`) that can change this
    /// metric; empty when none can or `gate.strict_env` is set.
    pub(super) env: Vec<String>,
    /// The metric is load-sensitive and its baseline was stored (not
    /// measured beside the current side), and the config does not ask to
    /// gate it anyway.
    pub(super) load: bool,
}

impl Softening {
    /// What can soften `metric` (of `stability`, measured in `phase`) of a
    /// workload whose sides differ by `diffs`; `interleaved`: its base was
    /// measured beside the current side, on this machine.
    pub(super) fn of(
        policy: &GatePolicy,
        diffs: &[EnvDifference],
        metric: &str,
        (stability, phase): (Stability, Option<Phase>),
        interleaved: bool,
    ) -> Softening {
        let paced = metrics::lookup(metric).is_some_and(|m| m.paced);
        // Footprint runs set GOMAXPROCS=1 whatever the workload's setting.
        let footprint = phase == Some(Phase::Footprint);
        let env = if policy.strict_env {
            Vec::new()
        } else {
            diffs
                .iter()
                .filter(|d| !(footprint && d.field == "tags.GOMAXPROCS"))
                .filter(|d| can_change(d, stability, paced))
                .map(|d| format!("{}: {} -> {}", d.field, d.baseline, d.current))
                .collect()
        };
        Softening {
            env,
            load: stability == Stability::LoadSensitive
                && !interleaved
                && policy.load_sensitive == LoadSensitive::Warn,
        }
    }
}

/// Whether a difference of the environment can change a metric of
/// `stability` (`paced`: it follows a concurrent collector's pacing):
///
/// - the OS, the architecture, the toolchain, the allocator and the build
///   profile can change everything, allocation counts included (a compiler
///   decides what escapes to the heap);
/// - the Go runtime's GOGC, GOMEMLIMIT and GOMAXPROCS change when the
///   collector runs: every paced and machine-dependent figure, not the
///   allocations;
/// - the kernel (any other release string), transparent huge pages and
///   the number of cores change how memory becomes resident and where it
///   is mapped: RSS, faults, fragmentation, an allocator's own figures.
///   Another build of the same release counts: from 6.18.44-fc-v1045 to
///   6.18.44-fc-v1098 jemalloc's `stats.metadata` of rust-fragment-jemalloc
///   rose from 2.26-2.76 MiB to 3.51-5.51 MiB, the same binary, the same
///   machine type, every run;
/// - the CPU model changes only what moves with time.
///
/// Load-sensitive metrics follow every difference.
fn can_change(d: &EnvDifference, stability: Stability, paced: bool) -> bool {
    if stability == Stability::LoadSensitive {
        return true;
    }
    let machine = stability == Stability::MachineDependent;
    match d.field.as_str() {
        "os" | "arch" | "toolchain" | "tags.allocator" | "tags.profile" => true,
        "tags.GOGC" | "tags.GOMEMLIMIT" | "tags.GOMAXPROCS" => paced || machine,
        "kernel" | "thp" | "cores" => machine,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(field: &str, baseline: &str, current: &str) -> EnvDifference {
        EnvDifference {
            workload: "w".into(),
            field: field.into(),
            baseline: baseline.into(),
            current: current.into(),
        }
    }

    #[test]
    fn each_difference_softens_what_it_can_change() {
        use Stability::*;
        let patch = diff("kernel", "6.1.0-18-amd64 #1 v595", "6.1.0-18-amd64 #1 v596");
        let major = diff("kernel", "5.15.0-1", "6.1.0-18");
        let cpu = diff("cpu_model", "Xeon 8370C", "EPYC 7763");
        let gogc = diff("tags.GOGC", "100", "50");
        let go = diff("toolchain", "go1.25.1", "go1.26.8");
        // RSS and an allocator's figures (machine-dependent, paced): any
        // other kernel, another build of one release too
        assert!(can_change(&patch, MachineDependent, true));
        assert!(can_change(&patch, MachineDependent, false));
        assert!(can_change(&major, MachineDependent, true));
        assert!(!can_change(&cpu, MachineDependent, true));
        assert!(can_change(&gogc, MachineDependent, true));
        // footprint heap (deterministic, paced)
        assert!(!can_change(&major, Deterministic, true));
        assert!(!can_change(&patch, Deterministic, true));
        assert!(!can_change(&cpu, Deterministic, true));
        assert!(can_change(&gogc, Deterministic, true));
        assert!(can_change(&go, Deterministic, true));
        // allocation counts (deterministic, not paced)
        assert!(!can_change(&gogc, Deterministic, false));
        assert!(can_change(&go, Deterministic, false));
        // time
        assert!(can_change(&cpu, LoadSensitive, false));
        assert!(can_change(&patch, LoadSensitive, false));
    }

    #[test]
    fn strict_env_and_interleaving_soften_nothing() {
        let diffs = [diff("cores", "4", "2")];
        let mut policy = GatePolicy::default();
        let s = Softening::of(
            &policy,
            &diffs,
            "process.wall",
            (Stability::LoadSensitive, None),
            false,
        );
        assert!(s.load);
        assert_eq!(s.env, ["cores: 4 -> 2"]);
        let s = Softening::of(
            &policy,
            &diffs,
            "process.wall",
            (Stability::LoadSensitive, None),
            true,
        );
        assert!(!s.load);
        policy.strict_env = true;
        policy.load_sensitive = LoadSensitive::Fail;
        let s = Softening::of(
            &policy,
            &diffs,
            "process.wall",
            (Stability::LoadSensitive, None),
            false,
        );
        assert_eq!(s, Softening::default());
    }

    /// A GOMAXPROCS tag difference can explain a paced figure of the
    /// behaviour phase, never one of the footprint phase, which runs with
    /// GOMAXPROCS=1 on both sides.
    #[test]
    fn gomaxprocs_softens_the_behaviour_phase_only() {
        let diffs = [diff("tags.GOMAXPROCS", "2", "4")];
        let policy = GatePolicy::default();
        let of = |phase| {
            Softening::of(
                &policy,
                &diffs,
                "heap.live.bytes",
                (Stability::Deterministic, Some(phase)),
                false,
            )
        };
        assert_eq!(of(Phase::Behaviour).env, ["tags.GOMAXPROCS: 2 -> 4"]);
        assert!(of(Phase::Footprint).env.is_empty());
    }
}
