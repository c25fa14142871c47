//! The subcommands as glue, one file each: turn parsed arguments into a
//! plan, call the stages, write outputs atomically, and pick the outcome.

mod baseline;
mod calibrate;
mod compare;
mod import;
mod merge;
mod report;
mod run;

pub use baseline::baseline;
pub use calibrate::calibrate;
pub use compare::{check, compare};
pub use import::import;
pub use merge::merge;
pub use report::report;
pub use run::run;
