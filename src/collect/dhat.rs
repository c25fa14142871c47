//! DHAT heap profiles (`dhatFileVersion` 2), from dhat-rs (`collect:
//! [dhat]`, a workload built with its `dhat-heap` feature) or from
//! `valgrind --tool=dhat` (`collect: [valgrind-dhat]`, any binary of any
//! language, unchanged).
//!
//! The file has no global totals (valgrind `dhat/dh_main.c`, "File format
//! notes"): heap.alloc.bytes and
//! heap.alloc.objects are the sums over program points of `tb` and `tbk`,
//! heap.peak.bytes the sum of `gb` (bytes at t-gmax), heap.end.bytes the sum
//! of `eb` (bytes at t-end). `mb` is never summed: each point's maximum
//! falls at a different time. The program points are summed as they stream
//! past; each keeps only its four figures and its frame indices (`fs`,
//! innermost first) until the frame table (`ftbl`) is read, and then is
//! charged to its allocation site (see [`crate::attribution`]).

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};

use super::{Collect, CollectError, Collected, RunArtifacts, RunSetup, Sample};
use crate::attribution::{Amounts, Frame, RunSites, SiteTotals, SourceTree};
use crate::metrics;
use crate::results::Value;

/// The only DHAT file version memgate reads.
pub const DHAT_FILE_VERSION: u64 = 2;

/// The environment variable a dhat-heap workload writes its profile to.
pub const DHAT_ENV: &str = "MEMGATE_DHAT_FILE";

/// The global numbers of one profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DhatTotals {
    /// Σ tb: bytes allocated.
    pub total_bytes: u64,
    /// Σ tbk: blocks allocated.
    pub total_blocks: u64,
    /// Σ gb: bytes live at the global peak.
    pub peak_bytes: u64,
    /// Σ eb: bytes live at the end.
    pub end_bytes: u64,
    /// Program points seen.
    pub program_points: u64,
}

#[derive(Deserialize)]
struct Pp {
    tb: u64,
    tbk: u64,
    gb: Option<u64>,
    eb: Option<u64>,
    #[serde(default)]
    fs: Vec<u32>,
}

/// A program point's figures and frames, kept until the frame table.
struct Point {
    amounts: Amounts,
    frames: Vec<u32>,
}

struct PpSums(DhatTotals, bool, Vec<Point>);

impl<'de> Deserialize<'de> for PpSums {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PpSums;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of program points")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PpSums, A::Error> {
                let mut t = DhatTotals::default();
                let mut lifetimes = true;
                let mut points = Vec::new();
                while let Some(pp) = seq.next_element::<Pp>()? {
                    points.push(Point {
                        amounts: Amounts {
                            alloc_bytes: pp.tb as f64,
                            alloc_objects: pp.tbk as f64,
                            end_bytes: pp.eb.unwrap_or(0) as f64,
                            peak_bytes: pp.gb.map(|g| g as f64),
                        },
                        frames: pp.fs,
                    });
                    // Totals past u64 are a corrupt file, not a sum that
                    // wraps to a small figure (2 x 2^63 bytes read as 0).
                    let add = |sum: u64, v: u64, what: &str| {
                        sum.checked_add(v).ok_or_else(|| {
                            <A::Error as serde::de::Error>::custom(format!(
                                "the program points' {what} add up past 2^64"
                            ))
                        })
                    };
                    t.total_bytes = add(t.total_bytes, pp.tb, "total bytes (tb)")?;
                    t.total_blocks = add(t.total_blocks, pp.tbk, "total blocks (tbk)")?;
                    match (pp.gb, pp.eb) {
                        (Some(g), Some(e)) => {
                            t.peak_bytes = add(t.peak_bytes, g, "bytes at the peak (gb)")?;
                            t.end_bytes = add(t.end_bytes, e, "bytes at the end (eb)")?;
                        }
                        _ => lifetimes = false,
                    }
                    t.program_points += 1;
                }
                Ok(PpSums(t, lifetimes, points))
            }
        }
        d.deserialize_seq(V)
    }
}

#[derive(Deserialize)]
struct DhatFile {
    #[serde(rename = "dhatFileVersion")]
    version: Option<u64>,
    mode: Option<String>,
    pps: Option<PpSums>,
    #[serde(default)]
    ftbl: Vec<String>,
    // Every other field is skipped unread.
}

/// A profile's totals and its allocation sites.
#[derive(Debug, Clone, PartialEq)]
pub struct DhatProfile {
    /// The global figures.
    pub totals: DhatTotals,
    /// The program points, charged to their sites and call paths.
    pub sites: RunSites,
}

/// A DHAT file that cannot be used; names the file and, for JSON errors,
/// the line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct DhatError {
    /// The file.
    pub path: std::path::PathBuf,
    /// What was wrong.
    pub message: String,
}

/// Parses a DHAT file's bytes.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<DhatTotals, DhatError> {
    parse_with_sites(path, bytes, &SourceTree::default()).map(|p| p.totals)
}

/// Parses a DHAT file's bytes, with its sites folded to `tree`.
pub fn parse_with_sites(
    path: &Path,
    bytes: &[u8],
    tree: &SourceTree,
) -> Result<DhatProfile, DhatError> {
    let err = |message: String| DhatError {
        path: path.to_owned(),
        message,
    };
    let file: DhatFile =
        serde_json::from_slice(bytes).map_err(|e| err(format!("not a DHAT file: {e}")))?;
    match file.version {
        Some(DHAT_FILE_VERSION) => {}
        Some(v) => {
            return Err(err(format!(
                "dhatFileVersion {v} is not supported; memgate reads version {DHAT_FILE_VERSION}"
            )));
        }
        None => return Err(err("missing dhatFileVersion: not a DHAT file".into())),
    }
    let mode = file
        .mode
        .ok_or_else(|| err("missing field `mode`".into()))?;
    if mode != "heap" && mode != "rust-heap" {
        return Err(err(format!(
            "mode `{mode}` is not a heap profile; memgate reads `heap` (valgrind) and `rust-heap` (dhat-rs)"
        )));
    }
    let PpSums(totals, lifetimes, points) =
        file.pps.ok_or_else(|| err("missing field `pps`".into()))?;
    if !lifetimes {
        return Err(err(
            "program points lack `gb`/`eb`: the profile was made without block lifetimes".into(),
        ));
    }
    let frames: Vec<Frame<'_>> = file.ftbl.iter().map(|f| frame(f)).collect();
    let mut sites = SiteTotals::default();
    let mut stack = Vec::new();
    for p in &points {
        stack.clear();
        for &i in &p.frames {
            let f = frames.get(i as usize).copied().ok_or_else(|| {
                err(format!(
                    "a program point names frame {i}; the frame table has {}",
                    frames.len()
                ))
            })?;
            stack.push(f);
        }
        sites.add(&stack, p.amounts, tree);
    }
    Ok(DhatProfile {
        totals,
        sites: sites.finish(),
    })
}

/// One frame-table entry: `0xADDR: FUNCTION (FILE:LINE[:COLUMN])`, or
/// `(in LIBRARY)` when the file is unknown, or `[root]`.
fn frame(text: &str) -> Frame<'_> {
    let rest = text
        .split_once(": ")
        .filter(|(addr, _)| addr.starts_with("0x"))
        .map_or(text, |(_, r)| r);
    let Some((function, place)) = rest.strip_suffix(')').and_then(|r| r.rsplit_once(" (")) else {
        return Frame {
            function: rest,
            file: "",
            line: 0,
        };
    };
    if place.starts_with("in ") {
        return Frame {
            function,
            file: "",
            line: 0,
        };
    }
    let mut parts = place.rsplitn(3, ':');
    let (a, b, c) = (parts.next(), parts.next(), parts.next());
    let number = |s: Option<&str>| s.and_then(|s| s.parse::<u32>().ok());
    let (file, line) = match (number(a), number(b), c) {
        (Some(_), Some(line), Some(file)) => (file, line),
        (Some(line), _, _) => (place.rsplit_once(':').map_or(place, |(f, _)| f), line),
        _ => (place, 0),
    };
    Frame {
        function,
        file,
        line,
    }
}

/// The samples of a profile.
pub fn samples(t: &DhatTotals, source: &'static str) -> Vec<Sample> {
    let s = |metric, v| Sample {
        metric,
        source,
        value: Value::Int(v),
    };
    vec![
        s(&metrics::HEAP_ALLOC_BYTES, t.total_bytes),
        s(&metrics::HEAP_ALLOC_OBJECTS, t.total_blocks),
        s(&metrics::HEAP_PEAK, t.peak_bytes),
        s(&metrics::HEAP_END, t.end_bytes),
    ]
}

fn read(
    run: &RunArtifacts<'_>,
    collector: &'static str,
    hint: &str,
) -> Result<Collected, CollectError> {
    let path = &run.files.dhat;
    let bytes = crate::input::read(path, crate::input::FILE_LIMIT).map_err(|e| CollectError {
        collector,
        message: format!("no DHAT file at {} ({e}); {hint}", path.display()),
    })?;
    let profile = parse_with_sites(path, &bytes, run.tree).map_err(|e| CollectError {
        collector,
        message: e.to_string(),
    })?;
    Ok(Collected {
        samples: samples(&profile.totals, collector),
        sites: Some(("dhat", profile.sites)),
        ..Collected::default()
    })
}

/// dhat-rs: the workload writes its profile to MEMGATE_DHAT_FILE.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dhat;

impl Collect for Dhat {
    fn name(&self) -> &'static str {
        "dhat"
    }

    fn setup(&self, run: &mut RunSetup<'_>) {
        run.env
            .insert(DHAT_ENV.into(), run.files.dhat.display().to_string());
    }

    fn collect(&self, run: &RunArtifacts<'_>) -> Result<Collected, CollectError> {
        read(
            run,
            "dhat",
            "is the workload built with dhat-rs (the `dhat-heap` feature) writing to MEMGATE_DHAT_FILE, and does main return normally (dhat-rs writes nothing after process::exit)?",
        )
    }
}

/// `valgrind --tool=dhat` around the unchanged command.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValgrindDhat;

impl Collect for ValgrindDhat {
    fn name(&self) -> &'static str {
        "valgrind-dhat"
    }

    fn setup(&self, run: &mut RunSetup<'_>) {
        let mut wrapped = vec![
            "valgrind".to_owned(),
            "--tool=dhat".to_owned(),
            format!("--dhat-out-file={}", run.files.dhat.display()),
        ];
        wrapped.append(run.argv);
        *run.argv = wrapped;
    }

    fn collect(&self, run: &RunArtifacts<'_>) -> Result<Collected, CollectError> {
        read(
            run,
            "valgrind-dhat",
            "is valgrind installed and did it run the program?",
        )
    }
}

/// Reads a DHAT file for `memgate import`.
pub fn read_file(path: &Path) -> Result<DhatTotals, DhatError> {
    let bytes = crate::input::read(path, crate::input::FILE_LIMIT).map_err(|e| DhatError {
        path: path.to_owned(),
        message: format!("cannot read the file: {e}"),
    })?;
    parse(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valgrind 3.19 `--tool=dhat` profile of a small C program (malloc
    /// 1000, malloc 200 kept, realloc to 3000, ...): 4700 bytes in 4 blocks,
    /// 3200 at t-gmax, 200 at t-end.
    const VALGRIND_EXAMPLE: &str = r#"{"dhatFileVersion":2
,"mode":"heap","verb":"Allocated"
,"bklt":true,"bkacc":true
,"tu":"instrs","Mtu":"Minstr"
,"tuth":500
,"cmd":"./t"
,"pid":5527
,"te":152374
,"tg":146107
,"pps":
 [{"tb":4000,"tbk":2,"tl":2791,"mb":3000,"mbk":1,"gb":3000,"gbk":1,"eb":0,"ebk":0,"rb":1000,"wb":2000,"fs":[1,2]}
 ,{"tb":200,"tbk":1,"tl":8247,"mb":200,"mbk":1,"gb":200,"gbk":1,"eb":200,"ebk":1,"rb":1,"wb":200,"acc":[2,-199,1],"fs":[1,3]}
 ,{"tb":500,"tbk":1,"tl":36,"mb":0,"mbk":0,"gb":0,"gbk":0,"eb":0,"ebk":0,"rb":0,"wb":0,"acc":[-500,0],"fs":[4,5]}
 ]
,"ftbl":["[root]","0x48417B4: malloc (in vgpreload_dhat-amd64-linux.so)","0x10918A: main (t.c:6)","0x1091A2: main (t.c:7)","0x484A9E1: realloc (in vgpreload_dhat-amd64-linux.so)","0x1091C4: main (t.c:9)"]
}"#;

    #[test]
    fn dhat_rs_sites_fold_into_the_workloads_functions() {
        let tree =
            SourceTree::of_files(Path::new("/nowhere"), &["src/bin/retain.rs", "src/lib.rs"]);
        let p = parse_with_sites(
            Path::new("dhat_rs_retain.json"),
            include_bytes!("../../fixtures/dhat/dhat_rs_retain.json"),
            &tree,
        )
        .unwrap();
        let by = |f: &str| p.sites.sites.iter().find(|s| s.function.ends_with(f));
        let entry = by("new_entry").expect("new_entry");
        let label = by("new_label").expect("new_label");
        assert_eq!(entry.alloc_objects, 20_000.0);
        assert_eq!(label.alloc_objects, 20_000.0);
        // Every block is some site's: the sites add up to the totals.
        let sum: f64 = p.sites.sites.iter().map(|s| s.alloc_bytes).sum();
        assert_eq!(sum, p.totals.total_bytes as f64);
        assert!(
            p.sites
                .sites
                .iter()
                .all(|s| !s.file.starts_with("alloc/src"))
        );
    }

    #[test]
    fn sums_program_points_never_mb() {
        let t = parse(Path::new("v.json"), VALGRIND_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(
            (t.total_bytes, t.total_blocks, t.peak_bytes, t.end_bytes),
            (4700, 4, 3200, 200)
        );
    }

    /// "Total: 861,259 bytes in 221 blocks" and the t-gmax / t-end lines,
    /// as the profiler itself printed them.
    fn printed(stderr: &str) -> (u64, u64, u64, u64) {
        let num = |s: &str| s.trim().replace(',', "").parse::<u64>().unwrap();
        let field = |label: &str| {
            let line = stderr.lines().find(|l| l.contains(label)).unwrap();
            let rest = &line[line.find(label).unwrap() + label.len()..];
            let (bytes, blocks) = rest.split_once(" bytes in ").unwrap();
            (num(bytes), num(blocks.trim_end_matches(" blocks")))
        };
        let (tb, tbk) = field("Total:");
        let (gb, _) = field("At t-gmax:");
        let (eb, _) = field("At t-end:");
        (tb, tbk, gb, eb)
    }

    /// Real files from dhat-rs and valgrind (fixtures/dhat/README.md) sum to
    /// exactly what each profiler printed for the same run.
    #[test]
    fn recorded_profiles_match_what_the_profilers_printed() {
        let cases = [
            (
                include_str!("../../fixtures/dhat/dhat_rs_churn.json"),
                include_str!("../../fixtures/dhat/dhat_rs_churn.stderr"),
            ),
            (
                include_str!("../../fixtures/dhat/valgrind_sort.json"),
                include_str!("../../fixtures/dhat/valgrind_sort.stderr"),
            ),
            (
                include_str!("../../fixtures/dhat/valgrind_retain.json"),
                include_str!("../../fixtures/dhat/valgrind_retain.stderr"),
            ),
        ];
        for (json, stderr) in cases {
            let t = parse(Path::new("f.json"), json.as_bytes()).unwrap();
            assert_eq!(
                (t.total_bytes, t.total_blocks, t.peak_bytes, t.end_bytes),
                printed(stderr)
            );
        }
    }

    /// The counting probe and dhat-rs, in the same run, agree within 1%.
    #[test]
    fn probe_and_dhat_agree_on_the_same_run() {
        let t = parse(
            Path::new("f.json"),
            include_bytes!("../../fixtures/dhat/dhat_rs_churn.json"),
        )
        .unwrap();
        let probe: serde_json::Value =
            serde_json::from_str(include_str!("../../fixtures/dhat/dhat_rs_churn.probe.json"))
                .unwrap();
        let m = &probe["metrics"];
        for (ours, theirs) in [
            (m["heap.alloc.bytes"].as_f64().unwrap(), t.total_bytes),
            (m["heap.alloc.objects"].as_f64().unwrap(), t.total_blocks),
            (m["heap.peak.bytes"].as_f64().unwrap(), t.peak_bytes),
            (m["heap.end.bytes"].as_f64().unwrap(), t.end_bytes),
        ] {
            let rel = (ours / theirs as f64 - 1.0).abs();
            assert!(
                rel < 0.01,
                "probe {ours} vs dhat {theirs}: {:.3}%",
                rel * 100.0
            );
        }
    }

    #[test]
    fn damaged_files_are_named_errors() {
        let p = Path::new("d.json");
        let truncated = &VALGRIND_EXAMPLE[..300];
        assert!(
            parse(p, truncated.as_bytes())
                .unwrap_err()
                .message
                .starts_with("not a DHAT file: EOF while parsing")
        );
        let v3 = VALGRIND_EXAMPLE.replace("\"dhatFileVersion\":2", "\"dhatFileVersion\":3");
        assert_eq!(
            parse(p, v3.as_bytes()).unwrap_err().to_string(),
            "d.json: dhatFileVersion 3 is not supported; memgate reads version 2"
        );
        let no_tb = VALGRIND_EXAMPLE.replace("\"tb\":200,", "");
        assert!(
            parse(p, no_tb.as_bytes())
                .unwrap_err()
                .message
                .contains("missing field `tb`")
        );
        let ad_hoc = VALGRIND_EXAMPLE.replace("\"mode\":\"heap\"", "\"mode\":\"ad-hoc\"");
        assert!(
            parse(p, ad_hoc.as_bytes())
                .unwrap_err()
                .message
                .starts_with("mode `ad-hoc` is not a heap profile")
        );
        assert_eq!(
            parse(p, b"{}").unwrap_err().message,
            "missing dhatFileVersion: not a DHAT file"
        );
    }
}
