#![expect(clippy::unwrap_used, reason = "a test panics on any unexpected error")]

//! memgate's integration tests: one binary, one module per area, all of
//! them driving the real `memgate` executable on real processes.

/// GitHub Actions: action.yml, workflows, init, step summary, --accept.
mod actions;
/// "Where it grew": allocation sites on real Go and Rust programs.
mod attribution;
/// `cargotest`: a crate's own tests as workloads.
mod cargotest;
/// Config errors: exit 2 with file, line and field.
mod config_errors;
/// The README's source map matches the tree.
mod docs;
/// Exports read back by real receivers (OpenMetrics, OTLP).
mod export;
/// Failed builds and runs, timeouts, process groups, Ctrl-C.
mod failures;
/// The parsers on mangled real inputs (proptest).
mod fuzz;
/// The gate: baseline, compare, check, calibrate.
mod gate;
/// The Go workloads, gctrace and the probe, end to end.
mod go;
/// `gobench` workloads: a Go module's own benchmarks.
mod gobench;
/// Help texts.
mod help;
/// The history store and drift: a slow boil found commit by commit.
mod history;
/// `memgate import` of Go benchmark output and gctrace.
mod import;
/// The bad-input and fault cases of a review, each kept.
mod input_cases;
/// `collect: [malloc]`: the preloaded malloc counter on real programs.
mod malloc;
/// `--shard` and `memgate merge`.
mod merge;
/// README's "Gate your own program", followed in a Go module and a Cargo project.
mod own_program;
/// Parity rules: a Rust port held to its Go reference.
mod parity;
/// A Go workload's footprint and behaviour phases, on recorded runs.
mod phases;
/// Properties of the gate on random samples (proptest).
mod properties;
/// README.md's quick start, run as written.
mod readme;
/// Relative mode: base and head interleaved in a throwaway repository.
mod relative;
/// The Markdown report rendered in headless Chromium with Mermaid.
mod render;
/// Report formats, escaping, templates.
mod report;
/// `memgate run`: measurement of real processes, RSS, timelines, results.
mod run;
/// The Rust workloads: probe, allocators, DHAT.
mod rust;
/// The checked-in JSON Schemas (feature `schema`).
#[cfg(feature = "schema")]
mod schema;
/// The statistics against benchstat.
mod stats;
/// Shared helpers.
mod util;
/// The wrong outcomes of an adversarial review, made right.
mod verdict_cases;
/// The workflows' own scripts against a stand-in `gh`.
mod workflow_scripts;
