//! Pass 1: the file as written. serde with `deny_unknown_fields`, wrapped
//! in `serde_path_to_error`, so every error names the line, the column and
//! the field path.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::Collector;
use super::error::{ConfigErrorKind, strip_location, strip_path, with_suggestion};
use crate::lang::Lang;
use crate::phase::Phase;
use crate::policy::{Quantity, RawGate, ThresholdSpec};
use crate::units::{HumanDuration, Percent};

/// A command: a line split by POSIX shell word rules, or a list of arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandLine(pub Vec<String>);

impl<'de> Deserialize<'de> for CommandLine {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CommandLine;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a command line string or a list of arguments")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<CommandLine, E> {
                let words = shlex::split(v).ok_or_else(|| {
                    E::custom(format!(
                        "cannot split `{v}` into words: unbalanced quotes or a trailing backslash"
                    ))
                })?;
                if words.is_empty() {
                    return Err(E::custom("the command is empty"));
                }
                no_nul(&words)?;
                Ok(CommandLine(words))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CommandLine, A::Error> {
                let mut words = Vec::new();
                while let Some(w) = seq.next_element::<String>()? {
                    words.push(w);
                }
                if words.is_empty() {
                    return Err(de::Error::custom("the command is empty"));
                }
                no_nul(&words)?;
                Ok(CommandLine(words))
            }
        }
        d.deserialize_any(V)
    }
}

/// A NUL cannot be passed to a program (arguments and environment are C
/// strings): refused where it is written, not when the launcher fails.
fn no_nul<E: de::Error>(words: &[String]) -> Result<(), E> {
    match words.iter().find(|w| w.contains('\0')) {
        Some(w) => Err(E::custom(format!(
            "`{}` contains a NUL character, which no program can receive",
            w.escape_debug()
        ))),
        None => Ok(()),
    }
}

/// A YAML scalar read as a string, so `GOGC: 100` works like `GOGC: "100"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                no_nul(&[v.to_owned()])?;
                Ok(Scalar(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Pass 1: the file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) version: u32,
    pub(super) baseline: Option<PathBuf>,
    pub(super) base_ref: Option<String>,
    #[serde(default)]
    pub(super) defaults: RawDefaults,
    #[serde(default)]
    pub(super) gate: RawGate,
    #[serde(default)]
    pub(super) thresholds: BTreeMap<String, ThresholdSpec>,
    #[serde(default)]
    pub(super) budgets: BTreeMap<String, BTreeMap<String, Quantity>>,
    #[serde(default)]
    pub(super) workloads: Vec<RawWorkload>,
    #[serde(default)]
    pub(super) parity: Vec<RawParity>,
    /// `drift:`: per metric (or `default`), a budget against the history.
    #[serde(default)]
    pub(super) drift: BTreeMap<String, RawDrift>,
    /// Where the history is (default: `history.db` beside the baseline).
    pub(super) history: Option<PathBuf>,
}

/// One `drift:` entry: `{ since: 10 commits, max_increase: 10% }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDrift {
    #[serde(deserialize_with = "anchor")]
    pub(super) since: crate::policy::Anchor,
    pub(super) max_increase: Percent,
}

/// `since:` as written: `N commits` or a git ref.
fn anchor<'de, D: serde::Deserializer<'de>>(d: D) -> Result<crate::policy::Anchor, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// `parity:`: a candidate workload must be no worse than a reference one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawParity {
    pub(super) name: Option<String>,
    pub(super) reference: String,
    pub(super) candidate: String,
    pub(super) metrics: BTreeMap<String, Percent>,
}

/// Settings shared by every workload unless it overrides them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    pub(super) repetitions: Option<u32>,
    pub(super) footprint_repetitions: Option<u32>,
    pub(super) warmup: Option<u32>,
    pub(super) timeout: Option<HumanDuration>,
    pub(super) build_timeout: Option<HumanDuration>,
    pub(super) kill_grace: Option<HumanDuration>,
    pub(super) sample_interval: Option<HumanDuration>,
    #[serde(default)]
    pub(super) env: BTreeMap<String, Scalar>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorkload {
    pub(super) name: String,
    pub(super) lang: Lang,
    pub(super) build: Option<CommandLine>,
    pub(super) run: Option<CommandLine>,
    pub(super) gobench: Option<RawGoBench>,
    pub(super) cargotest: Option<RawCargoTest>,
    pub(super) dir: Option<PathBuf>,
    pub(super) binary: Option<PathBuf>,
    #[serde(default)]
    pub(super) env: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub(super) tags: BTreeMap<String, Scalar>,
    pub(super) collect: Option<Vec<Collector>>,
    #[serde(default)]
    pub(super) thresholds: BTreeMap<String, ThresholdSpec>,
    #[serde(default)]
    pub(super) budgets: BTreeMap<String, Quantity>,
    pub(super) phases: Option<Vec<Phase>>,
    pub(super) profile: Option<bool>,
    pub(super) repetitions: Option<u32>,
    pub(super) footprint_repetitions: Option<u32>,
    pub(super) warmup: Option<u32>,
    pub(super) timeout: Option<HumanDuration>,
    pub(super) build_timeout: Option<HumanDuration>,
    pub(super) kill_grace: Option<HumanDuration>,
    pub(super) sample_interval: Option<HumanDuration>,
}

/// `gobench:`: run the repository's own `go test` benchmarks as workloads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGoBench {
    pub(super) packages: Option<CommandLine>,
    pub(super) bench: Option<String>,
    pub(super) benchtime: Option<String>,
}

/// `cargotest:`: run the crate's own tests, each alone, as workloads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCargoTest {
    pub(super) package: Option<String>,
    pub(super) filter: Option<String>,
    pub(super) benches: Option<bool>,
}

/// Parses config text; an error carries the line, column and field.
/// Deepest flow nesting (`[` and `{`) a config may have: a memgate config
/// is a few levels deep, and the YAML parser's time grows with the square
/// of the depth (100,000 levels took over 60 s; benches/input_scaling.sh).
const MAX_DEPTH: usize = 64;

/// Refuses flow collections nested past [`MAX_DEPTH`], naming the line and
/// column, in one pass that skips quoted text and comments. (Block nesting
/// costs a column of indentation per level, so the 16 MiB bound on a
/// config bounds it.)
fn check_depth(text: &str) -> Result<(), ConfigErrorKind> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, line) in text.lines().enumerate() {
        let mut prev = ' ';
        for (col, c) in line.chars().enumerate() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => match c {
                    '"' | '\'' if prev.is_whitespace() || "[{,:".contains(prev) => {
                        quote = Some(c);
                    }
                    '#' if prev.is_whitespace() => break,
                    '[' | '{' => {
                        depth += 1;
                        if depth > MAX_DEPTH {
                            return Err(ConfigErrorKind::Syntax {
                                line: Some(i + 1),
                                column: Some(col + 1),
                                field: None,
                                message: format!(
                                    "nested more than {MAX_DEPTH} levels deep; a memgate config is a few levels deep"
                                ),
                            });
                        }
                    }
                    ']' | '}' => depth = depth.saturating_sub(1),
                    _ => {}
                },
            }
            prev = c;
        }
    }
    Ok(())
}

pub(super) fn parse(text: &str) -> Result<RawConfig, ConfigErrorKind> {
    // A byte order mark is not a second document (editors on Windows
    // write one).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_depth(text)?;
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, RawConfig>(de).map_err(|e| {
        // serde_path_to_error writes `?` for a key it never got to read.
        let path = e.path().to_string();
        let field = path.split(".?").next().unwrap_or_default().to_owned();
        let inner = e.into_inner();
        let (line, column) = match inner.location() {
            Some(l) => (Some(l.line()), Some(l.column())),
            None => (None, None),
        };
        let message = with_suggestion(&strip_path(&strip_location(&inner.to_string()), &field));
        ConfigErrorKind::Syntax {
            line,
            column,
            field: Some(field),
            message,
        }
    })
}
