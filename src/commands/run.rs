//! `memgate run`: measure the selected workloads and write the results.

use crate::cli::RunArgs;
use crate::config::Config;
use crate::error::{Error, Outcome};
use crate::runner::{RunPlan, Selection};

/// `memgate run`.
pub fn run(args: RunArgs) -> Result<Outcome, Error> {
    let config = Config::load(&args.config)?;
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
