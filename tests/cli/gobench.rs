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
    dir.memgate()
        .args(["run", "-o", "base.json"])
        .assert()
        .success()
        .stderr(contains(
            "team: 2 benchmarks: team/Request (2000x), team/MapFill (2000x)",
        ));
    let r = dir.results("base.json");
    let names: Vec<&str> = r.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["team/Request", "team/MapFill"]);
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
    // and the escaping struct: the figures `go test -benchmem` prints.
    assert_eq!(samples(&r, "team/Request", "op.alloc.bytes"), [544.0; 3]);
    assert_eq!(samples(&r, "team/Request", "op.alloc.objects"), [2.0; 3]);
    assert_eq!(samples(&r, "team/Request", "op.time").len(), 5);
    assert!(samples(&r, "team/MapFill", "gc.cycles")[0] >= 10.0);
    assert!(
        !samples(&r, "team/MapFill", "bench.heap-objects").is_empty(),
        "b.ReportMetric units are kept"
    );
    dir.memgate()
        .args(["baseline", "save", "base.json"])
        .assert()
        .success();
    {
        let _busy = Neighbour::start();
        dir.memgate()
            .args(["check"])
            .assert()
            .code(0)
            .stdout(contains("regression").not());
    }
    dir.memgate()
        .args(["check"])
        .env("MEMGATE_BENCH_SCALE", "1.10")
        .assert()
        .code(1)
        .stdout(
            contains("regression team/Request/op.alloc.bytes")
                .and(contains("team/MapFill/op.alloc.bytes").not()),
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
