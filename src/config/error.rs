//! Config errors: every one names the file, and the line, column or field
//! path, and says what was expected; a misspelt key or workload name gets
//! the closest valid one as a suggestion.

use std::path::PathBuf;

/// Why a config could not be used. Always names the file.
#[derive(Debug, thiserror::Error)]
#[error("{}{}", path.display(), kind)]
pub struct ConfigError {
    /// The config file.
    pub path: PathBuf,
    /// What went wrong, and where in the file.
    pub kind: ConfigErrorKind,
}

/// The kinds of config error, each carrying its location.
#[derive(Debug, thiserror::Error)]
pub enum ConfigErrorKind {
    /// The file could not be read.
    #[error(": cannot read the file: {source}")]
    Read {
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Malformed YAML, a wrong type, an unknown key or a bad unit.
    #[error("{}{}: {message}", location(*line, *column), field_prefix(field))]
    Syntax {
        /// 1-based line, when the parser knows it.
        line: Option<usize>,
        /// 1-based column, when the parser knows it.
        column: Option<usize>,
        /// Dotted field path, e.g. `workloads[2].timeout`.
        field: Option<String>,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A value that parses but does not make sense (pass 2).
    #[error(": {field}: {message}")]
    Invalid {
        /// Dotted field path.
        field: String,
        /// What was wrong and what was expected.
        message: String,
    },
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

fn field_prefix(field: &Option<String>) -> String {
    match field {
        Some(f) if !f.is_empty() && f != "." => format!(": {f}"),
        _ => String::new(),
    }
}

/// serde_yaml appends " at line L column C" to its messages (once per
/// mark); the location is reported separately, in the `file:line:column` prefix.
pub(super) fn strip_location(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find(" at line ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + " at line ".len()..];
        // Skip "L column C".
        let skip = after
            .split_once(" column ")
            .map(|(line, tail)| {
                let digits = tail.chars().take_while(char::is_ascii_digit).count();
                line.len() + " column ".len() + digits
            })
            .filter(|_| after.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or(0);
        if skip == 0 {
            out.push_str(" at line ");
        }
        rest = &after[skip..];
    }
    out.push_str(rest);
    out
}

/// serde_yaml prefixes messages below the root with its own path, e.g.
/// `workloads[0]: unknown field`; the field is reported separately.
pub(super) fn strip_path(message: &str, field: &str) -> String {
    match message.split_once(": ") {
        Some((prefix, rest)) if field.starts_with(prefix) => rest.to_owned(),
        _ => message.to_owned(),
    }
}

/// Adds "did you mean" to serde's unknown-field and unknown-variant messages.
pub(super) fn with_suggestion(message: &str) -> String {
    let Some(rest) = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))
    else {
        return message.to_owned();
    };
    let Some((given, tail)) = rest.split_once('`') else {
        return message.to_owned();
    };
    let expected: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
    match closest(given, &expected) {
        Some(s) => format!("{message}; did you mean `{s}`?"),
        None => message.to_owned(),
    }
}

/// The candidate closest to `given`, if it is close enough to be a typo.
pub(super) fn closest<'a>(given: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(given, c), *c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

pub(super) fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
