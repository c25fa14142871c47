//! memgate's malloc counter: a shared library that `LD_PRELOAD` puts in
//! front of the C library's allocator, so a program that allocates through
//! malloc (every Rust program on the system allocator, every C program) is
//! counted with no change to its code. It is not a module of memgate:
//! `build.rs` compiles it with `rustc` into `libmemgate_malloc.so`, which
//! memgate carries in its own binary and writes next to a run's files (see
//! `collect::malloc`).
//!
//! What it counts, with DHAT's rules (as the Rust probe does): every
//! malloc, calloc, realloc, aligned allocation (memalign, aligned_alloc,
//! posix_memalign, valloc, pvalloc) is a block, and a realloc adds its
//! whole new size to the bytes allocated and counts once among the
//! reallocs. Live bytes are counted in the allocator's usable sizes (what
//! `malloc_usable_size` gives, glibc's own figure for a block, read inline,
//! see [`usable`]), as a free knows no other: glibc rounds a request up to
//! a multiple of 16 bytes with a 24-byte minimum (malloc/malloc.c,
//! `request2size`), so the heap peak and the bytes live at exit read up to
//! 23 bytes a block above the requested bytes DHAT reports. The allocations are glibc's: each call goes to its
//! `__libc_*` entry point (exported for exactly this, malloc/malloc.c), so
//! no symbol lookup happens inside an allocation.
//!
//! Each thread counts in a slot of its own, reached through one
//! thread-local pointer (initial-exec TLS, see [`my_slot`]), with plain
//! relaxed loads and stores; the process-wide live count, whose high-water
//! mark is the heap peak, is fed in batches of [`FLUSH`] bytes per thread
//! (as the Rust probe does), so a peak may read up to that much per thread
//! low.
//!
//! At exit (its `.fini_array` entry, run by `exit` and by a return from
//! `main`) the process appends one line to the file `MEMGATE_MALLOC_FILE`
//! names, in one `write` to a file opened with O_APPEND, so the lines of
//! the processes of a tree do not interleave:
//!
//! ```text
//! memgate-malloc/v1 pid=123 ppid=120 interposed=1 blocks=10 bytes=4096 reallocs=2 peak=8192 end=0 comm=prog
//! ```
//!
//! `interposed=0` says the program's own `malloc` came before this one (a
//! statically linked allocator that defines malloc), so the figures are
//! only what reached the C library. A child made by fork counts from the
//! fork (its counters start at zero); one that execs loads the library
//! anew. A process killed by a signal or ended by `_exit` writes no line.
//!
//! With `MEMGATE_MALLOC_SITES` set, each thread also records the stack of
//! the allocation that takes it past each sample point ([`interval`]), and at exit the
//! process writes them, with the objects loaded, to
//! `<MEMGATE_MALLOC_SITES>.<pid>` (see [`write_sites`]).
//!
//! It needs glibc 2.34 or later (its `dlsym` symbol version) and libgcc_s
//! (the unwinder), which every Rust program on Linux loads already.

#![no_std]

use core::arch::{asm, global_asm};
use core::ffi::{c_char, c_int, c_void};
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    unsafe extern "C" {
        fn abort() -> !;
    }
    // SAFETY: ends the process, as panic=abort would.
    unsafe { abort() }
}

/// The precompiled `core` this library links was built to unwind, and its
/// unwind tables name this personality routine; with panic=abort nothing
/// unwinds through it and it is never called.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

// Linked against the C library, so its symbols bind with their versions.
#[link(name = "c")]
unsafe extern "C" {
    fn __libc_malloc(size: usize) -> *mut c_void;
    fn __libc_calloc(n: usize, size: usize) -> *mut c_void;
    fn __libc_realloc(p: *mut c_void, size: usize) -> *mut c_void;
    fn __libc_free(p: *mut c_void);
    fn __libc_memalign(align: usize, size: usize) -> *mut c_void;
    fn __libc_valloc(size: usize) -> *mut c_void;
    fn __libc_pvalloc(size: usize) -> *mut c_void;
    fn getenv(name: *const c_char) -> *const c_char;
    fn open(path: *const c_char, flags: c_int, mode: c_int) -> c_int;
    fn write(fd: c_int, buf: *const c_void, n: usize) -> isize;
    fn close(fd: c_int) -> c_int;
    fn getpid() -> c_int;
    fn getppid() -> c_int;
    fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
    fn __register_atfork(
        prepare: Option<extern "C" fn()>,
        parent: Option<extern "C" fn()>,
        child: Option<extern "C" fn()>,
        dso: *const c_void,
    ) -> c_int;
    static __dso_handle: c_void;
    static program_invocation_short_name: *const c_char;
    fn dl_iterate_phdr(
        callback: extern "C" fn(info: *mut DlPhdrInfo, size: usize, data: *mut c_void) -> c_int,
        data: *mut c_void,
    ) -> c_int;
    fn readlink(path: *const c_char, buf: *mut c_char, size: usize) -> isize;
}

// libgcc's unwinder (the Itanium C++ ABI's level 1 interface, which every
// Rust and C program on Linux links).
#[link(name = "gcc_s")]
unsafe extern "C" {
    fn _Unwind_Backtrace(
        trace: extern "C" fn(ctx: *mut c_void, arg: *mut c_void) -> c_int,
        arg: *mut c_void,
    ) -> c_int;
    fn _Unwind_GetIP(ctx: *mut c_void) -> usize;
}

/// `struct dl_phdr_info` (link.h), the fields read.
#[repr(C)]
struct DlPhdrInfo {
    addr: usize,
    name: *const c_char,
    phdr: *const Elf64Phdr,
    phnum: u16,
}

/// `Elf64_Phdr` (elf.h).
#[repr(C)]
struct Elf64Phdr {
    p_type: u32,
    p_flags: u32,
    p_offset: u64,
    p_vaddr: u64,
    p_paddr: u64,
    p_filesz: u64,
    p_memsz: u64,
    p_align: u64,
}

const O_WRONLY: c_int = 0o1;
const O_CREAT: c_int = 0o100;
const O_APPEND: c_int = 0o2000;
const O_CLOEXEC: c_int = 0o2000000;
const EINVAL: c_int = 22;
const ENOMEM: c_int = 12;

/// Counters of one thread; only the owning thread writes them (threads
/// beyond [`SLOTS`] share [`SHARED`], with read-modify-write). Each on
/// cache lines of its own (two: x86-64's adjacent-line prefetcher pairs
/// them), so that two threads' counting never contends.
#[repr(align(128))]
struct Slot {
    blocks: AtomicU64,
    bytes: AtomicU64,
    reallocs: AtomicU64,
    /// Usable bytes allocated less usable bytes freed by this thread.
    live: AtomicI64,
    /// `live` when it was last added to [`LIVE`].
    flushed: AtomicI64,
    /// `bytes` at which this thread records its next stack.
    next_sample: AtomicU64,
    /// The bytes from the point before to `next_sample`.
    interval: AtomicU64,
    /// Set while this thread records a stack: an allocation the unwinder
    /// makes meanwhile is counted, never sampled.
    sampling: AtomicBool,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            blocks: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            reallocs: AtomicU64::new(0),
            live: AtomicI64::new(0),
            flushed: AtomicI64::new(0),
            next_sample: AtomicU64::new(interval(0)),
            interval: AtomicU64::new(interval(0)),
            sampling: AtomicBool::new(false),
        }
    }

    fn clear(&self) {
        for c in [&self.blocks, &self.bytes, &self.reallocs] {
            c.store(0, Relaxed);
        }
        self.live.store(0, Relaxed);
        self.flushed.store(0, Relaxed);
        self.next_sample.store(interval(0), Relaxed);
        self.interval.store(interval(0), Relaxed);
    }
}

const SLOTS: usize = 256;
static SLOT: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];
static SHARED: Slot = Slot::new();
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
/// The live bytes of every thread, as last flushed, and their peak.
static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);
/// The batch in which a thread's live bytes reach [`LIVE`].
const FLUSH: i64 = 16 * 1024;
/// Whether this library's malloc is the one the program calls.
static INTERPOSED: AtomicBool = AtomicBool::new(true);

// This thread's slot, from its first allocation on: a pointer in the
// static TLS block, reached with the initial-exec model (the offset from
// the thread pointer, %fs on x86-64, is in the GOT; the ELF TLS ABI,
// "ELF Handling For Thread-Local Storage", 4.3.6). Rust's thread_local!
// in a shared library takes the general-dynamic model, a call to
// __tls_get_addr on every allocation; a preloaded library is loaded at
// startup, into the static TLS block, where initial-exec is valid.
global_asm!(
    ".section .tbss,\"awT\",@nobits",
    ".p2align 3",
    "memgate_malloc_slot:",
    ".zero 8",
    ".text",
);

/// This thread's slot pointer; null before its first allocation.
#[inline(always)]
fn my_slot() -> *const Slot {
    let slot: *const Slot;
    // SAFETY: reads this thread's TLS word.
    unsafe {
        asm!(
            "mov {offset}, qword ptr [rip + memgate_malloc_slot@GOTTPOFF]",
            "mov {slot}, qword ptr fs:[{offset}]",
            offset = out(reg) _,
            slot = out(reg) slot,
            options(nostack, readonly, preserves_flags),
        );
    }
    slot
}

fn set_my_slot(slot: *const Slot) {
    // SAFETY: writes this thread's TLS word.
    unsafe {
        asm!(
            "mov {offset}, qword ptr [rip + memgate_malloc_slot@GOTTPOFF]",
            "mov qword ptr fs:[{offset}], {slot}",
            offset = out(reg) _,
            slot = in(reg) slot,
            options(nostack, preserves_flags),
        );
    }
}

/// This thread's slot, and whether it is the shared one.
#[inline(always)]
fn slot() -> (&'static Slot, bool) {
    let mine = my_slot();
    if !mine.is_null() {
        // SAFETY: only ever set to a slot of the static arrays.
        let s = unsafe { &*mine };
        return (s, core::ptr::eq(s, &SHARED));
    }
    let n = NEXT_SLOT.fetch_add(1, Relaxed);
    let s = SLOT.get(n).unwrap_or(&SHARED);
    set_my_slot(s);
    (s, n >= SLOTS)
}

#[inline(always)]
fn add(c: &AtomicU64, by: u64, shared: bool) {
    if shared {
        c.fetch_add(by, Relaxed);
    } else {
        c.store(c.load(Relaxed).wrapping_add(by), Relaxed);
    }
}

/// Moves this thread's live bytes by `by`, flushing to [`LIVE`] (and the
/// peak) once they moved [`FLUSH`] bytes since the last flush.
#[inline(always)]
fn live(s: &Slot, by: i64, shared: bool) {
    if shared {
        let now = LIVE.fetch_add(by, Relaxed) + by;
        PEAK.fetch_max(now, Relaxed);
        return;
    }
    let now = s.live.load(Relaxed) + by;
    s.live.store(now, Relaxed);
    let delta = now - s.flushed.load(Relaxed);
    if !(-FLUSH..FLUSH).contains(&delta) {
        s.flushed.store(now, Relaxed);
        let total = LIVE.fetch_add(delta, Relaxed) + delta;
        if total > PEAK.load(Relaxed) {
            PEAK.fetch_max(total, Relaxed);
        }
    }
}

/// The usable size of glibc's block at `p`, as `malloc_usable_size` gives
/// it, read inline (a call on every allocation and free cost more than the
/// rest of the counting): the word before a block holds its chunk's size,
/// the low three bits flags, IS_MMAPPED (2) among them; an mmapped chunk
/// spends two words on its header, another one word (glibc's
/// malloc/malloc.c: the chunk layout, `chunksize`, and `musable`, which
/// `malloc_usable_size` returns, on targets without memory tagging).
///
/// # Safety
/// `p` is a live block of glibc's malloc.
#[inline(always)]
unsafe fn usable(p: *mut c_void) -> i64 {
    const SIZE_SZ: usize = size_of::<usize>();
    // SAFETY: the size word of a live chunk precedes its memory.
    let word = unsafe { p.cast::<usize>().sub(1).read() };
    let chunk = word & !7;
    (if word & 2 != 0 {
        chunk - 2 * SIZE_SZ
    } else {
        chunk - SIZE_SZ
    }) as i64
}

/// Counts a new block of `requested` bytes at `p` (nothing when null).
#[inline(always)]
fn allocated(p: *mut c_void, requested: usize) -> *mut c_void {
    if !p.is_null() {
        let (s, shared) = slot();
        add(&s.blocks, 1, shared);
        add(&s.bytes, requested as u64, shared);
        // SAFETY: p is a live block of glibc's.
        live(s, unsafe { usable(p) }, shared);
        if !shared && s.bytes.load(Relaxed) >= s.next_sample.load(Relaxed) {
            sample(s, requested);
        }
    }
    p
}

// ---- Allocation sites: one stack per interval a thread allocates ----

/// The bytes from a sample point to the next, for a thread that has
/// allocated `bytes`: a sixty-fourth of them, at least 1 KiB and at most
/// 512 KiB (Go's default MemProfileRate, runtime/mprof.go, though Go draws
/// the interval at random). The points depend on the thread's allocations
/// alone, so a sample falls at the same allocation in every run of a
/// deterministic program; a small one (a unit test allocating 80 KiB) gets
/// about 75 samples where a fixed 512 KiB gave none, and a site that
/// allocates megabytes is seen in proportion. Each stack costs an unwind
/// of a few microseconds: churn's 171 MB take 675 (64 up to 64 KiB,
/// 64 ln 512 up to 32 MiB, then one per 512 KiB).
const fn interval(bytes: u64) -> u64 {
    let i = bytes / 64;
    if i < MIN_INTERVAL {
        MIN_INTERVAL
    } else if i > MAX_INTERVAL {
        MAX_INTERVAL
    } else {
        i
    }
}
const MIN_INTERVAL: u64 = 1024;
const MAX_INTERVAL: u64 = 512 * 1024;
/// Frames kept per stack, innermost first.
const DEPTH: usize = 32;
/// Distinct stacks kept; samples of stacks beyond are counted apart.
const STACKS: usize = 1024;

/// One distinct stack and what its samples stood for.
struct Stack {
    hash: AtomicU64,
    depth: AtomicUsize,
    frames: [AtomicUsize; DEPTH],
    samples: AtomicU64,
    bytes: AtomicU64,
    /// The blocks the samples stand for: each, its interval's worth of
    /// blocks of the sampled one's size.
    objects: AtomicU64,
}

impl Stack {
    const fn new() -> Stack {
        Stack {
            hash: AtomicU64::new(0),
            depth: AtomicUsize::new(0),
            frames: [const { AtomicUsize::new(0) }; DEPTH],
            samples: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            objects: AtomicU64::new(0),
        }
    }
}

static STACK_TABLE: [Stack; STACKS] = [const { Stack::new() }; STACKS];
/// Held while a stack is added to the table (samples are rare).
static TABLE_LOCK: AtomicBool = AtomicBool::new(false);
/// Samples whose stack found no room.
static LOST_SAMPLES: AtomicU64 = AtomicU64::new(0);
/// Whether stacks are recorded (MEMGATE_MALLOC_SITES set at start).
static SITES: AtomicBool = AtomicBool::new(false);

#[repr(C)]
struct Trace {
    frames: [usize; DEPTH],
    depth: usize,
}

const URC_NO_REASON: c_int = 0;
const URC_END_OF_STACK: c_int = 5;

extern "C" fn trace_one(ctx: *mut c_void, arg: *mut c_void) -> c_int {
    // SAFETY: arg is the Trace `sample` passed in.
    let t = unsafe { &mut *arg.cast::<Trace>() };
    // SAFETY: the context the unwinder passes.
    let ip = unsafe { _Unwind_GetIP(ctx) };
    if ip == 0 || t.depth == DEPTH {
        return URC_END_OF_STACK;
    }
    t.frames[t.depth] = ip;
    t.depth += 1;
    URC_NO_REASON
}

/// Records the current stack for an allocation that crossed the thread's
/// next sample point.
#[cold]
#[inline(never)]
fn sample(s: &Slot, requested: usize) {
    let bytes = s.bytes.load(Relaxed);
    // The interval this point closed, and the next point, past this
    // allocation however large it was.
    let closed = s.interval.load(Relaxed);
    let next = interval(bytes);
    s.interval.store(next, Relaxed);
    s.next_sample.store(bytes + next, Relaxed);
    if !SITES.load(Relaxed) || s.sampling.swap(true, Relaxed) {
        return;
    }
    let mut t = Trace {
        frames: [0; DEPTH],
        depth: 0,
    };
    // SAFETY: walks this thread's stack with libgcc's DWARF unwinder
    // (the .eh_frame sections Rust and C compilers emit on Linux).
    unsafe { _Unwind_Backtrace(trace_one, (&raw mut t).cast()) };
    // The intervals this allocation's bytes crossed: a block larger than
    // the interval stands for each.
    let stands_for = (requested as u64 / closed).max(1) * closed;
    let objects = (stands_for / (requested as u64).max(1)).max(1);
    record(&t.frames[..t.depth], stands_for, objects);
    s.sampling.store(false, Relaxed);
}

fn record(frames: &[usize], bytes: u64, objects: u64) {
    // FNV-1a over the frames; 0 marks an empty entry.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &f in frames {
        h = (h ^ f as u64).wrapping_mul(0x100_0000_01b3);
    }
    let h = h.max(1);
    while TABLE_LOCK.swap(true, core::sync::atomic::Ordering::Acquire) {
        core::hint::spin_loop();
    }
    let start = (h as usize) % STACKS;
    let mut placed = false;
    for i in 0..STACKS {
        let e = &STACK_TABLE[(start + i) % STACKS];
        let eh = e.hash.load(Relaxed);
        if eh == 0 {
            for (slot, &f) in e.frames.iter().zip(frames) {
                slot.store(f, Relaxed);
            }
            e.depth.store(frames.len(), Relaxed);
            e.hash.store(h, Relaxed);
        } else if eh != h {
            continue;
        }
        e.samples.fetch_add(1, Relaxed);
        e.bytes.fetch_add(bytes, Relaxed);
        e.objects.fetch_add(objects, Relaxed);
        placed = true;
        break;
    }
    if !placed {
        LOST_SAMPLES.fetch_add(1, Relaxed);
    }
    TABLE_LOCK.store(false, core::sync::atomic::Ordering::Release);
}

/// # Safety
/// The C library's contract for `malloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    allocated(unsafe { __libc_malloc(size) }, size)
}

/// # Safety
/// The C library's contract for `calloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    allocated(unsafe { __libc_calloc(n, size) }, n.wrapping_mul(size))
}

/// # Safety
/// The C library's contract for `free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free(p: *mut c_void) {
    if !p.is_null() {
        let (s, shared) = slot();
        // SAFETY: the caller frees a live block.
        live(s, -unsafe { usable(p) }, shared);
    }
    unsafe { __libc_free(p) }
}

/// # Safety
/// The C library's contract for `realloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    if p.is_null() {
        return unsafe { malloc(size) };
    }
    // SAFETY: the caller reallocates a live block.
    let old = unsafe { usable(p) };
    let q = unsafe { __libc_realloc(p, size) };
    // realloc(p, 0) frees p and returns null (glibc); a failed realloc
    // returns null and leaves p as it was.
    if !q.is_null() || size == 0 {
        let (s, shared) = slot();
        live(s, -old, shared);
        if !q.is_null() {
            add(&s.reallocs, 1, shared);
            allocated(q, size);
        }
    }
    q
}

/// # Safety
/// The C library's contract for `reallocarray`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn reallocarray(p: *mut c_void, n: usize, size: usize) -> *mut c_void {
    match n.checked_mul(size) {
        Some(total) => unsafe { realloc(p, total) },
        None => {
            set_errno(ENOMEM);
            core::ptr::null_mut()
        }
    }
}

/// # Safety
/// The C library's contract for `memalign`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    allocated(unsafe { __libc_memalign(align, size) }, size)
}

/// # Safety
/// The C library's contract for `aligned_alloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    // glibc's aligned_alloc is its memalign (one symbol, malloc/malloc.c).
    unsafe { memalign(align, size) }
}

/// # Safety
/// The C library's contract for `posix_memalign`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
    if !align.is_power_of_two() || !align.is_multiple_of(size_of::<usize>()) {
        return EINVAL;
    }
    let p = unsafe { memalign(align, size) };
    if p.is_null() {
        return ENOMEM;
    }
    unsafe { *out = p };
    0
}

/// # Safety
/// The C library's contract for `valloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    allocated(unsafe { __libc_valloc(size) }, size)
}

/// # Safety
/// The C library's contract for `pvalloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    allocated(unsafe { __libc_pvalloc(size) }, size)
}

fn set_errno(e: c_int) {
    unsafe extern "C" {
        fn __errno_location() -> *mut c_int;
    }
    // SAFETY: glibc's thread's errno.
    unsafe { *__errno_location() = e };
}

/// A forked child counts from the fork.
extern "C" fn forked_child() {
    for s in SLOT.iter().chain([&SHARED]) {
        s.clear();
    }
    LIVE.store(0, Relaxed);
    PEAK.store(0, Relaxed);
}

extern "C" fn init() {
    // The malloc a call in this process reaches: another one when the
    // program defines its own (a statically linked allocator).
    let ours = malloc as *const () as *mut c_void;
    // SAFETY: RTLD_DEFAULT (null) looks the name up in the global scope.
    let found = unsafe { dlsym(core::ptr::null_mut(), c"malloc".as_ptr()) };
    INTERPOSED.store(found.is_null() || found == ours, Relaxed);
    // SAFETY: getenv returns null or a C string.
    SITES.store(
        !unsafe { getenv(c"MEMGATE_MALLOC_SITES".as_ptr()) }.is_null(),
        Relaxed,
    );
    // SAFETY: a handler of this object, which is never unloaded.
    unsafe {
        __register_atfork(None, None, Some(forked_child), &raw const __dso_handle);
    }
}

#[used]
#[unsafe(link_section = ".init_array")]
static INIT: extern "C" fn() = init;

#[used]
#[unsafe(link_section = ".fini_array")]
static FINI: extern "C" fn() = report;

/// A line in a fixed buffer: nothing here may allocate.
struct Line {
    buf: [u8; 512],
    len: usize,
}

impl Line {
    fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.len < self.buf.len() {
                self.buf[self.len] = b;
                self.len += 1;
            }
        }
    }

    fn num(&mut self, key: &[u8], v: i64) {
        self.push(b" ");
        self.push(key);
        self.push(b"=");
        self.num_plain(v);
    }

    fn num_plain(&mut self, v: i64) {
        if v < 0 {
            self.push(b"-");
        }
        let mut digits = [0u8; 20];
        let mut n = v.unsigned_abs();
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
}

/// A loaded object: its address range, load bias, and name.
#[derive(Clone, Copy)]
struct Module {
    lo: usize,
    hi: usize,
    bias: usize,
    name: *const c_char,
}

const MAX_MODULES: usize = 128;

struct Modules {
    list: [Module; MAX_MODULES],
    len: usize,
}

extern "C" fn each_module(info: *mut DlPhdrInfo, _: usize, data: *mut c_void) -> c_int {
    // SAFETY: dl_iterate_phdr's arguments: its info, and our Modules.
    let (info, m) = unsafe { (&*info, &mut *data.cast::<Modules>()) };
    if m.len == MAX_MODULES {
        return 1;
    }
    let (mut lo, mut hi) = (usize::MAX, 0);
    for i in 0..info.phnum as usize {
        // SAFETY: phnum program headers at phdr.
        let ph = unsafe { &*info.phdr.add(i) };
        if ph.p_type == 1 {
            // PT_LOAD
            lo = lo.min(info.addr + ph.p_vaddr as usize);
            hi = hi.max(info.addr + (ph.p_vaddr + ph.p_memsz) as usize);
        }
    }
    m.list[m.len] = Module {
        lo,
        hi,
        bias: info.addr,
        name: info.name,
    };
    m.len += 1;
    0
}

/// A file written through a fixed buffer: nothing here may allocate.
struct Out {
    fd: c_int,
    line: Line,
}

impl Out {
    fn push(&mut self, bytes: &[u8]) {
        if self.line.len + bytes.len() > self.line.buf.len() {
            self.flush();
        }
        self.line.push(bytes);
    }

    fn num(&mut self, v: u64, base: u64) {
        let mut digits = [0u8; 20];
        let mut n = v;
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b"0123456789abcdef"[(n % base) as usize];
            n /= base;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }

    fn flush(&mut self) {
        // SAFETY: the buffer's first `len` bytes.
        unsafe { write(self.fd, self.line.buf.as_ptr().cast(), self.line.len) };
        self.line.len = 0;
    }
}

/// Writes the recorded stacks to `<MEMGATE_MALLOC_SITES>.<pid>`:
/// `module N PATH` lines, then `stack SAMPLES BYTES OBJECTS M:OFFSET...` (return
/// addresses, innermost first, as offsets in module M's address space),
/// then `lost SAMPLES`.
fn write_sites(pid: c_int) {
    // SAFETY: getenv returns null or a C string.
    let prefix = unsafe { getenv(c"MEMGATE_MALLOC_SITES".as_ptr()) };
    if prefix.is_null() {
        return;
    }
    let mut path = Line {
        buf: [0; 512],
        len: 0,
    };
    // SAFETY: a C string.
    path.push(unsafe { core::ffi::CStr::from_ptr(prefix) }.to_bytes());
    path.push(b".");
    path.num_plain(i64::from(pid));
    if path.len >= path.buf.len() {
        return;
    }
    path.buf[path.len] = 0;
    let mut modules = Modules {
        list: [Module {
            lo: 0,
            hi: 0,
            bias: 0,
            name: core::ptr::null(),
        }; MAX_MODULES],
        len: 0,
    };
    // SAFETY: our callback and its data.
    unsafe { dl_iterate_phdr(each_module, (&raw mut modules).cast()) };
    // SAFETY: a NUL-terminated path.
    let fd = unsafe {
        open(
            path.buf.as_ptr().cast(),
            O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
            0o600,
        )
    };
    if fd < 0 {
        return;
    }
    let mut out = Out {
        fd,
        line: Line {
            buf: [0; 512],
            len: 0,
        },
    };
    let mut exe = [0u8; 400];
    for (i, m) in modules.list[..modules.len].iter().enumerate() {
        out.push(b"module ");
        out.num(i as u64, 10);
        out.push(b" ");
        // SAFETY: the loader's C string, or null.
        let name = if m.name.is_null() {
            &b""[..]
        } else {
            unsafe { core::ffi::CStr::from_ptr(m.name) }.to_bytes()
        };
        if i == 0 || name.is_empty() {
            // The main program has no name in the loader's list.
            // SAFETY: a NUL-terminated path and a buffer of its size.
            let n = unsafe {
                readlink(
                    c"/proc/self/exe".as_ptr(),
                    exe.as_mut_ptr().cast(),
                    exe.len(),
                )
            };
            out.push(&exe[..n.max(0) as usize]);
        } else {
            out.push(name);
        }
        out.push(b"\n");
    }
    for e in &STACK_TABLE {
        if e.hash.load(Relaxed) == 0 {
            continue;
        }
        out.push(b"stack ");
        out.num(e.samples.load(Relaxed), 10);
        out.push(b" ");
        out.num(e.bytes.load(Relaxed), 10);
        out.push(b" ");
        out.num(e.objects.load(Relaxed), 10);
        for f in &e.frames[..e.depth.load(Relaxed)] {
            let ip = f.load(Relaxed);
            let Some((i, m)) = modules.list[..modules.len]
                .iter()
                .enumerate()
                .find(|(_, m)| (m.lo..m.hi).contains(&ip))
            else {
                continue;
            };
            out.push(b" ");
            out.num(i as u64, 10);
            out.push(b":");
            out.num((ip - m.bias) as u64, 16);
        }
        out.push(b"\n");
    }
    out.push(b"lost ");
    out.num(LOST_SAMPLES.load(Relaxed), 10);
    out.push(b"\n");
    out.flush();
    // SAFETY: our descriptor.
    unsafe { close(fd) };
}

extern "C" fn report() {
    // SAFETY: getenv returns null or a C string.
    let path = unsafe { getenv(c"MEMGATE_MALLOC_FILE".as_ptr()) };
    if path.is_null() {
        return;
    }
    let (mut blocks, mut bytes, mut reallocs, mut live) = (0u64, 0u64, 0u64, 0i64);
    for s in SLOT.iter().chain([&SHARED]) {
        blocks = blocks.wrapping_add(s.blocks.load(Relaxed));
        bytes = bytes.wrapping_add(s.bytes.load(Relaxed));
        reallocs = reallocs.wrapping_add(s.reallocs.load(Relaxed));
        live += s.live.load(Relaxed);
    }
    // The live bytes were not all flushed: the exact figure may top the
    // flushed peak.
    let peak = PEAK.load(Relaxed).max(live);
    let mut line = Line {
        buf: [0; 512],
        len: 0,
    };
    line.push(b"memgate-malloc/v1");
    line.num(b"pid", i64::from(unsafe { getpid() }));
    line.num(b"ppid", i64::from(unsafe { getppid() }));
    line.num(b"interposed", i64::from(INTERPOSED.load(Relaxed)));
    line.num(b"blocks", blocks as i64);
    line.num(b"bytes", bytes as i64);
    line.num(b"reallocs", reallocs as i64);
    line.num(b"peak", peak.max(0));
    line.num(b"end", live.max(0));
    line.push(b" comm=");
    // SAFETY: glibc's C string, the program's name without its directory.
    let name = unsafe { program_invocation_short_name };
    if !name.is_null() {
        let name = unsafe { core::ffi::CStr::from_ptr(name) }.to_bytes();
        for &b in name.iter().take(64) {
            line.push(&[if b.is_ascii_graphic() { b } else { b'?' }]);
        }
    }
    line.push(b"\n");
    // SAFETY: a C string path; the buffer is `len` bytes.
    unsafe {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600);
        if fd >= 0 {
            write(fd, line.buf.as_ptr().cast(), line.len);
            close(fd);
        }
    }
    write_sites(unsafe { getpid() });
}
