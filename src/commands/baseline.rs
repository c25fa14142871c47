//! `memgate baseline save|show`.

use crate::baseline::{self, BASELINE_FILE};
use crate::cli::BaselineCommand;
use crate::error::{Error, Outcome};
use crate::report::Render;
use crate::report::baseline::BaselineDescription;

/// `memgate baseline save RESULTS` and `memgate baseline show`.
pub fn baseline(cmd: BaselineCommand) -> Result<Outcome, Error> {
    match cmd {
        BaselineCommand::Save {
            results,
            store,
            allow_failed,
        } => {
            let target = store.join(BASELINE_FILE);
            let r = baseline::save(&results, &target, allow_failed)?;
            eprintln!(
                "memgate: saved {} ({} workloads) as the baseline {}",
                results.display(),
                r.workloads.len(),
                target.display()
            );
        }
        BaselineCommand::Show { store } => {
            let target = store.join(BASELINE_FILE);
            let r = baseline::load(&target)?;
            BaselineDescription { path: &target }
                .render(&r, &mut std::io::stdout().lock())
                .map_err(super::stdout_error)?;
        }
    }
    Ok(Outcome::Pass)
}
