//! `memgate import`: turn the outputs of other tools into a results file
//! (see [`crate::collect::import`]).

use crate::cli::{ImportArgs, ImportFormat};
use crate::collect::import::{self, Import};
use crate::error::{Error, Outcome};

/// `memgate import`.
pub fn import(args: ImportArgs) -> Result<Outcome, Error> {
    let mut inputs: Vec<_> = args
        .files
        .iter()
        .map(|f| ("an input", f.as_path()))
        .collect();
    inputs.extend(args.memprofile.as_deref().map(|p| ("the --memprofile", p)));
    crate::atomic::check_outputs(&inputs, &[("-o", args.output.as_path())])?;
    if let Some(problem) = args.name.as_deref().and_then(crate::config::name_problem) {
        return Err(Error::Import(import::ImportError::Name(format!(
            "--name {:?}: {problem}",
            args.name.as_deref().unwrap_or_default()
        ))));
    }
    let name = args.name.clone();
    if let (Some(path), false) = (&args.memprofile, args.format == ImportFormat::Gobench) {
        return Err(Error::Import(import::ImportError::Empty {
            path: path.clone(),
            what: "--memprofile goes with --format gobench (the heap profile of a go test run)"
                .into(),
        }));
    }
    let importer: Box<dyn Import> = match args.format {
        ImportFormat::Gobench => Box::new(import::Gobench {
            memprofile: args.memprofile.clone(),
        }),
        ImportFormat::Gctrace => Box::new(import::Gctrace { name }),
        ImportFormat::Dhat => Box::new(import::Dhat { name }),
    };
    let mut results = importer.import(&args.files)?;
    results.write(&args.output)?;
    let samples: usize = results
        .workloads
        .iter()
        .flat_map(|w| w.metrics.values())
        .map(|s| s.samples.len())
        .sum();
    crate::say!(
        "memgate: imported {} workloads, {samples} samples, into {}",
        results.workloads.len(),
        args.output.display()
    );
    // The process ends here: freeing a large import value by value took
    // longer than writing it.
    std::mem::forget(results);
    Ok(Outcome::Pass)
}
