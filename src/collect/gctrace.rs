//! The Go runtime's `GODEBUG=gctrace=1` lines, read from a run's stderr:
//!
//! ```text
//! gc 3 @0.003s 5%: 0.007+0.84+0.001 ms clock, 0.015+0.028/0.050/0.094+0.003 ms cpu, 3->4->2 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
//! ```
//!
//! Accepted: every release from Go 1.19 to the newest (with or without the
//! `stacks` and `globals` fields, which older releases lack), `(forced)`
//! cycles, and program output before the `gc N @` on the same line. The
//! runtime writes each field with its own write(2), so other stderr output
//! can land inside a line (reference §2.2): such a line is counted as
//! unreadable and reported, never guessed at. Sizes are MiB truncated by the
//! runtime (`>> 20`), so a small heap reads 0.
//!
//! Derived metrics: gc.cycles (the highest cycle number), gc.pause.total,
//! gc.pause.max and gc.pause.p99 (a cycle's pause is the sum of its two
//! stop-the-world clock phases), heap.peak.bytes (the largest heap at GC
//! start), heap.live.bytes and heap.goal.bytes (of the last cycle) and
//! gc.cpu.fraction (the last line's cumulative percentage).

use std::collections::BTreeMap;
use std::path::Path;

use super::{Collect, CollectError, Collected, RunArtifacts, Sample};
use crate::metrics::{self, MetricDef};
use crate::results::Value;

/// One GC cycle as the runtime printed it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cycle {
    /// The cycle number (cumulative).
    pub n: u64,
    /// Seconds since program start when the cycle began.
    pub at_seconds: f64,
    /// Cumulative percentage of CPU time spent in GC, truncated.
    pub cpu_percent: u32,
    /// Wall-clock ms: stop-the-world sweep termination.
    pub stw_sweep_ms: f64,
    /// Wall-clock ms: concurrent mark and scan.
    pub mark_ms: f64,
    /// Wall-clock ms: stop-the-world mark termination.
    pub stw_mark_term_ms: f64,
    /// Heap at GC start, MiB.
    pub heap_start_mib: u64,
    /// Heap at GC end, MiB.
    pub heap_end_mib: u64,
    /// Marked live heap, MiB.
    pub heap_live_mib: u64,
    /// Heap goal, MiB.
    pub goal_mib: u64,
    /// Scannable stacks, MiB (absent before the field was printed).
    pub stacks_mib: Option<u64>,
    /// Scannable globals, MiB.
    pub globals_mib: Option<u64>,
    /// GOMAXPROCS.
    pub procs: u32,
    /// Forced by runtime.GC().
    pub forced: bool,
}

impl Cycle {
    /// The cycle's stop-the-world time in seconds.
    pub fn pause_seconds(&self) -> f64 {
        (self.stw_sweep_ms + self.stw_mark_term_ms) / 1e3
    }
}

/// A gctrace line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// 1-based line number in the stream.
    pub line: usize,
    /// The line as found.
    pub text: String,
}

/// Everything read from one stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    /// Cycles in stream order.
    pub cycles: Vec<Cycle>,
    /// Lines that start like gctrace but do not parse.
    pub unreadable: Vec<Unreadable>,
}

/// Where a gctrace record starts in `line`: `gc ` followed by a digit, a
/// number and ` @`.
fn trace_start(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(i) = line[from..].find("gc ") {
        let at = from + i;
        let mut j = at + 3;
        let digits_start = j;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        if j > digits_start && bytes[j..].starts_with(b" @") {
            return Some(at);
        }
        from = at + 3;
    }
    None
}

/// Whether a line carries (the start of) a gctrace record.
pub fn is_trace_line(line: &str) -> bool {
    trace_start(line).is_some()
}

/// Reads every gctrace record of a stream; other lines are ignored.
pub fn parse(text: &str) -> Trace {
    let mut trace = Trace::default();
    for (i, line) in text.lines().enumerate() {
        let Some(start) = trace_start(line) else {
            continue;
        };
        match parse_record(&line[start..]) {
            Some(c) => trace.cycles.push(c),
            None => trace.unreadable.push(Unreadable {
                line: i + 1,
                text: line.to_owned(),
            }),
        }
    }
    trace
}

/// A cursor over one record.
struct Cur<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    fn lit(&mut self, lit: &str) -> Option<()> {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            Some(())
        } else {
            None
        }
    }

    fn uint(&mut self) -> Option<u64> {
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(&b) = self.s.get(self.i) {
            if !b.is_ascii_digit() {
                break;
            }
            v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
            self.i += 1;
        }
        (self.i > start).then_some(v)
    }

    /// A decimal such as `0.007`, `16` or `1.739`.
    fn decimal(&mut self) -> Option<f64> {
        let whole = self.uint()?;
        if self.s.get(self.i) != Some(&b'.') {
            return Some(whole as f64);
        }
        self.i += 1;
        let start = self.i;
        let frac = self.uint()?;
        let digits = (self.i - start) as i32;
        Some(whole as f64 + frac as f64 / 10f64.powi(digits))
    }
}

fn parse_record(record: &str) -> Option<Cycle> {
    let mut c = Cur {
        s: record.as_bytes(),
        i: 0,
    };
    c.lit("gc ")?;
    let n = c.uint()?;
    c.lit(" @")?;
    let at_seconds = c.decimal()?;
    c.lit("s ")?;
    let cpu_percent = u32::try_from(c.uint()?).ok()?;
    c.lit("%: ")?;
    let stw_sweep_ms = c.decimal()?;
    c.lit("+")?;
    let mark_ms = c.decimal()?;
    c.lit("+")?;
    let stw_mark_term_ms = c.decimal()?;
    c.lit(" ms clock, ")?;
    // CPU: sweep-term + assist/background/idle + mark-term; read, not kept.
    c.decimal()?;
    c.lit("+")?;
    c.decimal()?;
    c.lit("/")?;
    c.decimal()?;
    c.lit("/")?;
    c.decimal()?;
    c.lit("+")?;
    c.decimal()?;
    c.lit(" ms cpu, ")?;
    let heap_start_mib = c.uint()?;
    c.lit("->")?;
    let heap_end_mib = c.uint()?;
    c.lit("->")?;
    let heap_live_mib = c.uint()?;
    c.lit(" MB, ")?;
    let goal_mib = c.uint()?;
    c.lit(" MB goal, ")?;
    let mut next = c.uint()?;
    let (mut stacks_mib, mut globals_mib) = (None, None);
    if c.lit(" MB stacks, ").is_some() {
        stacks_mib = Some(next);
        globals_mib = Some(c.uint()?);
        c.lit(" MB globals, ")?;
        next = c.uint()?;
    }
    c.lit(" P")?;
    let forced = c.lit(" (forced)").is_some();
    Some(Cycle {
        n,
        at_seconds,
        cpu_percent,
        stw_sweep_ms,
        mark_ms,
        stw_mark_term_ms,
        heap_start_mib,
        heap_end_mib,
        heap_live_mib,
        goal_mib,
        stacks_mib,
        globals_mib,
        procs: u32::try_from(next).ok()?,
        forced,
    })
}

/// p99 by the nearest-rank method; 0 for no values.
fn p99(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((0.99 * values.len() as f64).ceil() as usize).max(1);
    values[rank - 1]
}

/// The metrics of one run's trace.
pub fn samples(trace: &Trace) -> Vec<Sample> {
    let s = |metric: &'static MetricDef, value: Value| Sample {
        metric,
        source: "gctrace",
        value,
    };
    let mib = |v: u64| Value::Int(v << 20);
    let mut pauses: Vec<f64> = trace.cycles.iter().map(Cycle::pause_seconds).collect();
    let mut out = vec![
        s(
            &metrics::GC_CYCLES,
            Value::Int(trace.cycles.iter().map(|c| c.n).max().unwrap_or(0)),
        ),
        s(&metrics::GC_PAUSE_TOTAL, Value::Float(pauses.iter().sum())),
        s(
            &metrics::GC_PAUSE_MAX,
            Value::Float(pauses.iter().copied().fold(0.0, f64::max)),
        ),
        s(&metrics::GC_PAUSE_P99, Value::Float(p99(&mut pauses))),
        s(
            &metrics::GC_CYCLES_FORCED,
            Value::Int(trace.cycles.iter().filter(|c| c.forced).count() as u64),
        ),
    ];
    if let Some(last) = trace.cycles.last() {
        out.push(s(
            &metrics::HEAP_PEAK,
            mib(trace
                .cycles
                .iter()
                .map(|c| c.heap_start_mib)
                .max()
                .unwrap_or(0)),
        ));
        out.push(s(&metrics::HEAP_LIVE, mib(last.heap_live_mib)));
        out.push(s(&metrics::HEAP_GOAL, mib(last.goal_mib)));
        out.push(s(
            &metrics::GC_CPU_FRACTION,
            Value::Float(f64::from(last.cpu_percent) / 100.0),
        ));
    }
    out
}

/// Adds `gctrace=1` to a GODEBUG value, keeping the user's other settings
/// and replacing any gctrace setting of theirs.
pub fn with_gctrace(godebug: Option<&str>) -> String {
    let mut parts: Vec<&str> = godebug
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && !p.starts_with("gctrace="))
        .collect();
    parts.push("gctrace=1");
    parts.join(",")
}

/// Collects gctrace metrics; turns the trace on for the run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gctrace;

impl Collect for Gctrace {
    fn name(&self) -> &'static str {
        "gctrace"
    }

    fn setup(&self, env: &mut BTreeMap<String, String>, _probe_file: &Path) {
        let inherited = std::env::var("GODEBUG").ok();
        let current = env.get("GODEBUG").cloned().or(inherited);
        env.insert("GODEBUG".into(), with_gctrace(current.as_deref()));
    }

    fn collect(&self, run: &RunArtifacts<'_>) -> Result<Collected, CollectError> {
        let text = std::fs::read(run.stderr).map_err(|e| CollectError {
            collector: "gctrace",
            message: format!("cannot read {}: {e}", run.stderr.display()),
        })?;
        let trace = parse(&String::from_utf8_lossy(&text));
        let warnings = match trace.unreadable.first() {
            None => Vec::new(),
            Some(first) => vec![format!(
                "gctrace: {} unreadable line(s) (other stderr output inside a trace line?), first at stderr line {}: `{}`; gc.pause.* miss those cycles",
                trace.unreadable.len(),
                first.line,
                first.text
            )],
        };
        Ok(Collected {
            samples: samples(&trace),
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO119: &str = "gc 3 @0.003s 5%: 0.007+0.84+0.001 ms clock, 0.015+0.028/0.050/0.094+0.003 ms cpu, 3->4->2 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P";

    #[test]
    fn reads_the_reference_line() {
        let t = parse(GO119);
        assert!(t.unreadable.is_empty());
        let c = t.cycles[0];
        assert_eq!((c.n, c.cpu_percent, c.procs, c.forced), (3, 5, 2, false));
        assert_eq!(
            (
                c.heap_start_mib,
                c.heap_end_mib,
                c.heap_live_mib,
                c.goal_mib
            ),
            (3, 4, 2, 4)
        );
        assert_eq!((c.stacks_mib, c.globals_mib), (Some(0), Some(0)));
        assert!((c.pause_seconds() - 0.000_008).abs() < 1e-12);
        assert!((c.at_seconds - 0.003).abs() < 1e-12);
    }

    #[test]
    fn reads_forced_cycles_and_the_older_format() {
        let t = parse(&format!(
            "{GO119} (forced)\ngc 1 @0.012s 1%: 0.019+1.4+0.004 ms clock, 0.078+0.30/1.2/2.7+0.016 ms cpu, 4->4->0 MB, 5 MB goal, 4 P\n"
        ));
        assert_eq!(t.cycles.len(), 2);
        assert!(t.cycles[0].forced);
        assert_eq!((t.cycles[1].stacks_mib, t.cycles[1].procs), (None, 4));
    }

    #[test]
    fn program_output_before_a_record_is_tolerated_inside_is_reported() {
        let t = parse(&format!(
            "log: starting {GO119}\nplain output\ngc 4 @0.004s 5%: 0.007+0.84+0.001 ms clock, 0.0HELLO\n"
        ));
        assert_eq!(t.cycles.len(), 1);
        assert_eq!(
            t.unreadable,
            [Unreadable {
                line: 3,
                text: "gc 4 @0.004s 5%: 0.007+0.84+0.001 ms clock, 0.0HELLO".into()
            }]
        );
        assert!(!is_trace_line("plain output"));
        assert!(!is_trace_line("the gc ran @ noon"));
    }

    #[test]
    fn godebug_is_merged() {
        assert_eq!(with_gctrace(None), "gctrace=1");
        assert_eq!(
            with_gctrace(Some("madvdontneed=1,gctrace=2")),
            "madvdontneed=1,gctrace=1"
        );
    }

    #[test]
    fn derived_metrics() {
        let t = parse(&format!(
            "{GO119}\ngc 4 @0.010s 7%: 0.5+1+0.25 ms clock, 0.015+0.028/0.050/0.094+0.003 ms cpu, 9->10->6 MB, 12 MB goal, 0 MB stacks, 0 MB globals, 2 P\n"
        ));
        let by: BTreeMap<&str, f64> = samples(&t)
            .iter()
            .map(|s| (s.metric.name, s.value.as_f64()))
            .collect();
        assert_eq!(by["gc.cycles"], 4.0);
        assert!((by["gc.pause.total"] - 0.000_758).abs() < 1e-12);
        assert!((by["gc.pause.max"] - 0.000_75).abs() < 1e-12);
        assert_eq!(by["heap.peak.bytes"], (9u64 << 20) as f64);
        assert_eq!(by["heap.live.bytes"], (6u64 << 20) as f64);
        assert_eq!(by["heap.goal.bytes"], (12u64 << 20) as f64);
        assert_eq!(by["gc.cpu.fraction"], 0.07);
    }
}
