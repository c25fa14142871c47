//! Exports read back by real receivers: the OpenMetrics text parsed by the
//! Prometheus project's own parser (client_python's
//! `prometheus_client.openmetrics.parser`, pinned by `tests/provision.sh` in a
//! virtualenv under ~/.cache/memgate/pyprom).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::util::{Dir, repo_root};

/// The virtualenv's Python, or a failure that says how to make it.
fn prometheus_python() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_default();
    let path = std::env::var_os("MEMGATE_PROM_PYTHON")
        .map_or_else(|| cache.join("memgate/pyprom/bin/python"), PathBuf::from);
    assert!(
        path.is_file(),
        "no Python with prometheus_client at {}: python3 -m venv ~/.cache/memgate/pyprom && ~/.cache/memgate/pyprom/bin/pip install prometheus-client==0.21.1 (bash tests/run does)",
        path.display()
    );
    path
}

/// What the Prometheus parser read from `text`.
pub(crate) fn parse(text: &str) -> serde_json::Value {
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

/// The OTLP receiver (tests/otlp-receiver, on go.opentelemetry.io/proto/otlp),
/// built once.
fn otlp_receiver() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out =
                std::env::temp_dir().join(format!("memgate-otlp-receiver-{}", std::process::id()));
            let status = Command::new("go")
                .args(["build", "-o"])
                .arg(&out)
                .arg(".")
                .current_dir(repo_root().join("tests/otlp-receiver"))
                .status()
                .expect("go build of tests/otlp-receiver");
            assert!(status.success(), "building the OTLP receiver failed");
            out
        })
        .clone()
}

/// `check --otlp-endpoint` in a git repository: a real OTLP decoder on
/// loopback receives one gauge per metric, in UCUM units, a point per
/// workload and statistic, and the resource's service and vcs attributes;
/// an endpoint that refuses is a warning, and the exit code is the gate's.
#[test]
fn otlp_reaches_a_receiver_built_on_the_official_definitions() {
    let dir = Dir::new();
    dir.create(
        "memgate.yaml",
        "version: 1\ndefaults: {repetitions: 3, warmup: 0, sample_interval: 0}\nworkloads:\n  - {name: nap, lang: other, run: [sleep, '0.01']}\n",
    );
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=trunk",
            ])
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    git(&["init", "-q"]);
    git(&["add", "memgate.yaml"]);
    git(&["commit", "-qm", "config"]);
    let head = git(&["rev-parse", "HEAD"]);
    dir.memgate().arg("run").assert().success();
    dir.save_baseline();

    let received = dir.path().join("received.json");
    let mut receiver = Command::new(otlp_receiver())
        .arg(&received)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(receiver.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let out = dir
        .memgate()
        .args(["check", "--otlp-endpoint", &format!("http://{addr}")])
        .output()
        .unwrap();
    let status = receiver.wait().unwrap();
    assert!(status.success());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("sent OTLP metrics to"));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&received).unwrap()).unwrap();
    let rm = &r["resourceMetrics"][0];
    let attr = |key: &str| {
        rm["resource"]["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == key)
            .map(|a| a["value"]["stringValue"].clone())
    };
    assert_eq!(attr("service.name"), Some("memgate".into()));
    assert_eq!(attr("vcs.ref.head.revision"), Some(head.clone().into()));
    assert_eq!(attr("vcs.ref.head.name"), Some("trunk".into()));
    let metrics = rm["scopeMetrics"][0]["metrics"].as_array().unwrap();
    let rss = metrics
        .iter()
        .find(|m| m["name"] == "memgate.process.rss.peak")
        .expect("the RSS gauge");
    assert_eq!(rss["unit"], "By");
    let points = rss["gauge"]["dataPoints"].as_array().unwrap();
    let stats: Vec<&str> = points
        .iter()
        .map(|p| {
            p["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["key"] == "stat")
                .unwrap()["value"]["stringValue"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(stats, ["median", "p90", "min", "max"]);
    assert!(points.iter().all(|p| p["asDouble"].as_f64().unwrap() > 0.0));

    // Nothing listens there: a warning, and the gate's exit code.
    let out = dir
        .memgate()
        .args(["check", "--otlp-endpoint", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: OTLP export failed"));
}
