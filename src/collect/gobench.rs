//! The Go benchmark format (`go test -bench -benchmem` output; design doc
//! 14313, "Go benchmark data format"), so existing Go benchmark suites can be gated:
//! configuration lines (`key: value`), unit metadata lines (`Unit <unit>
//! better=... assume=...`) and result lines (`BenchmarkName-8 N v unit
//! [v unit]...`). Every `value unit` pair of every line is kept: ns/op,
//! B/op, allocs/op, MB/s and custom metrics alike. Other lines are ignored,
//! as the format says; a malformed result line is an error naming the file
//! and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Collect, CollectError, Collected, GO_MEMPROFILE_RATE, RunArtifacts, RunSetup, Sample};
use crate::metrics::{self, Better, MetricDef, Stability, Unit};
use crate::results::Value;

/// A result line or unit line that does not follow the format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct ParseError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// What was wrong and what was expected.
    pub message: String,
}

/// One benchmark result line, borrowing its words from the text.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchLine<'a> {
    /// The name without `Benchmark`, with its `-N` GOMAXPROCS suffix.
    pub name: &'a str,
    /// Which of [`BenchFile::configs`] is in force at this line (goos,
    /// pkg, cpu, ...): lines share it until a configuration line.
    pub config: usize,
    /// Iterations.
    pub iterations: u64,
    /// Where its `value unit` pairs are in [`BenchFile::values`] (read
    /// them with [`BenchFile::values_of`]): every line's in one list,
    /// where a list per line was an allocation per line.
    pub values: std::ops::Range<usize>,
    /// 1-based line number.
    pub line: usize,
}

/// Configuration lines in force: key to value.
pub type Config = BTreeMap<String, String>;

/// `Unit` metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitMeta {
    /// `better=higher|lower`.
    pub better: Option<Better>,
    /// `assume=exact` (true) or `assume=nothing` (false).
    pub exact: Option<bool>,
}

/// A parsed file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BenchFile<'a> {
    /// Result lines in order.
    pub lines: Vec<BenchLine<'a>>,
    /// Unit metadata by unit.
    pub units: BTreeMap<String, UnitMeta>,
    /// Every result line's `value unit` pairs, line after line, in order.
    pub values: Vec<(f64, &'a str)>,
    /// The configurations lines were read under, in order.
    pub configs: Vec<Config>,
}

impl<'a> BenchFile<'a> {
    /// The `value unit` pairs of one of its lines, in order.
    pub fn values_of(&self, line: &BenchLine<'a>) -> &[(f64, &'a str)] {
        &self.values[line.values.clone()]
    }

    /// The configuration in force at one of its lines.
    pub fn config_of(&self, line: &BenchLine<'a>) -> &Config {
        &self.configs[line.config]
    }
}

fn is_config_key(key: &str) -> bool {
    key.chars().next().is_some_and(char::is_lowercase)
        && !key.chars().any(|c| c.is_whitespace() || c.is_uppercase())
}

/// `BenchmarkX`: `Benchmark` then anything but a lower-case letter, as
/// the testing package decides (`isTest` in Go's
/// src/cmd/go/internal/load/test.go): `Benchmark2Q_Rand` is one.
fn is_bench_name(field: &str) -> bool {
    field
        .strip_prefix("Benchmark")
        .is_some_and(|rest| !rest.chars().next().is_some_and(char::is_lowercase))
}

/// Whether `text` is Go benchmark output rather than JSON: it does not
/// open as JSON does, and a line of it is a result line.
pub fn is_bench_output(text: &str) -> bool {
    !text.trim_start().starts_with(['{', '[', '"'])
        && text
            .lines()
            .any(|l| l.split_whitespace().next().is_some_and(is_bench_name))
}

/// Parses one file of Go benchmark output.
/// (One pass over the lines: the three kinds of line share the running
/// configuration, so the loop stays whole.)
pub fn parse<'a>(path: &Path, text: &'a str) -> Result<BenchFile<'a>, ParseError> {
    let err = |line: usize, message: String| ParseError {
        path: path.to_owned(),
        line,
        message,
    };
    let mut file = BenchFile {
        configs: vec![Config::new()],
        ..BenchFile::default()
    };
    // Whether a line was read under the last configuration.
    let mut config_used = false;
    // Room for the lines of a file of result lines (`go test -benchmem`
    // prints about 70 bytes a line, three pairs each), made once: growing
    // by doubling copied every line read so far, again and again.
    file.lines.reserve(text.len() / 64);
    file.values.reserve(text.len() / 64 * 3);
    let mut fields: Vec<&str> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        fields.clear();
        // Fields are separated by white space, Unicode's included; a line
        // of ASCII (every line Go prints) is split the faster way.
        if line.is_ascii() {
            fields.extend(line.split_ascii_whitespace());
        } else {
            fields.extend(line.split_whitespace());
        }
        let Some(&first) = fields.first() else {
            continue;
        };
        if is_bench_name(first) {
            if fields.len() < 4 || !fields.len().is_multiple_of(2) {
                return Err(err(
                    n,
                    format!(
                        "a result line needs a name, an iteration count and `value unit` pairs; found {} fields",
                        fields.len()
                    ),
                ));
            }
            let iterations = fields[1]
                .parse()
                .map_err(|_| err(n, format!("`{}` is not an iteration count", fields[1])))?;
            let from = file.values.len();
            for pair in fields[2..].chunks(2) {
                let v = number(pair[0]).ok_or_else(|| {
                    err(
                        n,
                        format!("`{}` is not a number (before unit `{}`)", pair[0], pair[1]),
                    )
                })?;
                file.values.push((v, pair[1]));
            }
            config_used = true;
            file.lines.push(BenchLine {
                // `is_bench_name` saw the prefix.
                name: first.strip_prefix("Benchmark").unwrap_or(first),
                config: file.configs.len() - 1,
                iterations,
                values: from..file.values.len(),
                line: n,
            });
        } else if first == "Unit" && fields.len() >= 2 {
            let meta = file.units.entry(fields[1].to_owned()).or_default();
            for kv in &fields[2..] {
                let Some((k, v)) = kv.split_once('=') else {
                    return Err(err(n, format!("`{kv}` is not key=value in a Unit line")));
                };
                match (k, v) {
                    ("better", "higher" | "lower") => {
                        let b = if v == "higher" {
                            Better::Higher
                        } else {
                            Better::Lower
                        };
                        if meta.better.is_some_and(|x| x != b) {
                            return Err(err(
                                n,
                                format!("unit `{}` was given two values of better", fields[1]),
                            ));
                        }
                        meta.better = Some(b);
                    }
                    ("assume", "exact" | "nothing") => {
                        let e = v == "exact";
                        if meta.exact.is_some_and(|x| x != e) {
                            return Err(err(
                                n,
                                format!("unit `{}` was given two values of assume", fields[1]),
                            ));
                        }
                        meta.exact = Some(e);
                    }
                    ("better", _) => {
                        return Err(err(n, format!("better={v}: expected higher or lower")));
                    }
                    ("assume", _) => {
                        return Err(err(n, format!("assume={v}: expected exact or nothing")));
                    }
                    _ => {} // Other keys are for other tools.
                }
            }
        } else if let Some((key, value)) = line.split_once(':')
            && is_config_key(key)
            && (value.is_empty() || value.starts_with([' ', '\t']))
        {
            // Lines read so far keep the configuration they were read
            // under; the next ones get a copy with this line in it.
            if std::mem::take(&mut config_used) {
                file.configs
                    .push(file.configs[file.configs.len() - 1].clone());
            }
            if let Some(config) = file.configs.last_mut() {
                config.insert(key.to_owned(), value.trim().to_owned());
            }
        }
    }
    Ok(file)
}

/// A decimal number as `str::parse::<f64>` reads it, bit for bit. The
/// plain decimals Go prints (`52100`, `1234.5`: at most 15 digits) take
/// Clinger's fast path: the digits as an integer below 2^53 and the power
/// of ten below 10^23 are both exact doubles, so their quotient, one
/// IEEE-754 division, is the correctly rounded value (W. D. Clinger, "How
/// to Read Floating Point Numbers Accurately", PLDI 1990); std's parser
/// reads the rest. The fast path was a seventh of an import's work.
fn number(s: &str) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let bytes = s.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_digit) || bytes.len() > 16 {
        return s.parse().ok();
    }
    let (mut mantissa, mut dot) = (0u64, None);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'0'..=b'9' => mantissa = mantissa * 10 + u64::from(b - b'0'),
            b'.' if dot.is_none() => dot = Some(i),
            _ => return s.parse().ok(),
        }
    }
    let fraction = dot.map_or(0, |d| bytes.len() - d - 1);
    if dot.is_none() && bytes.len() > 15 {
        return s.parse().ok();
    }
    Some(mantissa as f64 / POW10[fraction])
}

/// A benchmark's name without the `-N` the testing package appends when
/// GOMAXPROCS is N > 1 (`BenchmarkGet-8`: `benchmarkName` in Go's
/// src/testing/benchmark.go), so files from machines with other core
/// counts name the same benchmarks; like x/perf's benchfmt, a trailing
/// `-<digits>` is read as that suffix.
pub fn without_procs_suffix(name: &str) -> &str {
    // Read from the end: the digits, then the `-` before them.
    let digits = name.bytes().rev().take_while(u8::is_ascii_digit).count();
    let dash = name.len() - digits;
    if digits > 0 && dash > 1 && name.as_bytes()[dash - 1] == b'-' {
        &name[..dash - 1]
    } else {
        name
    }
}

/// How memgate names and types one benchmark unit.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitMapping {
    /// Metric name.
    pub metric: String,
    /// Unit of the converted values.
    pub unit: Unit,
    /// Multiply the value by this to convert it.
    pub factor: f64,
    /// Direction.
    pub better: Better,
    /// Stability.
    pub stability: Stability,
}

/// The units the testing package prints itself, with their metric and the
/// factor to its unit.
fn standard_unit(unit: &str) -> Option<(&'static MetricDef, f64)> {
    Some(match unit {
        "ns/op" => (&metrics::OP_TIME, 1e-9),
        "sec/op" => (&metrics::OP_TIME, 1.0),
        "B/op" => (&metrics::OP_ALLOC_BYTES, 1.0),
        "allocs/op" => (&metrics::OP_ALLOC_OBJECTS, 1.0),
        "MB/s" => (&metrics::OP_THROUGHPUT, 1e6),
        _ => return None,
    })
}

/// Maps a benchmark unit to a metric. ns/op -> op.time (seconds), B/op ->
/// op.alloc.bytes, allocs/op -> op.alloc.objects, MB/s -> op.throughput;
/// others become `bench.<unit>`, in bytes when the last hyphen-separated
/// word is `B`, in seconds for `ns`/`sec`, counts otherwise. Allocation
/// units are deterministic unless `assume=nothing`; times and throughput
/// are load-sensitive (two series of the same code run back to back differ
/// by tens of percent on a shared machine).
pub fn map_unit(unit: &str, meta: Option<&UnitMeta>) -> UnitMapping {
    let mut mapped = match standard_unit(unit) {
        Some((def, factor)) => UnitMapping {
            metric: def.name.to_owned(),
            unit: def.unit,
            factor,
            better: def.better,
            stability: def.stability,
        },
        None => {
            let word = unit
                .split('/')
                .next()
                .unwrap_or(unit)
                .rsplit('-')
                .next()
                .unwrap_or(unit);
            let (u, factor) = match word {
                "B" | "bytes" => (Unit::Bytes, 1.0),
                "ns" => (Unit::Seconds, 1e-9),
                "sec" => (Unit::Seconds, 1.0),
                _ => (Unit::Count, 1.0),
            };
            UnitMapping {
                metric: format!("bench.{unit}"),
                unit: u,
                factor,
                better: Better::Lower,
                // Times move with the runner's load.
                stability: if u == Unit::Seconds {
                    Stability::LoadSensitive
                } else {
                    Stability::MachineDependent
                },
            }
        }
    };
    if let Some(meta) = meta {
        if let Some(b) = meta.better {
            mapped.better = b;
        }
        if let Some(exact) = meta.exact {
            mapped.stability = match (exact, mapped.stability) {
                (true, _) => Stability::Deterministic,
                (false, Stability::LoadSensitive) => Stability::LoadSensitive,
                (false, _) => Stability::MachineDependent,
            };
        }
    }
    mapped
}

/// The collector of a `gobench` workload's runs: each runs one benchmark,
/// so its stdout holds one result line, whose every `value unit` pair
/// becomes a sample, named as [`map_unit`] names it.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoBenchLine;

impl Collect for GoBenchLine {
    fn name(&self) -> &'static str {
        "gobench"
    }

    /// A profiled run writes the benchmark's heap profile
    /// (`-test.memprofile`, at memgate's sampling rate).
    fn setup(&self, run: &mut RunSetup<'_>) {
        if run.profile {
            run.argv.push(format!(
                "-test.memprofile={}",
                run.files.heap_profile.display()
            ));
            run.argv
                .push(format!("-test.memprofilerate={GO_MEMPROFILE_RATE}"));
        }
    }

    fn collect(&self, run: &RunArtifacts<'_>) -> Result<Collected, CollectError> {
        let fail = |message: String| CollectError {
            collector: "gobench",
            message,
        };
        let text = crate::input::read(run.stdout, crate::input::FILE_LIMIT)
            .map_err(|e| fail(format!("cannot read stdout {}: {e}", run.stdout.display())))?;
        let text = String::from_utf8_lossy(&text);
        let file = parse(Path::new("stdout"), &text).map_err(|e| fail(e.to_string()))?;
        let [line] = file.lines.as_slice() else {
            return Err(fail(format!(
                "expected the result line of one benchmark on stdout, found {}: the benchmark may have been renamed, removed or skipped",
                file.lines.len()
            )));
        };
        let mut out = Collected::default();
        if run.files.heap_profile.exists() {
            match super::pprof::read_sites(&run.files.heap_profile, run.tree) {
                Ok(sites) => out.sites = Some(("pprof", sites)),
                Err(e) => out
                    .warnings
                    .push(format!("heap profile unreadable, no allocation sites: {e}")),
            }
        }
        for (value, unit) in file.values_of(line) {
            let m = map_unit(unit, file.units.get(*unit));
            let Some(def) = metrics::custom(&m.metric, m.unit, m.better, m.stability) else {
                out.notes.push(format!(
                    "benchmark unit `{unit}` skipped: more than {} metrics of their own",
                    metrics::MAX_CUSTOM
                ));
                continue;
            };
            let v = value * m.factor;
            if !crate::results::storable(v) {
                out.notes.push(format!(
                    "benchmark unit `{unit}` skipped: {value} is not a figure results can hold (negative, not finite, or 2^53 and above)"
                ));
                continue;
            }
            out.samples.push(Sample {
                metric: def,
                source: "gobench",
                value: match def.unit {
                    Unit::Bytes | Unit::Count if v.fract() == 0.0 && v >= 0.0 => {
                        Value::Int(v as u64)
                    }
                    _ => Value::Float(v),
                },
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_config_units_and_every_value_pair() {
        let text = "goos: linux\ngoarch: amd64\npkg: example.com/x\ncpu: AMD EPYC\nUnit peak-rss-B assume=nothing better=lower\nBenchmarkParse-2   1000   52100 ns/op   40960 B/op   12 allocs/op   18120704 peak-rss-B\nPASS\nok  example.com/x 1.2s\n";
        let f = parse(Path::new("b.txt"), text).unwrap();
        assert_eq!(f.lines.len(), 1);
        let l = &f.lines[0];
        assert_eq!(l.name, "Parse-2");
        assert_eq!(f.config_of(l)["pkg"], "example.com/x");
        assert_eq!(f.config_of(l)["cpu"], "AMD EPYC");
        let units: Vec<&str> = f.values_of(l).iter().map(|(_, u)| *u).collect();
        assert_eq!(units, ["ns/op", "B/op", "allocs/op", "peak-rss-B"]);
        assert_eq!(f.units["peak-rss-B"].exact, Some(false));
    }

    proptest::proptest! {
        /// Numbers read bit for bit as std reads them: plain decimals of
        /// every length around the fast path's limit, and any other text.
        #[test]
        fn numbers_read_as_std_reads_them(
            whole in "[0-9]{1,18}",
            fraction in proptest::option::of("[0-9]{0,18}"),
            other in "[-+0-9.eE_a-z]{0,12}",
        ) {
            let s = match fraction {
                Some(f) => format!("{whole}.{f}"),
                None => whole,
            };
            for s in [s.as_str(), other.as_str()] {
                let std: Option<f64> = s.parse().ok();
                proptest::prop_assert_eq!(number(s).map(f64::to_bits), std.map(f64::to_bits), "{}", s);
            }
        }
    }

    proptest::proptest! {
        /// The suffix is a trailing `-<digits>` after a non-empty name, as
        /// x/perf's benchfmt reads it.
        #[test]
        fn procs_suffix_is_a_trailing_dash_and_digits(name in "[-a-z0-9/]{0,12}") {
            let expected = match name.rsplit_once('-') {
                Some((base, n))
                    if !base.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    base
                }
                _ => name.as_str(),
            };
            proptest::prop_assert_eq!(without_procs_suffix(&name), expected);
        }
    }

    #[test]
    fn malformed_result_lines_name_the_line() {
        let e = parse(Path::new("b.txt"), "goos: linux\nBenchmarkX 10 5 ns/op 7\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "b.txt:2: a result line needs a name, an iteration count and `value unit` pairs; found 5 fields"
        );
        let e = parse(Path::new("b.txt"), "BenchmarkX ten 5 ns/op\n").unwrap_err();
        assert_eq!(e.to_string(), "b.txt:1: `ten` is not an iteration count");
        let e = parse(Path::new("b.txt"), "BenchmarkX 10 five ns/op\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "b.txt:1: `five` is not a number (before unit `ns/op`)"
        );
        // A digit after Benchmark names a benchmark (golang-lru's 2Q ones).
        let f = parse(Path::new("b.txt"), "Benchmark2Q_Rand-2 100 5 ns/op\n").unwrap();
        assert_eq!(f.lines[0].name, "2Q_Rand-2");
        // Not result lines: lower-case after Benchmark, and prose.
        assert!(
            parse(Path::new("b.txt"), "Benchmarking is fun\nBenchmarks: 3\n")
                .unwrap()
                .lines
                .is_empty()
        );
    }

    #[test]
    fn units_map_to_metrics() {
        assert_eq!(map_unit("ns/op", None).metric, "op.time");
        assert_eq!(map_unit("B/op", None).stability, Stability::Deterministic);
        assert_eq!(map_unit("MB/s", None).better, Better::Higher);
        let rss = map_unit("peak-rss-B", None);
        assert_eq!(
            (rss.metric.as_str(), rss.unit),
            ("bench.peak-rss-B", Unit::Bytes)
        );
        let exact = map_unit(
            "text-bytes",
            Some(&UnitMeta {
                better: None,
                exact: Some(true),
            }),
        );
        assert_eq!(
            (exact.unit, exact.stability),
            (Unit::Bytes, Stability::Deterministic)
        );
    }
}
