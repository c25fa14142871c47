//! OTLP metrics over HTTP (protobuf) of the current side's figures, built
//! with the OpenTelemetry protocol's own message types
//! (`opentelemetry-proto`) and posted with `ureq`, over plain HTTP: no TLS
//! stack is built in (it would double the time of a first build from a
//! clean clone); an HTTPS backend is reached through an OpenTelemetry
//! Collector beside the job, the usual way.
//!
//! One gauge per memgate metric (`memgate.process.rss.peak`, unit in UCUM:
//! `By`, `s`, `1`, `By/s`, `{count}`), a data point per workload and
//! statistic (`median`, `p90`, `min`, `max`), and `memgate.runs`. The
//! resource follows the semantic conventions: `service.name` (memgate),
//! `service.version`, and `vcs.ref.head.revision` / `vcs.ref.head.name`
//! for the commit and branch measured. The endpoint is `--otlp-endpoint`,
//! else OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (used as is), else
//! OTEL_EXPORTER_OTLP_ENDPOINT with `/v1/metrics` appended, as the
//! OpenTelemetry exporter specification says; OTEL_EXPORTER_OTLP_HEADERS
//! (`k=v,k=v`) and OTEL_EXPORTER_OTLP_TIMEOUT (milliseconds) are honoured.
//! An export that fails is the caller's warning, never a gate failure.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use crate::metrics::Unit;
use crate::verdicts::Verdicts;

/// Where and how to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The full URL of the metrics endpoint.
    pub url: String,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// The request's time limit.
    pub timeout: Duration,
}

impl Target {
    /// The target from `--otlp-endpoint` or the standard variables (read
    /// through `var`); `None` when nothing names an endpoint.
    pub fn resolve(flag: Option<&str>, var: impl Fn(&str) -> Option<String>) -> Option<Target> {
        let url = match flag {
            Some(f) => metrics_url(f),
            None => var("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
                .filter(|v| !v.is_empty())
                .or_else(|| {
                    var("OTEL_EXPORTER_OTLP_ENDPOINT")
                        .filter(|v| !v.is_empty())
                        .map(|v| metrics_url(&v))
                })?,
        };
        let headers = var("OTEL_EXPORTER_OTLP_METRICS_HEADERS")
            .or_else(|| var("OTEL_EXPORTER_OTLP_HEADERS"))
            .map(|h| {
                h.split(',')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .filter(|(k, _)| !k.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let timeout = var("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT")
            .or_else(|| var("OTEL_EXPORTER_OTLP_TIMEOUT"))
            .and_then(|t| t.parse::<u64>().ok())
            .map_or(Duration::from_secs(10), Duration::from_millis);
        Some(Target {
            url,
            headers,
            timeout,
        })
    }
}

/// The protocol the standard variables ask for, when it is one memgate
/// does not speak (it sends `http/protobuf` only).
pub fn unsupported_protocol(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    var("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")
        .or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .filter(|p| !p.is_empty() && p != "http/protobuf")
}

/// A base endpoint with the metrics path appended (unless it has it).
fn metrics_url(base: &str) -> String {
    if base.ends_with("/v1/metrics") {
        base.to_owned()
    } else {
        format!("{}/v1/metrics", base.trim_end_matches('/'))
    }
}

fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

/// UCUM units, as OpenTelemetry's semantic conventions write them.
fn ucum(unit: Unit) -> &'static str {
    match unit {
        Unit::Bytes => "By",
        Unit::Seconds => "s",
        Unit::Count => "{count}",
        Unit::Ratio => "1",
        Unit::BytesPerSecond => "By/s",
    }
}

/// The request for `v`'s current side, stamped `now`.
pub fn request(v: &Verdicts, now: SystemTime) -> ExportMetricsServiceRequest {
    let nanos = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let git = v.current.environments.first().and_then(|e| e.git.as_ref());
    let mut resource = vec![
        text("service.name", "memgate"),
        text("service.version", &v.memgate_version),
    ];
    if let Some(g) = git {
        resource.push(text("vcs.ref.head.revision", &g.commit));
        if let Some(b) = &g.branch {
            resource.push(text("vcs.ref.head.name", b));
        }
    }
    let point = |workload: &str, stat: &str, value: f64| NumberDataPoint {
        attributes: vec![text("workload", workload), text("stat", stat)],
        time_unix_nano: nanos,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    };
    let mut metrics: Vec<Metric> = Vec::new();
    let mut runs: Vec<NumberDataPoint> = Vec::new();
    for x in &v.verdicts {
        let Some(s) = x.current else { continue };
        let name = format!("memgate.{}", x.metric);
        let index = match metrics.iter().position(|m| m.name == name) {
            Some(i) => i,
            None => {
                metrics.push(Metric {
                    name,
                    description: format!("memgate's {} over the current runs", x.metric),
                    unit: ucum(x.unit).to_owned(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: Vec::new(),
                    })),
                    ..Default::default()
                });
                metrics.len() - 1
            }
        };
        let p90 = super::openmetrics::quantile(&x.current_samples, 0.9);
        if let Some(metric::Data::Gauge(g)) = &mut metrics[index].data {
            for (stat, value) in [
                ("median", Some(s.median)),
                ("p90", p90),
                ("min", Some(s.min)),
                ("max", Some(s.max)),
            ] {
                if let Some(value) = value.filter(|v| v.is_finite()) {
                    g.data_points.push(point(&x.workload, stat, value));
                }
            }
        }
        runs.push(NumberDataPoint {
            attributes: vec![text("workload", &x.workload), text("metric", &x.metric)],
            time_unix_nano: nanos,
            value: Some(number_data_point::Value::AsInt(s.n as i64)),
            ..Default::default()
        });
    }
    metrics.push(Metric {
        name: "memgate.runs".into(),
        description: "Runs each summary was made of".into(),
        unit: "{run}".into(),
        data: Some(metric::Data::Gauge(Gauge { data_points: runs })),
        ..Default::default()
    });
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "memgate".into(),
                    version: v.memgate_version.clone(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Why an export did not reach its receiver (a warning, never a failure
/// of the gate).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// An `https:` endpoint, which memgate does not speak.
    #[error(
        "{url}: memgate sends OTLP over plain HTTP only; point it at an OpenTelemetry Collector (http://127.0.0.1:4318) that forwards to the HTTPS backend"
    )]
    Https {
        /// The endpoint.
        url: String,
    },
    /// No connection, or no answer in time.
    #[error("cannot reach {url}: {source}")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// What the HTTP client said.
        source: Box<ureq::Error>,
    },
    /// An answer other than success.
    #[error("{url} answered {status}")]
    Refused {
        /// The endpoint.
        url: String,
        /// The HTTP status.
        status: ureq::http::StatusCode,
    },
}

/// Posts the request.
pub fn export(v: &Verdicts, target: &Target) -> Result<(), ExportError> {
    let url = || target.url.clone();
    if target.url.starts_with("https:") {
        return Err(ExportError::Https { url: url() });
    }
    let body = request(v, SystemTime::now()).encode_to_vec();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(target.timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent
        .post(&target.url)
        .header("Content-Type", "application/x-protobuf");
    for (k, v) in &target.headers {
        req = req.header(k, v);
    }
    let resp = req.send(&body[..]).map_err(|e| ExportError::Unreachable {
        url: url(),
        source: Box::new(e),
    })?;
    let status = resp.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(ExportError::Refused { url: url(), status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_the_exporter_specification() {
        let none = |_: &str| None;
        assert_eq!(Target::resolve(None, none), None);
        let t = Target::resolve(Some("http://127.0.0.1:4318"), none).unwrap();
        assert_eq!(t.url, "http://127.0.0.1:4318/v1/metrics");
        assert_eq!(t.timeout, Duration::from_secs(10));
        let env = |k: &str| match k {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://collector:4318/".into()),
            "OTEL_EXPORTER_OTLP_HEADERS" => Some("api-key=s3cret, x-team = mem".into()),
            "OTEL_EXPORTER_OTLP_TIMEOUT" => Some("2500".into()),
            _ => None,
        };
        let t = Target::resolve(None, env).unwrap();
        assert_eq!(t.url, "http://collector:4318/v1/metrics");
        assert_eq!(
            t.headers,
            [
                ("api-key".into(), "s3cret".into()),
                ("x-team".into(), "mem".into())
            ]
        );
        assert_eq!(t.timeout, Duration::from_millis(2500));
        let grpc = |k: &str| (k == "OTEL_EXPORTER_OTLP_PROTOCOL").then(|| "grpc".to_owned());
        assert_eq!(unsupported_protocol(grpc), Some("grpc".into()));
        assert_eq!(unsupported_protocol(none), None);
        let exact = |k: &str| {
            (k == "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT").then(|| "http://c:9/custom".to_owned())
        };
        assert_eq!(
            Target::resolve(None, exact).unwrap().url,
            "http://c:9/custom"
        );
    }
}
