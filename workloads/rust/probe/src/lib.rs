//! memgate's Rust probe: a counting global allocator over any inner
//! allocator, per-operation latency recording, and the probe file memgate
//! reads after each run.
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: memgate_probe::CountingAlloc<std::alloc::System> =
//!     memgate_probe::CountingAlloc::new(std::alloc::System);
//!
//! fn main() {
//!     // ... work, calling memgate_probe::observe(elapsed) per request ...
//!     memgate_probe::finish(); // writes MEMGATE_PROBE_FILE, if set
//! }
//! ```
//!
//! Counting follows DHAT's rules, so both agree on the same run: every
//! `alloc`, `alloc_zeroed` and `realloc` is one block, and a `realloc`
//! adds its whole new size to the total bytes. Allocations an inner
//! allocator makes for itself while serving one (dhat-rs recording a
//! backtrace) are not counted, as DHAT does not count them. The counters
//! are relaxed atomics; without MEMGATE_PROBE_FILE, `observe` and `finish`
//! return at once.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// The schema tag of the probe file.
pub const SCHEMA: &str = "memgate/probe/v1";
/// The environment variable naming the probe file.
pub const ENV_VAR: &str = "MEMGATE_PROBE_FILE";

static BLOCKS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static FREES: AtomicU64 = AtomicU64::new(0);
static REALLOCS: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set while this thread is inside the counting allocator, so the inner
    /// allocator's own allocations are not counted.
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the re-entrancy flag held; `None` when already inside.
#[inline]
fn outermost<R>(f: impl FnOnce() -> R) -> (R, bool) {
    let outer = INSIDE.try_with(|c| !c.replace(true)).unwrap_or(false);
    let r = f();
    if outer {
        let _ = INSIDE.try_with(|c| c.set(false));
    }
    (r, outer)
}

/// A global allocator that counts blocks and bytes and forwards to `A`.
#[derive(Debug, Default)]
pub struct CountingAlloc<A> {
    inner: A,
}

impl<A> CountingAlloc<A> {
    /// Wraps an allocator.
    pub const fn new(inner: A) -> Self {
        CountingAlloc { inner }
    }
}

#[inline]
fn allocated(size: u64) {
    BLOCKS.fetch_add(1, Relaxed);
    BYTES.fetch_add(size, Relaxed);
    let live = LIVE.fetch_add(size, Relaxed) + size;
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: every method forwards to the inner allocator with the same
// arguments and returns its result unchanged; counting has no effect on
// the memory handed out.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as received.
        let (p, outer) = outermost(|| unsafe { self.inner.alloc(layout) });
        if outer && !p.is_null() {
            allocated(layout.size() as u64);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as received.
        let (p, outer) = outermost(|| unsafe { self.inner.alloc_zeroed(layout) });
        if outer && !p.is_null() {
            allocated(layout.size() as u64);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        let ((), outer) = outermost(|| unsafe { self.inner.dealloc(ptr, layout) });
        if outer {
            FREES.fetch_add(1, Relaxed);
            LIVE.fetch_sub(layout.size() as u64, Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as received.
        let (p, outer) = outermost(|| unsafe { self.inner.realloc(ptr, layout, new_size) });
        if outer && !p.is_null() {
            REALLOCS.fetch_add(1, Relaxed);
            BLOCKS.fetch_add(1, Relaxed);
            BYTES.fetch_add(new_size as u64, Relaxed);
            let old = layout.size() as u64;
            let new = new_size as u64;
            if new >= old {
                let live = LIVE.fetch_add(new - old, Relaxed) + (new - old);
                PEAK.fetch_max(live, Relaxed);
            } else {
                LIVE.fetch_sub(old - new, Relaxed);
            }
        }
        p
    }
}

/// The allocation counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Blocks allocated, reallocations included (DHAT's total blocks).
    pub blocks: u64,
    /// Bytes allocated, reallocations' new sizes included (DHAT's total bytes).
    pub bytes: u64,
    /// Blocks freed.
    pub frees: u64,
    /// Reallocations.
    pub reallocs: u64,
    /// Bytes live now.
    pub live: u64,
    /// Most bytes live at once.
    pub peak: u64,
}

/// Reads the counters; allocates nothing.
pub fn counters() -> Counters {
    Counters {
        blocks: BLOCKS.load(Relaxed),
        bytes: BYTES.load(Relaxed),
        frees: FREES.load(Relaxed),
        reallocs: REALLOCS.load(Relaxed),
        live: LIVE.load(Relaxed),
        peak: PEAK.load(Relaxed),
    }
}

/// Log-linear latency histogram: 16 sub-buckets per power of two of
/// nanoseconds (at most 1/16 relative error), fixed size, lock-free.
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = 64 * SUB;
static HIST: [AtomicU64; BUCKETS] = [const { AtomicU64::new(0) }; BUCKETS];
static COUNT: AtomicU64 = AtomicU64::new(0);
static MAX_NS: AtomicU64 = AtomicU64::new(0);

fn bucket_of(ns: u64) -> usize {
    if ns < SUB as u64 {
        return ns as usize;
    }
    let exp = 63 - ns.leading_zeros();
    let sub = ((ns >> (exp - SUB_BITS)) as usize) & (SUB - 1);
    (exp - SUB_BITS + 1) as usize * SUB + sub
}

fn upper_of(b: usize) -> u64 {
    if b < SUB {
        return b as u64;
    }
    let exp = (b / SUB) as u32 + SUB_BITS - 1;
    let sub = (b % SUB) as u64;
    let lo = (1u64 << exp) + (sub << (exp - SUB_BITS));
    lo + (1u64 << (exp - SUB_BITS)) - 1
}

/// Whether MEMGATE_PROBE_FILE is set (read once).
fn target() -> Option<&'static std::ffi::OsString> {
    static TARGET: OnceLock<Option<std::ffi::OsString>> = OnceLock::new();
    TARGET.get_or_init(|| std::env::var_os(ENV_VAR).filter(|v| !v.is_empty())).as_ref()
}

/// Records one operation's latency; never allocates after the first call.
pub fn observe(d: Duration) {
    if target().is_none() {
        return;
    }
    let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    HIST[bucket_of(ns).min(BUCKETS - 1)].fetch_add(1, Relaxed);
    COUNT.fetch_add(1, Relaxed);
    MAX_NS.fetch_max(ns, Relaxed);
}

fn quantile(q: f64) -> f64 {
    let n = COUNT.load(Relaxed);
    let rank = ((q * n as f64).ceil() as u64).max(1);
    let mut seen = 0;
    let max = MAX_NS.load(Relaxed);
    for (b, c) in HIST.iter().enumerate() {
        seen += c.load(Relaxed);
        if seen >= rank {
            return upper_of(b).min(max) as f64 / 1e9;
        }
    }
    max as f64 / 1e9
}

/// jemalloc's own statistics, with the epoch advanced first (the values
/// are cached until then; reference §3.3).
#[cfg(feature = "jemalloc")]
fn jemalloc_stats(out: &mut Vec<(&'static str, f64)>) {
    use tikv_jemalloc_ctl::{epoch, stats};
    if epoch::advance().is_err() {
        return;
    }
    let (Ok(allocated), Ok(active), Ok(resident), Ok(metadata)) =
        (stats::allocated::read(), stats::active::read(), stats::resident::read(), stats::metadata::read())
    else {
        return;
    };
    out.push(("jemalloc.allocated.bytes", allocated as f64));
    out.push(("jemalloc.active.bytes", active as f64));
    out.push(("jemalloc.resident.bytes", resident as f64));
    out.push(("jemalloc.metadata.bytes", metadata as f64));
    // The share of the allocator's resident data pages (metadata excluded)
    // that holds no live allocation.
    let data = resident.saturating_sub(metadata);
    if data > 0 {
        out.push(("alloc.fragmentation", 1.0 - (allocated as f64 / data as f64).min(1.0)));
    }
}

/// Takes the counters now, for a report written later by [`write_report`]
/// (after a heap profiler has been dropped, say).
pub fn snapshot() -> Counters {
    counters()
}

/// Writes the probe file from the counters at this moment, when
/// MEMGATE_PROBE_FILE is set. Call it at the end of `main`, while the
/// data the program keeps is still alive, and not after `process::exit`.
pub fn finish() {
    write_report(counters());
}

/// Writes the probe file from `c`, when MEMGATE_PROBE_FILE is set. Errors
/// go to stderr: a probe never fails its program.
pub fn write_report(c: Counters) {
    let Some(path) = target() else { return };
    #[cfg_attr(not(feature = "jemalloc"), expect(unused_mut, reason = "only jemalloc adds metrics"))]
    let mut metrics: Vec<(&'static str, f64)> = vec![
        ("heap.alloc.bytes", c.bytes as f64),
        ("heap.alloc.objects", c.blocks as f64),
        ("heap.peak.bytes", c.peak as f64),
        ("heap.end.bytes", c.live as f64),
        ("heap.reallocs", c.reallocs as f64),
    ];
    #[cfg(feature = "jemalloc")]
    jemalloc_stats(&mut metrics);
    let mut json = format!("{{\"schema\":\"{SCHEMA}\",\"lang\":\"rust\",\"metrics\":{{");
    for (i, (k, v)) in metrics.iter().enumerate() {
        let _ = write!(json, "{}\"{k}\":{v}", if i > 0 { "," } else { "" });
    }
    let n = COUNT.load(Relaxed);
    let _ = write!(json, "}},\"latency\":{{\"count\":{n}");
    if n > 0 {
        let _ = write!(
            json,
            ",\"p50\":{},\"p99\":{},\"max\":{}",
            quantile(0.5),
            quantile(0.99),
            MAX_NS.load(Relaxed) as f64 / 1e9
        );
    }
    json.push_str("}}");
    let tmp = {
        let mut t = path.clone();
        t.push(".tmp");
        t
    };
    if let Err(e) = std::fs::write(&tmp, json).and_then(|()| std::fs::rename(&tmp, path)) {
        eprintln!("memgate probe: cannot write {}: {e}", path.to_string_lossy());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_tight() {
        let mut prev = 0;
        for ns in [0u64, 1, 15, 16, 17, 31, 32, 1000, 1 << 20, 123_456_789, 1 << 40] {
            let b = bucket_of(ns);
            assert!(b >= prev, "bucket of {ns} went backwards");
            prev = b;
            let up = upper_of(b);
            assert!(up >= ns, "upper {up} below {ns}");
            if ns >= 16 {
                assert!((up - ns) as f64 <= ns as f64 / 16.0, "bucket of {ns} too wide: {up}");
            }
        }
    }

    #[test]
    fn counting_follows_dhat_rules() {
        let a = CountingAlloc::new(std::alloc::System);
        let before = counters();
        let layout = Layout::from_size_align(100, 8).unwrap();
        // SAFETY: layouts are valid and every pointer is freed with its layout.
        unsafe {
            let p = a.alloc(layout);
            let p = a.realloc(p, layout, 300);
            a.dealloc(p, Layout::from_size_align(300, 8).unwrap());
        }
        let after = counters();
        // Other test threads may allocate through the real global allocator,
        // which is System here, not this wrapper: the deltas are exact.
        assert_eq!(after.blocks - before.blocks, 2, "alloc + realloc are two blocks");
        assert_eq!(after.bytes - before.bytes, 400, "realloc adds its whole new size");
        assert_eq!(after.reallocs - before.reallocs, 1);
        assert_eq!(after.frees - before.frees, 1);
        assert!(after.peak >= 300);
    }
}
