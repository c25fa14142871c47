//! "Where it grew" on real programs: retain (Go with the probe, Rust under
//! dhat-rs) run as the baseline, then with `-grow 1.2`, which makes one
//! named site (`newEntry` / `new_entry`) allocate 20% more and changes no
//! other; the gate must name that function first and attribute most of
//! the change to it, in verdicts.json, the Markdown report and `memgate
//! explain`; and a side without a profile must say so.

use predicates::prelude::*;
use predicates::str::contains;

use crate::util::{Dir, go_workloads, repo_root, rust_variant};

fn go_config(dir: &Dir, grow: &str, profile: bool) {
    dir.create(
        "memgate.yaml",
        &format!(
            "version: 1\ndefaults: {{repetitions: 1, footprint_repetitions: 3, warmup: 0, sample_interval: 0, env: {{GOGC: 100}}}}\nworkloads:\n  - {{name: go-retain, lang: go, dir: {}, run: [{}/retain, -grow, '{grow}'], collect: [gctrace, probe], phases: [footprint], profile: {profile}}}\n",
            repo_root().join("workloads/go").display(),
            go_workloads().display()
        ),
    );
}

fn verdict(dir: &Dir, metric: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".memgate/verdicts.json")).unwrap(),
    )
    .unwrap();
    v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["metric"] == metric)
        .unwrap_or_else(|| panic!("no verdict on {metric}"))
        .clone()
}

fn record(dir: &Dir) {
    dir.memgate().args(["run"]).assert().success();
    dir.save_baseline();
}

/// The site of the grown function comes first with most of the change;
/// the other named site barely moves.
fn assert_named(v: &serde_json::Value, function: &str, other: &str) {
    let sites = v["attribution"]["sites"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"));
    assert!(
        sites[0]["function"].as_str().unwrap().ends_with(function),
        "{}",
        serde_json::to_string_pretty(sites).unwrap()
    );
    let share = sites[0]["share"].as_f64().unwrap();
    assert!(share >= 0.8, "{function} explains {share}");
    if let Some(o) = sites
        .iter()
        .find(|s| s["function"].as_str().unwrap().ends_with(other))
    {
        assert!(o["share"].as_f64().unwrap_or(0.0).abs() < 0.05, "{o}");
    }
}

#[test]
fn go_names_the_function_that_grew() {
    let dir = Dir::new();
    go_config(&dir, "1", true);
    record(&dir);
    go_config(&dir, "1.2", true);
    dir.memgate()
        .args(["check", "--report", "report.md"])
        .assert()
        .code(1)
        .stdout(contains(
            "where it grew (bytes allocated): main.newEntry (cmd/retain/main.go:",
        ));
    let v = verdict(&dir, "heap.alloc.bytes");
    assert_eq!(v["status"], "regression");
    assert_named(&v, "main.newEntry", "main.newLabel");
    assert_named(
        &verdict(&dir, "heap.live.bytes"),
        "main.newEntry",
        "main.newLabel",
    );
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(
        md.contains("**Where it grew**, heap.alloc.bytes: bytes allocated")
            && md.contains("| main.newEntry (main.go:"),
        "{md}"
    );
    dir.memgate()
        .args(["explain", "go-retain", "heap.alloc.bytes"])
        .assert()
        .success()
        .stdout(contains(
            "where it changed, bytes allocated (pprof, 10 and 3 runs):",
        ));
    let out = dir
        .memgate()
        .args(["explain", "go-retain", "heap.alloc.bytes"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let first_site = text.lines().nth(3).unwrap_or_default();
    assert!(first_site.starts_with("main.newEntry"), "{text}");
}

#[test]
fn rust_names_the_function_that_grew() {
    let dir = Dir::new();
    let bin = rust_variant(Some("dhat-heap")).join("retain");
    let write = |grow: &str| {
        dir.create(
            "memgate.yaml",
            &format!(
                "version: 1\ndefaults: {{repetitions: 3, warmup: 0, sample_interval: 0}}\nworkloads:\n  - {{name: rust-retain, lang: rust, dir: {}, run: [{}, -n, 20000, -grow, '{grow}'], collect: [dhat]}}\n",
                repo_root().join("workloads/rust").display(),
                bin.display()
            ),
        );
    };
    write("1");
    record(&dir);
    write("1.2");
    dir.memgate().args(["check"]).assert().code(1);
    let v = verdict(&dir, "heap.alloc.bytes");
    assert_named(&v, "new_entry", "new_label");
    assert_eq!(v["attribution"]["profiles"], "dhat, 10 and 3 runs");
    // DHAT has the peak: heap.peak.bytes is explained by bytes at t-gmax.
    let p = verdict(&dir, "heap.peak.bytes");
    assert_eq!(p["attribution"]["measure"], "peak-bytes");
    assert_named(&p, "new_entry", "new_label");
}

/// A baseline recorded without profiles: the verdict says so, and guesses
/// nothing.
#[test]
fn a_missing_profile_is_said_not_guessed() {
    let dir = Dir::new();
    go_config(&dir, "1", false);
    record(&dir);
    go_config(&dir, "1.2", true);
    dir.memgate()
        .args(["check"])
        .assert()
        .code(1)
        .stdout(contains(
            "where it grew: no allocation sites: the baseline has no heap profile",
        ));
    let v = verdict(&dir, "heap.alloc.bytes");
    assert_eq!(v["attribution"]["sites"], serde_json::json!([]));
    assert!(
        v["attribution"]["note"]
            .as_str()
            .is_some_and(|n| n.contains("baseline has no heap profile"))
    );
    dir.memgate()
        .args(["explain", "go-retain", "process.wall"])
        .assert()
        .success()
        .stdout(contains("no allocation sites").and(contains("regressed or broke its budget")));
}
