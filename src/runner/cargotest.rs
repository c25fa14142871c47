//! A crate's own tests as workloads: a `cargotest` workload is expanded,
//! before its runs, into one workload per test it selects.
//!
//! `cargo test --release --no-run --message-format=json` builds the test
//! binaries and names them (its `compiler-artifact` messages with
//! `profile.test` set carry each one's `executable`); each binary lists
//! its tests (`--list --format terse`: `path::to::test: test` lines, the
//! format libtest prints). Each test then becomes a workload
//! `<workload>/<target>/<test>` that runs the binary for that test alone,
//! on one thread (`--exact PATH --test-threads=1`): fixed input, one
//! thread, so its allocations repeat run to run, and the process's counts
//! belong to one test (and the harness around it, the same every run).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::RunError;
use super::gobench::Expanded;
use super::one_run::{failure_tail, run_status};
use super::spawn::{self, LaunchRequest};
use crate::config::{CargoTest, Workload};
use crate::results::Failure;

/// Most tests one workload runs: each is a workload with its runs.
const MAX_TESTS: usize = 1000;

/// A test binary `cargo test --no-run` built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TestBinary {
    /// The target's name (the library's, or a `tests/` file's).
    pub target: String,
    /// The executable.
    pub executable: PathBuf,
}

/// Expands `w`, a `cargotest` workload, into its tests.
pub(super) fn expand(
    launcher: &Path,
    w: &Workload,
    c: &CargoTest,
    scratch: &Path,
    log: &mut dyn Write,
) -> Result<Expanded, RunError> {
    let l = Listing {
        launcher,
        w,
        scratch,
    };
    Ok(match tests(&l, c, log)? {
        Ok(list) => Ok(list),
        Err(failure) => {
            let _ = writeln!(
                log,
                "memgate: error: {}: {}\n{}",
                w.name,
                failure.reason,
                super::one_run::indent(&failure.stderr_tail)
            );
            let mut results = super::empty_results(w);
            results.build_failure = Some(failure);
            Err(Box::new(results))
        }
    })
}

struct Listing<'a> {
    launcher: &'a Path,
    w: &'a Workload,
    scratch: &'a Path,
}

/// The workload's tests, one workload each; or why they could not be had.
fn tests(
    l: &Listing<'_>,
    c: &CargoTest,
    log: &mut dyn Write,
) -> Result<Result<Vec<Workload>, Failure>, RunError> {
    let mut build: Vec<String> = ["cargo", "test", "--release", "--no-run"]
        .map(String::from)
        .into();
    build.push("--message-format=json".into());
    if let Some(p) = &c.package {
        build.extend(["-p".into(), p.clone()]);
    }
    let _ = writeln!(
        log,
        "memgate: building {} tests: {}",
        l.w.name,
        shlex::try_join(build.iter().map(String::as_str)).unwrap_or_default()
    );
    let built = step(l, &build, "cargotest-build")?;
    if let Some(f) = built.failure {
        return Ok(Err(Failure {
            reason: format!("building the tests {}", f.reason),
            ..f
        }));
    }
    let binaries = test_binaries(&built.stdout);
    let mut out = Vec::new();
    let mut skipped = 0;
    for (i, b) in binaries.iter().enumerate() {
        let list = [
            b.executable.display().to_string(),
            "--list".into(),
            "--format".into(),
            "terse".into(),
        ];
        let listed = step(l, &list, &format!("cargotest-list{i}"))?;
        if let Some(f) = listed.failure {
            return Ok(Err(Failure {
                reason: format!("listing the tests of `{}` {}", b.target, f.reason),
                ..f
            }));
        }
        for test in listed_tests(&listed.stdout) {
            if c.filter
                .as_ref()
                .is_some_and(|f| !test.contains(f.as_str()))
            {
                continue;
            }
            if out.len() == MAX_TESTS {
                skipped += 1;
                continue;
            }
            out.push(test_workload(l.w, b, test));
        }
    }
    if out.is_empty() {
        return Ok(Err(Failure {
            reason: format!(
                "no test matched{}: {} test binaries built",
                c.filter
                    .as_ref()
                    .map(|f| format!(" `{f}`"))
                    .unwrap_or_default(),
                binaries.len()
            ),
            stderr_tail: String::new(),
        }));
    }
    let _ = writeln!(
        log,
        "memgate: {}: {} tests, each run alone{}",
        l.w.name,
        out.len(),
        if skipped > 0 {
            format!(
                "; {skipped} more left out (at most {MAX_TESTS}: narrow them with `cargotest.filter`)"
            )
        } else {
            String::new()
        }
    );
    Ok(Ok(out))
}

/// The test binaries among cargo's JSON messages, in the order built.
pub(super) fn test_binaries(messages: &str) -> Vec<TestBinary> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["profile"]["test"] == true)
        .filter_map(|m| {
            Some(TestBinary {
                target: m["target"]["name"].as_str()?.to_owned(),
                executable: PathBuf::from(m["executable"].as_str()?),
            })
        })
        .collect()
}

/// The tests a libtest binary lists (`path: test`; benchmarks are `path:
/// benchmark` and left out).
pub(super) fn listed_tests(listing: &str) -> impl Iterator<Item = &str> {
    listing
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
}

/// One test as a workload of its own.
fn test_workload(w: &Workload, b: &TestBinary, test: &str) -> Workload {
    Workload {
        name: format!("{}/{}/{}", w.name, b.target, test.replace("::", ".")),
        build: None,
        run: vec![
            b.executable.display().to_string(),
            "--exact".into(),
            test.into(),
            "--test-threads=1".into(),
            "-q".into(),
        ],
        binary: Some(b.executable.clone()),
        cargotest: None,
        ..w.clone()
    }
}

/// What a preparation step left: its stdout, or why it failed.
struct Step {
    stdout: String,
    failure: Option<Failure>,
}

/// Runs one preparation step through the launcher, with the workload's
/// environment and build timeout.
fn step(l: &Listing<'_>, argv: &[String], label: &str) -> Result<Step, RunError> {
    let w = l.w;
    let req = LaunchRequest {
        argv,
        dir: &w.dir,
        env: &w.env,
        timeout: w.build_timeout,
        grace: w.kill_grace,
        interval: std::time::Duration::ZERO,
    };
    let launched = spawn::launch(l.launcher, &req, l.scratch, label)?;
    let status = run_status(&launched.report.end, w.build_timeout)?;
    let stdout = crate::input::read(&launched.stdout, crate::input::FILE_LIMIT)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let failure = status.is_failure().then(|| Failure {
        reason: status.to_string(),
        stderr_tail: failure_tail(&launched),
    });
    Ok(Step { stdout, failure })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded from `cargo test --release --no-run --message-format=json`
    /// on semver 1.0.23 from crates.io (its lines for two targets, cut to
    /// the fields read), and the first lines of `test_version --list
    /// --format terse`; a benchmark is listed as `name: benchmark`
    /// (libtest's `list_tests_console`, library/test/src/console.rs).
    #[test]
    fn binaries_and_tests_are_read_from_cargo_and_libtest() {
        let messages = concat!(
            r#"{"reason": "compiler-artifact", "target": {"name": "semver", "kind": ["lib"]}, "profile": {"test": true}, "executable": "/tmp/trial2/semver-1.0.23/target/release/deps/semver-477b512c6f6ad643"}"#,
            "\n",
            r#"{"reason": "compiler-artifact", "target": {"name": "semver", "kind": ["lib"]}, "profile": {"test": false}, "executable": null}"#,
            "\n",
            r#"{"reason": "compiler-artifact", "target": {"name": "test_version", "kind": ["test"]}, "profile": {"test": true}, "executable": "/tmp/trial2/semver-1.0.23/target/release/deps/test_version-5656862db49bce80"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
        );
        assert_eq!(
            test_binaries(messages),
            vec![
                TestBinary {
                    target: "semver".into(),
                    executable: "/tmp/trial2/semver-1.0.23/target/release/deps/semver-477b512c6f6ad643".into()
                },
                TestBinary {
                    target: "test_version".into(),
                    executable: "/tmp/trial2/semver-1.0.23/target/release/deps/test_version-5656862db49bce80".into()
                },
            ]
        );
        let listing =
            "test_align: test\ntest_display: test\ntest_eq: test\nbench_parse: benchmark\n";
        assert_eq!(
            listed_tests(listing).collect::<Vec<_>>(),
            ["test_align", "test_display", "test_eq"]
        );
    }
}
