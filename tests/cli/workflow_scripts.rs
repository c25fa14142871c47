//! The workflows' decisions, made by their own scripts: each test reads a
//! step's `run:` script from `.github/workflows/` (what `memgate init`
//! writes, with the local action) and runs it with bash, the real memgate,
//! and a stand-in `gh` on PATH (tests/cli/github/gh) that answers with the
//! GitHub API responses each test lays out (only the fields the scripts
//! read, in the shapes of GitHub's REST API) and records every write.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::json;

use crate::util::{memgate_exe, repo_root};

const REPO: &str = "acme/app";
const HEAD_SHA: &str = "1111111111111111111111111111111111111111";
const MARKER: &str = "<!-- memgate-report -->";

/// A step's script and the environment keys it declares.
fn step(workflow: &str, name: &str) -> (String, Vec<String>) {
    let text =
        std::fs::read_to_string(repo_root().join(".github/workflows").join(workflow)).unwrap();
    let w: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    for (_, job) in w["jobs"].as_mapping().unwrap() {
        for s in job["steps"].as_sequence().unwrap() {
            if s["name"] == name {
                let env = s["env"]
                    .as_mapping()
                    .map(|m| m.keys().map(|k| k.as_str().unwrap().to_owned()).collect())
                    .unwrap_or_default();
                return (s["run"].as_str().unwrap().to_owned(), env);
            }
        }
    }
    panic!("{workflow} has no step `{name}`")
}

/// One run of a step against a fake GitHub.
struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new() -> Fake {
        let f = Fake {
            dir: tempfile::tempdir().unwrap(),
        };
        for d in ["gh", "runner", "artifacts"] {
            std::fs::create_dir_all(f.path(d)).unwrap();
        }
        // A pull request that changes no file memgate reads; a run with no
        // HTML report.
        f.answer("files", json!([{"filename": "src/lib.rs"}]))
            .answer("run-artifacts", json!({"artifacts": []}))
            .answer("commit-pulls", json!([]));
        f
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Lays out a GET response.
    fn answer(&self, name: &str, value: serde_json::Value) -> &Fake {
        std::fs::write(self.path(&format!("gh/{name}.json")), value.to_string()).unwrap();
        self
    }

    /// Lays out the artifact `gh run download RUN_ID` gets.
    fn artifact(&self, run_id: &str, files: &[(&str, &str)]) -> &Fake {
        let dir = self.path(&format!("gh/artifacts/{run_id}"));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        self
    }

    /// Runs the step's script with `env` (every key the step declares must
    /// be given), the fake `gh` first on PATH.
    fn run(&self, workflow: &str, name: &str, env: &[(&str, &str)]) -> Output {
        let (script, declared) = step(workflow, name);
        for key in &declared {
            assert!(
                key == "GH_TOKEN" || env.iter().any(|(k, _)| k == key),
                "{name}: the test gives no {key}"
            );
        }
        let fake_bin = repo_root().join("tests/cli/github");
        let path = format!(
            "{}:{}",
            fake_bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        std::fs::write(self.path("output"), "").unwrap();
        std::fs::write(self.path("summary"), "").unwrap();
        Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(self.dir.path())
            .env("PATH", path)
            .env("FAKE_GH", self.path("gh"))
            .env("GH_TOKEN", "not-a-token")
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_SHA", "2".repeat(40))
            .env("GITHUB_OUTPUT", self.path("output"))
            .env("GITHUB_STEP_SUMMARY", self.path("summary"))
            .env("RUNNER_TEMP", self.path("runner"))
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }
}

fn verdicts(name: &str) -> String {
    std::fs::read_to_string(
        repo_root()
            .join("fixtures/verdicts")
            .join(format!("{name}.json")),
    )
    .unwrap()
}

/// The comment job's step, for a run of HEAD_SHA from acme:feature.
fn comment(fake: &Fake) -> Output {
    comment_with(fake, &[])
}

/// The comment job's step with some of its environment given otherwise
/// (the head repository, memgate itself).
fn comment_with(fake: &Fake, changed: &[(&str, &str)]) -> Output {
    let memgate = memgate_exe();
    let mut env = vec![
        ("MEMGATE", memgate.to_str().unwrap()),
        ("RUN_ID", "900"),
        ("RUN_URL", "https://github.com/acme/app/actions/runs/900"),
        ("HEAD_SHA", HEAD_SHA),
        ("HEAD_OWNER", "acme"),
        ("HEAD_REPO", REPO),
        ("HEAD_BRANCH", "feature"),
    ];
    for (key, value) in changed {
        env.retain(|(k, _)| k != key);
        env.push((key, value));
    }
    fake.run("memgate-comment.yml", "Post or update the comment", &env)
}

fn pr_seven(fake: &Fake) {
    fake.answer(
        "pulls",
        json!([
            {"number": 7, "head": {"sha": HEAD_SHA, "label": "acme:feature"}},
            {"number": 8, "head": {"sha": HEAD_SHA, "label": "mallory:feature"}},
        ]),
    );
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The pull request comes from the API and must have the run's head
/// commit: an artifact naming another pull request, or a pull request whose
/// head moved on, gets no comment.
#[test]
fn the_comment_goes_only_to_the_pull_request_whose_head_ran() {
    let fake = Fake::new();
    fake.answer(
        "pulls",
        json!([{"number": 7, "head": {"sha": "2222222222222222222222222222222222222222", "label": "acme:feature"}}]),
    )
    .answer("comments", json!([]))
    .artifact(
        "900",
        &[
            ("status.txt", "ok\n"),
            ("verdicts.json", &verdicts("pass")),
            ("pr-number.txt", "1\n"),
        ],
    );
    let out = comment(&fake);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to comment"));
    assert_eq!(fake.read("gh/writes"), "", "nothing was written");
    // The query names the head as owner:branch, escaped.
    assert!(
        fake.read("gh/calls")
            .contains("pulls?state=open&head=acme%3Afeature&")
    );
}

/// Only this workflow's own comment (the bot's, ending with the marker)
/// is edited; another user's comment with the marker, or another
/// workflow's bot comment quoting it, is left alone.
#[test]
fn only_the_bots_own_comment_is_edited() {
    let fake = Fake::new();
    pr_seven(&fake);
    fake.answer(
        "comments",
        json!([
            {"id": 1, "user": {"login": "mallory", "type": "User"}, "body": format!("{MARKER} mine now")},
            {"id": 3, "user": {"login": "github-actions[bot]", "type": "Bot"}, "body": format!("quoting {MARKER} here")},
            {"id": 2, "user": {"login": "github-actions[bot]", "type": "Bot"}, "body": format!("old report\n{MARKER}\n")},
        ]),
    )
    .artifact("900", &[("status.txt", "ok\n"), ("verdicts.json", &verdicts("regression"))]);
    ok(&comment(&fake));
    assert_eq!(
        fake.read("gh/writes"),
        "PATCH repos/acme/app/issues/comments/2\n"
    );
    let body = fake.read("gh/PATCH.md");
    let rendered = Command::new(memgate_exe())
        .args(["report", "--format", "markdown"])
        .arg(repo_root().join("fixtures/verdicts/regression.json"))
        .output()
        .unwrap();
    assert_eq!(
        body,
        String::from_utf8_lossy(&rendered.stdout),
        "rendered here by memgate"
    );

    // With only mallory's comment, a new one is posted.
    let fake = Fake::new();
    pr_seven(&fake);
    fake.answer(
        "comments",
        json!([{"id": 1, "user": {"login": "mallory"}, "body": MARKER}]),
    )
    .artifact(
        "900",
        &[("status.txt", "ok\n"), ("verdicts.json", &verdicts("pass"))],
    );
    ok(&comment(&fake));
    assert_eq!(
        fake.read("gh/writes"),
        "POST repos/acme/app/issues/7/comments\n"
    );
}

/// A pull request from a fork, or one that changes the config, the
/// workflows or the action, gets its verdict marked advisory, saying why;
/// one of this repository that changes none of them does not.
#[test]
fn the_verdict_is_advisory_when_the_pull_request_controls_it() {
    for (head_repo, files, expected) in [
        (REPO, json!([{"filename": "src/lib.rs"}]), None),
        (
            "mallory/app",
            json!([{"filename": "src/lib.rs"}]),
            Some("it comes from a fork, mallory/app"),
        ),
        (
            REPO,
            json!([{"filename": "memgate.yaml"}, {"filename": ".github/workflows/memgate-pr.yml"}]),
            Some("it changes memgate.yaml, .github/workflows/memgate-pr.yml"),
        ),
    ] {
        let fake = Fake::new();
        pr_seven(&fake);
        fake.answer("files", files)
            .answer("comments", json!([]))
            .artifact(
                "900",
                &[("status.txt", "ok\n"), ("verdicts.json", &verdicts("pass"))],
            );
        let out = comment_with(&fake, &[("HEAD_REPO", head_repo)]);
        ok(&out);
        let body = fake.read("gh/POST.md");
        match expected {
            Some(why) => assert!(
                body.contains("**Advisory**") && body.contains(why),
                "{body}"
            ),
            None => assert!(!body.contains("Advisory"), "{body}"),
        }
    }
}

/// A run whose fork was deleted (no head owner) comments nowhere: the
/// query `head=:branch` would list every open pull request.
#[test]
fn a_deleted_fork_gets_no_comment() {
    let fake = Fake::new();
    pr_seven(&fake);
    fake.answer("comments", json!([])).artifact(
        "900",
        &[("status.txt", "ok\n"), ("verdicts.json", &verdicts("pass"))],
    );
    let out = comment_with(&fake, &[("HEAD_OWNER", ""), ("HEAD_REPO", "")]);
    ok(&out);
    assert_eq!(fake.read("gh/writes"), "", "nothing was written");
    assert!(!fake.read("gh/calls").contains("pulls"));
}

/// memgate renders the artifact with no token in its environment, between
/// `::stop-commands::` and its end, so nothing it prints from the
/// artifact is a workflow command.
#[test]
fn the_artifact_is_rendered_without_the_token_or_workflow_commands() {
    let fake = Fake::new();
    pr_seven(&fake);
    fake.answer("comments", json!([])).artifact(
        "900",
        &[
            ("status.txt", "ok\n"),
            ("verdicts.json", "{\"x\": \"::add-mask::secret\"}"),
        ],
    );
    let spy = fake.path("memgate-spy");
    std::fs::write(
        &spy,
        format!(
            "#!/bin/sh\nenv > \"$FAKE_GH/memgate-env\"\nexec {} \"$@\"\n",
            memgate_exe().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&spy, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = comment_with(&fake, &[("MEMGATE", spy.to_str().unwrap())]);
    ok(&out);
    let env = fake.read("gh/memgate-env");
    assert!(
        env.contains("FAKE_GH=") && !env.contains("GH_TOKEN"),
        "{env}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stop = stdout
        .lines()
        .find_map(|l| l.strip_prefix("::stop-commands::"))
        .expect("commands stopped");
    assert!(stop.len() >= 32, "an unguessable token: {stop}");
    assert!(stdout.contains(&format!("::{stop}::")), "{stdout}");
    // The unreadable artifact still gets the notice.
    assert!(fake.read("gh/POST.md").contains("memgate: no verdict"));
}

/// A missing or unreadable artifact turns the old comment into a notice
/// that the check gave no verdict, with the reason when the pull-request
/// job named one of its own codes; anything else in status.txt is ignored.
#[test]
fn no_verdicts_turn_the_comment_into_an_error_notice() {
    for (artifact, expected) in [
        (None, "the check errored"),
        (Some("baseline-expired\n"), "baseline artifact has expired"),
        (
            Some("baseline-missing\n"),
            "no baseline of the base branch yet",
        ),
        (Some("@everyone <b>pwned</b>\n"), "the check errored"),
    ] {
        let fake = Fake::new();
        pr_seven(&fake);
        fake.answer(
            "comments",
            json!([{"id": 5, "user": {"login": "github-actions[bot]", "type": "Bot"}, "body": format!("passed\n{MARKER}")}]),
        );
        if let Some(status) = artifact {
            fake.artifact("900", &[("status.txt", status)]);
        }
        let out = comment(&fake);
        ok(&out);
        assert_eq!(
            fake.read("gh/writes"),
            "PATCH repos/acme/app/issues/comments/5\n"
        );
        let body = fake.read("gh/PATCH.md");
        assert!(
            body.contains("memgate: no verdict") && body.contains(expected),
            "{body}"
        );
        assert!(body.contains(MARKER) && !body.contains("pwned"), "{body}");
        assert!(fake.read("summary").contains(expected));
    }
}

/// What GitHub would link or notify in a comment body, read from the body
/// rendered as GitHub renders it (CommonMark with GFM's tables,
/// strikethrough and extended autolinks, by comrak): each link's target,
/// each mention (`@name`, `@org/team`), each issue reference (`#1`,
/// `owner/repo#1`) in the text, where entities are already characters.
fn linked(body: &str) -> Vec<String> {
    use comrak::nodes::NodeValue;
    let arena = comrak::Arena::new();
    let mut options = comrak::Options::default();
    options.extension.autolink = true;
    options.extension.table = true;
    options.extension.strikethrough = true;
    let root = comrak::parse_document(&arena, body, &options);
    let mut found = Vec::new();
    for node in root.descendants() {
        match &node.data.borrow().value {
            NodeValue::Link(link) => found.push(format!("link to {}", link.url)),
            NodeValue::Text(text) => {
                let chars: Vec<char> = text.chars().collect();
                for (i, w) in chars.windows(2).enumerate() {
                    let before = i.checked_sub(1).map(|j| chars[j]);
                    let word_before = before.is_some_and(|b| b.is_alphanumeric() || b == '`');
                    if w[0] == '@' && w[1].is_ascii_alphanumeric() && !word_before {
                        found.push(format!("mention in {text:?}"));
                    }
                    if w[0] == '#' && w[1].is_ascii_digit() {
                        found.push(format!("reference in {text:?}"));
                    }
                }
            }
            NodeValue::HtmlInline(html) if html.contains("<a") => found.push(html.clone()),
            _ => {}
        }
    }
    found
}

/// The renderer the tests trust finds what it should: a mention, a team,
/// a cross-repository reference and two autolinks in plain Markdown.
#[test]
fn the_rendered_text_check_sees_mentions_and_links() {
    let found = linked(
        "hi @someone and @org/team, see owner/repo#1 at https://x.example/a or www.x.example",
    );
    assert_eq!(found.len(), 5, "{found:?}");
}

/// Whatever the artifact holds, the body posted is memgate's rendering:
/// under GitHub's limit, with names escaped, and once GitHub has rendered
/// it, mentioning nobody, referencing no issue and linking nowhere the
/// artifact chose.
#[test]
fn a_hostile_artifact_is_capped_and_mentions_nobody() {
    let mut v: serde_json::Value = serde_json::from_str(&verdicts("regression")).unwrap();
    let one = v["verdicts"][0].clone();
    let hostile =
        "@someone @org/team owner/repo#1 #2 https://evil.example/x www.evil.example a@evil.example";
    let many: Vec<serde_json::Value> = (0..3000)
        .map(|i| {
            let mut x = one.clone();
            x["workload"] = format!("@acme/team-{i} <img src=x>").into();
            x["metric"] = hostile.into();
            x["reason"] = hostile.into();
            x
        })
        .collect();
    v["verdicts"] = many.into();
    let fake = Fake::new();
    pr_seven(&fake);
    fake.answer("comments", json!([])).artifact(
        "900",
        &[("status.txt", "ok\n"), ("verdicts.json", &v.to_string())],
    );
    ok(&comment(&fake));
    let body = fake.read("gh/POST.md");
    assert!(
        body.chars().count() <= 65_536,
        "{} characters",
        body.chars().count()
    );
    assert!(body.contains("acme/team-0"), "{body}");
    assert!(!body.contains("<img"));
    let found = linked(&body);
    assert!(found.is_empty(), "{:?}", &found[..found.len().min(5)]);
    assert!(body.ends_with(&format!("{MARKER}\n")));
}

/// Fields of any length (the baseline's source, an environment field, a
/// reason) are cut, so the report still fits one comment and is posted,
/// rather than a body over GitHub's limit that `gh` refuses, leaving the
/// old comment.
#[test]
fn long_fields_are_cut_and_the_report_still_posts() {
    let mut v: serde_json::Value = serde_json::from_str(&verdicts("regression")).unwrap();
    let long = "x".repeat(200_000);
    v["baseline"]["source"] = long.clone().into();
    v["current"]["source"] = long.clone().into();
    v["verdicts"][0]["reason"] = long.into();
    let fake = Fake::new();
    pr_seven(&fake);
    fake.answer("comments", json!([])).artifact(
        "900",
        &[("status.txt", "ok\n"), ("verdicts.json", &v.to_string())],
    );
    ok(&comment(&fake));
    let body = fake.read("gh/POST.md");
    assert!(body.chars().count() <= 65_536, "{}", body.chars().count());
    assert!(!body.contains("no verdict"), "the report itself is posted");
    assert!(
        body.contains(&format!("{}…", "x".repeat(1_000))),
        "cut, and says so"
    );
}

/// The pull-request job's baseline: only this repository's push or manual
/// runs of the base branch serve (a fork's run on a branch named like the
/// base, a pull request's run, another branch's are refused, by the query
/// and again by the script); the newest of them, since the job measures
/// the merge commit, saying how far behind the base's head it is; a merge
/// queue's base (`refs/heads/main`) is read as the branch; an expired
/// artifact says so.
#[test]
fn the_baseline_is_the_newest_of_this_repositorys_base_branch() {
    let base_head = "4444444444444444444444444444444444444444";
    let old = "3333333333333333333333333333333333333333";
    let run = |id: u32, event: &str, branch: &str, conclusion: &str, repo: &str, sha: &str| {
        json!({"id": id, "event": event, "head_branch": branch, "conclusion": conclusion,
               "head_sha": sha, "head_repository": {"full_name": repo}})
    };
    let runs = json!({"workflow_runs": [
        run(41, "pull_request", "main", "success", "mallory/app", base_head),
        run(40, "push", "main", "success", "mallory/app", base_head),
        run(39, "push", "release", "success", REPO, base_head),
        run(38, "push", "main", "failure", REPO, base_head),
        run(20, "workflow_dispatch", "main", "success", REPO, "5555555555555555555555555555555555555555"),
        run(10, "push", "main", "success", REPO, old),
    ]});
    for base_ref in ["main", "refs/heads/main"] {
        let env = [("BASE_REF", base_ref), ("BASE_SHA", base_head)];
        let fake = Fake::new();
        fake.answer("runs", runs.clone())
            .answer("compare", json!({"ahead_by": 3}))
            .artifact("20", &[("baseline.json", "{}")])
            .artifact("10", &[("baseline.json", "older")]);
        for poisoned in ["41", "40", "39", "38"] {
            fake.artifact(poisoned, &[("baseline.json", "poisoned")]);
        }
        let out = fake.run("memgate-pr.yml", "Find the base branch's baseline", &env);
        ok(&out);
        let output = fake.read("output");
        assert!(output.contains("status=ok"), "{output}");
        let path = output
            .lines()
            .find_map(|l| l.strip_prefix("path="))
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(path).unwrap(),
            "{}",
            "this repository's newest run of main"
        );
        let summary = fake.read("summary");
        assert!(
            summary.contains(
                "main at 5555555555555555555555555555555555555555, the newest; 3 commits behind"
            ),
            "{summary}"
        );
        let calls = fake.read("gh/calls");
        assert!(calls.contains("runs?branch=main&status=success"), "{calls}");
        assert!(calls.contains(&format!(
            "compare/5555555555555555555555555555555555555555...{base_head}"
        )));
    }

    // Only others' runs: no baseline.
    let env = [("BASE_REF", "main"), ("BASE_SHA", base_head)];
    let fake = Fake::new();
    let others = json!({"workflow_runs": runs["workflow_runs"].as_array().unwrap()[..4].to_vec()});
    fake.answer("runs", others);
    let out = fake.run("memgate-pr.yml", "Find the base branch's baseline", &env);
    assert!(!out.status.success());
    assert!(fake.read("output").contains("status=baseline-missing"));

    // This repository's run, its artifact expired.
    let fake = Fake::new();
    fake.answer("runs", runs);
    let out = fake.run("memgate-pr.yml", "Find the base branch's baseline", &env);
    assert!(!out.status.success());
    assert!(fake.read("output").contains("status=baseline-expired"));
    assert!(
        fake.read("summary")
            .contains("artifacts expire after 90 days")
    );
}

/// The bot's comment holding an acceptance record, as the comment job
/// writes it.
fn recorded(commit: &str, by: &str, metrics: &[&str]) -> serde_json::Value {
    use std::io::Write as _;
    let mut b64 = Command::new("base64")
        .arg("-w0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    b64.stdin
        .take()
        .unwrap()
        .write_all(json!(metrics).to_string().as_bytes())
        .unwrap();
    let encoded = String::from_utf8(b64.wait_with_output().unwrap().stdout).unwrap();
    json!([{"id": 5, "user": {"login": "github-actions[bot]", "type": "Bot"},
            "body": format!("report\n<!-- memgate-accepted commit={commit} by={by} metrics={encoded} -->\n{MARKER}\n")}])
}

/// `memgate:accept` holds for the commit and the metrics it was given for:
/// given now (the labelled event of that label), it accepts what regresses
/// in this run, by its giver, for the head; on later runs of the same
/// commit (another label added, a reopen) it accepts exactly what the
/// bot's comment recorded; a new commit needs it again; in a merge queue,
/// the queued pull request's label and record hold for its head.
#[test]
fn an_acceptance_holds_for_its_commit_and_metrics() {
    let old = "9999999999999999999999999999999999999999";
    let run = |fake: &Fake, action: &str, label: &str, labeled: &str, queue_ref: &str| {
        let out = fake.run(
            "memgate-pr.yml",
            "The memgate:accept label",
            &[
                ("ACTION", action),
                ("LABEL", label),
                ("SENDER", "alice"),
                ("LABELED", labeled),
                ("PR", if queue_ref.is_empty() { "7" } else { "" }),
                ("HEAD_SHA", if queue_ref.is_empty() { HEAD_SHA } else { "" }),
                ("QUEUE_REF", queue_ref),
            ],
        );
        ok(&out);
        fake.read("output")
    };
    // Given now.
    let fake = Fake::new();
    let output = run(&fake, "labeled", "memgate:accept", "true", "");
    assert!(output.contains("patterns=*:*"), "{output}");
    assert!(output.contains(&format!(
        "reason=label memgate:accept, given by alice for commit {HEAD_SHA}"
    )));
    assert_eq!(
        fake.read("memgate-comment/acceptance.txt"),
        format!("commit={HEAD_SHA} by=alice\n")
    );
    // Another label added: the recorded acceptance of this commit holds,
    // for its metrics only, by its giver.
    let fake = Fake::new();
    fake.answer(
        "comments",
        recorded(HEAD_SHA, "bob", &["toucher:process.faults.minor", "w:m"]),
    );
    let output = run(&fake, "labeled", "bug", "true", "");
    assert!(
        output.contains("patterns=toucher:process.faults.minor,w:m\n"),
        "{output}"
    );
    assert!(output.contains("given by bob"), "{output}");
    // A new commit: it lapses, and says so.
    let fake = Fake::new();
    fake.answer("comments", recorded(old, "bob", &["w:m"]));
    let output = run(&fake, "synchronize", "", "true", "");
    assert!(!output.contains("patterns="), "{output}");
    assert!(fake.read("summary").contains("needs it again"));
    // Another user's comment cannot record one.
    let fake = Fake::new();
    let mut forged = recorded(HEAD_SHA, "mallory", &["*:*"]);
    forged[0]["user"] = json!({"login": "mallory", "type": "User"});
    fake.answer("comments", forged);
    assert!(!run(&fake, "reopened", "", "true", "").contains("patterns="));
    // No label, nothing.
    let fake = Fake::new();
    fake.answer("comments", recorded(HEAD_SHA, "bob", &["w:m"]));
    assert!(!run(&fake, "synchronize", "", "false", "").contains("patterns="));
    // A merge queue's entry: the queued pull request's label and record.
    let queue = format!("refs/heads/gh-readonly-queue/main/pr-7-{old}");
    for (labels, accepted) in [
        (json!([{"name": "memgate:accept"}]), true),
        (json!([{"name": "memgate:acceptable"}]), false),
    ] {
        let fake = Fake::new();
        fake.answer("labels", labels)
            .answer("pull", json!({"number": 7, "head": {"sha": HEAD_SHA}}))
            .answer("comments", recorded(HEAD_SHA, "bob", &["w:m"]));
        let output = run(&fake, "", "", "false", &queue);
        assert_eq!(output.contains("patterns=w:m"), accepted, "{output}");
        assert!(
            fake.read("gh/calls")
                .contains("repos/acme/app/issues/7/labels")
        );
    }
}

/// The comment records the acceptance the check applied (commit, giver,
/// the accepted metrics) where the next run of the commit finds it, and
/// says in the report who gave it for which commit.
#[test]
fn the_comment_records_what_was_accepted() {
    let fake = Fake::new();
    pr_seven(&fake);
    fake.answer("comments", json!([])).artifact(
        "900",
        &[
            ("status.txt", "ok\n"),
            ("verdicts.json", &verdicts("accepted")),
            ("acceptance.txt", &format!("commit={HEAD_SHA} by=alice\n")),
        ],
    );
    ok(&comment(&fake));
    let body = fake.read("gh/POST.md");
    let record = body
        .lines()
        .find(|l| l.starts_with("<!-- memgate-accepted "))
        .expect("a record");
    assert!(
        record.starts_with(&format!(
            "<!-- memgate-accepted commit={HEAD_SHA} by=alice metrics="
        )),
        "{record}"
    );
    assert!(body.ends_with(&format!("{MARKER}\n")));
    // What the pull-request job reads back from it.
    let encoded = record
        .split("metrics=")
        .nth(1)
        .unwrap()
        .trim_end_matches(" -->");
    let decoded = Command::new("bash")
        .arg("-c")
        .arg(format!("base64 -d <<<'{encoded}'"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&decoded.stdout).trim_end(),
        r#"["toucher:process.faults.minor"]"#
    );
    // A forged acceptance file records nothing.
    let fake = Fake::new();
    pr_seven(&fake);
    fake.answer("comments", json!([])).artifact(
        "900",
        &[
            ("status.txt", "ok\n"),
            ("verdicts.json", &verdicts("accepted")),
            ("acceptance.txt", "commit=x by=a -->\n<img>"),
        ],
    );
    ok(&comment(&fake));
    assert!(!fake.read("gh/POST.md").contains("memgate-accepted"));
}

/// A baseline comes from the default branch exactly: not a tag named like
/// it, not a branch whose name differs in case (Actions' `==` ignores
/// case, so the job's condition lets it through to this step).
#[test]
fn only_the_default_branch_makes_a_baseline() {
    for (reference, made) in [
        ("refs/heads/main", true),
        ("refs/heads/Main", false),
        ("refs/tags/main", false),
        ("refs/heads/main2", false),
    ] {
        let fake = Fake::new();
        let out = fake.run(
            "memgate-baseline.yml",
            "Only the default branch",
            &[("DEFAULT_BRANCH", "main"), ("GITHUB_REF", reference)],
        );
        assert_eq!(out.status.success(), made, "{reference}");
    }
}

/// The baseline job carries the history forward: the newest earlier
/// baseline run's `history.db` is taken (a fork's run never), this commit
/// is added to it by the real memgate, and both files are uploaded; with
/// no earlier history, the run starts one and says so.
#[test]
fn the_baseline_job_carries_the_history_forward() {
    let run = |id: u32, event: &str, repo: &str| {
        json!({"id": id, "event": event, "head_branch": "main", "conclusion": "success",
               "head_sha": HEAD_SHA, "head_repository": {"full_name": repo}})
    };
    let earlier = Fake::new();
    // An earlier history of one commit, made by memgate itself.
    let seed = earlier.path("seed.json");
    std::fs::copy(repo_root().join(".memgate/baseline.json"), &seed).unwrap();
    let db = earlier.path("gh/artifacts/20/history.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let made = Command::new(memgate_exe())
        .args(["history", "add"])
        .arg(&seed)
        .arg("--history")
        .arg(&db)
        .output()
        .unwrap();
    ok(&made);
    earlier
        .answer(
            "runs",
            json!({"workflow_runs": [run(21, "push", "mallory/app"), run(20, "push", REPO)]}),
        )
        .artifact("21", &[("history.db", "poisoned")]);
    let out = earlier.run(
        "memgate-baseline.yml",
        "The history so far",
        &[("DEFAULT_BRANCH", "main")],
    );
    ok(&out);
    assert!(
        earlier.read("summary").contains("comes from run 20"),
        "{}",
        earlier.read("summary")
    );
    let carried = earlier.path("runner/memgate-baseline/history.db");
    assert_eq!(
        std::fs::read(&carried).unwrap(),
        std::fs::read(&db).unwrap()
    );
    // This commit added, by the real memgate, to the carried history.
    let mut r: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join(".memgate/baseline.json")).unwrap(),
    )
    .unwrap();
    for env in r["environments"].as_array_mut().unwrap() {
        env["git"]["commit"] = "2".repeat(40).into();
    }
    std::fs::create_dir_all(earlier.path(".memgate")).unwrap();
    std::fs::write(earlier.path(".memgate/results.json"), r.to_string()).unwrap();
    // The merged pull request behind this commit accepted go-retain's live
    // heap: the history marks it, and drift budgets count from here.
    earlier
        .answer(
            "commit-pulls",
            json!([{"number": 7, "merged_at": "2026-12-01T00:00:00Z"}]),
        )
        .answer(
            "comments",
            recorded(HEAD_SHA, "alice", &["go-retain:heap.live.bytes"]),
        );
    let out = earlier.run(
        "memgate-baseline.yml",
        "Record this commit in the history",
        &[("MEMGATE", memgate_exe().to_str().unwrap())],
    );
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("marked 1 of 1 accepted increase(s)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = Command::new(memgate_exe())
        .args([
            "history",
            "show",
            "-w",
            "go-retain",
            "-m",
            "heap.live.bytes",
            "--history",
        ])
        .arg(&carried)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("2 commits"), "{shown}");
    assert!(
        shown.contains("accepted: memgate:accept on #7, given by alice"),
        "{shown}"
    );
    assert!(
        earlier.read("summary").contains("level changes"),
        "{}",
        earlier.read("summary")
    );

    // No earlier run: a new history.
    let first = Fake::new();
    first.answer("runs", json!({"workflow_runs": []}));
    ok(&first.run(
        "memgate-baseline.yml",
        "The history so far",
        &[("DEFAULT_BRANCH", "main")],
    ));
    assert!(first.read("summary").contains("this run starts one"));
    assert!(!first.path("runner/memgate-baseline/history.db").exists());
}

/// The comment links the run's HTML report, found through the API by its
/// artifact's name (an id that is not a number is never written).
#[test]
fn the_comment_links_the_html_report() {
    for (artifacts, link) in [
        (
            json!({"artifacts": [{"name": "memgate-comment", "id": 76, "expired": false}, {"name": "memgate-report-html", "id": 77, "expired": false}]}),
            Some(77),
        ),
        (
            json!({"artifacts": [{"name": "memgate-report-html", "id": 78, "expired": true}]}),
            None,
        ),
        (
            json!({"artifacts": [{"name": "memgate-report-html", "id": "77) [x](https://evil.example", "expired": false}]}),
            None,
        ),
    ] {
        let fake = Fake::new();
        pr_seven(&fake);
        fake.answer("comments", json!([]))
            .answer("run-artifacts", artifacts)
            .artifact(
                "900",
                &[
                    ("status.txt", "ok\n"),
                    ("verdicts.json", &verdicts("regression")),
                ],
            );
        ok(&comment(&fake));
        let body = fake.read("gh/POST.md");
        match link {
            Some(id) => assert!(
                body.contains(&format!(
                    "[The HTML report](https://github.com/acme/app/actions/runs/900/artifacts/{id})"
                )),
                "{body}"
            ),
            None => assert!(!body.contains("HTML report"), "{body}"),
        }
        assert!(body.ends_with(&format!("{MARKER}\n")));
    }
}
