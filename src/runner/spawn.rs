//! memgate's side of a launch: start `memgate __launch` for one command,
//! wait for it, and read its report; forward Ctrl-C and SIGTERM to it.
//!
//! The workload's stdout and stderr go to files in a scratch directory, so
//! nothing a workload prints can block memgate and collectors can read the
//! streams after the run.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::launch::{LAUNCH_SUBCOMMAND, LaunchSpec};
use super::{LauncherProblem, RunError};
use crate::collect::launch_report::LaunchReport;
use crate::interrupt::interrupted;

/// Installs the handler that turns Ctrl-C and SIGTERM into "stop after the
/// current launch, which ends its workload's group" (see
/// [`crate::interrupt`]). Idempotent.
pub fn install_interrupt_handler() -> Result<(), RunError> {
    crate::interrupt::install().map_err(|source| RunError::Signals { source })
}

/// One command to launch.
#[derive(Debug, Clone)]
pub struct LaunchRequest<'a> {
    /// The program and its arguments.
    pub argv: &'a [String],
    /// Working directory.
    pub dir: &'a Path,
    /// Variables added to memgate's own environment.
    pub env: &'a BTreeMap<String, String>,
    /// Time limit.
    pub timeout: Duration,
    /// SIGTERM to SIGKILL delay.
    pub grace: Duration,
    /// RSS sampling interval; zero is off.
    pub interval: Duration,
}

/// A finished launch: the report and where the streams went.
#[derive(Debug)]
pub struct Launched {
    /// The launcher's report.
    pub report: LaunchReport,
    /// The workload's stdout.
    pub stdout: PathBuf,
    /// The workload's stderr.
    pub stderr: PathBuf,
}

/// Runs one command through the launcher at `launcher`, with its output in
/// `scratch/<stem>.stdout|.stderr`.
/// (Kept whole: the launcher's PID is published for the signal thread
/// between spawn and wait, and the window must stay visible in one place.)
pub fn launch(
    launcher: &Path,
    req: &LaunchRequest<'_>,
    scratch: &Path,
    stem: &str,
) -> Result<Launched, RunError> {
    if interrupted() {
        return Err(RunError::Interrupted);
    }
    let io = |path: &Path| {
        File::create(path).map_err(|source| RunError::Scratch {
            path: path.to_owned(),
            source,
        })
    };
    let stdout = scratch.join(format!("{stem}.stdout"));
    let stderr = scratch.join(format!("{stem}.stderr"));
    let report_path = scratch.join(format!("{stem}.launch.json"));
    let spec = LaunchSpec {
        report: report_path.clone(),
        timeout: req.timeout,
        grace: req.grace,
        interval: req.interval,
        parent: std::process::id() as libc::pid_t,
        argv: req.argv.iter().map(OsString::from).collect(),
    };
    let mut child = Command::new(launcher)
        .arg(LAUNCH_SUBCOMMAND)
        .args(spec.to_args())
        .current_dir(req.dir)
        .envs(req.env)
        .stdin(Stdio::null())
        .stdout(io(&stdout)?)
        .stderr(io(&stderr)?)
        .spawn()
        .map_err(|source| RunError::Launcher {
            launcher: launcher.to_owned(),
            problem: LauncherProblem::Spawn(source),
        })?;
    let pid = child.id() as libc::pid_t;
    crate::interrupt::children().push(pid);
    // A signal that arrived between the check above and the store would have
    // found no launcher to forward to; forward it now.
    if interrupted() {
        // SAFETY: kill only sends a signal; the child is not reaped yet.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
    // Exited, not reaped: clear the slot while the PID is still ours, then reap.
    let exited = super::reap::wait_exited(pid);
    crate::interrupt::children().retain(|&p| p != pid);
    let status = exited.and_then(|()| child.wait());
    let status = status.map_err(|source| RunError::Launcher {
        launcher: launcher.to_owned(),
        problem: LauncherProblem::Wait(source),
    })?;
    if interrupted() {
        return Err(RunError::Interrupted);
    }
    if !status.success() {
        return Err(RunError::Launcher {
            launcher: launcher.to_owned(),
            problem: LauncherProblem::Failed {
                status,
                stderr_tail: tail(&stderr, 5),
            },
        });
    }
    let text = std::fs::read(&report_path).map_err(|source| RunError::Scratch {
        path: report_path.clone(),
        source,
    })?;
    let report = serde_json::from_slice(&text).map_err(|source| RunError::Launcher {
        launcher: launcher.to_owned(),
        problem: LauncherProblem::Report {
            path: report_path.clone(),
            source,
        },
    })?;
    Ok(Launched {
        report,
        stdout,
        stderr,
    })
}

/// Most bytes of a stream a tail reads: a workload's stderr can be one
/// 200 MB line, and the tail goes into the results file.
pub const TAIL_BYTES: u64 = 4096;
/// Most characters of one line of a tail.
pub const TAIL_LINE_CHARS: usize = 300;

/// A workload's line as memgate shows it: its last [`TAIL_LINE_CHARS`]
/// characters, `[...]` saying what was cut.
pub fn clip(line: &str) -> String {
    let chars = line.chars().count();
    if chars <= TAIL_LINE_CHARS {
        return line.to_owned();
    }
    let kept: String = line.chars().skip(chars - TAIL_LINE_CHARS).collect();
    format!("[...] {kept}")
}

/// The last `lines` lines of a text file, from at most its last
/// [`TAIL_BYTES`] bytes, each cut to [`TAIL_LINE_CHARS`] characters (a cut
/// says so), lossily decoded; empty if unreadable.
pub fn tail(path: &Path, lines: usize) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(TAIL_BYTES);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err()
        || file.take(TAIL_BYTES).read_to_end(&mut bytes).is_err()
    {
        return String::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .enumerate()
        .map(|(i, line)| {
            // The first line of a window that starts mid-file is cut too.
            let clipped = clip(line);
            if i == 0 && start > 0 && all.len() <= lines && clipped.len() == line.len() {
                format!("[...] {clipped}")
            } else {
                clipped
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
