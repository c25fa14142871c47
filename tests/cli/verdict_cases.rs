//! The wrong outcomes an adversarial review of the gate found
//! (fixtures/verdict-cases/, its README says what each was), each made
//! right, and where a rule changed, its control case beside it.

use predicates::prelude::*;
use predicates::str::contains;

use crate::util::{Dir, repo_root};

/// A temporary directory holding a copy of the case's inputs.
fn case(name: &str) -> Dir {
    let dir = Dir::new();
    let src = repo_root().join("fixtures/verdict-cases").join(name);
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        dir.create(path.file_name().unwrap().to_str().unwrap(), &text);
    }
    dir
}

fn compare(dir: &Dir, cur: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    dir.memgate()
        .args(["compare", "base.json", cur])
        .args(extra)
        .assert()
}

#[test]
fn an_accept_pattern_never_clears_a_parity_breach() {
    let dir = case("accept-erases-parity-breach");
    let cfg = ["-c", "memgate.yaml"];
    compare(&dir, "cur.json", &cfg).code(1);
    compare(
        &dir,
        "cur.json",
        &[&cfg[..], &["--accept", "nomatch:nomatch"]].concat(),
    )
    .code(1)
    .stdout(contains("gate FAILED").and(contains("1 parity breaches")));
}

#[test]
fn budgets_apply_to_workloads_and_metrics_new_since_the_baseline() {
    let dir = case("budget-ignored-for-new-workload");
    compare(&dir, "cur.json", &["-c", "memgate.yaml", "-o", "v.json"])
        .code(1)
        .stdout(contains("2 over budget"));
}

#[test]
fn a_gomaxprocs_tag_does_not_soften_footprint_runs() {
    let dir = case("gomaxprocs-tag-softens-footprint");
    compare(&dir, "cur.json", &[])
        .code(1)
        .stdout(contains("regression go-retain/heap.live.bytes"));
}

/// The U test's shift, not the median alone, gives the direction; the
/// verdict says when the median disagrees. Both directions.
#[test]
fn the_shift_gives_the_direction_and_a_disagreeing_median_is_said() {
    let dir = case("improvement-verdict-on-stochastically-larger");
    compare(&dir, "cur.json", &[]).code(1).stdout(
        contains("regression ").and(contains("the median moved down but the runs shifted up")),
    );
    let dir = case("regression-direction-from-median-only");
    compare(&dir, "cur.json", &["--format", "json"])
        .code(0)
        .stdout(contains(r#""status": "improvement""#).and(contains("the median moved up")));
}

#[test]
fn one_high_baseline_run_cannot_hide_a_far_change() {
    let dir = case("far-rule-outlier-baseline");
    compare(&dir, "cur.json", &[])
        .code(1)
        .stdout(contains("too far to pass"));
}

/// The family is fixed by the runs, not by the outcomes: a heap figure
/// whose 3 + 3 runs cannot reach significance stays out of it whether its
/// runs are identical or one is worse, and the RSS regression fails both
/// ways. The control: with Holm over both, the same RSS change passes.
#[test]
fn making_one_metric_worse_never_lets_another_regression_pass() {
    let dir = case("holm-family-nonmonotone");
    for cur in ["cur.json", "cur-worse.json"] {
        compare(&dir, cur, &[])
            .code(1)
            .stdout(contains("regression svc/process.rss.peak").and(contains("p = 0.0379;")));
    }
    // Control: 8 heap runs a side make it a member, and Holm over two
    // comparisons needs p <= 0.025.
    let widen = |name: &str| {
        let mut r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(name)).unwrap()).unwrap();
        let heap = &mut r["workloads"][1]["metrics"]["heap.peak.bytes"]["samples"];
        let samples: Vec<u64> = (0..8).map(|i| 52_428_800 + 4096 * i).collect();
        *heap = serde_json::json!(samples);
        std::fs::write(dir.path().join(name), r.to_string()).unwrap();
    };
    widen("base.json");
    widen("cur.json");
    compare(&dir, "cur.json", &[])
        .code(0)
        .stdout(contains("gate passed"));
}

#[test]
fn a_parity_rule_has_no_built_in_floor() {
    let dir = case("parity-latency-noise-floor");
    compare(&dir, "cur.json", &["-c", "memgate.yaml"])
        .code(1)
        .stdout(contains("regression parity rust port/latency.p99"));
}

#[test]
fn an_optional_metric_with_no_samples_is_removed() {
    let dir = case("optional-metric-empty-series-fails");
    compare(&dir, "cur-absent.json", &["-c", "memgate.yaml"]).code(0);
    compare(&dir, "cur.json", &["-c", "memgate.yaml"])
        .code(0)
        .stdout(contains("removed"));
}

/// A subset check (`--shard`, `-w`) still reports a workload the config
/// no longer has; a workload the config has and the subset left out is
/// not missing.
#[test]
fn a_subset_check_reports_a_workload_deleted_from_the_config() {
    let dir = case("shard-hides-deleted-workload");
    for sel in [&["--shard", "1/1"][..], &["-w", "a"]] {
        dir.memgate()
            .arg("check")
            .args(sel)
            .args(["-o", "cur.json", "--verdicts", "v.json"])
            .assert()
            .code(1)
            .stdout(contains("missing"));
        let v = std::fs::read_to_string(dir.path().join("v.json")).unwrap();
        assert!(v.contains(r#""workload": "b""#), "{sel:?}");
    }
    // The config gains `b` again: a check of `a` alone leaves it out.
    let text = std::fs::read_to_string(dir.path().join("memgate.yaml")).unwrap();
    dir.create(
        "memgate.yaml",
        &format!("{text}  - name: b\n    lang: other\n    run: 'true'\n"),
    );
    // Its exit follows `a`'s own figures; only what is compared matters.
    let _ = dir
        .memgate()
        .args(["check", "-w", "a", "-o", "cur.json", "--verdicts", "v.json"])
        .output()
        .unwrap();
    let v = std::fs::read_to_string(dir.path().join("v.json")).unwrap();
    assert!(!v.contains(r#""workload": "b""#), "b was not selected: {v}");
}

/// JUnit and the annotations are red whenever the gate is.
#[test]
fn junit_and_annotations_fail_with_the_gate() {
    let dir = case("parity-breach-missing-from-junit-annotations");
    compare(&dir, "cur.json", &["-c", "memgate.yaml", "-o", "v.json"]).code(1);
    dir.memgate()
        .args(["report", "v.json", "--format", "junit"])
        .assert()
        .success()
        .stdout(contains(r#"<testsuite name="parity""#).and(contains("<failure")));
    dir.memgate()
        .args(["compare", "base.json", "cur.json", "-c", "memgate.yaml"])
        .env("GITHUB_ACTIONS", "true")
        .assert()
        .code(1)
        .stderr(contains("::error title=memgate parity"));
    let dir = case("nothing-compared-junit-green");
    compare(&dir, "cur.json", &["-o", "v.json"]).code(1);
    dir.memgate()
        .args(["report", "v.json", "--format", "junit"])
        .assert()
        .success()
        .stdout(contains("nothing-compared"));
}

/// A sample a verdicts file could not hold is refused where it is read.
#[test]
fn samples_near_the_float_limit_are_refused_with_the_field() {
    let dir = case("huge-float-verdicts-unreadable");
    compare(&dir, "cur.json", &["-o", "v.json"])
        .code(2)
        .stderr(contains("is too large").and(contains("samples[")));
    assert!(!dir.path().join("v.json").exists());
}

/// A deterministic figure that moved beyond its tolerances with too few
/// runs to decide warns (never passes unseen, never fails on one run).
#[test]
fn too_few_runs_of_a_moved_allocation_figure_warn() {
    let dir = case("gobench-count-lt3-hides-bop");
    for n in 1..=3 {
        for side in ["base", "cur"] {
            dir.memgate()
                .args(["import", "--format", "gobench", &format!("{side}{n}.txt")])
                .args(["-o", &format!("{side}{n}.json")])
                .assert()
                .success();
        }
        dir.memgate()
            .args(["compare", &format!("base{n}.json"), &format!("cur{n}.json")])
            .assert()
            .code(0)
            .stdout(
                contains("op.alloc.bytes: +11.76%")
                    .and(contains(
                        "warning memgate.dev/workloads/bench/Request/op.alloc.bytes",
                    ))
                    .and(contains("runs per side decide them")),
            );
    }
    // Control: the same figure unchanged is no warning.
    dir.memgate()
        .args(["compare", "base1.json", "base1.json"])
        .assert()
        .code(0)
        .stdout(contains("warning").not());
}

/// An environment difference explains a deterministic figure only up to
/// 4 times its tolerances: x3 allocations fail across a rustc patch
/// release; peak RSS, which the kernel and cores can move, still warns.
#[test]
fn an_environment_difference_explains_a_bounded_change() {
    let dir = case("env-softening-unbounded");
    compare(&dir, "cur.json", &[]).code(1).stdout(
        contains("regression rust-churn/heap.alloc.bytes")
            .and(contains("more than the environment difference"))
            .and(contains("warning rust-churn/process.rss.peak")),
    );
}

/// An imported gctrace's heap figures follow a concurrent collector's
/// pacing, which the load moves (benches/gctrace_load.sh: medians up to
/// +171% beside two neighbours): +50% warns, naming the load; with
/// `gate.load_sensitive: fail` the same files fail.
#[test]
fn imported_gctrace_heap_figures_warn_unless_load_sensitive_figures_fail() {
    let dir = case("gctrace-import-never-fails");
    for side in ["b", "c"] {
        let files: Vec<String> = (1..=4).map(|i| format!("{side}{i}.txt")).collect();
        dir.memgate()
            .args(["import", "--format", "gctrace", "--name", "api"])
            .args(&files)
            .args(["-o", &format!("{side}.json")])
            .assert()
            .success();
    }
    dir.memgate()
        .args(["compare", "b.json", "c.json"])
        .assert()
        .code(0)
        .stdout(
            contains("warning api/heap.peak.bytes: +50.00%")
                .and(contains("move with the load on the runner")),
        );
    dir.memgate()
        .args(["compare", "b.json", "c.json", "-c", "fail.yaml"])
        .assert()
        .code(1)
        .stdout(contains("regression api/heap.peak.bytes: +50.00%"));
}
