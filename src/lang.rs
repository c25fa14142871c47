//! The language a workload is written in. Shared by the config (which
//! collectors make sense), the results (recorded per workload) and the
//! gate (which toolchain to compare), so it belongs to none of them.

use serde::{Deserialize, Serialize};

/// The language of a workload; it decides which collectors make sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// A Go program.
    Go,
    /// A Rust program.
    Rust,
    /// Anything else; measured from outside only.
    Other,
}
