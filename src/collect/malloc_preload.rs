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
//! reallocs. Live bytes are counted in the allocator's usable sizes
//! (what `malloc_usable_size` gives, glibc's own figure for a block, read
//! inline, see [`usable`]), as a free knows no other: glibc rounds a request up to a multiple of 16 bytes with a
//! 24-byte minimum (malloc/malloc.c, `request2size`), so the heap peak and
//! the bytes live at exit read up to 23 bytes a block above the requested
//! bytes DHAT reports. The allocations are glibc's: each call goes to its
//! `__libc_*` entry point (exported for exactly this, malloc/malloc.c), so
//! no symbol lookup happens inside an allocation.
//!
//! Each thread counts in a slot of its own, reached through one
//! thread-local pointer (initial-exec TLS, see [`my_slot`]), with plain
//! relaxed loads and stores; the
//! process-wide live count, whose high-water mark is the heap peak, is fed
//! in batches of [`FLUSH`] bytes per thread (as the Rust probe does), so a
//! peak may read up to that much per thread low.
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
}

const O_WRONLY: c_int = 0o1;
const O_CREAT: c_int = 0o100;
const O_APPEND: c_int = 0o2000;
const O_CLOEXEC: c_int = 0o2000000;
const EINVAL: c_int = 22;
const ENOMEM: c_int = 12;

/// Counters of one thread; only the owning thread writes them (threads
/// beyond [`SLOTS`] share [`SHARED`], with read-modify-write).
struct Slot {
    blocks: AtomicU64,
    bytes: AtomicU64,
    reallocs: AtomicU64,
    /// Usable bytes allocated less usable bytes freed by this thread.
    live: AtomicI64,
    /// `live` when it was last added to [`LIVE`].
    flushed: AtomicI64,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            blocks: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            reallocs: AtomicU64::new(0),
            live: AtomicI64::new(0),
            flushed: AtomicI64::new(0),
        }
    }

    fn clear(&self) {
        for c in [&self.blocks, &self.bytes, &self.reallocs] {
            c.store(0, Relaxed);
        }
        self.live.store(0, Relaxed);
        self.flushed.store(0, Relaxed);
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
    }
    p
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
}
