//! What to run: the command line's selection from the config, resolved
//! once into a [`RunPlan`] (workloads with overrides applied, the shard,
//! memgate itself as the launcher) that is passed down unchanged.

use std::path::PathBuf;

use super::{LauncherProblem, Pins, RunError};
use crate::config::{Config, ConfigError, Workload};
use crate::gate::MEASURED_SPREAD_RUNS;
use crate::phase::Phase;
use crate::results::Shard;

/// What a command line selects from the config's workloads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Workload names; empty selects every workload.
    pub workloads: Vec<String>,
    /// Measured repetitions, overriding every workload's (in each phase).
    pub repetitions: Option<u32>,
    /// Warm-up runs, overriding every workload's.
    pub warmup: Option<u32>,
    /// Every N-th selected workload from the K-th.
    pub shard: Option<Shard>,
    /// The results are to become a baseline (or the base of relative
    /// mode): the phase that gives the memory figures is measured at least
    /// [`MEASURED_SPREAD_RUNS`] times (unless `repetitions` says
    /// otherwise), so the gate can read each metric's spread from it.
    pub for_baseline: bool,
}

impl Selection {
    /// The measured runs of `w` (all phases but the footprint, and the
    /// footprint's): `repetitions` when given; for a baseline, at least
    /// [`MEASURED_SPREAD_RUNS`] in the phase that gives the memory figures
    /// (the footprint, else the only one); else the config's.
    fn runs(&self, w: &Workload) -> (u32, u32) {
        let spread = MEASURED_SPREAD_RUNS as u32;
        match self.repetitions {
            Some(n) => (n, n),
            None if self.for_baseline && w.phases.contains(&Phase::Footprint) => {
                (w.repetitions, w.footprint_repetitions.max(spread))
            }
            None if self.for_baseline => (w.repetitions.max(spread), w.footprint_repetitions),
            None => (w.repetitions, w.footprint_repetitions),
        }
    }
}

/// Why a run plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A selected workload the config does not have.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// memgate's own executable, the launcher, cannot be found.
    #[error(transparent)]
    Launcher(RunError),
}

/// What to run, fully resolved: made once from the config and the
/// command line, then passed down unchanged.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// The workloads, settings resolved, in config order.
    pub workloads: Vec<Workload>,
    /// The shard this invocation covers, recorded in the results.
    pub shard: Option<Shard>,
    /// The memgate executable that serves as launcher.
    pub launcher: PathBuf,
    /// The directory whose git state goes into the fingerprint.
    pub repo_dir: PathBuf,
    /// Pairs of workloads run interleaved, round by round (the reference
    /// and candidate of each parity rule).
    pub pairs: Vec<(String, String)>,
    /// The iteration counts a check against a stored baseline runs Go
    /// benchmarks at: the baseline's (empty for `run`).
    pub pins: Pins,
}

impl TryFrom<(&Config, &Selection)> for RunPlan {
    type Error = PlanError;

    /// The selected workloads in config order, with the overrides applied,
    /// the shard taken, memgate itself as the launcher, and the config's
    /// directory as the repository.
    fn try_from((config, selection): (&Config, &Selection)) -> Result<RunPlan, PlanError> {
        let workloads = config
            .select(&selection.workloads)?
            .into_iter()
            .enumerate()
            .filter(|(i, _)| selection.shard.is_none_or(|s| s.contains(*i)))
            .map(|(_, w)| {
                let (repetitions, footprint_repetitions) = selection.runs(w);
                Workload {
                    repetitions,
                    footprint_repetitions,
                    warmup: selection.warmup.unwrap_or(w.warmup),
                    ..w.clone()
                }
            })
            .collect();
        let launcher = std::env::current_exe().map_err(|e| {
            PlanError::Launcher(RunError::Launcher {
                launcher: PathBuf::from("memgate"),
                problem: LauncherProblem::NotFound(e),
            })
        })?;
        Ok(RunPlan {
            workloads,
            shard: selection.shard,
            launcher,
            repo_dir: config.dir.clone(),
            pairs: config
                .policy
                .parity
                .iter()
                .map(|p| (p.reference.clone(), p.candidate.clone()))
                .collect(),
            pins: Pins::new(),
        })
    }
}
