//! Statistics for the gate: pure functions over samples, no I/O and no
//! config.
//!
//! - [`mann_whitney()`]: the two-sided Mann-Whitney U test exactly as
//!   benchstat computes it (go-moremath `stats/utest.go`), so memgate's
//!   p-values agree with benchstat's;
//! - [`hodges_lehmann()`]: the shift estimate and its distribution-free
//!   (Moses) confidence interval;
//! - [`holm()`]: Holm's step-down correction across a gate run;
//! - [`runs_for()`]: the runs a side needs to detect a change, from A/A noise;
//! - [`changepoint`]: where a series of per-commit medians changed level (PELT);
//! - [`summary`](mod@summary) helpers: median, spread, the smallest attainable p.

pub mod changepoint;
pub mod hodges_lehmann;
pub mod holm;
pub mod mann_whitney;
pub mod power;
pub mod summary;

pub use hodges_lehmann::{HodgesLehmann, hodges_lehmann, shift_zone};
pub use holm::holm;
pub use mann_whitney::{MannWhitney, UTestError, mann_whitney, min_attainable_p, runs_needed};
pub use power::runs_for;
pub use summary::{Summary, median};
