//! Environment differences: the fingerprint fields (machine, kernel, THP,
//! toolchain, allocator and GC settings) in which a workload's baseline and
//! current runs differ. A difference turns regressions of machine-dependent
//! metrics into warnings unless `gate.strict_env`.

use crate::fingerprint::Environment;
use crate::lang::Lang;
use crate::results::{Results, WorkloadResults};
use crate::verdicts::EnvDifference;

/// Fingerprint fields that differ between the environments of one workload.
pub(super) fn env_differences(
    bw: &WorkloadResults,
    base: &Results,
    cw: &WorkloadResults,
    cur: &Results,
) -> Vec<EnvDifference> {
    let (Some(be), Some(ce)) = (
        base.environments.get(bw.environment),
        cur.environments.get(cw.environment),
    ) else {
        return Vec::new();
    };
    let toolchain = |e: &Environment| match cw.lang {
        Lang::Go => e.go.clone(),
        Lang::Rust => e.rustc.clone(),
        Lang::Other => None,
    };
    let thp = |e: &Environment| {
        e.thp
            .as_ref()
            .map(|t| format!("enabled={} defrag={}", t.enabled, t.defrag))
    };
    let fields: Vec<(&str, Option<String>, Option<String>)> = vec![
        ("os", Some(be.os.clone()), Some(ce.os.clone())),
        ("arch", Some(be.arch.clone()), Some(ce.arch.clone())),
        ("cpu_model", be.cpu_model.clone(), ce.cpu_model.clone()),
        (
            "cores",
            be.cores.map(|c| c.to_string()),
            ce.cores.map(|c| c.to_string()),
        ),
        ("kernel", be.kernel.clone(), ce.kernel.clone()),
        ("thp", thp(be), thp(ce)),
        ("toolchain", toolchain(be), toolchain(ce)),
    ];
    let mut out: Vec<EnvDifference> = fields
        .into_iter()
        .filter(|(_, b, c)| b != c)
        .map(|(field, b, c)| EnvDifference {
            workload: cw.name.clone(),
            field: field.to_owned(),
            baseline: b.unwrap_or_else(|| "unknown".into()),
            current: c.unwrap_or_else(|| "unknown".into()),
        })
        .collect();
    for tag in ["allocator", "profile", "GOGC", "GOMEMLIMIT", "GOMAXPROCS"] {
        let (b, c) = (bw.tags.get(tag), cw.tags.get(tag));
        if b != c {
            out.push(EnvDifference {
                workload: cw.name.clone(),
                field: format!("tags.{tag}"),
                baseline: b.cloned().unwrap_or_else(|| "unset".into()),
                current: c.cloned().unwrap_or_else(|| "unset".into()),
            });
        }
    }
    out
}
