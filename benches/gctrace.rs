//! gctrace parsing throughput (target: at least 1 million lines per
//! second). The input is real: the recorded go1.26 trace of
//! the retain workload, repeated to 100,000 lines.
//!
//! Run: cargo bench --bench gctrace

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use memgate::collect::gctrace;

fn bench(c: &mut Criterion) {
    let one = include_str!("../fixtures/gctrace/go1.26_retain.txt");
    let lines_per_copy = one.lines().count();
    let copies = 100_000 / lines_per_copy;
    let text = one.repeat(copies);
    let lines = (lines_per_copy * copies) as u64;
    assert_eq!(gctrace::parse(&text).cycles.len() as u64, lines);
    let mut group = c.benchmark_group("gctrace");
    group.throughput(Throughput::Elements(lines));
    group.bench_function("parse", |b| b.iter(|| gctrace::parse(&text)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
