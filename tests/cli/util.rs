//! Test harness: the real `memgate` binary in a fresh temporary directory,
//! and the real Rust workloads built once per test process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The memgate binary under test.
pub fn memgate_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_memgate"))
}

/// A scratch directory with a memgate command that runs inside it.
pub struct Dir {
    /// Deleted on drop.
    pub tmp: tempfile::TempDir,
}

impl Dir {
    /// A new empty directory.
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes `contents` to `name` inside the directory.
    pub fn create(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// `memgate` with this directory as its working directory.
    pub fn memgate(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(memgate_exe());
        c.current_dir(self.path());
        c.env_remove("MEMGATE_CONFIG");
        c
    }

    /// Saves the last run's results (`.memgate/results.json`) as the
    /// baseline, asserting that memgate accepts them.
    pub fn save_baseline(&self) {
        self.memgate()
            .args(["baseline", "save", ".memgate/results.json"])
            .assert()
            .success();
    }

    /// Reads a results file written in this directory.
    pub fn results(&self, name: &str) -> memgate::results::Results {
        memgate::results::Results::read(&self.path().join(name)).expect("results parse")
    }
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds workloads/rust in release mode once; returns the path of `bin`.
pub fn rust_workload(bin: &str) -> PathBuf {
    rust_variant(None).join(bin)
}

/// Builds workloads/rust with one cargo feature (`jemalloc`, `mimalloc`,
/// `dhat-heap`) or none, once per test process, each in a target directory
/// of its own; returns the directory holding the binaries.
pub fn rust_variant(feature: Option<&str>) -> PathBuf {
    static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let key = feature.unwrap_or("default").to_owned();
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(dir) = built.get(&key) {
        return dir.clone();
    }
    let root = repo_root().join("workloads/rust");
    let (target, out) = match feature {
        None => ("target".to_owned(), root.join("target/release")),
        Some(f) => (
            format!("target/{f}"),
            root.join(format!("target/{f}/release")),
        ),
    };
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args([
        "build",
        "--release",
        "--locked",
        "--bins",
        "--target-dir",
        &target,
    ])
    .current_dir(&root);
    if let Some(f) = feature {
        cmd.args(["--features", f]);
    }
    let status = cmd.status().expect("cargo build of workloads/rust");
    assert!(status.success(), "building workloads/rust ({key}) failed");
    built.insert(key, out.clone());
    out
}

/// The first sample series of `metric` for `workload`, as floats.
pub fn samples(r: &memgate::results::Results, workload: &str, metric: &str) -> Vec<f64> {
    let w = r
        .workloads
        .iter()
        .find(|w| w.name == workload)
        .unwrap_or_else(|| panic!("no workload {workload}"));
    w.metrics
        .get(metric)
        .unwrap_or_else(|| panic!("no metric {metric} for {workload}"))
        .samples
        .iter()
        .map(|v| v.as_f64())
        .collect()
}

/// Whether a process is still alive (not gone and not a zombie).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Waits up to `secs` for `pid` to be gone.
pub fn wait_gone(pid: i32, secs: u64) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    !alive(pid)
}

/// Builds every Go workload once; returns the directory holding the binaries.
pub fn go_workloads() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = repo_root().join("workloads/go");
            let out = root.join("bin");
            let status = Command::new("go")
                .args(["build", "-o"])
                .arg(format!("{}/", out.display()))
                .arg("./cmd/...")
                .current_dir(&root)
                .status()
                .expect("go build of workloads/go (is Go installed?)");
            assert!(status.success(), "building workloads/go failed");
            out
        })
        .clone()
}

/// The median of some samples.
pub fn median(xs: &[f64]) -> f64 {
    memgate::stats::median(xs)
}

/// A CPU-bound neighbour (`sh -c 'while :; do :; done'`), started on
/// creation and ended by its PID on drop, panicking tests included.
pub struct Neighbour {
    child: std::process::Child,
}

impl Neighbour {
    /// Starts one.
    pub fn start() -> Neighbour {
        let child = Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("sh");
        Neighbour { child }
    }
}

impl Drop for Neighbour {
    fn drop(&mut self) {
        // SAFETY: kill only sends a signal to our own unreaped child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}
