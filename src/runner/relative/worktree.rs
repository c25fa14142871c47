//! The base revision in a temporary `git worktree`: detached, so the
//! user's working tree, index and branches are never touched, and removed
//! when dropped, on every path out (Ctrl-C included: the interrupt handler
//! lets the run loop return, and the drop runs). It is made beside the
//! repository (a hidden directory in the same parent) where that parent is
//! writable, so that a path the repository's files name outside
//! themselves (`memgate-probe = { path = "../memgate/..." }`) names the
//! same place from the base; else in the system's temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::RelativeError;
use crate::config::Workload;

/// Runs `git -C repo ARGS` and returns its trimmed stdout.
pub(super) fn git(repo: &Path, args: &[&str]) -> Result<String, RelativeError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| RelativeError::Git {
            args: args.join(" "),
            message: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(RelativeError::Git {
            args: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The base checked out into a temporary worktree; removed on drop.
pub(super) struct Worktree {
    /// The checked-out tree.
    pub(super) path: PathBuf,
    repo: PathBuf,
    _dir: tempfile::TempDir,
}

impl Worktree {
    pub(super) fn add(repo: &Path, commit: &str) -> Result<Worktree, RelativeError> {
        // git adds a worktree into an empty directory that exists.
        let beside = repo.parent().and_then(|parent| {
            tempfile::Builder::new()
                .prefix(".memgate-base-")
                .tempdir_in(parent)
                .ok()
        });
        let (dir, path) = match beside {
            Some(dir) => {
                let path = dir.path().to_owned();
                (dir, path)
            }
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("memgate-base-")
                    .tempdir()
                    .map_err(|source| RelativeError::TempDir { source })?;
                let path = dir.path().join("tree");
                (dir, path)
            }
        };
        git(
            repo,
            &[
                "worktree",
                "add",
                "--detach",
                "--quiet",
                &path.display().to_string(),
                commit,
            ],
        )?;
        Ok(Worktree {
            repo: repo.to_owned(),
            path,
            _dir: dir,
        })
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        let _ = git(
            &self.repo,
            &[
                "worktree",
                "remove",
                "--force",
                &self.path.display().to_string(),
            ],
        );
        let _ = git(&self.repo, &["worktree", "prune"]);
    }
}

/// Resolves `base_ref` to a commit, or explains how to get it.
pub(super) fn resolve(repo: &Path, base_ref: &str) -> Result<String, RelativeError> {
    match git(
        repo,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{base_ref}^{{commit}}"),
        ],
    ) {
        Ok(c) if !c.is_empty() => Ok(c),
        _ => {
            let shallow =
                git(repo, &["rev-parse", "--is-shallow-repository"]).is_ok_and(|s| s == "true");
            let branch = base_ref.rsplit('/').next().unwrap_or(base_ref);
            let hint = if shallow {
                format!(
                    "; this clone is shallow: fetch the base with `git fetch --no-tags --depth=50 origin {branch}` (in GitHub Actions, or check out with `fetch-depth: 0`)"
                )
            } else {
                format!("; fetch it with `git fetch origin {branch}`")
            };
            Err(RelativeError::MissingRef {
                base_ref: base_ref.to_owned(),
                hint,
            })
        }
    }
}

/// The workload as it runs in the base tree: paths under the repository
/// moved into the worktree.
pub(super) fn rerooted(w: &Workload, repo: &Path, tree: &Path) -> Workload {
    let mv = |p: &Path| {
        p.strip_prefix(repo)
            .map(|rel| tree.join(rel))
            .unwrap_or_else(|_| p.to_owned())
    };
    // Arguments that are paths in the head's tree (a `gobench` workload's
    // test binary) name the same file in the base's.
    let mv_arg = |a: &String| {
        let p = Path::new(a);
        if p.is_absolute() && p.starts_with(repo) {
            mv(p).display().to_string()
        } else {
            a.clone()
        }
    };
    let mut b = w.clone();
    b.dir = mv(&w.dir);
    b.binary = w.binary.as_deref().map(mv);
    b.run = w.run.iter().map(mv_arg).collect();
    b.build = w.build.as_ref().map(|c| c.iter().map(mv_arg).collect());
    b
}
