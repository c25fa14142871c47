use crate::util::Dir;
use predicates::str::contains;

fn three_workloads(dir: &Dir) {
    dir.create(
        "memgate.yaml",
        "version: 1\ndefaults: {repetitions: 1, warmup: 0, sample_interval: 0}\nworkloads:\n  - {name: w1, lang: other, run: 'true'}\n  - {name: w2, lang: other, run: 'true'}\n  - {name: w3, lang: other, run: 'true'}\n",
    );
}

fn names(r: &memgate::results::Results) -> Vec<&str> {
    r.workloads.iter().map(|w| w.name.as_str()).collect()
}

/// `--shard K/N` runs every N-th workload from the K-th; merge joins shards.
#[test]
fn shards_merge_into_the_whole() {
    let dir = Dir::new();
    three_workloads(&dir);
    dir.memgate()
        .args(["run", "--shard", "1/2", "-o", "s1.json"])
        .assert()
        .success();
    dir.memgate()
        .args(["run", "--shard", "2/2", "-o", "s2.json"])
        .assert()
        .success();
    assert_eq!(names(&dir.results("s1.json")), ["w1", "w3"]);
    assert_eq!(names(&dir.results("s2.json")), ["w2"]);
    dir.memgate()
        .args(["merge", "s1.json", "s2.json", "-o", "all.json"])
        .assert()
        .success();
    let all = dir.results("all.json");
    assert_eq!(names(&all), ["w1", "w3", "w2"]);
    assert_eq!(
        all.environments.len(),
        1,
        "identical environments are kept once"
    );
    assert_eq!(all.shards.len(), 2);
}

/// Overlapping inputs are refused.
#[test]
fn overlapping_inputs_are_refused() {
    let dir = Dir::new();
    three_workloads(&dir);
    dir.memgate()
        .args(["run", "--shard", "1/2", "-o", "s1.json"])
        .assert()
        .success();
    std::fs::copy(dir.path().join("s1.json"), dir.path().join("again.json")).unwrap();
    dir.memgate()
        .args(["merge", "s1.json", "again.json", "-o", "all.json"])
        .assert()
        .code(2)
        .stderr(contains("again.json: workload `w1` is also in s1.json"));
    assert!(!dir.path().join("all.json").exists());
}

/// Files of another schema version are refused by name.
#[test]
fn other_schema_versions_are_refused() {
    let dir = Dir::new();
    three_workloads(&dir);
    dir.memgate()
        .args(["run", "--shard", "1/2", "-o", "s1.json"])
        .assert()
        .success();
    dir.memgate()
        .args(["run", "--shard", "2/2", "-o", "s2.json"])
        .assert()
        .success();
    let text = std::fs::read_to_string(dir.path().join("s2.json")).unwrap();
    dir.create(
        "s2.json",
        &text.replace("memgate/results/v1", "memgate/results/v2"),
    );
    dir.memgate()
        .args(["merge", "s1.json", "s2.json", "-o", "all.json"])
        .assert()
        .code(2)
        .stderr(contains(
            "s2.json: schema `memgate/results/v2` is not `memgate/results/v1`",
        ));
    dir.create("s2.json", "{ not json");
    dir.memgate()
        .args(["merge", "s1.json", "s2.json", "-o", "all.json"])
        .assert()
        .code(2)
        .stderr(contains("s2.json:1:"));
}
