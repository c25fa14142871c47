//! Relative mode (`check --base-ref`): a throwaway git repository with a
//! small Go and a small Rust workload, a base commit, and a head that
//! allocates 10% more.

use std::process::Command;

use predicates::prelude::*;
use predicates::str::contains;

use crate::util::Dir;

fn git(dir: &Dir, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A repository whose base commit touches 20 MiB in Go and in Rust; the
/// head commit touches `head_mib`.
fn repo(head_mib: u32) -> Dir {
    let dir = Dir::new();
    git(&dir, &["init", "-q"]);
    git(&dir, &["config", "user.email", "t@example.com"]);
    git(&dir, &["config", "user.name", "t"]);
    let write = |mib: u32| {
        dir.create("go/go.mod", "module example.com/rel\n\ngo 1.21\n");
        dir.create("go/main.go", &format!("package main\n\nconst mib = {mib}\n\nfunc main() {{\n\tb := make([]byte, mib<<20)\n\tfor i := range b {{\n\t\tb[i] = 1\n\t}}\n}}\n"));
        dir.create(
            "rs/Cargo.toml",
            "[package]\nname = \"rel\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        );
        dir.create("rs/src/main.rs", &format!("fn main() {{\n    let v = vec![1u8; {mib} << 20];\n    std::hint::black_box(&v);\n}}\n"));
    };
    write(20);
    // The suite runs beside this test: a base measured now runs interleaved
    // with the head, under the same load, and its load-sensitive metrics
    // gate; a cached base warns on them (it ran under another load).
    dir.create(
        "memgate.yaml",
        "version: 1\ndefaults: {repetitions: 6, warmup: 1, sample_interval: 0}\nworkloads:\n  - {name: go, lang: go, dir: go, build: go build -o app ., run: ./app}\n  - {name: rust, lang: rust, dir: rs, build: cargo build --release --quiet, run: ./target/release/rel}\n",
    );
    dir.create(".gitignore", "go/app\nrs/target\nrs/Cargo.lock\n.memgate\n");
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "base"]);
    write(head_mib);
    git(&dir, &["commit", "-qam", "head", "--allow-empty"]);
    dir
}

/// A 10% larger allocation in head fails with exit 1 naming the metric, the
/// report names both sides, and the worktree is gone while the user's tree,
/// index and branches are as they were.
#[test]
fn ten_percent_more_fails_naming_the_metric() {
    let dir = repo(22);
    let status_before = git(&dir, &["status", "--porcelain"]);
    let branches_before = git(&dir, &["branch", "-a"]);
    dir.memgate()
        .args([
            "check",
            "--base-ref",
            "HEAD~1",
            "--order",
            "shuffled",
            "--seed",
            "3",
            "--report",
            ".memgate/r.md",
        ])
        .assert()
        .code(1)
        .stdout(
            contains("regression go/process.rss.peak: +")
                .and(contains("regression rust/process.rss.peak: +")),
        );
    let md = std::fs::read_to_string(dir.path().join(".memgate/r.md")).unwrap();
    // `~` is escaped for Markdown as &#126;.
    assert!(
        md.contains("Baseline: base HEAD&#126;1 @ ") && md.contains("(this machine, interleaved)"),
        "{md}"
    );
    assert!(md.contains("Current: head @ "));
    assert_eq!(
        git(&dir, &["worktree", "list"]).lines().count(),
        1,
        "the worktree was removed"
    );
    assert_eq!(git(&dir, &["status", "--porcelain"]), status_before);
    assert_eq!(git(&dir, &["branch", "-a"]), branches_before);
}

/// An unchanged head passes ten times out of ten with both sides measured
/// every time (--no-cache: an A/A of cached bases would test the cache);
/// then the cache serves the base, and --cache-max bounds it.
#[test]
fn unchanged_head_passes_ten_times() {
    let dir = repo(20);
    for i in 0..10 {
        let out = dir
            .memgate()
            .args(["check", "--base-ref", "HEAD~1", "--no-cache"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "run {i}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(!String::from_utf8_lossy(&out.stderr).contains("base results from the cache"));
    }
    dir.memgate()
        .args(["check", "--base-ref", "HEAD~1"])
        .assert()
        .success();
    dir.memgate()
        .args(["check", "--base-ref", "HEAD~1"])
        .assert()
        .success()
        .stderr(contains("base results from the cache"));
    let cached = std::fs::read_dir(dir.path().join(".memgate/cache"))
        .unwrap()
        .count();
    assert_eq!(cached, 2, "one entry per workload");
    dir.memgate()
        .args(["check", "--base-ref", "HEAD~1", "--cache-max", "1B"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_dir(dir.path().join(".memgate/cache"))
            .unwrap()
            .count(),
        0,
        "pruned to the cap"
    );
}

/// A ref that is not there says how to fetch it; a workload only in head
/// is reported as new, not failed.
#[test]
fn missing_refs_and_new_workloads() {
    let dir = repo(20);
    dir.memgate()
        .args(["check", "--base-ref", "origin/nope"])
        .assert()
        .code(2)
        .stderr(contains("base ref `origin/nope` is not in this repository; fetch it with `git fetch origin nope`"));
    let text = std::fs::read_to_string(dir.path().join("memgate.yaml")).unwrap();
    dir.create(
        "memgate.yaml",
        &format!("{text}  - {{name: extra, lang: other, run: [sleep, '0.01']}}\n"),
    );
    git(&dir, &["commit", "-qam", "a new workload"]);
    dir.memgate()
        .args(["check", "--base-ref", "HEAD~1", "-w", "extra", "-w", "go"])
        .assert()
        .success()
        .stderr(contains("extra: new in head"));
    // New metrics are counted on the terminal and listed in the verdicts.
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".memgate/verdicts.json")).unwrap(),
    )
    .unwrap();
    let extra: Vec<&serde_json::Value> = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["workload"] == "extra")
        .collect();
    assert!(!extra.is_empty());
    assert!(extra.iter().all(|x| x["status"] == "new"), "{extra:?}");
}

/// Ctrl-C during the interleaved runs ends the workload, exits 130 and
/// removes the base worktree.
#[test]
fn ctrl_c_removes_the_worktree() {
    let dir = repo(20);
    let text = std::fs::read_to_string(dir.path().join("memgate.yaml")).unwrap();
    dir.create(
        "memgate.yaml",
        &format!("{text}  - {{name: slow, lang: other, run: [sleep, '30']}}\n"),
    );
    git(&dir, &["commit", "-qam", "slow"]);
    let mut cmd = std::process::Command::new(crate::util::memgate_exe());
    cmd.args(["check", "--base-ref", "HEAD~1", "-w", "slow"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while git(&dir, &["worktree", "list"]).lines().count() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the worktree never appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    // SAFETY: killpg only sends a signal.
    unsafe { libc::killpg(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert_eq!(
        git(&dir, &["worktree", "list"]).lines().count(),
        1,
        "the worktree survived Ctrl-C"
    );
}

/// A base that does not build is a failure of the base side: exit 3, the
/// side named in its progress lines and in the verdicts, and a stored
/// baseline never stands in for it (it used to, under a label saying the
/// base was measured now). The head alone, against the stored baseline,
/// passes: the control.
#[test]
fn a_base_that_does_not_build_fails_naming_the_side() {
    let dir = repo(20);
    // Break the Go workload in a new base commit, then repair it in head.
    let good = std::fs::read_to_string(dir.path().join("go/main.go")).unwrap();
    dir.create(
        "go/main.go",
        "package main\n\nfunc main() { this does not compile }\n",
    );
    git(&dir, &["commit", "-qam", "broken base"]);
    dir.create("go/main.go", &good);
    git(&dir, &["commit", "-qam", "repaired head"]);
    dir.memgate()
        .args(["run", "-w", "go", "-o", ".memgate/stored.json"])
        .assert()
        .success();
    dir.memgate()
        .args(["baseline", "save", ".memgate/stored.json"])
        .assert()
        .success();
    dir.memgate().args(["check", "-w", "go"]).assert().success();
    dir.memgate()
        .args(["check", "--base-ref", "HEAD~1", "-w", "go"])
        .assert()
        .code(3)
        .stderr(
            contains("memgate: error: build of go (base) failed")
                .and(contains("memgate: go (head) footprint run 2/17: exited 0"))
                .and(contains("stored baseline").not()),
        )
        .stdout(contains(
            "failed: go: on the baseline side: build exited with status 1",
        ));
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".memgate/verdicts.json")).unwrap(),
    )
    .unwrap();
    let statuses: Vec<&str> = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["status"].as_str().unwrap())
        .collect();
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| *s == "failed"),
        "{statuses:?}"
    );
}

/// The base of a repository whose crate depends on a crate beside the
/// repository (`path = "../../dep"`, as the README links memgate-probe
/// from a checkout beside yours) builds: the base's worktree is made beside
/// the repository, where the same relative path names the same crate. And
/// it is removed after.
#[test]
fn a_path_dependency_beside_the_repository_builds_in_the_base() {
    let outer = Dir::new();
    outer.create(
        "dep/Cargo.toml",
        "[package]\nname = \"dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    outer.create(
        "dep/src/lib.rs",
        "pub fn mib(n: usize) -> Vec<u8> {\n    vec![1u8; n << 20]\n}\n",
    );
    let repo = outer.path().join("repo");
    let run_git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}");
    };
    let write = |mib: u32| {
        outer.create(
            "repo/rs/Cargo.toml",
            "[package]\nname = \"rel\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n[dependencies]\ndep = { path = \"../../dep\" }\n",
        );
        outer.create(
            "repo/rs/src/main.rs",
            &format!("fn main() {{\n    std::hint::black_box(dep::mib({mib}));\n}}\n"),
        );
    };
    write(20);
    outer.create(
        "repo/memgate.yaml",
        "version: 1\ndefaults: {repetitions: 3, warmup: 0, sample_interval: 0}\nworkloads:\n  - {name: rust, lang: rust, dir: rs, build: cargo build --release --quiet, run: ./target/release/rel, collect: [malloc]}\n",
    );
    outer.create("repo/.gitignore", "rs/target\nrs/Cargo.lock\n.memgate\n");
    run_git(&["init", "-q"]);
    run_git(&["config", "user.email", "t@example.com"]);
    run_git(&["config", "user.name", "t"]);
    run_git(&["add", "-A"]);
    run_git(&["commit", "-qm", "base"]);
    write(24);
    run_git(&["commit", "-qam", "head"]);
    let out = Command::new(crate::util::memgate_exe())
        .args(["check", "--base-ref", "HEAD~1", "--no-cache"])
        .current_dir(&repo)
        .env_remove("MEMGATE_CONFIG")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains("regression rust/heap.peak.bytes: +"),
        "{report}"
    );
    let left: Vec<_> = std::fs::read_dir(outer.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".memgate-base-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
