//! Pass 2: checks across fields: the version, names (unique, usable in
//! `--accept`), environment keys, ranges of durations and counts, budgets
//! naming real workloads, and the gate policy's units and probabilities.

use std::collections::BTreeMap;

use super::error::{ConfigErrorKind, closest};
use super::raw::{RawConfig, RawParity, RawWorkload};
use super::resolve::policy;
use super::{CONFIG_VERSION, MAX_RUNS, MIN_SAMPLE_INTERVAL};
use crate::lang::Lang;
use crate::units::HumanDuration;

/// Pass 2: checks across fields.
pub(super) fn validate(raw: &RawConfig) -> Result<(), ConfigErrorKind> {
    let invalid = |field: String, message: String| ConfigErrorKind::Invalid { field, message };
    if raw.version != CONFIG_VERSION {
        return Err(invalid(
            "version".into(),
            format!(
                "unsupported version {}; this memgate reads version {CONFIG_VERSION}",
                raw.version
            ),
        ));
    }
    check_settings(
        "defaults",
        [
            ("repetitions", raw.defaults.repetitions),
            ("footprint_repetitions", raw.defaults.footprint_repetitions),
            ("warmup", raw.defaults.warmup),
        ],
        raw.defaults.timeout,
        raw.defaults.sample_interval,
    )?;
    for key in raw.defaults.env.keys() {
        check_env_key(&format!("defaults.env.{key}"), key)?;
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, w) in raw.workloads.iter().enumerate() {
        let at = format!("workloads[{i}]");
        check_name(&format!("{at}.name"), &w.name)?;
        if let Some(first) = seen.insert(&w.name, i) {
            return Err(invalid(
                format!("{at}.name"),
                format!(
                    "duplicate workload name `{}` (first used by workloads[{first}]); names must be unique",
                    w.name
                ),
            ));
        }
        check_settings(
            &at,
            [
                ("repetitions", w.repetitions),
                ("footprint_repetitions", w.footprint_repetitions),
                ("warmup", w.warmup),
            ],
            w.timeout,
            w.sample_interval,
        )?;
        check_phases(&at, w)?;
        check_command(&at, w)?;
        for key in w.env.keys() {
            check_env_key(&format!("{at}.env.{key}"), key)?;
        }
    }
    let names: Vec<&str> = raw.workloads.iter().map(|w| w.name.as_str()).collect();
    for workload in raw.budgets.keys() {
        if !names.contains(&workload.as_str()) {
            let mut message =
                format!("no workload named `{workload}`; budgets are keyed by workload name");
            if let Some(s) = closest(workload, &names) {
                message.push_str(&format!("; did you mean `{s}`?"));
            }
            return Err(invalid(format!("budgets.{workload}"), message));
        }
    }
    for (i, name) in raw.gate.removed.iter().enumerate() {
        if names.contains(&name.as_str()) {
            return Err(invalid(
                format!("gate.removed[{i}]"),
                format!("`{name}` is still a workload; remove it from `workloads` or from here"),
            ));
        }
    }
    for (i, pattern) in raw.gate.optional.iter().enumerate() {
        let field = format!("gate.optional[{i}]");
        let Some((w, m)) = pattern.split_once(':') else {
            return Err(invalid(
                field,
                format!("`{pattern}` is not WORKLOAD:METRIC (globs allowed, e.g. `*:latency.*`)"),
            ));
        };
        for g in [w, m] {
            glob::Pattern::new(g)
                .map_err(|e| invalid(field.clone(), format!("`{pattern}`: {e}")))?;
        }
    }
    for (i, p) in raw.parity.iter().enumerate() {
        check_parity(&format!("parity[{i}]"), p, raw)?;
    }
    policy(raw)
        .validate()
        .map_err(|e| invalid(e.field, e.problem.to_string()))
}

/// A parity rule names two configured workloads, each able to produce
/// every metric it compares (by language and collectors: a metric one
/// side cannot have is an error here, not a silent skip later).
fn check_parity(at: &str, p: &RawParity, raw: &RawConfig) -> Result<(), ConfigErrorKind> {
    let invalid = |field: String, message: String| ConfigErrorKind::Invalid { field, message };
    let names: Vec<&str> = raw.workloads.iter().map(|w| w.name.as_str()).collect();
    let find = |field: &str, name: &str| {
        raw.workloads
            .iter()
            .find(|w| w.name == name)
            .ok_or_else(|| {
                let mut message = format!("no workload named `{name}`");
                if let Some(s) = closest(name, &names) {
                    message.push_str(&format!("; did you mean `{s}`?"));
                }
                invalid(format!("{at}.{field}"), message)
            })
    };
    let reference = find("reference", &p.reference)?;
    let candidate = find("candidate", &p.candidate)?;
    if p.reference == p.candidate {
        return Err(invalid(
            format!("{at}.candidate"),
            "the candidate is the reference: a parity rule compares two workloads".into(),
        ));
    }
    if reference.gobench.is_some() || candidate.gobench.is_some() {
        return Err(invalid(
            at.to_owned(),
            "a `gobench` workload is many benchmarks: name a workload that runs one program".into(),
        ));
    }
    if p.metrics.is_empty() {
        return Err(invalid(
            format!("{at}.metrics"),
            "no metrics: name at least one, with its tolerance (e.g. `process.rss.peak: 0%`)"
                .into(),
        ));
    }
    for (metric, tolerance) in &p.metrics {
        let field = format!("{at}.metrics.{metric}");
        if crate::metrics::lookup(metric).is_none() {
            return Err(invalid(
                field,
                format!("`{metric}` is not a metric memgate measures"),
            ));
        }
        if tolerance.0 < 0.0 {
            return Err(invalid(field, "the tolerance cannot be negative".into()));
        }
        for (side, w) in [("reference", reference), ("candidate", candidate)] {
            if !producible(w).iter().any(|m| m == metric) {
                return Err(invalid(
                    field.clone(),
                    format!(
                        "the {side} `{}` cannot produce `{metric}` with its collectors ({}); add the collector that measures it",
                        w.name,
                        collectors_of(w).join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The collectors a workload runs, as `collect:` or its language's default.
fn collectors_of(w: &RawWorkload) -> Vec<&'static str> {
    use super::Collector::*;
    let listed: Vec<super::Collector> = w.collect.clone().unwrap_or_else(|| match w.lang {
        Lang::Go => vec![Gctrace],
        _ => Vec::new(),
    });
    std::iter::once("rusage")
        .chain(listed.iter().map(|c| match c {
            Rusage => "rusage",
            Gctrace => "gctrace",
            Probe => "probe",
            Dhat => "dhat",
            ValgrindDhat => "valgrind-dhat",
            Malloc => "malloc",
            Criterion => "criterion",
            Gobench => "gobench",
        }))
        .collect()
}

/// The metrics a workload's collectors can produce.
fn producible(w: &RawWorkload) -> Vec<&'static str> {
    let mut out = Vec::new();
    for c in collectors_of(w) {
        out.extend_from_slice(match (c, w.lang) {
            ("rusage", _) => &[
                "process.rss.peak",
                "process.cpu.user",
                "process.cpu.system",
                "process.wall",
                "process.faults.minor",
                "process.faults.major",
                "process.context_switches.voluntary",
                "process.context_switches.involuntary",
            ][..],
            ("gctrace", _) => &[
                "gc.cycles",
                "gc.cycles.forced",
                "gc.pause.total",
                "gc.pause.max",
                "gc.pause.p99",
                "heap.peak.bytes",
                "heap.live.bytes",
                "heap.goal.bytes",
                "gc.cpu.fraction",
            ][..],
            ("probe", Lang::Go) => &[
                "heap.alloc.bytes",
                "heap.alloc.objects",
                "heap.end.bytes",
                "heap.goal.bytes",
                "heap.live.bytes",
                "gc.cycles",
                "gc.cycles.forced",
                "gc.pause.p50",
                "gc.pause.p99",
                "gc.pause.max",
                "gc.pause.total",
                "gc.cpu.fraction",
                "alloc.fragmentation",
                "memory.total.bytes",
                "latency.p50",
                "latency.p99",
                "latency.max",
            ][..],
            ("probe", _) => &[
                "heap.alloc.bytes",
                "heap.alloc.objects",
                "heap.peak.bytes",
                "heap.end.bytes",
                "heap.reallocs",
                "jemalloc.allocated.bytes",
                "jemalloc.active.bytes",
                "jemalloc.resident.bytes",
                "jemalloc.metadata.bytes",
                "alloc.fragmentation",
                "latency.p50",
                "latency.p99",
                "latency.max",
            ][..],
            ("dhat" | "valgrind-dhat", _) => &[
                "heap.alloc.bytes",
                "heap.alloc.objects",
                "heap.peak.bytes",
                "heap.end.bytes",
            ][..],
            ("malloc", _) => &[
                "heap.alloc.bytes",
                "heap.alloc.objects",
                "heap.peak.bytes",
                "heap.end.bytes",
                "heap.reallocs",
            ][..],
            ("criterion", _) => &["op.time"][..],
            ("gobench", _) => &[
                "op.time",
                "op.alloc.bytes",
                "op.alloc.objects",
                "op.throughput",
            ][..],
            _ => &[][..],
        });
    }
    out
}

fn check_name(field: &str, name: &str) -> Result<(), ConfigErrorKind> {
    match name_problem(name) {
        Some(message) => Err(ConfigErrorKind::Invalid {
            field: field.into(),
            message: message.into(),
        }),
        None => Ok(()),
    }
}

/// What is wrong with a workload name (in a config, or `import --name`).
pub fn name_problem(name: &str) -> Option<&'static str> {
    Some(if name.trim().is_empty() {
        "the name is empty"
    } else if name.chars().any(char::is_control) {
        "the name contains a control character"
    } else if name.contains(':') {
        "the name contains `:`, which separates workload from metric in `--accept WORKLOAD:METRIC`"
    } else if name.contains('/') {
        "the name contains `/`, which separates a `gobench` or `cargotest` workload's name from its benchmarks' or tests' (`cache/Get`)"
    } else {
        return None;
    })
}

fn check_env_key(field: &str, key: &str) -> Result<(), ConfigErrorKind> {
    if key.is_empty() || key.contains('=') || key.contains('\0') {
        return Err(ConfigErrorKind::Invalid {
            field: field.into(),
            message:
                "an environment variable name must be non-empty and contain neither `=` nor NUL"
                    .into(),
        });
    }
    Ok(())
}

/// Phases are a Go workload's, listed once each.
fn check_phases(at: &str, w: &RawWorkload) -> Result<(), ConfigErrorKind> {
    let Some(phases) = &w.phases else {
        return Ok(());
    };
    let invalid = |message: String| ConfigErrorKind::Invalid {
        field: format!("{at}.phases"),
        message,
    };
    if w.lang != Lang::Go {
        return Err(invalid(
            "phases apply to Go workloads (`lang: go`), whose collector can be made deterministic; remove the key".into(),
        ));
    }
    if phases.is_empty() {
        return Err(invalid(
            "the list is empty; use [footprint], [behaviour] or both".into(),
        ));
    }
    if phases.len() == 2 && phases[0] == phases[1] || phases.len() > 2 {
        return Err(invalid(format!(
            "{} phases listed; each of footprint and behaviour at most once",
            phases.len()
        )));
    }
    Ok(())
}

/// A workload runs a command (`run`), Go benchmarks (`gobench`) or a
/// crate's tests (`cargotest`), one of them; a `gobench` workload is Go, a
/// `cargotest` one Rust, and each builds its own test binaries.
fn check_command(at: &str, w: &RawWorkload) -> Result<(), ConfigErrorKind> {
    let invalid = |field: &str, message: &str| {
        Err(ConfigErrorKind::Invalid {
            field: format!("{at}.{field}"),
            message: message.into(),
        })
    };
    if w.cargotest.is_some() {
        if w.run.is_some() || w.gobench.is_some() {
            return invalid(
                "cargotest",
                "a workload has one of `run`, `gobench` and `cargotest`: `cargotest` runs the crate's tests itself",
            );
        }
        if w.lang != Lang::Rust {
            return invalid("cargotest", "a crate's tests need `lang: rust`");
        }
        if w.build.is_some() || w.binary.is_some() {
            let key = if w.build.is_some() { "build" } else { "binary" };
            return invalid(
                key,
                "a `cargotest` workload builds its own test binaries (`cargo test --no-run`); remove the key",
            );
        }
        return Ok(());
    }
    let Some(g) = &w.gobench else {
        return match w.run {
            Some(_) => Ok(()),
            None => invalid(
                "run",
                "missing: give the command to run, `gobench:` to run Go benchmarks, or `cargotest:` to run a crate's tests",
            ),
        };
    };
    if w.run.is_some() {
        return invalid(
            "gobench",
            "a workload has `run` or `gobench`, not both: `gobench` runs `go test` benchmarks itself",
        );
    }
    if w.lang != Lang::Go {
        return invalid("gobench", "Go benchmarks need `lang: go`");
    }
    for key in ["build", "binary"] {
        let set = match key {
            "build" => w.build.is_some(),
            _ => w.binary.is_some(),
        };
        if set {
            return invalid(
                key,
                "a `gobench` workload builds its own test binaries (`go test -c`); remove the key",
            );
        }
    }
    if let Some(re) = &g.bench {
        if re.trim().is_empty() {
            return invalid(
                "gobench.bench",
                "the regexp is empty; `.` selects every benchmark",
            );
        }
        // Go's regexp is RE2 syntax, which regex-syntax parses (Go also
        // splits the pattern at top-level `/`, which is a literal here, so
        // a pattern that parses whole is one Go accepts, `\Q...\E` aside).
        if let Err(e) = regex_syntax::Parser::new().parse(re) {
            let first = e.to_string();
            let why = first.lines().last().unwrap_or("invalid").trim();
            let why = why.strip_prefix("error: ").unwrap_or(why);
            return Err(ConfigErrorKind::Invalid {
                field: format!("{at}.gobench.bench"),
                message: format!("`{re}` is not a regular expression: {why}"),
            });
        }
    }
    if let Some(t) = &g.benchtime
        && !crate::config::BenchTime::is_valid(t)
    {
        return invalid(
            "gobench.benchtime",
            "expected an iteration count like `1000x` or a duration like `1s`, `500ms`",
        );
    }
    Ok(())
}

fn check_settings<const N: usize>(
    at: &str,
    counts: [(&str, Option<u32>); N],
    timeout: Option<HumanDuration>,
    sample_interval: Option<HumanDuration>,
) -> Result<(), ConfigErrorKind> {
    let invalid = |field: &str, message: String| ConfigErrorKind::Invalid {
        field: format!("{at}.{field}"),
        message,
    };
    for (field, count) in counts {
        match count {
            Some(0) if field != "warmup" => {
                return Err(invalid(field, "must be at least 1".into()));
            }
            Some(n) if n > MAX_RUNS => {
                return Err(invalid(field, format!("{n} runs; at most {MAX_RUNS}")));
            }
            _ => {}
        }
    }
    if let Some(t) = timeout
        && t.0.is_zero()
    {
        return Err(invalid("timeout", "must be longer than 0".into()));
    }
    if let Some(s) = sample_interval
        && !s.0.is_zero()
        && s.0 < MIN_SAMPLE_INTERVAL
    {
        return Err(invalid(
            "sample_interval",
            format!(
                "{s} is too short; use 0 (off) or at least {}",
                HumanDuration(MIN_SAMPLE_INTERVAL)
            ),
        ));
    }
    Ok(())
}
