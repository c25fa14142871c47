//! README.md's quick start runs as written: every command of its first
//! `sh` block, in order, each exiting 0, on a config with the bundled
//! suite's workload names (the Rust toucher, and a shell sleep).

use crate::util::{Dir, memgate_exe, rust_workload};

/// The commands of the quick start's code block, comments removed.
fn quick_start() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(crate::util::repo_root().join("README.md")).unwrap();
    let section = readme.split_once("## Quick start").unwrap().1;
    let block = section
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .unwrap()
        .0;
    block
        .lines()
        .map(|l| l.split_once(" #").map_or(l, |(cmd, _)| cmd).trim())
        .filter(|l| !l.is_empty())
        .map(|l| shlex::split(l).unwrap())
        .collect()
}

#[test]
fn the_quick_start_runs_as_written() {
    let commands = quick_start();
    assert!(commands.len() >= 10, "{commands:?}");
    let dir = Dir::new();
    dir.create(
        "memgate.yaml",
        &format!(
            "version: 1\ndefaults: {{repetitions: 6, warmup: 1, sample_interval: 0}}\nthresholds:\n  process.wall: {{max_increase: 50%, min_change: 50ms}}\n  process.cpu.user: {{max_increase: 50%, min_change: 20ms}}\n  process.cpu.system: {{max_increase: 50%, min_change: 20ms}}\nworkloads:\n  - {{name: toucher-64mib, lang: rust, run: [{}, -mib, 16]}}\n  - {{name: shell-sleep, lang: other, run: [sleep, '0.01']}}\n",
            rust_workload("toucher").display()
        ),
    );
    for argv in commands {
        assert_eq!(argv[0], "memgate", "{argv:?}");
        let out = std::process::Command::new(memgate_exe())
            .args(&argv[1..])
            .current_dir(dir.path())
            .env_remove("MEMGATE_CONFIG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`{}` exited {:?}:\n{}{}",
            argv.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
