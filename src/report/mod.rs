//! Renderers: each turns verdicts into one format, writing to any
//! `io::Write`. Judging is the gate's; choosing the exit code is `main`'s.

pub mod terminal;
