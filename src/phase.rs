//! Measurement phases of a garbage-collected workload.
//!
//! Go's collector is concurrent and paces itself against the CPU it gets:
//! starved of CPU by a neighbour, the program allocates while marking runs
//! late, the heap overshoots its goal, the next goal is higher, and every
//! memory figure moves with the load. So a Go workload is measured twice:
//!
//! - **footprint**: one P (`GOMAXPROCS=1`) and every collection
//!   stop-the-world (`GODEBUG=gcstoptheworld=1`, documented in the Go
//!   `runtime` package), on top of the workload's GOGC and GOMEMLIMIT. Heap
//!   bytes and objects, live/goal/peak heap, cycles and peak RSS then follow
//!   the allocations alone; they gate tightly against a stored baseline on
//!   any load. A Go benchmark's footprint goes further: no collection at
//!   all during its loop (`GOGC=off`, with a `GOMEMLIMIT` backstop), since
//!   a collection empties caches and free lists (`sync.Pool` among them)
//!   that the loop then refills by allocating: one test binary read 26 or
//!   22 allocs/op at one count as collections fell. The testing package
//!   still collects before each timed loop (`runtime.GC` in `B.runN`),
//!   which the trace marks `(forced)`; any other cycle is the backstop's.
//! - **behaviour**: the workload's own settings. Pauses, GC CPU, latency,
//!   wall and CPU time: what only a concurrent collector shows, and what
//!   moves with the machine's load.
//!
//! When a workload runs both, each metric is taken from one phase only:
//! load-sensitive metrics from the behaviour phase, everything else from the
//! footprint phase. Every run and every series records its phase; the gate
//! never compares series of different phases.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::metrics::{MetricDef, Stability};

/// One way of running a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The collector made deterministic: memory figures that do not move
    /// with the machine's load.
    Footprint,
    /// The workload's own settings: pauses, latency, time.
    Behaviour,
}

impl Phase {
    /// The phase's name in configs, results and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Footprint => "footprint",
            Phase::Behaviour => "behaviour",
        }
    }

    /// Applies the phase's runtime settings to a run's environment. The
    /// footprint phase sets `GOMAXPROCS=1` and adds `gcstoptheworld=1` to
    /// GODEBUG (keeping the user's other GODEBUG settings, and the
    /// inherited GODEBUG when the workload sets none), and for a benchmark
    /// (`backstop` given) `GOGC=off` and `GOMEMLIMIT=<backstop>`; the
    /// behaviour phase changes nothing.
    pub fn apply(self, env: &mut BTreeMap<String, String>, backstop: Option<u64>) {
        if self == Phase::Footprint {
            if let Some(bytes) = backstop {
                env.insert("GOGC".into(), "off".into());
                env.insert("GOMEMLIMIT".into(), bytes.to_string());
            }
            env.insert("GOMAXPROCS".into(), "1".into());
            let current = env
                .get("GODEBUG")
                .cloned()
                .or_else(|| std::env::var("GODEBUG").ok());
            env.insert(
                "GODEBUG".into(),
                godebug_with(current.as_deref(), "gcstoptheworld", "1"),
            );
        }
    }

    /// Whether a run in this phase keeps `metric`, when the workload runs
    /// `phases`: with one phase every metric; with both, load-sensitive
    /// metrics from the behaviour phase and the rest from the footprint.
    pub fn keeps(self, metric: &MetricDef, phases: &[Phase]) -> bool {
        if phases.len() < 2 {
            return true;
        }
        let load = metric.stability == Stability::LoadSensitive;
        match self {
            Phase::Footprint => !load,
            Phase::Behaviour => load,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sets `key=value` in a GODEBUG value, keeping every other setting and
/// replacing an earlier setting of `key`.
pub fn godebug_with(godebug: Option<&str>, key: &str, value: &str) -> String {
    let prefix = format!("{key}=");
    let mut parts: Vec<&str> = godebug
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && !p.starts_with(&prefix))
        .collect();
    let setting = format!("{key}={value}");
    parts.push(&setting);
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics;

    #[test]
    fn footprint_makes_the_collector_deterministic_and_keeps_user_settings() {
        let mut env = BTreeMap::from([
            ("GOGC".to_owned(), "50".to_owned()),
            ("GOMAXPROCS".to_owned(), "4".to_owned()),
            (
                "GODEBUG".to_owned(),
                "madvdontneed=1,gcstoptheworld=0".to_owned(),
            ),
        ]);
        let before = env.clone();
        Phase::Footprint.apply(&mut env, None);
        assert_eq!(env["GOMAXPROCS"], "1");
        assert_eq!(env["GOGC"], "50");
        assert_eq!(env["GODEBUG"], "madvdontneed=1,gcstoptheworld=1");
        let footprint = env.clone();
        Phase::Behaviour.apply(&mut env, Some(1 << 30));
        assert_eq!(env, footprint);
        // A benchmark's footprint: no collection but the backstop's.
        let mut bench = before;
        Phase::Footprint.apply(&mut bench, Some(1 << 30));
        assert_eq!(
            (bench["GOGC"].as_str(), bench["GOMEMLIMIT"].as_str()),
            ("off", "1073741824")
        );
        assert_eq!(bench["GOMAXPROCS"], "1");
    }

    #[test]
    fn with_both_phases_each_metric_comes_from_one() {
        let both = [Phase::Footprint, Phase::Behaviour];
        for m in metrics::ALL {
            assert_ne!(
                Phase::Footprint.keeps(m, &both),
                Phase::Behaviour.keeps(m, &both),
                "{}",
                m.name
            );
            assert!(Phase::Behaviour.keeps(m, &[Phase::Behaviour]));
            assert!(Phase::Footprint.keeps(m, &[Phase::Footprint]));
        }
        assert!(Phase::Footprint.keeps(&metrics::HEAP_LIVE, &both));
        assert!(Phase::Footprint.keeps(&metrics::RSS_PEAK, &both));
        assert!(Phase::Footprint.keeps(&metrics::GC_CYCLES, &both));
        assert!(Phase::Behaviour.keeps(&metrics::GC_PAUSE_MAX, &both));
        assert!(Phase::Behaviour.keeps(&metrics::LATENCY_P99, &both));
        assert!(Phase::Behaviour.keeps(&metrics::WALL, &both));
    }
}
