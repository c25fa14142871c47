//! A Go workload's two phases on recorded runs (fixtures/footprint/, made
//! by its record.sh): what each run and series records, and how the bundled
//! config gates them against a stored baseline.

use predicates::prelude::*;
use predicates::str::contains;

use crate::util::{Dir, repo_root};
use memgate::metrics::Stability;
use memgate::phase::Phase;
use memgate::results::Results;

fn fixture(name: &str) -> std::path::PathBuf {
    repo_root().join("fixtures/footprint").join(name)
}

/// Runs and series record their phase: one warm-up and 10 footprint runs
/// (a baseline, as `memgate run` records it), then 8 behaviour runs; memory from the footprint phase (not
/// load-sensitive), time and pauses from the behaviour phase.
#[test]
fn every_run_and_series_records_its_phase() {
    let r = Results::read(&fixture("base.json")).unwrap();
    let w = &r.workloads[0];
    let phases: Vec<(bool, Option<Phase>)> = w.runs.iter().map(|r| (r.warmup, r.phase)).collect();
    let mut expected = vec![(true, Some(Phase::Footprint))];
    expected.extend([(false, Some(Phase::Footprint)); 10]);
    expected.extend([(false, Some(Phase::Behaviour)); 8]);
    assert_eq!(phases, expected);
    for (metric, phase, stability, n) in [
        (
            "heap.live.bytes",
            Phase::Footprint,
            Stability::Deterministic,
            10,
        ),
        (
            "heap.alloc.bytes",
            Phase::Footprint,
            Stability::Deterministic,
            10,
        ),
        ("gc.cycles", Phase::Footprint, Stability::Deterministic, 10),
        (
            "process.rss.peak",
            Phase::Footprint,
            Stability::MachineDependent,
            10,
        ),
        (
            "gc.pause.max",
            Phase::Behaviour,
            Stability::LoadSensitive,
            8,
        ),
        (
            "process.wall",
            Phase::Behaviour,
            Stability::LoadSensitive,
            8,
        ),
    ] {
        let s = &w.metrics[metric];
        assert_eq!(
            (s.phase, s.stability, s.samples.len()),
            (Some(phase), stability, n),
            "{metric}"
        );
    }
}

/// Beside a CPU-bound neighbour the unchanged code passes against the quiet
/// baseline (time and pauses at most warn), and +3% live heap fails on
/// heap.live.bytes with three footprint runs a side, under the bundled
/// memgate.yaml's thresholds.
#[test]
fn loaded_aa_passes_and_three_percent_fails() {
    let dir = Dir::new();
    let config = repo_root().join("memgate.yaml");
    let compare = |cur: &str| {
        let mut c = dir.memgate();
        c.arg("compare")
            .arg("-c")
            .arg(&config)
            .arg(fixture("base.json"))
            .arg(fixture(cur));
        c
    };
    compare("aa-loaded.json").assert().code(0).stdout(
        contains("gate passed")
            .and(contains("regression ").not())
            // What would decide the inconclusive ones is said once.
            .and(
                contains("inconclusive")
                    .not()
                    .or(contains("would decide them")),
            ),
    );
    compare("scaled-loaded.json").assert().code(1).stdout(
        contains("regression go-retain/heap.live.bytes: +3.")
            .and(contains("every current run is above every baseline run")),
    );
}
