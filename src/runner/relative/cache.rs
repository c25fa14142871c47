//! The base cache: base results per workload under `.memgate/cache/`,
//! keyed by base commit, workload definition, toolchains and machine, so a
//! second check of the same base only runs the head. Bounded in size,
//! oldest entries first.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config::Workload;
use crate::fingerprint::Environment;
use crate::results::WorkloadResults;

/// The base results of one workload, cached or to be cached.
pub(super) struct Entry {
    path: PathBuf,
}

impl Entry {
    /// The entry of `w` at `commit`, measured on `env`, in `cache`.
    pub(super) fn new(
        cache: &Path,
        commit: &str,
        w: &Workload,
        repo: &Path,
        env: &Environment,
    ) -> Entry {
        Entry {
            path: cache.join(format!("{}.json", cache_key(commit, w, repo, env))),
        }
    }

    /// The cached results, when there are readable ones.
    pub(super) fn read(&self) -> Option<WorkloadResults> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    /// Keeps `w` for the next check; a cache that cannot be written only
    /// costs a measurement next time.
    pub(super) fn write(&self, w: &WorkloadResults) {
        let _ = crate::atomic::write_json(&self.path, w);
    }
}

/// The cache key of a workload's base results.
fn cache_key(commit: &str, w: &Workload, repo: &Path, env: &Environment) -> String {
    let mut h = Sha256::new();
    let rel_dir = w.dir.strip_prefix(repo).unwrap_or(&w.dir);
    let def = serde_json::json!({
        "commit": commit,
        "name": w.name, "lang": w.lang, "build": w.build, "run": w.run, "dir": rel_dir,
        "env": w.env, "collect": w.collect, "repetitions": w.repetitions, "warmup": w.warmup,
        "phases": w.phases, "footprint_repetitions": w.footprint_repetitions,
        "sample_interval_us": w.sample_interval.as_micros() as u64,
        "machine": [&env.os, &env.arch, &env.kernel, &env.cpu_model, &env.cores.map(|c| c.to_string()), &env.rustc, &env.go,
                    &env.thp.as_ref().map(|t| format!("{}/{}", t.enabled, t.defrag))],
        "memgate": env!("CARGO_PKG_VERSION"),
    });
    h.update(def.to_string().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Deletes the oldest cache entries until the cache fits `max`.
pub(super) fn prune(cache: &Path, max: u64) {
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
