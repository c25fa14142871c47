//! Relative mode: measure the pull request's base revision beside its head
//! on the same machine, in one job, interleaved, so the comparison does not
//! depend on which runner recorded a stored baseline, or when.
//!
//! The base is checked out into a temporary worktree (`worktree`). Both
//! trees are built with the head's workload definitions, then the runner's
//! one run loop runs the two lanes of each workload alternately, base then
//! head, or in a seeded shuffle of the pairs. Base results are cached
//! (`cache`).

mod cache;
mod worktree;

use std::io::Write;
use std::path::{Path, PathBuf};

use super::builds::{Builds, build_missing};
use super::{Lane, RunError, RunPlan, prepare, run_rounds, scratch_dir, scratch_subdir};
use crate::config::{Config, Workload};
use crate::fingerprint::Environment;
use crate::results::{Results, WorkloadResults};
use cache::Entry;
use worktree::{Worktree, git, rerooted, resolve};

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
    /// The temporary directory of the worktree could not be made.
    #[error("cannot make a temporary directory for the base's worktree: {source}")]
    TempDir {
        /// The I/O error.
        source: std::io::Error,
    },
    /// The runner stopped.
    #[error(transparent)]
    Run(#[from] RunError),
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
    /// Workloads whose base was measured now, beside the head (not read
    /// from the cache or the stored baseline): their load-sensitive
    /// metrics gate.
    pub interleaved: Vec<String>,
}

/// xorshift64*: the seeded shuffle of run pairs.
fn coin(state: &mut u64) -> bool {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 63) == 1
}

/// The repository around the config, and the config's directory.
struct Repository {
    /// The top of the work tree.
    root: PathBuf,
    /// The config's directory, absolute; `.memgate/cache` is under it.
    config_dir: PathBuf,
}

impl Repository {
    fn around(config: &Config) -> Result<Repository, RelativeError> {
        let config_dir = config.dir.clone();
        let root = git(&config_dir, &["rev-parse", "--show-toplevel"]).map_err(|e| {
            RelativeError::NotARepository {
                message: e.to_string(),
            }
        })?;
        Ok(Repository {
            root: PathBuf::from(root),
            config_dir,
        })
    }

    /// The names of the workloads the base's own config has, at the same
    /// place in its tree; `None` when it has no readable config.
    fn base_workloads(&self, config: &Config, tree: &Path) -> Option<Vec<String>> {
        let rel_config = std::path::absolute(&config.path)
            .ok()
            .and_then(|p| p.strip_prefix(&self.root).ok().map(Path::to_owned))
            .unwrap_or_else(|| config.path.clone());
        Config::load(&tree.join(rel_config))
            .ok()
            .map(|c| c.workloads.into_iter().map(|w| w.name).collect())
    }
}

/// Where one workload's base side comes from.
enum BaseSource {
    /// Measured now, beside the head.
    Measure,
    /// Read from the cache.
    Cached(Box<WorkloadResults>),
    /// The base's config does not have it: reported as new.
    New,
}

/// Measures base and head of `plan`'s workloads, interleaved. A side that
/// does not build or run is recorded as failed (the check exits 3 naming
/// it), never replaced by another measurement.
pub fn measure(
    config: &Config,
    plan: &RunPlan,
    opts: &RelativeOptions,
    log: &mut dyn Write,
) -> Result<Measured, RelativeError> {
    super::spawn::install_interrupt_handler()?;
    let repo = Repository::around(config)?;
    let base_commit = resolve(&repo.root, &opts.base_ref)?;
    let head_commit = git(&repo.root, &["rev-parse", "HEAD"]).unwrap_or_default();
    let dirty = git(
        &repo.root,
        &["status", "--porcelain", "--untracked-files=no"],
    )
    .is_ok_and(|s| !s.is_empty());
    let tree = Worktree::add(&repo.root, &base_commit)?;
    let _ = writeln!(
        log,
        "memgate: base {} @ {} checked out in {}",
        opts.base_ref,
        &base_commit[..12.min(base_commit.len())],
        tree.path.display()
    );
    let base_names = repo.base_workloads(config, &tree.path);
    let head_env = Environment::detect(&repo.root);
    let base_env = Environment::detect(&tree.path);
    let cache_dir = repo.config_dir.join(".memgate/cache");
    let scratch = scratch_dir()?;
    let mut seed = match opts.order {
        Order::Shuffled { seed } => seed | 1,
        Order::Alternate => 1,
    };
    let mut reversed = || match opts.order {
        Order::Alternate => false,
        Order::Shuffled { .. } => !coin(&mut seed),
    };
    let (mut base_workloads, mut head_workloads) = (Vec::new(), Vec::new());
    let mut cached_any = false;
    let mut interleaved = Vec::new();
    let mut selected = Vec::new();
    for (n, w) in plan.workloads.iter().enumerate() {
        // A `gobench` workload's benchmarks are listed in the head's tree;
        // the base runs the same benchmarks, at the same counts, built from
        // its own tree.
        let listing = scratch_subdir(scratch.path(), &format!("{n}-list"))?;
        if w.cargotest.is_some() {
            // Its test binaries' names carry a hash of the tree's path.
            let mut failed = super::empty_results(w);
            failed.build_failure = Some(crate::results::Failure {
                reason: "a `cargotest` workload runs against a stored baseline, not in relative mode (`memgate check` without --base)".into(),
                stderr_tail: String::new(),
            });
            head_workloads.push(failed);
            continue;
        }
        match super::gobench::expand(&plan.launcher, w, &plan.pins, &listing, log)? {
            Ok(list) => selected.extend(list),
            Err(failed) => head_workloads.push(*failed),
        }
    }
    for (n, w) in selected.iter().enumerate() {
        let entry = Entry::new(&cache_dir, &base_commit, w, &repo.root, &head_env);
        let source = base_source(w, base_names.as_deref(), opts.cache.then_some(&entry), log);
        cached_any |= matches!(source, BaseSource::Cached(_));
        let bw = rerooted(w, &repo.root, &tree.path);
        let dirs = Scratch::make(scratch.path(), n)?;
        let (base, head) = measure_pair(plan, w, &bw, source, &dirs, &mut reversed, log)?;
        let base = base.map(|(b, measured)| {
            if measured && !b.has_failures() {
                interleaved.push(b.name.clone());
                if opts.cache {
                    entry.write(&b);
                }
            }
            b
        });
        head_workloads.push(head);
        base_workloads.extend(base);
    }
    drop(tree);
    if opts.cache {
        cache::prune(&cache_dir, opts.cache_max_bytes);
    }
    let (base_label, head_label) = labels(opts, &base_commit, &head_commit, dirty, cached_any);
    Ok(Measured {
        base: Results::new(vec![base_env], base_workloads),
        head: Results::new(vec![head_env], head_workloads),
        base_label,
        head_label,
        interleaved,
    })
}

/// Where the base side of `w` comes from: the base's config lacks it
/// (new), the cache has it (when `cache` is given), or it is measured now.
fn base_source(
    w: &Workload,
    base_names: Option<&[String]>,
    cache: Option<&Entry>,
    log: &mut dyn Write,
) -> BaseSource {
    // A benchmark of a `gobench` workload is in the base's config when its
    // workload is; the base's run then says whether the benchmark exists.
    let configured = crate::policy::configured_name(&w.name);
    if base_names.is_some_and(|names| !names.iter().any(|n| n == configured)) {
        let _ = writeln!(
            log,
            "memgate: {}: new in head, not in the base's config",
            w.name
        );
        BaseSource::New
    } else if let Some(c) = cache.and_then(Entry::read) {
        let _ = writeln!(log, "memgate: {}: base results from the cache", w.name);
        BaseSource::Cached(Box::new(c))
    } else {
        BaseSource::Measure
    }
}

/// How the two sides are named in reports: ref, short commit, and how
/// they were measured.
fn labels(
    opts: &RelativeOptions,
    base_commit: &str,
    head_commit: &str,
    dirty: bool,
    cached_any: bool,
) -> (String, String) {
    let short = |c: &str| c[..7.min(c.len())].to_owned();
    let how = if cached_any {
        "this machine; base runs from the cache, measured interleaved earlier"
    } else {
        "this machine, interleaved"
    };
    let uncommitted = if dirty {
        " with uncommitted changes"
    } else {
        ""
    };
    (
        format!("base {} @ {} ({how})", opts.base_ref, short(base_commit)),
        format!("head @ {}{uncommitted} ({how})", short(head_commit)),
    )
}

/// The scratch directories of one workload's two lanes.
struct Scratch {
    base: PathBuf,
    head: PathBuf,
}

impl Scratch {
    fn make(root: &Path, n: usize) -> Result<Scratch, RunError> {
        let dir = |side: &str| {
            let d = root.join(format!("{n}-{side}"));
            std::fs::create_dir(&d).map_err(|source| RunError::Scratch {
                path: d.clone(),
                source,
            })?;
            Ok(d)
        };
        Ok(Scratch {
            base: dir("base")?,
            head: dir("head")?,
        })
    }
}

/// Builds both sides of one workload and runs them interleaved (the base
/// only when it is to be measured and builds). Returns the base side, with
/// whether it was measured now, and the head side.
fn measure_pair(
    plan: &RunPlan,
    head_def: &Workload,
    base_def: &Workload,
    source: BaseSource,
    dirs: &Scratch,
    reversed: &mut dyn FnMut() -> bool,
    log: &mut dyn Write,
) -> Result<(Option<(WorkloadResults, bool)>, WorkloadResults), RunError> {
    // Every progress line names its side; the results keep the name.
    let named = |w: &Workload, side: &str| Workload {
        name: format!("{} ({side})", w.name),
        ..w.clone()
    };
    let name = head_def.name.clone();
    let (head_def, base_def) = (&named(head_def, "head"), &named(base_def, "base"));
    // Both trees build at once (see [`super::builds`]).
    let mut builds = Builds::default();
    let both = [
        Some(head_def),
        matches!(source, BaseSource::Measure).then_some(base_def),
    ];
    build_missing(
        &mut builds,
        &plan.launcher,
        both.into_iter().flatten(),
        &dirs.head,
        log,
    )?;
    let head = prepare(&plan.launcher, head_def, &dirs.head, &mut builds, log)?;
    let head_builds = head.build_failure.is_none();
    let (base, measured) = match source {
        BaseSource::Cached(c) => (Some(*c), false),
        BaseSource::New => (None, false),
        BaseSource::Measure => (
            Some(prepare(
                &plan.launcher,
                base_def,
                &dirs.base,
                &mut builds,
                log,
            )?),
            true,
        ),
    };
    let mut lanes: Vec<Lane<'_>> = Vec::with_capacity(2);
    if let Some(b) = base {
        lanes.push(Lane {
            workload: base_def,
            active: head_builds && measured && b.build_failure.is_none(),
            results: b,
            scratch: dirs.base.clone(),
        });
    }
    lanes.push(Lane {
        workload: head_def,
        active: head_builds,
        results: head,
        scratch: dirs.head.clone(),
    });
    run_rounds(&plan.launcher, &mut lanes, reversed, log)?;
    let mut head = lanes.pop().map(|l| l.results).expect("the head lane");
    head.name = name.clone();
    let base = lanes.pop().map(|l| {
        let mut b = l.results;
        b.name = name;
        (b, measured)
    });
    Ok((base, head))
}
