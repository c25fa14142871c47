//! Exports read back by real receivers: the OpenMetrics text parsed by the
//! Prometheus project's own parser (client_python's
//! `prometheus_client.openmetrics.parser`, pinned by `.ci/run` in a
//! virtualenv under ~/.cache/memgate/pyprom).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::util::{Dir, repo_root};

/// The virtualenv's Python, or a failure that says how to make it.
fn prometheus_python() -> PathBuf {
    let path = std::env::var_os("MEMGATE_PROM_PYTHON").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/memgate/pyprom/bin/python")
        },
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "no Python with prometheus_client at {}: python3 -m venv ~/.cache/memgate/pyprom && ~/.cache/memgate/pyprom/bin/pip install prometheus-client==0.21.1 (bash .ci/run does)",
        path.display()
    );
    path
}

/// What the Prometheus parser read from `text`.
fn parse(text: &str) -> serde_json::Value {
    let mut child = Command::new(prometheus_python())
        .arg(repo_root().join("tests/openmetrics/parse.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser rejected the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `report --format openmetrics` of a recorded verdicts file: every family
/// parses with its unit, and each current median is a sample with the
/// workload, metric, stat, commit and branch labels.
#[test]
fn openmetrics_parses_with_the_prometheus_parser() {
    let fixture = repo_root().join("fixtures/verdicts/regression.json");
    let out = Dir::new()
        .memgate()
        .args(["report", "--format", "openmetrics"])
        .arg(&fixture)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.ends_with("# EOF\n"));
    let families = parse(&text);
    let family = |name: &str| {
        families
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("no family {name}: {families}"))
            .clone()
    };
    assert_eq!(family("memgate_summary_bytes")["unit"], "bytes");
    assert_eq!(family("memgate_summary_seconds")["unit"], "seconds");
    let verdicts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
    let bytes = family("memgate_summary_bytes");
    let rss = bytes["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["labels"]["metric"] == "process.rss.peak" && s["labels"]["stat"] == "median")
        .expect("the median RSS");
    let expected = verdicts["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["metric"] == "process.rss.peak" && v["workload"] == rss["labels"]["workload"])
        .unwrap()["current"]["median"]
        .as_f64()
        .unwrap();
    assert_eq!(rss["value"].as_f64().unwrap(), expected);
    for key in ["workload", "metric", "stat", "commit", "branch"] {
        assert!(rss["labels"].get(key).is_some(), "label {key}: {rss}");
    }
    let n = family("memgate_samples");
    assert!(
        n["samples"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["value"].as_f64() > Some(0.0))
    );
}

/// `compare --export FILE` writes the same text.
#[test]
fn compare_exports_openmetrics() {
    let dir = Dir::new();
    let base = repo_root().join("fixtures/footprint/base.json");
    dir.memgate()
        .arg("compare")
        .arg(&base)
        .arg(&base)
        .args(["--export", "m.txt"])
        .assert()
        .success();
    let text = std::fs::read_to_string(dir.path().join("m.txt")).unwrap();
    let families = parse(&text);
    assert!(
        families
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "memgate_summary_bytes")
    );
}
