//! `memgate import`: Go benchmark output and saved gctrace, recorded from
//! real runs (fixtures/gobench/README.md, fixtures/gctrace/README.md).

use predicates::prelude::*;
use predicates::str::contains;

use crate::util::{Dir, repo_root, samples};

fn fixture(path: &str) -> String {
    repo_root()
        .join("fixtures")
        .join(path)
        .display()
        .to_string()
}

/// Every `value unit` pair of every line becomes a sample: the memory
/// columns and custom metrics are kept, not only ns/op.
#[test]
fn gobench_keeps_every_column() {
    let dir = Dir::new();
    dir.memgate()
        .args([
            "import",
            "--format",
            "gobench",
            &fixture("gobench/with_allocs.txt"),
            "-o",
            "r.json",
        ])
        .assert()
        .success()
        .stderr(contains("imported 2 workloads, 42 samples"));
    let r = dir.results("r.json");
    let req = "memgate.dev/workloads/bench/Request";
    assert_eq!(samples(&r, req, "op.alloc.bytes"), [544.0; 6]);
    assert_eq!(samples(&r, req, "op.alloc.objects"), [2.0; 6]);
    assert!(
        samples(&r, req, "op.time")
            .iter()
            .all(|&t| t > 1e-8 && t < 1e-6),
        "ns/op is converted to seconds"
    );
    assert_eq!(
        samples(
            &r,
            "memgate.dev/workloads/bench/MapFill",
            "bench.heap-objects"
        )
        .len(),
        6
    );
    assert_eq!(r.environments[0].cpu_model.as_deref(), Some("AMD EPYC"));

    dir.memgate()
        .args([
            "import",
            "--format",
            "gobench",
            &fixture("gobench/encoding_json_std.txt"),
            "-o",
            "json.json",
        ])
        .assert()
        .success();
    let j = dir.results("json.json");
    assert!(
        j.workloads
            .iter()
            .any(|w| w.name == "encoding/json/MarshalBytes/4096"),
        "the -2 GOMAXPROCS suffix is not part of the name"
    );
}

/// A known 10% larger allocation, measured by `go test -benchmem`, fails
/// the gate on B/op; the unchanged benchmark passes.
#[test]
fn gobench_regression_is_gated() {
    let dir = Dir::new();
    for (file, out) in [
        ("gobench/with_allocs.txt", "base.json"),
        ("gobench/with_allocs_scaled.txt", "head.json"),
    ] {
        dir.memgate()
            .args(["import", "--format", "gobench", &fixture(file), "-o", out])
            .assert()
            .success();
    }
    dir.memgate()
        .args(["compare", "base.json", "head.json"])
        .assert()
        .code(1)
        .stdout(contains("regression memgate.dev/workloads/bench/Request/op.alloc.bytes: +11.76% (median 544 B → 608 B)"));
    dir.memgate()
        .args(["compare", "base.json", "base.json"])
        .assert()
        .success();
}

/// Saved gctrace: one sample per file; --name gathers files into one workload.
#[test]
fn gctrace_import() {
    let dir = Dir::new();
    let files: Vec<String> = ["1.24", "1.25", "1.26"]
        .iter()
        .map(|v| fixture(&format!("gctrace/go{v}_retain.txt")))
        .collect();
    let mut args = vec![
        "import", "--format", "gctrace", "--name", "retain", "-o", "r.json",
    ];
    args.extend(files.iter().map(String::as_str));
    dir.memgate().args(&args).assert().success();
    let r = dir.results("r.json");
    assert_eq!(r.workloads.len(), 1);
    let cycles = samples(&r, "retain", "gc.cycles");
    assert_eq!(cycles.len(), 3);
    assert!(cycles.iter().all(|&c| c >= 5.0));
    assert!(
        samples(&r, "retain", "heap.peak.bytes")
            .iter()
            .all(|&b| b >= (30u64 << 20) as f64)
    );

    dir.memgate()
        .args([
            "import",
            "--format",
            "gctrace",
            &fixture("gctrace/go1.26_interleaved_forced.txt"),
            "-o",
            "n.json",
        ])
        .assert()
        .success();
    assert_eq!(
        samples(
            &dir.results("n.json"),
            "go1.26_interleaved_forced",
            "gc.cycles.forced"
        ),
        [1.0]
    );
}

/// Bad input: exit 2 naming the file and line; nothing is written.
#[test]
fn import_errors() {
    let dir = Dir::new();
    dir.create("bad.txt", "goos: linux\nBenchmarkX-2 100 12.5 ns/op 7\n");
    dir.memgate()
        .args(["import", "--format", "gobench", "bad.txt", "-o", "r.json"])
        .assert()
        .code(2)
        .stderr(contains("bad.txt:2: a result line needs a name"));
    dir.create("empty.txt", "PASS\n");
    dir.memgate()
        .args(["import", "--format", "gctrace", "empty.txt", "-o", "r.json"])
        .assert()
        .code(2)
        .stderr(contains("empty.txt: no gctrace records").and(contains("GODEBUG=gctrace=1")));
    dir.memgate()
        .args(["import", "--format", "gobench", "missing.txt"])
        .assert()
        .code(2)
        .stderr(contains("missing.txt: cannot read"));
    assert!(!dir.path().join("r.json").exists());
}

/// Two imported `go test -bench` files gate with a config of thresholds
/// alone: no workload to run is needed for `compare`, while `run` says
/// there is nothing to run.
#[test]
fn a_thresholds_only_config_serves_compare() {
    let dir = Dir::new();
    dir.create(
        "memgate.yaml",
        "version: 1\nthresholds:\n  default: {max_increase: 10%}\n",
    );
    let bench = repo_root().join("fixtures/gobench/with_allocs.txt");
    for out in ["a.json", "b.json"] {
        dir.memgate()
            .args(["import", "--format", "gobench", "-o", out])
            .arg(&bench)
            .assert()
            .success();
    }
    dir.memgate()
        .args(["compare", "a.json", "b.json", "--format", "json"])
        .assert()
        .success()
        .stdout(contains("\"max_increase\": 0.1"));
    dir.memgate()
        .args(["run"])
        .assert()
        .code(2)
        .stderr(contains("workloads: the list is empty"));
}

/// `--memprofile`: the sites of a `go test -memprofile` file (recorded in
/// fixtures/pprof) go to every imported benchmark; with another format it
/// is refused.
#[test]
fn gobench_with_its_memprofile() {
    let dir = Dir::new();
    dir.memgate()
        .args([
            "import",
            "--format",
            "gobench",
            &fixture("gobench/with_allocs.txt"),
            "--memprofile",
            &fixture("pprof/gotest_request.mem.pb.gz"),
            "-o",
            "r.json",
        ])
        .assert()
        .success();
    let r = dir.results("r.json");
    for w in &r.workloads {
        let sites = w.sites.as_ref().expect("sites");
        assert_eq!(sites.source, "pprof");
        assert!(
            sites
                .sites
                .iter()
                .any(|s| s.function == "memgate.dev/workloads/bench.BenchmarkRequest")
        );
    }
    dir.memgate()
        .args([
            "import",
            "--format",
            "dhat",
            &fixture("dhat/dhat_rs_churn.json"),
            "--memprofile",
            &fixture("pprof/gotest_request.mem.pb.gz"),
        ])
        .assert()
        .code(2)
        .stderr(contains("--memprofile goes with --format gobench"));
}

/// `compare` reads `go test -bench` output directly, gzip-compressed or
/// not, with no import step: the same verdicts as importing first, in
/// both directions (the recorded file against itself passes; with
/// `Request` allocating 20% more bytes per op it fails on that metric).
#[test]
fn compare_reads_benchmark_text_and_gzip_directly() {
    let dir = Dir::new();
    let base = std::fs::read_to_string(fixture("gobench/with_allocs.txt")).unwrap();
    dir.create("base.txt", &base);
    dir.create("grown.txt", &base.replace("544 B/op", "653 B/op"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, base.replace("544 B/op", "653 B/op").as_bytes()).unwrap();
    std::fs::write(dir.path().join("grown.txt.gz"), gz.finish().unwrap()).unwrap();
    dir.memgate()
        .args(["compare", "base.txt", "base.txt", "-o", "same.json"])
        .assert()
        .success();
    for current in ["grown.txt", "grown.txt.gz"] {
        dir.memgate()
            .args(["compare", "base.txt", current, "-o", "v.json"])
            .assert()
            .code(1)
            .stdout(contains("op.alloc.bytes"));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("v.json")).unwrap())
                .unwrap();
        let failing: Vec<(&str, &str)> = v["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["status"] == "regression")
            .map(|x| {
                (
                    x["workload"].as_str().unwrap(),
                    x["metric"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            failing,
            [("memgate.dev/workloads/bench/Request", "op.alloc.bytes")],
            "{current}"
        );
    }
    // Importing first gives the same verdicts.
    for (txt, json) in [("base.txt", "base.json"), ("grown.txt", "grown.json")] {
        dir.memgate()
            .args(["import", "--format", "gobench", txt, "-o", json])
            .assert()
            .success();
    }
    dir.memgate()
        .args(["compare", "base.json", "grown.json", "-o", "imported.json"])
        .assert()
        .code(1);
    // (Statuses and reasons: a coefficient of variation may differ in its
    // last bit, summed from values read back from JSON.)
    let verdicts = |f: &str| {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(f)).unwrap()).unwrap();
        v["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                format!(
                    "{} {} {} {}",
                    x["workload"], x["metric"], x["status"], x["reason"]
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts("imported.json"), verdicts("v.json"));
}
