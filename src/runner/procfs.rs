//! Reading a live process's memory from `/proc/PID/status`.
//!
//! `VmRSS` is the current resident set, `VmHWM` the peak of the current
//! address space (it starts fresh at exec). Both vanish once the process has
//! exited (a zombie's `/proc/PID/status` has no `Vm*` lines), so they must
//! be read while it runs (proc(5), `/proc/pid/status`).

/// Resident memory of a live process, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemStatus {
    /// Current resident set (`VmRSS`).
    pub rss: u64,
    /// Peak resident set of this address space (`VmHWM`).
    pub hwm: u64,
}

/// Reads `VmRSS` and `VmHWM` of `pid` (`"self"` for the caller); `None` when
/// the process is gone, is a zombie, or the platform has no procfs.
pub fn mem_status(pid: &str) -> Option<MemStatus> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status(&text)
}

/// Extracts the two fields from the text of a status file.
pub fn parse_status(text: &str) -> Option<MemStatus> {
    let kib = |key: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(key))?;
        line[key.len()..].split_whitespace().next()?.parse().ok()
    };
    Some(MemStatus {
        rss: kib("VmRSS:")? * 1024,
        hwm: kib("VmHWM:")? * 1024,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_lines() {
        let text = "Name:\tsleep\nVmPeak:\t 8000 kB\nVmHWM:\t    1800 kB\nVmRSS:\t    1700 kB\n";
        assert_eq!(
            parse_status(text),
            Some(MemStatus {
                rss: 1700 * 1024,
                hwm: 1800 * 1024
            })
        );
        assert_eq!(parse_status("Name:\tzombie\nState:\tZ (zombie)\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_own_status() {
        let s = mem_status("self").unwrap();
        assert!(s.rss > 0 && s.hwm >= s.rss);
    }
}
