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

/// `import` refuses what a results file cannot hold, naming the file and
/// line, and writes nothing: NaN, infinite and negative benchmark figures,
/// DHAT totals past 2^64 (they wrapped to small figures), and a `--name` a
/// config could not give a workload.
#[test]
fn import_refuses_what_a_results_file_cannot_hold() {
    let dir = Dir::new();
    for (value, file) in [("NaN", "nan.txt"), ("+Inf", "inf.txt"), ("-5", "neg.txt")] {
        dir.create(
            file,
            &format!("goos: linux\nBenchmarkX-2  100  {value} ns/op  544 B/op  2 allocs/op\n"),
        );
        dir.memgate()
            .args(["import", "--format", "gobench", file, "-o", "r.json"])
            .assert()
            .code(2)
            .stderr(
                contains(format!("{file}:2: `"))
                    .and(contains("is not a figure a results file holds")),
            );
    }
    let profile = crate::util::repo_root().join("fixtures/dhat/dhat_rs_churn.json");
    let mut dhat: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(profile).unwrap()).unwrap();
    let mut big = dhat["pps"][0].clone();
    for key in ["tb", "tbk", "gb", "eb"] {
        big[key] = serde_json::json!(1u64 << 63);
    }
    dhat["pps"] = serde_json::json!([big.clone(), big]);
    dir.create("wrap.json", &dhat.to_string());
    dir.memgate()
        .args(["import", "--format", "dhat", "wrap.json", "-o", "r.json"])
        .assert()
        .code(2)
        .stderr(contains("wrap.json").and(contains("add up past 2^64")));
    let gctrace = crate::util::repo_root().join("fixtures/gctrace/go1.26_retain.txt");
    for name in ["", "a\u{1b}[2Jb", "a:b"] {
        dir.memgate()
            .args([
                "import", "--format", "gctrace", "--name", name, "-o", "r.json",
            ])
            .arg(&gctrace)
            .assert()
            .code(2)
            .stderr(contains("--name"));
    }
    assert!(!dir.path().join("r.json").exists());
    // Control: a good name and a good line import.
    dir.memgate()
        .args([
            "import", "--format", "gctrace", "--name", "api", "-o", "r.json",
        ])
        .arg(&gctrace)
        .assert()
        .success();
}

/// SIGINT or SIGTERM while `compare` reads and judges a large baseline:
/// exit 130 within the signal, no verdicts file, no temporary file,
/// whatever the gate would have said (the signal used to be ignored after
/// the runs, then to wait for the judging, about 8 s of it here in a debug
/// build, and to leave a half-written `.memgate-*.tmp` during a write).
#[test]
fn a_signal_after_the_runs_writes_nothing_and_exits_130() {
    let dir = Dir::new();
    let run = serde_json::json!({"index": 0, "warmup": false, "status": {"kind": "ok"},
        "wall_seconds": 0.1, "rss_floor_bytes": 1});
    let workloads: Vec<serde_json::Value> = (0..20_000)
        .map(|i| {
            serde_json::json!({"name": format!("w{i}"), "lang": "other", "environment": 0,
                "command": ["true"], "tags": {}, "runs": [run],
                "metrics": {"process.rss.peak": {"unit": "bytes", "better": "lower",
                    "stability": "machine-dependent", "source": "wait4", "samples": [1, 2, 3]}}})
        })
        .collect();
    let results = serde_json::json!({"schema": "memgate/results/v1", "memgate_version": "0.1.0",
        "created_at": "2026-01-01T00:00:00Z",
        "environments": [{"os": "linux", "kernel": "x", "arch": "x86_64", "cpu_model": "x",
            "cores": 2, "memory_bytes": 1}],
        "workloads": workloads});
    dir.create("big.json", &results.to_string());
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let mut child = std::process::Command::new(crate::util::memgate_exe())
            .args(["compare", "big.json", "big.json", "-o", "v.json"])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(
            child.try_wait().unwrap().is_none(),
            "compare ended before the signal: the test needs a larger input"
        );
        // SAFETY: kill only sends a signal to our unreaped child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let signalled = std::time::Instant::now();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "signal {signal}");
        assert!(
            signalled.elapsed() < std::time::Duration::from_secs(3),
            "signal {signal}: compare went on for {:?}",
            signalled.elapsed()
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["big.json"], "signal {signal}: files left");
    }
}

/// Run counts past 10,000 are refused before anything is planned (a
/// schedule of 4,294,967,295 runs took 8.4 GB in 4 s): `-n`, `--warmup`,
/// and `calibrate -n`, exit 2 naming the option; 10,000 itself is allowed.
#[test]
fn huge_run_counts_are_refused_before_planning() {
    let dir = Dir::new();
    dir.create(
        "memgate.yaml",
        "version: 1\nworkloads:\n  - { name: a, lang: other, run: 'true' }\n",
    );
    for args in [
        &["run", "-n", "4294967295"][..],
        &["run", "-n", "1", "--warmup", "4294967295"],
        &["run", "-n", "10001"],
        &["calibrate", "-n", "4294967295"],
    ] {
        dir.memgate()
            .args(args)
            .assert()
            .code(2)
            .stderr(contains("is not in"));
    }
    dir.memgate()
        .args(["run", "-n", "10000", "--warmup", "10000", "-w", "nothing"])
        .assert()
        .code(2)
        .stderr(contains("is not in").not());
}

/// Inputs are read with a bound: a config that never ends (`-c
/// /dev/zero`) and a 1 GB results file are refused, exit 2, naming the
/// file; a failing workload's 2 MB stderr line leaves a results file and
/// a memgate stderr of a few KB (the tail is bounded in bytes, each line
/// in characters).
#[test]
fn inputs_and_workload_output_are_read_with_a_bound() {
    let dir = Dir::new();
    dir.memgate()
        .args(["run", "-c", "/dev/zero", "-o", "r.json"])
        .assert()
        .code(2)
        .stderr(contains("/dev/zero").and(contains("larger than 16 MiB")));
    let big = std::fs::File::create(dir.path().join("big.json")).unwrap();
    big.set_len(1 << 30).unwrap();
    dir.create(
        "memgate.yaml",
        "version: 1\ndefaults: { repetitions: 1, warmup: 0, sample_interval: 0 }\nworkloads:\n  - name: loud\n    lang: other\n    run: sh -c \"head -c 2000000 /dev/zero | tr '\\\\0' x >&2; exit 1\"\n",
    );
    dir.memgate()
        .args(["compare", "big.json", "big.json"])
        .assert()
        .code(2)
        .stderr(contains("big.json").and(contains("larger than 512 MiB")));
    let out = dir
        .memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .code(3)
        .stderr(contains("[...] xxx"));
    let stderr = out.get_output().stderr.len();
    let results = std::fs::metadata(dir.path().join("r.json")).unwrap().len();
    assert!(stderr < 16 << 10, "memgate wrote {stderr} bytes to stderr");
    assert!(results < 64 << 10, "results file of {results} bytes");
}

/// A `--template` is a program with bounds: one that writes without end
/// stops at the first byte past what a comment could hold, one that loops
/// without writing runs out of fuel; exit 2 naming the template, nothing
/// written. (A 90-byte template wrote 100 MB.)
#[test]
fn a_template_runs_and_writes_within_bounds() {
    let dir = trivial();
    dir.memgate()
        .args(["compare", "r.json", "r.json", "-o", "v.json"])
        .assert()
        .success();
    dir.create(
        "loud.j2",
        "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}",
    );
    dir.create(
        "busy.j2",
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    );
    for (template, says) in [
        ("loud.j2", "longer than 65536 characters"),
        ("busy.j2", "ran more than"),
    ] {
        dir.memgate()
            .args(["report", "v.json", "--template", template, "-o", "out.md"])
            .assert()
            .code(2)
            .stderr(contains(template).and(contains(says)));
    }
    assert!(!dir.path().join("out.md").exists());
    dir.create("ok.j2", "{{ headline }}");
    dir.memgate()
        .args(["report", "v.json", "--template", "ok.j2", "-o", "out.md"])
        .assert()
        .success();
}

/// Messages point where the fault is: `dir:` naming a file says it is not a
/// directory; `-o` under a regular file names that file; a results or
/// verdicts file that is valid JSON but not an object says what the file
/// should be, with no internal type name. All exit 2, nothing written.
#[test]
fn messages_point_where_the_fault_is() {
    let dir = trivial();
    dir.create("file", "x");
    dir.create(
        "d.yaml",
        "version: 1\nworkloads:\n  - { name: a, lang: other, run: 'true', dir: file }\n",
    );
    dir.memgate()
        .args(["run", "-c", "d.yaml", "-o", "d.json"])
        .assert()
        .code(2)
        .stderr(contains("/file is not a directory; fix `dir:`"));
    dir.memgate()
        .args(["run", "-o", "file/r.json"])
        .assert()
        .code(2)
        .stderr(contains(
            "file/r.json: cannot write the file: file is a file, not a directory",
        ));
    for (name, text) in [
        ("arr.json", "[{\"schema\": 1}]"),
        ("str.json", "\"memgate\""),
    ] {
        dir.create(name, text);
        dir.memgate()
            .args(["compare", "r.json", name])
            .assert()
            .code(2)
            .stderr(
                contains(format!(
                    "{name}: .: not a JSON object; a results file is one"
                ))
                .and(contains("Tag").not()),
            );
        dir.memgate()
            .args(["report", name])
            .assert()
            .code(2)
            .stderr(
                contains("not a JSON object; a verdicts file is one").and(contains("Tag").not()),
            );
    }
    assert!(!dir.path().join("d.json").exists());
}

/// `init` beside a Cargo.toml or go.mod its own tool cannot read exits 2
/// naming the manifest and what is wrong, and writes nothing (it wrote
/// `workloads: []` and exited 0); a readable one still initializes.
#[test]
fn init_refuses_a_manifest_its_tool_cannot_read() {
    let cases = [
        (
            "Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[[bin]\n",
            "./Cargo.toml: cannot be read",
        ),
        (
            "go.mod",
            "modul example.com/x\n",
            "./go.mod: cannot be read",
        ),
    ];
    for (manifest, text, says) in cases {
        let dir = Dir::new();
        dir.create(manifest, text);
        dir.create("src/main.rs", "fn main() {}\n");
        dir.memgate()
            .arg("init")
            .assert()
            .code(2)
            .stderr(contains(says));
        assert!(!dir.path().join("memgate.yaml").exists(), "{manifest}");
        assert!(!dir.path().join(".github").exists(), "{manifest}");
    }
    let dir = Dir::new();
    dir.create("go.mod", "module example.com/x\n\ngo 1.22\n");
    dir.memgate().arg("init").assert().success();
    assert!(dir.path().join("memgate.yaml").exists());
}

/// A child that leaves the workload's process group (setsid) is ended when
/// the workload ends, and named in a warning; nothing is left running.
#[test]
fn a_child_that_leaves_the_group_is_ended_and_named() {
    let dir = Dir::new();
    // A duration nothing else sleeps, to find the child by.
    let marker = format!("119.{}", std::process::id());
    dir.create(
        "memgate.yaml",
        &format!(
            "version: 1\ndefaults: {{ repetitions: 1, warmup: 0, timeout: 20s }}\nworkloads:\n  - {{ name: daemon, lang: other, run: [sh, -c, 'setsid sleep {marker} & sleep 0.2'] }}\n"
        ),
    );
    dir.memgate()
        .args(["run", "-n", "1", "-o", "r.json"])
        .assert()
        .success()
        .stderr(contains(
            "it left 1 process(es) running outside its process group when it ended; memgate ended them: pid ",
        ).and(contains(format!("(sleep {marker})"))));
    let left = std::process::Command::new("pgrep")
        .args(["-f", &format!("sleep {marker}")])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "left running: {}",
        String::from_utf8_lossy(&left.stdout)
    );
    let r = dir.results("r.json");
    assert!(r.workloads[0].runs[0].warnings[0].contains("ended them"));
}
