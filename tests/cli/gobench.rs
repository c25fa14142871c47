//! `gobench` workloads: a team's own `go test` benchmarks, in a Go module
//! made in a temporary directory (outside this repository), listed, run
//! one benchmark per process and gated.

use predicates::prelude::*;
use predicates::str::contains;

use crate::util::{Dir, Neighbour, repo_root, samples};

/// A Go module `example.com/team` with the bundled benchmarks
/// (workloads/go/bench: BenchmarkRequest grows with MEMGATE_BENCH_SCALE)
/// in `bench/`, and a package without tests beside it.
fn team_module(dir: &Dir, gobench: &str) {
    dir.create("go.mod", "module example.com/team\n\ngo 1.21\n");
    dir.create(
        "bench/bench_test.go",
        &std::fs::read_to_string(repo_root().join("workloads/go/bench/bench_test.go")).unwrap(),
    );
    dir.create("util/util.go", "package util\n\nfunc Nothing() {}\n");
    dir.create(
        "memgate.yaml",
        &format!(
            "version: 1\ndefaults: {{repetitions: 5, footprint_repetitions: 3, warmup: 1, sample_interval: 0}}\nworkloads:\n  - name: team\n    lang: go\n    gobench: {gobench}\n"
        ),
    );
}

/// Each benchmark is a workload with the benchmark's figures (B/op and
/// allocs/op from the footprint phase, ns/op from the behaviour phase)
/// and the test binary's GC trace; A/A passes beside a CPU-bound
/// neighbour; +10% request body fails on op.alloc.bytes of that benchmark
/// alone.
#[test]
fn benchmarks_are_workloads_gated_both_ways() {
    let dir = Dir::new();
    team_module(&dir, "{packages: ./..., benchtime: 2000x}");
    let out = dir
        .memgate()
        .args(["run", "-o", "base.json"])
        .assert()
        .success()
        .stderr(contains(
            "team: 2 benchmarks: team/bench/Request (2000x), team/bench/MapFill (2000x)",
        ));
    // Round by round: MapFill's first run comes before Request's second,
    // so one benchmark's runs lie apart in time.
    let log = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let at = |line: &str| log.find(line).unwrap_or_else(|| panic!("{line}: {log}"));
    assert!(
        at("team/bench/MapFill warm-up 1/") < at("team/bench/Request footprint run 2/"),
        "{log}"
    );
    let r = dir.results("base.json");
    let names: Vec<&str> = r.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["team/bench/Request", "team/bench/MapFill"]);
    let request = &r.workloads[0];
    assert!(
        request
            .command
            .iter()
            .any(|a| a == "-test.bench=^BenchmarkRequest$"),
        "{:?}",
        request.command
    );
    // 512 bytes of body and the struct around it, one allocation each op
    // and the escaping struct: the figures `go test -benchmem` prints, in
    // every footprint run (`run` records a baseline: 10 of them).
    assert_eq!(
        samples(&r, "team/bench/Request", "op.alloc.bytes"),
        [544.0; 10]
    );
    assert_eq!(
        samples(&r, "team/bench/Request", "op.alloc.objects"),
        [2.0; 10]
    );
    assert_eq!(samples(&r, "team/bench/Request", "op.time").len(), 5);
    assert_eq!(r.workloads[0].iterations, Some(2000));
    // The footprint phase collects only where the testing package forces
    // it (GOGC=off), the behaviour phase as the workload's GOGC says.
    assert_eq!(
        samples(&r, "team/bench/MapFill", "gc.cycles"),
        samples(&r, "team/bench/MapFill", "gc.cycles.forced")
    );
    assert!(
        !samples(&r, "team/bench/MapFill", "bench.heap-objects").is_empty(),
        "b.ReportMetric units are kept"
    );
    dir.memgate()
        .args(["baseline", "save", "base.json"])
        .assert()
        .success();
    {
        let _busy = Neighbour::start();
        // The terminal lists what fails and warns, never an unchanged row.
        dir.memgate()
            .args(["check"])
            .assert()
            .code(0)
            .stdout(
                contains("regression")
                    .not()
                    .and(predicate::function(|out: &str| {
                        !out.lines()
                            .any(|l| !l.starts_with("gate ") && l.trim_end().ends_with("unchanged"))
                    })),
            );
    }
    dir.memgate()
        .args(["check"])
        .env("MEMGATE_BENCH_SCALE", "1.10")
        .assert()
        .code(1)
        .stdout(
            contains("regression team/bench/Request/op.alloc.bytes")
                .and(contains("team/bench/MapFill/op.alloc.bytes").not()),
        );
}

/// A duration benchtime is found once by `go test` and pinned as a count.
#[test]
fn a_duration_benchtime_is_pinned_as_a_count() {
    let dir = Dir::new();
    team_module(&dir, "{packages: ./bench, bench: Request, benchtime: 50ms}");
    dir.memgate()
        .args(["run", "-n", "1", "-o", "r.json"])
        .assert()
        .success();
    let r = dir.results("r.json");
    assert_eq!(r.workloads.len(), 1);
    let pinned = r.workloads[0]
        .command
        .iter()
        .find_map(|a| a.strip_prefix("-test.benchtime="))
        .unwrap()
        .to_owned();
    let count: u64 = pinned.strip_suffix('x').unwrap().parse().unwrap();
    assert!(count > 1, "{pinned}");
}

/// A regexp that matches nothing fails the workload once, saying so.
#[test]
fn no_matching_benchmark_is_a_failure_that_says_so() {
    let dir = Dir::new();
    team_module(&dir, "{bench: NoSuchBenchmark}");
    dir.memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .code(3)
        .stderr(contains(
            "error: team: no benchmark matches -bench `NoSuchBenchmark` in ./...",
        ));
    let r = dir.results("r.json");
    assert_eq!(r.workloads[0].name, "team");
    assert!(r.workloads[0].build_failure.is_some());
}

/// A module with benchmarks in its root package (one a `b.Loop`
/// benchmark, Go 1.24+) and in `sub/`; `GOGC` and `GOMEMLIMIT` as the
/// footprint phase sees them, reported with `b.ReportMetric`.
fn counted_module(dir: &Dir, benchtime: &str) {
    dir.create("go.mod", "module example.com/counted\n\ngo 1.24\n");
    dir.create(
        "root_test.go",
        r#"package counted

import (
	"runtime/debug"
	"testing"
)

var sink [][]byte

// BenchmarkLoop allocates 64 bytes per op.
func BenchmarkLoop(b *testing.B) {
	for b.Loop() {
		sink = append(sink[:0], make([]byte, 64))
	}
}

// BenchmarkKnobs reports the collector's settings in force.
func BenchmarkKnobs(b *testing.B) {
	gogc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gogc)
	limit := debug.SetMemoryLimit(-1)
	for i := 0; i < b.N; i++ {
		sink = append(sink[:0], make([]byte, 16))
	}
	off := 0.0
	if gogc < 0 {
		off = 1
	}
	b.ReportMetric(off, "gc-off")
	b.ReportMetric(float64(limit), "limit-B")
}
"#,
    );
    dir.create(
        "sub/sub_test.go",
        "package sub\n\nimport \"testing\"\n\nvar s []byte\n\nfunc BenchmarkSub(b *testing.B) {\n\tfor i := 0; i < b.N; i++ {\n\t\ts = make([]byte, 32)\n\t}\n}\n",
    );
    dir.create(
        "memgate.yaml",
        &format!(
            "version: 1\ndefaults: {{repetitions: 3, footprint_repetitions: 3, warmup: 0, sample_interval: 0}}\nworkloads:\n  - name: team\n    lang: go\n    gobench: {{packages: ./..., benchtime: {benchtime}}}\n"
        ),
    );
}

/// The iteration count is part of the measurement: recorded per
/// benchmark, a check runs each benchmark at the baseline's count whatever
/// the config's duration now finds, a new benchmark finds its count once,
/// and results at different counts are never compared. Names: the root
/// package's benchmarks are `<workload>/<Bench>`, a package's
/// `<workload>/<dir>/<Bench>`.
#[test]
fn the_count_is_pinned_from_the_baseline() {
    let dir = Dir::new();
    counted_module(&dir, "20ms");
    dir.memgate()
        .args(["run", "-o", "base.json"])
        .assert()
        .success();
    let base = dir.results("base.json");
    let names: Vec<&str> = base.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["team/Loop", "team/Knobs", "team/sub/Sub"]);
    let counts = base.pins();
    assert!(counts.values().all(|&n| n > 1), "{counts:?}");
    // b.Loop: 64 bytes a op, the count pinned like any other.
    assert_eq!(samples(&base, "team/Loop", "op.alloc.bytes")[0], 64.0);
    dir.memgate()
        .args(["baseline", "save", "base.json"])
        .assert()
        .success()
        .stderr(contains("team/Loop").and(contains("x")));
    // A new benchmark, and a duration that would find other counts.
    dir.create(
        "new_test.go",
        "package counted\n\nimport \"testing\"\n\nfunc BenchmarkNew(b *testing.B) {\n\tfor i := 0; i < b.N; i++ {\n\t\tsink = append(sink[:0], make([]byte, 8))\n\t}\n}\n",
    );
    counted_module(&dir, "2ms");
    dir.memgate()
        .args(["check", "-o", "cur.json"])
        .assert()
        .code(0)
        .stderr(
            contains(format!(
                "team/Loop ({}x, the baseline's)",
                counts["team/Loop"]
            ))
            .and(contains(
                "BenchmarkNew is not in the baseline: finding its count",
            )),
        );
    let cur = dir.results("cur.json");
    for (name, n) in &counts {
        assert_eq!(cur.pins().get(name), Some(n), "{name}");
    }
    assert!(cur.pins().contains_key("team/New"));
    // Two results files at different counts: not comparable, until a new
    // baseline is recorded.
    counted_module(&dir, "100x");
    dir.memgate()
        .args(["run", "-o", "a.json"])
        .assert()
        .success();
    counted_module(&dir, "200x");
    dir.memgate()
        .args(["run", "-o", "b.json"])
        .assert()
        .success();
    dir.memgate()
        .args(["compare", "a.json", "b.json"])
        .assert()
        .code(1)
        .stdout(contains(
            "team/sub/Sub/op.alloc.bytes: not comparable: the benchmark ran 100x in the baseline and 200x now",
        ));
}

/// The footprint phase of a benchmark runs with GOGC=off under a
/// GOMEMLIMIT backstop; the behaviour phase with the workload's settings.
/// A benchmark whose set-up (outside B/op) outgrows the backstop says that
/// the backstop collected.
#[test]
fn the_footprint_loop_runs_without_collection_under_a_backstop() {
    let dir = Dir::new();
    counted_module(&dir, "50x");
    dir.create(
        "big_test.go",
        r#"package counted

import "testing"

var setup [][]byte

// BenchmarkBigSetup allocates 768 MiB of garbage before its timer starts.
func BenchmarkBigSetup(b *testing.B) {
	for i := 0; i < 768; i++ {
		setup = append(setup[:0], make([]byte, 1<<20))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink = append(sink[:0], make([]byte, 8))
	}
}
"#,
    );
    dir.memgate()
        .args(["run", "-n", "1", "-o", "r.json"])
        .assert()
        .success()
        .stderr(contains(
            "team/BigSetup: the footprint run's GOMEMLIMIT backstop",
        ));
    let r = dir.results("r.json");
    assert_eq!(samples(&r, "team/Knobs", "bench.gc-off"), [1.0], "GOGC=off");
    let limit = samples(&r, "team/Knobs", "bench.limit-B")[0];
    assert!(
        limit >= (512u64 << 20) as f64,
        "a backstop of {limit} bytes"
    );
    let knobs = r.workloads.iter().find(|w| w.name == "team/Knobs").unwrap();
    let footprint_warnings: usize = knobs.runs.iter().map(|x| x.warnings.len()).sum();
    assert_eq!(footprint_warnings, 0, "{:?}", knobs.runs);
}
