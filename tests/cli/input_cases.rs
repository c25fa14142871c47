//! The cases where bad input or a fault broke memgate's contract (exit 2
//! naming the file, line or field; nothing lost; no panic; nothing left
//! running), from a review's sweep: each a test that fails on the old
//! behaviour.

use predicates::prelude::*;
use predicates::str::contains;

use crate::util::Dir;

/// A config with one trivial workload, and its results as `r.json`.
fn trivial() -> Dir {
    let dir = Dir::new();
    dir.create(
        "memgate.yaml",
        "version: 1\ndefaults: { repetitions: 2, warmup: 0, sample_interval: 0 }\nworkloads:\n  - { name: a, lang: other, run: 'true' }\n",
    );
    dir.memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .success();
    dir
}

/// An output that is an input is refused before anything runs: `check -o`
/// onto the stored baseline, `compare -o` onto an input, `--verdicts` onto
/// the config, `run -o` onto the config, `report -o` onto its verdicts,
/// `import -o` onto its input, `merge -o` onto an input; exit 2, naming
/// the option and what the file is, and every file as it was.
#[test]
fn an_output_that_is_an_input_is_refused_and_nothing_changes() {
    let dir = trivial();
    dir.memgate()
        .args(["baseline", "save", "r.json"])
        .assert()
        .success();
    dir.memgate()
        .args(["compare", "r.json", "r.json", "-o", "v.json"])
        .assert()
        .success();
    dir.create(
        "bench.txt",
        "BenchmarkX-2  100  50 ns/op  544 B/op  2 allocs/op\n",
    );
    let files = [
        "memgate.yaml",
        "r.json",
        ".memgate/baseline.json",
        "v.json",
        "bench.txt",
    ];
    let before: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(dir.path().join(f)).unwrap())
        .collect();
    let refused: [(&[&str], &str); 8] = [
        (
            &["check", "-o", ".memgate/baseline.json"],
            "-o .memgate/baseline.json is the baseline",
        ),
        (
            &[
                "check",
                "-o",
                "./.memgate/../.memgate/baseline.json",
                "--save-baseline",
            ],
            "is the baseline",
        ),
        (
            &["check", "--verdicts", "memgate.yaml"],
            "--verdicts memgate.yaml is the config",
        ),
        (
            &[
                "compare",
                "r.json",
                ".memgate/baseline.json",
                "-o",
                "r.json",
            ],
            "-o r.json is the baseline",
        ),
        (
            &["run", "-o", "memgate.yaml"],
            "-o memgate.yaml is the config",
        ),
        (
            &["report", "v.json", "-o", "v.json"],
            "-o v.json is the verdicts file",
        ),
        (
            &[
                "import",
                "--format",
                "gobench",
                "bench.txt",
                "-o",
                "bench.txt",
            ],
            "is an input",
        ),
        (
            &["merge", "r.json", "v.json", "-o", "r.json"],
            "-o r.json is an input",
        ),
    ];
    for (args, says) in refused {
        dir.memgate()
            .args(args)
            .assert()
            .code(2)
            .stderr(contains(says).and(contains("refusing to write over it")));
    }
    for (f, b) in files.iter().zip(before) {
        assert_eq!(std::fs::read(dir.path().join(f)).unwrap(), b, "{f} changed");
    }
    // Control: the same commands onto new files write them.
    dir.memgate()
        .args([
            "compare",
            "r.json",
            ".memgate/baseline.json",
            "-o",
            "v2.json",
        ])
        .assert()
        .success();
    assert!(dir.path().join("v2.json").exists());
}

/// With stderr a closed pipe (`memgate run 2>&1 | true`), the outcome is
/// the exit code it would be: 0 for a run, 2 for a truncated results file;
/// never a panic (101).
#[test]
fn a_closed_stderr_changes_no_exit_code() {
    let dir = trivial();
    dir.create("bad.json", "{\"schema\":");
    let exe = crate::util::memgate_exe();
    for (args, code) in [("run -o r2.json", 0), ("compare r.json bad.json", 2)] {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "exec 3>&1; ( sleep 0.2; \"$0\" {args} 2>&1; echo $? >&3 ) | true"
            ))
            .arg(&exe)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let got = String::from_utf8_lossy(&out.stdout);
        assert_eq!(got.trim(), code.to_string(), "memgate {args}");
    }
}

/// A misspelt metric in `budgets:` or `thresholds:` would never apply: exit
/// 2 naming the field and the closest metric. A Go benchmark's own unit
/// (`bench.<unit>`) is a metric.
#[test]
fn a_misspelt_metric_in_a_limit_is_refused() {
    let dir = Dir::new();
    let config = |limit: &str| {
        format!(
            "version: 1\ndefaults: {{ repetitions: 1, warmup: 0 }}\n{limit}\nworkloads:\n  - {{ name: a, lang: other, run: 'true' }}\n"
        )
    };
    dir.create(
        "m.yaml",
        &config("budgets: { a: { process.rss.peek: 50MiB } }"),
    );
    dir.memgate()
        .args(["run", "-c", "m.yaml", "-o", "r.json"])
        .assert()
        .code(2)
        .stderr(
            contains("m.yaml: budgets.a.process.rss.peek: no metric named")
                .and(contains("did you mean `process.rss.peak`?")),
        );
    assert!(!dir.path().join("r.json").exists());
    dir.create(
        "ok.yaml",
        &config("budgets: { a: { process.rss.peak: 50MiB } }\nthresholds: { bench.ns/row: { max_increase: 3% } }"),
    );
    dir.memgate()
        .args(["run", "-c", "ok.yaml", "-o", "r.json"])
        .assert()
        .success();
}
