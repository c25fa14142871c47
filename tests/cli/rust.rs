//! The Rust workloads end to end through memgate: the counting probe over
//! each allocator, dhat-rs, valgrind's DHAT, and a known -scale regression.

use std::process::Command;

use crate::util::{Dir, median, repo_root, rust_variant, samples};

const WORKLOADS: [&str; 6] = [
    "churn",
    "retain",
    "bigobj",
    "fragment",
    "concurrent",
    "service",
];

/// A config running every workload of one build; `collect` as YAML.
fn config(dir: &Dir, feature: Option<&str>, reps: u32, scale: &str, collect: &str) {
    let root = repo_root().join("workloads/rust");
    let bin = rust_variant(feature);
    let build = match feature {
        Some(f) => format!(
            "[cargo, build, --release, --locked, --bins, --features, {f}, --target-dir, target/{f}]"
        ),
        None => "[cargo, build, --release, --locked, --bins]".to_owned(),
    };
    let mut text = format!(
        "version: 1\ndefaults: {{repetitions: {reps}, warmup: 0, sample_interval: 0}}\nworkloads:\n"
    );
    for w in WORKLOADS {
        text += &format!(
            "  - {{name: {w}, lang: rust, dir: {}, build: {build}, run: [{}/{w}, -scale, '{scale}'], collect: {collect}}}\n",
            root.display(),
            bin.display()
        );
    }
    dir.create("memgate.yaml", &text);
}

/// The probe crate's own tests run with the suite.
#[test]
fn probe_crate_tests_pass() {
    let out = Command::new(env!("CARGO"))
        .args(["test", "--locked", "-p", "memgate-probe"])
        .current_dir(repo_root().join("workloads/rust"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every workload, under every allocator, reports the probe's metrics; the
/// allocator and profile are tags.
#[test]
fn every_workload_and_allocator() {
    for feature in [None, Some("jemalloc"), Some("mimalloc")] {
        let dir = Dir::new();
        config(&dir, feature, 2, "1.0", "[probe]");
        dir.memgate()
            .args(["run", "-o", "r.json"])
            .assert()
            .success();
        let r = dir.results("r.json");
        for w in WORKLOADS {
            let wr = r.workloads.iter().find(|x| x.name == w).unwrap();
            assert_eq!(wr.tags["allocator"], feature.unwrap_or("system"), "{w}");
            assert_eq!(wr.tags["profile"], "release");
            for b in samples(&r, w, "heap.alloc.bytes") {
                assert!(b > 10e6, "{w} {feature:?}: {b} bytes allocated");
            }
            let peak = median(&samples(&r, w, "heap.peak.bytes"));
            let end = median(&samples(&r, w, "heap.end.bytes"));
            let rss = median(&samples(&r, w, "process.rss.peak"));
            assert!(
                end <= peak && peak <= rss * 1.05,
                "{w} {feature:?}: end {end} peak {peak} rss {rss}"
            );
            // What is live at finish() depends on how far the other threads
            // got: never judged as deterministic; the allocations are.
            let series = |m: &str| &wr.metrics[m];
            assert_eq!(
                series("heap.end.bytes").stability,
                memgate::metrics::Stability::LoadSensitive
            );
            assert_eq!(
                series("heap.alloc.bytes").stability,
                memgate::metrics::Stability::Deterministic
            );
        }
        let p99 = median(&samples(&r, "service", "latency.p99"));
        assert!(p99 > 0.0 && p99 <= median(&samples(&r, "service", "latency.max")));
        if feature == Some("jemalloc") {
            let frag = median(&samples(&r, "fragment", "alloc.fragmentation"));
            let churn = median(&samples(&r, "churn", "alloc.fragmentation"));
            assert!(frag > churn + 0.2, "fragment {frag} vs churn {churn}");
            assert!(samples(&r, "retain", "jemalloc.resident.bytes")[0] > 0.0);
        }
    }
}

/// `-scale 1.10` shows in heap.alloc.bytes: +10% +/- 2% on every workload.
#[test]
fn scale_110_raises_allocation_by_10_percent() {
    let (base, scaled) = (Dir::new(), Dir::new());
    config(&base, None, 1, "1.0", "[probe]");
    config(&scaled, None, 1, "1.10", "[probe]");
    base.memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .success();
    scaled
        .memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .success();
    let (b, s) = (base.results("r.json"), scaled.results("r.json"));
    for w in WORKLOADS {
        let pct = (median(&samples(&s, w, "heap.alloc.bytes"))
            / median(&samples(&b, w, "heap.alloc.bytes"))
            - 1.0)
            * 100.0;
        assert!((8.0..=12.0).contains(&pct), "{w}: {pct:+.2}%");
    }
}

/// dhat-rs through memgate, and the counting probe in the same runs: the
/// totals agree within 1% on every workload.
#[test]
fn dhat_and_probe_agree_through_memgate() {
    let (dhat, probe) = (Dir::new(), Dir::new());
    config(&dhat, Some("dhat-heap"), 1, "1.0", "[dhat]");
    config(&probe, Some("dhat-heap"), 1, "1.0", "[probe]");
    dhat.memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .success();
    probe
        .memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .success();
    let (d, p) = (dhat.results("r.json"), probe.results("r.json"));
    for w in WORKLOADS {
        assert_eq!(
            d.workloads.iter().find(|x| x.name == w).unwrap().metrics["heap.alloc.bytes"].source,
            "dhat"
        );
        for m in ["heap.alloc.bytes", "heap.alloc.objects"] {
            let (dv, pv) = (samples(&d, w, m)[0], samples(&p, w, m)[0]);
            // concurrent's thread scheduling moves a few channel allocations.
            assert!(
                (pv / dv - 1.0).abs() < 0.01,
                "{w} {m}: probe {pv} dhat {dv}"
            );
        }
    }
}

/// valgrind --tool=dhat measures an unchanged binary through memgate.
#[test]
fn valgrind_dhat_measures_an_unchanged_binary() {
    let dir = Dir::new();
    let bin = rust_variant(None);
    dir.create(
        "memgate.yaml",
        &format!(
            "version: 1\ndefaults: {{repetitions: 1, warmup: 0, sample_interval: 0}}\nworkloads:\n  - {{name: retain, lang: rust, run: [{}/retain, -n, '3000'], collect: [valgrind-dhat]}}\n  - {{name: sort, lang: other, run: [sort, /etc/services], collect: [valgrind-dhat]}}\n",
            bin.display()
        ),
    );
    dir.memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .success();
    let r = dir.results("r.json");
    // retain -n 3000 keeps 3000 values of 512..4096 bytes: about 7 MiB.
    let peak = samples(&r, "retain", "heap.peak.bytes")[0];
    assert!((6e6..9e6).contains(&peak), "retain peak {peak}");
    assert!(samples(&r, "sort", "heap.alloc.objects")[0] > 10.0);
}

/// import --format dhat reads both producers' files.
#[test]
fn import_dhat_files() {
    let dir = Dir::new();
    let f = |n: &str| {
        repo_root()
            .join("fixtures/dhat")
            .join(n)
            .display()
            .to_string()
    };
    dir.memgate()
        .args([
            "import",
            "--format",
            "dhat",
            &f("dhat_rs_churn.json"),
            &f("valgrind_sort.json"),
            "-o",
            "r.json",
        ])
        .assert()
        .success();
    let r = dir.results("r.json");
    assert_eq!(samples(&r, "valgrind_sort", "heap.alloc.bytes"), [861259.0]);
    assert_eq!(
        samples(&r, "dhat_rs_churn", "heap.alloc.objects"),
        [60006.0]
    );
    dir.create(
        "bad.json",
        "{\"dhatFileVersion\":9,\"mode\":\"heap\",\"pps\":[]}",
    );
    dir.memgate()
        .args(["import", "--format", "dhat", "bad.json", "-o", "r2.json"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "bad.json: dhatFileVersion 9 is not supported",
        ));
}
