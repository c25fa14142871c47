//! Exit codes, the outcome of a command that ran to the end, and the error
//! type that reaches `main`, which knows its own exit code.
//!
//! A gate that says no is an [`Outcome`], not an error: the report is written
//! first, then the code is chosen. Errors are for input that could not be
//! used (2) and builds or workloads that could not be run (3).

use crate::atomic::WriteError;
use crate::baseline::BaselineError;
use crate::config::ConfigError;
use crate::policy::PolicyError;
use crate::results::ResultsError;
use crate::runner::RunError;

/// Exit codes, documented in `--help` and the README.
pub mod exit {
    /// Every workload ran and no threshold was breached.
    pub const PASS: i32 = 0;
    /// A regression or a budget breach.
    pub const GATE_FAILED: i32 = 1;
    /// Bad usage, config or input file.
    pub const BAD_INPUT: i32 = 2;
    /// A build or a workload failed: non-zero exit, signal, timeout.
    pub const WORKLOAD_FAILED: i32 = 3;
    /// Interrupted by Ctrl-C or SIGTERM (128 + SIGINT, the shell convention).
    pub const INTERRUPTED: i32 = 130;

    /// Every code with what it means, as `--help` lists them.
    pub const ALL: [(i32, &str); 5] = [
        (
            PASS,
            "pass: every workload ran and no threshold was breached",
        ),
        (GATE_FAILED, "gate failed: a regression or a budget breach"),
        (BAD_INPUT, "bad usage, config or input file"),
        (
            WORKLOAD_FAILED,
            "a build or a workload failed (non-zero exit, signal, timeout)",
        ),
        (
            INTERRUPTED,
            "interrupted (Ctrl-C, SIGTERM, SIGHUP), at any step: nothing written after the signal, no temporary file left",
        ),
    ];

    /// The "Exit codes:" section of `--help`.
    pub fn help() -> String {
        let mut text = String::from("Exit codes:");
        for (code, meaning) in ALL {
            text.push_str(&format!("\n  {code:<4} {meaning}"));
        }
        text
    }
}

/// How a command that ran to its end came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to complain about.
    Pass,
    /// The gate found a regression or a budget breach.
    GateFailed,
    /// Results were written, but some builds or runs failed.
    WorkloadsFailed,
}

impl Outcome {
    /// The process exit code for this outcome.
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Pass => exit::PASS,
            Outcome::GateFailed => exit::GATE_FAILED,
            Outcome::WorkloadsFailed => exit::WORKLOAD_FAILED,
        }
    }
}

/// Anything that stops a command before it can produce its outcome.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config could not be used.
    #[error("invalid config: {0}")]
    Config(#[from] ConfigError),
    /// A results file could not be read or merged.
    #[error("invalid results: {0}")]
    Results(#[from] ResultsError),
    /// An output file could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// An output path that is an input or another output.
    #[error(transparent)]
    OutputIsInput(#[from] crate::atomic::OutputIsInput),
    /// The runner could not go on.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A threshold or budget that does not fit the metric it names.
    #[error("invalid config: {0}")]
    Policy(#[from] PolicyError),
    /// The baseline could not be read or saved.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// An input of `memgate import` could not be read.
    #[error("cannot import: {0}")]
    Import(#[from] crate::collect::import::ImportError),
    /// A report could not be made (a broken template, an unreadable verdicts file).
    #[error("cannot make the report: {0}")]
    Report(#[from] crate::report::ReportError),
    /// `memgate init` would overwrite files, or cannot write them.
    #[error("cannot initialize: {0}")]
    Init(#[from] crate::init::InitError),
    /// The history could not be read or written.
    #[error("history: {0}")]
    History(#[from] crate::history::HistoryError),
    /// Relative mode could not run: not a repository, a missing base ref.
    #[error(transparent)]
    Relative(crate::runner::relative::RelativeError),
    /// An `--accept` pattern that cannot be used.
    #[error(transparent)]
    Accept(#[from] crate::gate::AcceptError),
    /// `memgate report --template`, `--advisory` or `--max-chars` with a
    /// format other than Markdown.
    #[error("--template, --advisory and --max-chars apply to --format markdown only")]
    TemplateNeedsMarkdown,
    /// `memgate explain` of a verdict the file does not have.
    #[error("{0}")]
    NoSuchVerdict(String),
    /// Writing to stdout failed (a closed pipe is not an error: see `main`).
    #[error("cannot write to stdout: {0}")]
    Stdout(std::io::Error),
}

impl From<crate::runner::relative::RelativeError> for Error {
    fn from(e: crate::runner::relative::RelativeError) -> Self {
        match e {
            crate::runner::relative::RelativeError::Run(r) => Error::Run(r),
            other => Error::Relative(other),
        }
    }
}

impl From<crate::runner::PlanError> for Error {
    fn from(e: crate::runner::PlanError) -> Self {
        match e {
            crate::runner::PlanError::Config(c) => Error::Config(c),
            crate::runner::PlanError::Launcher(r) => Error::Run(r),
        }
    }
}

impl Error {
    /// A write to a closed pipe (`memgate compare ... | head`): not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Stdout(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// The process exit code this error means.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_)
            | Error::Results(_)
            | Error::Write(_)
            | Error::OutputIsInput(_)
            | Error::Policy(_)
            | Error::Baseline(_)
            | Error::Stdout(_)
            | Error::Import(_)
            | Error::Report(_)
            | Error::TemplateNeedsMarkdown
            | Error::NoSuchVerdict(_)
            | Error::Accept(_)
            | Error::Init(_)
            | Error::History(_) => exit::BAD_INPUT,
            // Run errors arrive as Error::Run (see the From impl).
            Error::Relative(_) => exit::BAD_INPUT,
            Error::Run(RunError::Interrupted) => exit::INTERRUPTED,
            // A workload directory that does not exist, or a scratch file
            // memgate cannot use: nothing ran, the setup is wrong.
            Error::Run(RunError::MissingDir { .. } | RunError::Scratch { .. }) => exit::BAD_INPUT,
            Error::Run(_) => exit::WORKLOAD_FAILED,
        }
    }
}
