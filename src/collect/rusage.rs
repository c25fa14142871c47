//! The collector every run gets: wait4's rusage and the wall clock, read
//! from the launcher's report. It needs no cooperation from the workload.

use super::launch_report::LaunchReport;
use super::{Collect, CollectError, Collected, RunArtifacts, Sample};
use crate::metrics::{self, MetricDef};
use crate::results::Value;

/// How far above the launcher's measured VmHWM its mm may have grown by the
/// time the workload was spawned (argument vectors, the spawn itself).
pub const FLOOR_SLACK_BYTES: u64 = 256 * 1024;

/// The workload's peak RSS in bytes.
///
/// wait4's `ru_maxrss` (KiB on Linux) is `max(the floor, the workload's
/// own peak)`. Forked from the exec stub the floor is zero (see
/// runner::start) and `ru_maxrss` is the peak. Spawned by the launcher it
/// is the launcher's RSS at the spawn: above it `ru_maxrss` is the
/// workload's exact peak; at it the true peak is somewhere below, and the
/// highest VmHWM the sampler saw while the workload ran is the better
/// figure, when there is one.
pub fn peak_rss(report: &LaunchReport) -> u64 {
    let maxrss = report.rusage.map_or(0, |r| r.maxrss_kib * 1024);
    let floor = report.rss_floor_bytes;
    match report.hwm_sampled_bytes {
        Some(hwm) if floor > 0 && maxrss <= floor + FLOOR_SLACK_BYTES && hwm <= maxrss => hwm,
        _ => maxrss,
    }
}

/// Reads process.* metrics from the launcher's wait4 rusage.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rusage;

impl Collect for Rusage {
    fn name(&self) -> &'static str {
        "rusage"
    }

    fn collect(&self, run: &RunArtifacts<'_>) -> Result<Collected, CollectError> {
        let ru = run.report.rusage.ok_or_else(|| CollectError {
            collector: "rusage",
            message: "the launcher reported no rusage for this run".into(),
        })?;
        let int = |metric: &'static MetricDef, v: u64| Sample {
            metric,
            source: "wait4",
            value: Value::Int(v),
        };
        let secs = |metric: &'static MetricDef, source: &'static str, micros: f64| Sample {
            metric,
            source,
            value: Value::Float(micros / 1e6),
        };
        let samples = vec![
            int(&metrics::RSS_PEAK, peak_rss(run.report)),
            secs(&metrics::CPU_USER, "wait4", ru.utime_us as f64),
            secs(&metrics::CPU_SYSTEM, "wait4", ru.stime_us as f64),
            secs(&metrics::WALL, "clock", run.report.wall_ns as f64 / 1e3),
            int(&metrics::FAULTS_MINOR, ru.minflt),
            int(&metrics::FAULTS_MAJOR, ru.majflt),
            int(&metrics::CTX_VOLUNTARY, ru.nvcsw),
            int(&metrics::CTX_INVOLUNTARY, ru.nivcsw),
        ];
        Ok(Collected {
            samples,
            warnings: Vec::new(),
            notes: Vec::new(),
            sites: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::launch_report::{End, Rusage as Ru};

    fn report(maxrss_kib: u64, floor: u64, hwm: Option<u64>) -> LaunchReport {
        LaunchReport {
            pid: None,
            rss_floor_bytes: floor,
            wall_ns: 1,
            end: End::Exited { code: 0 },
            rusage: Some(Ru {
                maxrss_kib,
                utime_us: 0,
                stime_us: 0,
                minflt: 0,
                majflt: 0,
                nvcsw: 0,
                nivcsw: 0,
            }),
            hwm_sampled_bytes: hwm,
            t_us: vec![],
            rss_bytes: vec![],
            escaped: vec![],
        }
    }

    #[test]
    fn peak_above_the_floor_is_wait4s() {
        assert_eq!(
            peak_rss(&report(200 * 1024, 2 << 20, Some(150 << 20))),
            200 << 20
        );
    }

    #[test]
    fn peak_at_the_floor_is_the_sampled_high_water_mark() {
        assert_eq!(
            peak_rss(&report(2560, 2560 * 1024, Some(1800 * 1024))),
            1800 * 1024
        );
        assert_eq!(peak_rss(&report(2560, 2560 * 1024, None)), 2560 * 1024);
    }

    #[test]
    fn without_a_floor_the_peak_is_wait4s() {
        assert_eq!(peak_rss(&report(100, 0, Some(60 * 1024))), 100 * 1024);
    }
}
