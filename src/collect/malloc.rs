//! `collect: [malloc]`: a program's allocations counted with no change to
//! its code and at native speed. memgate preloads its malloc counter
//! (src/collect/malloc_preload.rs, carried in memgate's binary and written
//! next to the run's files) with `LD_PRELOAD` (set for the workload by the
//! launcher, see [`PRELOAD_ENV`]); every process of the run that
//! loads it appends one line at exit to the file `MEMGATE_MALLOC_FILE`
//! names. The workload's own process (the PID the launcher started) gives
//! the figures, in the metric names of the probe and DHAT; the other
//! processes of its tree are named in a note.
//!
//! A program the counter cannot see is refused, never reported as zero:
//! one whose `malloc` comes before the counter's (the counter says so), and
//! one with an allocator linked in that does not go through malloc at all
//! (jemalloc as tikv-jemallocator links it, mimalloc, ...: found by name in
//! the executable's symbol table).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Collect, CollectError, Collected, RunArtifacts, RunSetup, Sample};
use crate::attribution::{Amounts, Frame, RunSites, SiteTotals, SourceTree};
use crate::metrics::{self, MetricDef};
use crate::results::Value;

/// The counter: a shared library for x86-64 glibc Linux, empty where
/// build.rs could not build it.
static LIBRARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libmemgate_malloc.so"));

/// The environment variable naming the file the counter appends to.
pub const FILE_ENV: &str = "MEMGATE_MALLOC_FILE";
/// The environment variable that turns stack sampling on, naming the
/// prefix of each process's stacks file (`<prefix>.<pid>`).
pub const SITES_ENV: &str = "MEMGATE_MALLOC_SITES";
/// The `LD_PRELOAD` of the workload alone: the launcher, which is started
/// with the run's environment, moves it into the workload's `LD_PRELOAD`,
/// so the launcher itself never loads the counter.
pub const PRELOAD_ENV: &str = "MEMGATE_WORKLOAD_LD_PRELOAD";
/// The tag that opens each of the counter's lines.
const LINE_TAG: &str = "memgate-malloc/v1";
/// Most lines read from one run's file: a process tree of thousands of
/// processes is named by count beyond this.
const MAX_LINES: usize = 10_000;

/// Symbols of allocators that serve a program without calling malloc, and
/// what to call them. (tikv-jemallocator prefixes jemalloc's API with
/// `_rjem_` on Linux; jemalloc itself, unprefixed, defines malloc.)
const OWN_ALLOCATORS: &[(&str, &str)] = &[
    ("_rjem_malloc", "jemalloc (tikv-jemallocator)"),
    ("_rjem_mallocx", "jemalloc (tikv-jemallocator)"),
    ("je_mallocx", "jemalloc"),
    ("_rjem_sdallocx", "jemalloc (tikv-jemallocator)"),
    ("mi_malloc", "mimalloc"),
    ("mi_malloc_aligned", "mimalloc"),
    ("mi_free", "mimalloc"),
    ("rpmalloc", "rpmalloc"),
    ("tc_malloc", "tcmalloc"),
    ("snmalloc_malloc", "snmalloc"),
    (
        "runtime.mallocgc",
        "the Go runtime (gate it with gctrace and the Go probe)",
    ),
];

/// Whether this memgate carries the counter (x86-64 Linux with glibc).
pub fn available() -> bool {
    !LIBRARY.is_empty()
}

/// One process's line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessCount {
    /// Its PID.
    pub pid: i64,
    /// Whether the counter's malloc was the one the program called.
    pub interposed: bool,
    /// Blocks allocated, reallocations included.
    pub blocks: u64,
    /// Bytes requested, reallocations' new sizes included.
    pub bytes: u64,
    /// Reallocations.
    pub reallocs: u64,
    /// Highest usable bytes live.
    pub peak: u64,
    /// Usable bytes live at exit.
    pub end: u64,
    /// The program's name.
    pub comm: String,
}

/// Parses the counter's file: one [`ProcessCount`] per line; `path` names
/// it in errors, with the line.
pub fn parse(path: &Path, text: &str) -> Result<Vec<ProcessCount>, CollectError> {
    let err = |n: usize, message: String| CollectError {
        collector: "malloc",
        message: format!("{}:{n}: {message}", path.display()),
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().take(MAX_LINES) {
        let n = i + 1;
        let mut fields = line.split(' ');
        if fields.next() != Some(LINE_TAG) {
            return Err(err(
                n,
                format!("not a line of the counter (`{LINE_TAG} ...`)"),
            ));
        }
        let mut p = ProcessCount::default();
        for field in fields {
            let Some((key, value)) = field.split_once('=') else {
                return Err(err(n, format!("`{field}` is not key=value")));
            };
            if key == "comm" {
                p.comm = value.to_owned();
                continue;
            }
            let v: u64 = value
                .parse()
                .map_err(|_| err(n, format!("{key}={value}: not a count")))?;
            match key {
                "pid" => p.pid = v as i64,
                "interposed" => p.interposed = v != 0,
                "blocks" => p.blocks = v,
                "bytes" => p.bytes = v,
                "reallocs" => p.reallocs = v,
                "peak" => p.peak = v,
                "end" => p.end = v,
                _ => {} // ppid, and keys of later versions
            }
        }
        out.push(p);
    }
    Ok(out)
}

/// The allocator linked into the executable at `path` that bypasses
/// malloc, when its symbol table names one. A stripped executable names
/// none.
pub fn own_allocator(path: &Path) -> Option<&'static str> {
    use object::{Object, ObjectSymbol};
    let data = std::fs::read(path).ok()?;
    let file = object::File::parse(&*data).ok()?;
    file.symbols()
        .chain(file.dynamic_symbols())
        .filter(|s| s.is_definition())
        .find_map(|s| {
            let name = s.name().ok()?;
            OWN_ALLOCATORS
                .iter()
                .find(|(sym, _)| *sym == name)
                .map(|(_, what)| *what)
        })
}

/// The executable a command runs: its first word, as the shell finds it.
fn program(command: &[String], dir: &Path) -> Option<PathBuf> {
    let first = Path::new(command.first()?);
    if first.components().count() > 1 {
        return Some(dir.join(first));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| dir.join(d).join(first))
        .find(|p| p.is_file())
}

/// The malloc counter, preloaded.
#[derive(Debug, Clone, Copy, Default)]
pub struct Malloc;

impl Collect for Malloc {
    fn name(&self) -> &'static str {
        "malloc"
    }

    fn setup(&self, run: &mut RunSetup<'_>) {
        if LIBRARY.is_empty() || write_library(&run.files.malloc_library).is_err() {
            // The run goes on; `collect` says why there are no figures.
            return;
        }
        let mut preload = run.files.malloc_library.display().to_string();
        if let Some(theirs) = run
            .env
            .get("LD_PRELOAD")
            .cloned()
            .or_else(|| std::env::var("LD_PRELOAD").ok())
            .filter(|v| !v.is_empty())
        {
            preload = format!("{preload}:{theirs}");
        }
        run.env.insert(PRELOAD_ENV.into(), preload);
        run.env
            .insert(FILE_ENV.into(), run.files.malloc.display().to_string());
        if run.profile {
            run.env.insert(
                SITES_ENV.into(),
                sites_prefix(&run.files.malloc).display().to_string(),
            );
        }
    }

    fn collect(&self, run: &RunArtifacts<'_>) -> Result<Collected, CollectError> {
        let err = |message: String| CollectError {
            collector: "malloc",
            message,
        };
        if LIBRARY.is_empty() {
            return Err(err(
                "this memgate carries no malloc counter: it is built for x86-64 Linux with glibc only".into(),
            ));
        }
        let bypassed = |what: &str| {
            err(format!(
                "the program allocates with {what}, not through malloc, so the counter would read next to nothing; gate it with the probe (its jemalloc feature for jemalloc) or valgrind-dhat, or build it with the system allocator"
            ))
        };
        if let Some(what) = program(run.command, run.dir).and_then(|p| own_allocator(&p)) {
            return Err(bypassed(what));
        }
        let path = &run.files.malloc;
        let text = match crate::input::read(path, crate::input::FILE_LIMIT) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(err(format!("{}: {e}", path.display()))),
        };
        let counts = parse(path, &text)?;
        let Some(root) = counts
            .iter()
            .find(|p| Some(p.pid) == run.report.pid.map(i64::from))
        else {
            return Err(err(format!(
                "the program wrote no count ({}): it did not load the counter (a static executable, or one the loader will not preload into, such as a setuid one) or it ended without exit() (by _exit, exec or a signal)",
                path.display()
            )));
        };
        if !root.interposed {
            return Err(bypassed("an allocator of its own that defines malloc"));
        }
        let stacks = sites_prefix(path).with_extension(format!("sites.{}", root.pid));
        let sites = match crate::input::read(&stacks, crate::input::FILE_LIMIT) {
            Ok(bytes) => Some(("malloc", sites(&String::from_utf8_lossy(&bytes), run.tree))),
            Err(_) => None,
        };
        let sample = |metric: &'static MetricDef, v: u64| Sample {
            metric,
            source: "malloc",
            value: Value::Int(v),
        };
        let mut collected = Collected {
            samples: vec![
                sample(&metrics::HEAP_ALLOC_BYTES, root.bytes),
                sample(&metrics::HEAP_ALLOC_OBJECTS, root.blocks),
                sample(&metrics::HEAP_PEAK, root.peak),
                sample(&metrics::HEAP_END, root.end),
                sample(&metrics::HEAP_REALLOCS, root.reallocs),
            ],
            sites,
            ..Collected::default()
        };
        let others: Vec<&ProcessCount> = counts.iter().filter(|p| p.pid != root.pid).collect();
        if !others.is_empty() {
            let mut by_name: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
            for p in &others {
                let e = by_name.entry(&p.comm).or_default();
                e.0 += 1;
                e.1 += p.blocks;
            }
            let named: Vec<String> = by_name
                .iter()
                .map(|(comm, (n, blocks))| format!("{comm} x{n} ({blocks} blocks)"))
                .collect();
            collected.notes.push(format!(
                "malloc: the figures are the workload's own process; {} other process(es) of its tree were counted apart and left out: {}",
                others.len(),
                named.join(", ")
            ));
        }
        Ok(collected)
    }
}

/// The prefix of a run's stacks files: `run3.malloc` -> `run3.sites`.
fn sites_prefix(malloc_file: &Path) -> PathBuf {
    malloc_file.with_extension("sites")
}

/// Functions of Rust's runtime and standard library, and of C's: never a
/// site, folded into the caller that reached them. libtest (`test::`) and
/// its getopts are the harness of a `cargo test` binary, shipped with the
/// toolchain (cargo refuses `test` as a package's name): a test's samples
/// go to the test, the harness's own to nothing. An impl's method
/// (`<Type as Trait>::method`) is the runtime's when its type is, or when
/// its type is a generic parameter (`<T as SpecFromElem>::from_elem`) and
/// its trait the runtime's.
fn is_runtime(function: &str) -> bool {
    const PREFIXES: [&str; 11] = [
        "alloc::",
        "core::",
        "std::",
        "hashbrown::",
        "test::",
        "getopts::",
        "__rust",
        "__rdl_",
        "__rg_",
        "_start",
        "__libc",
    ];
    let runtime = |path: &str| {
        let path = path
            .trim_start_matches(['<', '&', '[', '*'])
            .trim_start_matches("mut ");
        PREFIXES.iter().any(|p| path.starts_with(p))
    };
    if let Some(inner) = function.strip_prefix('<')
        && let Some((ty, rest)) = inner.split_once(" as ")
    {
        let generic = !ty.contains("::");
        return runtime(ty) || (generic && runtime(rest));
    }
    runtime(function) || matches!(function, "main" | "malloc" | "calloc" | "realloc" | "free")
}

/// A module's function names by address (its symbol table), demangled.
struct Symbols {
    /// (address, name), sorted.
    by_address: Vec<(u64, String)>,
}

impl Symbols {
    fn read(path: &Path) -> Option<Symbols> {
        use object::{Object, ObjectSymbol};
        let data = std::fs::read(path).ok()?;
        let file = object::File::parse(&*data).ok()?;
        let mut by_address: Vec<(u64, String)> = file
            .symbols()
            .chain(file.dynamic_symbols())
            .filter(|s| s.kind() == object::SymbolKind::Text && s.address() != 0)
            .filter_map(|s| {
                let name = s.name().ok()?;
                Some((s.address(), format!("{:#}", rustc_demangle::demangle(name))))
            })
            .collect();
        by_address.sort();
        Some(Symbols { by_address })
    }

    /// The function containing `address`: the nearest symbol at or below.
    fn function(&self, address: u64) -> Option<&str> {
        let i = self.by_address.partition_point(|(a, _)| *a <= address);
        i.checked_sub(1).map(|i| self.by_address[i].1.as_str())
    }
}

/// Allocation sites from the counter's stacks file of one process: each
/// stack folded to its innermost frame in the program that is not Rust's
/// or C's runtime (`Vec::push` is charged to the function that pushed), its
/// samples' bytes and blocks charged there.
pub fn sites(text: &str, tree: &SourceTree) -> RunSites {
    let mut modules: Vec<Option<Symbols>> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut totals = SiteTotals::default();
    for line in text.lines().take(MAX_LINES * 10) {
        let mut words = line.split(' ');
        match words.next() {
            Some("module") => {
                let _index = words.next();
                let path: Vec<&str> = words.collect();
                let path = path.join(" ");
                // Only the program's own objects are symbolized: the
                // counter, the C library, libgcc and the loader hold no
                // site.
                let system = path.contains("libmemgate_malloc")
                    || path.starts_with("/lib")
                    || path.starts_with("/usr/lib")
                    || !path.starts_with('/');
                modules.push((!system).then(|| Symbols::read(Path::new(&path))).flatten());
                names.push(path);
            }
            Some("stack") => {
                let mut number = || words.next().and_then(|w| w.parse::<f64>().ok());
                let (Some(_samples), Some(bytes), Some(objects)) = (number(), number(), number())
                else {
                    continue;
                };
                // The program's own frames, innermost first: the first is
                // the site, the rest its callers (for the call paths).
                let frames: Vec<Frame<'_>> = words
                    .filter_map(|f| {
                        let (m, off) = f.split_once(':')?;
                        let symbols = modules.get(m.parse::<usize>().ok()?)?.as_ref()?;
                        // A return address: the call is the byte before.
                        let address = u64::from_str_radix(off, 16).ok()?.checked_sub(1)?;
                        symbols.function(address)
                    })
                    .filter(|f| !is_runtime(f))
                    .map(|function| Frame {
                        function,
                        file: "",
                        line: 0,
                    })
                    .collect();
                if !frames.is_empty() {
                    totals.add(
                        &frames,
                        Amounts {
                            alloc_bytes: bytes,
                            alloc_objects: objects,
                            end_bytes: 0.0,
                            peak_bytes: None,
                        },
                        tree,
                    );
                }
            }
            _ => {}
        }
    }
    totals.finish()
}

/// Writes the counter to `path` once per scratch directory, whole or not
/// at all (a temporary file renamed into place).
fn write_library(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    let tmp = path.with_extension("so.tmp");
    std::fs::write(&tmp, LIBRARY)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names as the xsv 0.13.0 trial's stacks gave them (demangled).
    #[test]
    fn runtime_frames_are_told_from_the_programs() {
        for runtime in [
            "<T as alloc::vec::spec_from_elem::SpecFromElem>::from_elem",
            "alloc::raw_vec::RawVecInner<A>::finish_grow",
            "<alloc::vec::Vec<T> as core::clone::Clone>::clone",
            "std::io::default_read_to_end",
            "__rust_alloc",
            "main",
            // libtest, as the semver 1.0.23 trial's stacks named it.
            "<test::term::terminfo::TerminfoTerminal<std::io::stdio::Stdout>>::new",
            "test::console::run_tests_console",
            "<getopts::OptGroup as core::clone::Clone>::clone",
        ] {
            assert!(is_runtime(runtime), "{runtime}");
        }
        for program in [
            "xsv::cmd::stats::Stats::add",
            "stats::unsorted::Unsorted<T>::cardinality",
            "csv::byte_record::ByteRecord::clone_truncated",
            "<xsv::config::Config as core::fmt::Debug>::fmt",
            "semver::parse::numeric_identifier",
            "test_version::test_eq",
        ] {
            assert!(!is_runtime(program), "{program}");
        }
    }

    #[test]
    fn lines_parse_and_malformed_ones_name_the_line() {
        let text = "memgate-malloc/v1 pid=7 ppid=1 interposed=1 blocks=3 bytes=300 reallocs=1 peak=256 end=0 comm=prog\n";
        let p = parse(Path::new("m"), text).unwrap();
        assert_eq!(
            p,
            vec![ProcessCount {
                pid: 7,
                interposed: true,
                blocks: 3,
                bytes: 300,
                reallocs: 1,
                peak: 256,
                end: 0,
                comm: "prog".into(),
            }]
        );
        let bad = format!("{text}memgate-malloc/v1 pid=x\n");
        let e = parse(Path::new("m"), &bad).unwrap_err();
        assert!(e.message.starts_with("m:2: pid=x"), "{e}");
        let e = parse(Path::new("m"), "hello\n").unwrap_err();
        assert!(e.message.contains("m:1: not a line of the counter"), "{e}");
    }
}
