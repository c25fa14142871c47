use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Dir, memgate_exe, wait_gone};
use memgate::results::RunStatus;
use predicates::prelude::*;
use predicates::str::contains;

fn one(dir: &Dir, workload_yaml: &str) {
    dir.create(
        "memgate.yaml",
        &format!("version: 1\ndefaults: {{repetitions: 2, warmup: 0, kill_grace: 300ms}}\nworkloads:\n  - {workload_yaml}\n"),
    );
}

/// A run that exits non-zero: exit 3 after writing results; the failed
/// run is recorded with its stderr and never sampled, and a workload whose
/// first run fails runs no more (fail fast).
#[test]
fn nonzero_exit_is_recorded_and_exits_3() {
    let dir = Dir::new();
    one(
        &dir,
        "{name: bad, lang: other, run: [sh, -c, 'echo boom on stderr >&2; exit 7']}",
    );
    dir.memgate()
        .args(["run", "-n", "2", "-o", "r.json"])
        .assert()
        .code(3)
        .stderr(
            contains("exited with status 7")
                .and(contains("boom on stderr"))
                .and(contains(
                    "error: bad: the first run exited with status 7; skipping the other 1 runs",
                )),
        );
    let r = dir.results("r.json");
    let w = &r.workloads[0];
    assert_eq!(w.runs.len(), 1);
    assert_eq!(w.runs[0].status, RunStatus::Exited { code: 7 });
    assert!(
        w.runs[0]
            .stderr_tail
            .as_deref()
            .unwrap()
            .contains("boom on stderr")
    );
    assert!(w.metrics.is_empty(), "failed runs are never sampled");
}

/// A crash by signal is recorded with the signal.
#[test]
fn death_by_signal_is_recorded() {
    let dir = Dir::new();
    one(
        &dir,
        "{name: crash, lang: other, run: [sh, -c, 'kill -SEGV $$']}",
    );
    dir.memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .code(3)
        .stderr(contains("SIGSEGV"));
    assert_eq!(
        dir.results("r.json").workloads[0].runs[0].status,
        RunStatus::Signaled { signal: 11 }
    );
}

/// Mixed outcomes: only the successful runs become samples.
#[test]
fn only_successful_runs_are_sampled() {
    let dir = Dir::new();
    one(
        &dir,
        "{name: flaky, lang: other, repetitions: 4, run: [sh, -c, 'n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; [ $((n % 2)) -eq 0 ]']}",
    );
    dir.memgate()
        .args(["run", "-n", "4", "-o", "r.json"])
        .assert()
        .code(3);
    let w = &dir.results("r.json").workloads[0];
    let ok = w.runs.iter().filter(|r| r.status == RunStatus::Ok).count();
    assert_eq!(ok, 2);
    assert_eq!(w.metrics["process.rss.peak"].samples.len(), 2);
}

/// A timeout ends the whole process group, including children that would
/// otherwise be orphaned.
#[test]
fn timeout_ends_the_whole_process_group() {
    let dir = Dir::new();
    one(
        &dir,
        "{name: slow, lang: other, repetitions: 1, timeout: 300ms, run: [sh, -c, 'sleep 30 & echo $! > child.pid; sleep 30']}",
    );
    let start = Instant::now();
    dir.memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .code(3)
        .stderr(contains("timed out after 0.3s"));
    assert!(start.elapsed() < Duration::from_secs(10));
    let pid: i32 = std::fs::read_to_string(dir.path().join("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        wait_gone(pid, 5),
        "background child {pid} survived the timeout"
    );
    assert!(matches!(
        dir.results("r.json").workloads[0].runs[0].status,
        RunStatus::TimedOut { .. }
    ));
}

/// A workload that ignores SIGTERM is killed after the grace period.
#[test]
fn sigterm_ignoring_workload_is_killed_after_grace() {
    let dir = Dir::new();
    // The shell and its child both ignore SIGTERM; the child's PID is kept.
    one(
        &dir,
        "{name: stubborn, lang: other, repetitions: 1, timeout: 200ms, run: [sh, -c, 'trap \"\" TERM; sleep 30 & echo $! > child.pid; echo $$ > shell.pid; wait']}",
    );
    let start = Instant::now();
    dir.memgate().args(["run", "-o", "r.json"]).assert().code(3);
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "took {:?}",
        start.elapsed()
    );
    let r = dir.results("r.json");
    assert!(
        matches!(r.workloads[0].runs[0].status, RunStatus::TimedOut { .. }),
        "{:?}",
        r.workloads[0].runs[0].status
    );
    // SIGKILL after the grace period ended the whole group, grandchild too.
    for file in ["shell.pid", "child.pid"] {
        let pid = std::fs::read_to_string(dir.path().join(file)).unwrap();
        let proc = std::path::PathBuf::from(format!("/proc/{}", pid.trim()));
        let alive = std::fs::read_to_string(proc.join("cmdline"))
            .is_ok_and(|c| c.contains("sleep") || c.starts_with("sh"));
        assert!(!alive, "{file}: process {} survived", pid.trim());
    }
}

/// A command that does not exist fails the run with the program's name,
/// once: with a warm-up and 9 repetitions, one run is attempted, not ten.
#[test]
fn missing_program_fails_the_run_once() {
    let dir = Dir::new();
    one(
        &dir,
        "{name: ghost, lang: other, run: ./no-such-program, warmup: 1, repetitions: 9}",
    );
    let out = dir
        .memgate()
        .args(["run", "-n", "9", "-o", "r.json"])
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(
        stderr
            .matches("could not be started: `./no-such-program`")
            .count(),
        2,
        "the run's line and the fail-fast line, nothing more:\n{stderr}"
    );
    assert!(stderr.contains("skipping the other 9 runs"), "{stderr}");
    let r = dir.results("r.json");
    assert_eq!(r.workloads[0].runs.len(), 1);
    assert!(r.workloads[0].runs[0].warmup);
}

/// A failing build: exit 3, its stderr tail shown, recorded in the results.
#[test]
fn failing_build_exits_3_with_stderr_tail() {
    let dir = Dir::new();
    one(
        &dir,
        "{name: broken, lang: other, build: [sh, -c, 'echo line1 >&2; echo error: cannot compile >&2; exit 1'], run: 'true'}",
    );
    dir.memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .code(3)
        .stderr(
            contains("build of broken failed: exited with status 1")
                .and(contains("error: cannot compile")),
        );
    let w = &dir.results("r.json").workloads[0];
    assert!(
        w.build_failure
            .as_ref()
            .unwrap()
            .stderr_tail
            .contains("cannot compile")
    );
    assert!(w.runs.is_empty());
}

/// A `binary:` that the build did not produce is a build failure.
#[test]
fn missing_binary_is_a_build_failure() {
    let dir = Dir::new();
    one(
        &dir,
        "{name: nobin, lang: other, build: 'true', binary: target/none, run: 'true'}",
    );
    dir.memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .code(3)
        .stderr(contains("target/none"));
}

/// A `dir:` that does not exist is a config problem: exit 2.
#[test]
fn missing_dir_is_bad_input() {
    let dir = Dir::new();
    one(
        &dir,
        "{name: nodir, lang: other, dir: nowhere, run: 'true'}",
    );
    dir.memgate()
        .args(["run"])
        .assert()
        .code(2)
        .stderr(contains("nowhere does not exist"));
}

fn spawn_long_run(dir: &Dir) -> std::process::Child {
    one(
        dir,
        "{name: long, lang: other, repetitions: 1, run: [sh, -c, 'sleep 30 & echo $! > child.pid; echo $$ > wl.pid; wait']}",
    );
    dir.create("r.json", "OLD RESULTS");
    let mut cmd = Command::new(memgate_exe());
    cmd.args(["run", "-o", "r.json"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(dir.path().join("wl.pid").exists() && dir.path().join("child.pid").exists()) {
        assert!(Instant::now() < deadline, "workload never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(50));
    child
}

fn pids(dir: &Dir) -> Vec<i32> {
    ["wl.pid", "child.pid"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(dir.path().join(f))
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        })
        .collect()
}

/// Ctrl-C (SIGINT to the terminal's process group) ends the workload's
/// group, exits 130 and leaves the previous results file untouched.
#[test]
fn ctrl_c_ends_the_workload_and_keeps_old_results() {
    let dir = Dir::new();
    let mut child = spawn_long_run(&dir);
    // SAFETY: killpg only sends a signal.
    unsafe { libc::killpg(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    for pid in pids(&dir) {
        assert!(wait_gone(pid, 5), "{pid} survived Ctrl-C");
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("r.json")).unwrap(),
        "OLD RESULTS"
    );
}

/// SIGTERM to memgate alone (a cancelled CI job) is forwarded.
#[test]
fn sigterm_to_memgate_is_forwarded() {
    let dir = Dir::new();
    let mut child = spawn_long_run(&dir);
    // SAFETY: kill only sends a signal.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(130));
    for pid in pids(&dir) {
        assert!(wait_gone(pid, 5), "{pid} survived SIGTERM");
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("r.json")).unwrap(),
        "OLD RESULTS"
    );
}

/// Even SIGKILL of memgate leaves no orphans: the launcher's parent-death
/// signal ends the workload's group.
#[test]
fn sigkill_of_memgate_leaves_no_orphans() {
    let dir = Dir::new();
    let mut child = spawn_long_run(&dir);
    child.kill().unwrap();
    child.wait().unwrap();
    for pid in pids(&dir) {
        assert!(wait_gone(pid, 8), "{pid} was orphaned");
    }
}

/// A stderr that claims a millionth GC cycle in 14 bytes is refused as a
/// trace (the run fails, exit 3) in a few lines, not counted or listed.
#[test]
fn absurd_gctrace_numbers_fail_the_run_in_bounded_output() {
    let dir = Dir::new();
    one(
        &dir,
        "{name: liar, lang: go, run: [sh, -c, 'printf \"gc 1000000 @1\" >&2'], collect: [gctrace]}",
    );
    let out = dir
        .memgate()
        .args(["run", "-o", "r.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        out.stderr.len() < 10_000,
        "{} bytes of stderr",
        out.stderr.len()
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a trace to count"), "{err}");
    let r = dir.results("r.json");
    assert!(!r.workloads[0].metrics.contains_key("gc.cycles"));
}
