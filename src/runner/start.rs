//! How the launcher starts a workload: forked from the exec stub
//! (src/runner/exec_stub.rs, built by build.rs), so that wait4's peak RSS
//! is the workload's own, or, where no stub is built, spawned directly with
//! the launcher's own memory as the floor below which the peak cannot read.
//!
//! Either way the workload leads a new process group, and the launcher,
//! being a child subreaper, is its parent (the stub exits at once and the
//! kernel hands its orphaned child to the nearest subreaper,
//! PR_SET_CHILD_SUBREAPER in prctl(2)).

use std::ffi::{CString, OsStr, OsString};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

/// The exec stub's executable; empty where build.rs builds none.
const EXEC_STUB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/exec-stub"));

/// The stub's end of the report pipe (its protocol, in exec_stub.rs).
const STUB_REPORT_FD: libc::c_int = 3;

/// A workload that is running: an unreaped child of the launcher.
#[derive(Debug, Clone, Copy)]
pub struct Started {
    /// Its PID, which is also its process group's ID.
    pub pid: libc::pid_t,
    /// Whether it was forked from the stub: then its peak has no floor
    /// from the launcher.
    pub from_stub: bool,
}

/// A workload that could not be started.
#[derive(Debug, thiserror::Error)]
#[error("`{program}`: {source}")]
pub struct StartError {
    /// The program, escaped: a line feed in the command must not start a
    /// line (a workflow command) in a log.
    program: String,
    /// Why: the OS's error, from the spawn or the stub.
    source: std::io::Error,
}

/// Starts `argv` in a new process group.
pub fn start(argv: &[OsString]) -> Result<Started, StartError> {
    let failed = |source: std::io::Error| StartError {
        program: argv[0].to_string_lossy().escape_debug().to_string(),
        source,
    };
    // A stub the system will not run (a memfd where exec is denied, say)
    // leaves the launcher to spawn the workload itself.
    if let Some(Ok(started)) = stub_fd().map(|stub| through_stub(&stub, argv)) {
        return started
            .map(|pid| Started {
                pid,
                from_stub: true,
            })
            .map_err(failed);
    }
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).process_group(0);
    preload_for_workload(&mut cmd);
    let child = cmd.spawn().map_err(failed)?;
    Ok(Started {
        pid: child.id() as libc::pid_t,
        from_stub: false,
    })
}

/// The stub in a memfd, at a descriptor above the ones the stub's
/// protocol and stdio use; `None` where there is no stub or no memfd.
fn stub_fd() -> Option<OwnedFd> {
    if EXEC_STUB.is_empty() {
        return None;
    }
    // SAFETY: a valid NUL-terminated name; the result is checked.
    let fd = unsafe { libc::memfd_create(c"memgate-exec-stub".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // SAFETY: memfd_create returned a new descriptor that nothing else owns.
    let memfd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: F_DUPFD_CLOEXEC duplicates to the lowest free descriptor >= 10.
    let high = unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    if high < 0 {
        return None;
    }
    // SAFETY: as above, a new descriptor owned here.
    let high = unsafe { OwnedFd::from_raw_fd(high) };
    let mut file = std::fs::File::from(high);
    std::io::Write::write_all(&mut file, EXEC_STUB).ok()?;
    Some(file.into())
}

/// Runs the stub with `argv`; returns the workload's PID once the stub is
/// reaped and the workload has been handed to the launcher, or why the
/// workload did not start. The outer error: the stub itself did not run.
fn through_stub(
    stub: &OwnedFd,
    argv: &[OsString],
) -> std::io::Result<std::io::Result<libc::pid_t>> {
    let program = match resolve(&argv[0]) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let mut fds = [0; 2];
    // SAFETY: fds has room for two descriptors; the result is checked.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: pipe2 returned two new descriptors owned here.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let write_fd = write.as_raw_fd();
    let mut cmd = Command::new(format!("/proc/self/fd/{}", stub.as_raw_fd()));
    cmd.arg(program).args(argv).process_group(0);
    // The stub, a static program, ignores LD_PRELOAD; it execs the
    // workload with its environment.
    preload_for_workload(&mut cmd);
    // SAFETY: dup2 and fcntl are async-signal-safe, as a hook between fork
    // and exec requires.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 clears close-on-exec on the copy, but does nothing
            // when the descriptor already is 3.
            let r = if write_fd == STUB_REPORT_FD {
                libc::fcntl(STUB_REPORT_FD, libc::F_SETFD, 0)
            } else {
                libc::dup2(write_fd, STUB_REPORT_FD)
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // Only here may the launcher fall back: the stub did not run.
    let mut child = cmd.spawn()?;
    drop(write);
    // The stub writes the PID, the child a negated errno if its exec
    // failed: at most two 4-byte values before both ends are closed. From
    // here a failure is the workload's, never a reason to start it again.
    let mut bytes = Vec::new();
    let read = std::fs::File::from(read).take(64).read_to_end(&mut bytes);
    let stub_status = match child.wait() {
        Ok(status) => status,
        Err(e) => return Ok(Err(e)),
    };
    if let Err(e) = read {
        return Ok(Err(e));
    }
    let values: Vec<i32> = bytes
        .chunks_exact(4)
        .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let pid = values.iter().copied().find(|&v| v > 0);
    let errno = values.iter().copied().find(|&v| v < 0).map(|v| -v);
    Ok(match (pid, errno) {
        (Some(pid), None) => Ok(pid),
        (Some(pid), Some(errno)) => {
            reap(pid);
            Err(std::io::Error::from_raw_os_error(errno))
        }
        (None, Some(errno)) => Err(std::io::Error::other(format!(
            "cannot fork: {}",
            std::io::Error::from_raw_os_error(errno)
        ))),
        (None, None) => Err(std::io::Error::other(format!(
            "memgate's exec stub reported no process ({stub_status})"
        ))),
    })
}

/// Gives the workload the preload meant for it alone (see
/// [`crate::collect::malloc::PRELOAD_ENV`]).
fn preload_for_workload(cmd: &mut Command) {
    use crate::collect::malloc::PRELOAD_ENV;
    if let Some(preload) = std::env::var_os(PRELOAD_ENV) {
        cmd.env("LD_PRELOAD", preload).env_remove(PRELOAD_ENV);
    }
}

/// Reaps a child whose exec failed.
fn reap(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: waits for our own child; the status pointer is valid.
    while unsafe { libc::waitpid(pid, &mut status, 0) } == -1
        && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
    {}
}

/// The file execvp(3) would run for `program`: itself when it holds a
/// slash, else the first executable regular file of that name along PATH
/// (an empty entry is the working directory; without PATH, glibc's
/// default `/bin:/usr/bin`).
fn resolve(program: &OsStr) -> std::io::Result<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    std::env::split_paths(&path)
        .map(|dir| {
            if dir.as_os_str().is_empty() {
                PathBuf::from(".").join(program)
            } else {
                dir.join(program)
            }
        })
        .find(|candidate| executable(candidate))
        .ok_or_else(|| std::io::Error::from_raw_os_error(libc::ENOENT))
}

/// Whether `path` is a regular file this process may execute.
fn executable(path: &std::path::Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path.
    path.is_file() && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_resolve_as_execvp_would() {
        assert_eq!(resolve(OsStr::new("./x")).unwrap(), PathBuf::from("./x"));
        let sh = resolve(OsStr::new("sh")).unwrap();
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{sh:?}");
        let missing = resolve(OsStr::new("memgate-no-such-program")).unwrap_err();
        assert_eq!(missing.raw_os_error(), Some(libc::ENOENT));
    }

    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    #[test]
    fn the_stub_is_built_and_reports_a_failed_exec() {
        assert!(EXEC_STUB.len() > 64 && EXEC_STUB.starts_with(b"\x7fELF"));
        let argv = [OsString::from("/nonexistent/memgate-test")];
        let e = start(&argv).unwrap_err().to_string();
        assert!(e.contains("No such file or directory"), "{e}");
    }
}
