//! The history store and drift, on the bundled baseline (a real recorded
//! run of 17 workloads and 295 metrics): a slow boil recorded commit by
//! commit, found by `history drift`, shown by `history show`, opened by
//! Python's own `sqlite3` module as any user would; bad input refused.

use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use serde_json::Value;

use crate::util::{Dir, repo_root};

/// The bundled baseline with `go-retain`'s `heap.live.bytes` scaled by
/// `factor`, as commit `sha`.
fn results_at(sha: &str, factor: f64, cpu: &str) -> String {
    let mut r: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join(".memgate/baseline.json")).unwrap(),
    )
    .unwrap();
    for env in r["environments"].as_array_mut().unwrap() {
        env["git"]["commit"] = sha.into();
        env["cpu_model"] = cpu.into();
    }
    for w in r["workloads"].as_array_mut().unwrap() {
        if w["name"] == "go-retain" {
            let samples = w["metrics"]["heap.live.bytes"]["samples"]
                .as_array_mut()
                .unwrap();
            for s in samples {
                *s = ((s.as_f64().unwrap() * factor).round() as u64).into();
            }
        }
    }
    r.to_string()
}

fn sha(i: usize) -> String {
    format!("{i:02x}").repeat(20)
}

/// Records `results` (the text of a results file) with `memgate history
/// add`, asserting success; the assertion, for what it says.
fn record(dir: &Dir, results: &str) -> assert_cmd::assert::Assert {
    dir.create("r.json", results);
    dir.memgate()
        .args(["history", "add", "r.json"])
        .assert()
        .success()
}

/// `memgate history show` of go-retain's live heap, asserting success;
/// the assertion, for what it printed.
fn show_live_heap(dir: &Dir) -> assert_cmd::assert::Assert {
    dir.memgate()
        .args([
            "history",
            "show",
            "-w",
            "go-retain",
            "-m",
            "heap.live.bytes",
        ])
        .assert()
        .success()
}

/// The slow boil: commits 0 to `commits - 1`, go-retain's live heap +3%
/// every five (1.00, 1.03, 1.06, 1.09).
fn boil(dir: &Dir, commits: usize) {
    for i in 0..commits {
        record(
            dir,
            &results_at(&sha(i), 1.03f64.powi((i / 5) as i32), "AMD EPYC"),
        )
        .stderr(contains("recorded 295 metric summaries"));
    }
}

/// Twenty commits, +3% of go-retain's live heap every five: each step
/// inside a 5% tolerance, 9% in all. `history drift` names the three
/// steps (commit range and size) and nothing else of 295 series;
/// `history show` prints the series with the changes marked; the file is
/// a standard SQLite database.
#[test]
fn a_slow_boil_is_found_step_by_step() {
    let dir = Dir::new();
    boil(&dir, 20);
    let out = dir
        .memgate()
        .args(["history", "drift"])
        .assert()
        .success()
        .stderr(contains("3 level changes in 295 series"));
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert_eq!(text.lines().count(), 3, "{text}");
    for (k, line) in text.lines().enumerate() {
        let (from, to) = (sha(5 * k + 4), sha(5 * k + 5));
        assert!(
            line.starts_with("worse  go-retain/heap.live.bytes on linux/x86_64 AMD EPYC")
                && line.contains("+3.0%")
                && line.contains(&format!("between {} and {}", &from[..12], &to[..12])),
            "{line}"
        );
    }
    show_live_heap(&dir).stdout(
        contains("20 commits")
            .and(contains("+3.0% from here"))
            .and(contains("▁")),
    );
    // The last 8 commits hold only the last step (the window reads no more).
    dir.memgate()
        .args(["history", "drift", "--window", "8"])
        .assert()
        .success()
        .stderr(contains("1 level change in 295 series"));
    // Any SQLite reader opens it: Python's standard library here.
    let py = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); print(c.execute('select count(*) from records').fetchone()[0], c.execute('select count(*) from summaries').fetchone()[0])",
        ])
        .arg(dir.path().join(".memgate/history.db"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&py.stdout).trim(), "20 5900");
}

/// The same commit again replaces its record; another machine's records
/// are a series of their own, never mixed in.
#[test]
fn records_are_per_commit_and_environment() {
    let dir = Dir::new();
    record(&dir, &results_at(&sha(1), 1.0, "AMD EPYC"));
    record(&dir, &results_at(&sha(1), 1.5, "AMD EPYC"))
        .stderr(contains("replacing its earlier record"));
    record(&dir, &results_at(&sha(2), 2.0, "Intel Xeon"));
    let out = show_live_heap(&dir);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("on linux/x86_64 AMD EPYC x2: 1 commits"),
        "{text}"
    );
    assert!(
        text.contains("on linux/x86_64 Intel Xeon x2: 1 commits"),
        "{text}"
    );
}

/// `check --save-baseline` records the passing results in the history
/// beside the baseline, by the commit they were measured at; outside a
/// git checkout it saves the baseline and says why nothing was recorded.
#[test]
fn saving_a_baseline_records_the_history() {
    let dir = Dir::new();
    dir.create(
        "memgate.yaml",
        "version: 1\ndefaults: {repetitions: 3, warmup: 0, sample_interval: 0}\nworkloads:\n  - {name: s, lang: other, run: [sleep, '0.01']}\n",
    );
    dir.memgate()
        .args(["run", "-o", ".memgate/results.json"])
        .assert()
        .success();
    dir.save_baseline();
    dir.memgate()
        .args(["check", "--save-baseline"])
        .assert()
        .success()
        .stderr(contains("saved the results as the baseline").and(contains(
            "not recorded in the history: .memgate/results.json: the results name no git commit",
        )));
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .unwrap();
        assert!(ok.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "memgate.yaml"]);
    git(&["commit", "-qm", "one"]);
    dir.memgate()
        .args(["check", "--save-baseline"])
        .assert()
        .success()
        .stderr(
            contains("recorded 8 metric summaries of commit").and(contains(".memgate/history.db")),
        );
    dir.memgate()
        .args(["history", "show", "-w", "s", "-m", "process.wall"])
        .assert()
        .success()
        .stdout(contains("s/process.wall on linux/").and(contains("1 commits")));
}

/// Bad input loses nothing: a results file of no commit, a file that is
/// not a history, a history of another schema; each named, exit 2, the
/// file untouched.
#[test]
fn bad_input_names_the_file_and_changes_nothing() {
    let dir = Dir::new();
    let mut r: Value = serde_json::from_str(&results_at(&sha(1), 1.0, "AMD EPYC")).unwrap();
    for env in r["environments"].as_array_mut().unwrap() {
        env.as_object_mut().unwrap().remove("git");
    }
    dir.create("nogit.json", &r.to_string());
    dir.memgate()
        .args(["history", "add", "nogit.json"])
        .assert()
        .code(2)
        .stderr(
            contains("nogit.json: the results name no git commit").and(contains("--commit SHA")),
        );
    dir.memgate()
        .args(["history", "add", "nogit.json", "--commit", &sha(3)])
        .assert()
        .success();
    let not_db = dir.create("notes.txt", "my notes, not a database\n");
    dir.create("r.json", &results_at(&sha(1), 1.0, "AMD EPYC"));
    dir.memgate()
        .args(["history", "add", "r.json", "--history", "notes.txt"])
        .assert()
        .code(2)
        .stderr(contains("notes.txt"));
    assert_eq!(
        std::fs::read_to_string(&not_db).unwrap(),
        "my notes, not a database\n"
    );
    // Without drift budgets, a history that cannot be read costs the
    // verdicts nothing: the gate decides, the missing picture is said.
    dir.create(
        "memgate.yaml",
        "version: 1\nhistory: notes.txt\nworkloads: []\n",
    );
    dir.create("worse.json", &results_at(&sha(2), 1.5, "AMD EPYC"));
    dir.memgate()
        .args(["compare", "r.json", "worse.json"])
        .assert()
        .code(1)
        .stderr(contains("warning: no history shown").and(contains("notes.txt")));
    std::fs::remove_file(dir.path().join("memgate.yaml")).unwrap();
    let other = dir.path().join("other.db");
    let made = std::process::Command::new("python3")
        .args(["-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('create table t (x)'); c.execute('pragma user_version = 7'); c.commit()"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(made.success());
    dir.memgate()
        .args(["history", "add", "r.json", "--history", "other.db"])
        .assert()
        .code(2)
        .stderr(contains("other.db: a history of schema version 7"));
    dir.memgate()
        .args(["history", "drift", "--history", "missing.db"])
        .assert()
        .code(2)
        .stderr(contains("missing.db"));
    assert!(!dir.path().join("missing.db").exists());
}

/// A drift budget fails the change that crosses it: go-retain's live heap
/// recorded at 1.00, 1.03, 1.06 and 1.09 (five commits each; every step
/// inside a 5% tolerance); a head at 1.12 is +2.5% on the newest baseline,
/// unchanged by the gate, and +12% on the level twenty commits back: over
/// a 10% budget it fails as over budget, naming the anchor and the
/// recorded changes that used the budget; under 15% it passes; with no
/// history it passes and says so; a ref must name a recorded commit.
#[test]
fn a_drift_budget_fails_the_change_that_crosses_it() {
    let dir = Dir::new();
    boil(&dir, 20);
    dir.create("base.json", &results_at(&sha(19), 1.0927, "AMD EPYC"));
    dir.create("head.json", &results_at(&sha(20), 1.12, "AMD EPYC"));
    let config = |since: &str, budget: &str| {
        format!(
            "version: 1\nhistory: .memgate/history.db\ndrift:\n  heap.live.bytes: {{since: {since}, max_increase: {budget}}}\nworkloads: []\n"
        )
    };
    dir.create("memgate.yaml", &config("20 commits", "10%"));
    let out = dir
        .memgate()
        .args(["compare", "base.json", "head.json", "--format", "json"])
        .assert()
        .code(1);
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let failing: Vec<&Value> = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["status"] == "over-budget")
        .collect();
    assert_eq!(failing.len(), 1, "{failing:?}");
    let reason = failing[0]["reason"].as_str().unwrap();
    assert_eq!(failing[0]["workload"], "go-retain");
    assert!(reason.starts_with("drift: +12.0% since "), "{reason}");
    assert!(
        reason.contains(&format!("since {} (20 commits back", &sha(0)[..12])),
        "{reason}"
    );
    for k in [5, 10, 15] {
        assert!(
            reason.contains(&format!("+3.0% at {} (30% of the budget)", &sha(k)[..12])),
            "{reason}"
        );
    }

    // The failing metric's last commits, as a sparkline with its three
    // changes of level marked, in the terminal and in the Markdown report.
    assert_eq!(
        failing[0]["history"]["changes"],
        serde_json::json!([5, 10, 15])
    );
    dir.memgate()
        .args(["compare", "base.json", "head.json", "--report", "r.md"])
        .assert()
        .code(1)
        .stdout(contains("  history: ▁▁▁▁▁│▃▃▃▃▃│▆▆▆▆▆│█████ (20 commits, 000000000000 .. 131313131313; 3 changes of level)"));
    let md = std::fs::read_to_string(dir.path().join("r.md")).unwrap();
    assert!(md.contains("  - history: ▁▁▁▁▁│▃▃▃▃▃│▆▆▆▆▆│█████"), "{md}");

    // The best of the last 20 commits is the oldest level here: the same.
    dir.create("memgate.yaml", &config("best of 20 commits", "10%"));
    dir.memgate()
        .args(["compare", "base.json", "head.json"])
        .assert()
        .code(1)
        .stdout(contains("(the best of the last 20 commits, 30.3 MiB then"));

    dir.create("memgate.yaml", &config("20 commits", "10%"));
    // An intended increase is accepted, as a regression is.
    dir.memgate()
        .args(["compare", "base.json", "head.json", "--accept", "go-retain:heap.live.bytes"])
        .assert()
        .success()
        .stdout(contains("accepted go-retain/heap.live.bytes: accepted (go-retain:heap.live.bytes): drift: +12.0%"));

    dir.create("memgate.yaml", &config("20 commits", "15%"));
    dir.memgate()
        .args(["compare", "base.json", "head.json"])
        .assert()
        .success();

    dir.create(
        "memgate.yaml",
        &config("20 commits", "10%").replace(".memgate/history.db", "none.db"),
    );
    dir.memgate()
        .args(["compare", "base.json", "head.json"])
        .assert()
        .success()
        .stderr(contains("there is no history at"));

    // A ref anchor: the commit the ref names must be a recorded one.
    dir.create("memgate.yaml", &config(&sha(5), "10%"));
    let out = dir
        .memgate()
        .args(["compare", "base.json", "head.json", "--format", "json"])
        .assert();
    let text = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        text.contains("is not a recorded commit"),
        "outside a git repository: {text}"
    );

    // `since:` as written is checked, naming the field.
    dir.create("memgate.yaml", &config("ten commits ago", "10%"));
    dir.memgate()
        .args(["compare", "base.json", "head.json"])
        .assert()
        .code(2)
        .stderr(contains("since").and(contains("neither `N commits` nor a git ref")));
}

/// The history exports as OpenMetrics with timestamps, which the
/// Prometheus project's own parser reads back: one point per recorded
/// commit, at the time its results were written.
#[test]
fn the_history_exports_to_openmetrics_with_timestamps() {
    let dir = Dir::new();
    for i in 0..3 {
        record(
            &dir,
            &results_at(&sha(i), 1.0 + 0.01 * i as f64, "AMD \"EPYC\""),
        );
    }
    dir.memgate()
        .args(["history", "export", "-m", "heap.live.bytes", "-o", "h.om"])
        .assert()
        .success();
    let text = std::fs::read_to_string(dir.path().join("h.om")).unwrap();
    assert!(text.ends_with("# EOF\n"));
    let families = crate::export::parse(&text);
    let f = families
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "memgate_history_bytes")
        .expect("the bytes family");
    assert_eq!(f["unit"], "bytes");
    let retain: Vec<&Value> = f["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["labels"]["workload"] == "go-retain")
        .collect();
    assert_eq!(retain.len(), 3);
    assert_eq!(retain[2]["labels"]["commit"], sha(2));
    assert_eq!(
        retain[0]["labels"]["environment"],
        "linux/x86_64 AMD \"EPYC\" x2"
    );
    assert!(
        retain[0]["timestamp"].as_f64().unwrap() > 1.7e9,
        "{:?}",
        retain[0]
    );
}

/// An accepted increase moves the anchor, and the history says so: the
/// head at 1.12 that broke a 10% budget counted from 20 commits back, once
/// commit 19 is recorded as accepted (`history add --accepted`, as the
/// baseline of an accepted change is), counts from commit 19's level and
/// passes; `history show` marks the commit with the reason.
#[test]
fn an_accepted_increase_moves_the_anchor() {
    let dir = Dir::new();
    boil(&dir, 19);
    dir.create("base.json", &results_at(&sha(19), 1.0927, "AMD EPYC"));
    dir.create("head.json", &results_at(&sha(20), 1.12, "AMD EPYC"));
    dir.create(
        "memgate.yaml",
        "version: 1\ndrift:\n  heap.live.bytes: {since: 20 commits, max_increase: 10%}\nworkloads: []\n",
    );
    dir.memgate()
        .args(["history", "add", "base.json"])
        .assert()
        .success();
    dir.memgate()
        .args(["compare", "base.json", "head.json"])
        .assert()
        .code(1);
    dir.memgate()
        .args([
            "history",
            "add",
            "base.json",
            "--accepted",
            "go-retain:heap.live.bytes",
            "--reason",
            "bigger cache, on purpose",
        ])
        .assert()
        .success()
        .stderr(contains("marked 1 of 1 accepted increase(s)"));
    dir.memgate()
        .args(["compare", "base.json", "head.json"])
        .assert()
        .success();
    show_live_heap(&dir).stdout(contains("accepted: bigger cache, on purpose"));
    // --accepted names a metric, or it is refused.
    dir.memgate()
        .args([
            "history",
            "add",
            "base.json",
            "--accepted",
            "heap.live.bytes",
        ])
        .assert()
        .code(2)
        .stderr(contains(
            "--accepted heap.live.bytes: expected WORKLOAD:METRIC",
        ));
}
