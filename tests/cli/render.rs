//! The Markdown report as a reviewer sees it: GitHub-flavoured Markdown to
//! HTML (pulldown-cmark, tables on), Mermaid's own renderer for the charts
//! (as GitHub runs it), in headless Chromium. The DOM after rendering must
//! hold every table as a table and every chart as an SVG whose lines have
//! exactly the points of their runs, coloured as the legend says; a
//! screenshot of each report is left in target/report-render/.
//!
//! Needs Chromium and Mermaid: `tests/provision.sh` installs both (Debian's
//! `chromium`; Mermaid pinned by tests/render/package-lock.json, with
//! `npm ci` into ~/.cache/memgate/render, where any clone finds it).

use std::path::{Path, PathBuf};
use std::process::Command;

use pulldown_cmark::{Options, Parser, html};

use crate::util::repo_root;

/// Mermaid's browser bundle (MEMGATE_MERMAID_JS, else where `tests/provision.sh`
/// puts it), or a failure that says how to get it.
fn mermaid_js() -> PathBuf {
    let bundle = "node_modules/mermaid/dist/mermaid.min.js";
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_default()
        .join("memgate/render");
    let path = std::env::var_os("MEMGATE_MERMAID_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache.join(bundle));
    assert!(
        path.is_file(),
        "Mermaid is missing at {}: mkdir -p {c} && cp tests/render/package*.json {c}/ && npm ci --prefix {c} (bash tests/run does)",
        path.display(),
        c = cache.display()
    );
    path
}

/// Chromium, or a failure that says how to get it.
fn chromium() -> PathBuf {
    let path = std::env::var_os("MEMGATE_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.is_file(),
        "Chromium is missing at {}: apt-get install chromium (bash tests/run does)",
        path.display()
    );
    path
}

/// A snapshot's report, without insta's header.
fn snapshot(name: &str) -> String {
    let text = std::fs::read_to_string(
        repo_root().join(format!("tests/cli/snapshots/cli__report__{name}.md.snap")),
    )
    .unwrap();
    text.splitn(3, "---\n").nth(2).unwrap().to_owned()
}

/// The page: the report as GitHub renders it, every `<details>` opened,
/// Mermaid blocks handed to Mermaid.
fn page(markdown: &str, mermaid: &Path) -> String {
    let mut body = String::new();
    html::push_html(&mut body, Parser::new_ext(markdown, Options::ENABLE_TABLES));
    let body = body
        .replace(
            "<pre><code class=\"language-mermaid\">",
            "<pre class=\"mermaid\">",
        )
        .replace("</code></pre>", "</pre>");
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><style>body{{font-family:sans-serif;max-width:1000px}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:2px 6px}}</style></head><body>{body}<script src=\"file://{}\"></script><script>document.querySelectorAll('details').forEach(d => d.open = true); mermaid.initialize({{startOnLoad: false}}); mermaid.run();</script></body></html>",
        mermaid.display()
    )
}

/// Chromium headless with the flags this closed network needs.
fn chrome(args: &[&str], page: &Path, profile: &Path) -> std::process::Output {
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
            "--virtual-time-budget=15000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap()
}

/// The number of points of each `line [...]` of the Markdown's charts, in
/// order.
fn chart_lines(markdown: &str) -> Vec<usize> {
    markdown
        .lines()
        .filter_map(|l| l.trim().strip_prefix("line ["))
        .map(|l| l.trim_end_matches(']').split(',').count())
        .collect()
}

/// Each rendered line's drawn points (a point Mermaid has no value for is
/// NaN, and draws nothing) and its colour, in document order.
fn drawn_lines(dom: &str) -> Vec<(usize, String)> {
    dom.split("<g class=\"line-plot-")
        .skip(1)
        .map(|g| {
            let d = g.split_once(" d=\"").unwrap().1.split('"').next().unwrap();
            let points = d
                .split(['M', 'L'])
                .filter(|p| !p.is_empty() && !p.contains("NaN"))
                .count();
            let stroke = g
                .split_once("stroke=\"")
                .unwrap()
                .1
                .split('"')
                .next()
                .unwrap()
                .to_owned();
            (points, stroke)
        })
        .collect()
}

#[test]
fn reports_render_in_a_real_browser() {
    let mermaid = mermaid_js();
    let out_dir = repo_root().join("target/report-render");
    std::fs::create_dir_all(&out_dir).unwrap();
    let profile = tempfile::tempdir().unwrap();
    for name in ["pass", "regression"] {
        let markdown = snapshot(name);
        let page_path = out_dir.join(format!("{name}.html"));
        std::fs::write(&page_path, page(&markdown, &mermaid)).unwrap();
        let out = chrome(&["--dump-dom"], &page_path, profile.path());
        let dom = String::from_utf8_lossy(&out.stdout);
        assert!(
            dom.contains("</body>"),
            "{name}: no DOM from Chromium: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Every Markdown table is an HTML table; none is left as text.
        let tables = markdown.lines().filter(|l| l.starts_with("|---")).count();
        assert_eq!(dom.matches("<table>").count(), tables, "{name}");
        assert!(!dom.contains("|---"), "{name}: a table was not parsed");
        // Every chart rendered, each line with its run's points and no
        // more (no zeros padding the shorter run), blue then red.
        let charts = markdown.matches("```mermaid").count();
        assert!(charts > 0, "{name}: no chart to check");
        assert_eq!(
            dom.matches("aria-roledescription=\"xychart\"").count(),
            charts,
            "{name}: a chart did not render"
        );
        assert!(
            !dom.contains("Syntax error"),
            "{name}: Mermaid rejected a chart"
        );
        let drawn = drawn_lines(&dom);
        let expected = chart_lines(&markdown);
        assert_eq!(
            drawn.iter().map(|d| d.0).collect::<Vec<_>>(),
            expected,
            "{name}: drawn points per line"
        );
        for pair in drawn.chunks(2) {
            assert_eq!(pair[0].1, "#1f6feb", "{name}: the baseline is blue");
            if let Some(cur) = pair.get(1) {
                assert_eq!(cur.1, "#d1242f", "{name}: the current run is red");
            }
        }
        let png = out_dir.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&png);
        chrome(
            &[
                "--window-size=1100,2400",
                &format!("--screenshot={}", png.display()),
            ],
            &page_path,
            profile.path(),
        );
        let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "{name}: screenshot of {size} bytes");
    }
}

/// The HTML report (`report --format html`, `compare --html`) in headless
/// Chromium: the pass, regression and attribution reports (the last from
/// the recorded go-retain runs, +3% live heap, with their heap profiles).
/// No console error and no request: the page's Content-Security-Policy
/// forbids every fetch, and a control page with one remote image shows the
/// browser reporting the refusal, so a silent log means none was tried.
/// Every chart is an SVG with a text alternative and the expected marks:
/// a circle per run in each strip plot, a block per site in each icicle.
/// The bundled suite, every metric made 50% worse, stays under 1 MB.
/// The pages and their screenshots are left in target/report-render/
/// (`*-report.html`, `*-html.png`).
#[test]
fn html_reports_render_in_a_real_browser() {
    let out_dir = repo_root().join("target/report-render");
    std::fs::create_dir_all(&out_dir).unwrap();
    let dir = crate::util::Dir::new();
    let fixtures = repo_root().join("fixtures");
    dir.memgate()
        .args(["compare", "-c"])
        .arg(repo_root().join("memgate.yaml"))
        .arg(fixtures.join("footprint/base.json"))
        .arg(fixtures.join("footprint/scaled-loaded.json"))
        .args(["-o", "attribution.json"])
        .assert()
        .code(1);
    let verdicts = [
        ("pass", fixtures.join("verdicts/pass.json")),
        ("regression", fixtures.join("verdicts/regression.json")),
        ("attribution", dir.path().join("attribution.json")),
    ];
    let profile = tempfile::tempdir().unwrap();
    for (name, file) in &verdicts {
        let page = out_dir.join(format!("{name}-report.html"));
        dir.memgate()
            .args(["report", "--format", "html", "-o"])
            .arg(&page)
            .arg(file)
            .assert()
            .success();
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(
            !html.contains("http://") && !html.contains("https://") && !html.contains("<script"),
            "{name}"
        );
        let out = chrome(
            &["--dump-dom", "--enable-logging=stderr", "--v=0"],
            &page,
            profile.path(),
        );
        let dom = String::from_utf8_lossy(&out.stdout);
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(dom.contains("</body>"), "{name}: no DOM: {log}");
        assert!(!log.contains("CONSOLE"), "{name}: the console said: {log}");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let shown: Vec<&serde_json::Value> = v["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| {
                ["regression", "over-budget", "missing", "failed", "warning"]
                    .contains(&x["status"].as_str().unwrap())
            })
            .collect();
        let svgs: Vec<&str> = dom.split("<svg ").skip(1).collect();
        assert!(
            svgs.iter()
                .all(|s| s.contains("role=\"img\"") && s.contains("<title>")),
            "{name}: a chart without a text alternative"
        );
        let strips: Vec<&&str> = svgs
            .iter()
            .filter(|s| s.starts_with("class=\"strip\""))
            .collect();
        let with_runs = shown
            .iter()
            .filter(|x| x.get("baseline").is_some() && x.get("current").is_some())
            .count();
        assert_eq!(
            strips.len(),
            with_runs,
            "{name}: a strip plot per failing or warning metric"
        );
        for (strip, x) in strips.iter().zip(
            shown
                .iter()
                .filter(|x| x.get("baseline").is_some() && x.get("current").is_some()),
        ) {
            let runs = x["baseline_samples"].as_array().unwrap().len()
                + x["current_samples"].as_array().unwrap().len();
            assert_eq!(
                strip
                    .split("</svg>")
                    .next()
                    .unwrap()
                    .matches("<circle")
                    .count(),
                runs,
                "{name}: {}",
                x["metric"]
            );
        }
        let icicles: Vec<&&str> = svgs
            .iter()
            .filter(|s| s.starts_with("class=\"icicle\""))
            .collect();
        let with_sites: Vec<&&serde_json::Value> = shown
            .iter()
            .filter(|x| {
                x["attribution"]["sites"]
                    .as_array()
                    .is_some_and(|s| !s.is_empty())
            })
            .collect();
        assert_eq!(icicles.len(), with_sites.len(), "{name}");
        // A block per frame of the call paths' tree: every distinct
        // prefix of a folded path (a site alone where none was recorded).
        let mut deepest = 0;
        for (icicle, x) in icicles.iter().zip(&with_sites) {
            let a = &x["attribution"];
            let paths: Vec<String> = match a["stacks"].as_array() {
                Some(stacks) => stacks
                    .iter()
                    .map(|s| s["folded"].as_str().unwrap().to_owned())
                    .collect(),
                None => a["sites"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["function"].as_str().unwrap().to_owned())
                    .collect(),
            };
            let frames: std::collections::BTreeSet<Vec<&str>> = paths
                .iter()
                .flat_map(|p| {
                    let f: Vec<&str> = p.split(';').collect();
                    (1..=f.len()).map(move |n| f[..n].to_vec())
                })
                .collect();
            deepest = deepest.max(frames.iter().map(Vec::len).max().unwrap_or(0));
            assert_eq!(
                icicle
                    .split("</svg>")
                    .next()
                    .unwrap()
                    .matches("<rect")
                    .count(),
                frames.len(),
                "{name}"
            );
        }
        if *name == "attribution" {
            assert!(!icicles.is_empty(), "the attribution report has its sites");
            // go-retain's paths run main.main -> ... -> the site.
            assert!(deepest >= 2, "a flame graph of one level: {deepest}");
        }
        let png = out_dir.join(format!("{name}-html.png"));
        let _ = std::fs::remove_file(&png);
        chrome(
            &[
                "--window-size=1100,2400",
                &format!("--screenshot={}", png.display()),
            ],
            &page,
            profile.path(),
        );
        assert!(
            std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0) > 10_000,
            "{name}: no screenshot"
        );
        // The README's picture of a failing report is this one
        // (MEMGATE_UPDATE_SCREENSHOTS=1 replaces it).
        if *name == "attribution" && std::env::var_os("MEMGATE_UPDATE_SCREENSHOTS").is_some() {
            std::fs::copy(&png, repo_root().join("docs/html-report.png")).unwrap();
        }
    }
    // The control: one remote image, refused by the policy, and said.
    let page = out_dir.join("control-report.html");
    let html = std::fs::read_to_string(out_dir.join("pass-report.html")).unwrap();
    std::fs::write(
        &page,
        html.replace("</body>", "<img src=\"http://127.0.0.1:9/x.png\"></body>"),
    )
    .unwrap();
    let out = chrome(
        &["--dump-dom", "--enable-logging=stderr", "--v=0"],
        &page,
        profile.path(),
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("CONSOLE") && log.contains("Content Security Policy"),
        "the control was not refused: {log}"
    );
    // The size budget: the bundled suite, every figure 50% worse.
    let mut worse: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join(".memgate/baseline.json")).unwrap(),
    )
    .unwrap();
    for w in worse["workloads"].as_array_mut().unwrap() {
        for (_, m) in w["metrics"].as_object_mut().unwrap() {
            for s in m["samples"].as_array_mut().unwrap() {
                *s = (s.as_f64().unwrap() * 1.5).round().into();
            }
        }
    }
    dir.create("worse.json", &worse.to_string());
    dir.memgate()
        .arg("compare")
        .arg(repo_root().join(".memgate/baseline.json"))
        .arg("worse.json")
        .args(["--html", "suite.html"])
        .assert()
        .code(1);
    let size = std::fs::metadata(dir.path().join("suite.html"))
        .unwrap()
        .len();
    assert!(
        size <= 1 << 20,
        "the bundled suite's report is {size} bytes"
    );
}
