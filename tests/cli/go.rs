//! The Go workloads end to end through memgate: gctrace and the probe on
//! real programs, and a known -scale regression.

use std::process::Command;

use crate::util::{Dir, go_workloads, median, repo_root, samples};

const WORKLOADS: [&str; 6] = ["churn", "retain", "bigobj", "maps", "concurrent", "service"];

fn config(dir: &Dir, reps: u32, scale: &str) {
    let bin = go_workloads();
    let mut text = format!(
        "version: 1\ndefaults: {{repetitions: {reps}, warmup: 0, sample_interval: 0, env: {{GOGC: 100, GOMAXPROCS: 2}}}}\nworkloads:\n"
    );
    for w in WORKLOADS {
        text += &format!(
            "  - {{name: {w}, lang: go, run: [{}/{w}, -scale, '{scale}'], collect: [gctrace, probe]}}\n",
            bin.display()
        );
    }
    dir.create("memgate.yaml", &text);
}

/// The Go packages' own tests (probe histogram, no allocation in Observe,
/// the document Done writes) run with the suite.
#[test]
fn go_unit_tests_pass() {
    let out = Command::new("go")
        .args(["test", "./..."])
        .current_dir(repo_root().join("workloads/go"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every workload runs under memgate with GC metrics present and sane, from
/// both gctrace and the probe.
#[test]
fn every_go_workload_reports_sane_gc_metrics() {
    let dir = Dir::new();
    config(&dir, 2, "1.0");
    dir.memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .success();
    let r = dir.results("r.json");
    for w in WORKLOADS {
        let wr = r.workloads.iter().find(|x| x.name == w).unwrap();
        assert_eq!(wr.tags["GOGC"], "100");
        assert_eq!(
            wr.metrics["gc.pause.max"].source, "gctrace",
            "{w}: pauses come from gctrace"
        );
        assert_eq!(wr.metrics["heap.alloc.bytes"].source, "probe");
        for c in samples(&r, w, "gc.cycles") {
            assert!(c >= 2.0, "{w}: {c} GC cycles");
        }
        for p in samples(&r, w, "gc.pause.max") {
            assert!(p > 0.0 && p < 0.1, "{w}: max pause {p}s");
        }
        for b in samples(&r, w, "heap.alloc.bytes") {
            assert!(b > 50e6, "{w}: allocated only {b} bytes");
        }
        for f in samples(&r, w, "gc.cpu.fraction") {
            assert!(f > 0.0 && f < 1.0, "{w}: GC CPU fraction {f}");
        }
        // The heap at GC start counts allocated bytes the program may never
        // have touched (fresh spans from the OS are already zero), so it can
        // exceed RSS. With GOGC=100 the goal is at least the runtime's 4 MiB
        // minimum and the pacer triggers a little before it; gctrace prints
        // whole MiB, truncated: at least 3 MiB (go-churn reads 3).
        let peak = median(&samples(&r, w, "heap.peak.bytes"));
        assert!(peak >= (3u64 << 20) as f64, "{w}: heap peak {peak}");
        // (A record cut off by the program's exit is a note, not a warning.)
        assert!(
            wr.runs.iter().all(|run| run.warnings.is_empty()),
            "{w}: {:?}",
            wr.runs
                .iter()
                .flat_map(|r| r.warnings.iter())
                .collect::<Vec<_>>()
        );
    }
    let p50 = median(&samples(&r, "service", "latency.p50"));
    let p99 = median(&samples(&r, "service", "latency.p99"));
    let max = median(&samples(&r, "service", "latency.max"));
    assert!(
        0.0 < p50 && p50 <= p99 && p99 <= max,
        "latency {p50} {p99} {max}"
    );
}

/// `-scale 1.10` raises heap.alloc.bytes by 10% +/- 2% on every workload.
#[test]
fn scale_110_raises_allocation_by_10_percent() {
    let base_dir = Dir::new();
    config(&base_dir, 3, "1.0");
    base_dir
        .memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .success();
    let scaled_dir = Dir::new();
    config(&scaled_dir, 3, "1.10");
    scaled_dir
        .memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .success();
    let (base, scaled) = (base_dir.results("r.json"), scaled_dir.results("r.json"));
    for w in WORKLOADS {
        let b = median(&samples(&base, w, "heap.alloc.bytes"));
        let s = median(&samples(&scaled, w, "heap.alloc.bytes"));
        let pct = (s / b - 1.0) * 100.0;
        assert!(
            (8.0..=12.0).contains(&pct),
            "{w}: heap.alloc.bytes moved {pct:+.2}%"
        );
    }
}
