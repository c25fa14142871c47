use crate::util::Dir;
use predicates::prelude::*;
use predicates::str::contains;

/// Every subcommand exists and describes itself, and every exit code is
/// listed in the help of memgate and of each subcommand.
#[test]
fn every_subcommand_has_help() {
    let dir = Dir::new();
    let help = dir.memgate().arg("--help").assert().success();
    let out = String::from_utf8(help.get_output().stdout.clone()).unwrap();
    let has_exit_codes = |text: &str, what: &str| {
        for (code, meaning) in memgate::error::exit::ALL {
            assert!(
                text.contains(&format!("{code:<4} {meaning}")),
                "{what} lists exit code {code}"
            );
        }
    };
    has_exit_codes(&out, "memgate --help");
    for cmd in [
        "run",
        "compare",
        "check",
        "calibrate",
        "baseline",
        "report",
        "import",
        "merge",
        "init",
    ] {
        assert!(out.contains(&format!("  {cmd} ")), "--help lists {cmd}");
        let sub = dir.memgate().args([cmd, "--help"]).assert().success();
        let text = String::from_utf8(sub.get_output().stdout.clone()).unwrap();
        assert!(text.contains("Usage: memgate"), "{cmd} --help: {text}");
        has_exit_codes(&text, &format!("memgate {cmd} --help"));
    }
}

/// A power outside (0, 1) is refused before anything runs: exit 2 and the
/// value named, never a panic.
#[test]
fn calibrate_power_outside_zero_one_is_exit_2() {
    let dir = Dir::new();
    for bad in ["1.5", "0", "1", "NaN", "-0.2", "x"] {
        dir.memgate()
            .args(["calibrate", &format!("--power={bad}")])
            .assert()
            .code(2)
            .stderr(contains("--power").and(contains("panicked").not()));
    }
}
