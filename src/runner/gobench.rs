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

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::RunError;
use super::expand::{Expanded, Step, or_failed, step};
use crate::collect::gobench;
use crate::config::{BenchTime, Benchmark, GoBench, Workload};
use crate::results::Failure;

/// Iteration counts to run benchmarks at, by workload name: the stored
/// baseline's, so both sides of a check do the same work.
pub type Pins = BTreeMap<String, u64>;

/// Expands `w` when it is a `gobench` workload; any other is returned as is.
/// A benchmark named in `pins` runs at that count; any other at the
/// config's `Nx`, or at the count `go test` finds for a duration.
pub(super) fn expand(
    launcher: &Path,
    w: &Workload,
    pins: &Pins,
    scratch: &Path,
    log: &mut dyn Write,
) -> Result<Expanded, RunError> {
    let Some(g) = &w.gobench else {
        return Ok(Ok(vec![w.clone()]));
    };
    let listing = Listing {
        launcher,
        w,
        g,
        scratch,
    };
    let expanded = benchmarks(&listing, pins, log)?;
    Ok(or_failed(w, expanded, log))
}

/// What every preparation step of one `gobench` workload shares.
struct Listing<'a> {
    launcher: &'a Path,
    w: &'a Workload,
    g: &'a GoBench,
    scratch: &'a Path,
}

/// One package with tests, as `go list` describes it.
struct Package {
    import_path: String,
    dir: PathBuf,
}

/// A benchmark found by a listing run.
struct Found {
    package: usize,
    /// The full name, `Benchmark` prefix included.
    name: String,
    /// The count of the listing run.
    iterations: u64,
    /// B/op of the listing run, when it printed one.
    bytes_per_op: Option<f64>,
}

/// Where a benchmark's count came from, for the log.
enum CountFrom {
    Baseline,
    Config,
    Found,
}

impl CountFrom {
    /// How the log shows a benchmark and its count.
    fn shown(&self, name: &str, iterations: u64) -> String {
        let from = match self {
            CountFrom::Baseline => ", the baseline's",
            CountFrom::Config => "",
            CountFrom::Found => ", found now",
        };
        format!("{name} ({iterations}x{from})")
    }
}

/// The workload's benchmarks, one workload each, at their pinned counts.
fn benchmarks(
    l: &Listing<'_>,
    pins: &Pins,
    log: &mut dyn Write,
) -> Result<Result<Vec<Workload>, Failure>, RunError> {
    let w = l.w;
    let packages = match list_packages(l, log)? {
        Ok(p) => p,
        Err(f) => return Ok(Err(f)),
    };
    let configured = match BenchTime::parse(&l.g.benchtime) {
        Some(BenchTime::Count(n)) => Some(n),
        _ => None,
    };
    // With counts to pin, one iteration of each benchmark names them all;
    // only a benchmark without a count then runs for the duration.
    let listing_time = if pins.is_empty() || configured.is_some() {
        l.g.benchtime.clone()
    } else {
        "1x".to_owned()
    };
    let found = match find_all(l, &packages, &listing_time, log)? {
        Ok(f) => f,
        Err(f) => return Ok(Err(f)),
    };
    let mem_total = crate::fingerprint::mem_total();
    let mut workloads: Vec<Workload> = Vec::new();
    let mut shown = Vec::new();
    for f in &found {
        let p = &packages[f.package];
        let name = benchmark_name(&w.name, &relative(&p.dir, &w.dir), &f.name);
        if workloads.iter().any(|x| x.name == name) {
            return Ok(Err(Failure {
                reason: format!(
                    "two benchmarks would both be named `{name}` (a sub-benchmark of the root package and a package's benchmark); rename one or narrow `packages`"
                ),
                stderr_tail: String::new(),
            }));
        }
        let (iterations, from) = match (pins.get(&name), configured) {
            (Some(&n), _) => (n, CountFrom::Baseline),
            (None, Some(n)) => (n, CountFrom::Config),
            (None, None) if listing_time == l.g.benchtime => (f.iterations, CountFrom::Found),
            (None, None) => match count_once(l, p, f, log)? {
                Ok(n) => (n, CountFrom::Found),
                Err(e) => return Ok(Err(e)),
            },
        };
        shown.push(from.shown(&name, iterations));
        workloads.push(benchmark_workload(w, p, f, name, iterations, mem_total));
    }
    log_benchmarks(&w.name, &shown, log);
    Ok(Ok(workloads))
}

/// Every package's benchmarks, built and listed at `listing_time`; a
/// failure when a build fails or nothing matches.
fn find_all(
    l: &Listing<'_>,
    packages: &[Package],
    listing_time: &str,
    log: &mut dyn Write,
) -> Result<Result<Vec<Found>, Failure>, RunError> {
    let mut found = Vec::new();
    for (i, p) in packages.iter().enumerate() {
        match build_and_list(l, i, p, listing_time, log)? {
            Ok(list) => found.extend(list),
            Err(f) => return Ok(Err(f)),
        }
    }
    if found.is_empty() {
        return Ok(Err(Failure {
            reason: format!(
                "no benchmark matches -bench `{}` in {}",
                l.g.bench,
                l.g.packages.join(" ")
            ),
            stderr_tail: String::new(),
        }));
    }
    Ok(Ok(found))
}

/// One benchmark as a workload of its own: its package's test binary run
/// at `iterations`, with the footprint phase's backstop sized for it.
fn benchmark_workload(
    w: &Workload,
    p: &Package,
    f: &Found,
    name: String,
    iterations: u64,
    mem_total: Option<u64>,
) -> Workload {
    let bin = binary_path(w, p);
    Workload {
        name,
        build: Some(build_command(&bin)),
        run: bench_command(&bin, &anchored(&f.name), &format!("{iterations}x")),
        dir: p.dir.clone(),
        binary: Some(bin),
        gobench: None,
        benchmark: Some(Benchmark {
            iterations,
            backstop_bytes: backstop(f.bytes_per_op, iterations, mem_total),
        }),
        ..w.clone()
    }
}

/// The log line naming the benchmarks found (the first 20) and counts.
fn log_benchmarks(workload: &str, shown: &[String], log: &mut dyn Write) {
    let first: Vec<&str> = shown.iter().take(20).map(String::as_str).collect();
    let _ = writeln!(
        log,
        "memgate: {workload}: {} benchmarks: {}{}",
        shown.len(),
        first.join(", "),
        if shown.len() > 20 { ", ..." } else { "" }
    );
}

/// Builds package `i`'s test binary and lists its benchmarks with one run
/// at `benchtime` (GOMAXPROCS=1, so the names carry no `-N` suffix).
fn build_and_list(
    l: &Listing<'_>,
    i: usize,
    p: &Package,
    benchtime: &str,
    log: &mut dyn Write,
) -> Result<Result<Vec<Found>, Failure>, RunError> {
    let (w, g) = (l.w, l.g);
    let bin = binary_path(w, p);
    let build = build_command(&bin);
    let _ = writeln!(
        log,
        "memgate: building {} tests of {}: {}",
        w.name,
        p.import_path,
        shlex::try_join(build.iter().map(String::as_str)).unwrap_or_default()
    );
    let built = launch(l, &build, &p.dir, None, &format!("gotest{i}"))?;
    if let Some(f) = built.failure {
        return Ok(Err(Failure {
            reason: format!("build of {}'s tests {}", p.import_path, f.reason),
            ..f
        }));
    }
    let list = bench_command(&bin, &g.bench, benchtime);
    let _ = writeln!(
        log,
        "memgate: listing {} benchmarks of {} (-bench {} -benchtime {benchtime})",
        w.name, p.import_path, g.bench
    );
    let listed = launch(l, &list, &p.dir, Some("1"), &format!("golist{i}"))?;
    if let Some(f) = listed.failure {
        return Ok(Err(Failure {
            reason: format!("the benchmarks of {} {}", p.import_path, f.reason),
            ..f
        }));
    }
    Ok(parse_listing(&listed.stdout, &p.import_path).map(|lines| {
        lines
            .into_iter()
            .map(|(name, iterations, bytes_per_op)| Found {
                package: i,
                name,
                iterations,
                bytes_per_op,
            })
            .collect()
    }))
}

/// The benchmarks of a listing run's output: full name, count, B/op.
fn parse_listing(
    stdout: &str,
    import_path: &str,
) -> Result<Vec<(String, u64, Option<f64>)>, Failure> {
    let parsed = gobench::parse(Path::new("stdout"), stdout).map_err(|e| Failure {
        reason: format!("the benchmark output of {import_path} is unreadable: {e}"),
        stderr_tail: String::new(),
    })?;
    Ok(parsed
        .lines
        .iter()
        .map(|line| {
            let bytes = parsed
                .values_of(line)
                .iter()
                .find(|(_, unit)| *unit == "B/op")
                .map(|(v, _)| *v);
            (format!("Benchmark{}", line.name), line.iterations, bytes)
        })
        .collect())
}

/// The count `go test` settles on for one benchmark at the config's
/// duration, found by running it alone once (GOMAXPROCS=1).
fn count_once(
    l: &Listing<'_>,
    p: &Package,
    f: &Found,
    log: &mut dyn Write,
) -> Result<Result<u64, Failure>, RunError> {
    let bin = binary_path(l.w, p);
    let argv = bench_command(&bin, &anchored(&f.name), &l.g.benchtime);
    let _ = writeln!(
        log,
        "memgate: {}: {} is not in the baseline: finding its count (-benchtime {})",
        l.w.name, f.name, l.g.benchtime
    );
    let ran = launch(l, &argv, &p.dir, Some("1"), "gocount")?;
    if let Some(e) = ran.failure {
        return Ok(Err(Failure {
            reason: format!("{} {}", f.name, e.reason),
            ..e
        }));
    }
    Ok(
        parse_listing(&ran.stdout, &p.import_path).and_then(|lines| {
            lines
                .into_iter()
                .find(|(name, _, _)| *name == f.name)
                .map(|(_, n, _)| n)
                .ok_or_else(|| Failure {
                    reason: format!("{} printed no result line when run alone", f.name),
                    stderr_tail: String::new(),
                })
        }),
    )
}

/// A benchmark's workload name: `<workload>/<Bench>` for the root
/// package's, `<workload>/<dir>/<Bench>` for a package in `<dir>` below
/// the workload's directory, whatever other packages have benchmarks, so
/// a package gaining benchmarks renames nothing already gated.
fn benchmark_name(workload: &str, dir: &str, full: &str) -> String {
    let short = full.strip_prefix("Benchmark").unwrap_or(full);
    if dir == "." {
        format!("{workload}/{short}")
    } else {
        format!("{workload}/{dir}/{short}")
    }
}

/// Memory a footprint run may use before its `GOMEMLIMIT` backstop
/// collects. With `GOGC=off` nothing the loop allocates is freed, so the
/// runtime holds about B/op x N of heap, plus what the benchmark set up
/// before its timer started (not in B/op), size-class rounding and span
/// and stack metadata: four times the loop's bytes plus 512 MiB covers
/// those, within half the machine's memory (the limit is soft: past it the
/// runtime collects, and the run says so). B/op comes from the listing
/// run; at one iteration it includes the set-up, so it errs high.
fn backstop(bytes_per_op: Option<f64>, iterations: u64, mem_total: Option<u64>) -> u64 {
    const FLOOR: u64 = 512 << 20;
    let cap = mem_total.map_or(8 << 30, |m| m / 2).max(FLOOR);
    let loop_bytes = bytes_per_op.unwrap_or(0.0).max(0.0) * iterations as f64;
    let wanted = 4.0 * loop_bytes + FLOOR as f64;
    if wanted >= cap as f64 {
        cap
    } else {
        wanted as u64
    }
}

/// The packages matching the patterns that have test files.
fn list_packages(
    l: &Listing<'_>,
    log: &mut dyn Write,
) -> Result<Result<Vec<Package>, Failure>, RunError> {
    let (w, g) = (l.w, l.g);
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
    let listed = launch(l, &argv, &w.dir, None, "golist")?;
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

/// Runs one preparation step (go list, go test -c, the listing run)
/// through the launcher, with GOMAXPROCS when given.
fn launch(
    l: &Listing<'_>,
    argv: &[String],
    dir: &Path,
    gomaxprocs: Option<&str>,
    label: &str,
) -> Result<Step, RunError> {
    let env: Vec<(&str, &str)> = gomaxprocs.map(|n| ("GOMAXPROCS", n)).into_iter().collect();
    step(l.launcher, l.w, (argv, dir), &env, l.scratch, label)
}

/// A test binary running the benchmarks `bench` matches (and no test) at
/// `benchtime`, with their allocations.
fn bench_command(bin: &Path, bench: &str, benchtime: &str) -> Vec<String> {
    vec![
        bin.display().to_string(),
        "-test.run=^$".into(),
        format!("-test.bench={bench}"),
        format!("-test.benchtime={benchtime}"),
        "-test.benchmem".into(),
    ]
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
