//! Relative mode: measure the pull request's base revision beside its head
//! on the same machine, in one job, interleaved, so the comparison does not
//! depend on which runner recorded a stored baseline, or when.
//!
//! The base is checked out into a temporary `git worktree` (detached: the
//! user's working tree, index and branches are never touched) that is
//! removed on every path out, Ctrl-C included. Both trees are built with
//! the head's workload definitions, then the runs alternate base/head (or
//! follow a seeded shuffle of the pairs). Base results are cached under
//! `.memgate/cache/` by base commit, workload definition and environment.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::config::{Config, Workload};
use crate::fingerprint::Environment;
use crate::results::{Results, WorkloadResults};
use crate::runner::{self, RunError, RunPlan};

/// How base and head runs are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// base, head, base, head, ...
    Alternate,
    /// Each pair in a seeded random order.
    Shuffled {
        /// The seed, for reproducibility.
        seed: u64,
    },
}

/// What relative mode needs beyond the run plan.
#[derive(Debug, Clone)]
pub struct RelativeOptions {
    /// The base ref, e.g. `origin/main`.
    pub base_ref: String,
    /// Run order.
    pub order: Order,
    /// Use and fill the base cache.
    pub cache: bool,
    /// Largest total size of the cache; oldest entries go first.
    pub cache_max_bytes: u64,
}

/// Why relative mode could not run.
#[derive(Debug, thiserror::Error)]
pub enum RelativeError {
    /// The config is not inside a git repository.
    #[error("relative mode needs a git repository: {message}")]
    NotARepository {
        /// What git said.
        message: String,
    },
    /// The base ref does not resolve.
    #[error("base ref `{base_ref}` is not in this repository{hint}")]
    MissingRef {
        /// The ref.
        base_ref: String,
        /// How to fetch it.
        hint: String,
    },
    /// A git command failed.
    #[error("git {args} failed: {message}")]
    Git {
        /// The arguments.
        args: String,
        /// Its stderr.
        message: String,
    },
    /// The runner stopped.
    #[error(transparent)]
    Run(#[from] RunError),
}

fn git(repo: &Path, args: &[&str]) -> Result<String, RelativeError> {
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
struct Worktree {
    repo: PathBuf,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Worktree {
    fn add(repo: &Path, commit: &str) -> Result<Worktree, RelativeError> {
        let dir = tempfile::Builder::new()
            .prefix("memgate-base-")
            .tempdir()
            .map_err(|e| RelativeError::Git {
                args: "worktree add".into(),
                message: e.to_string(),
            })?;
        let path = dir.path().join("tree");
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
pub fn resolve(repo: &Path, base_ref: &str) -> Result<String, RelativeError> {
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

/// Both sides, measured.
#[derive(Debug)]
pub struct Measured {
    /// The base side.
    pub base: Results,
    /// The head side.
    pub head: Results,
    /// How the base side is described in reports.
    pub base_label: String,
    /// How the head side is described in reports.
    pub head_label: String,
}

/// The workload as it runs in the base tree: paths under the repository
/// moved into the worktree.
fn rerooted(w: &Workload, repo: &Path, tree: &Path) -> Workload {
    let mv = |p: &Path| {
        p.strip_prefix(repo)
            .map(|rel| tree.join(rel))
            .unwrap_or_else(|_| p.to_owned())
    };
    let mut b = w.clone();
    b.dir = mv(&w.dir);
    b.binary = w.binary.as_deref().map(mv);
    b
}

/// The cache key of a workload's base results.
fn cache_key(commit: &str, w: &Workload, repo: &Path, env: &Environment) -> String {
    let mut h = Sha256::new();
    let rel_dir = w.dir.strip_prefix(repo).unwrap_or(&w.dir);
    let def = serde_json::json!({
        "commit": commit,
        "name": w.name, "lang": w.lang, "build": w.build, "run": w.run, "dir": rel_dir,
        "env": w.env, "collect": w.collect, "repetitions": w.repetitions, "warmup": w.warmup,
        "sample_interval_us": w.sample_interval.as_micros() as u64,
        "machine": [&env.os, &env.arch, &env.kernel, &env.cpu_model, &env.cores.map(|c| c.to_string()), &env.rustc, &env.go,
                    &env.thp.as_ref().map(|t| format!("{}/{}", t.enabled, t.defrag))],
        "memgate": env!("CARGO_PKG_VERSION"),
    });
    h.update(def.to_string().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Deletes the oldest cache entries until the cache fits `max`.
fn prune(cache: &Path, max: u64) {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            m.is_file().then(|| {
                (
                    m.modified().unwrap_or(std::time::UNIX_EPOCH),
                    m.len(),
                    e.path(),
                )
            })
        })
        .collect();
    files.sort();
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    for (_, len, path) in files {
        if total <= max {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
}

/// xorshift64*: the seeded shuffle of run pairs.
fn coin(state: &mut u64) -> bool {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 63) == 1
}

/// Measures base and head of `plan`'s workloads, interleaved. `fallback`
/// is the stored baseline, used for a workload whose base does not build.
pub fn measure(
    config: &Config,
    plan: &RunPlan,
    opts: &RelativeOptions,
    fallback: Option<&Results>,
    log: &mut dyn Write,
) -> Result<Measured, RelativeError> {
    runner::spawn::install_interrupt_handler()?;
    let config_dir = std::path::absolute(
        config
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )
    .unwrap_or_else(|_| PathBuf::from("."));
    let repo = PathBuf::from(
        git(&config_dir, &["rev-parse", "--show-toplevel"]).map_err(|e| {
            RelativeError::NotARepository {
                message: e.to_string(),
            }
        })?,
    );
    let base_commit = resolve(&repo, &opts.base_ref)?;
    let head_commit = git(&repo, &["rev-parse", "HEAD"]).unwrap_or_default();
    let dirty =
        git(&repo, &["status", "--porcelain", "--untracked-files=no"]).is_ok_and(|s| !s.is_empty());
    let tree = Worktree::add(&repo, &base_commit)?;
    let _ = writeln!(
        log,
        "memgate: base {} @ {} checked out in {}",
        opts.base_ref,
        &base_commit[..12.min(base_commit.len())],
        tree.path.display()
    );

    // Which workloads the base knows: its own config at the same place.
    let rel_config = std::path::absolute(&config.path)
        .ok()
        .and_then(|p| p.strip_prefix(&repo).ok().map(Path::to_owned))
        .unwrap_or_else(|| config.path.clone());
    let base_names: Option<Vec<String>> = Config::load(&tree.path.join(&rel_config))
        .ok()
        .map(|c| c.workloads.into_iter().map(|w| w.name).collect());

    let head_env = Environment::detect(&repo);
    let base_env = Environment::detect(&tree.path);
    let cache_dir = config_dir.join(".memgate/cache");
    let scratch = runner::scratch_dir()?;
    let mut base_workloads: Vec<WorkloadResults> = Vec::new();
    let mut head_workloads: Vec<WorkloadResults> = Vec::new();
    let mut cached_any = false;
    let mut seed = match opts.order {
        Order::Shuffled { seed } => seed | 1,
        Order::Alternate => 1,
    };
    for (n, w) in plan.workloads.iter().enumerate() {
        let dir = |side: &str| -> Result<PathBuf, RelativeError> {
            let d = scratch.path().join(format!("{n}-{side}"));
            std::fs::create_dir(&d).map_err(|source| RunError::Scratch {
                path: d.clone(),
                source,
            })?;
            Ok(d)
        };
        let (hdir, bdir) = (dir("head")?, dir("base")?);
        let is_new = base_names
            .as_ref()
            .is_some_and(|names| !names.contains(&w.name));
        let key = cache_key(&base_commit, w, &repo, &head_env);
        let cache_file = cache_dir.join(format!("{key}.json"));
        let cached: Option<WorkloadResults> = if opts.cache && !is_new {
            std::fs::read(&cache_file)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
        } else {
            None
        };
        let bw = rerooted(w, &repo, &tree.path);
        let mut head = runner::prepare(&plan.launcher, w, &hdir, log)?;
        let mut base = match (&cached, is_new) {
            (Some(c), _) => {
                cached_any = true;
                let _ = writeln!(log, "memgate: {}: base results from the cache", w.name);
                Some(c.clone())
            }
            (None, true) => {
                let _ = writeln!(
                    log,
                    "memgate: {}: new in head, not in the base's config",
                    w.name
                );
                None
            }
            (None, false) => Some(runner::prepare(&plan.launcher, &bw, &bdir, log)?),
        };
        let measure_base =
            cached.is_none() && base.as_ref().is_some_and(|b| b.build_failure.is_none());
        let collectors = runner::collectors(w);
        if head.build_failure.is_none() {
            for index in 0..w.warmup + w.repetitions {
                let base_first = match opts.order {
                    Order::Alternate => true,
                    Order::Shuffled { .. } => coin(&mut seed),
                };
                for base_turn in [base_first, !base_first] {
                    if base_turn {
                        if let Some(b) = base.as_mut().filter(|_| measure_base) {
                            runner::run_once(
                                &plan.launcher,
                                &bw,
                                &collectors,
                                b,
                                index,
                                &bdir,
                                log,
                            )?;
                        }
                    } else {
                        runner::run_once(
                            &plan.launcher,
                            w,
                            &collectors,
                            &mut head,
                            index,
                            &hdir,
                            log,
                        )?;
                    }
                }
            }
        }
        if let Some(b) = base.as_mut() {
            b.environment = 0;
            if b.build_failure.is_some() {
                // The base does not build: fall back to the stored baseline.
                if let Some(stored) =
                    fallback.and_then(|f| f.workloads.iter().find(|x| x.name == w.name))
                {
                    let _ = writeln!(
                        log,
                        "memgate: {}: the base does not build; using the stored baseline for it",
                        w.name
                    );
                    *b = stored.clone();
                    b.environment = 1;
                }
            } else if measure_base && opts.cache && !b.has_failures() {
                let _ = crate::atomic::write_json(&cache_file, &*b);
            }
        }
        head.environment = 0;
        head_workloads.push(head);
        base_workloads.extend(base);
    }
    drop(tree);
    if opts.cache {
        prune(&cache_dir, opts.cache_max_bytes);
    }
    let short = |c: &str| c[..7.min(c.len())].to_owned();
    let how = if cached_any {
        "this machine; base runs from the cache, measured interleaved earlier"
    } else {
        "this machine, interleaved"
    };
    let mut base_envs = vec![base_env];
    if base_workloads.iter().any(|w| w.environment == 1) {
        base_envs.extend(fallback.and_then(|f| f.environments.first().cloned()));
    }
    Ok(Measured {
        base: Results::new(base_envs, base_workloads),
        head: Results::new(vec![head_env], head_workloads),
        base_label: format!("base {} @ {} ({how})", opts.base_ref, short(&base_commit)),
        head_label: format!(
            "head @ {}{} ({how})",
            short(&head_commit),
            if dirty {
                " with uncommitted changes"
            } else {
                ""
            }
        ),
    })
}

/// The default cache size cap.
pub const DEFAULT_CACHE_MAX: u64 = 64 << 20;
