//! The probe file: one JSON document a workload writes at exit when
//! MEMGATE_PROBE_FILE names a path (Go: workloads/go/probe; Rust:
//! workloads/rust/probe). The same schema serves both languages:
//!
//! ```json
//! {"schema":"memgate/probe/v1","lang":"go","metrics":{"heap.alloc.bytes":123},
//!  "latency":{"count":3,"p50":0.001,"p99":0.002,"max":0.003}}
//! ```
//!
//! Metric names are memgate's own; values are in the metric's unit
//! (bytes, seconds, counts, ratios). Names this memgate does not know are
//! reported as warnings, not guessed at.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{
    Collect, CollectError, Collected, GO_MEMPROFILE_RATE, RunArtifacts, RunSetup, Sample, pprof,
};
use crate::metrics::{self, MetricDef, Unit};
use crate::results::Value;

/// The schema tag a probe file must carry.
pub const PROBE_SCHEMA: &str = "memgate/probe/v1";

/// The environment variable that tells a probe where to write.
pub const PROBE_ENV: &str = "MEMGATE_PROBE_FILE";
/// Where the Go probe writes its heap profile, when memgate asks for one.
pub const PROFILE_ENV: &str = "MEMGATE_HEAP_PROFILE";
/// The `runtime.MemProfileRate` the Go probe sets for it.
pub const PROFILE_RATE_ENV: &str = "MEMGATE_MEMPROFILE_RATE";

/// A probe document.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ProbeDoc {
    /// Always [`PROBE_SCHEMA`].
    pub schema: String,
    /// `go` or `rust`.
    pub lang: String,
    /// Metric name to value.
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// Latency summary of what the workload recorded.
    #[serde(default)]
    pub latency: BTreeMap<String, f64>,
}

/// Parses a probe document; `path` names it in errors.
pub fn parse(path: &Path, text: &str) -> Result<ProbeDoc, CollectError> {
    let err = |message: String| CollectError {
        collector: "probe",
        message: format!("{}: {message}", path.display()),
    };
    let doc: ProbeDoc = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    if doc.schema != PROBE_SCHEMA {
        return Err(err(format!(
            "schema `{}` is not `{PROBE_SCHEMA}`",
            doc.schema
        )));
    }
    Ok(doc)
}

/// The samples of a probe document, and warnings for names it skipped.
pub fn samples(doc: &ProbeDoc) -> Collected {
    let mut out = Collected::default();
    let value = |def: &MetricDef, v: f64| match def.unit {
        Unit::Bytes | Unit::Count => Value::Int(v.max(0.0).round() as u64),
        Unit::Seconds | Unit::Ratio | Unit::BytesPerSecond => Value::Float(v),
    };
    for (name, &v) in &doc.metrics {
        let def = match metrics::lookup(name) {
            Some(d) if doc.lang == "rust" && d.name == metrics::HEAP_END.name => {
                Some(&metrics::HEAP_END_AT_FINISH)
            }
            other => other,
        };
        match def {
            Some(def) if v.is_finite() && v >= 0.0 => out.samples.push(Sample {
                metric: def,
                source: "probe",
                value: value(def, v),
            }),
            Some(_) => out.warnings.push(format!(
                "probe: `{name}` = {v} is not a finite non-negative number; skipped"
            )),
            None => out
                .warnings
                .push(format!("probe: unknown metric `{name}` skipped")),
        }
    }
    if doc.latency.get("count").copied().unwrap_or(0.0) > 0.0 {
        for (key, def) in [
            ("p50", &metrics::LATENCY_P50),
            ("p99", &metrics::LATENCY_P99),
            ("max", &metrics::LATENCY_MAX),
        ] {
            if let Some(&v) = doc.latency.get(key) {
                out.samples.push(Sample {
                    metric: def,
                    source: "probe",
                    value: Value::Float(v),
                });
            }
        }
    }
    out
}

/// Reads the probe file a workload wrote at exit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Probe;

impl Collect for Probe {
    fn name(&self) -> &'static str {
        "probe"
    }

    fn setup(&self, run: &mut RunSetup<'_>) {
        run.env
            .insert(PROBE_ENV.into(), run.files.probe.display().to_string());
        // The Go probe writes a heap profile beside its file when asked;
        // the Rust probe ignores the variables.
        if run.profile {
            run.env.insert(
                PROFILE_ENV.into(),
                run.files.heap_profile.display().to_string(),
            );
            run.env
                .insert(PROFILE_RATE_ENV.into(), GO_MEMPROFILE_RATE.to_string());
        }
    }

    fn collect(&self, run: &RunArtifacts<'_>) -> Result<Collected, CollectError> {
        let text = crate::input::read_to_string(&run.files.probe, crate::input::FILE_LIMIT).map_err(|e| CollectError {
            collector: "probe",
            message: format!(
                "the workload wrote no probe file ({e}); does main call the probe at exit (Go: `defer probe.Done()`), and does it avoid os.Exit / process::exit?"
            ),
        })?;
        let doc = parse(&run.files.probe, &text)?;
        let mut collected = samples(&doc);
        if doc.lang == "go" && run.files.heap_profile.exists() {
            match pprof::read_sites(&run.files.heap_profile, run.tree) {
                Ok(sites) => collected.sites = Some(("pprof", sites)),
                Err(e) => collected
                    .warnings
                    .push(format!("heap profile unreadable, no allocation sites: {e}")),
            }
        }
        Ok(collected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_known_metrics_and_warns_about_others() {
        let doc = parse(
            Path::new("p.json"),
            r#"{"schema":"memgate/probe/v1","lang":"go","metrics":{"heap.alloc.bytes":1000.0,"gc.pause.max":0.0002,"made.up":1},"latency":{"count":2,"p50":0.001,"p99":0.002,"max":0.003}}"#,
        )
        .unwrap();
        let c = samples(&doc);
        let by: BTreeMap<&str, Value> =
            c.samples.iter().map(|s| (s.metric.name, s.value)).collect();
        assert_eq!(by["heap.alloc.bytes"], Value::Int(1000));
        assert_eq!(by["gc.pause.max"], Value::Float(0.0002));
        assert_eq!(by["latency.max"], Value::Float(0.003));
        assert_eq!(c.warnings, ["probe: unknown metric `made.up` skipped"]);
    }

    #[test]
    fn wrong_schema_and_damage_are_errors() {
        let e = parse(
            Path::new("p.json"),
            r#"{"schema":"memgate/probe/v9","lang":"go"}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "probe: p.json: schema `memgate/probe/v9` is not `memgate/probe/v1`"
        );
        assert!(parse(Path::new("p.json"), r#"{"schema":"memgate/probe/v1""#).is_err());
    }
}
