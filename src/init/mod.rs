//! `memgate init`: a commented memgate.yaml for the current repository
//! (Go and Rust detected from go.mod and Cargo.toml) and the three
//! workflows: baseline on main, check on pull requests, and the comment
//! posted from a separate workflow_run job, as GitHub advises for pull
//! requests from forks. Existing files are never overwritten without
//! `--force`; nothing is written unless everything can be.

use std::path::{Path, PathBuf};

use crate::atomic;

mod detect;

/// memgate's repository, from Cargo.toml: the one place it is spelled.
pub const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

/// The action every generated job uses: this repository at the commit
/// this memgate was built from, so the baseline, the check and the comment
/// all run the same memgate, and a moved tag never runs someone else's
/// code in a job with a write token. `None` when the build did not know
/// its commit (see build.rs).
pub fn default_action() -> Option<String> {
    let repo = REPOSITORY
        .trim_start_matches("https://github.com/")
        .trim_end_matches('/');
    let commit = env!("MEMGATE_COMMIT");
    (!commit.is_empty()).then(|| format!("{repo}@{commit}"))
}

/// Whether `action` (`owner/repo@ref`) names its ref by a full commit SHA.
pub fn is_pinned(action: &str) -> bool {
    action
        .split_once('@')
        .is_some_and(|(_, r)| r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit()))
}

const BASELINE_WORKFLOW: &str = include_str!("memgate-baseline.yml");
const PR_WORKFLOW: &str = include_str!("memgate-pr.yml");
const COMMENT_WORKFLOW: &str = include_str!("memgate-comment.yml");

/// The toolchain steps for the languages a repository has.
fn toolchains(go: bool, rust: bool) -> String {
    let mut steps = String::new();
    if rust {
        steps.push_str(
            "      - uses: dtolnay/rust-toolchain@b3b07ba8b418998c39fb20f53e8b695cdcc8de1b # master; pinned by SHA, the toolchain is an input\n        with:\n          toolchain: stable\n",
        );
    }
    if go {
        // No setup-go cache: it wants a go.sum at the root and warns
        // without one; the workloads' builds are small.
        steps.push_str(
            "      - uses: actions/setup-go@d35c59abb061a4a6fb18e82ac0862c26744d6ab5 # v5.5.0\n        with:\n          go-version: stable\n          cache: false\n",
        );
    }
    steps.trim_end_matches('\n').to_owned()
}

/// The workflows, filled in: the action every job uses (`./` in memgate's
/// own repository, which the comment job then checks out: its default
/// branch, never the pull request) and the toolchains of the languages
/// the repository has.
pub fn workflows(action: &str, go: bool, rust: bool) -> Vec<(&'static str, String)> {
    let checkout = if action.starts_with("./") {
        "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2 (the default branch: the local action)\n        with:\n          persist-credentials: false"
    } else {
        ""
    };
    // A placeholder is a line of its own; filled with nothing, the line goes.
    let line = |text: String| {
        if text.is_empty() { text } else { text + "\n" }
    };
    // This memgate's own commit carries its version beside it, as
    // pinned actions are written; any other action is written as given
    // (a tag stays visible to the adopter's own audit).
    let uses = if Some(action) == default_action().as_deref() {
        format!("{action} # v{}", env!("CARGO_PKG_VERSION"))
    } else {
        action.to_owned()
    };
    let fill = |t: &str| {
        t.replace("{{ACTION}}", &uses)
            .replace("{{TOOLCHAINS}}\n", &line(toolchains(go, rust)))
            .replace("{{COMMENT_CHECKOUT}}\n", &line(checkout.to_owned()))
    };
    vec![
        (
            ".github/workflows/memgate-baseline.yml",
            fill(BASELINE_WORKFLOW),
        ),
        (".github/workflows/memgate-pr.yml", fill(PR_WORKFLOW)),
        (
            ".github/workflows/memgate-comment.yml",
            fill(COMMENT_WORKFLOW),
        ),
    ]
}

/// The commented config `init` writes, before its workloads.
const CONFIG: &str = include_str!("memgate.yaml");
/// The example entry when nothing runnable is found.
const OTHER_WORKLOAD: &str = include_str!("workload-other.yaml");

/// What memgate writes under `.memgate/` and a repository does not keep:
/// every run's results and verdicts, built programs; the baseline stays.
const GITIGNORE: &str = "# memgate's outputs, written by every run; baseline.json is kept (the\n# history travels with CI's baseline artifacts)\nresults.json\nverdicts.json\nhistory.db\nbin/\ngobench/\n";

/// A commented config for the repository at `root`: a `gobench` workload
/// for a Go module's benchmarks, and its programs; a Cargo project's
/// binaries and examples (see `detect`). With nothing found that runs by
/// itself, the list is empty and an example says how to fill it.
pub fn config_for(root: &Path) -> Result<String, InitError> {
    let mut entries = Vec::new();
    if root.join("go.mod").exists() {
        detect::go_mod_readable(root)?;
        entries.extend(detect::go(root));
    }
    if root.join("Cargo.toml").exists() {
        entries.extend(detect::rust(root)?);
    }
    let mut text = String::from(CONFIG);
    if !root.join("go.mod").exists() {
        // No Go here: no Go runtime settings.
        text = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("env: { GOGC:"))
            .map(|l| format!("{l}\n"))
            .collect();
    }
    if root.join("Cargo.toml").exists() {
        // A Rust program with a fixed input allocates the same count and
        // bytes every run: a change of a few allocations is a change.
        text = text.replace(
            "  default: { max_increase: 5% }\n",
            "  default: { max_increase: 5% }\n  heap.alloc.objects: { max_increase: 1% }  # a deterministic program repeats them exactly\n  heap.alloc.bytes: { max_increase: 2% }\n",
        );
    }
    if entries.iter().all(|e| e.disabled.is_some()) {
        text.push_str(
            "workloads: []  # nothing found that runs by itself: fill in from the examples below\n",
        );
        text.push_str(OTHER_WORKLOAD);
    } else {
        text.push_str("workloads:\n");
    }
    for e in &entries {
        text.push_str(&e.render());
    }
    Ok(text)
}

/// Why init wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// Files that exist, without --force.
    #[error("{} already exist{}; pass --force to overwrite", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "), if files.len() == 1 { "s" } else { "" })]
    Exists {
        /// The existing files.
        files: Vec<PathBuf>,
    },
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] atomic::WriteError),
    /// No `--action`, and this memgate does not know the commit it was
    /// built from.
    #[error(
        "this memgate does not know the commit it was built from, so the workflows cannot pin its action; pass --action OWNER/REPO@<40-hex commit SHA>"
    )]
    NoCommit,
    /// A Cargo.toml or go.mod its own tool cannot read: what init would
    /// find in it is unknown, so nothing is written.
    #[error("{}: {message}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What cargo or go said.
        message: String,
    },
}

/// Writes the config and workflows under `root`; returns what it wrote.
pub fn init(root: &Path, force: bool, action: &str) -> Result<Vec<PathBuf>, InitError> {
    let mut files: Vec<(PathBuf, String)> = vec![
        (root.join("memgate.yaml"), config_for(root)?),
        (root.join(".memgate/.gitignore"), GITIGNORE.to_owned()),
    ];
    let go = root.join("go.mod").exists();
    let rust = root.join("Cargo.toml").exists();
    files.extend(
        workflows(action, go, rust)
            .into_iter()
            .map(|(p, t)| (root.join(p), t)),
    );
    let existing: Vec<PathBuf> = files
        .iter()
        .filter(|(p, _)| p.exists())
        .map(|(p, _)| p.clone())
        .collect();
    if !existing.is_empty() && !force {
        return Err(InitError::Exists { files: existing });
    }
    for (path, text) in &files {
        atomic::write(path, text.as_bytes())?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The written config parses, and what runs by itself is a workload
    /// while what may not is commented out.
    #[test]
    fn generated_configs_parse_and_gate_what_the_repository_has() {
        let write = |dir: &Path, files: &[(&str, &str)]| {
            for (name, text) in files {
                let p = dir.join(name);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, text).unwrap();
            }
        };
        let bench = "package x\n\nimport \"testing\"\n\nfunc BenchmarkX(b *testing.B) {}\n";
        type Files<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(Files<'_>, &[&str])] = &[
            (&[], &[]),
            (
                &[
                    ("go.mod", "module x\n"),
                    ("x_test.go", bench),
                    ("cmd/srv/main.go", "package main\n\nfunc main() {}\n"),
                ],
                &["go-bench"],
            ),
            (
                &[
                    ("go.mod", "module x\n"),
                    ("main.go", "package main\n\nfunc main() {}\n"),
                ],
                &["go-app"],
            ),
            (
                &[
                    (
                        "Cargo.toml",
                        "[package]\nname = \"tool\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
                    ),
                    ("src/main.rs", "fn main() {}\n"),
                    (
                        "src/bin/cli.rs",
                        "fn main() { let _ = std::env::args(); }\n",
                    ),
                ],
                &["tool"],
            ),
        ];
        for (files, expected) in cases {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), files);
            let text = config_for(dir.path()).unwrap();
            let c = crate::config::Config::parse(&dir.path().join("memgate.yaml"), &text)
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            let names: Vec<&str> = c.workloads.iter().map(|w| w.name.as_str()).collect();
            assert_eq!(names, *expected, "{text}");
            // Go settings only where there is Go; allocation counts held
            // tight where there is Rust; calibrate named everywhere.
            let go = files.iter().any(|(f, _)| *f == "go.mod");
            let rust = files.iter().any(|(f, _)| *f == "Cargo.toml");
            assert_eq!(text.contains("GOGC"), go, "{text}");
            assert_eq!(
                text.contains("heap.alloc.objects: { max_increase: 1% }"),
                rust,
                "{text}"
            );
            assert!(text.contains("memgate calibrate"), "{text}");
        }
    }

    /// init keeps memgate's outputs out of the repository, not the baseline.
    #[test]
    fn init_ignores_the_outputs_and_keeps_the_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let written = init(dir.path(), false, "me/memgate@v1").unwrap();
        assert!(written.contains(&dir.path().join(".memgate/.gitignore")));
        let ignore = std::fs::read_to_string(dir.path().join(".memgate/.gitignore")).unwrap();
        for line in ["results.json", "verdicts.json", "bin/"] {
            assert!(ignore.lines().any(|l| l == line), "{ignore}");
        }
        assert!(
            !ignore
                .lines()
                .any(|l| !l.starts_with('#') && l.contains("baseline")),
            "{ignore}"
        );
    }
}
