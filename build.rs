//! Builds the two programs memgate carries inside its own binary, with the
//! same `rustc` and linker as memgate:
//! - the exec stub (src/runner/exec_stub.rs) that the launcher forks
//!   workloads from, so their peak RSS is their own: a static, freestanding
//!   x86-64 Linux executable of about 1.5 KiB;
//! - the malloc counter (src/collect/malloc_preload.rs), the shared
//!   library `collect: [malloc]` preloads to count a program's allocations
//!   with no change to its code.
//!
//! On other targets, or if one cannot be built, it is carried empty: the
//! launcher then spawns workloads itself (recording its own memory as the
//! floor below which a peak cannot read), and the malloc collector says it
//! is not available.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rustc-env=MEMGATE_COMMIT={}", commit());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let supported =
        var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ARCH") == "x86_64";
    let target = var("TARGET");
    build(
        "src/runner/exec_stub.rs",
        &out.join("exec-stub"),
        supported,
        &[
            "--crate-name",
            "memgate_exec_stub",
            "--target",
            &target,
            "-C",
            "opt-level=s",
            "-C",
            "panic=abort",
            "-C",
            "debuginfo=0",
            "-C",
            "strip=symbols",
            "-C",
            "relocation-model=static",
            "-C",
            "target-feature=+crt-static",
            "-C",
            "link-arg=-nostartfiles",
            "-C",
            "link-arg=-nostdlib",
            "-C",
            "link-arg=-static",
        ],
        "workloads will be spawned by the launcher, and a short run's peak RSS may read the launcher's memory",
    );
    // glibc's `__libc_*` entry points, which the counter calls, are glibc's.
    build(
        "src/collect/malloc_preload.rs",
        &out.join("libmemgate_malloc.so"),
        supported && var("CARGO_CFG_TARGET_ENV") == "gnu",
        &[
            "--crate-name",
            "memgate_malloc",
            "--crate-type",
            "cdylib",
            "--target",
            &target,
            "-C",
            "opt-level=3",
            "-C",
            "panic=abort",
            "-C",
            "debuginfo=0",
            "-C",
            "strip=symbols",
        ],
        "`collect: [malloc]` will not be available",
    );
}

/// Compiles `source` to `output` with `args`, or writes `output` empty
/// when the target is not `supported` or the compiler fails.
fn build(source: &str, output: &Path, supported: bool, args: &[&str], without: &str) {
    println!("cargo:rerun-if-changed={source}");
    if !supported {
        std::fs::write(output, b"").expect("write an empty file to OUT_DIR");
        return;
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let status = Command::new(rustc)
        .args(["--edition", "2024"])
        .args(args)
        .arg("-o")
        .arg(output)
        .arg(source)
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        // A toolchain that cannot link it (a cross linker, say) still
        // builds memgate, without it.
        println!("cargo:warning=building {source} failed ({status:?}): {without}");
        std::fs::write(output, b"").expect("write an empty file to OUT_DIR");
    }
}

/// The commit memgate is built from, which `memgate init` pins the action
/// to: from a crates.io package, the `git.sha1` cargo records in
/// `.cargo_vcs_info.json` when it packages; from a git checkout, its HEAD;
/// otherwise empty (init then asks for `--action OWNER/REPO@SHA`).
fn commit() -> String {
    let is_sha = |s: &str| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if let Ok(text) = std::fs::read_to_string(".cargo_vcs_info.json") {
        // {"git": {"sha1": "<40 hex>"}, ...}: the one 40-hex value after "sha1".
        let sha = text
            .split_once("\"sha1\"")
            .and_then(|(_, rest)| rest.split('"').nth(1))
            .unwrap_or_default();
        return if is_sha(sha) {
            sha.to_owned()
        } else {
            String::new()
        };
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    // Rebuilt when HEAD moves: the file HEAD names (a branch's ref) and
    // the packed refs, where a branch's commit can also be.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/packed-refs");
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{head}");
        }
    }
    git(&["rev-parse", "HEAD"])
        .filter(|s| is_sha(s))
        .unwrap_or_default()
}
