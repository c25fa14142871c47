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
//! adds its whole new size to the total bytes. With the `reentrant`
//! feature, allocations an inner allocator makes for itself while serving
//! one (dhat-rs recording a backtrace) are not counted, as DHAT does not
//! count them. Each thread counts in a slot of its own, reached through one
//! thread-local pointer, with relaxed atomic loads and stores (no locked
//! instruction on the allocation path). The heap peak is tracked only with
//! the `peak` feature (the global live count is then fed in batches):
//! without it an allocation and a free cost about 1.5 ns more than the
//! allocator's own (`benches/rust_probe.sh`). Without
//! MEMGATE_PROBE_FILE, `observe` and `finish` return at once.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::OnceLock;
#[cfg(feature = "peak")]
use std::sync::atomic::AtomicI64;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// The schema tag of the probe file.
pub const SCHEMA: &str = "memgate/probe/v1";
/// The environment variable naming the probe file.
pub const ENV_VAR: &str = "MEMGATE_PROBE_FILE";

/// Counters of one thread. Only the owning thread writes them, with plain
/// loads and stores of relaxed atomics (no locked instruction on the
/// allocation path: on x86-64 and AArch64 they compile to ordinary moves),
/// so [`counters`] can read every thread's while they run. Threads beyond
/// [`SLOTS`] share [`SHARED`], which uses read-modify-write.
struct Slot {
    blocks: AtomicU64,
    bytes: AtomicU64,
    reallocs: AtomicU64,
    /// Bytes freed by this thread, reallocations' old sizes included: the
    /// bytes live are `bytes - freed` (a reallocation counts as an
    /// allocation of its new size and a free of its old one), so an
    /// allocation moves two counters and a free one.
    freed: AtomicU64,
    /// This thread's highest `bytes - freed`.
    #[cfg(feature = "peak")]
    peak: AtomicI64,
    /// `live` when it was last added to the global `LIVE`.
    #[cfg(feature = "peak")]
    flushed: AtomicI64,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            blocks: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            reallocs: AtomicU64::new(0),
            freed: AtomicU64::new(0),
            #[cfg(feature = "peak")]
            peak: AtomicI64::new(0),
            #[cfg(feature = "peak")]
            flushed: AtomicI64::new(0),
        }
    }
}

/// Threads with a slot of their own; later threads share [`SHARED`].
const SLOTS: usize = 128;
static SLOT: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];
static SHARED: Slot = Slot::new();
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

/// The process-wide live bytes, fed in batches of at least [`FLUSH`]
/// bytes per thread, and their high-water mark (feature `peak`).
#[cfg(feature = "peak")]
static LIVE: AtomicI64 = AtomicI64::new(0);
#[cfg(feature = "peak")]
static PEAK: AtomicI64 = AtomicI64::new(0);
/// Batch size of the global live count: with several threads allocating,
/// the reported peak may miss up to this much per thread.
#[cfg(feature = "peak")]
const FLUSH: i64 = 16 * 1024;

thread_local! {
    /// This thread's slot, from its first allocation on. A const
    /// initialiser and no destructor: reading it is one load relative to
    /// the thread pointer, valid even while the thread is torn down.
    static MINE: Cell<Option<&'static Slot>> = const { Cell::new(None) };
}

#[cfg(feature = "reentrant")]
thread_local! {
    /// Set while this thread is inside the counting allocator, so an inner
    /// allocator's own allocations (dhat-rs recording a backtrace) are not
    /// counted.
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Adds to a counter: a plain store on an owned slot, an atomic add on the
/// shared one.
#[inline(always)]
fn bump(counter: &AtomicU64, by: u64, shared: bool) {
    if shared {
        counter.fetch_add(by, Relaxed);
    } else {
        counter.store(counter.load(Relaxed).wrapping_add(by), Relaxed);
    }
}

/// With the `peak` feature: after `delta` bytes of change, this thread's
/// peak and, in batches, the global live count and its peak.
#[inline(always)]
fn moved(slot: &Slot, delta: i64, shared: bool) {
    #[cfg(feature = "peak")]
    {
        let live = slot.bytes.load(Relaxed).wrapping_sub(slot.freed.load(Relaxed)) as i64;
        track_peak(slot, live, delta, shared);
    }
    #[cfg(not(feature = "peak"))]
    let _ = (slot, delta, shared);
}

#[cfg(feature = "peak")]
#[inline(always)]
fn track_peak(slot: &Slot, live: i64, delta: i64, shared: bool) {
    if delta > 0 && live > slot.peak.load(Relaxed) {
        slot.peak.store(live, Relaxed);
    }
    let flushed = slot.flushed.load(Relaxed);
    let pending = live - flushed;
    if pending.abs() >= FLUSH || shared {
        if shared {
            // Several threads share this slot: claim exactly what is pending.
            if slot.flushed.compare_exchange(flushed, live, Relaxed, Relaxed).is_err() {
                return;
            }
        } else {
            slot.flushed.store(live, Relaxed);
        }
        let global = LIVE.fetch_add(pending, Relaxed) + pending;
        if global > PEAK.load(Relaxed) {
            PEAK.fetch_max(global, Relaxed);
        }
    }
}

/// This thread's slot, claimed on its first allocation; the flag says it
/// is the shared one.
#[inline(always)]
fn slot() -> (&'static Slot, bool) {
    match MINE.with(Cell::get) {
        Some(s) => (s, std::ptr::eq(s, &SHARED)),
        None => claim(),
    }
}

#[cold]
fn claim() -> (&'static Slot, bool) {
    let i = NEXT_SLOT.fetch_add(1, Relaxed);
    let s = SLOT.get(i).unwrap_or(&SHARED);
    MINE.with(|c| c.set(Some(s)));
    (s, i >= SLOTS)
}

/// What one allocator call adds to its thread's counters.
#[derive(Clone, Copy)]
struct Change {
    blocks: u64,
    bytes: u64,
    freed: u64,
    reallocs: u64,
}

impl Change {
    /// Adds the change (or, `undo`, takes it back: two's complement).
    #[inline(always)]
    fn apply(self, slot: &Slot, shared: bool, undo: bool) {
        let signed = |v: u64| if undo { v.wrapping_neg() } else { v };
        // Each call site builds its change from constants and sizes: the
        // zero tests fold away.
        if self.blocks != 0 {
            bump(&slot.blocks, signed(self.blocks), shared);
        }
        if self.bytes != 0 {
            bump(&slot.bytes, signed(self.bytes), shared);
        }
        if self.freed != 0 {
            bump(&slot.freed, signed(self.freed), shared);
        }
        if self.reallocs != 0 {
            bump(&slot.reallocs, signed(self.reallocs), shared);
        }
        if !undo {
            moved(slot, self.bytes as i64 - self.freed as i64, shared);
        }
    }
}

/// Counts `change` on this thread's slot, then runs `op`, and takes the
/// change back when `failed` says the call failed (a null pointer). The
/// count comes first so the call to the inner allocator can overlap it:
/// counting after the call put the counters' store-to-load chain on the
/// allocation's critical path (+6% wall on churn, against +3% this way).
#[inline(always)]
fn counted<R>(change: Change, op: impl FnOnce() -> R, failed: impl FnOnce(&R) -> bool) -> R {
    #[cfg(feature = "reentrant")]
    if INSIDE.try_with(|c| c.replace(true)).unwrap_or(true) {
        return op();
    }
    let (s, shared) = slot();
    change.apply(s, shared, false);
    let r = op();
    if failed(&r) {
        undo(change, s, shared);
    }
    #[cfg(feature = "reentrant")]
    let _ = INSIDE.try_with(|c| c.set(false));
    r
}

#[cold]
fn undo(change: Change, slot: &Slot, shared: bool) {
    change.apply(slot, shared, true);
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

/// An allocation of `size` bytes: one block (DHAT's rule).
#[inline(always)]
const fn allocation(size: usize) -> Change {
    Change {
        blocks: 1,
        bytes: size as u64,
        freed: 0,
        reallocs: 0,
    }
}

// SAFETY: every method forwards to the inner allocator with the same
// arguments and returns its result unchanged; counting has no effect on
// the memory handed out.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        counted(
            allocation(layout.size()),
            // SAFETY: forwarded as received.
            || unsafe { self.inner.alloc(layout) },
            |p| p.is_null(),
        )
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        counted(
            allocation(layout.size()),
            // SAFETY: forwarded as received.
            || unsafe { self.inner.alloc_zeroed(layout) },
            |p| p.is_null(),
        )
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let free = Change {
            blocks: 0,
            bytes: 0,
            freed: layout.size() as u64,
            reallocs: 0,
        };
        // SAFETY: forwarded as received.
        counted(free, || unsafe { self.inner.dealloc(ptr, layout) }, |()| false)
    }

    /// One block of the new size (DHAT's rule: a realloc adds its whole new
    /// size) and a free of the old one.
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let change = Change {
            freed: layout.size() as u64,
            reallocs: 1,
            ..allocation(new_size)
        };
        counted(
            change,
            // SAFETY: forwarded as received.
            || unsafe { self.inner.realloc(ptr, layout, new_size) },
            |p| p.is_null(),
        )
    }
}

/// The allocation counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Blocks allocated, reallocations included (DHAT's total blocks).
    pub blocks: u64,
    /// Bytes allocated, reallocations' new sizes included (DHAT's total bytes).
    pub bytes: u64,
        /// Reallocations.
    pub reallocs: u64,
    /// Bytes live now.
    pub live: u64,
    /// Most bytes live at once (feature `peak`): exact when one thread
    /// allocated; with several, the global count is fed in batches and may
    /// miss up to 16 KiB per thread.
    pub peak: Option<u64>,
}

/// Sums every thread's counters; allocates nothing.
pub fn counters() -> Counters {
    let used = NEXT_SLOT.load(Relaxed).min(SLOTS);
    let mut c = Counters::default();
    let mut freed: u64 = 0;
    for s in SLOT[..used].iter().chain([&SHARED]) {
        c.blocks += s.blocks.load(Relaxed);
        c.bytes += s.bytes.load(Relaxed);
        c.reallocs += s.reallocs.load(Relaxed);
        freed += s.freed.load(Relaxed);
    }
    let live = c.bytes.wrapping_sub(freed) as i64;
    c.live = live.max(0) as u64;
    c.peak = peak(used, live);
    c
}

/// The most bytes live at once: one thread's own peak when only one
/// allocated, else the global high-water mark.
#[cfg(feature = "peak")]
fn peak(used: usize, live: i64) -> Option<u64> {
    Some(if used == 1 && SHARED.blocks.load(Relaxed) == 0 {
        SLOT[0].peak.load(Relaxed).max(0) as u64
    } else {
        (PEAK.load(Relaxed).max(live)).max(0) as u64
    })
}

/// Without the `peak` feature there is no peak.
#[cfg(not(feature = "peak"))]
fn peak(_used: usize, _live: i64) -> Option<u64> {
    None
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
    let mut metrics: Vec<(&'static str, f64)> = vec![
        ("heap.alloc.bytes", c.bytes as f64),
        ("heap.alloc.objects", c.blocks as f64),
        ("heap.end.bytes", c.live as f64),
        ("heap.reallocs", c.reallocs as f64),
    ];
    if let Some(peak) = c.peak {
        metrics.push(("heap.peak.bytes", peak as f64));
    }
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
        assert_eq!(after.live, before.live, "everything allocated was freed");
        #[cfg(feature = "peak")]
        assert!(after.peak.unwrap() >= 300);
    }
}
