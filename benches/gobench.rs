//! `go test -bench` text read into results, as `import --format gobench`
//! and `compare` read it (target: at least 100 MB/s). The input is real
//! output of `go test -bench . -benchmem -count 3 encoding/json`
//! (fixtures/gobench/encoding_json_std.txt: 8 benchmarks, 3 lines each),
//! its benchmarks renamed into 125 families and each family's lines
//! repeated 10 times: 1,000 benchmarks of 30 samples, 3.1 MB, the size
//! benches/vs_benchstat.sh compares.
//!
//! Run: cargo bench --bench gobench

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use memgate::collect::import::GobenchImport;

fn bench(c: &mut Criterion) {
    let one = include_str!("../fixtures/gobench/encoding_json_std.txt");
    let (header, rest) = one.split_at(one.find("Benchmark").expect("a result line"));
    let lines: String = rest
        .lines()
        .filter(|l| l.starts_with("Benchmark"))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut text = header.to_owned();
    for family in 0..125 {
        let renamed = lines.replace("Benchmark", &format!("BenchmarkF{family}"));
        for _ in 0..10 {
            text.push_str(&renamed);
        }
    }
    let read = || {
        let mut import = GobenchImport::default();
        import.add(Path::new("bench.txt"), &text).expect("readable");
        import.finish()
    };
    let results = read();
    assert_eq!(results.workloads.len(), 1000);
    let mut group = c.benchmark_group("gobench");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("import", |b| b.iter(read));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
