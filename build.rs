//! Builds the exec stub (src/runner/exec_stub.rs) that the launcher forks
//! workloads from, so their peak RSS is their own: a static, freestanding
//! x86-64 Linux executable of about 1.5 KiB, compiled with the same `rustc`
//! and linker as memgate. On other targets, or if it cannot be built, the
//! stub is empty and the launcher spawns workloads itself, recording its
//! own memory as the floor below which a peak cannot read.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let source = "src/runner/exec_stub.rs";
    println!("cargo:rerun-if-changed={source}");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let stub = out.join("exec-stub");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux" || var("CARGO_CFG_TARGET_ARCH") != "x86_64" {
        std::fs::write(&stub, b"").expect("write an empty stub to OUT_DIR");
        return;
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let status = Command::new(rustc)
        .args(["--edition", "2024", "--crate-name", "memgate_exec_stub"])
        .args(["--target", &var("TARGET")])
        .args([
            "-C",
            "opt-level=s",
            "-C",
            "panic=abort",
            "-C",
            "debuginfo=0",
        ])
        .args(["-C", "strip=symbols", "-C", "relocation-model=static"])
        .args(["-C", "target-feature=+crt-static"])
        .args(["-C", "link-arg=-nostartfiles", "-C", "link-arg=-nostdlib"])
        .args(["-C", "link-arg=-static"])
        .arg("-o")
        .arg(&stub)
        .arg(source)
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        // A toolchain that cannot link a freestanding program (a cross
        // linker, say) still builds memgate, without the stub.
        println!(
            "cargo:warning=building {source} failed ({status:?}): workloads will be spawned by the launcher, and a short run's peak RSS may read the launcher's memory"
        );
        std::fs::write(&stub, b"").expect("write an empty stub to OUT_DIR");
    }
}
