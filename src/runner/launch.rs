//! The launcher: a small process between memgate and each workload, so the
//! workload's peak RSS is its own and not memgate's.
//!
//! On Linux, `wait4`'s `ru_maxrss` survives exec and is floored at the
//! spawner's resident memory when the child was made (getrusage(2): "resource
//! usage metrics are preserved across an execve(2)"; the kernel folds the
//! old address space's high-water mark into the new one at exec): a
//! `sleep` spawned by a 300 MiB parent reports 300 MiB. memgate therefore
//! never spawns a workload itself. It starts `memgate __launch`, and the
//! launcher starts the workload in a process group of its own, forked from
//! the exec stub so that no launcher memory is in its peak (see
//! `runner::start`), samples `/proc/PID/status` while it runs (`VmHWM`
//! vanishes at exit, proc(5)), enforces the timeout (SIGTERM to the group,
//! SIGKILL after the grace period), reaps it with `wait4`, ends any
//! stragglers in the group and any escapee outside it (see
//! `runner::escapees`), and writes a [`LaunchReport`]. Where there is no
//! stub the launcher spawns the workload itself, and its own peak (its
//! VmHWM after the workload is reaped, which bounds its RSS at the spawn)
//! is recorded as the floor below which `ru_maxrss` cannot read.
//!
//! If memgate dies, `PR_SET_PDEATHSIG` delivers SIGTERM to the launcher,
//! which ends the workload's group: no orphans. (The request is checked,
//! and so is the parent: one that died before it took effect sends
//! nothing, so the launcher then runs nothing.) The group is signalled only
//! while its leader is unreaped, so a reused PID is never hit.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{procfs, reap};
use crate::collect::launch_report::{End, LaunchReport, Rusage};

/// The hidden subcommand that runs the launcher.
pub const LAUNCH_SUBCOMMAND: &str = "__launch";

/// Longest time the monitor sleeps, so signals and timeouts are acted on
/// within this bound even with sampling off.
const MONITOR_TICK: Duration = Duration::from_millis(10);

/// The launcher's arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchSpec {
    /// Where to write the report.
    pub report: PathBuf,
    /// Time limit; the group is ended after it.
    pub timeout: Duration,
    /// SIGTERM to SIGKILL delay.
    pub grace: Duration,
    /// RSS sampling interval; zero is off.
    pub interval: Duration,
    /// memgate's PID: the launcher's parent, checked after the launcher
    /// asks to be signalled when its parent dies.
    pub parent: libc::pid_t,
    /// The command to run.
    pub argv: Vec<OsString>,
}

impl LaunchSpec {
    /// The arguments after the subcommand, as memgate passes them.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "--report".into(),
            self.report.clone().into(),
            "--timeout-us".into(),
            self.timeout.as_micros().to_string().into(),
            "--grace-us".into(),
            self.grace.as_micros().to_string().into(),
            "--interval-us".into(),
            self.interval.as_micros().to_string().into(),
            "--parent".into(),
            self.parent.to_string().into(),
            "--".into(),
        ];
        args.extend(self.argv.iter().cloned());
        args
    }

    /// Parses what [`LaunchSpec::to_args`] wrote.
    pub fn from_args(args: &[OsString]) -> Result<LaunchSpec, LaunchArgsError> {
        let mut report = None;
        let (mut timeout, mut grace, mut interval, mut parent) = (None, None, None, None);
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if flag == "--" {
                break;
            }
            let name = || flag.to_string_lossy().into_owned();
            let value = it.next().ok_or_else(|| LaunchArgsError::NoValue(name()))?;
            let micros = || {
                value
                    .to_str()
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(Duration::from_micros)
                    .ok_or_else(|| LaunchArgsError::BadValue(name()))
            };
            match flag.to_str() {
                Some("--report") => report = Some(PathBuf::from(value)),
                Some("--timeout-us") => timeout = Some(micros()?),
                Some("--grace-us") => grace = Some(micros()?),
                Some("--interval-us") => interval = Some(micros()?),
                Some("--parent") => {
                    parent = Some(
                        value
                            .to_str()
                            .and_then(|v| v.parse::<libc::pid_t>().ok())
                            .ok_or_else(|| LaunchArgsError::BadValue(name()))?,
                    )
                }
                _ => return Err(LaunchArgsError::Unknown(name())),
            }
        }
        let argv: Vec<OsString> = it.cloned().collect();
        if argv.is_empty() {
            return Err(LaunchArgsError::NoCommand);
        }
        let required = LaunchArgsError::Missing;
        Ok(LaunchSpec {
            report: report.ok_or(required("--report"))?,
            timeout: timeout.ok_or(required("--timeout-us"))?,
            grace: grace.ok_or(required("--grace-us"))?,
            interval: interval.ok_or(required("--interval-us"))?,
            parent: parent.ok_or(required("--parent"))?,
            argv,
        })
    }
}

/// Launcher arguments that memgate did not write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchArgsError {
    /// A flag at the end, with no value.
    #[error("{0} needs a value")]
    NoValue(String),
    /// A value that is not a whole number (microseconds, a PID).
    #[error("bad value for {0}: expected a whole number")]
    BadValue(String),
    /// A flag the launcher does not know.
    #[error("unknown launcher flag {0}")]
    Unknown(String),
    /// A required flag that is absent.
    #[error("{0} is required")]
    Missing(&'static str),
    /// Nothing to run after `--`.
    #[error("no command after --")]
    NoCommand,
}

/// Entry point of `memgate __launch`; returns the launcher's exit code
/// (0 when the report was written, whatever the workload did).
pub fn launcher_main(args: &[OsString]) -> i32 {
    let spec = match LaunchSpec::from_args(args) {
        Ok(s) => s,
        Err(e) => {
            crate::say!("memgate launcher: {e}");
            return 2;
        }
    };
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number and has no
    // memory effects.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) } != 0 {
        crate::say!(
            "memgate launcher: cannot ask for SIGTERM when memgate dies: {}",
            std::io::Error::last_os_error()
        );
        return 2;
    }
    // memgate may have died before the request took effect; then no signal
    // will come, and the launcher must not run a workload nobody waits for.
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } != spec.parent {
        crate::say!("memgate launcher: memgate (pid {}) is gone", spec.parent);
        return 2;
    }
    // Descendants the workload orphans come to the launcher, not to init,
    // so none can outlive the run unseen (see runner::escapees).
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes a flag.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) } != 0 {
        crate::say!(
            "memgate launcher: cannot become a child subreaper: {}",
            std::io::Error::last_os_error()
        );
        return 2;
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&stop)) {
            crate::say!("memgate launcher: cannot handle signal {sig}: {e}");
            return 2;
        }
    }
    let report = match supervise(&spec, &stop) {
        Ok(r) => r,
        Err(e) => {
            crate::say!("memgate launcher: {e}");
            return 2;
        }
    };
    let json = match serde_json::to_vec(&report) {
        Ok(j) => j,
        Err(e) => {
            crate::say!("memgate launcher: cannot encode the report: {e}");
            return 2;
        }
    };
    if let Err(e) = std::fs::write(&spec.report, json) {
        crate::say!(
            "memgate launcher: cannot write {}: {e}",
            spec.report.display()
        );
        return 2;
    }
    0
}

/// Why the monitor ended the process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Timeout,
    Interrupt,
}

/// What the monitor thread saw.
#[derive(Debug, Default)]
struct Watch {
    ended: Option<Ended>,
    hwm: Option<u64>,
    t_us: Vec<u64>,
    rss: Vec<u64>,
}

fn supervise(spec: &LaunchSpec, stop: &AtomicBool) -> Result<LaunchReport, SuperviseError> {
    let mut report = LaunchReport {
        pid: None,
        rss_floor_bytes: 0,
        wall_ns: 0,
        end: End::Interrupted,
        rusage: None,
        hwm_sampled_bytes: None,
        t_us: Vec::new(),
        rss_bytes: Vec::new(),
        escaped: Vec::new(),
    };
    if stop.load(Ordering::SeqCst) {
        return Ok(report);
    }
    let start = Instant::now();
    let started = match super::start::start(&spec.argv) {
        Ok(s) => s,
        Err(e) => {
            report.end = End::SpawnFailed {
                message: e.to_string(),
            };
            return Ok(report);
        }
    };
    let pid = started.pid;
    report.pid = Some(pid);
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let (exited, watch) = std::thread::scope(|scope| {
        let monitor = scope.spawn(|| monitor(pid, start, spec, stop, done_rx));
        // Exited but not reaped: the group ID stays ours until wait4 below,
        // so the monitor's and this killpg cannot reach a reused PID.
        let exited = reap::wait_exited(pid);
        report.wall_ns = start.elapsed().as_nanos() as u64;
        drop(done_tx);
        (exited, monitor.join())
    });
    let Ok(watch) = watch else {
        return Err(SuperviseError::MonitorPanicked);
    };
    // The leader has exited; end whatever it left behind in its group.
    // SAFETY: killpg only sends a signal.
    unsafe {
        libc::killpg(pid, libc::SIGKILL);
    }
    exited.map_err(SuperviseError::Wait)?;
    let (status, usage) = wait4(pid).map_err(SuperviseError::Wait)?;
    report.rusage = Some(usage);
    report.escaped = super::escapees::end_all();
    // Forked from the stub, the peak holds no launcher memory: no floor.
    // Spawned by the launcher, it inherited the launcher's RSS at the
    // spawn, which the launcher's high-water mark, read now, bounds from
    // above (a high-water mark only grows: no earlier reading is needed).
    if !started.from_stub {
        report.rss_floor_bytes = procfs::mem_status("self").map_or(0, |m| m.hwm);
    }
    report.end = if libc::WIFEXITED(status) {
        End::Exited {
            code: libc::WEXITSTATUS(status),
        }
    } else {
        End::Signaled {
            signal: libc::WTERMSIG(status),
        }
    };
    match watch.ended {
        Some(Ended::Timeout) => report.end = End::TimedOut,
        Some(Ended::Interrupt) => report.end = End::Interrupted,
        None => {}
    }
    report.hwm_sampled_bytes = watch.hwm;
    report.t_us = watch.t_us;
    report.rss_bytes = watch.rss;
    Ok(report)
}

/// Why the launcher could not tell how its workload ended.
#[derive(Debug, thiserror::Error)]
enum SuperviseError {
    /// waitid or wait4 failed.
    #[error("cannot wait for the workload: {0}")]
    Wait(std::io::Error),
    /// The RSS and timeout monitor panicked.
    #[error("the monitor thread panicked")]
    MonitorPanicked,
}

/// Reaps `pid`; returns its wait status and rusage.
fn wait4(pid: libc::pid_t) -> std::io::Result<(libc::c_int, Rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; zeroed is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are valid for the duration of the call.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if r == -1 && e.raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return Err(e);
    }
    let micros = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000 + tv.tv_usec as u64;
    let usage = Rusage {
        maxrss_kib: ru.ru_maxrss as u64,
        utime_us: micros(ru.ru_utime),
        stime_us: micros(ru.ru_stime),
        minflt: ru.ru_minflt as u64,
        majflt: ru.ru_majflt as u64,
        nvcsw: ru.ru_nvcsw as u64,
        nivcsw: ru.ru_nivcsw as u64,
    };
    Ok((status, usage))
}

/// Samples RSS and enforces the timeout and signals until `done` closes.
fn monitor(
    pid: libc::pid_t,
    start: Instant,
    spec: &LaunchSpec,
    stop: &AtomicBool,
    done: mpsc::Receiver<()>,
) -> Watch {
    let mut watch = Watch::default();
    let pid_text = pid.to_string();
    let sampling = !spec.interval.is_zero();
    let tick = if sampling {
        spec.interval.min(MONITOR_TICK)
    } else {
        MONITOR_TICK
    };
    let mut next_sample = Duration::ZERO;
    let mut term_sent_at: Option<Duration> = None;
    let mut kill_sent = false;
    loop {
        let now = start.elapsed();
        if sampling
            && now >= next_sample
            && let Some(m) = procfs::mem_status(&pid_text)
        {
            watch.t_us.push(now.as_micros() as u64);
            watch.rss.push(m.rss);
            watch.hwm = Some(watch.hwm.unwrap_or(0).max(m.hwm));
            next_sample = now + spec.interval;
        }
        match term_sent_at {
            None => {
                let why = if stop.load(Ordering::SeqCst) {
                    Some(Ended::Interrupt)
                } else if now >= spec.timeout {
                    Some(Ended::Timeout)
                } else {
                    None
                };
                if let Some(why) = why {
                    watch.ended = Some(why);
                    term_sent_at = Some(now);
                    // SAFETY: killpg only sends a signal.
                    unsafe {
                        libc::killpg(pid, libc::SIGTERM);
                    }
                }
            }
            Some(at) if !kill_sent && now >= at + spec.grace => {
                kill_sent = true;
                // SAFETY: killpg only sends a signal.
                unsafe {
                    libc::killpg(pid, libc::SIGKILL);
                }
            }
            Some(_) => {}
        }
        match done.recv_timeout(tick) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => return watch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_round_trips_through_args() {
        let spec = LaunchSpec {
            report: "/tmp/r.json".into(),
            timeout: Duration::from_millis(1500),
            grace: Duration::from_secs(3),
            interval: Duration::ZERO,
            parent: 4242,
            argv: vec!["sh".into(), "-c".into(), "echo --report".into()],
        };
        assert_eq!(LaunchSpec::from_args(&spec.to_args()).unwrap(), spec);
        assert!(LaunchSpec::from_args(&["--report".into(), "x".into(), "--".into()]).is_err());
        let mut args = spec.to_args();
        let at = args.iter().position(|a| a == "--parent").unwrap();
        args.remove(at + 1);
        args.remove(at);
        assert_eq!(
            LaunchSpec::from_args(&args),
            Err(LaunchArgsError::Missing("--parent"))
        );
    }
}
