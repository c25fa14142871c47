//! The aligned table `compare` and `check` print on a terminal, with
//! colour only on a TTY and never with NO_COLOR.

use std::io::{self, Write};

use super::{Render, ReportError, escape};
use crate::units::human;
use crate::verdicts::{Status, Verdict, Verdicts};

/// What fails and what warns, as a table and then each one's reason; what
/// would decide the inconclusive verdicts, said once; and a one-line
/// summary. Unchanged, inconclusive, new and improved metrics are counted
/// there, and listed in the JSON and the Markdown report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Terminal {
    /// Colour the verdicts (ANSI escapes).
    pub color: bool,
}

impl Terminal {
    /// For stdout: colour on a TTY, when NO_COLOR is unset or empty
    /// (<https://no-color.org>).
    pub fn for_stdout() -> Terminal {
        use std::io::IsTerminal;
        Terminal {
            color: io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
}

impl Render for Terminal {
    fn render(&self, v: &Verdicts, w: &mut dyn Write) -> Result<(), ReportError> {
        Ok(table(v, self.color, w)?)
    }
}

fn paint(text: &str, status: Status, color: bool) -> String {
    if !color {
        return text.to_owned();
    }
    let code = match status {
        Status::OverBudget | Status::Regression | Status::Failed | Status::Missing => "1;31",
        Status::Warning | Status::Accepted => "33",
        Status::Improvement => "32",
        Status::Inconclusive | Status::Removed | Status::New => "2",
        Status::Unchanged => "0",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// One row's cells.
fn cells(v: &Verdict) -> [String; 7] {
    let base = v
        .baseline
        .map(|s| human(v.unit, s.median))
        .unwrap_or_else(|| "-".into());
    let cur = v
        .current
        .map(|s| human(v.unit, s.median))
        .unwrap_or_else(|| "-".into());
    let change = v
        .change
        .and_then(|c| c.percent())
        .map(|p| format!("{p:+.2}%"))
        .unwrap_or_else(|| "-".into());
    let p = v.p_text();
    [
        v.workload.clone(),
        v.metric.clone(),
        base,
        cur,
        change,
        p,
        v.status.to_string(),
    ]
}

/// A header and one row per verdict, aligned (names and the verdict left,
/// figures right), each row painted by its status. Names come from results
/// files: no control character reaches the terminal or a CI log raw.
fn verdict_rows(
    header: [String; 7],
    verdicts: &[Verdict],
    color: bool,
    w: &mut dyn Write,
) -> io::Result<()> {
    let rows: Vec<[String; 7]> = verdicts
        .iter()
        .map(|x| cells(x).map(|c| escape::terminal(&c)))
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String; 7]| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = " ".repeat(widths[i] - c.chars().count());
                if i < 2 || i == 6 {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    writeln!(w, "{}", line(&header))?;
    for (r, x) in rows.iter().zip(verdicts) {
        writeln!(w, "{}", paint(&line(r), x.status, color))?;
    }
    Ok(())
}

fn table(v: &Verdicts, color: bool, w: &mut dyn Write) -> io::Result<()> {
    let p_header = match v.settings.correction {
        crate::policy::Correction::Holm => "p (Holm)",
        crate::policy::Correction::None => "p",
    };
    let header = [
        "workload", "metric", "baseline", "current", "change", p_header, "verdict",
    ]
    .map(String::from);
    let notable: Vec<Verdict> = v
        .verdicts
        .iter()
        .filter(|x| shown(x.status))
        .cloned()
        .collect();
    // Each cause of a warning is said once, after the reasons that cite it.
    let causes = super::causes(&notable);
    if !notable.is_empty() {
        verdict_rows(header, &notable, color, w)?;
        writeln!(w)?;
        for x in &notable {
            let cite = x
                .softened
                .as_ref()
                .and_then(|s| causes.iter().position(|c| c == s))
                .map(|i| format!(" [{}]", i + 1))
                .unwrap_or_default();
            writeln!(
                w,
                "{} {}: {}{cite}",
                paint(x.status.as_str(), x.status, color),
                escape::terminal(&format!("{}/{}", x.workload, x.metric)),
                escape::terminal(&x.reason)
            )?;
            if let Some(line) = grew_line(x) {
                writeln!(w, "  {}", escape::terminal(&line))?;
            }
            if let Some(line) = super::history_line(x) {
                writeln!(w, "  {}", escape::terminal(&line))?;
            }
        }
        for (i, c) in causes.iter().enumerate() {
            writeln!(w, "[{}] {}", i + 1, escape::terminal(&c.explanation()))?;
        }
    }
    if !v.environment_differences.is_empty() {
        writeln!(w, "\nthe environments differ:")?;
        for d in &v.environment_differences {
            let line = format!(
                "  {}: {}: baseline {} / current {}",
                d.workload, d.field, d.baseline, d.current
            );
            writeln!(w, "{}", escape::terminal(&line))?;
        }
    }
    for f in &v.failed_workloads {
        let line = format!("failed: {}: {}", f.workload, f.reason);
        writeln!(w, "\n{}", escape::terminal(&line))?;
    }
    parity(v, color, w)?;
    if let Some(line) = undecided_line(v) {
        writeln!(w, "\n{line}")?;
    }
    if let Some(line) = super::sensitivity_line(v) {
        writeln!(w, "\n{}", escape::terminal(&line))?;
    }
    writeln!(w, "\n{}", summary_line(v))
}

/// Whether a verdict gets a row of its own on the terminal: it fails, it
/// warns, or a regression was accepted.
fn shown(status: Status) -> bool {
    status.fails() || matches!(status, Status::Warning | Status::Accepted)
}

/// What would decide the inconclusive verdicts, once for all of them: the
/// runs per side their tests need, or relative mode.
fn undecided_line(v: &Verdicts) -> Option<String> {
    let needed = v
        .verdicts
        .iter()
        .filter(|x| x.status == Status::Inconclusive)
        .filter_map(|x| x.test.as_ref()?.detection_threshold)
        .map(crate::stats::runs_needed)
        .max();
    let n = v.tally.inconclusive;
    (n > 0).then(|| {
        let runs = needed
            .map(|k| format!("at least {k} runs per side (repetitions, footprint_repetitions; a baseline from `memgate run` has at least {} footprint runs)", crate::gate::MEASURED_SPREAD_RUNS))
            .unwrap_or_else(|| "more runs per side".into());
        let relative = if v.baseline.interleaved.is_empty() {
            ", or relative mode (`memgate check --base-ref <ref>`), where both sides run interleaved on one machine"
        } else {
            ""
        };
        format!(
            "{n} inconclusive: too few runs to tell a change from noise; {runs} would decide them{relative}"
        )
    })
}

/// The parity rules' verdicts: a table (reference as baseline, candidate
/// as current) and the reason of every verdict that is not "unchanged".
fn parity(v: &Verdicts, color: bool, w: &mut dyn Write) -> io::Result<()> {
    if v.parity.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "\nparity: each candidate against its reference, same run"
    )?;
    let header = [
        "rule",
        "metric",
        "reference",
        "candidate",
        "change",
        "p",
        "verdict",
    ]
    .map(String::from);
    verdict_rows(header, &v.parity, color, w)?;
    for x in v.parity.iter().filter(|x| x.status != Status::Unchanged) {
        writeln!(
            w,
            "{} parity {}: {}",
            paint(x.status.as_str(), x.status, color),
            escape::terminal(&format!("{}/{}", x.workload, x.metric)),
            escape::terminal(&x.reason)
        )?;
    }
    Ok(())
}

/// "gate passed: ..." or "gate FAILED: ...", with the counts.
pub fn summary_line(v: &Verdicts) -> String {
    let t = &v.tally;
    let mut parts = Vec::new();
    for (n, what) in [
        (t.failed_workloads, "failed workloads"),
        (t.parity_breaches, "parity breaches"),
        (t.over_budget, "over budget"),
        (t.regressions, "regressions"),
        (t.failed, "not measured (workload failed)"),
        (t.missing, "missing"),
        (t.accepted, "accepted"),
        (t.warnings, "warnings"),
        (t.inconclusive, "inconclusive"),
        (t.removed, "removed"),
        (t.new, "new"),
        (t.improvements, "improvements"),
        (t.unchanged, "unchanged"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    let head = if t.passed {
        "gate passed"
    } else {
        "gate FAILED"
    };
    if t.compared() == 0 {
        parts.push("nothing was compared with the baseline".into());
    }
    format!("{head}: {}", parts.join(", "))
}

/// `memgate explain`: the verdict, then every site whose figure changed,
/// largest growth first.
pub fn explain(v: &Verdict, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "{} {}: {}",
        v.status,
        escape::terminal(&format!("{}/{}", v.workload, v.metric)),
        escape::terminal(&v.full_reason())
    )?;
    let Some(a) = &v.attribution else {
        return writeln!(
            w,
            "no allocation sites: only a memory metric that regressed or broke its budget has them"
        );
    };
    if let Some(note) = &a.note {
        writeln!(w, "{}", escape::terminal(note))?;
    }
    if a.sites.is_empty() {
        return Ok(());
    }
    writeln!(w, "where it changed, {} ({}):", a.figure, a.profiles)?;
    let unit = match a.measure {
        crate::attribution::Measure::AllocObjects => crate::metrics::Unit::Count,
        _ => crate::metrics::Unit::Bytes,
    };
    let header = ["site", "baseline", "current", "change", "share", ""].map(String::from);
    let mut rows = vec![header];
    for s in &a.sites {
        let sign = if s.change > 0.0 { "+" } else { "-" };
        rows.push([
            escape::terminal(&s.named(false)),
            human(unit, s.baseline),
            human(unit, s.current),
            format!("{sign}{}", human(unit, s.change.abs())),
            s.share.map_or("-".into(), |x| format!("{:.1}%", x * 100.0)),
            match s.status {
                crate::attribution::SiteStatus::New => "new".into(),
                crate::attribution::SiteStatus::Vanished => "gone".into(),
                crate::attribution::SiteStatus::Both => String::new(),
            },
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, width))| {
                let pad = " ".repeat(width - c.chars().count());
                if i == 0 || i == 5 {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect();
        writeln!(w, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}

/// The three sites that grew most behind a failing verdict, on one line.
fn grew_line(v: &Verdict) -> Option<String> {
    let a = v.attribution.as_ref()?;
    if let Some(note) = &a.note {
        return Some(format!("where it grew: {note}"));
    }
    let unit = match a.measure {
        crate::attribution::Measure::AllocObjects => crate::metrics::Unit::Count,
        _ => crate::metrics::Unit::Bytes,
    };
    let top: Vec<String> = a
        .sites
        .iter()
        .filter(|s| s.change > 0.0)
        .take(3)
        .map(|s| {
            let share = s
                .share
                .map_or(String::new(), |x| format!(", {:.0}%", x * 100.0));
            format!("{} +{}{share}", s.named(false), human(unit, s.change))
        })
        .collect();
    (!top.is_empty()).then(|| {
        format!(
            "where it grew ({}): {}; `memgate explain {} {}` lists every site",
            a.figure,
            top.join(", "),
            v.workload,
            v.metric
        )
    })
}
