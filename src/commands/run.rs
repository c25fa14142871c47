//! `memgate run`: measure the selected workloads and write the results.

use crate::cli::RunArgs;
use crate::config::Config;
use crate::error::{Error, Outcome};
use crate::runner::{RunPlan, Selection};

/// `memgate run`.
pub fn run(args: RunArgs) -> Result<Outcome, Error> {
    let config = Config::load(&args.config)?;
    let plan = RunPlan::try_from((&config, &Selection::from(&args)))?;
    let results = super::measure(&plan, Some(&args.output))?;
    Ok(if results.has_failures() {
        Outcome::WorkloadsFailed
    } else {
        Outcome::Pass
    })
}
