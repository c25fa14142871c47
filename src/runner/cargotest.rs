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
use super::expand::{Expanded, Step, or_failed};
use crate::config::{CargoTest, Workload};
use crate::results::Failure;

/// Most tests one workload runs: each is a workload with its runs.
const MAX_TESTS: usize = 1000;
/// A divan benchmark's pinned work: samples, and iterations in each.
const DIVAN_SAMPLES: u64 = 10;
const DIVAN_SAMPLE_SIZE: u64 = 10;

/// The harness a benchmark binary was built with, from its symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Harness {
    Divan,
    Criterion,
    Libtest,
}

impl Harness {
    fn of(executable: &Path) -> Harness {
        use object::{Object, ObjectSymbol};
        let Ok(data) = std::fs::read(executable) else {
            return Harness::Libtest;
        };
        let Ok(file) = object::File::parse(&*data) else {
            return Harness::Libtest;
        };
        let names: Vec<String> = file
            .symbols()
            .filter_map(|s| {
                s.name()
                    .ok()
                    .map(|n| format!("{:#}", rustc_demangle::demangle(n)))
            })
            .collect();
        if names.iter().any(|n| n.starts_with("divan::")) {
            Harness::Divan
        } else if names.iter().any(|n| n.starts_with("criterion::")) {
            Harness::Criterion
        } else {
            Harness::Libtest
        }
    }
}

/// A test binary `cargo test --no-run` built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TestBinary {
    /// The target's name (the library's, or a `tests/` file's).
    pub target: String,
    /// The executable.
    pub executable: PathBuf,
    /// Built by `cargo bench` for a `[[bench]]` target.
    pub bench: bool,
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
    let expanded = tests(&l, c, log)?;
    Ok(or_failed(w, expanded, log))
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
    let what = if c.benches { "benchmarks" } else { "tests" };
    // `cargo bench` builds in the release profile (`bench` inherits it).
    let mut build: Vec<String> = if c.benches {
        vec!["cargo".into(), "bench".into()]
    } else {
        vec!["cargo".into(), "test".into(), "--release".into()]
    };
    build.push("--no-run".into());
    build.push("--message-format=json".into());
    if let Some(p) = &c.package {
        build.extend(["-p".into(), p.clone()]);
    }
    let _ = writeln!(
        log,
        "memgate: building {} {what}: {}",
        l.w.name,
        shlex::try_join(build.iter().map(String::as_str)).unwrap_or_default()
    );
    let built = step(l, &build, &[], "cargotest-build")?;
    if let Some(f) = built.failure {
        return Ok(Err(Failure {
            reason: format!("building the {what} {}", f.reason),
            ..f
        }));
    }
    let binaries: Vec<TestBinary> = test_binaries(&built.stdout)
        .into_iter()
        .filter(|b| b.bench == c.benches)
        .collect();
    let mut out = Vec::new();
    let mut skipped = 0;
    let mut not_gated: Vec<String> = Vec::new();
    let mut time_only: Vec<String> = Vec::new();
    for (i, b) in binaries.iter().enumerate() {
        let harness = if c.benches {
            Harness::of(&b.executable)
        } else {
            Harness::Libtest
        };
        let mut list = vec![b.executable.display().to_string(), "--list".into()];
        if harness != Harness::Criterion {
            list.extend(["--format".into(), "terse".into()]);
        }
        let env: &[(&str, &str)] = if harness == Harness::Divan {
            &[("NEXTEST", "1")]
        } else {
            &[]
        };
        let listed = step(l, &list, env, &format!("cargotest-list{i}"))?;
        if let Some(f) = listed.failure {
            return Ok(Err(Failure {
                reason: format!("listing the {what} of `{}` {}", b.target, f.reason),
                ..f
            }));
        }
        let kind = if c.benches { "benchmark" } else { "test" };
        for test in listed_items(&listed.stdout, kind) {
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
            match harness {
                _ if !c.benches => out.push(test_workload(l.w, b, test)),
                Harness::Divan => out.push(divan_workload(l.w, b, test)),
                Harness::Criterion => {
                    time_only.push(test.to_owned());
                    out.push(criterion_workload(l.w, b, test));
                }
                Harness::Libtest => not_gated.push(test.to_owned()),
            }
        }
    }
    let shown = |names: &[String]| {
        let first: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
        let more = if names.len() > first.len() {
            ", ..."
        } else {
            ""
        };
        format!("{}{more}", first.join(", "))
    };
    if !time_only.is_empty() {
        let _ = writeln!(
            log,
            "memgate: {}: {} criterion benchmark(s) gated on time only ({}): criterion chooses its iteration counts by the clock, so their allocations do not repeat run to run; op.time is criterion's own estimate",
            l.w.name,
            time_only.len(),
            shown(&time_only)
        );
    }
    if !not_gated.is_empty() {
        let _ = writeln!(
            log,
            "memgate: {}: {} benchmark(s) not gated ({}): libtest's #[bench] chooses its iteration counts by the clock and prints no estimate memgate reads",
            l.w.name,
            not_gated.len(),
            shown(&not_gated)
        );
    }
    if out.is_empty() {
        return Ok(Err(Failure {
            reason: format!(
                "no {what} to gate{}: {} binaries built",
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
        "memgate: {}: {} {what}, each run alone{}",
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
                bench: m["target"]["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "bench")),
            })
        })
        .collect()
}

/// The items of `kind` (`test` or `benchmark`) a binary lists (`path:
/// kind`, libtest's terse list, which divan and criterion print too).
pub(super) fn listed_items<'a>(listing: &'a str, kind: &str) -> impl Iterator<Item = &'a str> {
    let suffix = format!(": {kind}");
    listing
        .lines()
        .filter_map(move |line| line.strip_suffix(suffix.as_str()))
}

/// One test or benchmark of `b` as a workload of its own, named
/// `<workload>/<target>/<item>`: the binary run with `args`.
fn item_workload(w: &Workload, b: &TestBinary, item: &str, args: &[&str]) -> Workload {
    Workload {
        name: format!("{}/{}/{}", w.name, b.target, item.replace("::", ".")),
        build: None,
        run: std::iter::once(b.executable.display().to_string())
            .chain(args.iter().map(|a| (*a).to_owned()))
            .collect(),
        binary: Some(b.executable.clone()),
        cargotest: None,
        ..w.clone()
    }
}

/// One test, alone on one thread.
fn test_workload(w: &Workload, b: &TestBinary, test: &str) -> Workload {
    item_workload(w, b, test, &["--exact", test, "--test-threads=1", "-q"])
}

/// One divan benchmark, at a pinned count.
fn divan_workload(w: &Workload, b: &TestBinary, bench: &str) -> Workload {
    let (samples, size) = (DIVAN_SAMPLES.to_string(), DIVAN_SAMPLE_SIZE.to_string());
    let args = [
        "--bench",
        "--exact",
        bench,
        "--sample-count",
        &samples,
        "--sample-size",
        &size,
    ];
    let mut tags = w.tags.clone();
    tags.insert(
        "iterations".into(),
        (DIVAN_SAMPLES * DIVAN_SAMPLE_SIZE).to_string(),
    );
    Workload {
        tags,
        ..item_workload(w, b, bench, &args)
    }
}

/// One criterion benchmark, gated on criterion's time estimate (short
/// warm-up and measurement: each run is one sample).
fn criterion_workload(w: &Workload, b: &TestBinary, bench: &str) -> Workload {
    let args = [
        "--bench",
        "--exact",
        bench,
        "--warm-up-time",
        "0.5",
        "--measurement-time",
        "1",
        "--noplot",
    ];
    Workload {
        collect: vec![crate::config::Collector::Criterion],
        ..item_workload(w, b, bench, &args)
    }
}

/// Runs one preparation step in the workload's directory.
fn step(
    l: &Listing<'_>,
    argv: &[String],
    extra_env: &[(&str, &str)],
    label: &str,
) -> Result<Step, RunError> {
    super::expand::step(
        l.launcher,
        l.w,
        (argv, &l.w.dir),
        extra_env,
        l.scratch,
        label,
    )
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
                    executable: "/tmp/trial2/semver-1.0.23/target/release/deps/semver-477b512c6f6ad643".into(),
                    bench: false,
                },
                TestBinary {
                    target: "test_version".into(),
                    executable: "/tmp/trial2/semver-1.0.23/target/release/deps/test_version-5656862db49bce80".into(),
                    bench: false,
                },
            ]
        );
        let listing =
            "test_align: test\ntest_display: test\ntest_eq: test\nbench_parse: benchmark\n";
        assert_eq!(
            listed_items(listing, "test").collect::<Vec<_>>(),
            ["test_align", "test_display", "test_eq"]
        );
        assert_eq!(
            listed_items(listing, "benchmark").collect::<Vec<_>>(),
            ["bench_parse"]
        );
    }
}
