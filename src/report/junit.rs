//! JUnit XML, so CI test-report views show the gate: one test suite per
//! workload, one test case per (workload, metric); regressions and budget
//! breaches, missing metrics and failed workloads are failures,
//! inconclusive, removed and new metrics are skipped,
//! warnings and accepted increases pass with the reason in system-out.
//! Parity rules have a suite of their own, and a gate that compared
//! nothing is a failing test case: JUnit is green only when the gate is.

use std::io::Write;

use super::escape;
use super::{Render, ReportError, Row};
use crate::verdicts::{Status, Verdicts};

/// The JUnit renderer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Junit;

/// One failing test case per workload whose build or runs failed.
fn failed_workloads(v: &Verdicts, w: &mut dyn Write) -> Result<(), ReportError> {
    if v.failed_workloads.is_empty() {
        return Ok(());
    }
    let n = v.failed_workloads.len();
    writeln!(
        w,
        r#"  <testsuite name="builds and runs" tests="{n}" failures="{n}" skipped="0">"#
    )?;
    for f in &v.failed_workloads {
        writeln!(
            w,
            r#"    <testcase classname="memgate.runs" name="{}" time="0"><failure type="failed" message="{}"/></testcase>"#,
            escape::xml(&f.workload),
            escape::xml(&f.reason)
        )?;
    }
    writeln!(w, "  </testsuite>")?;
    Ok(())
}

/// The parity rules' suite: a failing test case per breach.
fn parity(v: &Verdicts, w: &mut dyn Write) -> Result<(), ReportError> {
    if v.parity.is_empty() {
        return Ok(());
    }
    let f = v.parity.iter().filter(|x| x.status.fails()).count();
    writeln!(
        w,
        r#"  <testsuite name="parity" tests="{}" failures="{f}" skipped="0">"#,
        v.parity.len()
    )?;
    for x in &v.parity {
        write!(
            w,
            r#"    <testcase classname="memgate.parity" name="{}" time="0">"#,
            escape::xml(&format!("{}/{}", x.workload, x.metric))
        )?;
        if x.status.fails() {
            write!(
                w,
                r#"<failure type="parity {}" message="{}"/>"#,
                x.status,
                escape::xml(&x.full_reason())
            )?;
        } else {
            write!(
                w,
                "<system-out>{}</system-out>",
                escape::xml(&x.full_reason())
            )?;
        }
        writeln!(w, "</testcase>")?;
    }
    writeln!(w, "  </testsuite>")?;
    Ok(())
}

/// A failing test case when nothing was compared with the baseline.
fn nothing_compared(v: &Verdicts, w: &mut dyn Write) -> Result<(), ReportError> {
    if v.tally.compared() > 0 {
        return Ok(());
    }
    writeln!(
        w,
        r#"  <testsuite name="gate" tests="1" failures="1" skipped="0">"#
    )?;
    writeln!(
        w,
        r#"    <testcase classname="memgate.gate" name="compared" time="0"><failure type="nothing-compared" message="no metric was measured on both sides: the gate cannot pass without looking"/></testcase>"#
    )?;
    writeln!(w, "  </testsuite>")?;
    Ok(())
}

impl Render for Junit {
    fn render(&self, v: &Verdicts, w: &mut dyn Write) -> Result<(), ReportError> {
        let names = v.workload_names();
        let nothing = usize::from(v.tally.compared() == 0);
        let breaches = v.parity.iter().filter(|x| x.status.fails()).count();
        let failures = v.verdicts.iter().filter(|x| x.status.fails()).count()
            + v.failed_workloads.len()
            + breaches
            + nothing;
        let tests = v.verdicts.len() + v.failed_workloads.len() + v.parity.len() + nothing;
        writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            w,
            r#"<testsuites name="memgate" tests="{tests}" failures="{failures}">"#
        )?;
        failed_workloads(v, w)?;
        nothing_compared(v, w)?;
        parity(v, w)?;
        for name in names {
            let mine: Vec<_> = v.verdicts.iter().filter(|x| x.workload == name).collect();
            let f = mine.iter().filter(|x| x.status.fails()).count();
            let skipped = mine
                .iter()
                .filter(|x| {
                    matches!(
                        x.status,
                        Status::Inconclusive | Status::Removed | Status::New
                    )
                })
                .count();
            writeln!(
                w,
                r#"  <testsuite name="{}" tests="{}" failures="{f}" skipped="{skipped}">"#,
                escape::xml(name),
                mine.len()
            )?;
            for x in mine {
                let row = Row::of(x);
                write!(
                    w,
                    r#"    <testcase classname="memgate.{}" name="{}" time="0">"#,
                    escape::xml(name),
                    escape::xml(&x.metric)
                )?;
                let summary = format!(
                    "{}: baseline {}, current {}, change {}, p {}, threshold {}",
                    row.status, row.baseline, row.current, row.change, row.p, row.threshold
                );
                match x.status {
                    s if s.fails() => write!(
                        w,
                        r#"<failure type="{}" message="{}">{}</failure>"#,
                        x.status,
                        escape::xml(&x.full_reason()),
                        escape::xml(&summary)
                    )?,
                    Status::Inconclusive | Status::Removed | Status::New => write!(
                        w,
                        r#"<skipped message="{}"/>"#,
                        escape::xml(&format!("{}: {}", x.status, x.reason))
                    )?,
                    _ => write!(
                        w,
                        "<system-out>{}</system-out>",
                        escape::xml(&format!("{summary}; {}", x.full_reason()))
                    )?,
                }
                writeln!(w, "</testcase>")?;
            }
            writeln!(w, "  </testsuite>")?;
        }
        writeln!(w, "</testsuites>")?;
        Ok(())
    }
}
