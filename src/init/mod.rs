//! `memgate init`: a commented memgate.yaml for the current repository
//! (Go and Rust detected from go.mod and Cargo.toml) and the three
//! workflows: baseline on main, check on pull requests, and the comment
//! posted from a separate workflow_run job, as GitHub advises for pull
//! requests from forks. Existing files are never overwritten without
//! `--force`; nothing is written unless everything can be.

use std::path::{Path, PathBuf};

use crate::atomic;

/// The action the generated pull-request workflow uses.
pub const DEFAULT_ACTION: &str = "memgate-dev/memgate@main";
/// How the generated baseline workflow installs memgate.
pub const DEFAULT_INSTALL: &str = r#"cargo install --locked --quiet --git https://github.com/memgate-dev/memgate memgate --root "$RUNNER_TEMP/memgate""#;

const BASELINE_WORKFLOW: &str = include_str!("memgate-baseline.yml");
const PR_WORKFLOW: &str = include_str!("memgate-pr.yml");
const COMMENT_WORKFLOW: &str = include_str!("memgate-comment.yml");

/// The workflows, with the action reference and install command filled in.
pub fn workflows(action: &str, install: &str) -> Vec<(&'static str, String)> {
    let fill = |t: &str| {
        t.replace("{{ACTION}}", action)
            .replace("{{INSTALL}}", install)
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

/// A commented config for a repository with Go (`go.mod`) and/or Rust
/// (`Cargo.toml`) at `root`.
pub fn config_for(root: &Path) -> String {
    let go = root.join("go.mod").exists();
    let rust = root.join("Cargo.toml").exists();
    let mut text = String::from(
        "# memgate.yaml: the workloads memgate builds, runs and measures, and the\n\
         # thresholds its gate applies. Reference: memgate's README, \"Config reference\".\n\
         version: 1\n\
         baseline: .memgate/baseline.json\n\n\
         defaults:\n\
         \x20 repetitions: 8        # measured runs per workload and side\n\
         \x20 warmup: 1             # unmeasured runs first\n\
         \x20 timeout: 2m           # per run; the process group is ended after it\n\
         \x20 sample_interval: 10ms # RSS timeline; 0 turns it off\n\
         \x20 env: { GOGC: 100, GOMAXPROCS: 2 }  # pin the Go runtime's knobs\n\n\
         thresholds:\n\
         \x20 default: { max_increase: 5% }\n\
         \x20 process.wall: { max_increase: 25%, min_change: 20ms }  # time is noisy on shared runners\n\n\
         budgets: {}               # e.g. { my-service: { process.rss.peak: 256MiB } }\n\n\
         workloads:\n",
    );
    if go {
        text.push_str(
            "  # A Go program; link memgate's probe and add `probe` to collect for heap.alloc.*.\n\
             \x20 - name: go-app\n\
             \x20   lang: go\n\
             \x20   build: go build -o .memgate/bin/go-app .\n\
             \x20   run: .memgate/bin/go-app\n\
             \x20   collect: [gctrace]\n",
        );
    }
    if rust {
        text.push_str(
            "  # A Rust binary; wrap the global allocator with memgate-probe and add `probe`,\n\
             \x20 # or use `valgrind-dhat` to measure it unchanged.\n\
             \x20 - name: rust-app\n\
             \x20   lang: rust\n\
             \x20   build: cargo build --release --locked\n\
             \x20   run: ./target/release/app\n\
             \x20   collect: []\n",
        );
    }
    if !go && !rust {
        text.push_str(
            "  # Any command; memgate measures it from outside.\n\
             \x20 - name: app\n\
             \x20   lang: other\n\
             \x20   run: ./app\n",
        );
    }
    text
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
}

/// Writes the config and workflows under `root`; returns what it wrote.
pub fn init(
    root: &Path,
    force: bool,
    action: &str,
    install: &str,
) -> Result<Vec<PathBuf>, InitError> {
    let mut files: Vec<(PathBuf, String)> = vec![(root.join("memgate.yaml"), config_for(root))];
    files.extend(
        workflows(action, install)
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

    #[test]
    fn generated_configs_parse() {
        for (go, rust) in [(false, false), (true, false), (false, true), (true, true)] {
            let dir = tempfile::tempdir().unwrap();
            if go {
                std::fs::write(dir.path().join("go.mod"), "module x\n").unwrap();
            }
            if rust {
                std::fs::write(dir.path().join("Cargo.toml"), "[package]\n").unwrap();
            }
            let text = config_for(dir.path());
            let c = crate::config::Config::parse(&dir.path().join("memgate.yaml"), &text).unwrap();
            assert_eq!(
                c.workloads.len(),
                usize::from(go) + usize::from(rust) + usize::from(!go && !rust)
            );
        }
    }
}
