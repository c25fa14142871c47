//! `cargotest` workloads: a crate's own tests, each run alone under the
//! malloc counter, on a crate made in a temporary directory: the tests are
//! listed and named, an unchanged crate passes its baseline, one more
//! allocation per item in the library fails the test that exercises it,
//! and a bad `cargotest` entry is a config error.

use crate::util::{Dir, samples};

/// A library that keeps `n` strings, allocating `per_item` per item, and
/// two tests: one exercising it, one allocating nothing of it.
fn crate_with_tests(dir: &Dir, per_item: usize) {
    dir.create(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    dir.create(
        "src/lib.rs",
        &format!(
            "pub fn keep(n: u32) -> Vec<String> {{\n    let mut kept = Vec::new();\n    for i in 0..n {{\n        for _ in 0..{per_item} {{\n            kept.push(i.to_string());\n        }}\n    }}\n    kept\n}}\n\n#[cfg(test)]\nmod tests {{\n    #[test]\n    fn keeps_items() {{\n        assert!(super::keep(5000).len() >= 5000);\n    }}\n\n    #[test]\n    fn adds() {{\n        assert_eq!(2 + 2, 4);\n    }}\n}}\n"
        ),
    );
    dir.create(
        "memgate.yaml",
        "version: 1\ndefaults: {repetitions: 5, warmup: 1, sample_interval: 0}\nworkloads:\n  - {name: app, lang: rust, cargotest: {}}\n",
    );
}

#[test]
fn each_test_is_a_workload_gated_both_ways() {
    let dir = Dir::new();
    crate_with_tests(&dir, 1);
    let out = dir.memgate().args(["run"]).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("memgate: app: 2 tests, each run alone"),
        "{log}"
    );
    let r = dir.results(".memgate/results.json");
    let names: Vec<&str> = r.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["app/app/tests.adds", "app/app/tests.keeps_items"]);
    let keeps = samples(&r, "app/app/tests.keeps_items", "heap.alloc.objects");
    let adds = samples(&r, "app/app/tests.adds", "heap.alloc.objects");
    // 5000 strings and the vector's growth, above the harness's own.
    assert!(keeps[0] - adds[0] >= 5000.0, "{keeps:?} {adds:?}");
    dir.save_baseline();
    let same = dir.memgate().args(["check"]).output().unwrap();
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    crate_with_tests(&dir, 2);
    let more = dir.memgate().args(["check"]).output().unwrap();
    let report = String::from_utf8_lossy(&more.stdout);
    assert_eq!(more.status.code(), Some(1), "{report}");
    assert!(
        report.contains("regression app/app/tests.keeps_items/heap.alloc.objects"),
        "{report}"
    );
    assert!(
        !report.contains("regression app/app/tests.adds/"),
        "{report}"
    );
}

#[test]
fn a_cargotest_entry_is_checked() {
    for (yaml, message) in [
        (
            "{name: a, lang: go, cargotest: {}}",
            "workloads[0].cargotest: a crate's tests need `lang: rust`",
        ),
        (
            "{name: a, lang: rust, run: x, cargotest: {}}",
            "workloads[0].cargotest: a workload has one of `run`, `gobench` and `cargotest`",
        ),
        (
            "{name: a, lang: rust, build: make, cargotest: {}}",
            "workloads[0].build: a `cargotest` workload builds its own test binaries",
        ),
        (
            "{name: a, lang: rust, cargotest: {filtr: x}}",
            "unknown field `filtr`",
        ),
    ] {
        let dir = Dir::new();
        dir.create(
            "memgate.yaml",
            &format!("version: 1\nworkloads:\n  - {yaml}\n"),
        );
        let out = dir.memgate().args(["run"]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(message), "{yaml}: {err}");
    }
}

/// `init` in a crate with a library writes a `cargotest` workload for its
/// tests, which runs as written.
#[test]
fn init_writes_the_crates_tests_as_a_workload() {
    let dir = Dir::new();
    crate_with_tests(&dir, 1);
    std::fs::remove_file(dir.path().join("memgate.yaml")).unwrap();
    dir.memgate().arg("init").assert().success();
    let config = std::fs::read_to_string(dir.path().join("memgate.yaml")).unwrap();
    assert!(
        config.contains("- name: tests\n    lang: rust\n    cargotest: {}\n"),
        "{config}"
    );
    let out = dir
        .memgate()
        .args(["run", "--repetitions", "2"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("memgate: tests: 2 tests, each run alone"),
        "{log}"
    );
}

/// A crate with divan and criterion benchmarks of a library that makes
/// `per_item` strings per item.
fn crate_with_benches(dir: &Dir, per_item: usize) {
    dir.create(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dev-dependencies]\ndivan = \"=0.1.21\"\ncriterion = { version = \"0.8\", default-features = false }\n\n[[bench]]\nname = \"d\"\nharness = false\n\n[[bench]]\nname = \"c\"\nharness = false\n",
    );
    dir.create(
        "src/lib.rs",
        &format!(
            "pub fn make(n: usize) -> Vec<String> {{\n    let mut out = Vec::new();\n    for i in 0..n {{\n        for _ in 0..{per_item} {{\n            out.push(i.to_string());\n        }}\n    }}\n    out\n}}\n"
        ),
    );
    dir.create(
        "benches/d.rs",
        "fn main() {\n    divan::main();\n}\n\n#[divan::bench]\nfn make_100() -> Vec<String> {\n    app::make(100)\n}\n",
    );
    dir.create(
        "benches/c.rs",
        "use criterion::{criterion_group, criterion_main, Criterion};\n\nfn bench(c: &mut Criterion) {\n    c.bench_function(\"make_10\", |b| b.iter(|| app::make(10)));\n}\n\ncriterion_group!(benches, bench);\ncriterion_main!(benches);\n",
    );
    dir.create(
        "memgate.yaml",
        // The time of a benchmark run beside the rest of the suite moves
        // with its load: this test gates allocations, and reads time.
        "version: 1\ndefaults: {repetitions: 5, warmup: 0, sample_interval: 0}\nthresholds: {op.time: {max_increase: 200%}}\nworkloads:\n  - {name: b, lang: rust, cargotest: {benches: true}}\n",
    );
}

/// divan's benchmarks run at a pinned count and are gated both ways;
/// criterion's are gated on time alone, and the log says so.
#[test]
fn divan_benchmarks_are_gated_at_a_pinned_count() {
    let dir = Dir::new();
    crate_with_benches(&dir, 1);
    let out = dir.memgate().args(["run"]).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("memgate: b: 2 benchmarks, each run alone"),
        "{log}"
    );
    assert!(
        log.contains("memgate: b: 1 criterion benchmark(s) gated on time only (make_10)"),
        "{log}"
    );
    let r = dir.results(".memgate/results.json");
    let names: Vec<&str> = r.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["b/d/d.make_100", "b/c/make_10"]);
    let c = &r.workloads[1];
    assert_eq!(c.metrics["op.time"].source, "criterion");
    assert!(!c.metrics.contains_key("heap.alloc.objects"));
    // make(10): ten strings, well under a millisecond, over a nanosecond.
    let t = samples(&r, "b/c/make_10", "op.time")[0];
    assert!(t > 1e-9 && t < 1e-3, "{t}");
    let w = &r.workloads[0];
    assert_eq!(w.name, "b/d/d.make_100");
    assert_eq!(w.tags.get("iterations").map(String::as_str), Some("100"));
    // 100 iterations of 100 strings and the vector's growth.
    assert!(samples(&r, "b/d/d.make_100", "heap.alloc.objects")[0] >= 10_000.0);
    dir.save_baseline();
    let same = dir.memgate().args(["check"]).output().unwrap();
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    crate_with_benches(&dir, 2);
    let more = dir.memgate().args(["check"]).output().unwrap();
    let report = String::from_utf8_lossy(&more.stdout);
    assert_eq!(more.status.code(), Some(1), "{report}");
    assert!(
        report.contains("regression b/d/d.make_100/heap.alloc.objects"),
        "{report}"
    );
}
