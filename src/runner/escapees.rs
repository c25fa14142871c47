//! Ending what a workload left running outside its process group.
//!
//! A child that calls setsid(2) or setpgid(2) leaves the group the
//! launcher ends, and would outlive the run. The launcher is a child
//! subreaper (PR_SET_CHILD_SUBREAPER, prctl(2)), so every descendant
//! orphaned by the workload's exit is re-parented to it rather than to
//! init. After the workload is reaped, each remaining child is named, sent
//! SIGKILL by PID (an unreaped child's PID cannot be reused, so a stranger
//! is never hit) and reaped; what it had started is re-parented in turn and
//! ended in the next round.

use std::time::{Duration, Instant};

/// How long the launcher keeps ending descendants before it gives up and
/// says so.
const DEADLINE: Duration = Duration::from_secs(5);

/// Most escapees named in a report; the rest are counted.
const MAX_NAMED: usize = 8;

/// Ends the launcher's remaining children and their descendants; returns
/// what was found running, as `pid 123 (cmd)` lines.
pub fn end_all() -> Vec<String> {
    let start = Instant::now();
    let mut seen: Vec<(libc::pid_t, String)> = Vec::new();
    loop {
        reap_ended();
        let alive = children();
        if alive.is_empty() {
            break;
        }
        if start.elapsed() > DEADLINE {
            let mut out = describe(&seen);
            out.push(format!(
                "{} still running after {} s of SIGKILL",
                alive.len(),
                DEADLINE.as_secs()
            ));
            return out;
        }
        for pid in alive {
            if !seen.iter().any(|(p, _)| *p == pid) {
                seen.push((pid, command(pid)));
            }
            // SAFETY: kill only sends a signal, to an unreaped child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    describe(&seen)
}

/// `pid 123 (command)` for each process found, the first [`MAX_NAMED`].
fn describe(pids: &[(libc::pid_t, String)]) -> Vec<String> {
    let mut out: Vec<String> = pids
        .iter()
        .take(MAX_NAMED)
        .map(|(pid, command)| format!("pid {pid} ({})", crate::runner::spawn::clip(command)))
        .collect();
    if pids.len() > MAX_NAMED {
        out.push(format!("{} more", pids.len() - MAX_NAMED));
    }
    out
}

/// Reaps every child that has ended, without blocking.
fn reap_ended() {
    let mut status = 0;
    // SAFETY: waitpid with WNOHANG; the status pointer is valid.
    while unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } > 0 {}
}

/// The launcher's live children: from each thread's
/// `/proc/self/task/TID/children` (proc(5)), or, on a kernel built without
/// it, from every process's parent in `/proc/PID/stat`. Zombies are left
/// out; they are reaped, not ended.
fn children() -> Vec<libc::pid_t> {
    let listed = std::fs::read_dir("/proc/self/task").ok().and_then(|tasks| {
        let mut pids = Vec::new();
        for task in tasks.flatten() {
            let text = std::fs::read_to_string(task.path().join("children")).ok()?;
            pids.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<libc::pid_t>().ok()),
            );
        }
        Some(pids)
    });
    let pids = listed.unwrap_or_else(|| {
        // SAFETY: getpid has no preconditions.
        let me = unsafe { libc::getpid() };
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<libc::pid_t>().ok())
            .filter(|&pid| stat(pid).is_some_and(|(_, ppid)| ppid == me))
            .collect()
    });
    pids.into_iter()
        .filter(|&pid| stat(pid).is_some_and(|(state, _)| !matches!(state, 'Z' | 'X')))
        .collect()
}

/// A process's state letter and parent, from `/proc/PID/stat` (the fields
/// after the command name, which is in parentheses and may hold any byte).
fn stat(pid: libc::pid_t) -> Option<(char, libc::pid_t)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = text.get(text.rfind(')')? + 1..)?.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// A process's command line, arguments joined by spaces.
fn command(pid: libc::pid_t) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let words: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).escape_debug().to_string())
        .collect();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_stat_reads_state_and_parent() {
        // SAFETY: no preconditions.
        let (me, parent) = unsafe { (libc::getpid(), libc::getppid()) };
        let (state, ppid) = stat(me).unwrap();
        assert_eq!(ppid, parent);
        assert!("RS".contains(state), "{state}");
        assert!(command(me).contains("memgate"));
    }
}
