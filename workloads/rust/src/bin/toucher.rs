//! toucher: allocates a known amount of memory and writes every page, so its
//! peak RSS is known in advance. memgate's own tests use it to check that
//! process.rss.peak is the workload's peak and lands within 5% of the size.
//!
//! Flags: `-mib N` (default 200) megabytes to hold, `-hold-ms M` (default 0)
//! how long to hold them before exiting, `-scale F` (default 1.0) multiplies
//! the size. Prints nothing.

use std::time::Duration;

// toucher keeps its own flags (-mib, -hold-ms) and links the shared
// library only for its counting allocator.
use memgate_workloads as _;

fn main() {
    let mut mib: f64 = 200.0;
    let mut hold_ms: u64 = 0;
    let mut scale: f64 = 1.0;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "-mib" => mib = value.parse().unwrap_or_else(|_| usage("-mib takes a number")),
            "-hold-ms" => hold_ms = value.parse().unwrap_or_else(|_| usage("-hold-ms takes an integer")),
            "-scale" => scale = value.parse().unwrap_or_else(|_| usage("-scale takes a number")),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    let bytes = (mib * scale * 1024.0 * 1024.0) as usize;
    let mut buf: Vec<u8> = Vec::with_capacity(bytes);
    // Write one byte per page: every page becomes resident.
    for offset in (0..bytes).step_by(4096) {
        // SAFETY: offset < capacity; the byte is written before it is read.
        unsafe { buf.as_mut_ptr().add(offset).write(1) };
    }
    std::thread::sleep(Duration::from_millis(hold_ms));
    std::hint::black_box(&buf);
}

fn usage(message: &str) -> ! {
    eprintln!("toucher: {message}\nusage: toucher [-mib N] [-hold-ms M] [-scale F]");
    std::process::exit(2);
}
