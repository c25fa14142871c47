//! Importing the outputs of other tools as results, so they can be gated
//! like memgate's own runs: `go test -bench -benchmem` output (one sample
//! per benchmark line, a workload per benchmark), saved gctrace stderr and
//! DHAT profiles (one sample per file). One [`Import`] per format.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::{Sample, dhat, gctrace, gobench, pprof};
use crate::attribution::{Sites, SourceTree};
use crate::fingerprint::Environment;
use crate::lang::Lang;
use crate::metrics::Unit;
use crate::results::{Results, Series, Value, WorkloadResults, find_or_push};

/// A format that files can be imported from.
pub trait Import {
    /// Reads every file into one results value.
    fn import(&self, files: &[PathBuf]) -> Result<Results, ImportError>;
}

/// `go test -bench -benchmem` output: a workload per benchmark
/// (`pkg/Name-N`), a sample per result line, every unit a metric; the
/// machine from goos, goarch and cpu.
#[derive(Debug, Clone, Default)]
pub struct Gobench {
    /// `go test -memprofile` output of the same run: its allocation sites
    /// (folded to the source tree of the working directory) go to every
    /// imported benchmark, since the profile covers the whole run.
    pub memprofile: Option<PathBuf>,
}

/// Saved stderr with gctrace lines: a sample per file.
#[derive(Debug, Clone, Default)]
pub struct Gctrace {
    /// Every file a sample of this workload, instead of a workload per file.
    pub name: Option<String>,
}

/// DHAT profiles (dhat-rs or valgrind): a sample per file.
#[derive(Debug, Clone, Default)]
pub struct Dhat {
    /// Every file a sample of this workload, instead of a workload per file.
    pub name: Option<String>,
}

impl Import for Gobench {
    fn import(&self, files: &[PathBuf]) -> Result<Results, ImportError> {
        let mut results = from_gobench(files)?;
        if let Some(path) = &self.memprofile {
            let cwd = std::env::current_dir().unwrap_or_default();
            let sites = pprof::read_sites(path, &SourceTree::scan(&cwd))?;
            let sites = Sites::of_runs("pprof", &[sites]);
            for w in &mut results.workloads {
                w.sites = Some(sites.clone());
            }
        }
        Ok(results)
    }
}

impl Import for Gctrace {
    fn import(&self, files: &[PathBuf]) -> Result<Results, ImportError> {
        from_gctrace(files, self.name.as_deref())
    }
}

impl Import for Dhat {
    fn import(&self, files: &[PathBuf]) -> Result<Results, ImportError> {
        from_dhat(files, self.name.as_deref())
    }
}

/// Why an input could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not readable.
    #[error("{}: cannot read the file: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A Go benchmark file with a malformed line.
    #[error(transparent)]
    Gobench(#[from] gobench::ParseError),
    /// A DHAT file that cannot be used.
    #[error(transparent)]
    Dhat(#[from] dhat::DhatError),
    /// A heap profile that cannot be used.
    #[error(transparent)]
    Pprof(#[from] pprof::PprofError),
    /// A figure a results file cannot hold (negative, not finite, 2^53
    /// and above).
    #[error("{}:{line}: {what}", path.display())]
    Value {
        /// The file.
        path: PathBuf,
        /// Its line (1-based).
        line: usize,
        /// The value and why.
        what: String,
    },
    /// A `--name` a config could not give a workload.
    #[error("{0}")]
    Name(String),
    /// Nothing to import.
    #[error("{}: {what}", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
        /// What was missing.
        what: String,
    },
}

/// The text of an input file, gzip-compressed or not (by its magic bytes,
/// RFC 1952), within the input bound compressed and decompressed.
pub fn read(path: &Path) -> Result<String, ImportError> {
    use crate::input::GunzipError;
    let limit = crate::input::FILE_LIMIT;
    let failed = |source: std::io::Error| ImportError::Read {
        path: path.to_owned(),
        source,
    };
    let bytes = crate::input::read(path, limit).map_err(failed)?;
    let bytes = match crate::input::gunzip(&bytes, limit) {
        Ok(Some(raw)) => raw,
        Ok(None) => bytes,
        Err(GunzipError::Corrupt(e)) => return Err(failed(e)),
        Err(GunzipError::TooLarge) => {
            return Err(failed(std::io::Error::other(format!(
                "decompresses past {} MiB",
                limit >> 20
            ))));
        }
    };
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

fn workload(name: &str, lang: Lang, environment: usize, command: Vec<String>) -> WorkloadResults {
    WorkloadResults {
        name: name.to_owned(),
        lang,
        environment,
        command,
        tags: BTreeMap::new(),
        binary_sha256: None,
        iterations: None,
        build_failure: None,
        runs: Vec::new(),
        metrics: BTreeMap::new(),
        sites: None,
    }
}

fn from_gobench(files: &[PathBuf]) -> Result<Results, ImportError> {
    let mut import = GobenchImport::default();
    for path in files {
        import.add(path, &read(path)?)?;
    }
    Ok(import.finish())
}

/// `go test -bench` output turned into results, file by file: a workload
/// per benchmark (`pkg/Name`, the `-N` suffix dropped), a sample per
/// result line, an environment per goos, goarch and cpu. `compare` uses it
/// to read benchmark text directly.
#[derive(Debug, Default)]
pub struct GobenchImport {
    environments: Vec<Environment>,
    workloads: Vec<WorkloadResults>,
    // Workloads by name: a linear search per line was quadratic in the
    // benchmarks of a file, and an ordered map's string comparisons were
    // a tenth of an import.
    by_name: HashMap<String, usize>,
    // Each workload's series while files are added, with their metric's
    // index in `metrics`, in the order first seen; moved into the
    // workloads' maps by `finish`. A workload has a few, so finding one
    // is comparing a few integers, where the map's lookups by name were
    // a tenth of an import too.
    series: Vec<Vec<(usize, Series)>>,
    // Every metric name met, by index.
    metrics: Vec<String>,
}

impl GobenchImport {
    /// Adds the result lines of one file's text.
    /// (One pass over the result lines: each finds or adds its
    /// environment, its workload and its series.)
    pub fn add(&mut self, path: &Path, text: &str) -> Result<&mut Self, ImportError> {
        let file = gobench::parse(path, text)?;
        if file.lines.is_empty() {
            return Err(ImportError::Empty {
                path: path.to_owned(),
                what: "no benchmark result lines (`BenchmarkName N value unit ...`)".into(),
            });
        }
        // Lines share their configuration until a configuration line
        // changes it: what comes of it is worked out once per change.
        let mut last: Option<(usize, usize, Option<&str>)> = None;
        // The workload of the line before: `-count` prints a benchmark's
        // lines one after another.
        let mut last_workload: Option<(&str, usize)> = None;
        let mut name = String::new();
        // What each unit maps to and its metric's index, worked out once
        // per file; lines name their units in the same order, so the
        // unit at a line's k-th pair is looked for at slot k first.
        let mut units: Vec<(&str, gobench::UnitMapping, usize)> = Vec::new();
        for line in &file.lines {
            let (env_index, pkg) = match last {
                Some((config, env, pkg)) if config == line.config => (env, pkg),
                _ => {
                    let config = file.config_of(line);
                    let env = self.environment(config);
                    let pkg = config
                        .get("pkg")
                        .map(String::as_str)
                        .filter(|p| !p.is_empty());
                    last = Some((line.config, env, pkg));
                    // Another package may name the same benchmark.
                    last_workload = None;
                    (env, pkg)
                }
            };
            let base = gobench::without_procs_suffix(line.name);
            let index = match last_workload {
                Some((n, i)) if n == base => i,
                _ => {
                    name.clear();
                    if let Some(p) = pkg {
                        name.push_str(p);
                        name.push('/');
                    }
                    name.push_str(base);
                    match self.by_name.get(&name) {
                        Some(&i) => i,
                        None => self.new_workload(&name, env_index, pkg, file.config_of(line)),
                    }
                }
            };
            last_workload = Some((base, index));
            for (k, &(value, unit)) in file.values_of(line).iter().enumerate() {
                let slot = match units.get(k) {
                    Some((u, ..)) if *u == unit => k,
                    _ => match units.iter().position(|(u, ..)| *u == unit) {
                        Some(slot) => slot,
                        None => {
                            let m = gobench::map_unit(unit, file.units.get(unit));
                            let metric = find_or_push(
                                &mut self.metrics,
                                |n| *n == m.metric,
                                || m.metric.clone(),
                            );
                            units.push((unit, m, metric));
                            units.len() - 1
                        }
                    },
                };
                let (_, m, metric) = &units[slot];
                let converted = value * m.factor;
                // Refused here, naming the line, not when the file is read.
                if !crate::results::storable(converted) {
                    return Err(ImportError::Value {
                        path: path.to_owned(),
                        line: line.line,
                        what: format!(
                            "`{value} {unit}` is not a figure a results file holds (a number from 0 to 2^53)"
                        ),
                    });
                }
                let sample = match m.unit {
                    Unit::Bytes | Unit::Count if converted.fract() == 0.0 && converted >= 0.0 => {
                        Value::Int(converted as u64)
                    }
                    _ => Value::Float(converted),
                };
                let open = &mut self.series[index];
                let at = find_or_push(
                    open,
                    |(i, _)| i == metric,
                    || {
                        (
                            *metric,
                            Series {
                                unit: m.unit,
                                better: m.better,
                                stability: m.stability,
                                source: "gobench".into(),
                                phase: None,
                                resolution: None,
                                samples: Vec::new(),
                            },
                        )
                    },
                );
                open[at].1.samples.push(sample);
            }
        }
        Ok(self)
    }

    /// The results of every file added.
    pub fn finish(mut self) -> Results {
        for (w, open) in self.workloads.iter_mut().zip(self.series) {
            w.metrics
                .extend(open.into_iter().map(|(i, s)| (self.metrics[i].clone(), s)));
        }
        Results::new(self.environments, self.workloads)
    }

    /// The index of the environment a configuration names.
    fn environment(&mut self, config: &gobench::Config) -> usize {
        let get = |k: &str| config.get(k).filter(|v| !v.is_empty()).cloned();
        let env = Environment {
            os: get("goos").unwrap_or_else(|| "unknown".into()),
            os_release: None,
            kernel: None,
            arch: get("goarch").unwrap_or_else(|| "unknown".into()),
            cpu_model: get("cpu"),
            cores: None,
            memory_bytes: None,
            rustc: None,
            go: None,
            git: None,
            ci: None,
            thp: None,
        };
        find_or_push(&mut self.environments, |e| *e == env, || env.clone())
    }

    /// Adds the workload of a benchmark seen for the first time: the
    /// configuration but the machine's keys become its tags.
    fn new_workload(
        &mut self,
        name: &str,
        environment: usize,
        pkg: Option<&str>,
        config: &gobench::Config,
    ) -> usize {
        let command = ["go", "test", "-bench", pkg.unwrap_or_default()];
        let mut w = workload(
            name,
            Lang::Go,
            environment,
            command.iter().map(|s| s.to_string()).collect(),
        );
        w.tags = config
            .iter()
            .filter(|(k, _)| !["goos", "goarch", "pkg", "cpu"].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.workloads.push(w);
        self.series.push(Vec::new());
        self.by_name
            .insert(name.to_owned(), self.workloads.len() - 1);
        self.workloads.len() - 1
    }
}

fn from_gctrace(files: &[PathBuf], name: Option<&str>) -> Result<Results, ImportError> {
    per_file(files, name, Lang::Go, |path| {
        let trace = gctrace::parse(&read(path)?);
        if trace.cycles.is_empty() {
            return Err(ImportError::Empty {
                path: path.to_owned(),
                what: format!(
                    "no gctrace records{}; was the program run with GODEBUG=gctrace=1?",
                    if trace.unreadable.is_empty() {
                        String::new()
                    } else {
                        format!(" ({} unreadable)", trace.unreadable.len())
                    }
                ),
            });
        }
        const SHOWN: usize = 5;
        for u in trace.unreadable.iter().take(SHOWN) {
            crate::say!(
                "memgate: warning: {}:{}: unreadable gctrace record `{}`",
                path.display(),
                u.line,
                u.text
            );
        }
        if trace.unreadable.len() > SHOWN {
            crate::say!(
                "memgate: warning: {}: {} more unreadable gctrace records",
                path.display(),
                trace.unreadable.len() - SHOWN
            );
        }
        Ok(gctrace::samples(&trace))
    })
}

fn from_dhat(files: &[PathBuf], name: Option<&str>) -> Result<Results, ImportError> {
    per_file(files, name, Lang::Other, |path| {
        let totals = dhat::read_file(path)?;
        Ok(dhat::samples(&totals, "dhat"))
    })
}

/// One sample per file, in a workload per file (named after it) or all in
/// `name`. The files say nothing of the machine; the importing one is
/// recorded.
fn per_file(
    files: &[PathBuf],
    name: Option<&str>,
    lang: Lang,
    read_samples: impl Fn(&Path) -> Result<Vec<Sample>, ImportError>,
) -> Result<Results, ImportError> {
    let mut workloads: Vec<WorkloadResults> = Vec::new();
    for path in files {
        let samples = read_samples(path)?;
        let wname = name.map(str::to_owned).unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "import".into())
        });
        let index = find_or_push(
            &mut workloads,
            |w| w.name == wname,
            || workload(&wname, lang, 0, vec![path.display().to_string()]),
        );
        for s in samples {
            // A gctrace was written under Go's concurrent collector.
            let concurrent_gc = lang == Lang::Go;
            workloads[index]
                .metrics
                .entry(s.metric.name.to_owned())
                .or_insert_with(|| Series::measured(s.metric, s.source, None, concurrent_gc))
                .samples
                .push(s.value);
        }
    }
    Ok(Results::new(
        vec![Environment::detect(Path::new("."))],
        workloads,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines that name their units in another order, or other units, than
    /// the line before, and a benchmark named again under another package,
    /// each land in their own series.
    #[test]
    fn gobench_lines_find_their_series_whatever_their_order() {
        let text = "goos: linux\npkg: a\n\
            BenchmarkX-2 10 100 ns/op 8 B/op\n\
            BenchmarkX-2 10 110 ns/op 1 allocs/op 9 B/op\n\
            BenchmarkX-2 10 7 B/op 120 ns/op\n\
            pkg: b\n\
            BenchmarkX-2 10 130 ns/op\n\
            BenchmarkY 10 5 B/op 2 MB/s\n";
        let mut import = GobenchImport::default();
        import.add(Path::new("t.txt"), text).unwrap();
        let r = import.finish();
        let samples = |w: &str, m: &str| -> Vec<f64> {
            let w = r.workloads.iter().find(|x| x.name == w).unwrap();
            w.metrics[m].samples.iter().map(|v| v.as_f64()).collect()
        };
        assert_eq!(samples("a/X", "op.alloc.bytes"), [8.0, 9.0, 7.0]);
        assert_eq!(samples("a/X", "op.alloc.objects"), [1.0]);
        let ns: Vec<f64> = samples("a/X", "op.time").iter().map(|s| s * 1e9).collect();
        assert!(
            ns.iter()
                .zip([100.0, 110.0, 120.0])
                .all(|(a, b)| (a - b).abs() < 1e-6),
            "{ns:?}"
        );
        assert_eq!(samples("b/X", "op.time").len(), 1);
        assert_eq!(samples("b/Y", "op.alloc.bytes"), [5.0]);
        let y = r.workloads.iter().find(|x| x.name == "b/Y").unwrap();
        assert_eq!(y.metrics.len(), 2, "{:?}", y.metrics.keys());
        assert_eq!(r.workloads.len(), 3);
    }
}
