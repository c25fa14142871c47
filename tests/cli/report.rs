//! Reports: every format on verdicts recorded from real runs
//! (fixtures/verdicts/record.sh), hostile names, the Markdown parsed as
//! GFM, the comment-size limit, templates, --accept and GitHub Actions.

use predicates::str::contains;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};

use crate::util::{Dir, repo_root};
use memgate::report::markdown::{MARKER, Markdown};
use memgate::report::{Render, read_verdicts};

const FIXTURES: [&str; 5] = ["pass", "regression", "accepted", "hostile", "failed"];

fn fixture(name: &str) -> String {
    repo_root()
        .join("fixtures/verdicts")
        .join(format!("{name}.json"))
        .display()
        .to_string()
}

fn report(format: &str, name: &str) -> String {
    let out = Dir::new()
        .memgate()
        .args(["report", &fixture(name), "--format", format])
        .assert()
        .success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// Snapshots of every format on every recorded verdicts file.
#[test]
fn snapshots_of_every_format() {
    for name in FIXTURES {
        for (format, ext) in [("markdown", "md"), ("junit", "xml"), ("csv", "csv")] {
            insta::assert_snapshot!(format!("{name}.{ext}"), report(format, name));
        }
        // JSON is the verdicts themselves: every field survives the trip.
        let json: memgate::verdicts::Verdicts =
            serde_json::from_str(&report("json", name)).unwrap();
        assert_eq!(
            json,
            read_verdicts(std::path::Path::new(&fixture(name))).unwrap()
        );
    }
}

/// The tables of a GFM document: rows of cell counts.
fn tables(markdown: &str) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let (mut rows, mut cells) = (Vec::new(), 0);
    for ev in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match ev {
            Event::Start(Tag::Table(_)) => rows = Vec::new(),
            Event::Start(Tag::TableHead | Tag::TableRow) => cells = 0,
            Event::End(TagEnd::TableCell) => cells += 1,
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => rows.push(cells),
            Event::End(TagEnd::Table) => out.push(std::mem::take(&mut rows)),
            _ => {}
        }
    }
    out
}

/// Rendered as GFM, every table has the rows and columns intended, and a
/// workload named `<img src=x onerror=alert(1)>|`... stays text: no tag,
/// no extra column, no code span, no link.
#[test]
fn markdown_renders_as_intended_and_hostile_names_stay_text() {
    let md = report("markdown", "regression");
    let t = tables(&md);
    // toucher: header + 2 notable rows, 7 columns; its 6 unchanged; sleeper's 8 unchanged; environment.
    assert_eq!(t[0], vec![7; 3]);
    assert!(
        t.iter().all(|rows| rows.windows(2).all(|w| w[0] == w[1])),
        "ragged table: {t:?}"
    );
    assert!(
        md.trim_end().ends_with(MARKER),
        "the marker must be the last line"
    );

    let hostile = report("markdown", "hostile");
    let mut page = String::new();
    html::push_html(&mut page, Parser::new_ext(&hostile, Options::ENABLE_TABLES));
    assert!(!page.contains("<img"), "an img tag was injected:\n{page}");
    assert!(!page.contains("<a href"), "a link was injected");
    assert!(!page.contains("<code>rm"), "a code span was injected");
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;|`rm -rf`*[x](javascript-y)"),
        "the name is shown as text"
    );
    for rows in tables(&hostile) {
        assert!(
            rows.windows(2).all(|w| w[0] == w[1]),
            "a name broke a table: {rows:?}"
        );
    }
    let junit = report("junit", "hostile");
    assert!(!junit.contains("<img") && junit.contains("&lt;img src=x"));
}

/// The headline tells a clean pass, a failure, an accepted increase and a
/// failed workload apart.
#[test]
fn headlines_differ() {
    assert!(
        report("markdown", "pass")
            .starts_with("## ✅ memgate: no memory regressions in 16 metrics")
    );
    assert!(
        report("markdown", "regression")
            .starts_with("## ❌ memgate: gate failed: 1 regression(s), 1 over budget")
    );
    assert!(report("markdown", "accepted").contains("### Accepted increases"));
    assert!(
        report("markdown", "failed")
            .starts_with("## ❌ memgate: 1 workload(s) failed to build or run")
    );
}

/// A report too long for a GitHub comment is folded: whole parts are left
/// out, never half a table, and it fits.
#[test]
fn long_reports_fold_under_the_comment_limit() {
    let mut v = read_verdicts(std::path::Path::new(&fixture("regression"))).unwrap();
    let template = v.verdicts.clone();
    for i in 0..400 {
        for x in &template {
            let mut y = x.clone();
            y.workload = format!("workload-{i:03}");
            v.verdicts.push(y);
        }
    }
    let md = Markdown::default().render_string(&v).unwrap();
    assert!(
        md.chars().count() <= 65_536,
        "{} characters",
        md.chars().count()
    );
    assert!(md.trim_end().ends_with(MARKER));
    for rows in tables(&md) {
        assert!(
            rows.len() >= 2 && rows.windows(2).all(|w| w[0] == w[1]),
            "cut table: {rows:?}"
        );
    }
    assert!(md.contains("not listed, to keep this report under GitHub's comment limit"));
    // The writer path renders the same folded report.
    let mut sink = Vec::new();
    Markdown::default().render(&v, &mut sink).unwrap();
    assert_eq!(String::from_utf8(sink).unwrap(), md);
}

/// A user template gets the same context; a broken one names its line.
#[test]
fn user_templates() {
    let dir = Dir::new();
    dir.create(
        "t.md",
        "{{ headline.text }} / {% for w in workloads %}{{ w.name }};{% endfor %}\n",
    );
    dir.memgate()
        .args(["report", &fixture("hostile"), "--template", "t.md"])
        .assert()
        .success()
        .stdout(contains(
            "no memory regressions in 16 metrics / toucher;&lt;img src=x onerror=alert(1)&gt;",
        ));
    dir.create("bad.md", "line one\n{% for w in workloads %}\n{{ w.name \n");
    dir.memgate()
        .args([
            "report",
            &fixture("pass"),
            "--template",
            "bad.md",
            "-o",
            "out.md",
        ])
        .assert()
        .code(2)
        .stderr(contains("template bad.md line 3"));
    assert!(!dir.path().join("out.md").exists());
    dir.create("wrong.json", "{\"schema\":\"memgate/results/v1\"}");
    dir.memgate()
        .args(["report", "wrong.json"])
        .assert()
        .code(2)
        .stderr(contains(
            "wrong.json: schema `memgate/results/v1` is not `memgate/verdicts/v1`",
        ));
}

/// CSV: one row per sample, both sides.
#[test]
fn csv_has_one_row_per_sample() {
    let v = read_verdicts(std::path::Path::new(&fixture("regression"))).unwrap();
    let samples: usize = v
        .verdicts
        .iter()
        .map(|x| x.baseline_samples.len() + x.current_samples.len())
        .sum();
    let text = report("csv", "regression");
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(rd.records().count(), samples);
}

/// A workload killed on every run: every output says the gate failed
/// (recorded from a real run by fixtures/verdicts/record.sh).
#[test]
fn a_failed_workload_fails_every_output() {
    let v = read_verdicts(std::path::Path::new(&fixture("failed"))).unwrap();
    assert!(!v.tally.passed);
    assert_eq!(v.tally.failed_workloads, 1);
    assert!(
        memgate::report::terminal::summary_line(&v).starts_with("gate FAILED: 1 failed workloads")
    );
    let junit = report("junit", "failed");
    assert!(junit.contains(r#"failures="10""#), "{junit}");
    assert!(junit.contains("nothing-compared"), "{junit}");
    let csv = report("csv", "failed");
    assert!(csv.lines().skip(1).all(|l| l.ends_with(",failed")), "{csv}");
}

/// The sample reports of docs/reports.md are the snapshots' visible parts (what
/// comes before the first `<details>`), so they cannot drift.
#[test]
fn docs_samples_are_the_snapshots() {
    let readme = std::fs::read_to_string(repo_root().join("docs/reports.md")).unwrap();
    for name in ["pass", "regression"] {
        let marker = format!("<!-- sample: {name} -->");
        let block = readme
            .split_once(&marker)
            .and_then(|(_, rest)| rest.split_once("````markdown\n"))
            .and_then(|(_, rest)| rest.split_once("  ````"))
            .unwrap_or_else(|| panic!("docs/reports.md has no {marker} block"))
            .0;
        let sample: String = block
            .lines()
            .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
            .collect();
        let snap = std::fs::read_to_string(
            repo_root().join(format!("tests/cli/snapshots/cli__report__{name}.md.snap")),
        )
        .unwrap();
        let body = snap.splitn(3, "---\n").nth(2).unwrap();
        let visible = body.split("<details>").next().unwrap().trim_end();
        assert_eq!(
            sample.trim_end(),
            visible,
            "docs/reports.md sample `{name}`"
        );
    }
}
