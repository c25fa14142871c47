//! The gate's hot path: judging 1,000 metrics x 30 samples per side,
//! confidence intervals included (target: under 200 ms).
//! Half the metrics are continuous (exact U distribution, no ties), half
//! are integer counts with ties (normal approximation).
//!
//! Run: cargo bench --bench gate

use std::collections::BTreeMap;

use criterion::{Criterion, criterion_group, criterion_main};
use memgate::fingerprint::Environment;
use memgate::gate::evaluate;
use memgate::lang::Lang;
use memgate::metrics::{self, MetricDef};
use memgate::policy::GatePolicy;
use memgate::results::{RESULTS_SCHEMA, Results, Series, Value, WorkloadResults};
use memgate::verdicts::Side;

/// A small deterministic generator (xorshift64*), so every run judges the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545F4914F6CDD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn results(rng: &mut Rng, shift: f64) -> Results {
    let defs: [&MetricDef; 2] = [&metrics::RSS_PEAK, &metrics::FAULTS_MINOR];
    let workloads = (0..100)
        .map(|w| {
            let metrics: BTreeMap<String, Series> = (0..10)
                .map(|m| {
                    let def = defs[m % 2];
                    let mut s = Series::new(def, "bench");
                    s.samples = (0..30)
                        .map(|_| {
                            if m % 2 == 0 {
                                Value::Float(1e8 * (1.0 + shift) + rng.next() * 1e6)
                            } else {
                                Value::Int((1000.0 + (rng.next() * 8.0).floor()) as u64)
                            }
                        })
                        .collect();
                    (format!("{}.{m}", def.name), s)
                })
                .collect();
            WorkloadResults {
                name: format!("w{w}"),
                lang: Lang::Other,
                environment: 0,
                command: vec!["bench".into()],
                tags: BTreeMap::new(),
                binary_sha256: None,
                iterations: None,
                build_failure: None,
                runs: vec![],
                sites: None,
                metrics,
            }
        })
        .collect();
    Results {
        schema: RESULTS_SCHEMA.into(),
        memgate_version: "bench".into(),
        created_at: "2026-11-23T00:00:00Z".into(),
        shards: vec![],
        environments: vec![Environment::detect(std::path::Path::new("/nonexistent"))],
        workloads,
    }
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let base = results(&mut rng, 0.0);
    let cur = results(&mut rng, 0.001);
    let policy = GatePolicy::default();
    let (bs, cs) = (Side::of("base", &base), Side::of("cur", &cur));
    let v = evaluate(&policy, &bs, &base, &cs, &cur).expect("evaluate");
    assert_eq!(v.verdicts.len(), 1000);
    c.bench_function("gate 1000 metrics x 30 samples", |b| {
        b.iter(|| evaluate(&policy, &bs, &base, &cs, &cur).expect("evaluate"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
