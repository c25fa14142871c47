//! README, "Gate your own program", followed step by step in a Go module
//! and a Cargo project made in a temporary directory outside this
//! repository: `memgate init`, the probe linked by the README's own
//! `go.mod` and `Cargo.toml` lines (read from README.md, with `../memgate`
//! pointing at this checkout), then run, baseline save and check.

use std::path::Path;

use crate::util::{Dir, repo_root, samples};

/// The code block after `<!-- own-program: NAME -->` in README.md, with
/// `../memgate` made this checkout's path.
fn readme_block(name: &str) -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let marker = format!("<!-- own-program: {name} -->");
    let after = readme
        .split_once(&marker)
        .unwrap_or_else(|| panic!("README.md has no {marker}"))
        .1;
    let body = after
        .split_once("```")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .map(|(_, rest)| rest)
        .unwrap();
    let block = body.split_once("```").unwrap().0;
    block.replace("../memgate", &repo_root().display().to_string())
}

/// The README's steps after `memgate init` and the edit of the workload.
fn run_save_check(dir: &Dir) {
    dir.memgate().args(["run"]).assert().success();
    dir.save_baseline();
    dir.memgate().args(["check"]).assert().code(0);
}

/// Inserts `lines` after the line `after` of the config `init` wrote.
fn edit_config(dir: &Path, after: &str, lines: &str) {
    let path = dir.join("memgate.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text
        .find(after)
        .unwrap_or_else(|| panic!("memgate init wrote no `{after}`:\n{text}"))
        + after.len();
    std::fs::write(&path, format!("{}{lines}{}", &text[..at], &text[at..])).unwrap();
}

#[test]
fn a_go_module_links_the_probe_by_the_readme_lines() {
    let dir = Dir::new();
    dir.create(
        "go.mod",
        &format!(
            "module example.com/app\n\ngo 1.21\n\n{}",
            readme_block("go.mod")
        ),
    );
    dir.create("main.go", &readme_block("main.go"));
    dir.memgate().arg("init").assert().success();
    edit_config(
        dir.path(),
        "run: .memgate/bin/go-app\n",
        &readme_block("go collect"),
    );
    run_save_check(&dir);
    let r = dir.results(".memgate/results.json");
    let w = r.workloads.iter().find(|w| w.name == "go-app").unwrap();
    assert_eq!(w.metrics["heap.alloc.bytes"].source, "probe");
    // 1000 blocks of 4 KiB, and the slice that holds them.
    assert!(samples(&r, "go-app", "heap.alloc.bytes")[0] >= 4_096_000.0);
    assert!(!samples(&r, "go-app", "latency.p50").is_empty());
}

#[test]
fn a_cargo_project_links_the_probe_by_the_readme_lines() {
    let dir = Dir::new();
    dir.create(
        "Cargo.toml",
        &format!(
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n{}",
            readme_block("Cargo.toml")
        ),
    );
    dir.create("src/main.rs", &readme_block("main.rs"));
    dir.memgate().arg("init").assert().success();
    let config = std::fs::read_to_string(dir.path().join("memgate.yaml")).unwrap();
    let written = ["collect: [malloc]\n"]
        .into_iter()
        .find(|c| config.contains(&format!("run: target/release/app\n    {c}")))
        .unwrap_or_else(|| panic!("no workload for the binary `app`:\n{config}"));
    // The README's lines replace the build and collect lines init wrote.
    let built = config
        .lines()
        .find(|l| l.trim_start().starts_with("build: cargo build"))
        .unwrap_or_else(|| panic!("no build line:\n{config}"));
    std::fs::write(
        dir.path().join("memgate.yaml"),
        config
            .replace(&format!("{built}\n"), "")
            .replace(&format!("    {written}"), &readme_block("rust collect")),
    )
    .unwrap();
    run_save_check(&dir);
    let r = dir.results(".memgate/results.json");
    assert_eq!(r.workloads[0].metrics["heap.alloc.bytes"].source, "probe");
    assert!(samples(&r, "app", "heap.alloc.bytes")[0] >= 4_096_000.0);
    assert!(samples(&r, "app", "heap.peak.bytes")[0] >= 4_096_000.0);
    // Built without the feature, as for production, the program carries
    // no probe: it writes no probe file.
    let plain = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "--bin", "app"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(plain.success());
    let probe_file = dir.path().join("probe.json");
    let ran = std::process::Command::new(dir.path().join("target/release/app"))
        .env("MEMGATE_PROBE_FILE", &probe_file)
        .status()
        .unwrap();
    assert!(ran.success());
    assert!(
        !probe_file.exists(),
        "a production build wrote a probe file"
    );
}

/// The probe crate is publishable as it stands.
#[test]
fn the_probe_crate_packages() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "package",
            "--locked",
            "-p",
            "memgate-probe",
            "--allow-dirty",
        ])
        .current_dir(repo_root().join("workloads/rust"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A program whose main keeps `n` strings, one per item.
fn cargo_app(dir: &Dir, per_item: usize) {
    dir.create(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    dir.create(
        "src/main.rs",
        &format!(
            "fn main() {{\n    let mut kept = Vec::new();\n    for i in 0..20_000u32 {{\n        for _ in 0..{per_item} {{\n            kept.push(i.to_string());\n        }}\n    }}\n    println!(\"{{}}\", kept.len());\n}}\n"
        ),
    );
}

/// A Cargo project with no code change: `init` writes the binary with the
/// malloc counter, an unchanged program passes its baseline, and one more
/// allocation per item in its loop fails heap.alloc.objects.
#[test]
fn a_cargo_project_is_gated_with_no_code_change() {
    let dir = Dir::new();
    cargo_app(&dir, 1);
    dir.memgate().arg("init").assert().success();
    let config = std::fs::read_to_string(dir.path().join("memgate.yaml")).unwrap();
    assert!(
        config.contains("run: target/release/app\n    collect: [malloc]\n"),
        "{config}"
    );
    run_save_check(&dir);
    let r = dir.results(".memgate/results.json");
    assert_eq!(
        r.workloads[0].metrics["heap.alloc.objects"].source,
        "malloc"
    );
    cargo_app(&dir, 2);
    let out = dir.memgate().args(["check"]).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.contains("heap.alloc.objects"), "{report}");
}

/// A project whose global allocator bypasses malloc gets no malloc counter
/// from `init`, and is told why and what to use.
#[test]
fn init_does_not_count_malloc_under_an_allocator_of_the_projects_own() {
    let dir = Dir::new();
    cargo_app(&dir, 1);
    dir.create(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ntikv-jemallocator = \"0.7\"\n",
    );
    dir.memgate().arg("init").assert().success();
    let config = std::fs::read_to_string(dir.path().join("memgate.yaml")).unwrap();
    assert!(!config.contains("collect: [malloc]"), "{config}");
    assert!(
        config.contains("It depends on `tikv-jemallocator`, an allocator that bypasses malloc"),
        "{config}"
    );
}
