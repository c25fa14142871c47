//! The parsers on mangled real inputs (proptest): every recorded fixture of
//! each format, cut short, with bytes overwritten, inserted or deleted, a
//! line repeated, or a hostile shape inserted (nesting thousands of levels
//! deep, counts and sizes past every integer type, floats past f64), must
//! parse or be refused, never panic, and finish in bounded time: the
//! config reader, every import format (`go test -bench` output through the
//! whole import, gctrace and DHAT through the parser and the conversion to
//! samples import does per file), memgate's results files, and the files
//! workloads write (the probe's, pprof heap profiles).
//!
//! `CASES` mutations a target by default; a long run sets `PROPTEST_CASES`:
//! `PROPTEST_CASES=1430000 cargo test --release --test cli fuzz::` runs
//! 10 million mutations over the seven targets (1,444 s on 2 cores).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use memgate::collect::import::{Gobench, Import};
use memgate::collect::{dhat, gctrace, pprof, probe};
use memgate::config::Config;
use memgate::results::Results;
use proptest::prelude::*;

use crate::util::repo_root;

const CASES: u32 = 1500;

/// Mutations a target: `PROPTEST_CASES` when set (a long run), else
/// [`CASES`].
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES)
}
/// Far above what any of these inputs takes; a parser that loops or goes
/// quadratic on a mangled input fails here.
const BOUND: Duration = Duration::from_secs(2);
/// Largest mangled input.
const MAX_INPUT: usize = 1 << 20;

fn fixtures(dir: &str, ext: &str) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(repo_root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert!(!out.is_empty(), "no {ext} fixtures in {dir}");
    out.sort();
    out
}

/// The recorded heap profiles, decompressed: a mangled gzip stream is
/// refused by its checksum before the profile decoder sees a byte.
fn pprof_fixtures() -> Vec<Vec<u8>> {
    fixtures("fixtures/pprof", "gz")
        .into_iter()
        .map(|gz| {
            let mut raw = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut raw)
                .unwrap();
            raw
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Edit {
    Truncate(prop::sample::Index),
    Overwrite(prop::sample::Index, u8),
    Insert(prop::sample::Index, Vec<u8>),
    Delete(prop::sample::Index, usize),
    RepeatLine(prop::sample::Index, usize),
    /// A hostile shape inserted at a place.
    Shape(prop::sample::Index, Vec<u8>),
}

/// What hostile input looks like: nesting thousands of levels deep in
/// JSON and YAML, counts and sizes past u32, u64 and i64, floats past f64,
/// and the numbers that are not numbers.
fn shape() -> impl Strategy<Value = Vec<u8>> {
    let deep = (
        prop::sample::select(vec![
            "[", "{\"a\":", "- ", "{a: ", "[[", "a:\n  ", "{\"a\":[",
        ]),
        1usize..10_000,
    )
        .prop_map(|(open, n)| open.repeat(n).into_bytes());
    let number = prop::sample::select(vec![
        "4294967296",
        "18446744073709551615",
        "18446744073709551616",
        "9223372036854775808",
        "-9223372036854775809",
        "340282366920938463463374607431768211456",
        "1e309",
        "-1e309",
        "1e-400",
        "NaN",
        "inf",
        "-inf",
        "-0",
        "0x7fffffffffffffff",
        "99999999999999999999999999999999999999999999999999",
    ])
    .prop_map(|n| n.as_bytes().to_vec());
    prop_oneof![deep, number]
}

fn edit() -> impl Strategy<Value = Edit> {
    let interesting = prop::sample::select(vec![
        b'0', b'9', b'-', b'.', b'e', b'"', b'{', b'}', b'[', b']', b',', b':', b'\n', b' ', 0xff,
        0x00,
    ]);
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Edit::Truncate),
        (
            any::<prop::sample::Index>(),
            prop_oneof![interesting.clone(), any::<u8>()]
        )
            .prop_map(|(i, b)| Edit::Overwrite(i, b)),
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(prop_oneof![interesting, any::<u8>()], 1..24)
        )
            .prop_map(|(i, v)| Edit::Insert(i, v)),
        (any::<prop::sample::Index>(), 1usize..64).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<prop::sample::Index>(), 1usize..200).prop_map(|(i, n)| Edit::RepeatLine(i, n)),
        (any::<prop::sample::Index>(), shape()).prop_map(|(i, v)| Edit::Shape(i, v)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        if bytes.is_empty() {
            break;
        }
        match e {
            Edit::Truncate(i) => bytes.truncate(i.index(bytes.len())),
            Edit::Overwrite(i, b) => {
                let at = i.index(bytes.len());
                bytes[at] = *b;
            }
            Edit::Insert(i, v) | Edit::Shape(i, v) => {
                let at = i.index(bytes.len());
                bytes.splice(at..at, v.iter().copied());
            }
            Edit::Delete(i, n) => {
                let at = i.index(bytes.len());
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
            Edit::RepeatLine(i, n) => {
                let at = i.index(bytes.len());
                let start = bytes[..at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1);
                let end = bytes[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |p| at + p + 1);
                let line = bytes[start..end].to_vec();
                // Inputs stay under MAX_INPUT: a one-line file repeated 200
                // times thrice would be gigabytes of harness, not of parser.
                for _ in 0..*n {
                    if bytes.len() + line.len() > MAX_INPUT {
                        break;
                    }
                    bytes.splice(end..end, line.iter().copied());
                }
            }
        }
    }
    bytes
}

/// A mangled fixture of `corpus`.
fn mangled(corpus: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(corpus),
        prop::collection::vec(edit(), 1..4),
    )
        .prop_map(|(bytes, edits)| apply(bytes, &edits))
}

fn bounded(what: &str, f: impl FnOnce()) {
    let start = Instant::now();
    f();
    assert!(start.elapsed() < BOUND, "{what} took {:?}", start.elapsed());
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path() -> PathBuf {
    Path::new("fuzz.input").to_owned()
}

proptest! {
    // A failing input here can be megabytes: it is reported, not saved
    // under tests/proptest-regressions.
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn gctrace_survives_mangled_traces(input in mangled(fixtures("fixtures/gctrace", "txt"))) {
        bounded("gctrace", || {
            let trace = gctrace::parse(&text(&input));
            let _ = gctrace::samples(&trace);
            let _ = gctrace::missing_cycles(&trace);
        });
    }

    #[test]
    fn dhat_survives_mangled_profiles(input in mangled(fixtures("fixtures/dhat", "json"))) {
        bounded("dhat", || {
            if let Ok(t) = dhat::parse(&path(), &input) {
                let _ = dhat::samples(&t, "dhat");
            }
        });
    }

    #[test]
    fn gobench_import_survives_mangled_output(input in mangled(fixtures("fixtures/gobench", "txt"))) {
        // The whole import, from a file: parsing, the per-name index, the
        // checks of each value.
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &input).unwrap();
        bounded("gobench", || {
            let _ = Gobench::default().import(&[file.path().to_owned()]);
        });
    }

    #[test]
    fn pprof_survives_mangled_profiles(input in mangled(pprof_fixtures())) {
        bounded("pprof", || {
            let _ = pprof::decode(&path(), &input);
        });
    }

    #[test]
    fn probe_survives_mangled_files(input in mangled(fixtures("fixtures/probe", "json"))) {
        bounded("probe", || {
            if let Ok(doc) = probe::parse(&path(), &text(&input)) {
                let _ = probe::samples(&doc);
            }
        });
    }

    #[test]
    fn results_survive_mangled_files(input in mangled({
        let mut c = vec![std::fs::read(repo_root().join(".memgate/baseline.json")).unwrap()];
        c.extend(fixtures("fixtures/verdict-cases/optional-metric-empty-series-fails", "json"));
        c
    })) {
        bounded("results", || {
            let _ = Results::parse(&path(), &text(&input));
        });
    }

    #[test]
    fn config_survives_mangled_files(input in mangled({
        let mut c = fixtures("fixtures/config/bad", "yaml");
        c.push(std::fs::read(repo_root().join("memgate.yaml")).unwrap());
        c
    })) {
        bounded("config", || {
            let _ = Config::parse(&path(), &text(&input));
        });
    }
}
