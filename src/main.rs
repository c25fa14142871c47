//! The `memgate` binary: parse the command line, run it, map the outcome or
//! error to an exit code. Everything else lives in the library.

use std::ffi::OsString;

use clap::Parser;
use memgate::runner::launch::{LAUNCH_SUBCOMMAND, launcher_main};

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    // The launcher must stay small: it is dispatched before anything else
    // allocates (see runner::launch).
    if args.get(1).is_some_and(|a| a == LAUNCH_SUBCOMMAND) {
        std::process::exit(launcher_main(&args[2..]));
    }
    keep_freed_memory();
    let cli = memgate::cli::Cli::parse_from(args);
    let code = match memgate::run(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(e) if e.is_broken_pipe() => 0,
        Err(e) => {
            memgate::say!("memgate: error: {}", chain(&e));
            e.exit_code()
        }
    };
    // Interrupted at any step: 130, whatever the command returned (the
    // runner and every write stop at the signal; see memgate::interrupt).
    if memgate::interrupt::interrupted() {
        if code != memgate::error::exit::INTERRUPTED {
            memgate::say!("memgate: interrupted: no file was written after the signal");
        }
        std::process::exit(memgate::error::exit::INTERRUPTED);
    }
    std::process::exit(code);
}

/// memgate is a short-lived process whose large comparisons allocate and
/// free tens of MiB in a few milliseconds; glibc's defaults hand the top of
/// the heap back to the system as it is freed, and serve large blocks by
/// mmap, so the same memory is faulted in page by page again (a tenth of a
/// thousand benchmarks' comparison). 64 MiB of slack on each heap growth
/// (M_TOP_PAD), and blocks up to 256 MiB from the heap (M_MMAP_THRESHOLD,
/// which also stops the dynamic trim threshold): mallopt(3). Untouched
/// slack is never resident. The launcher, dispatched before, keeps the
/// defaults, and workloads are other processes.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets the allocator's parameters.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
    }
}

/// The error and every cause below it that its message does not already
/// include, one "caused by" line each. Each message stays on its line
/// (control characters shown escaped): an error can quote its input, and
/// a line feed in it would start a workflow command (`::add-mask::`,
/// `::warning::`) in a CI log.
fn chain(e: &dyn std::error::Error) -> String {
    use memgate::report::escape::terminal;
    let top = e.to_string();
    let mut text = terminal(&top);
    let mut cause = e.source();
    while let Some(c) = cause {
        let line = c.to_string();
        if !top.contains(&line) {
            text.push_str(&format!("\n  caused by: {}", terminal(&line)));
        }
        cause = c.source();
    }
    text
}
