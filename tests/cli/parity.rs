//! Parity rules on the real service workloads, Go (reference) and Rust
//! (candidate), measured interleaved in one run: the Rust port holds
//! peak RSS and p99 latency to Go's, also beside a CPU-bound neighbour,
//! and fails a rule on allocated bytes, which it exceeds by about 23%.

use predicates::prelude::*;
use predicates::str::contains;

use crate::util::{Dir, Neighbour, go_workloads, rust_workload};

fn config(dir: &Dir, metrics: &str) {
    dir.create(
        "memgate.yaml",
        &format!(
            "version: 1\ndefaults: {{repetitions: 6, footprint_repetitions: 3, warmup: 1, sample_interval: 0, env: {{GOGC: 100, GOMAXPROCS: 2}}}}\nworkloads:\n  - {{name: go-service, lang: go, run: [{}/service], collect: [gctrace, probe]}}\n  - {{name: rust-service, lang: rust, run: [{}], collect: [probe]}}\nparity:\n  - {{name: rust port, reference: go-service, candidate: rust-service, metrics: {metrics}}}\n",
            go_workloads().display(),
            rust_workload("service").display()
        ),
    );
}

#[test]
fn the_port_holds_rss_and_latency_and_fails_on_allocations() {
    let dir = Dir::new();
    config(&dir, "{process.rss.peak: 0%, latency.p99: 10%}");
    dir.memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .success()
        .stderr(contains(
            "go-service and rust-service run interleaved (a parity rule compares them)",
        ));
    // The rules judge the current results alone.
    dir.memgate()
        .args(["compare", "r.json", "r.json", "--report", "r.md"])
        .assert()
        .code(0)
        .stdout(
            contains("parity: each candidate against its reference, same run")
                .and(contains("rust port  process.rss.peak"))
                .and(contains("regression parity").not()),
        );
    let md = std::fs::read_to_string(dir.path().join("r.md")).unwrap();
    assert!(md.contains("### Parity") && md.contains("| rust port | process.rss.peak |"));

    // Beside a CPU-bound neighbour, started and ended by its PID.
    {
        let _busy = Neighbour::start();
        dir.memgate()
            .args(["run", "-o", "loaded.json"])
            .assert()
            .success();
    }
    // (The main gate's verdict on the loaded run is not the point here.)
    let _ = dir
        .memgate()
        .args(["compare", "r.json", "loaded.json", "--format", "json"])
        .args(["-o", "v.json"])
        .output()
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("v.json")).unwrap()).unwrap();
    let breaches = v["tally"]["parity_breaches"].as_u64().unwrap();
    assert_eq!(
        breaches,
        0,
        "{}",
        serde_json::to_string_pretty(&v["parity"]).unwrap()
    );

    // Allocated bytes: the port allocates more; a 5% rule fails, exit 1.
    config(&dir, "{heap.alloc.bytes: 5%}");
    dir.memgate()
        .args([
            "compare", "r.json", "r.json", "--format", "json", "-o", "v.json",
        ])
        .assert()
        .code(1);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("v.json")).unwrap()).unwrap();
    assert_eq!(v["tally"]["parity_breaches"], 1);
    assert_eq!(v["parity"][0]["metric"], "heap.alloc.bytes");
    assert_eq!(v["parity"][0]["status"], "regression");
    assert_eq!(v["tally"]["passed"], false);
}
