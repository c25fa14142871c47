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
