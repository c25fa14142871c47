//! memgate's Mann-Whitney U test against benchstat and the go-moremath
//! library it uses (fixtures/benchstat/README.md says how each file was made).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use crate::util::repo_root;
use memgate::stats::{UTestError, mann_whitney};

fn fixture(name: &str) -> PathBuf {
    repo_root().join("fixtures/benchstat").join(name)
}

/// Benchmark name -> values, in file order, from Go benchmark format.
fn samples(name: &str) -> BTreeMap<String, Vec<f64>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for line in std::fs::read_to_string(fixture(name)).unwrap().lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 4 && f[0].starts_with("Benchmark") {
            out.entry(f[0].trim_start_matches("Benchmark").to_owned())
                .or_default()
                .push(f[2].parse().unwrap());
        }
    }
    out
}

fn memgate_p(base: &[f64], head: &[f64]) -> f64 {
    match mann_whitney(base, head) {
        Ok(r) => r.p,
        // benchstat turns "all samples are equal" into P = 1.
        Err(UTestError::AllEqual) => 1.0,
        Err(e) => panic!("{e}"),
    }
}

/// p-values agree with go-moremath's to 1e-9 on every case.
#[test]
fn p_values_match_go_moremath() {
    let (base, head) = (samples("base.txt"), samples("head.txt"));
    let text = std::fs::read_to_string(fixture("utest.txt")).unwrap();
    let mut checked = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let name = f[0];
        let ours = mann_whitney(&base[name], &head[name]);
        if f[1] == "error" {
            assert_eq!(ours, Err(UTestError::AllEqual), "{name}");
        } else {
            let r = ours.unwrap_or_else(|e| panic!("{name}: {e}"));
            let (u, p): (f64, f64) = (f[1].parse().unwrap(), f[2].parse().unwrap());
            assert_eq!(r.u1, u, "{name}: U of the first sample");
            assert!(
                (r.p - p).abs() <= 1e-9 * p.max(1e-12),
                "{name}: memgate p = {} go-moremath p = {p}",
                r.p
            );
        }
        checked += 1;
    }
    assert_eq!(checked, base.len());
}

/// (name, p, significant) rows of a benchstat CSV table.
fn benchstat_rows(csv: &str) -> Vec<(String, f64, bool)> {
    csv.lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            let pcol = cols.last()?.strip_prefix("p=")?;
            let p: f64 = pcol.split_whitespace().next()?.parse().ok()?;
            Some((cols[0].to_owned(), p, cols[cols.len() - 2] != "~"))
        })
        .collect()
}

fn check_against(csv: &str) {
    let (base, head) = (samples("base.txt"), samples("head.txt"));
    let rows = benchstat_rows(csv);
    assert_eq!(rows.len(), base.len(), "one row per benchmark");
    for (name, p, significant) in rows {
        let ours = memgate_p(&base[&name], &head[&name]);
        assert!(
            (ours - p).abs() <= 0.0005 + 1e-12,
            "{name}: memgate p = {ours}, benchstat printed {p}"
        );
        // benchstat counts p == alpha as significant: `FormatDelta` in
        // x/perf `benchmath/sample.go` prints "~" only when p > alpha.
        assert_eq!(
            ours <= 0.05,
            significant,
            "{name}: significance call differs (p = {ours})"
        );
    }
}

/// Significant-or-not calls agree with the recorded benchstat output.
#[test]
fn significance_calls_match_recorded_benchstat() {
    check_against(&std::fs::read_to_string(fixture("benchstat.csv")).unwrap());
}

fn find_benchstat() -> Option<PathBuf> {
    let on_path = Command::new("benchstat")
        .arg("-h")
        .output()
        .ok()
        .map(|_| PathBuf::from("benchstat"));
    on_path.or_else(|| {
        let out = Command::new("go").args(["env", "GOPATH"]).output().ok()?;
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("bin/benchstat");
        p.exists().then_some(p)
    })
}

/// benchstat itself, run now, still prints the recorded table, and memgate
/// agrees with it. benchstat is required: a test that skips itself
/// silently guards nothing.
#[test]
fn live_benchstat_agrees() {
    let bin = find_benchstat().expect(
        "benchstat is not installed: `go install golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da` (what bash tests/run does)",
    );
    let out = Command::new(bin)
        .args(["-format", "csv", "base.txt", "head.txt"])
        .current_dir(repo_root().join("fixtures/benchstat"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let live = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        live,
        std::fs::read_to_string(fixture("benchstat.csv")).unwrap()
    );
    check_against(&live);
}
