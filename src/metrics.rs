//! The metric taxonomy shared by Go and Rust workloads: every metric's name,
//! unit, direction and whether it travels between machines.
//!
//! Names are dotted and lower case, with the unit in the schema rather than
//! the name (see DESIGN.md, "Metrics"). Collectors look their metrics up
//! here so a name is spelled in one place.

use serde::{Deserialize, Serialize};

/// The unit a metric's samples are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Bytes, an integer.
    Bytes,
    /// Seconds, a float.
    Seconds,
    /// A count, an integer.
    Count,
    /// A dimensionless ratio, a float.
    Ratio,
    /// Throughput in bytes per second (Go's MB/s), a float.
    #[serde(rename = "bytes/s")]
    BytesPerSecond,
}

/// Which direction of change is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Smaller values are better (memory, time, pauses).
    Lower,
    /// Larger values are better (throughput).
    Higher,
}

impl Unit {
    /// The unit's name in results and verdicts files.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Bytes => "bytes",
            Unit::Seconds => "seconds",
            Unit::Count => "count",
            Unit::Ratio => "ratio",
            Unit::BytesPerSecond => "bytes/s",
        }
    }
}

impl Better {
    /// The direction's name in results and verdicts files.
    pub fn as_str(self) -> &'static str {
        match self {
            Better::Lower => "lower",
            Better::Higher => "higher",
        }
    }
}

/// How far a metric's values travel between machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Stability {
    /// The same on any machine with the same toolchain (allocation counts and
    /// bytes of a deterministic workload).
    Deterministic,
    /// Depends on the machine: kernel, transparent huge pages, cores (RSS,
    /// page faults, fragmentation).
    MachineDependent,
    /// Moves with the load on the machine while it ran: time, context
    /// switches, pauses, latency, and every memory figure of a concurrent
    /// collector (Go's behaviour phase). A stored baseline cannot tell a
    /// busier runner from a regression.
    LoadSensitive,
}

/// The static description of one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricDef {
    /// Dotted name, e.g. `process.rss.peak`.
    pub name: &'static str,
    /// Unit of the samples.
    pub unit: Unit,
    /// Direction of improvement.
    pub better: Better,
    /// Whether values travel between machines.
    pub stability: Stability,
    /// Built-in absolute noise floor (`min_change`) in the metric's unit:
    /// changes smaller than this are never a regression, whatever the test
    /// says. Overridable with `thresholds.<metric>.min_change`.
    pub noise_floor: f64,
    /// Built-in relative tolerance (`max_increase`) for metrics whose own
    /// noise is wider than the default's 5%: time, context switches, GC
    /// pauses and latency (they move with the load), mapped memory (it
    /// grows in arena-sized steps). It wins over `thresholds.default`; an
    /// entry naming the metric wins over it. `None` uses the default.
    pub tolerance: Option<f64>,
    /// Follows the pacing of a concurrent garbage collector: the heap
    /// figures, cycles and RSS of a Go program depend on when its
    /// collector ran, and so on the CPU it got. Measured with a concurrent
    /// collector (Go's behaviour phase), such a metric is load-sensitive.
    pub paced: bool,
}

impl MetricDef {
    /// The metric's stability when measured with (`concurrent_gc`) or
    /// without a concurrent collector pacing the heap.
    pub fn stability_under(&self, concurrent_gc: bool) -> Stability {
        if self.paced && concurrent_gc {
            Stability::LoadSensitive
        } else {
            self.stability
        }
    }
}

const fn machine(name: &'static str, unit: Unit, noise_floor: f64) -> MetricDef {
    MetricDef {
        name,
        unit,
        better: Better::Lower,
        stability: Stability::MachineDependent,
        noise_floor,
        tolerance: None,
        paced: false,
    }
}

/// A machine-dependent metric that moves with the load on the machine:
/// it needs a change beyond `tolerance` (relative) to count.
const fn load_sensitive(
    name: &'static str,
    unit: Unit,
    noise_floor: f64,
    tolerance: f64,
) -> MetricDef {
    MetricDef {
        stability: Stability::LoadSensitive,
        tolerance: Some(tolerance),
        ..machine(name, unit, noise_floor)
    }
}

/// Peak resident set size of the workload process, from wait4 (bytes);
/// noise floor 512 KiB.
pub const RSS_PEAK: MetricDef = paced(machine("process.rss.peak", Unit::Bytes, 512.0 * 1024.0));
/// User CPU time (seconds).
pub const CPU_USER: MetricDef = load_sensitive("process.cpu.user", Unit::Seconds, 0.020, 0.25);
/// System CPU time (seconds).
pub const CPU_SYSTEM: MetricDef = load_sensitive("process.cpu.system", Unit::Seconds, 0.020, 0.25);
/// Wall-clock time from spawn to reaping (seconds).
pub const WALL: MetricDef = load_sensitive("process.wall", Unit::Seconds, 0.020, 0.25);
/// Minor page faults (count).
pub const FAULTS_MINOR: MetricDef = paced(machine("process.faults.minor", Unit::Count, 256.0));
/// Major page faults (count).
pub const FAULTS_MAJOR: MetricDef = machine("process.faults.major", Unit::Count, 16.0);
/// Voluntary context switches (count).
pub const CTX_VOLUNTARY: MetricDef = load_sensitive(
    "process.context_switches.voluntary",
    Unit::Count,
    200.0,
    1.0,
);
/// Involuntary context switches (count).
pub const CTX_INVOLUNTARY: MetricDef = load_sensitive(
    "process.context_switches.involuntary",
    Unit::Count,
    200.0,
    1.0,
);

const fn deterministic(name: &'static str, unit: Unit, noise_floor: f64) -> MetricDef {
    MetricDef {
        stability: Stability::Deterministic,
        ..machine(name, unit, noise_floor)
    }
}

/// A metric that follows a concurrent collector's pacing (see
/// [`MetricDef::paced`]).
const fn paced(def: MetricDef) -> MetricDef {
    MetricDef { paced: true, ..def }
}

/// Bytes allocated over the run (Go: /gc/heap/allocs:bytes; Rust: the
/// counting allocator or DHAT). Deterministic for a deterministic workload.
pub const HEAP_ALLOC_BYTES: MetricDef = deterministic("heap.alloc.bytes", Unit::Bytes, 0.0);
/// Objects allocated over the run, tiny allocations included (so it
/// matches Go's allocs/op).
pub const HEAP_ALLOC_OBJECTS: MetricDef = deterministic("heap.alloc.objects", Unit::Count, 0.0);
/// Largest heap: Go, the heap at GC start (gctrace, MiB-truncated);
/// Rust, the peak of live bytes (DHAT t-gmax or the counting allocator).
/// The heap figures depend on the allocations and the GC settings, not on
/// the CPU or the kernel; noise floor 256 KiB.
pub const HEAP_PEAK: MetricDef = paced(deterministic("heap.peak.bytes", Unit::Bytes, 262144.0));
/// Heap bytes in objects at exit (Go: live heap after a final collection;
/// Rust: DHAT t-end or the counting allocator).
pub const HEAP_END: MetricDef = paced(deterministic("heap.end.bytes", Unit::Bytes, 262144.0));
/// heap.end.bytes as the Rust probe reads it: the live bytes when
/// `finish()` runs, while the program's other threads may still be
/// freeing (or allocating): how far they got is the scheduler's choice, so
/// the figure moves with the load (a threaded program's read spread 31%
/// run to run). Go's is read after a final collection, with the world
/// stopped, and keeps [`HEAP_END`].
pub const HEAP_END_AT_FINISH: MetricDef = MetricDef {
    stability: Stability::LoadSensitive,
    ..HEAP_END
};
/// Live heap marked by the last GC cycle.
pub const HEAP_LIVE: MetricDef = paced(deterministic("heap.live.bytes", Unit::Bytes, 262144.0));
/// The heap goal of the last GC cycle.
pub const HEAP_GOAL: MetricDef = paced(deterministic("heap.goal.bytes", Unit::Bytes, 262144.0));
/// Memory mapped by the Go runtime (/memory/classes/total). It grows in
/// steps of heap arenas and spans, so run to run it jumps by 6-32% on the
/// bundled workloads even with the collector stop-the-world: it carries a
/// built-in tolerance of 50%.
pub const MEMORY_TOTAL: MetricDef = MetricDef {
    tolerance: Some(0.5),
    ..paced(machine("memory.total.bytes", Unit::Bytes, 1048576.0))
};
/// Completed GC cycles: exact with a stop-the-world collector; under a
/// concurrent one GC frequency follows the CPU left to the collector (+33%
/// seen under load).
pub const GC_CYCLES: MetricDef = paced(deterministic("gc.cycles", Unit::Count, 2.0));
/// GC cycles forced by runtime.GC().
pub const GC_CYCLES_FORCED: MetricDef = deterministic("gc.cycles.forced", Unit::Count, 1.0);
/// Sum of the stop-the-world pauses.
pub const GC_PAUSE_TOTAL: MetricDef = load_sensitive("gc.pause.total", Unit::Seconds, 0.000_5, 0.5);
/// Longest stop-the-world pause (gctrace: one cycle's two STW phases).
pub const GC_PAUSE_MAX: MetricDef = load_sensitive("gc.pause.max", Unit::Seconds, 0.000_5, 1.0);
/// Median pause (probe histogram).
pub const GC_PAUSE_P50: MetricDef = load_sensitive("gc.pause.p50", Unit::Seconds, 0.000_1, 0.5);
/// 99th percentile pause.
pub const GC_PAUSE_P99: MetricDef = load_sensitive("gc.pause.p99", Unit::Seconds, 0.000_5, 1.0);
/// Fraction of CPU spent in GC.
pub const GC_CPU_FRACTION: MetricDef = load_sensitive("gc.cpu.fraction", Unit::Ratio, 0.02, 0.25);
/// Heap memory held but not in objects: Go, 1 - objects / (objects +
/// unused + free); jemalloc, 1 - allocated / (resident - metadata). Both
/// allocators give free memory back on a clock (Go's background scavenger,
/// jemalloc's `dirty_decay_ms`), so it moves with the load even with a
/// stop-the-world collector: go-retain's footprint read 37.7% quiet and
/// 43.2% beside one CPU-bound neighbour (10 runs each, p = 1e-5).
pub const ALLOC_FRAGMENTATION: MetricDef =
    load_sensitive("alloc.fragmentation", Unit::Ratio, 0.02, 0.10);
/// Median latency of operations the workload recorded with the probe.
pub const LATENCY_P50: MetricDef = load_sensitive("latency.p50", Unit::Seconds, 0.000_01, 0.25);
/// 99th percentile latency.
pub const LATENCY_P99: MetricDef = load_sensitive("latency.p99", Unit::Seconds, 0.000_05, 0.5);
/// Longest recorded latency.
pub const LATENCY_MAX: MetricDef = load_sensitive("latency.max", Unit::Seconds, 0.000_5, 1.0);

/// Time per benchmark iteration (`go test -bench`'s ns/op), in seconds. It
/// moves with the load, so a stored baseline only warns on it; there is no
/// built-in tolerance, as benchstat has none.
pub const OP_TIME: MetricDef = MetricDef {
    stability: Stability::LoadSensitive,
    ..machine("op.time", Unit::Seconds, 0.0)
};
/// Bytes allocated per benchmark iteration (B/op): fixed by the code.
pub const OP_ALLOC_BYTES: MetricDef = deterministic("op.alloc.bytes", Unit::Bytes, 0.0);
/// Allocations per benchmark iteration (allocs/op).
pub const OP_ALLOC_OBJECTS: MetricDef = deterministic("op.alloc.objects", Unit::Count, 0.0);
/// Throughput of a benchmark that calls `b.SetBytes` (MB/s), in bytes/s.
pub const OP_THROUGHPUT: MetricDef = MetricDef {
    name: "op.throughput",
    unit: Unit::BytesPerSecond,
    better: Better::Higher,
    ..OP_TIME
};

/// Reallocations (Rust counting probe); each is also one block of heap.alloc.objects.
pub const HEAP_REALLOCS: MetricDef = deterministic("heap.reallocs", Unit::Count, 0.0);
/// jemalloc `stats.allocated`: bytes allocated by the application.
pub const JEMALLOC_ALLOCATED: MetricDef =
    machine("jemalloc.allocated.bytes", Unit::Bytes, 1048576.0);
/// jemalloc `stats.active`: bytes in active pages.
pub const JEMALLOC_ACTIVE: MetricDef = machine("jemalloc.active.bytes", Unit::Bytes, 1048576.0);
/// jemalloc `stats.resident`: bytes in resident data pages, metadata included.
pub const JEMALLOC_RESIDENT: MetricDef = machine("jemalloc.resident.bytes", Unit::Bytes, 1048576.0);
/// jemalloc `stats.metadata`: the allocator's own bytes.
pub const JEMALLOC_METADATA: MetricDef = machine("jemalloc.metadata.bytes", Unit::Bytes, 1048576.0);

/// Every metric memgate knows, for lookups by name.
pub const ALL: &[MetricDef] = &[
    RSS_PEAK,
    CPU_USER,
    CPU_SYSTEM,
    WALL,
    FAULTS_MINOR,
    FAULTS_MAJOR,
    CTX_VOLUNTARY,
    CTX_INVOLUNTARY,
    HEAP_ALLOC_BYTES,
    HEAP_ALLOC_OBJECTS,
    HEAP_PEAK,
    HEAP_END,
    HEAP_LIVE,
    HEAP_GOAL,
    MEMORY_TOTAL,
    GC_CYCLES,
    GC_CYCLES_FORCED,
    GC_PAUSE_TOTAL,
    GC_PAUSE_MAX,
    GC_PAUSE_P50,
    GC_PAUSE_P99,
    GC_CPU_FRACTION,
    ALLOC_FRAGMENTATION,
    LATENCY_P50,
    LATENCY_P99,
    LATENCY_MAX,
    OP_TIME,
    OP_ALLOC_BYTES,
    OP_ALLOC_OBJECTS,
    OP_THROUGHPUT,
    HEAP_REALLOCS,
    JEMALLOC_ALLOCATED,
    JEMALLOC_ACTIVE,
    JEMALLOC_RESIDENT,
    JEMALLOC_METADATA,
];

/// Most metrics [`custom`] defines in one process.
pub const MAX_CUSTOM: usize = 256;

/// The definition of a metric memgate does not know (a Go benchmark's own
/// unit, `b.ReportMetric`), made once per name and kept for the process;
/// `None` once [`MAX_CUSTOM`] are defined, so input cannot grow it without
/// bound. A name memgate knows returns the known definition.
pub fn custom(
    name: &str,
    unit: Unit,
    better: Better,
    stability: Stability,
) -> Option<&'static MetricDef> {
    use std::sync::Mutex;
    static CUSTOM: Mutex<Vec<&'static MetricDef>> = Mutex::new(Vec::new());
    if let Some(known) = lookup(name) {
        return Some(known);
    }
    let mut defined = CUSTOM
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(d) = defined.iter().find(|d| d.name == name) {
        return Some(d);
    }
    if defined.len() >= MAX_CUSTOM {
        return None;
    }
    let def: &'static MetricDef = Box::leak(Box::new(MetricDef {
        name: Box::leak(name.to_owned().into_boxed_str()),
        unit,
        better,
        stability,
        noise_floor: 0.0,
        tolerance: None,
        paced: false,
    }));
    defined.push(def);
    Some(def)
}

/// The definition of a known metric.
pub fn lookup(name: &str) -> Option<&'static MetricDef> {
    ALL.iter().find(|m| m.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serde_names() {
        use Unit::*;
        for u in [Bytes, Seconds, Count, Ratio, BytesPerSecond] {
            assert_eq!(serde_json::to_value(u).unwrap(), u.as_str());
        }
        for b in [Better::Lower, Better::Higher] {
            assert_eq!(serde_json::to_value(b).unwrap(), b.as_str());
        }
    }

    #[test]
    fn names_are_unique_dotted_lower_case() {
        for (i, m) in ALL.iter().enumerate() {
            assert!(m.name.contains('.'), "{}", m.name);
            assert_eq!(m.name, m.name.to_lowercase());
            assert!(
                ALL[i + 1..].iter().all(|o| o.name != m.name),
                "duplicate {}",
                m.name
            );
            assert_eq!(lookup(m.name), Some(m));
        }
    }
}
