//! `memgate history add|show|drift|export`: record results by commit, print
//! one metric's history, find where metrics drifted, export it all.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::cli::HistoryCommand;
use crate::error::{Error, Outcome};
use crate::history::drift::{DriftSettings, shifts, sparkline};
use crate::history::{History, RecordId};
use crate::report::escape::terminal;
use crate::results::Results;
use crate::units::human;

/// `memgate history ...`.
pub fn history(cmd: HistoryCommand) -> Result<Outcome, Error> {
    match cmd {
        HistoryCommand::Add {
            results,
            commit,
            accepted,
            reason,
            history,
        } => add(
            &results,
            commit.as_deref(),
            (&accepted, reason.as_deref()),
            &history,
        ),
        HistoryCommand::Show {
            workload,
            metric,
            last,
            history,
        } => show(&workload, &metric, last, &history),
        HistoryCommand::Drift {
            workload,
            metric,
            min_segment,
            min_change,
            window,
            history,
        } => drift(
            workload.as_deref(),
            metric.as_deref(),
            DriftSettings {
                min_segment: min_segment as usize,
                min_change: min_change.0,
                window: window as usize,
            },
            &history,
        ),
        HistoryCommand::Export {
            workload,
            metric,
            output,
            history,
        } => {
            let h = History::open(&history, false)?;
            let text = crate::history::export::openmetrics(&h.series(
                workload.as_deref(),
                metric.as_deref(),
                None,
            )?);
            match output {
                Some(path) => {
                    crate::atomic::check_outputs(
                        &[("the history", history.as_path())],
                        &[("-o", path.as_path())],
                    )?;
                    crate::atomic::write(&path, text.as_bytes())?;
                    crate::say!("memgate: wrote {}", path.display());
                }
                None => std::io::stdout()
                    .lock()
                    .write_all(text.as_bytes())
                    .map_err(Error::Stdout)?,
            }
            Ok(Outcome::Pass)
        }
    }
}

/// Records each results file in the history at `db`, oldest first (by
/// when each was written), in one transaction each; says what it stored.
fn add(
    results: &[PathBuf],
    commit: Option<&str>,
    (accepted, reason): (&[String], Option<&str>),
    db: &Path,
) -> Result<Outcome, Error> {
    if (commit.is_some() || !accepted.is_empty()) && results.len() > 1 {
        return Err(Error::History(crate::history::HistoryError::CommitForMany));
    }
    let accepted = accepted
        .iter()
        .map(|a| match a.split_once(':') {
            Some((w, m)) if !w.is_empty() && !m.is_empty() => Ok((w.to_owned(), m.to_owned())),
            _ => Err(Error::History(crate::history::HistoryError::NotAMetric(
                a.clone(),
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Every file is checked before anything is recorded; each is read
    // again when its turn comes, so a branch's thousands of baselines are
    // never all in memory.
    let mut order = Vec::with_capacity(results.len());
    for path in results {
        let r = Results::read(path)?;
        order.push((RecordId::of(path, &r, commit)?.date, path));
    }
    order.sort();
    let mut h = History::open(db, true)?;
    for (_, path) in order {
        let r = Results::read(path)?;
        let id = RecordId::of(path, &r, commit)?;
        let added = h.add(&r, &id)?;
        crate::say!(
            "memgate: recorded {} metric summaries ({} with their samples) of commit {} from {} in {}{}",
            added.summaries,
            added.with_samples,
            terminal(&id.sha),
            path.display(),
            db.display(),
            if added.replaced {
                ", replacing its earlier record"
            } else {
                ""
            }
        );
        if !accepted.is_empty() {
            let marked = h.accept(&r, &id.sha, &accepted, reason.unwrap_or("accepted"))?;
            crate::say!(
                "memgate: marked {marked} of {} accepted increase(s) at {}: drift budgets count from here",
                accepted.len(),
                terminal(&id.sha)
            );
        }
    }
    Ok(Outcome::Pass)
}

fn show(workload: &str, metric: &str, last: usize, db: &Path) -> Result<Outcome, Error> {
    let h = History::open(db, false)?;
    // The level changes are found over the default window's commits.
    let all = h.series(
        Some(workload),
        Some(metric),
        Some(last.max(DriftSettings::default().window)),
    )?;
    if all.is_empty() {
        return Err(Error::NoSuchVerdict(format!(
            "{} has no history of {}/{}",
            db.display(),
            terminal(workload),
            terminal(metric)
        )));
    }
    let mut out = std::io::stdout().lock();
    for s in all {
        let found = shifts(&s, DriftSettings::default());
        let start = s.points.len().saturating_sub(last);
        let points = &s.points[start..];
        let medians: Vec<f64> = points.iter().map(|p| p.summary.median).collect();
        writeln!(
            out,
            "{}/{} on {}: {} commits\n  {}",
            terminal(&s.workload),
            terminal(&s.metric),
            terminal(&s.environment),
            s.points.len(),
            sparkline(&medians)
        )
        .map_err(Error::Stdout)?;
        writeln!(
            out,
            "  {:<12}  {:<20}  {:>4}  {:>12}  {:>12}  {:>12}  level",
            "commit", "date", "n", "median", "min", "max"
        )
        .map_err(Error::Stdout)?;
        for p in points {
            let mut moved = found
                .iter()
                .find(|f| f.to_sha == p.sha)
                .map(|f| format!("{:+.1}% from here", f.change * 100.0))
                .unwrap_or_default();
            if let Some(why) = &p.accepted {
                moved = format!("{moved} accepted: {}", terminal(why))
                    .trim()
                    .to_owned();
            }
            writeln!(
                out,
                "  {:<12}  {:<20}  {:>4}  {:>12}  {:>12}  {:>12}  {}",
                terminal(&p.sha.chars().take(12).collect::<String>()),
                terminal(&p.date.chars().take(20).collect::<String>()),
                p.summary.n,
                human(s.unit, p.summary.median),
                human(s.unit, p.summary.min),
                human(s.unit, p.summary.max),
                moved
            )
            .map_err(Error::Stdout)?;
        }
    }
    Ok(Outcome::Pass)
}

fn drift(
    workload: Option<&str>,
    metric: Option<&str>,
    settings: DriftSettings,
    db: &Path,
) -> Result<Outcome, Error> {
    let h = History::open(db, false)?;
    let all = h.series(workload, metric, Some(settings.window))?;
    // Each series is searched on its own: spread over the cores.
    let found = crate::parallel::map(&all, 1, |s| shifts(s, settings));
    let mut out = std::io::stdout().lock();
    let mut count = 0;
    for (s, shifted) in all.iter().zip(found) {
        for f in shifted {
            count += 1;
            writeln!(
                out,
                "{} {}/{} on {}: {:+.1}% ({} -> {}) between {} and {} ({})",
                if f.worse { "worse " } else { "better" },
                terminal(&s.workload),
                terminal(&s.metric),
                terminal(&s.environment),
                f.change * 100.0,
                human(s.unit, f.before),
                human(s.unit, f.after),
                terminal(&f.from_sha.chars().take(12).collect::<String>()),
                terminal(&f.to_sha.chars().take(12).collect::<String>()),
                terminal(&f.date)
            )
            .map_err(Error::Stdout)?;
        }
    }
    crate::say!(
        "memgate: {count} level change{} in {} series (PELT, segments of at least {} commits, moves of at least {:.1}%, the last {} commits)",
        if count == 1 { "" } else { "s" },
        all.len(),
        settings.min_segment,
        settings.min_change * 100.0,
        settings.window
    );
    Ok(Outcome::Pass)
}
