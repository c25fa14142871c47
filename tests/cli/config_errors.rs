use crate::util::{Dir, repo_root};

/// Each bad config under fixtures/config/bad/ exits 2 with a message naming
/// the file, the line and column or the field, and what was expected.
#[test]
fn bad_configs_exit_2_with_located_messages() {
    let cases: &[(&str, &str)] = &[
        (
            "malformed_yaml",
            "malformed_yaml.yaml:8:1: workloads[1]: could not find expected ':', while scanning a simple key",
        ),
        (
            "wrong_type",
            "wrong_type.yaml:3:16: defaults.repetitions: invalid type: string \"five\", expected u32",
        ),
        (
            "unknown_key",
            "unknown_key.yaml:3:3: defaults.warmpu: unknown field `warmpu`, expected one of `repetitions`, `footprint_repetitions`, `warmup`, `timeout`, `build_timeout`, `kill_grace`, `sample_interval`, `env`; did you mean `warmup`?",
        ),
        (
            "bad_unit",
            "bad_unit.yaml:3:12: defaults.timeout: `2 fortnights` is not a duration; expected e.g. `250ms`, `1.5s`, `2m` or `0`",
        ),
        (
            "duplicate_name",
            "duplicate_name.yaml: workloads[2].name: duplicate workload name `churn` (first used by workloads[0]); names must be unique",
        ),
        (
            "unknown_lang",
            "unknown_lang.yaml:3:21: workloads[0].lang: unknown variant `python`, expected one of `go`, `rust`, `other`",
        ),
        (
            "missing_version",
            "missing_version.yaml:1:1: missing field `version`",
        ),
        (
            "sample_interval_too_short",
            "sample_interval_too_short.yaml: defaults.sample_interval: 100us is too short; use 0 (off) or at least 1ms",
        ),
    ];
    let dir = Dir::new();
    for (name, expected) in cases {
        let path = repo_root().join(format!("fixtures/config/bad/{name}.yaml"));
        let out = dir
            .memgate()
            .args(["run", "-o", "r.json", "-c"])
            .arg(&path)
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        let expected = format!(
            "memgate: error: invalid config: {}",
            path.with_file_name(expected).display()
        );
        assert_eq!(stderr.trim_end(), expected, "for {name}");
        assert!(
            !dir.path().join("r.json").exists(),
            "{name}: nothing is written"
        );
    }
}

/// A missing config file is named.
#[test]
fn missing_config_file_is_named() {
    let dir = Dir::new();
    dir.memgate()
        .args(["run", "-c", "nope.yaml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("nope.yaml: cannot read the file"));
}
