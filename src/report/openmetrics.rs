//! OpenMetrics text of the current side's figures, for a Pushgateway or
//! node_exporter's textfile collector, written with `prometheus-client`.
//!
//! One gauge family per unit (`memgate_summary_bytes`,
//! `memgate_summary_seconds`, `memgate_summary_ratios`,
//! `memgate_summary_bytes_per_second`, and `memgate_summary` for counts),
//! one series per workload, metric and statistic (`median`, `p90`, `min`,
//! `max`), and `memgate_samples` with the number of runs; labelled with
//! the commit and branch the current side was measured at.

use std::io::Write;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit as PromUnit};

use super::{Render, ReportError};
use crate::metrics::Unit;
use crate::verdicts::Verdicts;

/// The labels of one series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SeriesLabels {
    workload: String,
    metric: String,
    stat: String,
    commit: String,
    branch: String,
}

/// The labels of a sample count.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CountLabels {
    workload: String,
    metric: String,
    commit: String,
    branch: String,
}

type Values = Family<SeriesLabels, Gauge<f64, AtomicU64>>;

/// The OpenMetrics renderer.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenMetrics;

/// The value at rank ceil(q n) of the sorted samples (nearest rank).
pub(crate) fn quantile(samples: &[f64], q: f64) -> Option<f64> {
    let mut xs: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let rank = ((q * xs.len() as f64).ceil() as usize).clamp(1, xs.len());
    Some(xs[rank - 1])
}

/// The text for `v`'s current side.
pub fn render_string(v: &Verdicts) -> Result<String, ReportError> {
    let git = v.current.environments.first().and_then(|e| e.git.as_ref());
    let commit = git.map_or_else(String::new, |g| g.commit.clone());
    let branch = git.and_then(|g| g.branch.clone()).unwrap_or_default();
    let mut registry = Registry::with_prefix("memgate");
    let families: [(Unit, Values); 5] = [
        (Unit::Bytes, Values::default()),
        (Unit::Seconds, Values::default()),
        (Unit::Ratio, Values::default()),
        (Unit::BytesPerSecond, Values::default()),
        (Unit::Count, Values::default()),
    ];
    let samples = Family::<CountLabels, Gauge<i64>>::default();
    for x in &v.verdicts {
        let Some(s) = x.current else { continue };
        let Some((_, family)) = families.iter().find(|(u, _)| *u == x.unit) else {
            continue;
        };
        let stats = [
            ("median", Some(s.median)),
            ("p90", quantile(&x.current_samples, 0.9)),
            ("min", Some(s.min)),
            ("max", Some(s.max)),
        ];
        for (stat, value) in stats {
            let Some(value) = value.filter(|v| v.is_finite()) else {
                continue;
            };
            family
                .get_or_create(&SeriesLabels {
                    workload: x.workload.clone(),
                    metric: x.metric.clone(),
                    stat: stat.into(),
                    commit: commit.clone(),
                    branch: branch.clone(),
                })
                .set(value);
        }
        samples
            .get_or_create(&CountLabels {
                workload: x.workload.clone(),
                metric: x.metric.clone(),
                commit: commit.clone(),
                branch: branch.clone(),
            })
            .set(s.n as i64);
    }
    for (unit, family) in families {
        let help = "memgate's summaries of each workload's metric over the current runs";
        match unit {
            Unit::Bytes => registry.register_with_unit("summary", help, PromUnit::Bytes, family),
            Unit::Seconds => {
                registry.register_with_unit("summary", help, PromUnit::Seconds, family)
            }
            Unit::Ratio => registry.register_with_unit("summary", help, PromUnit::Ratios, family),
            Unit::BytesPerSecond => registry.register_with_unit(
                "summary",
                help,
                PromUnit::Other("bytes_per_second".into()),
                family,
            ),
            Unit::Count => registry.register("summary", help, family),
        }
    }
    registry.register("samples", "Runs each summary was made of", samples);
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry)
        .map_err(|_| ReportError::Io(std::io::Error::other("cannot encode OpenMetrics text")))?;
    Ok(out)
}

impl Render for OpenMetrics {
    fn render(&self, v: &Verdicts, out: &mut dyn Write) -> Result<(), ReportError> {
        out.write_all(render_string(v)?.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_p90() {
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile(&xs, 0.9), Some(9.0));
        assert_eq!(quantile(&[3.0], 0.9), Some(3.0));
        assert_eq!(quantile(&[], 0.9), None);
    }
}
