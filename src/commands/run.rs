//! `memgate run`: measure the selected workloads and write the results.

use crate::cli::RunArgs;
use crate::config::Config;
use crate::error::{Error, Outcome};
use crate::runner::{RunPlan, Selection};

/// `memgate run`.
pub fn run(args: RunArgs) -> Result<Outcome, Error> {
    let config = Config::load(&args.config)?;
    // The baseline changes through `baseline save` (or `check
    // --save-baseline`) only, which refuse failed runs.
    crate::atomic::check_outputs(
        &[
            ("the config (-c)", args.config.as_path()),
            ("the baseline", config.baseline.as_path()),
        ],
        &[("-o", args.output.as_path())],
    )?;
    // What `run` records is what `baseline save` keeps.
    let selection = Selection {
        for_baseline: true,
        ..Selection::from(&args)
    };
    let plan = RunPlan::try_from((&config, &selection))?;
    let results = super::measure(&plan, Some(&args.output))?;
    Ok(if results.has_failures() {
        Outcome::WorkloadsFailed
    } else {
        Outcome::Pass
    })
}
