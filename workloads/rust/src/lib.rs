//! What every Rust workload shares: the allocator (chosen by cargo
//! feature and wrapped by memgate's counting probe), the common flags,
//! a deterministic random source, and `run`, which profiles with dhat-rs
//! when the `dhat-heap` feature is on and writes the probe file at the end.
//!
//! Each workload is `src/bin/<name>.rs`, prints nothing to stdout, and
//! takes `-n N` (amount of work), `-scale F` (multiplies every allocation
//! size: `-scale 1.10` is a known 10% regression), `-grow F` (multiplies
//! one named site's sizes only: retain's `new_entry`) and `-seed S`.

#[cfg(all(feature = "dhat-heap", any(feature = "jemalloc", feature = "mimalloc")))]
compile_error!("dhat-heap profiles the system allocator; do not combine it with jemalloc or mimalloc");
#[cfg(all(feature = "jemalloc", feature = "mimalloc"))]
compile_error!("choose one allocator: jemalloc or mimalloc");

#[cfg(feature = "dhat-heap")]
type Inner = dhat::Alloc;
#[cfg(feature = "dhat-heap")]
const INNER: Inner = dhat::Alloc;
#[cfg(feature = "jemalloc")]
type Inner = tikv_jemallocator::Jemalloc;
#[cfg(feature = "jemalloc")]
const INNER: Inner = tikv_jemallocator::Jemalloc;
#[cfg(feature = "mimalloc")]
type Inner = mimalloc::MiMalloc;
#[cfg(feature = "mimalloc")]
const INNER: Inner = mimalloc::MiMalloc;
#[cfg(not(any(feature = "dhat-heap", feature = "jemalloc", feature = "mimalloc")))]
type Inner = std::alloc::System;
#[cfg(not(any(feature = "dhat-heap", feature = "jemalloc", feature = "mimalloc")))]
const INNER: Inner = std::alloc::System;

#[cfg(not(feature = "uncounted"))]
#[global_allocator]
static ALLOC: memgate_probe::CountingAlloc<Inner> = memgate_probe::CountingAlloc::new(INNER);
#[cfg(feature = "uncounted")]
#[global_allocator]
static ALLOC: Inner = INNER;

/// The allocator this build uses, as memgate tags it.
pub const ALLOCATOR: &str = if cfg!(feature = "jemalloc") {
    "jemalloc"
} else if cfg!(feature = "mimalloc") {
    "mimalloc"
} else {
    "system"
};

/// The flags every workload takes.
#[derive(Debug, Clone)]
pub struct Params {
    /// Amount of work.
    pub n: usize,
    /// Multiplier of every allocation size.
    pub scale: f64,
    /// Multiplier of the workload's growable site (retain's `new_entry`).
    pub grow: f64,
    rng: std::cell::Cell<u64>,
}

impl Params {
    /// Parses `-n`, `-scale` and `-seed`; exits 2 with usage on anything else.
    pub fn parse(default_n: usize) -> Params {
        let mut p = Params {
            n: default_n,
            scale: 1.0,
            grow: 1.0,
            rng: std::cell::Cell::new(0x9E37_79B9_7F4A_7C15),
        };
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
            match flag.as_str() {
                "-n" => p.n = value.parse().unwrap_or_else(|_| usage("-n takes an integer")),
                "-scale" => p.scale = value.parse().unwrap_or_else(|_| usage("-scale takes a number")),
                "-grow" => p.grow = value.parse().unwrap_or_else(|_| usage("-grow takes a number")),
                "-seed" => {
                    let seed: u64 = value.parse().unwrap_or_else(|_| usage("-seed takes an integer"));
                    p.rng.set(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
                }
                _ => usage(&format!("unknown flag {flag}")),
            }
        }
        p
    }

    /// The next pseudo-random number (xorshift64*): deterministic per seed.
    pub fn next(&self) -> u64 {
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A base size multiplied by -scale.
    pub fn size(&self, base: usize) -> usize {
        (base as f64 * self.scale) as usize
    }

    /// A scaled size drawn uniformly from [lo, hi).
    pub fn between(&self, lo: usize, hi: usize) -> usize {
        self.size(lo + (self.next() % (hi - lo) as u64) as usize)
    }
}

fn usage(message: &str) -> ! {
    eprintln!("{message}\nusage: WORKLOAD [-n N] [-scale F] [-grow F] [-seed S]");
    std::process::exit(2);
}

/// Writes every 512th byte so the pages become resident.
pub fn touch(buf: &mut [u8]) {
    for i in (0..buf.len()).step_by(512) {
        buf[i] = i as u8;
    }
}

/// Runs a workload: starts the dhat-rs profiler (feature `dhat-heap`;
/// output at MEMGATE_DHAT_FILE, else dhat-heap.json), parses the flags,
/// runs `work`, and, while what it returns is still alive, takes the probe
/// counters, ends the profiler (its t-end is that live data), writes the
/// probe file, and only then frees the data.
pub fn run<T>(default_n: usize, work: impl FnOnce(&Params) -> T) {
    #[cfg(feature = "dhat-heap")]
    let profiler = {
        let file = std::env::var_os("MEMGATE_DHAT_FILE").unwrap_or_else(|| "dhat-heap.json".into());
        dhat::Profiler::builder().file_name(file).build()
    };
    let params = Params::parse(default_n);
    let kept = work(&params);
    let counters = memgate_probe::snapshot();
    #[cfg(feature = "dhat-heap")]
    drop(profiler);
    memgate_probe::write_report(counters);
    drop(std::hint::black_box(kept));
}
