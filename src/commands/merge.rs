//! `memgate merge`: join the results files of a sharded CI matrix.

use crate::cli::MergeArgs;
use crate::error::{Error, Outcome};
use crate::results::{self, Results};

/// `memgate merge`: join the results of a sharded matrix.
pub fn merge(args: MergeArgs) -> Result<Outcome, Error> {
    let inputs: Vec<_> = args
        .files
        .iter()
        .map(|f| ("an input", f.as_path()))
        .collect();
    crate::atomic::check_outputs(&inputs, &[("-o", args.output.as_path())])?;
    let mut parts = Vec::with_capacity(args.files.len());
    for path in &args.files {
        parts.push((path.clone(), Results::read(path)?));
    }
    let first = parts.remove(0);
    let merged = results::merge(first, parts)?;
    crate::atomic::write_json(&args.output, &merged)?;
    crate::say!(
        "memgate: merged {} files, {} workloads, into {}",
        args.files.len(),
        merged.workloads.len(),
        args.output.display()
    );
    Ok(Outcome::Pass)
}
