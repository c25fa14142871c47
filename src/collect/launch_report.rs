//! The launcher's report: how one workload process ended, its wait4
//! resource usage and its sampled RSS timeline, written by `memgate
//! __launch` (the runner's side) and read by the collectors. It is the
//! data contract between the two, so it lives with its readers and the
//! collectors never import the runner.

use serde::{Deserialize, Serialize};

/// What the launcher tells memgate about one finished process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchReport {
    /// The workload's PID (its process group's ID), once started.
    #[serde(default)]
    pub pid: Option<i32>,
    /// The launcher's VmHWM after the workload was reaped (an upper bound
    /// of its RSS at the spawn), bytes.
    pub rss_floor_bytes: u64,
    /// Spawn to reap, nanoseconds.
    pub wall_ns: u64,
    /// How the process ended.
    pub end: End,
    /// Resource usage of the reaped process, from wait4.
    pub rusage: Option<Rusage>,
    /// Highest VmHWM seen while sampling, bytes.
    pub hwm_sampled_bytes: Option<u64>,
    /// Sample times, microseconds since spawn.
    pub t_us: Vec<u64>,
    /// VmRSS per sample, bytes.
    pub rss_bytes: Vec<u64>,
    /// Processes the workload left running outside its process group,
    /// which the launcher ended (`pid 123 (command)`).
    #[serde(default)]
    pub escaped: Vec<String>,
}

/// How a launched process ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum End {
    /// Exited by itself.
    Exited {
        /// Exit status.
        code: i32,
    },
    /// Killed by a signal nobody here sent.
    Signaled {
        /// Signal number.
        signal: i32,
    },
    /// Ended by the launcher after the timeout.
    TimedOut,
    /// Ended by the launcher because memgate was interrupted.
    Interrupted,
    /// Never started.
    SpawnFailed {
        /// The OS error, with the program's name.
        message: String,
    },
}

/// The wait4 fields memgate records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rusage {
    /// `ru_maxrss`, KiB on Linux.
    pub maxrss_kib: u64,
    /// User CPU, microseconds.
    pub utime_us: u64,
    /// System CPU, microseconds.
    pub stime_us: u64,
    /// Minor faults.
    pub minflt: u64,
    /// Major faults.
    pub majflt: u64,
    /// Voluntary context switches.
    pub nvcsw: u64,
    /// Involuntary context switches.
    pub nivcsw: u64,
}
