use crate::util::Dir;
use predicates::str::contains;

/// Every subcommand exists and describes itself; exit codes are in --help.
#[test]
fn every_subcommand_has_help() {
    let dir = Dir::new();
    let help = dir.memgate().arg("--help").assert().success();
    let out = String::from_utf8(help.get_output().stdout.clone()).unwrap();
    for cmd in [
        "run", "compare", "check", "baseline", "report", "import", "merge", "init",
    ] {
        assert!(out.contains(&format!("  {cmd} ")), "--help lists {cmd}");
        dir.memgate()
            .args([cmd, "--help"])
            .assert()
            .success()
            .stdout(contains("Usage: memgate"));
    }
    assert!(out.contains("130  interrupted"));
}
