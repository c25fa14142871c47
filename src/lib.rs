//! memgate: a memory-regression gate for Go and Rust programs.
//!
//! The stages, each a module with one job, joined by plain serializable
//! values (see the README's map of `src/`):
//! [`config`] → [`runner`] → [`collect`] → [`results`] → [`gate`] →
//! [`verdicts`] → [`report`].
//! [`run`] dispatches a parsed command line to them; `main` only maps the
//! outcome to an exit code.

/// `eprintln!` that ignores a failed write: a closed stderr
/// (`memgate run 2>&1 | head -1`) must not turn an outcome into a panic
/// (exit 101); the exit code still says what happened.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod atomic;
pub mod attribution;
pub mod baseline;
pub mod cli;
pub mod collect;
pub mod commands;
pub mod config;
pub mod error;
pub mod fingerprint;
pub mod gate;
pub mod history;
pub mod init;
pub mod input;
pub mod interrupt;
pub mod json;
pub mod lang;
pub mod metrics;
pub mod parallel;
pub mod phase;
pub mod policy;
pub mod report;
pub mod results;
pub mod runner;
pub mod stats;
pub mod units;
pub mod verdicts;

pub use error::{Error, Outcome};

/// Runs one parsed command line to its outcome.
pub fn run(cli: cli::Cli) -> Result<Outcome, Error> {
    use cli::Command;
    runner::spawn::install_interrupt_handler()?;
    // These read and write files and start nothing: a signal ends them at
    // once. `run` and `check` say so once their runs are over.
    if matches!(
        cli.command,
        Command::Merge(_)
            | Command::Compare(_)
            | Command::Baseline(_)
            | Command::Report(_)
            | Command::Explain(_)
            | Command::Import(_)
    ) {
        interrupt::nothing_to_end();
    }
    match cli.command {
        Command::Run(args) => commands::run(args),
        Command::Merge(args) => commands::merge(args),
        Command::Compare(args) => commands::compare(args),
        Command::Check(args) => commands::check(args),
        Command::Calibrate(args) => commands::calibrate(args),
        Command::Baseline(cmd) => commands::baseline(cmd),
        Command::History(cmd) => commands::history(cmd),
        Command::Report(args) => commands::report(args),
        Command::Explain(args) => commands::explain(args),
        Command::Import(args) => commands::import(args),
        Command::Init(args) => {
            let action = args
                .action
                .or_else(init::default_action)
                .ok_or(init::InitError::NoCommit)?;
            if !action.starts_with("./") && !init::is_pinned(&action) {
                crate::say!(
                    "memgate: warning: --action {action} is not pinned to a commit: whoever moves its ref runs code in the comment job, which can write to pull requests; pin it with @<40-hex commit SHA>"
                );
            }
            let written = init::init(std::path::Path::new("."), args.force, &action)?;
            for p in written {
                crate::say!("memgate: wrote {}", p.display());
            }
            Ok(Outcome::Pass)
        }
    }
}
