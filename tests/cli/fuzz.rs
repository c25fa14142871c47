//! The parsers on mangled real inputs (proptest): every recorded fixture of
//! each format, cut short, with bytes overwritten, inserted or deleted, or
//! a line repeated, must parse or be refused, never panic, and finish in
//! bounded time. `CASES` mutations a parser; memgate's own results and
//! config files included.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use memgate::collect::{dhat, gctrace, gobench, probe};
use memgate::config::Config;
use memgate::results::Results;
use proptest::prelude::*;

use crate::util::repo_root;

const CASES: u32 = 1500;
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

#[derive(Debug, Clone)]
enum Edit {
    Truncate(prop::sample::Index),
    Overwrite(prop::sample::Index, u8),
    Insert(prop::sample::Index, Vec<u8>),
    Delete(prop::sample::Index, usize),
    RepeatLine(prop::sample::Index, usize),
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
            Edit::Insert(i, v) => {
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
        cases: CASES,
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
    fn gobench_survives_mangled_output(input in mangled(fixtures("fixtures/gobench", "txt"))) {
        bounded("gobench", || {
            if let Ok(f) = gobench::parse(&path(), &text(&input)) {
                for line in &f.lines {
                    for (_, unit) in &line.values {
                        let _ = gobench::map_unit(unit, f.units.get(unit));
                    }
                }
            }
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
    fn results_survive_mangled_files(input in mangled(vec![
        std::fs::read(repo_root().join(".memgate/baseline.json")).unwrap(),
    ])) {
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
