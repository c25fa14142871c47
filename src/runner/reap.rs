//! Waiting for a child to exit without reaping it. While a child is a
//! zombie its PID, and so the process group it leads, cannot be given to
//! another process (waitid(2) with `WNOWAIT` leaves the child waitable), so
//! signals sent between the exit and the reap cannot reach a stranger.

/// Blocks until child `pid` has exited, leaving it a zombie to be reaped.
pub fn wait_exited(pid: libc::pid_t) -> std::io::Result<()> {
    loop {
        // SAFETY: siginfo_t is plain old data; zeroed is a valid value, and
        // the pointer is valid for the duration of the call.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}
