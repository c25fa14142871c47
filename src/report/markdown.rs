//! The Markdown report for a pull request, rendered with minijinja from
//! `templates/report.md.j2` or a user's template with the same context.
//!
//! One headline, then a table per workload with regressions first and the
//! unchanged rows folded into a `<details>` block, an RSS chart (Mermaid)
//! of each side's median run, and the environments. Every interpolated
//! string is escaped for Markdown and HTML unless the template marks it
//! `|safe`. The report ends with a hidden marker line so a workflow can
//! update one sticky comment, and stays under GitHub's comment limit by
//! folding whole parts, never by cutting a table.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, context};

use super::escape;
use super::{Render, ReportError, Row};
use crate::units::human;
use crate::verdicts::{Softened, Status, TimelinePair, Verdict, Verdicts};

/// The built-in template.
pub const BUILTIN_TEMPLATE: &str = include_str!("templates/report.md.j2");

/// The hidden line a workflow looks for to update its comment in place.
pub const MARKER: &str = "<!-- memgate-report -->";

/// GitHub's limit for a comment body, in characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// A writer that refuses the first byte past `cap`, and says so.
struct Capped {
    bytes: Vec<u8>,
    cap: usize,
    over: bool,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > self.cap {
            self.over = true;
            return Err(std::io::Error::other("the report is too long"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The most characters of one string from the verdicts a report shows
/// (a reason, a path, an environment field); beyond, it is cut with `…`,
/// so that no one field can hold the report over GitHub's limit when
/// everything else is folded.
const FIELD_LIMIT: usize = 1_000;

/// `text`, cut to [`FIELD_LIMIT`] characters.
fn bounded(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(FIELD_LIMIT) {
        Some((end, _)) => format!("{}…", &text[..end]).into(),
        None => text.into(),
    }
}

/// Instructions one render of a template may run.
const TEMPLATE_FUEL: u64 = 20_000_000;

/// The Markdown renderer.
#[derive(Debug, Clone)]
pub struct Markdown {
    template: String,
    source: PathBuf,
    /// Largest report, in characters; parts are folded to fit.
    pub max_len: usize,
    /// Why the verdict is only advisory (the pull request can change what
    /// decides it), said above everything else; `advisory` in the context.
    pub advisory: Option<String>,
}

impl Default for Markdown {
    fn default() -> Self {
        Markdown {
            template: BUILTIN_TEMPLATE.to_owned(),
            source: PathBuf::from("built-in"),
            max_len: GITHUB_COMMENT_LIMIT,
            advisory: None,
        }
    }
}

impl Markdown {
    /// A renderer using the user's template at `path`.
    pub fn with_template(path: &Path) -> Result<Markdown, ReportError> {
        let template = std::fs::read_to_string(path).map_err(|e| ReportError::Template {
            path: path.to_owned(),
            line: None,
            message: format!("cannot read it: {e}"),
        })?;
        let md = Markdown {
            template,
            source: path.to_owned(),
            max_len: GITHUB_COMMENT_LIMIT,
            advisory: None,
        };
        md.env()?;
        Ok(md)
    }

    fn template_error(&self, e: &minijinja::Error) -> ReportError {
        let message = if e.kind() == minijinja::ErrorKind::OutOfFuel {
            format!(
                "ran more than {TEMPLATE_FUEL} instructions, the most a template may (a loop without end?)"
            )
        } else {
            e.detail()
                .map(str::to_owned)
                .unwrap_or_else(|| e.kind().to_string())
        };
        ReportError::Template {
            path: self.source.clone(),
            line: e.line(),
            message,
        }
    }

    fn env(&self) -> Result<Environment<'_>, ReportError> {
        let mut env = Environment::new();
        // A template is a program: a loop of 10,000 x 10,000 ran for
        // minutes and wrote 100 MB. Fuel bounds the instructions one render
        // runs (minijinja's `fuel` feature); the built-in template on
        // 20,000 failing verdicts needs a fraction of it.
        env.set_fuel(Some(TEMPLATE_FUEL));
        // Escape everything that is not marked safe, as Markdown-and-HTML.
        env.set_auto_escape_callback(|_| AutoEscape::Custom("markdown".into()));
        env.set_formatter(|out, state, value| {
            if value.is_safe() || *state.auto_escape() == AutoEscape::None {
                return minijinja::escape_formatter(out, state, value);
            }
            let text = match value.as_str() {
                Some(s) => escape::markdown(&bounded(s)),
                None => escape::markdown(&bounded(&value.to_string())),
            };
            out.write_str(&text).map_err(minijinja::Error::from)
        });
        env.add_template("report", &self.template)
            .map_err(|e| self.template_error(&e))?;
        Ok(env)
    }

    /// Renders at one folding level: 0 everything; 1 unchanged rows
    /// counted, not listed; 2 also no charts; 3 also only workloads with
    /// something to report, and at most `max_workloads` of them. `None`
    /// when the text would not fit `max_len`: rendering stops at the first
    /// byte past 4 x `max_len` (a character is at most 4 bytes), so no
    /// template writes without bound.
    fn render_level(
        &self,
        v: &Verdicts,
        level: u8,
        max_workloads: usize,
    ) -> Result<Option<String>, ReportError> {
        let env = self.env()?;
        let tmpl = env
            .get_template("report")
            .map_err(|e| self.template_error(&e))?;
        let mut out = Capped {
            bytes: Vec::new(),
            cap: self.max_len.saturating_mul(4),
            over: false,
        };
        let ctx =
            context! { advisory => self.advisory.clone(), ..context(v, level, max_workloads) };
        let rendered = tmpl.render_captured_to(ctx, &mut out);
        if out.over {
            return Ok(None);
        }
        rendered.map_err(|e| self.template_error(&e))?;
        let text = squeeze_blank_lines(&String::from_utf8_lossy(&out.bytes));
        Ok((text.chars().count() <= self.max_len).then_some(text))
    }

    /// The report, folded as far as needed to fit `max_len`: whole parts
    /// are left out, never part of a table; an error when even the text
    /// with every workload left out is longer (a template of its own).
    pub fn render_string(&self, v: &Verdicts) -> Result<String, ReportError> {
        for level in 0..=3 {
            if let Some(out) = self.render_level(v, level, usize::MAX)? {
                return Ok(out);
            }
        }
        // Still too long: list fewer workloads, worst first.
        let mut cap = v.verdicts.len();
        while cap > 0 {
            cap /= 2;
            if let Some(out) = self.render_level(v, 3, cap)? {
                return Ok(out);
            }
        }
        Err(ReportError::Template {
            path: self.source.clone(),
            line: None,
            message: format!(
                "the report is longer than {} characters (--max-chars; a GitHub comment holds {GITHUB_COMMENT_LIMIT}) even with every workload left out",
                self.max_len
            ),
        })
    }
}

impl Render for Markdown {
    fn render(&self, v: &Verdicts, w: &mut dyn Write) -> Result<(), ReportError> {
        w.write_all(self.render_string(v)?.as_bytes())?;
        Ok(())
    }
}

/// Template blocks leave blank lines behind: keep at most one in a row.
fn squeeze_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.trim_start_matches('\n').lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The headline: icon and one sentence.
pub(super) fn headline(v: &Verdicts) -> (&'static str, String) {
    let t = &v.tally;
    if t.compared() == 0 && v.failed_workloads.is_empty() {
        return (
            "❌",
            "gate failed: nothing was compared with the baseline".into(),
        );
    }
    if !v.failed_workloads.is_empty() {
        return (
            "❌",
            format!(
                "{} workload(s) failed to build or run",
                v.failed_workloads.len()
            ),
        );
    }
    if !t.passed {
        let mut parts = Vec::new();
        if t.regressions > 0 {
            parts.push(format!("{} regression(s)", t.regressions));
        }
        if t.over_budget > 0 {
            parts.push(format!("{} over budget", t.over_budget));
        }
        if t.missing > 0 {
            parts.push(format!("{} missing metric(s)", t.missing));
        }
        if t.parity_breaches > 0 {
            parts.push(format!("{} parity breach(es)", t.parity_breaches));
        }
        return ("❌", format!("gate failed: {}", parts.join(", ")));
    }
    let compared = v.verdicts.len();
    if t.inconclusive > 0 {
        return (
            "⚠️",
            format!(
                "passed, but {} of {compared} metrics were inconclusive (too few runs)",
                t.inconclusive
            ),
        );
    }
    let mut extra = Vec::new();
    if t.improvements > 0 {
        extra.push(format!("{} improvement(s)", t.improvements));
    }
    if t.accepted > 0 {
        extra.push(format!("{} accepted increase(s)", t.accepted));
    }
    if t.warnings > 0 {
        extra.push(format!("{} warning(s)", t.warnings));
    }
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!("; {}", extra.join(", "))
    };
    (
        "✅",
        format!("no memory regressions in {compared} metrics{extra}"),
    )
}

/// The chart's line colours, named in its legend (Mermaid's xychart has
/// no legend of its own).
const BASELINE_COLOUR: &str = "#1f6feb";
const CURRENT_COLOUR: &str = "#d1242f";

/// Most points of one chart line.
const CHART_POINTS: usize = 120;

/// A Mermaid line chart of both sides' median-run RSS, in MiB, on a common
/// time axis; the title keeps only harmless characters of the name.
fn chart(t: &TimelinePair) -> Option<String> {
    let base = t.baseline.as_ref();
    let cur = t.current.as_ref();
    let len = base
        .map_or(0, |b| b.rss_bytes.len())
        .max(cur.map_or(0, |c| c.rss_bytes.len()));
    if len < 2 {
        return None;
    }
    let step_ms = base.or(cur).map_or(10.0, |x| x.interval_seconds * 1e3);
    // The gate keeps 60 points; a verdicts file from elsewhere may hold
    // any number: the chart shows at most CHART_POINTS.
    let every = len.div_ceil(CHART_POINTS).max(1);
    // Each line has its own run's points: the shorter run's line ends
    // where its run ended (no made-up zeros after it).
    let series = |tl: Option<&crate::results::Timeline>| -> Option<String> {
        let rss = &tl?.rss_bytes;
        (!rss.is_empty()).then(|| {
            rss.iter()
                .step_by(every)
                .map(|b| format!("{:.1}", *b as f64 / 1048576.0))
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    let ticks: Vec<String> = (0..len)
        .step_by(every)
        .map(|i| format!("{:.0}", i as f64 * step_ms * thinning(t)))
        .collect();
    let title: String = t
        .workload
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || " ._-/".contains(*c))
        .collect();
    let lines: String = [(series(base), "baseline"), (series(cur), "current")]
        .into_iter()
        .filter_map(|(s, _)| s.map(|s| format!("    line [{s}]\n")))
        .collect();
    let legend = match (base.is_some(), cur.is_some()) {
        (true, true) => "blue: baseline, red: current",
        (true, false) => "blue: baseline",
        _ => "red: current",
    };
    let palette = match (base.is_some(), cur.is_some()) {
        (false, true) => CURRENT_COLOUR.to_owned(),
        _ => format!("{BASELINE_COLOUR}, {CURRENT_COLOUR}"),
    };
    Some(format!(
        "```mermaid\n%%{{init: {{\"themeVariables\": {{\"xyChart\": {{\"plotColorPalette\": \"{palette}\"}}}}}}}}%%\nxychart-beta\n    title \"RSS of the median run: {title}\"\n    x-axis \"ms\" [{}]\n    y-axis \"MiB\"\n{lines}```\nRSS in MiB over each median run's time; {legend}",
        ticks.join(", "),
    ))
}

/// How many recorded samples one chart point stands for.
fn thinning(t: &TimelinePair) -> f64 {
    let tl = t.baseline.as_ref().or(t.current.as_ref());
    match tl {
        // A verdicts file is input: its ticks may run backwards and its
        // interval may be zero; neither may wrap or divide by zero.
        Some(x) if x.t_us.len() >= 2 && x.interval_seconds > 0.0 => {
            let span = x.t_us[x.t_us.len() - 1].saturating_sub(x.t_us[0]) as f64 / 1e3;
            let per = span / (x.t_us.len() - 1) as f64;
            let k = per / (x.interval_seconds * 1e3);
            if k.is_finite() { k.max(1.0) } else { 1.0 }
        }
        _ => 1.0,
    }
}

fn environment_rows(v: &Verdicts) -> Vec<Value> {
    let (Some(b), Some(c)) = (
        v.baseline.environments.first(),
        v.current.environments.first(),
    ) else {
        return Vec::new();
    };
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let rows: Vec<(&str, String, String)> = vec![
        ("OS", opt(&b.os_release), opt(&c.os_release)),
        ("kernel", opt(&b.kernel), opt(&c.kernel)),
        (
            "CPU",
            format!(
                "{} ({} cores)",
                opt(&b.cpu_model),
                b.cores.map_or("?".into(), |n| n.to_string())
            ),
            format!(
                "{} ({} cores)",
                opt(&c.cpu_model),
                c.cores.map_or("?".into(), |n| n.to_string())
            ),
        ),
        (
            "memory",
            b.memory_bytes
                .map_or("-".into(), |m| human(crate::metrics::Unit::Bytes, m as f64)),
            c.memory_bytes
                .map_or("-".into(), |m| human(crate::metrics::Unit::Bytes, m as f64)),
        ),
        ("rustc", opt(&b.rustc), opt(&c.rustc)),
        ("go", opt(&b.go), opt(&c.go)),
        (
            "commit",
            b.git.as_ref().map_or("-".into(), |g| {
                format!(
                    "{}{}",
                    &g.commit[..g.commit.len().min(12)],
                    if g.dirty { " (dirty)" } else { "" }
                )
            }),
            c.git.as_ref().map_or("-".into(), |g| {
                format!(
                    "{}{}",
                    &g.commit[..g.commit.len().min(12)],
                    if g.dirty { " (dirty)" } else { "" }
                )
            }),
        ),
        (
            "THP",
            b.thp.as_ref().map_or("-".into(), |t| t.enabled.clone()),
            c.thp.as_ref().map_or("-".into(), |t| t.enabled.clone()),
        ),
    ];
    rows.into_iter()
        .map(|(field, baseline, current)| context! { field, baseline, current })
        .collect()
}

/// The rows of one workload's verdicts, with a metric whose samples are
/// the same as another's of its family (`gc.pause.max` and `gc.pause.p99`
/// when a run had fewer than 100 pauses) shown once, as `gc.pause.max =
/// p99`, and each warning citing its cause's note.
fn rows(verdicts: &[&Verdict], causes: &[Softened]) -> Vec<Row> {
    let family = |m: &str| {
        m.rsplit_once('.')
            .map_or(m.to_owned(), |(f, _)| f.to_owned())
    };
    let mut out: Vec<(Row, &Verdict)> = Vec::new();
    for v in verdicts {
        let twin = out.iter_mut().find(|(_, o)| {
            o.status == v.status
                && o.unit == v.unit
                && family(&o.metric) == family(&v.metric)
                && !v.baseline_samples.is_empty()
                && o.baseline_samples == v.baseline_samples
                && o.current_samples == v.current_samples
        });
        if let Some((row, _)) = twin {
            let last = v.metric.rsplit('.').next().unwrap_or(&v.metric);
            row.metric.push_str(&format!(" = {last}"));
            continue;
        }
        let mut row = Row::of(v);
        if let Some(i) = v
            .softened
            .as_ref()
            .and_then(|s| causes.iter().position(|c| c == s))
        {
            row.cause = format!("[{}]", i + 1);
        }
        out.push((row, v));
    }
    out.into_iter().map(|(r, _)| r).collect()
}

/// The environment differences, one line per (field, baseline, current)
/// with the workloads it applies to.
fn grouped_differences(v: &Verdicts) -> Vec<Value> {
    let mut groups: Vec<(&str, &str, &str, Vec<&str>)> = Vec::new();
    for d in &v.environment_differences {
        match groups
            .iter_mut()
            .find(|g| g.0 == d.field && g.1 == d.baseline && g.2 == d.current)
        {
            Some(g) => g.3.push(&d.workload),
            None => groups.push((&d.field, &d.baseline, &d.current, vec![&d.workload])),
        }
    }
    groups
        .into_iter()
        .map(|(field, baseline, current, workloads)| {
            context! { field, baseline, current, workloads => workloads.join(", ") }
        })
        .collect()
}

/// Sites shown per "where it grew" block; verdicts.json has them all.
const SITES_SHOWN: usize = 5;

/// The "where it grew" blocks of a workload's failing verdicts: one per
/// site figure, titled by the first metric it explains (whose change the
/// shares are of) and naming the others, with the sites that grew most.
pub fn where_it_grew(failing: &[&Verdict]) -> Vec<Value> {
    let mut blocks: Vec<(crate::attribution::Measure, Vec<&Verdict>)> = Vec::new();
    for v in failing {
        let Some(a) = &v.attribution else { continue };
        match blocks.iter_mut().find(|(m, _)| *m == a.measure) {
            Some((_, vs)) => vs.push(v),
            None => blocks.push((a.measure, vec![v])),
        }
    }
    blocks
        .into_iter()
        .filter_map(|(_, vs)| {
            let first = vs[0];
            let a = first.attribution.as_ref()?;
            let unit = match a.measure {
                crate::attribution::Measure::AllocObjects => crate::metrics::Unit::Count,
                _ => crate::metrics::Unit::Bytes,
            };
            let also: Vec<&str> = vs[1..].iter().map(|v| v.metric.as_str()).collect();
            let also = if also.is_empty() {
                String::new()
            } else {
                format!(", as for {}", also.join(", "))
            };
            // Without profiles there are no shares to speak of.
            let of = if a.profiles.is_empty() {
                String::new()
            } else {
                format!(" ({}; shares of {}'s change)", a.profiles, first.metric)
            };
            let title = format!("{}: {}{also}{of}", first.metric, a.figure);
            let sites: Vec<Value> = a
                .sites
                .iter()
                .filter(|s| s.change > 0.0)
                .take(SITES_SHOWN)
                .map(|s| {
                    let mark = match s.status {
                        crate::attribution::SiteStatus::New => " (new)",
                        crate::attribution::SiteStatus::Vanished => " (gone)",
                        crate::attribution::SiteStatus::Both => "",
                    };
                    context! {
                        site => format!("{}{mark}", s.named(true)),
                        baseline => human(unit, s.baseline),
                        current => human(unit, s.current),
                        change => format!("+{}", human(unit, s.change)),
                        share => s.share.map_or("-".into(), |x| format!("{:.0}%", x * 100.0)),
                    }
                })
                .collect();
            let note = a.note.clone().or_else(|| {
                sites
                    .is_empty()
                    .then(|| "no site's figure grew between the profiles".to_owned())
            });
            Some(context! { title, sites, note })
        })
        .collect()
}

/// The template context (documented in docs/reports.md).
fn context(v: &Verdicts, level: u8, max_workloads: usize) -> Value {
    let (icon, text) = headline(v);
    let causes = super::causes(&v.verdicts);
    // Each workload's verdicts, gathered once (a search per workload was
    // quadratic in the verdicts: 8,000 failing ones took 8 s).
    let mut by_workload: BTreeMap<&str, Vec<&Verdict>> = BTreeMap::new();
    for x in &v.verdicts {
        by_workload.entry(x.workload.as_str()).or_default().push(x);
    }
    let mut names = v.workload_names();
    // Workloads with the worst verdicts first (verdicts are sorted by status).
    names.sort_by_cached_key(|n| {
        by_workload
            .get(n)
            .and_then(|mine| mine.iter().map(|x| x.status).min())
    });
    let mut workloads = Vec::new();
    let mut omitted = 0usize;
    for name in names {
        let mine: &[&Verdict] = by_workload.get(name).map_or(&[], Vec::as_slice);
        let pick = |keep: &dyn Fn(Status) -> bool| -> Vec<&Verdict> {
            mine.iter().copied().filter(|x| keep(x.status)).collect()
        };
        let failing_verdicts = pick(&|s| s.fails());
        let grew = where_it_grew(&failing_verdicts);
        let failing = rows(&failing_verdicts, &causes);
        let notable = rows(
            &pick(&|s| !s.fails() && !matches!(s, Status::Unchanged | Status::Accepted)),
            &causes,
        );
        let unchanged = rows(&pick(&|s| s == Status::Unchanged), &causes);
        if level >= 3
            && ((failing.is_empty() && notable.is_empty()) || workloads.len() >= max_workloads)
        {
            omitted += 1;
            continue;
        }
        let chart = if level >= 2 {
            None
        } else {
            v.timelines
                .iter()
                .find(|t| t.workload == name)
                .and_then(chart)
                .map(Value::from_safe_string)
        };
        workloads.push(context! {
            name,
            failing => Value::from(Serde(&failing)),
            grew,
            notable => Value::from(Serde(&notable)),
            unchanged_count => unchanged.len(),
            unchanged => Value::from(Serde(if level >= 1 { &[][..] } else { &unchanged[..] })),
            chart,
        });
    }
    let accepted: Vec<Row> = v
        .verdicts
        .iter()
        .filter(|x| x.status == Status::Accepted)
        .map(Row::of)
        .collect();
    let cause_notes: Vec<Value> = causes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let count = v
                .verdicts
                .iter()
                .filter(|x| x.softened.as_ref() == Some(c))
                .count();
            context! { note => format!("[{}]", i + 1), count, explanation => c.explanation() }
        })
        .collect();
    let settings = format!(
        "{} comparisons, {} in the family, correction {:?}, confidence {}, strict_env {}; memgate {}.",
        v.settings.tests,
        v.settings.family,
        v.settings.correction,
        v.settings.confidence,
        v.settings.strict_env,
        v.memgate_version
    )
    .to_lowercase();
    let p_header = match v.settings.correction {
        crate::policy::Correction::Holm => "p (Holm)",
        crate::policy::Correction::None => "p",
    };
    context! {
        headline => context! { icon, text, status => if v.failed() { "fail" } else { "pass" } },
        tally => Value::from(Serde(v.tally)),
        summary => super::terminal::summary_line(v),
        sensitivity => super::sensitivity_line(v),
        causes => cause_notes,
        p_header,
        parity => Value::from(Serde(&v.parity.iter().map(Row::of).collect::<Vec<_>>())),
        workloads,
        omitted_workloads => omitted,
        accepted => Value::from(Serde(&accepted)),
        acceptance_reason => v.acceptance.as_ref().and_then(|a| a.reason.clone()),
        failed_workloads => Value::from(Serde(&v.failed_workloads)),
        env_differences => grouped_differences(v),
        environment => environment_rows(v),
        baseline => context! { source => v.baseline.source.clone(), created_at => v.baseline.created_at.clone() },
        current => context! { source => v.current.source.clone(), created_at => v.current.created_at.clone() },
        settings,
        marker => MARKER,
    }
}
