//! The gate end to end: `baseline`, `compare`, `check`, `calibrate` on the
//! real toucher workload, whose peak RSS moves with `-scale`.

use predicates::prelude::*;
use predicates::str::contains;

use crate::util::{Dir, rust_workload};

/// A config measuring toucher at `scale`, with `extra` appended to its
/// workload entry.
fn config(dir: &Dir, scale: &str, extra: &str) {
    let toucher = rust_workload("toucher");
    dir.create(
        "memgate.yaml",
        &format!(
            "version: 1\ndefaults: {{repetitions: 8, warmup: 1, sample_interval: 0}}\nthresholds:\n  process.wall: {{max_increase: 50%, min_change: 50ms}}\n  process.cpu.user: {{max_increase: 50%, min_change: 20ms}}\n  process.cpu.system: {{max_increase: 50%, min_change: 20ms}}\nworkloads:\n  - name: toucher\n    lang: rust\n    run: [{}, -mib, 24, -scale, '{scale}']\n{extra}",
            toucher.display()
        ),
    );
}

fn record_baseline(dir: &Dir) {
    dir.memgate()
        .args(["run", "-o", "base.json"])
        .assert()
        .success();
    dir.memgate()
        .args(["baseline", "save", "base.json"])
        .assert()
        .success()
        .stderr(contains("as the baseline").and(contains(".memgate/baseline.json")));
}

/// Ten A/A gate runs in a row pass; then a build allocating 10% more fails
/// with exit 1, naming the regressed metric.
#[test]
fn aa_passes_ten_times_and_a_10_percent_regression_fails() {
    let dir = Dir::new();
    config(&dir, "1.0", "");
    record_baseline(&dir);
    for i in 0..10 {
        let out = dir.memgate().args(["check"]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "A/A run {i} failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    config(&dir, "1.10", "");
    dir.memgate()
        .args(["check"])
        .assert()
        .code(1)
        .stdout(contains("regression toucher/process.rss.peak: +").and(contains("gate FAILED")));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(".memgate/verdicts.json")).unwrap())
            .unwrap();
    assert_eq!(v["schema"], "memgate/verdicts/v1");
    let rss = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["metric"] == "process.rss.peak")
        .unwrap();
    assert_eq!(rss["status"], "regression");
    let pct = (rss["change"]["ratio"].as_f64().unwrap() - 1.0) * 100.0;
    assert!((8.0..12.0).contains(&pct), "rss grew {pct}%");
}

/// A budget below the measured peak fails on its own.
#[test]
fn budget_below_the_peak_fails() {
    let dir = Dir::new();
    config(&dir, "1.0", "    budgets: { process.rss.peak: 10MiB }\n");
    record_baseline(&dir);
    dir.memgate().args(["check"]).assert().code(1).stdout(
        contains("over-budget toucher/process.rss.peak: median")
            .and(contains("over the budget of 10.0 MiB")),
    );
}

/// compare prints a table (no colour when not a terminal), or JSON, and
/// writes verdicts; a baseline from another CPU turns the machine-dependent
/// regression into a warning unless strict_env.
#[test]
fn compare_formats_and_environment_downgrade() {
    let dir = Dir::new();
    config(&dir, "1.0", "");
    dir.memgate()
        .args(["run", "-o", "base.json"])
        .assert()
        .success();
    config(&dir, "1.10", "");
    dir.memgate()
        .args(["run", "-o", "cur.json"])
        .assert()
        .success();

    let out = dir
        .memgate()
        .args(["compare", "base.json", "cur.json", "-o", "v.json"])
        .assert()
        .code(1);
    let table = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(table.starts_with("workload"), "{table}");
    assert!(
        !table.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    assert!(dir.path().join("v.json").exists());
    let json = dir
        .memgate()
        .args(["compare", "base.json", "cur.json", "--format", "json"])
        .assert()
        .code(1);
    let v: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(v["tally"]["passed"], false);

    // Another runner of the same image recorded the baseline: another CPU
    // model cannot explain more resident memory, and it still fails.
    let text = std::fs::read_to_string(dir.path().join("base.json")).unwrap();
    let mut base: serde_json::Value = serde_json::from_str(&text).unwrap();
    base["environments"][0]["cpu_model"] = "Some Other CPU 9000".into();
    dir.create("other.json", &serde_json::to_string(&base).unwrap());
    dir.memgate()
        .args(["compare", "other.json", "cur.json"])
        .assert()
        .code(1)
        .stdout(
            contains("regression toucher/process.rss.peak")
                .and(contains("cpu_model: baseline Some Other CPU 9000")),
        );
    // Another number of cores can: a warning that names the difference.
    base["environments"][0]["cores"] = 1234.into();
    dir.create("other.json", &serde_json::to_string(&base).unwrap());
    dir.memgate()
        .args(["compare", "other.json", "cur.json"])
        .assert()
        .code(0)
        .stdout(
            contains("warning toucher/process.rss.peak")
                .and(contains("another environment (cores: 1234 -> ")),
        );
    let strict = std::fs::read_to_string(dir.path().join("memgate.yaml"))
        .unwrap()
        .replace("version: 1\n", "version: 1\ngate: {strict_env: true}\n");
    dir.create("memgate.yaml", &strict);
    dir.memgate()
        .args(["compare", "other.json", "cur.json"])
        .assert()
        .code(1);
}

/// Baselines: a missing one is a clear exit 2; failed results are refused
/// unless --allow-failed; show says where the baseline came from;
/// check --save-baseline stores a passing run.
#[test]
fn baseline_store_rules() {
    let dir = Dir::new();
    config(&dir, "1.0", "");
    dir.memgate()
        .args(["check"])
        .assert()
        .code(2)
        .stderr(contains("no baseline at").and(contains("memgate baseline save")));
    dir.memgate().args(["baseline", "show"]).assert().code(2);

    dir.create(
        "bad.yaml",
        "version: 1\nworkloads:\n  - {name: bad, lang: other, run: 'false', repetitions: 1, warmup: 0}\n",
    );
    dir.memgate()
        .args(["run", "-c", "bad.yaml", "-o", "bad.json"])
        .assert()
        .code(3);
    dir.memgate()
        .args(["baseline", "save", "bad.json"])
        .assert()
        .code(2)
        .stderr(contains(
            "failed builds or runs in bad; a baseline must be clean",
        ));
    dir.memgate()
        .args([
            "baseline",
            "save",
            "bad.json",
            "--allow-failed",
            "--baseline",
            "kept/baseline.json",
        ])
        .assert()
        .success();
    assert!(dir.path().join("kept/baseline.json").exists());

    record_baseline(&dir);
    dir.memgate()
        .args(["baseline", "show"])
        .assert()
        .success()
        .stdout(
            contains("recorded:")
                .and(contains("environment:"))
                .and(contains("process.rss.peak")),
        );
    let before = std::fs::read(dir.path().join(".memgate/baseline.json")).unwrap();
    dir.memgate()
        .args(["check", "--save-baseline"])
        .assert()
        .success()
        .stderr(contains("saved the results as the baseline"));
    assert_ne!(
        before,
        std::fs::read(dir.path().join(".memgate/baseline.json")).unwrap()
    );
}

/// calibrate reports noise and a recommendation per metric: 1 run for a
/// constant metric, 3 for a near-deterministic one (the gate's rule for a
/// spread within half the tolerance band), else at least the exact test's
/// floor at alpha/8 (6 runs: 2/C(12,6) = 0.0022 <= 0.05/8); and advice
/// that is "ok" exactly when the configured runs (8) reach the runs
/// needed, else names what to do.
#[test]
fn calibrate_recommends_repetitions() {
    let dir = Dir::new();
    config(&dir, "1.0", "");
    let out = dir
        .memgate()
        .args(["calibrate", "-n", "5"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("Holm over 8 metrics"), "{text}");
    let mut rows = 0;
    let mut short = 0;
    for line in text.lines().skip(1).take_while(|l| !l.is_empty()) {
        // Columns are at least two spaces apart; figures hold one.
        let cells: Vec<&str> = line
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let (cv, n, catch, advice) = (cells[5], cells[6], cells[7], cells[8]);
        // The gate's detectable change: never, or beyond the default 5%.
        let caught: Option<f64> = (catch != "never").then(|| {
            catch
                .strip_prefix('+')
                .and_then(|c| c.strip_suffix('%'))
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| panic!("would catch {catch}: {line}"))
        });
        assert!(caught.is_none_or(|c| c > 5.0), "{line}");
        let n: usize = n.trim_start_matches('>').parse().unwrap();
        if cv == "0.00%" {
            assert_eq!(n, 1, "a constant metric needs one run: {line}");
        } else {
            assert!(
                n == memgate::gate::SEPARATED_MIN_RUNS || n >= 6,
                "neither near-deterministic nor at the exact test's floor: {line}"
            );
        }
        let configured = 8; // defaults.repetitions
        if n <= configured {
            assert_eq!(advice, format!("ok ({configured} configured)"), "{line}");
        } else {
            short += 1;
            assert!(
                advice.starts_with("repetitions: ")
                    || advice.starts_with("max_increase: ")
                    || advice.starts_with("moves with the load")
                    || advice.starts_with("noisier"),
                "{line}"
            );
        }
        rows += 1;
    }
    assert_eq!(rows, 8, "{text}");
    assert!(text.contains("process.rss.peak"), "{text}");
    if short == 0 {
        assert!(text.contains("Every metric can decide"), "{text}");
    } else {
        assert!(
            text.contains(&format!("{short} of 8 metrics cannot decide")),
            "{text}"
        );
    }
}

/// A threshold in the wrong unit for an imported metric is a config error
/// naming the field.
#[test]
fn threshold_in_the_wrong_unit_is_exit_2() {
    let dir = Dir::new();
    config(&dir, "1.0", "");
    dir.memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .success();
    let text = std::fs::read_to_string(dir.path().join("memgate.yaml")).unwrap();
    dir.create(
        "memgate.yaml",
        &text.replace(
            "process.wall: {max_increase: 50%, min_change: 50ms}",
            "process.wall: {max_increase: 50%, min_change: 5MiB}",
        ),
    );
    dir.memgate()
        .args(["compare", "r.json", "r.json"])
        .assert()
        .code(2)
        .stderr(contains(
            "thresholds.process.wall.min_change: 5.0 MiB does not fit a metric measured in seconds",
        ));
}

/// The real Go and Rust workloads: ten A/A gate runs in a row pass, and
/// `-scale 1.10` fails naming heap.alloc.bytes. The suite runs its tests in
/// parallel on a small machine, so each check runs under another load than
/// the baseline it compares with, and no tolerance here is widened for it:
/// Go's memory comes from its footprint phase (one P, a stop-the-world
/// collector), which does not move with the load (go-churn A/A under two
/// CPU-bound neighbours, 8 runs a side, with its concurrent collector: RSS
/// +28.6%, faults +50%, heap peak +83%; in the footprint phase +1.7%, +2.1%,
/// 0%), and time, pauses and GC CPU are load-sensitive: against a stored
/// baseline they warn.
#[test]
fn aa_and_scaled_on_go_and_rust_churn() {
    let dir = Dir::new();
    let write = |scale: &str| {
        dir.create(
            "memgate.yaml",
            &format!(
                "version: 1\ndefaults: {{repetitions: 8, warmup: 1, sample_interval: 0, env: {{GOGC: 100, GOMAXPROCS: 2}}}}\nworkloads:\n  - {{name: go-churn, lang: go, run: [{}/churn, -scale, '{scale}'], collect: [gctrace, probe]}}\n  - {{name: rust-churn, lang: rust, run: [{}/churn, -scale, '{scale}'], collect: [probe]}}\n",
                crate::util::go_workloads().display(),
                crate::util::rust_variant(None).display(),
            ),
        );
    };
    write("1.0");
    record_baseline(&dir);
    for i in 0..10 {
        let out = dir.memgate().args(["check"]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "A/A run {i} failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    write("1.10");
    dir.memgate().args(["check"]).assert().code(1).stdout(
        contains("regression go-churn/heap.alloc.bytes")
            .and(contains("regression rust-churn/heap.alloc.bytes")),
    );
}

/// `check -w a --save-baseline` updates a in the baseline and keeps b; and
/// `baseline save` writes where the config's `baseline:` says, the file
/// `check` reads.
#[test]
fn baselines_keep_what_a_partial_run_did_not_measure() {
    let dir = Dir::new();
    dir.create(
        "memgate.yaml",
        "version: 1\nbaseline: kept/base.json\ndefaults: {repetitions: 3, warmup: 0, sample_interval: 0}\nworkloads:\n  - {name: a, lang: other, run: [sleep, '0.01']}\n  - {name: b, lang: other, run: [sleep, '0.01']}\n",
    );
    dir.memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .success();
    dir.memgate()
        .args(["baseline", "save", "r.json"])
        .assert()
        .success()
        .stderr(contains("kept/base.json"));
    let names = |dir: &Dir| {
        let r = memgate::results::Results::read(&dir.path().join("kept/base.json")).unwrap();
        let mut n: Vec<String> = r.workloads.iter().map(|w| w.name.clone()).collect();
        n.sort();
        n
    };
    assert_eq!(names(&dir), ["a", "b"]);
    let before = std::fs::read_to_string(dir.path().join("kept/base.json")).unwrap();
    dir.memgate()
        .args(["check", "-w", "a", "--save-baseline"])
        .assert()
        .success()
        .stderr(contains("saved the results as the baseline"));
    assert_eq!(names(&dir), ["a", "b"]);
    assert_ne!(
        before,
        std::fs::read_to_string(dir.path().join("kept/base.json")).unwrap()
    );
    dir.memgate().args(["check"]).assert().success();
}
