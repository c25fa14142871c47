//! `memgate baseline save|show`.

use std::path::PathBuf;

use crate::baseline;
use crate::cli::{BaselineCommand, BaselineLocation};
use crate::config::{Config, DEFAULT_BASELINE};
use crate::error::{Error, Outcome};
use crate::report::Render;
use crate::report::baseline::BaselineDescription;

/// `memgate baseline save RESULTS` and `memgate baseline show`.
pub fn baseline(cmd: BaselineCommand) -> Result<Outcome, Error> {
    match cmd {
        BaselineCommand::Save {
            results,
            location,
            allow_failed,
        } => {
            let target = path(&location)?;
            let r = baseline::save(&results, &target, allow_failed)?;
            crate::say!(
                "memgate: saved {} ({} workloads) as the baseline {}",
                results.display(),
                r.workloads.len(),
                target.display()
            );
            let pins = r.pins();
            if !pins.is_empty() {
                let shown: Vec<String> = pins
                    .iter()
                    .take(20)
                    .map(|(name, n)| format!("{name} {n}x"))
                    .collect();
                crate::say!(
                    "memgate: checks run each Go benchmark at the count pinned here: {}{}",
                    shown.join(", "),
                    if pins.len() > 20 { ", ..." } else { "" }
                );
            }
        }
        BaselineCommand::Show { location } => {
            let target = path(&location)?;
            let r = baseline::load(&target)?;
            BaselineDescription { path: &target }
                .render(&r, &mut std::io::stdout().lock())
                .map_err(super::stdout_error)?;
        }
    }
    Ok(Outcome::Pass)
}

/// `--baseline`, else the `baseline:` of the config when there is one (the
/// file `check` reads), else the default.
fn path(location: &BaselineLocation) -> Result<PathBuf, Error> {
    if let Some(p) = &location.baseline {
        return Ok(p.clone());
    }
    if location.config.exists() {
        return Ok(Config::load(&location.config)?.baseline);
    }
    Ok(PathBuf::from(DEFAULT_BASELINE))
}
