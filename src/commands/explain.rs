//! `memgate explain WORKLOAD METRIC`: one verdict of a verdicts file, and
//! every allocation site behind it, for a terminal.

use crate::cli::ExplainArgs;
use crate::error::{Error, Outcome};
use crate::report::read_verdicts;
use crate::report::terminal::explain as render;

/// `memgate explain`.
pub fn explain(args: ExplainArgs) -> Result<Outcome, Error> {
    let verdicts = read_verdicts(&args.verdicts)?;
    let Some(v) = verdicts
        .verdicts
        .iter()
        .find(|v| v.workload == args.workload && v.metric == args.metric)
    else {
        let mut known: Vec<String> = verdicts
            .verdicts
            .iter()
            .filter(|v| v.attribution.is_some())
            .map(|v| format!("{} {}", v.workload, v.metric))
            .collect();
        known.truncate(20);
        return Err(Error::NoSuchVerdict(format!(
            "{}: no verdict on {} {}; {}",
            args.verdicts.display(),
            args.workload,
            args.metric,
            if known.is_empty() {
                "no verdict in it has allocation sites (only metrics that regressed or broke a budget do)".to_owned()
            } else {
                format!("these have allocation sites: {}", known.join(", "))
            }
        )));
    };
    let mut out = std::io::stdout().lock();
    render(v, &mut out).map_err(Error::Stdout)?;
    Ok(Outcome::Pass)
}
