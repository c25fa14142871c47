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
//! can land inside a line (the printer is `gcMarkTermination` in the Go
//! runtime's `mgc.go`, a sequence of `print` calls): such a line is counted as
//! unreadable and reported, never guessed at. Sizes are MiB truncated by the
//! runtime (`>> 20`), so a small heap reads 0.
//!
//! Derived metrics: gc.cycles (the highest cycle number), gc.pause.total,
//! gc.pause.max and gc.pause.p99 (a cycle's pause is the sum of its two
//! stop-the-world clock phases), heap.peak.bytes (the largest heap at GC
//! start), heap.live.bytes and heap.goal.bytes (of the last cycle) and
//! gc.cpu.fraction (the last line's cumulative percentage).

use super::{Collect, CollectError, Collected, RunArtifacts, RunSetup, Sample};
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
    /// The number of a cycle whose record the stream ends in the middle of:
    /// the program exited while the runtime was printing it.
    pub cut_off_at_exit: Option<u64>,
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

/// One token of a record, in the order the runtime writes them; each is
/// one write(2) of the runtime's `print`.
#[derive(Debug, Clone, Copy)]
enum Tok {
    Lit(&'static str),
    /// An unsigned integer into field slot `.0`.
    Uint(usize),
    /// A decimal into field slot `.0`.
    Dec(usize),
}

// Field slots.
const N: usize = 0;
const AT: usize = 1;
const PCT: usize = 2;
const STW1: usize = 3;
const MARK: usize = 4;
const STW2: usize = 5;
const CPU: usize = 6; // 6..=10, read and not kept
const H0: usize = 11;
const H1: usize = 12;
const H2: usize = 13;
const GOAL: usize = 14;
const STACKS_OR_PROCS: usize = 15;
const GLOBALS: usize = 16;
const PROCS: usize = 17;
const SLOTS: usize = 18;

/// The record with stacks and globals (Go 1.19 and later). Older releases
/// print ` P` right after the goal: see [`Partial::advance`].
const GRAMMAR: &[Tok] = &[
    Tok::Lit("gc "),
    Tok::Uint(N),
    Tok::Lit(" @"),
    Tok::Dec(AT),
    Tok::Lit("s "),
    Tok::Uint(PCT),
    // Two writes since the runtime prints gctrace=2 details between them.
    Tok::Lit("%"),
    Tok::Lit(": "),
    Tok::Dec(STW1),
    Tok::Lit("+"),
    Tok::Dec(MARK),
    Tok::Lit("+"),
    Tok::Dec(STW2),
    Tok::Lit(" ms clock, "),
    Tok::Dec(CPU),
    Tok::Lit("+"),
    Tok::Dec(CPU + 1),
    Tok::Lit("/"),
    Tok::Dec(CPU + 2),
    Tok::Lit("/"),
    Tok::Dec(CPU + 3),
    Tok::Lit("+"),
    Tok::Dec(CPU + 4),
    Tok::Lit(" ms cpu, "),
    Tok::Uint(H0),
    Tok::Lit("->"),
    Tok::Uint(H1),
    Tok::Lit("->"),
    Tok::Uint(H2),
    Tok::Lit(" MB, "),
    Tok::Uint(GOAL),
    Tok::Lit(" MB goal, "),
    Tok::Uint(STACKS_OR_PROCS),
    Tok::Lit(" MB stacks, "),
    Tok::Uint(GLOBALS),
    Tok::Lit(" MB globals, "),
    Tok::Uint(PROCS),
    Tok::Lit(" P"),
];

/// Index of ` MB stacks, ` in [`GRAMMAR`], where older releases print ` P`.
const STACKS_LIT: usize = 33;

/// A record being read, possibly across lines when other output landed
/// between the runtime's writes.
#[derive(Debug, Clone)]
struct Partial {
    pos: usize,
    fields: [f64; SLOTS],
    short_form: bool,
    /// The stream line where the record started.
    line: usize,
    /// The text of that line, for the report when the record breaks.
    text: String,
    /// Lines in a row that added nothing to the record.
    idle: usize,
    /// Whether the record stopped before the end of its last line, at
    /// someone else's text.
    stopped_by_text: bool,
}

/// Lines of other output a record may wait through between two of the
/// runtime's writes before it is given up.
const MAX_IDLE_LINES: usize = 64;

/// Tokens a record must have before giving it up reports it: `gc `, the
/// number and ` @`. Fewer, and the `gc ` was someone else's text.
const CONFIRMED_TOKENS: usize = 3;

/// Reads an unsigned decimal integer at the start of `s`.
fn uint_prefix(s: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if !b.is_ascii_digit() {
            break;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        i += 1;
    }
    (i > 0).then_some((v, i))
}

/// Reads a decimal such as `0.007`, `16` or `1.739` at the start of `s`.
fn decimal_prefix(s: &[u8]) -> Option<(f64, usize)> {
    let (whole, mut i) = uint_prefix(s)?;
    if s.get(i) != Some(&b'.') {
        return Some((whole as f64, i));
    }
    let (frac, digits) = uint_prefix(&s[i + 1..])?;
    i += 1 + digits;
    Some((whole as f64 + frac as f64 / 10f64.powi(digits as i32), i))
}

impl Partial {
    fn new(line: usize, text: &str) -> Partial {
        Partial {
            pos: 0,
            fields: [0.0; SLOTS],
            short_form: false,
            line,
            text: text.to_owned(),
            idle: 0,
            stopped_by_text: false,
        }
    }

    fn done(&self) -> bool {
        self.pos == GRAMMAR.len()
    }

    /// Consumes as many whole tokens as match at the start of `s`;
    /// returns how many bytes it took.
    fn advance(&mut self, s: &[u8]) -> usize {
        let mut i = 0;
        while !self.done() {
            let rest = &s[i..];
            match GRAMMAR[self.pos] {
                Tok::Lit(lit)
                    if self.pos == STACKS_LIT
                        && !rest.starts_with(lit.as_bytes())
                        && rest.starts_with(b" P") =>
                {
                    // Go before 1.19: `<goal> MB goal, <procs> P`.
                    self.fields[PROCS] = self.fields[STACKS_OR_PROCS];
                    self.short_form = true;
                    self.pos = GRAMMAR.len();
                    i += 2;
                }
                Tok::Lit(lit) if rest.starts_with(lit.as_bytes()) => {
                    self.pos += 1;
                    i += lit.len();
                }
                Tok::Uint(slot) => match uint_prefix(rest) {
                    Some((v, n)) => {
                        self.fields[slot] = v as f64;
                        self.pos += 1;
                        i += n;
                    }
                    None => break,
                },
                Tok::Dec(slot) => match decimal_prefix(rest) {
                    Some((v, n)) => {
                        self.fields[slot] = v;
                        self.pos += 1;
                        i += n;
                    }
                    None => break,
                },
                Tok::Lit(_) => break,
            }
        }
        i
    }

    fn cycle(&self, forced: bool) -> Option<Cycle> {
        let f = &self.fields;
        let int = |slot: usize| f[slot] as u64;
        Some(Cycle {
            n: int(N),
            at_seconds: f[AT],
            cpu_percent: u32::try_from(int(PCT)).ok()?,
            stw_sweep_ms: f[STW1],
            mark_ms: f[MARK],
            stw_mark_term_ms: f[STW2],
            heap_start_mib: int(H0),
            heap_end_mib: int(H1),
            heap_live_mib: int(H2),
            goal_mib: int(GOAL),
            stacks_mib: (!self.short_form).then(|| int(STACKS_OR_PROCS)),
            globals_mib: (!self.short_form).then(|| int(GLOBALS)),
            procs: u32::try_from(int(PROCS)).ok()?,
            forced,
        })
    }
}

/// Reads every gctrace record of a stream; other lines are ignored.
///
/// A record split across lines by other output (the runtime writes each
/// token separately, so another writer's whole lines can land between its
/// writes) is reassembled from the tokens found at the start of the
/// following lines. A record that cannot be completed, and a cycle number
/// missing from the sequence, are reported in [`Trace::unreadable`].
pub fn parse(text: &str) -> Trace {
    let mut trace = Trace::default();
    let mut pending: Option<Partial> = None;
    let give_up = |p: Partial, trace: &mut Trace| {
        if p.pos >= CONFIRMED_TOKENS {
            trace.unreadable.push(Unreadable {
                line: p.line,
                text: p.text,
            });
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    for (k, line) in lines.iter().enumerate() {
        let bytes = line.as_bytes();
        let mut consumed = 0;
        if let Some(mut p) = pending.take() {
            if trace_start(line) == Some(0) {
                // A new record begins before the pending one finished.
                give_up(p, &mut trace);
            } else {
                consumed = p.advance(bytes);
                p.idle = if consumed == 0 { p.idle + 1 } else { 0 };
                if p.idle > MAX_IDLE_LINES {
                    give_up(p, &mut trace);
                } else {
                    pending = Some(p);
                }
            }
        }
        if pending.is_none() {
            // A whole start (`gc 12 @`) anywhere, or a lone `gc ` opening a
            // line: the runtime's first write, with other output after it.
            let start = trace_start(&line[consumed..])
                .or_else(|| (consumed == 0 && line.starts_with("gc ")).then_some(0));
            if let Some(start) = start {
                let mut p = Partial::new(k + 1, line);
                let at = consumed + start;
                consumed = at + p.advance(&bytes[at..]);
                pending = Some(p);
            }
        }
        if let Some(p) = pending.as_mut() {
            p.stopped_by_text = consumed < bytes.len();
        }
        if let Some(p) = pending.take_if(|p| p.done()) {
            // ` (forced)` is the next write: on this line, or at the start of the next.
            let rest = &bytes[consumed..];
            let forced = rest.starts_with(b" (forced)")
                || (!rest.is_empty()
                    && lines.get(k + 1).is_some_and(|l| l.starts_with(" (forced)")));
            match p.cycle(forced) {
                Some(c) => trace.cycles.push(c),
                None => trace.unreadable.push(Unreadable {
                    line: p.line,
                    text: p.text,
                }),
            }
        }
    }
    if let Some(p) = pending {
        // A record the stream ends inside, with nothing after it: the
        // program exited while a GC cycle was being printed.
        if p.pos > 1 && p.idle == 0 && !p.stopped_by_text {
            trace.cut_off_at_exit = Some(p.fields[N] as u64);
        } else {
            give_up(p, &mut trace);
        }
    }
    trace
}

/// Cycle numbers missing from the sequence 1..=max, as inclusive ranges:
/// cycles whose record was lost without a readable start. Bounded by the
/// records seen, however large the numbers.
pub fn missing_cycles(trace: &Trace) -> Vec<(u64, u64)> {
    let mut seen: Vec<u64> = trace
        .cycles
        .iter()
        .map(|c| c.n)
        .chain(trace.cut_off_at_exit)
        .collect();
    seen.sort_unstable();
    seen.dedup();
    let mut gaps = Vec::new();
    let mut next = 1;
    for n in seen {
        if n > next {
            gaps.push((next, n - 1));
        }
        next = n.saturating_add(1);
    }
    gaps
}

/// How many cycle numbers the ranges of [`missing_cycles`] cover.
fn count(gaps: &[(u64, u64)]) -> u64 {
    gaps.iter().map(|(a, b)| b - a + 1).sum()
}

/// The ranges for people, the first few: `3, 7-9 (and 2 more ranges)`.
fn describe(gaps: &[(u64, u64)]) -> String {
    const SHOWN: usize = 5;
    let mut text: Vec<String> = gaps
        .iter()
        .take(SHOWN)
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    if gaps.len() > SHOWN {
        text.push(format!("and {} more ranges", gaps.len() - SHOWN));
    }
    text.join(", ")
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

/// One MiB, the unit of the trace's heap sizes.
pub const MIB: f64 = 1_048_576.0;

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
            Value::Int(
                trace
                    .cycles
                    .iter()
                    .map(|c| c.n)
                    .chain(trace.cut_off_at_exit)
                    .max()
                    .unwrap_or(0),
            ),
        ),
        s(
            &metrics::GC_CYCLES_FORCED,
            Value::Int(trace.cycles.iter().filter(|c| c.forced).count() as u64),
        ),
    ];
    // Pauses of no cycle are not zero pauses: with no readable record the
    // pause metrics are absent, and a baseline that had them shows them
    // missing rather than improved.
    if let Some(last) = trace.cycles.last() {
        out.push(s(
            &metrics::GC_PAUSE_TOTAL,
            Value::Float(pauses.iter().fold(0.0, |a, b| a + b)),
        ));
        out.push(s(
            &metrics::GC_PAUSE_MAX,
            Value::Float(pauses.iter().copied().fold(0.0, f64::max)),
        ));
        out.push(s(&metrics::GC_PAUSE_P99, Value::Float(p99(&mut pauses))));
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
    crate::phase::godebug_with(godebug, "gctrace", "1")
}

/// Cycles without a record tolerated before a trace is refused, however
/// few records it has.
const MAX_LOST_CYCLES: u64 = 16;

/// Collects gctrace metrics; turns the trace on for the run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gctrace;

impl Collect for Gctrace {
    fn name(&self) -> &'static str {
        "gctrace"
    }

    fn setup(&self, run: &mut RunSetup<'_>) {
        let inherited = std::env::var("GODEBUG").ok();
        let current = run.env.get("GODEBUG").cloned().or(inherited);
        run.env
            .insert("GODEBUG".into(), with_gctrace(current.as_deref()));
    }

    fn collect(&self, run: &RunArtifacts<'_>) -> Result<Collected, CollectError> {
        let text =
            crate::input::read(run.stderr, crate::input::FILE_LIMIT).map_err(|e| CollectError {
                collector: "gctrace",
                message: format!("cannot read {}: {e}", run.stderr.display()),
            })?;
        let trace = parse(&String::from_utf8_lossy(&text));
        let mut warnings = Vec::new();
        let mut notes = Vec::new();
        if let Some(first) = trace.unreadable.first() {
            warnings.push(format!(
                "gctrace: {} unreadable record(s), first at stderr line {}: `{}`; gc.pause.* miss those cycles",
                trace.unreadable.len(),
                first.line,
                first.text
            ));
        }
        if let Some(n) = trace.cut_off_at_exit {
            notes.push(format!(
                "gctrace: the program exited while cycle {n} was being printed; gc.cycles counts it, gc.pause.* do not"
            ));
        }
        let missing = missing_cycles(&trace);
        let lost = count(&missing);
        let seen = trace.cycles.len() as u64 + u64::from(trace.cut_off_at_exit.is_some());
        if lost > (2 * seen).max(MAX_LOST_CYCLES) {
            // Interleaving loses a record now and then, never most of them:
            // this is not the runtime's numbering.
            return Err(CollectError {
                collector: "gctrace",
                message: format!(
                    "{}: cycle numbers run to {} with {seen} record(s) read; {lost} cycles have no record: not a trace to count",
                    run.stderr.display(),
                    missing.last().map_or(0, |g| g.1 + 1)
                ),
            });
        }
        if !missing.is_empty() {
            warnings.push(format!(
                "gctrace: no readable record of cycle(s) {}; gc.pause.* miss them (gc.cycles counts them)",
                describe(&missing)
            ));
        }
        Ok(Collected {
            samples: samples(&trace),
            warnings,
            notes,
            sites: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

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

    /// Every Go release's real output parses whole, and the cycle count agrees
    /// with runtime/metrics read by the probe in the same run
    /// (fixtures/gctrace/record.sh).
    #[test]
    fn recorded_go_releases_parse_whole() {
        let fixtures = [
            (
                "1.19",
                include_str!("../../fixtures/gctrace/go1.19_retain.txt"),
                include_str!("../../fixtures/probe/go1.19_retain.json"),
            ),
            (
                "1.20",
                include_str!("../../fixtures/gctrace/go1.20_retain.txt"),
                include_str!("../../fixtures/probe/go1.20_retain.json"),
            ),
            (
                "1.21",
                include_str!("../../fixtures/gctrace/go1.21_retain.txt"),
                include_str!("../../fixtures/probe/go1.21_retain.json"),
            ),
            (
                "1.22",
                include_str!("../../fixtures/gctrace/go1.22_retain.txt"),
                include_str!("../../fixtures/probe/go1.22_retain.json"),
            ),
            (
                "1.23",
                include_str!("../../fixtures/gctrace/go1.23_retain.txt"),
                include_str!("../../fixtures/probe/go1.23_retain.json"),
            ),
            (
                "1.24",
                include_str!("../../fixtures/gctrace/go1.24_retain.txt"),
                include_str!("../../fixtures/probe/go1.24_retain.json"),
            ),
            (
                "1.25",
                include_str!("../../fixtures/gctrace/go1.25_retain.txt"),
                include_str!("../../fixtures/probe/go1.25_retain.json"),
            ),
            (
                "1.26",
                include_str!("../../fixtures/gctrace/go1.26_retain.txt"),
                include_str!("../../fixtures/probe/go1.26_retain.json"),
            ),
        ];
        for (version, text, probe) in fixtures {
            let t = parse(text);
            assert!(t.unreadable.is_empty(), "go{version}: {:?}", t.unreadable);
            assert!(missing_cycles(&t).is_empty(), "go{version}");
            assert_eq!(t.cycles.len(), text.lines().count(), "go{version}");
            let doc: serde_json::Value = serde_json::from_str(probe).unwrap();
            let probe_cycles = doc["metrics"]["gc.cycles"].as_f64().unwrap() as u64;
            // The probe reads runtime/metrics in Done; encoding its report can
            // start one more cycle before exit.
            let last = t.cycles.last().unwrap().n;
            assert!(
                last == probe_cycles || last == probe_cycles + 1,
                "go{version}: gctrace {last} vs runtime/metrics {probe_cycles}"
            );
            assert!(
                t.cycles
                    .iter()
                    .all(|c| c.stacks_mib.is_some() && c.procs == 2),
                "go{version}"
            );
        }
    }

    /// Real program output inside gctrace records: every record is
    /// reassembled, none is lost, and the final runtime.GC() is `forced`.
    #[test]
    fn recorded_interleaving_is_reassembled() {
        let text = include_str!("../../fixtures/gctrace/go1.26_interleaved_forced.txt");
        assert!(
            text.lines().any(|l| l.starts_with(" ms clock, worker")),
            "the fixture really is interleaved"
        );
        let t = parse(text);
        assert!(t.unreadable.is_empty(), "{:?}", t.unreadable);
        assert!(
            missing_cycles(&t).is_empty(),
            "missing {:?} of {:?}",
            missing_cycles(&t),
            t.cycles.iter().map(|c| c.n).collect::<Vec<_>>()
        );
        let last = t.cycles.last().unwrap();
        assert!(last.forced);
        assert_eq!(t.cycles.iter().filter(|c| c.forced).count(), 1);
        assert_eq!(t.cycles.len() as u64, last.n);
    }

    #[test]
    fn damaged_input_is_reported_not_guessed() {
        // Truncated at the end of the stream: cut off by the exit.
        let t = parse("gc 1 @0.003s 5%: 0.007+0.84+0.001 ms clock, 0.015+0.028/0.0");
        assert_eq!((t.unreadable.len(), t.cut_off_at_exit), (0, Some(1)));
        // Truncated, then other output: unreadable.
        let t = parse("gc 1 @0.003s 5%: 0.007+0.84+0.001 ms clock, 0.015+0.028/0.0HELLO\nmore\n");
        assert_eq!(t.unreadable.len(), 1);
        // Garbage where a number belongs, then a good record.
        let t = parse(&format!("gc 2 @xyz\n{GO119}\n"));
        assert_eq!((t.unreadable.len(), t.cycles.len()), (1, 1));
        assert_eq!(missing_cycles(&t), [(1, 2)]);
        // Binary noise around is ignored.
        let t = parse(&format!("{}junk\n{GO119}\n\x7f", "\u{fffd}\0"));
        assert_eq!((t.unreadable.len(), t.cycles.len()), (0, 1));
    }

    #[test]
    fn stacks_index_points_at_the_stacks_literal() {
        assert!(matches!(GRAMMAR[STACKS_LIT], Tok::Lit(" MB stacks, ")));
    }

    /// A record the stream ends inside (the program exited mid-print) is a
    /// note, not an unreadable record; its cycle still counts.
    #[test]
    fn record_cut_off_at_exit() {
        let t = parse(&format!(
            "{GO119}\ngc 4 @0.148s 9%: 0.13+1.2+0.003 ms clock, 0.27+0.006/0.15/0.098+0.006 ms cpu, 12->17->7 MB, 14 MB goal, 0 MB stacks, 0 MB globals, "
        ));
        assert!(t.unreadable.is_empty());
        assert_eq!(t.cut_off_at_exit, Some(4));
        // Cycle 3 was read, cycle 4 cut off: 1 and 2 have no record.
        assert_eq!(missing_cycles(&t), [(1, 2)]);
        let by: BTreeMap<&str, f64> = samples(&t)
            .iter()
            .map(|s| (s.metric.name, s.value.as_f64()))
            .collect();
        assert_eq!(by["gc.cycles"], 4.0);
    }

    #[test]
    fn missing_cycles_are_ranges_bounded_by_the_records() {
        let t = parse("gc 1000000 @1");
        assert_eq!(missing_cycles(&t), [(1, 999_999)]);
        assert_eq!(count(&missing_cycles(&t)), 999_999);
        let gaps: Vec<(u64, u64)> = (0..8).map(|i| (10 * i + 1, 10 * i + 2)).collect();
        assert_eq!(
            describe(&gaps),
            "1-2, 11-12, 21-22, 31-32, 41-42, and 3 more ranges"
        );
    }

    #[test]
    fn no_cycle_means_no_pause_metrics() {
        let names: Vec<&str> = samples(&parse("hello\n"))
            .iter()
            .map(|s| s.metric.name)
            .collect();
        assert_eq!(names, ["gc.cycles", "gc.cycles.forced"]);
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
