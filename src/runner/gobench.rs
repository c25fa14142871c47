//! Go benchmarks as workloads: a `gobench` workload is expanded, before its
//! runs, into one workload per benchmark it selects.
//!
//! `go list` finds the packages with tests; `go test -c` builds each one's
//! test binary under `<dir>/.memgate/gobench/`; one run of that binary with
//! the workload's `-bench` regexp and `-benchtime` lists the benchmarks
//! (sub-benchmarks included, as their result lines name them) and, for a
//! duration benchtime, the iteration count `go test` settled on. Each
//! benchmark then becomes a workload `<name>/<benchmark>` that runs the
//! binary for that benchmark alone (`-test.bench '^BenchmarkX$/^sub$'`),
//! with that count pinned (`-test.benchtime Nx`): every run does the same
//! work, so its allocations and GC cycles repeat, and the process's GC
//! trace and rusage belong to one benchmark. That one listing run has
//! `GOMAXPROCS=1`, so the names carry no `-N` suffix.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::spawn::{self, LaunchRequest};
use super::{RunError, failure_tail, run_status};
use crate::collect::gobench;
use crate::config::{BenchTime, GoBench, Workload};
use crate::results::{Failure, WorkloadResults};

/// A selected workload, ready to run: itself, or its benchmarks; or the
/// results of a `gobench` workload whose listing failed.
pub(super) type Expanded = Result<Vec<Workload>, Box<WorkloadResults>>;

/// Expands `w` when it is a `gobench` workload; any other is returned as is.
pub(super) fn expand(
    launcher: &Path,
    w: &Workload,
    scratch: &Path,
    log: &mut dyn Write,
) -> Result<Expanded, RunError> {
    let Some(g) = &w.gobench else {
        return Ok(Ok(vec![w.clone()]));
    };
    Ok(match benchmarks(launcher, w, g, scratch, log)? {
        Ok(list) => Ok(list),
        Err(failure) => {
            let _ = writeln!(
                log,
                "memgate: error: {}: {}\n{}",
                w.name,
                failure.reason,
                super::indent(&failure.stderr_tail)
            );
            let mut results = super::empty_results(w);
            results.build_failure = Some(failure);
            Err(Box::new(results))
        }
    })
}

/// One package with tests, as `go list` describes it.
struct Package {
    import_path: String,
    dir: PathBuf,
}

/// A benchmark found by the listing run.
struct Found {
    package: usize,
    /// The full name, `Benchmark` prefix included.
    name: String,
    iterations: u64,
}

fn benchmarks(
    launcher: &Path,
    w: &Workload,
    g: &GoBench,
    scratch: &Path,
    log: &mut dyn Write,
) -> Result<Result<Vec<Workload>, Failure>, RunError> {
    let packages = match list_packages(launcher, w, g, scratch, log)? {
        Ok(p) => p,
        Err(f) => return Ok(Err(f)),
    };
    let mut found = Vec::new();
    for (i, p) in packages.iter().enumerate() {
        let bin = binary_path(w, p);
        let build = build_command(&bin);
        let _ = writeln!(
            log,
            "memgate: building {} tests of {}: {}",
            w.name,
            p.import_path,
            shlex::try_join(build.iter().map(String::as_str)).unwrap_or_default()
        );
        let built = launch(
            launcher,
            w,
            &build,
            &p.dir,
            None,
            scratch,
            &format!("gotest{i}"),
        )?;
        if let Some(f) = built.failure {
            return Ok(Err(Failure {
                reason: format!("build of {}'s tests {}", p.import_path, f.reason),
                ..f
            }));
        }
        let list = [
            bin.display().to_string(),
            "-test.run=^$".into(),
            format!("-test.bench={}", g.bench),
            format!("-test.benchtime={}", g.benchtime),
            "-test.benchmem".into(),
        ];
        let _ = writeln!(
            log,
            "memgate: listing {} benchmarks of {} (-bench {} -benchtime {})",
            w.name, p.import_path, g.bench, g.benchtime
        );
        let listed = launch(
            launcher,
            w,
            &list,
            &p.dir,
            Some("1"),
            scratch,
            &format!("golist{i}"),
        )?;
        if let Some(f) = listed.failure {
            return Ok(Err(Failure {
                reason: format!("the benchmarks of {} {}", p.import_path, f.reason),
                ..f
            }));
        }
        let parsed = gobench::parse(Path::new("stdout"), &listed.stdout).map_err(|e| Failure {
            reason: format!(
                "the benchmark output of {} is unreadable: {e}",
                p.import_path
            ),
            stderr_tail: String::new(),
        });
        let parsed = match parsed {
            Ok(p) => p,
            Err(f) => return Ok(Err(f)),
        };
        found.extend(parsed.lines.into_iter().map(|l| Found {
            package: i,
            name: format!("Benchmark{}", l.name),
            iterations: l.iterations,
        }));
    }
    if found.is_empty() {
        return Ok(Err(Failure {
            reason: format!(
                "no benchmark matches -bench `{}` in {}",
                g.bench,
                g.packages.join(" ")
            ),
            stderr_tail: String::new(),
        }));
    }
    let several = found.iter().any(|f| f.package != found[0].package);
    let pinned = |f: &Found| match BenchTime::parse(&g.benchtime) {
        Some(BenchTime::Count(n)) => n,
        _ => f.iterations,
    };
    let workloads: Vec<Workload> = found
        .iter()
        .map(|f| {
            let p = &packages[f.package];
            let short = f.name.trim_start_matches("Benchmark");
            let name = if several {
                format!("{}/{}/{short}", w.name, relative(&p.dir, &w.dir))
            } else {
                format!("{}/{short}", w.name)
            };
            let iterations = pinned(f);
            let bin = binary_path(w, p);
            Workload {
                name,
                build: Some(build_command(&bin)),
                run: vec![
                    bin.display().to_string(),
                    "-test.run=^$".into(),
                    format!("-test.bench={}", anchored(&f.name)),
                    format!("-test.benchtime={iterations}x"),
                    "-test.benchmem".into(),
                ],
                dir: p.dir.clone(),
                binary: Some(bin),
                gobench: None,
                ..w.clone()
            }
        })
        .collect();
    let _ = writeln!(
        log,
        "memgate: {}: {} benchmarks: {}",
        w.name,
        workloads.len(),
        found
            .iter()
            .zip(&workloads)
            .map(|(f, x)| format!("{} ({}x)", x.name, pinned(f)))
            .take(20)
            .collect::<Vec<_>>()
            .join(", ")
            + if workloads.len() > 20 { ", ..." } else { "" }
    );
    Ok(Ok(workloads))
}

/// The packages matching the patterns that have test files.
fn list_packages(
    launcher: &Path,
    w: &Workload,
    g: &GoBench,
    scratch: &Path,
    log: &mut dyn Write,
) -> Result<Result<Vec<Package>, Failure>, RunError> {
    let mut argv: Vec<String> = [
        "go",
        "list",
        "-f",
        "{{.ImportPath}}\t{{.Dir}}\t{{len .TestGoFiles}}\t{{len .XTestGoFiles}}",
    ]
    .map(String::from)
    .to_vec();
    argv.extend(g.packages.iter().cloned());
    let _ = writeln!(log, "memgate: {}: go list {}", w.name, g.packages.join(" "));
    let listed = launch(launcher, w, &argv, &w.dir, None, scratch, "golist")?;
    if let Some(f) = listed.failure {
        return Ok(Err(Failure {
            reason: format!("go list {} {}", g.packages.join(" "), f.reason),
            ..f
        }));
    }
    Ok(Ok(listed
        .stdout
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let tests = |s: &str| s.parse::<u32>().unwrap_or(0);
            match f.as_slice() {
                [path, dir, t, xt] if tests(t) + tests(xt) > 0 => Some(Package {
                    import_path: (*path).to_owned(),
                    dir: PathBuf::from(dir),
                }),
                _ => None,
            }
        })
        .collect()))
}

/// What a preparation step left: its stdout, or why it failed.
struct Step {
    stdout: String,
    failure: Option<Failure>,
}

/// Runs one preparation step (go list, go test -c, the listing run)
/// through the launcher, with the workload's environment (and GOMAXPROCS
/// when given) and its build timeout.
fn launch(
    launcher: &Path,
    w: &Workload,
    argv: &[String],
    dir: &Path,
    gomaxprocs: Option<&str>,
    scratch: &Path,
    label: &str,
) -> Result<Step, RunError> {
    let mut env = w.env.clone();
    if let Some(n) = gomaxprocs {
        env.insert("GOMAXPROCS".into(), n.into());
    }
    let req = LaunchRequest {
        argv,
        dir,
        env: &env,
        timeout: w.build_timeout,
        grace: w.kill_grace,
        interval: std::time::Duration::ZERO,
    };
    let launched = spawn::launch(launcher, &req, scratch, label)?;
    let status = run_status(&launched.report.end, w.build_timeout)?;
    let stdout = std::fs::read(&launched.stdout)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let failure = status.is_failure().then(|| Failure {
        reason: status.to_string(),
        stderr_tail: failure_tail(&launched),
    });
    Ok(Step { stdout, failure })
}

/// `go test -c` writing `bin`, run in the package's directory.
fn build_command(bin: &Path) -> Vec<String> {
    ["go", "test", "-c", "-o"]
        .map(String::from)
        .into_iter()
        .chain([bin.display().to_string(), ".".into()])
        .collect()
}

/// Where a package's test binary goes: under the workload's directory, in
/// `.memgate/gobench/<workload>/`, named after the package's import path.
fn binary_path(w: &Workload, p: &Package) -> PathBuf {
    let file: String = p
        .import_path
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    w.dir
        .join(".memgate/gobench")
        .join(&w.name)
        .join(format!("{file}.test"))
}

/// A package directory relative to the workload's, for names.
fn relative(dir: &Path, base: &Path) -> String {
    match dir.strip_prefix(base) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
        Ok(rel) => rel.display().to_string(),
        Err(_) => dir.display().to_string(),
    }
}

/// A `-test.bench` regexp that matches exactly one benchmark: each
/// `/`-separated level quoted and anchored, as the testing package matches
/// a level at a time.
fn anchored(name: &str) -> String {
    name.split('/')
        .map(|level| {
            let mut re = String::from("^");
            for c in level.chars() {
                if "\\.+*?()|[]{}^$".contains(c) {
                    re.push('\\');
                }
                re.push(c);
            }
            re.push('$');
            re
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_quotes_each_level() {
        assert_eq!(anchored("BenchmarkGet"), "^BenchmarkGet$");
        assert_eq!(
            anchored("BenchmarkSizes/n=64/a.b(c)#01"),
            "^BenchmarkSizes$/^n=64$/^a\\.b\\(c\\)#01$"
        );
    }

    #[test]
    fn names_are_relative_to_the_workload() {
        assert_eq!(relative(Path::new("/r/x/y"), Path::new("/r")), "x/y");
        assert_eq!(relative(Path::new("/r"), Path::new("/r")), ".");
    }
}
