//! GitHub Actions: the reusable action, the workflows (ours and the ones
//! `memgate init` writes), step summary, annotations and `--accept`.

use std::collections::BTreeSet;

use predicates::prelude::*;
use predicates::str::contains;
use serde_yaml::Value;

use crate::util::{Dir, repo_root};

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join(path)).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn action_inputs() -> BTreeSet<String> {
    yaml("action.yml")["inputs"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

/// Every `${{ inputs.X }}` the action uses is one of its inputs, and its
/// scripts never interpolate `${{ }}` (inputs go through the environment).
#[test]
fn action_yml_uses_only_its_inputs() {
    let inputs = action_inputs();
    let text = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    for (i, _) in text.match_indices("inputs.") {
        let name: String = text[i + 7..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        assert!(
            inputs.contains(&name),
            "action.yml uses undeclared input `{name}`"
        );
    }
    let a = yaml("action.yml");
    assert_eq!(a["runs"]["using"], "composite");
    for step in a["runs"]["steps"].as_sequence().unwrap() {
        if let Some(run) = step["run"].as_str() {
            assert!(
                !run.contains("${{"),
                "a script interpolates an expression: {run}"
            );
        }
    }
    assert_eq!(
        a["outputs"]["verdict"]["value"],
        "${{ steps.run.outputs.verdict }}"
    );
}

fn workflow_files() -> Vec<String> {
    std::fs::read_dir(repo_root().join(".github/workflows"))
        .unwrap()
        .map(|e| {
            format!(
                ".github/workflows/{}",
                e.unwrap().file_name().to_string_lossy()
            )
        })
        .collect()
}

/// The workflows parse, grant nothing at the top and what each job needs
/// in the job, bound every job's time, pin third-party actions by SHA,
/// keep no credentials in checkouts, pass the local action only inputs it
/// has, and never interpolate expressions into scripts. The comment job
/// runs on workflow_run and checks out nothing but the default branch (for
/// the local action); the pull-request job has no write permission.
#[test]
fn workflows_are_sound() {
    let inputs = action_inputs();
    for path in workflow_files() {
        let w = yaml(&path);
        assert!(w.get("on").is_some() && w.get("jobs").is_some(), "{path}");
        assert!(
            w.get("permissions").is_some(),
            "{path}: no top-level permissions"
        );
        for (name, job) in w["jobs"].as_mapping().unwrap() {
            assert!(
                job.get("timeout-minutes").is_some(),
                "{path}: job {name:?} has no timeout-minutes"
            );
            for step in job["steps"].as_sequence().unwrap() {
                if step["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/checkout@"))
                {
                    assert_eq!(
                        step["with"]["persist-credentials"],
                        Value::Bool(false),
                        "{path}: a checkout keeps credentials"
                    );
                    assert!(
                        step["with"].get("ref").is_none()
                            && step["with"].get("repository").is_none(),
                        "{path}: a checkout of another ref"
                    );
                }
                if let Some(uses) = step["uses"].as_str() {
                    if uses == "./" {
                        for k in step["with"].as_mapping().into_iter().flat_map(|m| m.keys()) {
                            assert!(
                                inputs.contains(k.as_str().unwrap()),
                                "{path}: unknown input {k:?}"
                            );
                        }
                    } else {
                        let sha = uses.split('@').nth(1).unwrap_or("");
                        assert!(
                            sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                            "{path}: {uses} is not pinned by SHA"
                        );
                    }
                }
                if let Some(run) = step["run"].as_str() {
                    assert!(
                        !run.contains("${{"),
                        "{path}: a script interpolates an expression: {run}"
                    );
                }
            }
        }
    }
    let c = yaml(".github/workflows/memgate-comment.yml");
    assert!(c["on"].get("workflow_run").is_some());
    // A job that can write to pull requests builds memgate itself: a cache
    // entry is only as trusted as every job that can write its key.
    for (_, job) in c["jobs"].as_mapping().unwrap() {
        for step in job["steps"].as_sequence().unwrap() {
            if step["uses"] == "./" {
                assert_eq!(
                    step["with"]["cache"], "false",
                    "the comment job restores memgate"
                );
            }
        }
    }
    let a = yaml("action.yml");
    let cached = a["runs"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "cache")
        .unwrap();
    assert_eq!(cached["if"], "inputs.cache == 'true'");
    let pr = yaml(".github/workflows/memgate-pr.yml");
    for (_, job) in pr["jobs"].as_mapping().unwrap() {
        for (_, level) in job["permissions"].as_mapping().unwrap() {
            assert_eq!(
                level, "read",
                "the untrusted run must not have a write token"
            );
        }
    }
    let types = &pr["on"]["pull_request"]["types"];
    for t in ["labeled", "unlabeled"] {
        assert!(
            types.as_sequence().unwrap().iter().any(|x| x == t),
            "the memgate:accept label must act at once"
        );
    }
}

/// Our workflows are `memgate init`'s, with the local action, for a
/// repository with Go and Rust. (`MEMGATE_UPDATE_WORKFLOWS=1` rewrites them.)
#[test]
fn our_workflows_match_what_init_writes() {
    for (path, text) in memgate::init::workflows("./", true, true) {
        let file = repo_root().join(path);
        if std::env::var_os("MEMGATE_UPDATE_WORKFLOWS").is_some() {
            std::fs::write(&file, &text).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            text,
            "{path} differs from src/init/ (MEMGATE_UPDATE_WORKFLOWS=1 rewrites it)"
        );
    }
}

/// `memgate init` writes a config that parses and the workflows, and
/// refuses to overwrite without --force.
#[test]
fn init_writes_and_refuses_to_overwrite() {
    let dir = Dir::new();
    dir.create("go.mod", "module example.com/x\n");
    dir.create("Cargo.toml", "[package]\nname = \"x\"\n");
    dir.create("src/main.rs", "fn main() {}\n");
    dir.memgate()
        .arg("init")
        .assert()
        .success()
        .stderr(contains("wrote ./.github/workflows/memgate-comment.yml"));
    memgate::config::Config::load(&dir.path().join("memgate.yaml")).unwrap();
    let pr = std::fs::read_to_string(dir.path().join(".github/workflows/memgate-pr.yml")).unwrap();
    // Pinned to the commit this memgate was built from (a git checkout
    // here), its version beside it, and nothing hidden from zizmor.
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo_root())
        .output()
        .unwrap();
    let head = String::from_utf8(head.stdout).unwrap();
    let action = memgate::init::default_action().expect("built in a git checkout");
    assert_eq!(action, format!("memgate-dev/memgate@{}", head.trim()));
    assert!(
        pr.contains(&format!(
            "uses: {action} # v{}\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{pr}"
    );
    assert!(!pr.contains("zizmor"), "{pr}");
    dir.memgate().arg("init").assert().code(2).stderr(
        contains("./memgate.yaml, ./.memgate/.gitignore, ./.github/workflows/memgate-baseline.yml")
            .and(contains("pass --force")),
    );
    // A tag is written as given, with a warning that it is not pinned.
    dir.memgate()
        .args(["init", "--force", "--action", "me/memgate@v1"])
        .assert()
        .success()
        .stderr(contains("is not pinned to a commit"));
    assert!(
        std::fs::read_to_string(dir.path().join(".github/workflows/memgate-pr.yml"))
            .unwrap()
            .contains("uses: me/memgate@v1")
    );
}

fn gobench_pair(dir: &Dir) {
    let f = |n: &str| {
        repo_root()
            .join("fixtures/gobench")
            .join(n)
            .display()
            .to_string()
    };
    dir.memgate()
        .args([
            "import",
            "--format",
            "gobench",
            &f("with_allocs.txt"),
            "-o",
            "base.json",
        ])
        .assert()
        .success();
    dir.memgate()
        .args([
            "import",
            "--format",
            "gobench",
            &f("with_allocs_scaled.txt"),
            "-o",
            "head.json",
        ])
        .assert()
        .success();
}

/// In GitHub Actions the report goes to the step summary and regressions
/// become ::error annotations, on stderr: `--format json` on stdout stays
/// one JSON document.
#[test]
fn github_step_summary_and_annotations() {
    let dir = Dir::new();
    gobench_pair(&dir);
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    dir.memgate()
        .args(["compare", "base.json", "head.json"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert()
        .code(1)
        .stderr(contains("::error title=memgate regression%3A memgate.dev/workloads/bench/Request/op.alloc.bytes::+11.76%"))
        .stdout(contains("::error").not());
    let out = dir
        .memgate()
        .args(["compare", "base.json", "head.json", "--format", "json"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert()
        .code(1);
    let json: serde_json::Value =
        serde_json::from_slice(&out.get_output().stdout).expect("stdout is one JSON document");
    assert_eq!(json["tally"]["passed"], false);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("::error title="));
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("earlier step\n## ❌ memgate: gate failed"),
        "appended, not replaced"
    );
    assert!(text.contains("<!-- memgate-report -->"));
}

/// `--accept` (and MEMGATE_ACCEPT) turns a matching regression into an
/// accepted one: exit 0, listed with its reason.
#[test]
fn accept_intended_increases() {
    let dir = Dir::new();
    gobench_pair(&dir);
    dir.memgate()
        .args(["compare", "base.json", "head.json", "--accept", "*/Request:op.alloc.*", "--accept-reason", "bigger bodies", "--report", "r.md"])
        .assert()
        .success()
        .stdout(contains("accepted memgate.dev/workloads/bench/Request/op.alloc.bytes: accepted (*/Request:op.alloc.*, bigger bodies)"));
    let md = std::fs::read_to_string(dir.path().join("r.md")).unwrap();
    assert!(md.contains("### Accepted increases") && md.contains("Reason given: bigger bodies"));
    dir.memgate()
        .args(["compare", "base.json", "head.json"])
        .env("MEMGATE_ACCEPT", "nothing:here,*:op.alloc.bytes")
        .assert()
        .success();
    dir.memgate()
        .args(["compare", "base.json", "head.json", "--accept", "no-colon"])
        .assert()
        .code(2)
        .stderr(contains("`no-colon` is not WORKLOAD:METRIC"));
}

/// No text from a config or a results file starts a line of memgate's
/// output: a line feed in a command that cannot be started, or in a
/// workload name read from a results file, would otherwise become a
/// working `::notice::` or `::warning::` workflow command in a CI log.
#[test]
fn control_characters_never_start_a_log_line() {
    let dir = Dir::new();
    dir.create(
        "memgate.yaml",
        "version: 1\ndefaults: {repetitions: 2, warmup: 0, sample_interval: 0}\nworkloads:\n  - {name: ghost, lang: other, run: [\"./x\\n::notice::pwned\"]}\n  - {name: ok, lang: other, run: [sleep, '0.01']}\n",
    );
    let out = dir.memgate().args(["run", "-o", "r.json"]).assert().code(3);
    let starts = |text: &[u8]| {
        String::from_utf8_lossy(text)
            .lines()
            .any(|l| l.starts_with("::"))
    };
    assert!(
        !starts(&out.get_output().stderr),
        "{}",
        String::from_utf8_lossy(&out.get_output().stderr)
    );
    let mut r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    // The failed workload: what fails is what the terminal shows.
    r["workloads"][0]["name"] = "ok\n::warning::pwned".into();
    dir.create("hostile.json", &r.to_string());
    let out = dir
        .memgate()
        .args(["compare", "hostile.json", "hostile.json"])
        .env("GITHUB_ACTIONS", "true")
        .assert();
    let o = out.get_output();
    assert!(!starts(&o.stdout), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("ok\\n::warning::pwned"),
        "the name is shown, escaped"
    );
    // An error quoting its input (serde names the unknown variant) stays
    // on its line too: the comment job prints it to a privileged log.
    let mut v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("fixtures/verdicts/regression.json")).unwrap(),
    )
    .unwrap();
    v["verdicts"][0]["status"] = "x\n::add-mask::pwned".into();
    dir.create("hostile-verdicts.json", &v.to_string());
    let out = dir
        .memgate()
        .args(["report", "hostile-verdicts.json"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(!starts(stderr.as_bytes()), "{stderr}");
    assert!(stderr.contains("x\\n::add-mask::pwned"), "{stderr}");
}
