//! Pass 3: each workload resolved (built-in defaults, then `defaults:`,
//! then its own keys), and the gate policy gathered from the top-level
//! sections and every workload's own.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::raw::{RawConfig, RawDefaults, RawWorkload};
use super::{
    CargoTest, Collector, DEFAULT_BUILD_TIMEOUT, DEFAULT_FOOTPRINT_REPETITIONS, DEFAULT_KILL_GRACE,
    DEFAULT_SAMPLE_INTERVAL, DEFAULT_TIMEOUT, DEFAULT_WARMUP, GoBench, Workload,
};
use crate::lang::Lang;
use crate::phase::Phase;
use crate::policy::{DriftRule, GatePolicy, ParityRule};
use crate::units::HumanDuration;

/// The gate policy: top-level sections plus each workload's own.
pub(super) fn policy(raw: &RawConfig) -> GatePolicy {
    let mut budgets = raw.budgets.clone();
    for w in &raw.workloads {
        if !w.budgets.is_empty() {
            budgets
                .entry(w.name.clone())
                .or_default()
                .extend(w.budgets.clone());
        }
    }
    GatePolicy {
        config: None,
        confidence: raw.gate.confidence,
        correction: raw.gate.correction.unwrap_or_default(),
        strict_env: raw.gate.strict_env.unwrap_or(false),
        load_sensitive: raw.gate.load_sensitive.unwrap_or_default(),
        thresholds: raw.thresholds.clone(),
        workload_thresholds: raw
            .workloads
            .iter()
            .filter(|w| !w.thresholds.is_empty())
            .map(|w| (w.name.clone(), w.thresholds.clone()))
            .collect(),
        budgets,
        removed: raw.gate.removed.clone(),
        optional: raw.gate.optional.clone(),
        parity: raw
            .parity
            .iter()
            .map(|p| ParityRule {
                name: p
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{} vs {}", p.candidate, p.reference)),
                reference: p.reference.clone(),
                candidate: p.candidate.clone(),
                metrics: p.metrics.iter().map(|(m, t)| (m.clone(), t.0)).collect(),
            })
            .collect(),
        drift: raw
            .drift
            .iter()
            .map(|(metric, d)| {
                (
                    metric.clone(),
                    DriftRule {
                        since: d.since.clone(),
                        max_increase: d.max_increase.0,
                    },
                )
            })
            .collect(),
    }
}

/// Pass 3: built-in defaults, then `defaults:`, then the workload's own keys.
pub(super) fn workload(d: &RawDefaults, w: &RawWorkload, base: &Path) -> Workload {
    let pick = |own: Option<HumanDuration>, shared: Option<HumanDuration>, builtin: Duration| {
        own.or(shared).map(|h| h.0).unwrap_or(builtin)
    };
    let dir = match &w.dir {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => base.join(d),
        None => base.to_owned(),
    };
    let binary = w.binary.as_ref().map(|b| {
        if b.is_absolute() {
            b.clone()
        } else {
            dir.join(b)
        }
    });
    let mut env: BTreeMap<String, String> = d
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    env.extend(w.env.iter().map(|(k, v)| (k.clone(), v.0.clone())));
    Workload {
        name: w.name.clone(),
        lang: w.lang,
        build: w.build.as_ref().map(|c| c.0.clone()),
        run: w.run.as_ref().map(|c| c.0.clone()).unwrap_or_default(),
        gobench: w.gobench.as_ref().map(|g| GoBench {
            packages: g
                .packages
                .as_ref()
                .map(|p| p.0.clone())
                .unwrap_or_else(|| vec!["./...".into()]),
            bench: g.bench.clone().unwrap_or_else(|| ".".into()),
            benchtime: g.benchtime.clone().unwrap_or_else(|| "1s".into()),
        }),
        cargotest: w.cargotest.as_ref().map(|c| CargoTest {
            package: c.package.clone(),
            filter: c.filter.clone(),
            benches: c.benches.unwrap_or(false),
        }),
        dir,
        binary,
        env,
        tags: w
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
        collect: w.collect.clone().unwrap_or_else(|| match w.lang {
            Lang::Go if w.gobench.is_some() => vec![Collector::Gctrace, Collector::Gobench],
            Lang::Go => vec![Collector::Gctrace],
            Lang::Rust if w.cargotest.is_some() => vec![Collector::Malloc],
            Lang::Rust | Lang::Other => Vec::new(),
        }),
        phases: match w.lang {
            Lang::Go => w
                .phases
                .clone()
                .unwrap_or_else(|| vec![Phase::Footprint, Phase::Behaviour]),
            Lang::Rust | Lang::Other => Vec::new(),
        },
        // Derived from the whole config's tests when unset (Config::parse).
        profile: w.profile.unwrap_or(true),
        repetitions: w
            .repetitions
            .or(d.repetitions)
            .unwrap_or(super::MIN_DEFAULT_REPETITIONS),
        footprint_repetitions: w
            .footprint_repetitions
            .or(d.footprint_repetitions)
            .unwrap_or(DEFAULT_FOOTPRINT_REPETITIONS),
        warmup: w.warmup.or(d.warmup).unwrap_or(DEFAULT_WARMUP),
        timeout: pick(w.timeout, d.timeout, DEFAULT_TIMEOUT),
        build_timeout: pick(w.build_timeout, d.build_timeout, DEFAULT_BUILD_TIMEOUT),
        kill_grace: pick(w.kill_grace, d.kill_grace, DEFAULT_KILL_GRACE),
        sample_interval: pick(
            w.sample_interval,
            d.sample_interval,
            DEFAULT_SAMPLE_INTERVAL,
        ),
        benchmark: None,
    }
}
