//! Where memory grew: allocation sites from heap profiles, folded to the
//! first frame in the workload's own code, kept per workload in the
//! results, and compared between baseline and current for a metric that
//! regressed.
//!
//! A profile's stack is walked from the allocation outwards. The
//! allocator's own frames (up to Rust's `__rust_alloc` and its siblings)
//! are skipped, then every frame outside the workload's source tree (the
//! Go runtime and standard library, Rust's `alloc`/`core`/`std`,
//! dependencies): the first frame whose file is in the tree is the site,
//! so `runtime.makeslice` and `Vec::with_capacity` are charged to the
//! function that called them. With no such frame, the first frame that is
//! not the allocator's is the site. Sites are matched across builds by
//! function and file name, never by address or line: a change that shifts
//! lines still matches.
//!
//! Beside the sites, each profile keeps its call paths as folded stacks
//! (Brendan Gregg's `caller;callee` form): the workload's own frames from
//! the outermost down to the site, so a report can draw where in the
//! program memory grew, not only which function allocated it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Most sites kept per workload: the largest by any measure.
pub const MAX_SITES: usize = 200;

/// Most call paths kept per workload, and frames per path (the innermost).
pub const MAX_STACKS: usize = 100;
const MAX_DEPTH: usize = 24;

/// One frame of a stack, innermost first in a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The function's name as the profile has it.
    pub function: &'a str,
    /// The source file, absolute or relative; empty when unknown.
    pub file: &'a str,
    /// The line; 0 when unknown.
    pub line: u32,
}

/// The source files of a workload, to tell its own frames from the
/// runtime's, the standard library's and its dependencies'.
#[derive(Debug, Clone, Default)]
pub struct SourceTree {
    root: PathBuf,
    /// Source files under the root, relative, `/`-separated.
    files: Vec<String>,
}

/// Most files a source tree lists; directories skipped on the way.
const MAX_SOURCE_FILES: usize = 20_000;
const SKIPPED_DIRS: [&str; 5] = ["target", "vendor", "node_modules", "testdata", ".git"];

impl SourceTree {
    /// The `.go`, `.rs`, `.c`, `.cc` and `.cpp` files under `root`
    /// (bounded; build output and vendored code skipped).
    pub fn scan(root: &Path) -> SourceTree {
        let mut files = Vec::new();
        let mut stack = vec![root.to_owned()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                let name = e.file_name().to_string_lossy().into_owned();
                match e.file_type() {
                    Ok(t) if t.is_dir() => {
                        let skipped =
                            name.starts_with('.') || SKIPPED_DIRS.contains(&name.as_str());
                        if !skipped {
                            stack.push(path);
                        }
                    }
                    Ok(t) if t.is_file() => {
                        let source = [".go", ".rs", ".c", ".cc", ".cpp"]
                            .iter()
                            .any(|ext| name.ends_with(ext));
                        if source && let Ok(rel) = path.strip_prefix(root) {
                            files.push(rel.to_string_lossy().replace('\\', "/"));
                        }
                    }
                    _ => {}
                }
                if files.len() >= MAX_SOURCE_FILES {
                    break;
                }
            }
        }
        SourceTree {
            root: root.to_owned(),
            files,
        }
    }

    /// A tree of the given files (relative to `root`), as a scan would
    /// find them.
    pub fn of_files(root: &Path, files: &[&str]) -> SourceTree {
        SourceTree {
            root: root.to_owned(),
            files: files.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    /// `file` as reports show it: relative to the tree's root when it is
    /// under it (a profile names Go files by absolute path).
    pub fn shown<'a>(&self, file: &'a str) -> &'a str {
        Path::new(file)
            .strip_prefix(&self.root)
            .ok()
            .and_then(|p| p.to_str())
            .unwrap_or(file)
    }

    /// Whether `file`, as a profile names it, is one of the tree's: an
    /// absolute path under the root, or a relative one that matches a
    /// tree file's trailing path components (valgrind names a file by its
    /// base name; dhat-rs by a path from some crate root).
    pub fn owns(&self, file: &str) -> bool {
        if file.is_empty() {
            return false;
        }
        let path = Path::new(file);
        if path.is_absolute() {
            return path.starts_with(&self.root);
        }
        let aligned = |long: &str, short: &str| {
            long == short
                || long
                    .strip_suffix(short)
                    .is_some_and(|head| head.ends_with('/'))
        };
        self.files
            .iter()
            .any(|f| aligned(f, file) || aligned(file, f))
    }
}

/// Frames of the allocator itself in a Rust program: every frame up to
/// the outermost of these is the allocator's.
fn is_allocator_entry(function: &str) -> bool {
    let f = function.rsplit("::").next().unwrap_or(function);
    matches!(
        f,
        "__rust_alloc" | "__rust_alloc_zeroed" | "__rust_realloc" | "__rust_dealloc"
    )
}

/// Frames that are never a site: allocation entry points of C and Go.
fn is_allocator(function: &str) -> bool {
    matches!(
        function,
        "malloc" | "calloc" | "realloc" | "memalign" | "posix_memalign" | "aligned_alloc"
    ) || function.starts_with("operator new")
        || function.starts_with("runtime.")
}

/// The folded call path of a stack (innermost frame first): the
/// workload's own frames above its site, outermost first, then the site,
/// joined by `;`; at most [`MAX_DEPTH`] frames, the innermost. A stack
/// that names no files (the malloc counter's: symbolized from the
/// program's own symbol table, the runtime's frames already left out) is
/// the program's throughout.
fn path_of(frames: &[Frame<'_>], site: &Frame<'_>, tree: &SourceTree) -> String {
    let at = frames
        .iter()
        .position(|f| f == site)
        .map_or(frames.len(), |i| i + 1);
    let no_files = frames.iter().all(|f| f.file.is_empty());
    let mut path: Vec<&str> = vec![site.function];
    path.extend(
        frames[at..]
            .iter()
            .filter(|f| (no_files || tree.owns(f.file)) && !is_allocator(f.function))
            .map(|f| f.function)
            .take(MAX_DEPTH - 1),
    );
    path.reverse();
    // A `;` inside a name would split it: folded stacks cannot say it.
    let names: Vec<String> = path.iter().map(|f| f.replace(';', ",")).collect();
    names.join(";")
}

/// The site of a stack (innermost frame first).
pub fn site_of<'a>(frames: &[Frame<'a>], tree: &SourceTree) -> Option<Frame<'a>> {
    let start = frames
        .iter()
        .rposition(|f| is_allocator_entry(f.function))
        .map_or(0, |i| i + 1);
    let rest = &frames[start..];
    rest.iter()
        .find(|f| tree.owns(f.file))
        .or_else(|| rest.iter().find(|f| !is_allocator(f.function)))
        .or_else(|| frames.first())
        .copied()
}

/// One allocation site and what it allocated in a run (or, in results,
/// the median over the runs that recorded profiles).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The function, as the profile names it.
    pub function: String,
    /// Its source file.
    pub file: String,
    /// The line of the allocation in it (the first seen).
    pub line: u32,
    /// Bytes allocated there over the run.
    pub alloc_bytes: f64,
    /// Objects (blocks) allocated there over the run.
    pub alloc_objects: f64,
    /// Bytes allocated there still in use at exit (Go: after the final
    /// collection; DHAT: at t-end).
    pub end_bytes: f64,
    /// Bytes allocated there live at the heap's peak (DHAT's t-gmax); Go's
    /// heap profile has no peak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_bytes: Option<f64>,
}

impl Site {
    /// The key sites are matched by across builds: function and file name.
    pub fn key(&self) -> (String, String) {
        (self.function.clone(), base_name(&self.file).to_owned())
    }

    fn measure(&self, m: Measure) -> f64 {
        self.amounts().measure(m)
    }

    fn amounts(&self) -> Amounts {
        Amounts {
            alloc_bytes: self.alloc_bytes,
            alloc_objects: self.alloc_objects,
            end_bytes: self.end_bytes,
            peak_bytes: self.peak_bytes,
        }
    }
}

fn base_name(file: &str) -> &str {
    file.rsplit(['/', '\\']).next().unwrap_or(file)
}

/// One call path and what it allocated in a run (or, in results, the
/// median over the runs that recorded profiles).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Stack {
    /// The workload's frames, outermost first, the site last, joined by
    /// `;` (a folded stack).
    pub folded: String,
    /// Bytes allocated along it over the run.
    pub alloc_bytes: f64,
    /// Objects allocated along it.
    pub alloc_objects: f64,
    /// Bytes allocated along it still in use at exit.
    pub end_bytes: f64,
    /// Bytes allocated along it live at the heap's peak, when the profile
    /// has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_bytes: Option<f64>,
}

impl Stack {
    fn measure(&self, m: Measure) -> f64 {
        self.amounts().measure(m)
    }

    fn amounts(&self) -> Amounts {
        Amounts {
            alloc_bytes: self.alloc_bytes,
            alloc_objects: self.alloc_objects,
            end_bytes: self.end_bytes,
            peak_bytes: self.peak_bytes,
        }
    }
}

/// What one run's profile says: its sites and its call paths.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSites {
    /// The sites.
    pub sites: Vec<Site>,
    /// The call paths.
    pub stacks: Vec<Stack>,
}

/// Adds up a run's stacks into sites and call paths.
#[derive(Debug, Default)]
pub struct SiteTotals {
    sites: BTreeMap<(String, String), Site>,
    stacks: BTreeMap<String, Amounts>,
    peak: bool,
}

/// What one stack allocated, as a profile records it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Amounts {
    /// Bytes allocated.
    pub alloc_bytes: f64,
    /// Objects allocated.
    pub alloc_objects: f64,
    /// Bytes in use at exit.
    pub end_bytes: f64,
    /// Bytes live at the peak, when the profile has it.
    pub peak_bytes: Option<f64>,
}

impl Amounts {
    fn measure(&self, m: Measure) -> f64 {
        match m {
            Measure::AllocBytes => self.alloc_bytes,
            Measure::AllocObjects => self.alloc_objects,
            Measure::EndBytes => self.end_bytes,
            Measure::PeakBytes => self.peak_bytes.unwrap_or(self.end_bytes),
        }
    }
}

impl SiteTotals {
    /// Charges `amounts` to the site of `frames`.
    pub fn add(&mut self, frames: &[Frame<'_>], amounts: Amounts, tree: &SourceTree) {
        let Some(site) = site_of(frames, tree) else {
            return;
        };
        self.peak |= amounts.peak_bytes.is_some();
        let key = (site.function.to_owned(), base_name(site.file).to_owned());
        let entry = self.sites.entry(key).or_insert_with(|| Site {
            function: site.function.to_owned(),
            file: tree.shown(site.file).to_owned(),
            line: site.line,
            alloc_bytes: 0.0,
            alloc_objects: 0.0,
            end_bytes: 0.0,
            peak_bytes: None,
        });
        entry.alloc_bytes += amounts.alloc_bytes;
        entry.alloc_objects += amounts.alloc_objects;
        entry.end_bytes += amounts.end_bytes;
        if let Some(p) = amounts.peak_bytes {
            entry.peak_bytes = Some(entry.peak_bytes.unwrap_or(0.0) + p);
        }
        let path = self.stacks.entry(path_of(frames, &site, tree)).or_default();
        path.alloc_bytes += amounts.alloc_bytes;
        path.alloc_objects += amounts.alloc_objects;
        path.end_bytes += amounts.end_bytes;
        if let Some(p) = amounts.peak_bytes {
            path.peak_bytes = Some(path.peak_bytes.unwrap_or(0.0) + p);
        }
    }

    /// The run's sites and call paths.
    pub fn finish(self) -> RunSites {
        RunSites {
            sites: self.sites.into_values().collect(),
            stacks: self
                .stacks
                .into_iter()
                .map(|(folded, a)| Stack {
                    folded,
                    alloc_bytes: a.alloc_bytes,
                    alloc_objects: a.alloc_objects,
                    end_bytes: a.end_bytes,
                    peak_bytes: a.peak_bytes,
                })
                .collect(),
        }
    }
}

/// A workload's sites: the median of each figure over the runs that
/// recorded a profile, the largest [`MAX_SITES`] kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Sites {
    /// The profile they came from: `pprof` (Go heap profile) or `dhat`.
    pub source: String,
    /// Runs whose profiles were read.
    pub runs: u32,
    /// The sites, largest allocation first.
    pub sites: Vec<Site>,
    /// The call paths, largest allocation first; the largest
    /// [`MAX_STACKS`] by any measure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stacks: Vec<Stack>,
}

impl Sites {
    /// The median sites and call paths of several runs' (one missing from
    /// a run counts zero there).
    pub fn of_runs(source: &str, runs: &[RunSites]) -> Sites {
        let n = runs.len();
        let mut sites = medians(
            n,
            runs.iter().map(|r| r.sites.as_slice()),
            Site::key,
            Site::amounts,
            |first, a| Site {
                function: first.function.clone(),
                file: first.file.clone(),
                line: first.line,
                alloc_bytes: a.alloc_bytes,
                alloc_objects: a.alloc_objects,
                end_bytes: a.end_bytes,
                peak_bytes: a.peak_bytes,
            },
        );
        largest(&mut sites, MAX_SITES, Site::measure);
        let mut stacks = medians(
            n,
            runs.iter().map(|r| r.stacks.as_slice()),
            |s: &Stack| s.folded.clone(),
            Stack::amounts,
            |first, a| Stack {
                folded: first.folded.clone(),
                alloc_bytes: a.alloc_bytes,
                alloc_objects: a.alloc_objects,
                end_bytes: a.end_bytes,
                peak_bytes: a.peak_bytes,
            },
        );
        largest(&mut stacks, MAX_STACKS, Stack::measure);
        Sites {
            source: source.to_owned(),
            runs: n as u32,
            sites,
            stacks,
        }
    }
}

/// The median amounts of each item (by `key`) over `n` runs' lists (an
/// item missing from a run counts zero there), largest allocation first.
fn medians<'a, T: 'a, K: Ord>(
    n: usize,
    runs: impl Iterator<Item = &'a [T]>,
    key: impl Fn(&T) -> K,
    amounts: impl Fn(&T) -> Amounts,
    make: impl Fn(&T, Amounts) -> T,
) -> Vec<T> {
    let mut by_key: BTreeMap<K, Vec<&T>> = BTreeMap::new();
    for run in runs {
        for x in run {
            by_key.entry(key(x)).or_default().push(x);
        }
    }
    let median = |xs: Vec<f64>| -> f64 {
        let mut all = xs;
        all.resize(n, 0.0);
        crate::stats::median(&all)
    };
    let mut out: Vec<T> = by_key
        .into_values()
        .map(|seen| {
            let a: Vec<Amounts> = seen.iter().map(|x| amounts(x)).collect();
            let peak = a.iter().any(|x| x.peak_bytes.is_some());
            let m = Amounts {
                alloc_bytes: median(a.iter().map(|x| x.alloc_bytes).collect()),
                alloc_objects: median(a.iter().map(|x| x.alloc_objects).collect()),
                end_bytes: median(a.iter().map(|x| x.end_bytes).collect()),
                peak_bytes: peak.then(|| median(a.iter().filter_map(|x| x.peak_bytes).collect())),
            };
            make(seen[0], m)
        })
        .collect();
    out.sort_by(|a, b| amounts(b).alloc_bytes.total_cmp(&amounts(a).alloc_bytes));
    out
}

/// Keeps at most `most` of `items` (in order): the largest by each
/// measure, so a small allocator that retains much is not dropped for
/// one that churns.
fn largest<T>(items: &mut Vec<T>, most: usize, measure: impl Fn(&T, Measure) -> f64) {
    if items.len() <= most {
        return;
    }
    let mut keep: Vec<bool> = vec![false; items.len()];
    for m in [
        Measure::AllocBytes,
        Measure::AllocObjects,
        Measure::EndBytes,
        Measure::PeakBytes,
    ] {
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by(|&a, &b| measure(&items[b], m).total_cmp(&measure(&items[a], m)));
        for &i in order.iter().take(most / 4) {
            keep[i] = true;
        }
    }
    let mut i = 0;
    items.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

/// Which figure of a site explains a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// Bytes allocated over the run.
    AllocBytes,
    /// Objects allocated over the run.
    AllocObjects,
    /// Bytes in use at exit.
    EndBytes,
    /// Bytes live at the heap's peak (in use at exit for Go).
    PeakBytes,
}

impl Measure {
    /// The site figure that explains `metric`, for the metrics a heap
    /// profile can explain.
    pub fn for_metric(metric: &str) -> Option<Measure> {
        Some(match metric {
            "heap.alloc.bytes" | "op.alloc.bytes" | "gc.cycles" => Measure::AllocBytes,
            "heap.alloc.objects" | "op.alloc.objects" => Measure::AllocObjects,
            "heap.live.bytes" | "heap.end.bytes" | "heap.goal.bytes" => Measure::EndBytes,
            "heap.peak.bytes" | "process.rss.peak" | "memory.total.bytes" => Measure::PeakBytes,
            _ => return None,
        })
    }

    /// In words, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Measure::AllocBytes => "bytes allocated",
            Measure::AllocObjects => "objects allocated",
            Measure::EndBytes => "bytes in use at exit",
            Measure::PeakBytes => "bytes live at the heap's peak",
        }
    }
}

/// How a site changed between the sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum SiteStatus {
    /// On both sides.
    Both,
    /// Only in the current profile.
    New,
    /// Only in the baseline's.
    Vanished,
}

/// One site's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SiteChange {
    /// The function.
    pub function: String,
    /// The file, as the current profile names it (the baseline's for a
    /// vanished site).
    pub file: String,
    /// The line there.
    pub line: u32,
    /// The figure in the baseline.
    pub baseline: f64,
    /// The figure now.
    pub current: f64,
    /// current - baseline.
    pub change: f64,
    /// The share of the metric's change this site's change makes up, when
    /// the metric grew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// Both sides, new or vanished.
    pub status: SiteStatus,
}

impl SiteChange {
    /// The site as reports name it: `function (file:line)`, the file's
    /// base name when `base_name`, or the function alone when the profile
    /// names no file (the malloc counter's stacks are symbolized by the
    /// program's symbol table).
    pub fn named(&self, base_name: bool) -> String {
        if self.file.is_empty() {
            return self.function.clone();
        }
        let file = if base_name {
            self.file.rsplit('/').next().unwrap_or(&self.file)
        } else {
            &self.file
        };
        format!("{} ({file}:{})", self.function, self.line)
    }
}

/// One call path's figure on both sides (zero where a side lacks it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StackChange {
    /// The workload's frames, outermost first, the site last, joined by `;`.
    pub folded: String,
    /// The figure in the baseline.
    pub baseline: f64,
    /// The figure now.
    pub current: f64,
}

/// Where a metric's change came from, or why it cannot be said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Attribution {
    /// The site figure compared.
    pub measure: Measure,
    /// That figure in words, as the profile has it (a Go heap profile has
    /// no peak: its "peak" is what is in use at exit).
    pub figure: String,
    /// The profile the sites come from (`pprof`, `dhat`) and the runs a
    /// side read, e.g. `pprof, 3 and 3 runs`.
    pub profiles: String,
    /// The sites whose figure changed, largest growth first; empty when a
    /// side has no profile.
    pub sites: Vec<SiteChange>,
    /// Every call path either side recorded, in the sites' scale, largest
    /// first: the shape a flame graph draws.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stacks: Vec<StackChange>,
    /// Why there are no sites, when there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Compares the sites of both sides for a metric whose median moved by
/// `metric_change` (in its unit). `per_op`: the metric is per operation of
/// a benchmark run this many times, so each site's whole-run figure is
/// divided by it. A site's share is its part of the change, over the
/// larger of the metric's change and the sites' growth together, so the
/// shares of one change add up to at most 100% (a sampled profile and a
/// median need not agree).
///
/// `exact`: the metric's baseline and current figures, when the metric is
/// the very quantity the sites measure (bytes or objects allocated, bytes
/// in use at exit). Each side's sites are then scaled to add up to it: a
/// sampled profile's error is mostly common to a side's sites, and scaled
/// away it no longer passes for a change (Go's retain, +20% in one site:
/// that site's share of the in-use change read 0.80-0.98 from the sampled
/// figures at one sample per 16 KiB, its sampled growth 4.7-5.6 MiB of an
/// exactly measured 5.9 MiB).
pub fn diff(
    base: &Sites,
    cur: &Sites,
    measure: Measure,
    metric_change: f64,
    per_op: Option<u64>,
    exact: Option<(f64, f64)>,
) -> Attribution {
    if cur.source == "malloc" && matches!(measure, Measure::EndBytes | Measure::PeakBytes) {
        return Attribution {
            note: Some(
                "no allocation sites for it: the malloc counter's stacks say where bytes were allocated, not where they were held; see heap.alloc.bytes, or gate the workload under valgrind-dhat for its peak's sites".into(),
            ),
            ..missing(measure, "current side")
        };
    }
    let total = |s: &Sites| -> f64 { s.sites.iter().map(|x| x.measure(measure)).sum() };
    let (base_factor, cur_factor) = match exact {
        Some((b, c)) if total(base) > 0.0 && total(cur) > 0.0 && b > 0.0 && c > 0.0 => {
            (b / total(base), c / total(cur))
        }
        _ => (1.0, 1.0),
    };
    let scale = per_op.map_or(1.0, |n| 1.0 / n.max(1) as f64);
    let index = |s: &Sites| -> BTreeMap<(String, String), Site> {
        s.sites.iter().map(|x| (x.key(), x.clone())).collect()
    };
    let (b, c) = (index(base), index(cur));
    let mut keys: Vec<&(String, String)> = b.keys().chain(c.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut sites: Vec<SiteChange> = keys
        .into_iter()
        .filter_map(|k| {
            let (bs, cs) = (b.get(k), c.get(k));
            let before = bs.map_or(0.0, |s| s.measure(measure)) * scale * base_factor;
            let after = cs.map_or(0.0, |s| s.measure(measure)) * scale * cur_factor;
            let shown = cs.or(bs)?;
            let change = after - before;
            (change != 0.0).then(|| SiteChange {
                function: shown.function.clone(),
                file: shown.file.clone(),
                line: shown.line,
                baseline: before,
                current: after,
                change,
                share: None,
                status: match (bs, cs) {
                    (Some(_), Some(_)) => SiteStatus::Both,
                    (None, _) => SiteStatus::New,
                    (_, None) => SiteStatus::Vanished,
                },
            })
        })
        .collect();
    sites.sort_by(|x, y| y.change.total_cmp(&x.change));
    let grown: f64 = sites.iter().map(|x| x.change.max(0.0)).sum();
    let whole = metric_change.max(grown);
    if metric_change > 0.0 {
        for x in &mut sites {
            x.share = Some(x.change / whole);
        }
    }
    let figure = if measure == Measure::PeakBytes && cur.source == "pprof" {
        "bytes in use at exit (a Go heap profile has no peak)".to_owned()
    } else {
        measure.describe().to_owned()
    };
    let figure = match per_op {
        Some(n) => format!("{figure} per op (the whole run's over its {n} iterations)"),
        None => figure,
    };
    fn paths(s: &Sites, measure: Measure) -> BTreeMap<&str, f64> {
        s.stacks
            .iter()
            .map(|x| (x.folded.as_str(), x.measure(measure)))
            .collect()
    }
    let (bp, cp) = (paths(base, measure), paths(cur, measure));
    let mut stacks: Vec<StackChange> = bp
        .keys()
        .chain(cp.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|k| StackChange {
            folded: (*k).to_owned(),
            baseline: bp.get(k).copied().unwrap_or(0.0) * scale * base_factor,
            current: cp.get(k).copied().unwrap_or(0.0) * scale * cur_factor,
        })
        .filter(|x| x.baseline > 0.0 || x.current > 0.0)
        .collect();
    stacks.sort_by(|x, y| (y.baseline + y.current).total_cmp(&(x.baseline + x.current)));
    Attribution {
        measure,
        figure,
        profiles: format!("{}, {} and {} runs", cur.source, base.runs, cur.runs),
        sites,
        stacks,
        note: None,
    }
}

/// The attribution when a side has no profile.
pub fn missing(measure: Measure, which: &str) -> Attribution {
    Attribution {
        measure,
        figure: measure.describe().to_owned(),
        profiles: String::new(),
        sites: Vec::new(),
        stacks: Vec::new(),
        note: Some(format!(
            "no allocation sites: the {which} has no heap profile (Go: the probe in a footprint run; Rust: dhat or valgrind-dhat)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> SourceTree {
        SourceTree {
            root: PathBuf::from("/repo/w"),
            files: files.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn f<'a>(function: &'a str, file: &'a str) -> Frame<'a> {
        Frame {
            function,
            file,
            line: 1,
        }
    }

    #[test]
    fn runtime_and_library_frames_fold_into_their_caller() {
        let t = tree(&["cmd/retain/main.go", "src/bin/retain.rs", "src/lib.rs"]);
        let go = [
            f("runtime.mallocgc", "/usr/lib/go/src/runtime/malloc.go"),
            f("runtime.makeslice", "/usr/lib/go/src/runtime/slice.go"),
            f("main.newEntry", "/repo/w/cmd/retain/main.go"),
            f("main.main", "/repo/w/cmd/retain/main.go"),
        ];
        assert_eq!(site_of(&go, &t).unwrap().function, "main.newEntry");
        // dhat-rs: the probe and alloc frames up to __rust_alloc, then std.
        let rust = [
            f("alloc<dhat::Alloc>", "probe/src/lib.rs"),
            f("__rust_alloc", "rust/src/lib.rs"),
            f("alloc", "alloc/src/alloc.rs"),
            f("with_capacity<u8>", "src/vec/mod.rs"),
            f("new_entry", "src/bin/retain.rs"),
            f("main", "src/bin/retain.rs"),
        ];
        assert_eq!(site_of(&rust, &t).unwrap().function, "new_entry");
        // valgrind: base names only.
        let vg = [
            f(
                "malloc",
                "in /usr/libexec/valgrind/vgpreload_dhat-amd64-linux.so",
            ),
            f("__rustc::__rust_alloc", "lib.rs"),
            f("alloc", "alloc.rs"),
            f("new_entry", "retain.rs"),
        ];
        assert_eq!(site_of(&vg, &t).unwrap().function, "new_entry");
        // No own frame: the first one that is not the allocator's.
        let c = [f("malloc", ""), f("__fopen_internal", "iofopen.c")];
        assert_eq!(site_of(&c, &t).unwrap().function, "__fopen_internal");
    }

    #[test]
    fn call_paths_keep_the_workloads_frames_down_to_the_site() {
        let t = tree(&["cmd/retain/main.go"]);
        let main = "/repo/w/cmd/retain/main.go";
        let stack = |leaf: &'static str| {
            [
                f("runtime.mallocgc", "/usr/lib/go/src/runtime/malloc.go"),
                f(leaf, main),
                f("sort.Slice", "/usr/lib/go/src/sort/slice.go"),
                f("main.load", main),
                f("main.main", main),
                f("runtime.main", "/usr/lib/go/src/runtime/proc.go"),
            ]
        };
        let mut totals = SiteTotals::default();
        let amounts = |b| Amounts {
            alloc_bytes: b,
            alloc_objects: 1.0,
            end_bytes: 0.0,
            peak_bytes: None,
        };
        totals.add(&stack("main.newEntry"), amounts(100.0), &t);
        totals.add(&stack("main.newEntry"), amounts(50.0), &t);
        totals.add(&stack("main.newLabel"), amounts(10.0), &t);
        let run = totals.finish();
        let paths: Vec<(&str, f64)> = run
            .stacks
            .iter()
            .map(|s| (s.folded.as_str(), s.alloc_bytes))
            .collect();
        assert_eq!(
            paths,
            [
                ("main.main;main.load;main.newEntry", 150.0),
                ("main.main;main.load;main.newLabel", 10.0)
            ]
        );
        // Compared: each path on both sides, a new one at zero before.
        let base = Sites::of_runs("pprof", std::slice::from_ref(&run));
        let mut more = SiteTotals::default();
        more.add(&stack("main.newEntry"), amounts(300.0), &t);
        more.add(&stack("main.grow"), amounts(5.0), &t);
        let cur = Sites::of_runs("pprof", &[more.finish()]);
        let a = diff(&base, &cur, Measure::AllocBytes, 145.0, None, None);
        let got: Vec<(&str, f64, f64)> = a
            .stacks
            .iter()
            .map(|s| (s.folded.as_str(), s.baseline, s.current))
            .collect();
        assert_eq!(
            got,
            [
                ("main.main;main.load;main.newEntry", 150.0, 300.0),
                ("main.main;main.load;main.newLabel", 10.0, 0.0),
                ("main.main;main.load;main.grow", 0.0, 5.0),
            ]
        );
    }

    fn run(sites: Vec<Site>) -> RunSites {
        RunSites {
            sites,
            stacks: Vec::new(),
        }
    }

    fn site(function: &str, alloc: f64) -> Site {
        Site {
            function: function.into(),
            file: format!("/a/{function}.go"),
            line: 3,
            alloc_bytes: alloc,
            alloc_objects: 1.0,
            end_bytes: 0.0,
            peak_bytes: None,
        }
    }

    #[test]
    fn sites_scaled_to_the_exact_figure_lose_a_sampling_error_common_to_them() {
        let site = |function: &str, alloc_bytes: f64| Site {
            function: function.into(),
            file: "main.go".into(),
            line: 1,
            alloc_bytes,
            alloc_objects: 0.0,
            end_bytes: 0.0,
            peak_bytes: None,
        };
        let sites = |v: Vec<Site>| Sites {
            source: "pprof".into(),
            runs: 1,
            sites: v,
            stacks: Vec::new(),
        };
        // Exactly: a 200 -> 260, b 20 -> 20. Sampled: half of everything
        // on the baseline side, 0.55 of it on the current side.
        let base = sites(vec![site("a", 100.0), site("b", 10.0)]);
        let cur = sites(vec![site("a", 143.0), site("b", 11.0)]);
        let scaled = diff(
            &base,
            &cur,
            Measure::AllocBytes,
            60.0,
            None,
            Some((220.0, 280.0)),
        );
        assert_eq!(scaled.sites[0].function, "a");
        assert!(
            (scaled.sites[0].change - 60.0).abs() < 1e-9,
            "{:?}",
            scaled.sites
        );
        assert!((scaled.sites[0].share.unwrap() - 1.0).abs() < 1e-9);
        assert!(
            scaled
                .sites
                .iter()
                .all(|x| x.function != "b" || x.change.abs() < 1e-9)
        );
        // Unscaled, the sampled figures give a a change of 43 of 60.
        let raw = diff(&base, &cur, Measure::AllocBytes, 60.0, None, None);
        assert!((raw.sites[0].share.unwrap() - 43.0 / 60.0).abs() < 1e-9);
    }

    #[test]
    fn diff_names_the_grown_site_with_its_share() {
        let base = Sites::of_runs(
            "pprof",
            &[run(vec![
                site("main.newEntry", 100.0),
                site("main.newLabel", 10.0),
            ])],
        );
        let mut moved = site("main.newEntry", 120.0);
        moved.file = "/b/main.newEntry.go".into(); // another checkout
        moved.line = 9; // lines shifted
        let cur = Sites::of_runs(
            "pprof",
            &[run(vec![
                moved,
                site("main.newLabel", 10.0),
                site("main.extra", 2.0),
            ])],
        );
        let a = diff(&base, &cur, Measure::AllocBytes, 22.0, None, None);
        assert_eq!(a.sites[0].function, "main.newEntry");
        assert_eq!(a.sites[0].status, SiteStatus::Both);
        assert!((a.sites[0].share.unwrap() - 20.0 / 22.0).abs() < 1e-12);
        assert_eq!(a.sites[1].status, SiteStatus::New);
        assert_eq!(a.sites.len(), 2, "unchanged sites are left out");

        // A per-op change (+2 B/op) against whole-run profiles of 10
        // iterations: sites per op, and shares that never pass 100%.
        let a = diff(&base, &cur, Measure::AllocBytes, 2.0, Some(10), None);
        assert!((a.sites[0].change - 2.0).abs() < 1e-12, "{:?}", a.sites[0]);
        let total: f64 = a.sites.iter().filter_map(|x| x.share).sum();
        assert!(total <= 1.0 + 1e-12, "shares add up to {total}");
        assert!(a.figure.contains("per op"), "{}", a.figure);
        let a = diff(&base, &cur, Measure::AllocBytes, 0.5, Some(10), None);
        let total: f64 = a.sites.iter().filter_map(|x| x.share).sum();
        assert!(
            (total - 1.0).abs() < 1e-12,
            "the sites' growth is the whole: {total}"
        );
    }

    #[test]
    fn runs_combine_by_median_and_a_missing_site_counts_zero() {
        let s = Sites::of_runs(
            "dhat",
            &[
                run(vec![site("a", 10.0)]),
                run(vec![site("a", 30.0), site("b", 5.0)]),
                run(vec![site("a", 20.0)]),
            ],
        );
        let get = |n: &str| {
            s.sites
                .iter()
                .find(|x| x.function == n)
                .unwrap()
                .alloc_bytes
        };
        assert_eq!(get("a"), 20.0);
        assert_eq!(get("b"), 0.0);
    }
}
