//! Command-line definitions (clap derive) and nothing else: parsing only
//! validates the shape of the arguments; reading files and resolving the
//! config happen afterwards, in the command modules.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::results::Shard;

/// memgate: catch memory regressions in review, not in production.
///
/// Builds and runs memory-pressure workloads for Go and Rust programs,
/// measures allocations, heap, RSS and GC from every run, compares them
/// with a stored baseline statistically, and fails the pipeline when a
/// threshold is breached.
#[derive(Debug, Parser)]
#[command(name = "memgate", version, after_help = crate::error::exit::help(), propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build and run workloads and write every measured sample to a results file.
    ///
    /// Example: memgate run -c memgate.yaml -w churn -n 10 -o results.json
    #[command(after_help = crate::error::exit::help())]
    Run(RunArgs),
    /// Compare a baseline results file with a current one and print verdicts.
    ///
    /// Example: memgate compare .memgate/baseline.json results.json
    #[command(after_help = crate::error::exit::help())]
    Compare(CompareArgs),
    /// Run, then compare with the baseline, in one step.
    ///
    /// Example: memgate check -c memgate.yaml --baseline .memgate/baseline.json
    #[command(after_help = crate::error::exit::help())]
    Check(CheckArgs),
    /// Measure each metric's noise (A/A) and recommend the repetitions the gate needs.
    ///
    /// Example: memgate calibrate -w churn -n 20
    #[command(after_help = crate::error::exit::help())]
    Calibrate(CalibrateArgs),
    /// Save or show the stored baseline.
    ///
    /// Example: memgate baseline save results.json
    #[command(subcommand, after_help = crate::error::exit::help())]
    Baseline(BaselineCommand),
    /// Record results by commit, show a metric's history, find where it drifted.
    ///
    /// Example: memgate history drift
    #[command(subcommand, after_help = crate::error::exit::help())]
    History(HistoryCommand),
    /// Render a verdicts file as Markdown, JSON, JUnit XML or CSV.
    ///
    /// Example: memgate report verdicts.json --format markdown -o report.md
    #[command(after_help = crate::error::exit::help())]
    Report(ReportArgs),
    /// Where a metric grew: the allocation sites behind a verdict.
    ///
    /// Example: memgate explain go-retain heap.live.bytes
    #[command(after_help = crate::error::exit::help())]
    Explain(ExplainArgs),
    /// Turn outputs of other tools (go test -bench, gctrace, DHAT) into a results file.
    ///
    /// Example: memgate import --format gobench bench.txt -o results.json
    #[command(after_help = crate::error::exit::help())]
    Import(ImportArgs),
    /// Join results files of a sharded CI matrix into one.
    ///
    /// Example: memgate merge shard1.json shard2.json -o results.json
    #[command(after_help = crate::error::exit::help())]
    Merge(MergeArgs),
    /// Write a commented memgate.yaml and CI workflows for this repository.
    ///
    /// Example: memgate init
    #[command(after_help = crate::error::exit::help())]
    Init(InitArgs),
}

/// Arguments of `memgate run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The config file.
    #[arg(short, long, env = "MEMGATE_CONFIG", default_value = "memgate.yaml")]
    pub config: PathBuf,
    /// Run only this workload; repeat for several.
    #[arg(short, long = "workload", value_name = "NAME")]
    pub workloads: Vec<String>,
    /// Measured repetitions per workload, overriding the config.
    #[arg(short = 'n', long, value_name = "REPS", value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::config::MAX_RUNS)))]
    pub repetitions: Option<u32>,
    /// Warm-up runs per workload, overriding the config.
    #[arg(long, value_name = "RUNS", value_parser = clap::value_parser!(u32).range(0..=i64::from(crate::config::MAX_RUNS)))]
    pub warmup: Option<u32>,
    /// Run every N-th workload starting at the K-th, for a CI matrix.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Where to write the results (atomically).
    #[arg(short, long, default_value = ".memgate/results.json")]
    pub output: PathBuf,
}

impl From<&RunArgs> for crate::runner::Selection {
    fn from(a: &RunArgs) -> Self {
        crate::runner::Selection {
            workloads: a.workloads.clone(),
            repetitions: a.repetitions,
            warmup: a.warmup,
            shard: a.shard,
            for_baseline: false,
        }
    }
}

/// Output format of `compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    /// An aligned table for a terminal.
    Table,
    /// The verdicts as JSON.
    Json,
}

/// Arguments of `memgate compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline: a results file, or `go test -bench` output (gzip or not).
    pub baseline: PathBuf,
    /// The current results: a results file, or `go test -bench` output.
    pub current: PathBuf,
    /// The config holding thresholds and budgets [default: memgate.yaml when it exists, else built-in defaults].
    #[arg(short, long, env = "MEMGATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Also write the verdicts as JSON here.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Reports and accepted increases.
    #[command(flatten)]
    pub outputs: OutputArgs,
}

/// Arguments of `memgate check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// What to run: the same options as `memgate run`.
    #[command(flatten)]
    pub run: RunArgs,
    /// The baseline to compare with [default: `baseline:` of the config, else .memgate/baseline.json].
    #[arg(long, env = "MEMGATE_BASELINE")]
    pub baseline: Option<PathBuf>,
    /// Where to write the verdicts (atomically).
    #[arg(long, default_value = ".memgate/verdicts.json")]
    pub verdicts: PathBuf,
    /// Save the current results as the new baseline when the gate passes.
    #[arg(long)]
    pub save_baseline: bool,
    /// Relative mode: measure this git ref (e.g. origin/main) now, beside the head, on this
    /// machine, interleaved, instead of reading a stored baseline [config: base_ref].
    #[arg(long, value_name = "REF", env = "MEMGATE_BASE_REF")]
    pub base_ref: Option<String>,
    /// Relative mode: the order of base and head runs.
    #[arg(long, value_enum, default_value_t = RunOrder::Alternate)]
    pub order: RunOrder,
    /// Relative mode: the seed of `--order shuffled`.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Relative mode: measure the base even when the cache has it, and do not cache it.
    #[arg(long)]
    pub no_cache: bool,
    /// Relative mode: the largest size of .memgate/cache/; the oldest entries go first.
    #[arg(long, value_name = "SIZE", default_value = "64MiB")]
    pub cache_max: crate::units::Bytes,
    /// Reports and accepted increases.
    #[command(flatten)]
    pub outputs: OutputArgs,
}

/// What `compare` and `check` write besides the table, and which
/// regressions are intended.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// How to print the verdicts.
    #[arg(long, value_enum, default_value_t = CompareFormat::Table)]
    pub format: CompareFormat,
    /// Accept regressions matching WORKLOAD:METRIC (globs allowed) as intended: they are
    /// reported in their own section and do not fail the gate.
    #[arg(
        long,
        value_name = "WORKLOAD:METRIC",
        env = "MEMGATE_ACCEPT",
        value_delimiter = ','
    )]
    pub accept: Vec<String>,
    /// Why the accepted increases are intended, shown in the report.
    #[arg(long, value_name = "TEXT", env = "MEMGATE_ACCEPT_REASON")]
    pub accept_reason: Option<String>,
    /// Also write the Markdown report here (for a pull-request comment).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Also write the HTML report here: one self-contained file with the
    /// distributions, timelines and allocation sites.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the current figures as OpenMetrics text here (for a
    /// Pushgateway or the textfile collector).
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    /// Also send the current figures as OTLP metrics (HTTP/protobuf) here,
    /// e.g. http://127.0.0.1:4318 [default: the OTEL_EXPORTER_OTLP_*
    /// variables]. A failed export is a warning; it never changes the exit
    /// code.
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
}

/// The order of base and head runs in relative mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunOrder {
    /// base, head, base, head, ...
    Alternate,
    /// Each pair in a seeded random order.
    Shuffled,
}

/// Arguments of `memgate calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// The config file.
    #[arg(short, long, env = "MEMGATE_CONFIG", default_value = "memgate.yaml")]
    pub config: PathBuf,
    /// Calibrate only this workload; repeat for several.
    #[arg(short, long = "workload", value_name = "NAME")]
    pub workloads: Vec<String>,
    /// Runs of each workload (A/A: all from the same build).
    #[arg(short = 'n', long, value_name = "RUNS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..=i64::from(crate::config::MAX_RUNS)))]
    pub runs: u32,
    /// Statistical power the recommendation aims for, between 0 and 1.
    #[arg(long, default_value_t = 0.8, value_parser = probability)]
    pub power: f64,
}

/// Where the baseline is: `--baseline`, else the config's `baseline:`.
#[derive(Debug, Args)]
pub struct BaselineLocation {
    /// The baseline file [default: `baseline:` of the config, else .memgate/baseline.json].
    #[arg(long, env = "MEMGATE_BASELINE")]
    pub baseline: Option<PathBuf>,
    /// The config whose `baseline:` names the file, when it exists.
    #[arg(short, long, env = "MEMGATE_CONFIG", default_value = "memgate.yaml")]
    pub config: PathBuf,
}

/// `memgate baseline` subcommands.
#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Store a results file as the baseline, atomically.
    ///
    /// Example: memgate baseline save .memgate/results.json
    Save {
        /// The results file to keep.
        results: PathBuf,
        /// Where.
        #[command(flatten)]
        location: BaselineLocation,
        /// Keep results that contain failed runs.
        #[arg(long)]
        allow_failed: bool,
    },
    /// Print what the baseline holds and where it came from.
    ///
    /// Example: memgate baseline show
    Show {
        /// Where.
        #[command(flatten)]
        location: BaselineLocation,
    },
}

/// `memgate history add|show|drift|export`.
#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Record results files against their commits, oldest first (replacing
    /// a commit's record in the same environment): one file, or every
    /// baseline artifact of a branch to rebuild its history.
    ///
    /// Example: memgate history add .memgate/results.json
    Add {
        /// The results files.
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// The commit (default: the one the results were measured at); with
        /// one results file only.
        #[arg(long, value_name = "SHA")]
        commit: Option<String>,
        /// Increases of these metrics at this commit were accepted: drift
        /// budgets count from its level on (one results file only).
        #[arg(long, value_name = "WORKLOAD:METRIC", value_delimiter = ',')]
        accepted: Vec<String>,
        /// Why they were accepted, said in the history.
        #[arg(long, value_name = "TEXT", requires = "accepted")]
        reason: Option<String>,
        /// The history database.
        #[arg(long, value_name = "FILE", default_value = crate::history::DEFAULT_HISTORY)]
        history: PathBuf,
    },
    /// Print one metric's history, commit by commit, per environment, with
    /// its shape as a sparkline and its level changes marked.
    ///
    /// Example: memgate history show -w go-retain -m heap.live.bytes
    Show {
        /// The workload.
        #[arg(short, long)]
        workload: String,
        /// The metric.
        #[arg(short, long)]
        metric: String,
        /// The most recent commits shown.
        #[arg(long, default_value_t = 30)]
        last: usize,
        /// The history database.
        #[arg(long, value_name = "FILE", default_value = crate::history::DEFAULT_HISTORY)]
        history: PathBuf,
    },
    /// Find the commits where a metric's level moved (PELT change points),
    /// with the size of each move and the commit range.
    ///
    /// Example: memgate history drift -m heap.live.bytes
    Drift {
        /// Only this workload.
        #[arg(short, long)]
        workload: Option<String>,
        /// Only this metric.
        #[arg(short, long)]
        metric: Option<String>,
        /// Fewest commits a new level must hold to count as one.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(2..=1000))]
        min_segment: u64,
        /// Smallest move reported, e.g. 2%.
        #[arg(long, default_value = "1%")]
        min_change: crate::units::Percent,
        /// The most recent commits searched (6 to 10,000: PELT's cost grows
        /// with the square of the window at worst).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(6..=10_000))]
        window: u64,
        /// The history database.
        #[arg(long, value_name = "FILE", default_value = crate::history::DEFAULT_HISTORY)]
        history: PathBuf,
    },
    /// Write the history as OpenMetrics text with timestamps, for a
    /// dashboard (every recorded commit's median of each metric).
    ///
    /// Example: memgate history export -o history.om
    Export {
        /// Only this workload.
        #[arg(short, long)]
        workload: Option<String>,
        /// Only this metric.
        #[arg(short, long)]
        metric: Option<String>,
        /// Write here instead of stdout (atomically).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// The history database.
        #[arg(long, value_name = "FILE", default_value = crate::history::DEFAULT_HISTORY)]
        history: PathBuf,
    },
}

/// Formats of `memgate report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Markdown for a pull-request comment.
    Markdown,
    /// The verdicts as JSON.
    Json,
    /// JUnit XML for CI test-report views.
    Junit,
    /// One row per sample.
    Csv,
    /// OpenMetrics text of the current side's summaries (Prometheus).
    Openmetrics,
    /// One self-contained HTML page with charts (no script, no network).
    Html,
}

/// Arguments of `memgate report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The verdicts file written by compare or check.
    pub verdicts: PathBuf,
    /// The output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub format: ReportFormat,
    /// A template replacing the built-in Markdown one.
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// Mark the Markdown verdict advisory, saying why (e.g. "this pull
    /// request changes memgate.yaml"): the comment job sets it when the
    /// pull request controls what decides the verdict.
    #[arg(long, value_name = "WHY")]
    pub advisory: Option<String>,
    /// The longest Markdown report, in characters; parts are folded to fit
    /// (default: what a GitHub comment holds, 65,536).
    #[arg(long, value_name = "N", default_value_t = crate::report::markdown::GITHUB_COMMENT_LIMIT)]
    pub max_chars: usize,
    /// Write here instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// Arguments of `memgate explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The workload, as the verdicts name it.
    pub workload: String,
    /// The metric, e.g. heap.live.bytes.
    pub metric: String,
    /// The verdicts file written by compare or check.
    #[arg(long, default_value = ".memgate/verdicts.json")]
    pub verdicts: PathBuf,
}

/// Input formats of `memgate import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    /// `go test -bench -benchmem` output.
    Gobench,
    /// A saved stderr with GODEBUG=gctrace=1 lines.
    Gctrace,
    /// DHAT JSON from dhat-rs or valgrind --tool=dhat.
    Dhat,
}

/// Arguments of `memgate import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The input format.
    #[arg(long, value_enum)]
    pub format: ImportFormat,
    /// Input files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// gctrace and dhat: make every file one sample of this workload
    /// [default: one workload per file, named after it].
    #[arg(long, value_name = "WORKLOAD")]
    pub name: Option<String>,
    /// gobench: the `go test -memprofile` file of the same run; its
    /// allocation sites go to every imported benchmark.
    #[arg(long, value_name = "FILE")]
    pub memprofile: Option<PathBuf>,
    /// Where to write the results.
    #[arg(short, long, default_value = ".memgate/results.json")]
    pub output: PathBuf,
}

/// Arguments of `memgate merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Results files, one per shard.
    #[arg(required = true, num_args = 2..)]
    pub files: Vec<PathBuf>,
    /// Where to write the merged results.
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Arguments of `memgate init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
    /// The memgate action every generated job uses, OWNER/REPO@REF (default:
    /// this memgate's repository at the commit it was built from; a tag is
    /// written as given, unpinned).
    #[arg(long)]
    pub action: Option<String>,
}

/// A `--power` that is not a probability strictly between 0 and 1.
#[derive(Debug, thiserror::Error)]
pub enum ProbabilityError {
    /// A number outside (0, 1).
    #[error("{0} is not between 0 and 1 (exclusive)")]
    OutOfRange(f64),
    /// Not a number.
    #[error("`{text}` is not a number: {source}")]
    NotANumber {
        /// What was given.
        text: String,
        /// Why it does not parse.
        source: std::num::ParseFloatError,
    },
}

/// A probability strictly between 0 and 1 (`--power`).
fn probability(s: &str) -> Result<f64, ProbabilityError> {
    match s.trim().parse::<f64>() {
        Ok(p) if p > 0.0 && p < 1.0 => Ok(p),
        Ok(p) => Err(ProbabilityError::OutOfRange(p)),
        Err(source) => Err(ProbabilityError::NotANumber {
            text: s.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn command_lines() {
        let ok: &[&[&str]] = &[
            &["memgate", "run"],
            &[
                "memgate", "run", "-c", "x.yaml", "-w", "a", "-w", "b", "-n", "3", "-o", "r.json",
            ],
            &["memgate", "run", "--shard", "2/4"],
            &["memgate", "merge", "a.json", "b.json", "-o", "all.json"],
            &[
                "memgate",
                "compare",
                "base.json",
                "cur.json",
                "--format",
                "json",
            ],
            &["memgate", "baseline", "save", "r.json", "--allow-failed"],
            &["memgate", "import", "--format", "gobench", "bench.txt"],
            &["memgate", "check", "-w", "a", "-n", "8", "--save-baseline"],
            &[
                "memgate",
                "check",
                "--base-ref",
                "origin/main",
                "--order",
                "shuffled",
                "--seed",
                "7",
                "--cache-max",
                "1MiB",
            ],
            &["memgate", "calibrate", "-w", "a", "-n", "20"],
        ];
        for args in ok {
            Cli::try_parse_from(*args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        }
        let bad: &[(&[&str], ErrorKind)] = &[
            (
                &["memgate"],
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand,
            ),
            (&["memgate", "run", "-n", "0"], ErrorKind::ValueValidation),
            (
                &["memgate", "run", "--shard", "5/4"],
                ErrorKind::ValueValidation,
            ),
            (
                &["memgate", "run", "--repetitons", "3"],
                ErrorKind::UnknownArgument,
            ),
            (
                &["memgate", "merge", "a.json", "-o", "x.json"],
                ErrorKind::TooFewValues,
            ),
            (
                &[
                    "memgate",
                    "compare",
                    "base.json",
                    "cur.json",
                    "--format",
                    "xml",
                ],
                ErrorKind::InvalidValue,
            ),
            (
                &["memgate", "import", "x"],
                ErrorKind::MissingRequiredArgument,
            ),
        ];
        for (args, kind) in bad {
            let e = Cli::try_parse_from(*args).expect_err(&format!("{args:?} should fail"));
            assert_eq!(e.kind(), *kind, "{args:?}: {e}");
        }
    }
}
