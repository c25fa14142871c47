//! `collect: [malloc]`, memgate's preloaded malloc counter, on real
//! programs with no code change: a C program calling malloc directly
//! (across threads and a fork), a Rust binary on the system allocator
//! beside the probe's figures, programs with allocators of their own
//! (jemalloc, mimalloc) refused by name, and the gate in both directions.

use std::path::Path;
use std::process::Command;

use crate::util::{Dir, rust_variant, samples};

/// A C program: `ITEMS` blocks of 100 bytes kept per thread in 4 threads,
/// plus `EXTRA` more per item in the main thread, then calloc, realloc,
/// posix_memalign, aligned_alloc; a forked child allocates and exits.
const PROGRAM: &str = r#"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
static long items, extra;
static void *work(void *arg) {
    void **keep = malloc(items * sizeof(void *));
    for (long i = 0; i < items; i++) keep[i] = malloc(100);
    for (long i = 0; i < items; i++) free(keep[i]);
    free(keep);
    return arg;
}
int main(int argc, char **argv) {
    items = atol(argv[1]);
    extra = atol(argv[2]);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, work, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    void **kept = calloc(items * extra + 1, sizeof(void *));
    for (long i = 0; i < items * extra; i++) kept[i] = malloc(64);
    char *grown = realloc(malloc(10), 5000);
    void *aligned;
    if (posix_memalign(&aligned, 64, 256) != 0) return 2;
    void *aligned2 = aligned_alloc(4096, 4096);
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 7; i++) {
            void *volatile p = malloc(32);
            free(p);
        }
        exit(0);
    }
    waitpid(child, NULL, 0);
    printf("%p %p %p %p\n", (void *)kept, (void *)grown, aligned, aligned2);
    return 0;
}
"#;

/// Compiles [`PROGRAM`] into `dir`.
fn c_program(dir: &Dir) -> std::path::PathBuf {
    let src = dir.create("prog.c", PROGRAM);
    let bin = dir.path().join("prog");
    let status = Command::new("cc")
        .args(["-O1", "-pthread", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("cc (a C compiler links Rust programs too)");
    assert!(status.success());
    bin
}

fn config(dir: &Dir, workloads: &[(&str, &Path, &str)]) {
    let mut text =
        "version: 1\ndefaults: {repetitions: 3, warmup: 0, sample_interval: 0}\nworkloads:\n"
            .to_owned();
    for (name, bin, args) in workloads {
        text += &format!(
            "  - {{name: {name}, lang: other, run: '{} {args}', collect: [malloc]}}\n",
            bin.display()
        );
    }
    dir.create("memgate.yaml", &text);
}

/// Every allocation of the program is counted, in every thread, the
/// counts repeat exactly run to run, and a thousand more items add exactly
/// what they allocate; the forked child is counted apart and named. (The
/// peak is not exact with threads: it depends on how their allocations
/// interleave, and each thread's live bytes reach the total in batches.)
#[test]
fn a_c_program_is_counted_exactly_across_threads() {
    let dir = Dir::new();
    let bin = c_program(&dir);
    config(
        &dir,
        &[("small", &bin, "1000 1"), ("large", &bin, "2000 1")],
    );
    let out = dir
        .memgate()
        .args(["run", "-o", "r.json"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains(
            "1 other process(es) of its tree were counted apart and left out: prog x1 (7 blocks)"
        ),
        "{log}"
    );
    let r = dir.results("r.json");
    for metric in ["heap.alloc.objects", "heap.alloc.bytes", "heap.reallocs"] {
        for w in ["small", "large"] {
            let s = samples(&r, w, metric);
            assert!(s.iter().all(|&v| v == s[0]), "{w} {metric}: {s:?}");
        }
    }
    let d = |metric| samples(&r, "large", metric)[0] - samples(&r, "small", metric)[0];
    // Each thread: 1000 blocks of 100 bytes more, and its array 8000 bytes
    // larger; the main thread: 1000 blocks of 64, and calloc 8000 more.
    assert_eq!(d("heap.alloc.objects"), 4.0 * 1000.0 + 1000.0);
    assert_eq!(
        d("heap.alloc.bytes"),
        4.0 * (1000.0 * 100.0 + 8000.0) + 1000.0 * 64.0 + 8000.0
    );
    assert_eq!(samples(&r, "small", "heap.reallocs")[0], 1.0);
    // 1001 blocks of 64 (72 usable bytes each) kept: the peak holds them.
    assert!(samples(&r, "small", "heap.end.bytes")[0] >= 1000.0 * 72.0 + 5000.0);
}

/// A Rust binary on the system allocator, unchanged: the counter reads what
/// the probe linked into it reads, plus the few blocks Rust's runtime takes
/// before `main` (the probe counts from `main`).
#[test]
fn a_rust_binary_is_counted_as_its_probe_counts_it() {
    let dir = Dir::new();
    let churn = rust_variant(None).join("churn");
    dir.create(
        "memgate.yaml",
        &format!(
            "version: 1\ndefaults: {{repetitions: 3, warmup: 0, sample_interval: 0}}\nworkloads:\n  - {{name: counter, lang: rust, run: [{0}, -scale, '0.2'], collect: [malloc]}}\n  - {{name: probe, lang: rust, run: [{0}, -scale, '0.2'], collect: [probe]}}\n",
            churn.display()
        ),
    );
    let out = dir
        .memgate()
        .args(["run", "-o", "r.json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = dir.results("r.json");
    let blocks = samples(&r, "counter", "heap.alloc.objects")[0];
    let probe_blocks = samples(&r, "probe", "heap.alloc.objects")[0];
    assert!(
        blocks >= probe_blocks && blocks - probe_blocks < 50.0,
        "counter {blocks}, probe {probe_blocks}"
    );
    let bytes = samples(&r, "counter", "heap.alloc.bytes")[0];
    let probe_bytes = samples(&r, "probe", "heap.alloc.bytes")[0];
    assert!(
        bytes >= probe_bytes && bytes - probe_bytes < 16384.0,
        "counter {bytes}, probe {probe_bytes}"
    );
}

/// A program whose allocator does not go through malloc is refused, with
/// the allocator named, never reported as allocating nothing.
#[test]
fn programs_with_allocators_of_their_own_are_refused_by_name() {
    for (feature, named) in [
        ("jemalloc", "jemalloc (tikv-jemallocator)"),
        ("mimalloc", "mimalloc"),
    ] {
        let dir = Dir::new();
        let bin = rust_variant(Some(feature)).join("churn");
        config(&dir, &[("own", &bin, "-scale 0.1")]);
        let out = dir
            .memgate()
            .args(["run", "-o", "r.json"])
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr);
        // 3: a run failed (its output could not be read).
        assert_eq!(out.status.code(), Some(3), "{log}");
        assert!(
            log.contains(&format!(
                "the program allocates with {named}, not through malloc"
            )),
            "{feature}: {log}"
        );
        let r = dir.results("r.json");
        assert!(!r.workloads[0].metrics.contains_key("heap.alloc.objects"));
    }
    // A Go program allocates with its runtime.
    let dir = Dir::new();
    let go = crate::util::go_workloads().join("churn");
    config(&dir, &[("go", &go, "")]);
    let out = dir
        .memgate()
        .args(["run", "-o", "r.json"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(
        log.contains("the program allocates with the Go runtime"),
        "{log}"
    );
}

/// The gate on the counter's figures, both ways: the same program passes
/// against its baseline, one more allocation per item fails on
/// heap.alloc.objects and heap.alloc.bytes.
#[test]
fn the_gate_passes_the_same_program_and_fails_one_more_allocation_per_item() {
    let dir = Dir::new();
    let bin = c_program(&dir);
    config(&dir, &[("prog", &bin, "1000 1")]);
    dir.memgate().args(["run"]).assert().success();
    dir.save_baseline();
    let same = dir.memgate().args(["check"]).output().unwrap();
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    config(&dir, &[("prog", &bin, "1000 2")]);
    let more = dir.memgate().args(["check"]).output().unwrap();
    let report = String::from_utf8_lossy(&more.stdout);
    assert_eq!(more.status.code(), Some(1), "{report}");
    let verdicts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(".memgate/verdicts.json")).unwrap())
            .unwrap();
    let failed: Vec<&str> = verdicts["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["status"] == "regression")
        .map(|v| v["metric"].as_str().unwrap())
        .collect();
    for metric in ["heap.alloc.objects", "heap.alloc.bytes"] {
        assert!(failed.contains(&metric), "{failed:?}\n{report}");
    }
}

/// A program with two functions that allocate, `steady` making a string
/// for each of `2 * items`, `grow` making `n` for each of `items`.
fn two_sites(dir: &Dir, n: usize, items: u32) {
    dir.create(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    dir.create(
        "src/main.rs",
        &format!(
            "#[inline(never)]\nfn steady(out: &mut Vec<String>) {{\n    for i in 0..{steady}u32 {{\n        out.push(format!(\"steady-{{i}}\"));\n    }}\n}}\n\n#[inline(never)]\nfn grow(out: &mut Vec<String>) {{\n    for i in 0..{items}u32 {{\n        for _ in 0..{n} {{\n            out.push(format!(\"grow-{{i}}\"));\n        }}\n    }}\n}}\n\nfn main() {{\n    let mut a = Vec::new();\n    let mut b = Vec::new();\n    steady(&mut a);\n    grow(&mut b);\n    println!(\"{{}}\", a.len() + b.len());\n}}\n",
            steady = 2 * items,
        ),
    );
    dir.create(
        "memgate.yaml",
        "version: 1\ndefaults: {repetitions: 3, warmup: 0, sample_interval: 0}\nworkloads:\n  - {name: app, lang: rust, build: cargo build --release, run: target/release/app, collect: [malloc]}\n",
    );
}

/// Gates `two_sites` with `items` against itself with one more string per
/// item in `grow`, and returns `memgate explain`'s first site and share.
fn explained_growth(dir: &Dir, items: u32) -> (String, f64, String) {
    two_sites(dir, 1, items);
    dir.memgate().args(["run"]).assert().success();
    dir.save_baseline();
    two_sites(dir, 2, items);
    let check = dir.memgate().args(["check"]).output().unwrap();
    assert_eq!(
        check.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let out = dir
        .memgate()
        .args(["explain", "app", "heap.alloc.bytes"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let first_site = text
        .lines()
        .skip_while(|l| !l.starts_with("site"))
        .nth(1)
        .unwrap_or_else(|| panic!("no sites:\n{text}"))
        .to_owned();
    let share: f64 = first_site
        .split_whitespace()
        .find_map(|w| w.strip_suffix('%'))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no share:\n{text}"));
    (first_site, share, text)
}

/// "Where it grew" from the counter's sampled stacks, with no code change
/// and no valgrind: the function whose loop allocates more comes first,
/// named by the program's symbol table, with Vec's and format!'s frames
/// folded into it; the steady one barely moves.
#[test]
fn explain_names_the_programs_function_that_grew() {
    let dir = Dir::new();
    let (first_site, share, text) = explained_growth(&dir, 50_000);
    assert!(first_site.starts_with("app::grow "), "{text}");
    assert!(share > 80.0, "{text}");
    assert!(!text.contains("alloc::raw_vec"), "{text}");
    // The call paths from the same stacks: main, then the function that
    // grew, the runtime's frames left out.
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(".memgate/verdicts.json")).unwrap())
            .unwrap();
    let verdict = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["metric"] == "heap.alloc.bytes")
        .unwrap();
    let paths: Vec<&str> = verdict["attribution"]["stacks"]
        .as_array()
        .unwrap_or_else(|| panic!("no call paths: {verdict}"))
        .iter()
        .map(|s| s["folded"].as_str().unwrap())
        .collect();
    assert!(
        paths.iter().any(|p| p.ends_with("app::main;app::grow")),
        "{paths:?}"
    );
    assert!(paths.iter().all(|p| !p.contains("alloc::")), "{paths:?}");
}

/// A program that allocates a few tens of KiB in all (as a unit test
/// does) is sampled too: the sample points start 1 KiB apart, where a
/// fixed 512 KiB interval took no sample and explained nothing.
#[test]
fn explain_names_the_function_that_grew_in_a_small_program() {
    let dir = Dir::new();
    let (first_site, share, text) = explained_growth(&dir, 500);
    assert!(text.contains("every current run is above"), "{text}");
    assert!(first_site.starts_with("app::grow "), "{text}");
    assert!(share > 50.0, "{text}");
}
