//! Go heap profiles (pprof's `profile.proto`, gzip-compressed as
//! `runtime/pprof` writes them) read into allocation sites.
//!
//! The messages below declare the fields of `profile.proto`
//! (github.com/google/pprof, proto/profile.proto) that memgate reads, with
//! their field numbers; prost decodes them and skips the rest. A Go heap
//! profile has the sample types `alloc_objects`, `alloc_space`,
//! `inuse_objects` and `inuse_space` (runtime/pprof, "heap" profile), each
//! already scaled up from the sampling rate; a sample's first location is
//! the innermost, and of a location's lines the last is the caller into
//! which the others were inlined.

use std::path::Path;

use crate::attribution::{Amounts, Frame, RunSites, SiteTotals, SourceTree};

/// `Profile`: the fields memgate reads.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Profile {
    /// Field 1: what each value of a sample is.
    #[prost(message, repeated, tag = "1")]
    pub sample_type: Vec<ValueType>,
    /// Field 2: the samples, still encoded: each is decoded on its own
    /// when it is charged to its site, so a profile's samples are never
    /// all held decoded (a `Sample` decoded takes about six times its
    /// encoded size).
    #[prost(bytes = "bytes", repeated, tag = "2")]
    pub sample: Vec<bytes::Bytes>,
    /// Field 4: the locations samples point to.
    #[prost(message, repeated, tag = "4")]
    pub location: Vec<Location>,
    /// Field 5: the functions locations point to.
    #[prost(message, repeated, tag = "5")]
    pub function: Vec<Function>,
    /// Field 6: every string; index 0 is "".
    #[prost(string, repeated, tag = "6")]
    pub string_table: Vec<String>,
}

/// `ValueType`: a sample value's type and unit, as string-table indices.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueType {
    /// Field 1.
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    /// Field 2.
    #[prost(int64, tag = "2")]
    pub unit: i64,
}

/// `Sample`: a stack and its values.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProfileSample {
    /// Field 1: location ids, innermost first.
    #[prost(uint64, repeated, tag = "1")]
    pub location_id: Vec<u64>,
    /// Field 2: one value per sample type.
    #[prost(int64, repeated, tag = "2")]
    pub value: Vec<i64>,
}

/// `Location`: a program counter and its (inlined) lines.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Location {
    /// Field 1.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Field 4: innermost first; the last is the caller.
    #[prost(message, repeated, tag = "4")]
    pub line: Vec<Line>,
}

/// `Line`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Line {
    /// Field 1.
    #[prost(uint64, tag = "1")]
    pub function_id: u64,
    /// Field 2.
    #[prost(int64, tag = "2")]
    pub line: i64,
}

/// `Function`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Function {
    /// Field 1.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Field 2: its name, a string-table index.
    #[prost(int64, tag = "2")]
    pub name: i64,
    /// Field 4: its file, a string-table index.
    #[prost(int64, tag = "4")]
    pub filename: i64,
}

/// A heap profile that cannot be read; names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct PprofError {
    /// The file.
    pub path: std::path::PathBuf,
    /// What was wrong.
    pub message: String,
}

/// Largest uncompressed profile read: a bound on what a damaged or
/// hostile file can make memgate hold.
const MAX_PROFILE_BYTES: u64 = 512 * 1024 * 1024;

/// Most memory the decoded messages of one profile may take beyond its
/// encoded bytes (a 16 MB profile of a real Go program takes a few MiB).
const MAX_DECODED_BYTES: u64 = 256 * 1024 * 1024;

/// What [`Profile`] decoded from `data` would take beyond `data` itself,
/// from one pass over the protobuf wire format that holds nothing per
/// field: each entry of a repeated field costs its struct, a location's
/// lines theirs, a string its text.
fn decoded_size(data: &[u8]) -> Result<u64, WireError> {
    use std::mem::size_of;
    let mut total = 0u64;
    for field in Fields(data) {
        let (number, Some(body)) = field? else {
            continue;
        };
        total += match number {
            1 => size_of::<ValueType>() as u64,
            2 => size_of::<bytes::Bytes>() as u64,
            4 => {
                let mut lines = 0u64;
                for line in Fields(body) {
                    if let (4, Some(_)) = line? {
                        lines += 1;
                    }
                }
                size_of::<Location>() as u64 + lines * size_of::<Line>() as u64
            }
            5 => size_of::<Function>() as u64,
            6 => (size_of::<String>() + body.len()) as u64,
            _ => 0,
        };
    }
    Ok(total)
}

/// What is malformed in a protobuf message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum WireError {
    #[error("a truncated varint")]
    TruncatedVarint,
    #[error("a varint longer than 10 bytes")]
    LongVarint,
    #[error("a length past the address space")]
    HugeLength,
    #[error("a field past the end")]
    PastEnd,
    #[error("wire type {0}, which profile.proto does not use")]
    WireType(u64),
}

/// The fields of one protobuf message, in order: (field number, the bytes
/// of a length-delimited field, else `None`), or what is malformed. Wire
/// types: 0 varint, 1 fixed 64 bits, 2 length-delimited, 5 fixed 32 bits
/// (protobuf.dev, "Encoding"); groups (3, 4) are not in profile.proto.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn varint(&mut self) -> Result<u64, WireError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.0.split_first().ok_or(WireError::TruncatedVarint)?;
            self.0 = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(WireError::LongVarint)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], WireError> {
        let n = usize::try_from(n).map_err(|_| WireError::HugeLength)?;
        let (body, rest) = self.0.split_at_checked(n).ok_or(WireError::PastEnd)?;
        self.0 = rest;
        Ok(body)
    }

    fn field(&mut self) -> Result<(u64, Option<&'a [u8]>), WireError> {
        let key = self.varint()?;
        let body = match key & 7 {
            0 => self.varint().map(|_| None)?,
            1 => self.take(8).map(|_| None)?,
            2 => {
                let n = self.varint()?;
                Some(self.take(n)?)
            }
            5 => self.take(4).map(|_| None)?,
            t => return Err(WireError::WireType(t)),
        };
        Ok((key >> 3, body))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Option<&'a [u8]>), WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let field = self.field();
        if field.is_err() {
            self.0 = &[];
        }
        Some(field)
    }
}

/// Decodes a profile file, gzip-compressed or not.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<Profile, PprofError> {
    use crate::input::GunzipError;
    let err = |message: String| PprofError {
        path: path.to_owned(),
        message,
    };
    let data = match crate::input::gunzip(bytes, MAX_PROFILE_BYTES) {
        Ok(Some(raw)) => bytes::Bytes::from(raw),
        Ok(None) => bytes::Bytes::copy_from_slice(bytes),
        Err(GunzipError::Corrupt(e)) => {
            return Err(err(format!("not a gzip-compressed profile: {e}")));
        }
        Err(GunzipError::TooLarge) => {
            return Err(err(format!(
                "larger than {} MiB uncompressed",
                MAX_PROFILE_BYTES >> 20
            )));
        }
    };
    // A field of two bytes decodes to a struct of 16 to 48: a small file of
    // empty entries would decode to gigabytes (286 KB of gzip to 1.1 GB).
    let decoded = decoded_size(&data).map_err(|e| err(format!("not a pprof profile: {e}")))?;
    if decoded > MAX_DECODED_BYTES {
        return Err(err(format!(
            "would take {} MiB to decode, more than {} MiB: not a heap profile as runtime/pprof writes it",
            decoded >> 20,
            MAX_DECODED_BYTES >> 20
        )));
    }
    // Decoding from `Bytes` makes each encoded sample a view of `data`,
    // not a copy.
    <Profile as prost::Message>::decode(data).map_err(|e| err(format!("not a pprof profile: {e}")))
}

/// The sites of a Go heap profile, folded with `tree`.
pub fn sites(path: &Path, p: &Profile, tree: &SourceTree) -> Result<RunSites, PprofError> {
    let err = |message: String| PprofError {
        path: path.to_owned(),
        message,
    };
    let string = |i: i64| -> &str {
        usize::try_from(i)
            .ok()
            .and_then(|i| p.string_table.get(i))
            .map_or("", String::as_str)
    };
    let index_of = |name: &str| {
        p.sample_type
            .iter()
            .position(|t| string(t.r#type) == name)
            .ok_or_else(|| {
                err(format!(
                    "no `{name}` values: not a Go heap profile (sample types: {})",
                    p.sample_type
                        .iter()
                        .map(|t| string(t.r#type))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    };
    let (ao, ab, ib) = (
        index_of("alloc_objects")?,
        index_of("alloc_space")?,
        index_of("inuse_space")?,
    );
    let functions: std::collections::HashMap<u64, &Function> =
        p.function.iter().map(|f| (f.id, f)).collect();
    let locations: std::collections::HashMap<u64, &Location> =
        p.location.iter().map(|l| (l.id, l)).collect();
    let mut totals = SiteTotals::default();
    let mut frames: Vec<Frame<'_>> = Vec::new();
    for encoded in &p.sample {
        let s = <ProfileSample as prost::Message>::decode(encoded.clone())
            .map_err(|e| err(format!("a sample is damaged: {e}")))?;
        frames.clear();
        for id in &s.location_id {
            let Some(loc) = locations.get(id) else {
                return Err(err(format!(
                    "a sample names location {id}, which the profile lacks"
                )));
            };
            for line in &loc.line {
                let Some(f) = functions.get(&line.function_id) else {
                    return Err(err(format!(
                        "location {id} names function {}, which the profile lacks",
                        line.function_id
                    )));
                };
                frames.push(Frame {
                    function: string(f.name),
                    file: string(f.filename),
                    line: u32::try_from(line.line).unwrap_or(0),
                });
            }
        }
        let value = |i: usize| s.value.get(i).copied().unwrap_or(0).max(0) as f64;
        totals.add(
            &frames,
            Amounts {
                alloc_bytes: value(ab),
                alloc_objects: value(ao),
                end_bytes: value(ib),
                peak_bytes: None,
            },
            tree,
        );
    }
    Ok(totals.finish())
}

/// Reads a heap profile file into sites.
pub fn read_sites(path: &Path, tree: &SourceTree) -> Result<RunSites, PprofError> {
    let bytes = crate::input::read(path, crate::input::FILE_LIMIT).map_err(|e| PprofError {
        path: path.to_owned(),
        message: format!("cannot read it: {e}"),
    })?;
    let profile = decode(path, &bytes)?;
    drop(bytes);
    sites(path, &profile, tree)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::{Measure, Sites, diff};

    /// The machine the fixtures were recorded on had the repository here
    /// (fixtures/pprof/record.sh); the profiles name files by absolute path.
    fn recorded_tree() -> SourceTree {
        SourceTree::of_files(
            Path::new("/work/main/workloads/go"),
            &[
                "cmd/retain/main.go",
                "bench/bench_test.go",
                "probe/probe.go",
            ],
        )
    }

    fn fixture(name: &str) -> RunSites {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/pprof")
            .join(name);
        read_sites(&path, &recorded_tree()).unwrap()
    }

    #[test]
    fn a_go_heap_profile_names_its_sites_in_the_programs_own_code() {
        let run = fixture("go_retain.heap.pb.gz");
        let sites = &run.sites;
        let by = |f: &str| sites.iter().find(|s| s.function == f);
        let entry = by("main.newEntry").expect("newEntry");
        let label = by("main.newLabel").expect("newLabel (strconv.Itoa folded into it)");
        assert_eq!(
            entry.file, "cmd/retain/main.go",
            "shown relative to the workload"
        );
        // 60,000 values of 512..4096 bytes (~138 MB) and as many labels.
        assert!(
            entry.alloc_bytes > 120e6 && entry.alloc_bytes < 160e6,
            "{entry:?}"
        );
        assert!(label.alloc_objects > 60_000.0, "{label:?}");
        assert!(sites.iter().all(|s| !s.function.starts_with("runtime.")));
        assert!(sites.iter().all(|s| !s.function.starts_with("strconv.")));
        // The call paths: the program's frames from main down to the site,
        // the runtime's and strconv's left out.
        let path = |leaf: &str| {
            run.stacks
                .iter()
                .find(|s| s.folded.ends_with(leaf))
                .map(|s| s.folded.as_str())
        };
        let entry_path = path(";main.newEntry").expect("a path to newEntry");
        assert!(entry_path.starts_with("main.main;"), "{entry_path}");
        assert!(!entry_path.contains("runtime."), "{entry_path}");
        assert!(path(";main.newLabel").is_some_and(|p| !p.contains("strconv")));
        let on_paths: f64 = run.stacks.iter().map(|s| s.alloc_bytes).sum();
        let at_sites: f64 = sites.iter().map(|s| s.alloc_bytes).sum();
        assert!(
            (on_paths - at_sites).abs() < 1e-6 * at_sites,
            "{on_paths} vs {at_sites}"
        );
    }

    #[test]
    fn the_grown_site_is_the_one_that_grew() {
        let one = |name| Sites::of_runs("pprof", &[fixture(name)]);
        let (base, grown) = (
            one("go_retain.heap.pb.gz"),
            one("go_retain_grow.heap.pb.gz"),
        );
        let total = |s: &Sites| s.sites.iter().map(|x| x.alloc_bytes).sum::<f64>();
        let a = diff(
            &base,
            &grown,
            Measure::AllocBytes,
            total(&grown) - total(&base),
            None,
            None,
        );
        assert_eq!(a.sites[0].function, "main.newEntry");
        assert!(a.sites[0].share.unwrap() > 0.8, "{:?}", a.sites[0]);
    }

    #[test]
    fn go_test_memprofile_output_is_read_too() {
        let sites = fixture("gotest_request.mem.pb.gz").sites;
        assert_eq!(
            sites
                .iter()
                .max_by(|a, b| a.alloc_bytes.total_cmp(&b.alloc_bytes))
                .unwrap()
                .function,
            "memgate.dev/workloads/bench.BenchmarkRequest"
        );
    }

    #[test]
    fn a_profile_that_would_decode_past_its_budget_is_refused_before_decoding() {
        // 2 bytes per empty location: 24 MiB of them, 12 M structs of 32
        // bytes, 384 MiB decoded.
        let hostile = [0x22u8, 0x00].repeat(12 << 20);
        let e = match decode(Path::new("x.pb"), &hostile) {
            Ok(p) => panic!("decoded {} locations", p.location.len()),
            Err(e) => e.to_string(),
        };
        assert!(e.contains("more than 256 MiB"), "{e}");
        // A real profile's estimate is a few times its size.
        let gz = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/pprof/go_retain.heap.pb.gz"),
        )
        .unwrap();
        let raw = crate::input::gunzip(&gz, MAX_PROFILE_BYTES)
            .unwrap()
            .unwrap();
        let estimate = decoded_size(&raw).unwrap();
        assert!(
            estimate > 0 && estimate < 20 * raw.len() as u64,
            "{estimate}"
        );
        // A truncated length is malformed, not counted.
        assert!(decoded_size(&[0x22, 0x05, 0x00]).is_err());
    }

    #[test]
    fn damaged_profiles_are_named_errors() {
        let p = Path::new("x.pb.gz");
        let e = decode(p, &[0x1f, 0x8b, 1, 2, 3]).unwrap_err().to_string();
        assert!(
            e.starts_with("x.pb.gz: not a gzip-compressed profile"),
            "{e}"
        );
        let e = decode(p, b"not a protobuf at all").unwrap_err().to_string();
        assert!(e.starts_with("x.pb.gz: not a pprof profile"), "{e}");
        let empty = Profile::default();
        let e = sites(p, &empty, &SourceTree::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no `alloc_objects` values: not a Go heap profile"),
            "{e}"
        );
    }
}
