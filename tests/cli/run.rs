use crate::util::{Dir, memgate_exe, rust_workload, samples};
use memgate::config::Config;
use memgate::runner::{self, RunPlan};

const MIB: f64 = 1024.0 * 1024.0;

/// A process that allocates a known 200 MiB and touches every page reports a
/// peak within 5% of that.
#[test]
fn known_200mib_toucher_peak_is_within_5_percent() {
    let dir = Dir::new();
    let toucher = rust_workload("toucher");
    dir.create(
        "memgate.yaml",
        &format!(
            "version: 1\ndefaults: {{repetitions: 3, warmup: 0}}\nworkloads:\n  - name: toucher\n    lang: rust\n    run: [{}, -mib, 200]\n",
            toucher.display()
        ),
    );
    dir.memgate()
        .args(["run", "-n", "3", "-o", "r.json"])
        .assert()
        .success();
    let r = dir.results("r.json");
    let peaks = samples(&r, "toucher", "process.rss.peak");
    assert_eq!(peaks.len(), 3);
    for p in &peaks {
        let ratio = p / (200.0 * MIB);
        assert!(
            (0.95..=1.05).contains(&ratio),
            "peak {p} is {ratio:.3} of 200 MiB"
        );
    }
    // Every page was written once: at least one minor fault per 4 KiB page,
    // or, where THP may be `always` (or its setting is unknown), per 2 MiB page.
    let small_pages = r.environments[0]
        .thp
        .as_ref()
        .is_some_and(|t| t.enabled != "always");
    let at_least = if small_pages {
        0.9 * 200.0 * 256.0
    } else {
        0.9 * 100.0
    };
    for f in samples(&r, "toucher", "process.faults.minor") {
        assert!(f >= at_least, "only {f} minor faults (at least {at_least})");
    }
}

/// wait4's ru_maxrss is floored at the spawner's RSS; memgate's launcher
/// keeps a tiny workload's peak tiny even when the process driving the
/// runner holds 300 MiB.
#[test]
fn tiny_workload_reports_tiny_peak_while_the_spawner_holds_300mib() {
    let mut ballast = vec![0u8; 300 << 20];
    for i in (0..ballast.len()).step_by(4096) {
        ballast[i] = 1;
    }
    std::hint::black_box(&ballast);

    // Control: spawned directly, `sleep` inherits the floor. This is the
    // pitfall the launcher exists for; if it stops holding, this test has
    // lost its point.
    #[expect(
        clippy::zombie_processes,
        reason = "reaped by wait4 below, to read its rusage"
    )]
    let child = std::process::Command::new("sleep")
        .arg("0.01")
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain old data; pointers are valid for the call.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    let direct = ru.ru_maxrss as f64 * 1024.0;
    assert!(
        direct > 250.0 * MIB,
        "direct spawn reported {direct}: the kernel no longer floors ru_maxrss"
    );

    let dir = Dir::new();
    let path = dir.create(
        "memgate.yaml",
        "version: 1\ndefaults: {repetitions: 3, warmup: 0}\nworkloads:\n  - {name: sleep, lang: other, run: sleep 0.05}\n",
    );
    let config = Config::load(&path).unwrap();
    let plan = RunPlan {
        workloads: config.workloads.clone(),
        shard: None,
        launcher: memgate_exe(),
        repo_dir: dir.path().to_owned(),
        pairs: Vec::new(),
        pins: Default::default(),
    };
    let results = runner::execute(&plan, &mut std::io::sink()).unwrap();
    let peaks = samples(&results, "sleep", "process.rss.peak");
    assert_eq!(peaks.len(), 3);
    for p in peaks {
        assert!(p < 8.0 * MIB, "sleep reported a peak of {:.1} MiB", p / MIB);
    }
    std::hint::black_box(&ballast);
}

/// A short run reads its own peak, not the launcher's memory: `true` forked
/// from the exec stub reads about 1 MiB under this debug build of memgate,
/// whose launcher holds about 10 MiB (before the stub its readings ran from
/// 136 KiB, a sampled high-water mark taken too early, to 9.4 MiB, the
/// launcher's own). benches/short_run_rss.sh prints both builds' readings.
#[test]
fn a_short_run_reads_its_own_peak_not_the_launchers() {
    let dir = Dir::new();
    dir.create(
        "memgate.yaml",
        "version: 1\ndefaults: {repetitions: 10, warmup: 0}\nworkloads:\n  - {name: t, lang: other, run: [true]}\n",
    );
    dir.memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .success();
    let r = dir.results("r.json");
    let peaks = samples(&r, "t", "process.rss.peak");
    assert_eq!(peaks.len(), 10);
    let (lo, hi) = peaks
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &p| (lo.min(p), hi.max(p)));
    assert!(
        lo > 0.4 * MIB && hi < 2.5 * MIB && hi / lo < 1.5,
        "`true` read peaks from {:.0} to {:.0} KiB",
        lo / 1024.0,
        hi / 1024.0
    );
    assert!(
        r.workloads[0]
            .runs
            .iter()
            .all(|run| run.rss_floor_bytes == 0)
    );
}

/// The results file holds every sample, the runs, the environment, tags and
/// the binary's hash, and reads back under deny_unknown_fields.
#[test]
fn results_file_is_complete_and_versioned() {
    let dir = Dir::new();
    let toucher = rust_workload("toucher");
    dir.create(
        "memgate.yaml",
        &format!(
            "version: 1\ndefaults: {{repetitions: 4, warmup: 2, sample_interval: 5ms, env: {{GOGC: 50}}}}\nworkloads:\n  - name: t\n    lang: rust\n    build: cargo build --release --features jemalloc\n    run: [{t}, -mib, 16, -hold-ms, 60]\n    binary: {t}\n    tags: {{team: memory}}\n  - name: go-ish\n    lang: go\n    run: sleep 0.01\n    sample_interval: 0\n",
            t = toucher.display()
        ),
    );
    // The build line is never run for real here: replace it with `true`
    // while keeping the flags memgate reads tags from.
    let text = std::fs::read_to_string(dir.path().join("memgate.yaml")).unwrap();
    dir.create(
        "memgate.yaml",
        &text.replace("cargo build", "true cargo-build"),
    );
    dir.memgate()
        .args(["run", "-o", "out/r.json"])
        .assert()
        .success();
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/r.json")).unwrap()).unwrap();
    assert_eq!(raw["schema"], "memgate/results/v1");
    let r = dir.results("out/r.json");
    let env = &r.environments[0];
    assert!(env.kernel.is_some() && env.cores.is_some() && env.memory_bytes.is_some());

    // `run` records a baseline: 10 measured runs however few the config
    // asks (4), so the gate can read each metric's spread.
    let t = &r.workloads[0];
    assert_eq!(t.runs.len(), 12);
    assert_eq!(t.runs.iter().filter(|r| r.warmup).count(), 2);
    assert!(t.runs[..2].iter().all(|r| r.warmup), "warm-ups come first");
    for m in [
        "process.rss.peak",
        "process.cpu.user",
        "process.cpu.system",
        "process.wall",
        "process.faults.minor",
        "process.faults.major",
        "process.context_switches.voluntary",
        "process.context_switches.involuntary",
    ] {
        assert_eq!(
            t.metrics[m].samples.len(),
            memgate::gate::MEASURED_SPREAD_RUNS,
            "{m}"
        );
    }
    assert_eq!(
        raw["workloads"][0]["metrics"]["process.rss.peak"]["unit"],
        "bytes"
    );
    assert_eq!(
        raw["workloads"][0]["metrics"]["process.wall"]["unit"],
        "seconds"
    );
    assert!(raw["workloads"][0]["metrics"]["process.rss.peak"]["samples"][0].is_u64());
    let tl = t.runs[3].timeline.as_ref().expect("timeline");
    assert!(
        tl.t_us.len() >= 5,
        "60 ms at 5 ms gives several samples, got {}",
        tl.t_us.len()
    );
    assert!(tl.rss_bytes.iter().any(|&b| b > 16 << 20));
    assert_eq!(t.tags["profile"], "release");
    assert_eq!(t.tags["allocator"], "jemalloc");
    assert_eq!(t.tags["team"], "memory");
    let expected = std::process::Command::new("sha256sum")
        .arg(&toucher)
        .output()
        .unwrap();
    let expected = String::from_utf8_lossy(&expected.stdout);
    assert_eq!(
        t.binary_sha256.as_deref(),
        expected.split_whitespace().next()
    );

    let g = &r.workloads[1];
    assert_eq!(g.tags["GOGC"], "50");
    assert!(
        g.runs.iter().all(|r| r.timeline.is_none()),
        "sample_interval 0 turns the timeline off"
    );
}

/// Wall time is measured from spawn to reaping.
#[test]
fn wall_time_matches_the_workload() {
    let dir = Dir::new();
    dir.create(
        "memgate.yaml",
        "version: 1\nworkloads:\n  - {name: s, lang: other, run: sleep 0.2, repetitions: 2, warmup: 0}\n",
    );
    dir.memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .success();
    for w in samples(&dir.results("r.json"), "s", "process.wall") {
        assert!((0.2..0.35).contains(&w), "wall {w}");
    }
}

/// `-w` selects workloads and `-n` overrides repetitions; an unknown name
/// is a config error with a suggestion.
#[test]
fn select_and_override_repetitions() {
    let dir = Dir::new();
    dir.create(
        "memgate.yaml",
        "version: 1\ndefaults: {warmup: 0}\nworkloads:\n  - {name: alpha, lang: other, run: 'true'}\n  - {name: beta, lang: other, run: 'true'}\n",
    );
    dir.memgate()
        .args(["run", "-w", "beta", "-n", "2", "-o", "r.json"])
        .assert()
        .success();
    let r = dir.results("r.json");
    assert_eq!(r.workloads.len(), 1);
    assert_eq!(samples(&r, "beta", "process.wall").len(), 2);
    dir.memgate()
        .args(["run", "-w", "alpah"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "no workload named `alpah`; the config has `alpha`, `beta`; did you mean `alpha`?",
        ));
}

/// Environment from the config reaches the workload, and argument lists
/// are passed without a shell.
#[test]
fn env_and_arguments_reach_the_workload() {
    let dir = Dir::new();
    dir.create(
        "memgate.yaml",
        "version: 1\ndefaults: {warmup: 0, repetitions: 1, env: {MG_A: from-defaults}}\nworkloads:\n  - name: e\n    lang: other\n    env: {MG_B: 7}\n    run: [sh, -c, 'test \"$MG_A/$MG_B/$1\" = \"from-defaults/7/a b\"', sh, 'a b']\n",
    );
    dir.memgate()
        .args(["run", "-o", "r.json"])
        .assert()
        .success();
}
