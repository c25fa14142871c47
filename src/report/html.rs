//! One self-contained HTML report: no script and no network request (a
//! Content-Security-Policy that forbids every fetch says so to the
//! browser), inline CSS for light, dark and print, and inline SVG charts
//! drawn here, each with a text alternative (`role="img"`, `<title>`):
//!
//! - the headline, the summary line and the sensitivity ("would have
//!   caught") first;
//! - for each failing or warning metric: both sides' runs as a strip plot
//!   on one axis, with the tolerance band above the baseline's median; the
//!   workload's RSS timelines over the run, both sides; the history's last
//!   commits with the changes of level, when the verdicts carry them; for
//!   a metric with allocation sites, a differential icicle of their call
//!   paths (the program's frames, outermost on top; width both sides'
//!   figures together, colour grown, shrunk, appeared or disappeared,
//!   shade the size of the change) with the sites table under it;
//! - the environment differences and the settings; every verdict in a
//!   folded table.
//!
//! Drawn by hand: a few dozen lines of SVG per chart, where a plotting
//! crate would add its build time and its size for a strip, a line and a
//! row of rectangles.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::escape::xml as esc;
use super::{Render, ReportError, Row};
use crate::metrics::Better;
use crate::results::Timeline;
use crate::units::human;
use crate::verdicts::{Status, Verdict, Verdicts};

/// The HTML renderer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Html;

impl Render for Html {
    fn render(&self, v: &Verdicts, w: &mut dyn std::io::Write) -> Result<(), ReportError> {
        w.write_all(render_string(v).as_bytes())?;
        Ok(())
    }
}

const CSS: &str = "
:root{color-scheme:light dark;--fg:#1f2328;--bg:#fff;--muted:#59636e;--line:#d1d9e0;--base:#1f6feb;--cur:#d1242f;--band:rgba(31,111,235,.12);--grown:#d1242f;--shrunk:#1a7f37;--new:#bc4c00;--gone:#818b98}
@media (prefers-color-scheme:dark){:root{--fg:#f0f6fc;--bg:#0d1117;--muted:#9198a1;--line:#3d444d;--base:#4493f8;--cur:#f85149;--band:rgba(68,147,248,.18);--grown:#f85149;--shrunk:#3fb950;--new:#db6d28;--gone:#656c76}}
body{font:14px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg);max-width:1100px;margin:2em auto;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid var(--line)}
.muted{color:var(--muted)}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid var(--line);padding:2px 8px;text-align:left}
td.n{text-align:right}.badge{font-weight:600}.fail{color:var(--cur)}.warn{color:var(--new)}.pass{color:var(--shrunk)}
svg{display:block;margin:.5em 0;max-width:100%}svg text{fill:var(--fg);font-size:11px}
.b{fill:var(--base)}.c{fill:var(--cur)}.band{fill:var(--band)}.axis{stroke:var(--line)}
.lb{fill:none;stroke:var(--base);stroke-width:1.5}.lc{fill:none;stroke:var(--cur);stroke-width:1.5}
.grown{fill:var(--grown)}.shrunk{fill:var(--shrunk)}.new{fill:var(--new)}.gone{fill:var(--gone)}.same{fill:var(--muted)}
@media print{details{display:block}details>summary{display:none}body{max-width:none}}
";

/// The report as one HTML document.
pub fn render_string(v: &Verdicts) -> String {
    let (_, headline) = super::markdown::headline(v);
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>memgate: {}</title><style>{CSS}</style></head><body>\
         <h1 class=\"{}\">memgate: {}</h1><p>{}</p>",
        esc(&headline),
        if v.tally.passed { "pass" } else { "fail" },
        esc(&headline),
        esc(&super::terminal::summary_line(v))
    );
    if let Some(line) = super::sensitivity_line(v) {
        let _ = write!(h, "<p class=\"muted\">{}</p>", esc(&line));
    }
    for f in &v.failed_workloads {
        let _ = write!(
            h,
            "<p class=\"fail\">failed: {}: {}</p>",
            esc(&f.workload),
            esc(&f.reason)
        );
    }
    for x in v
        .verdicts
        .iter()
        .filter(|x| x.status.fails() || x.status == Status::Warning)
    {
        verdict_section(&mut h, x, v);
    }
    environment(&mut h, v);
    all_verdicts(&mut h, v);
    h.push_str("</body></html>\n");
    h
}

fn verdict_section(h: &mut String, x: &Verdict, v: &Verdicts) {
    let class = if x.status.fails() { "fail" } else { "warn" };
    let _ = write!(
        h,
        "<section><h2>{}/{} <span class=\"badge {class}\">{}</span></h2><p>{}</p>",
        esc(&x.workload),
        esc(&x.metric),
        esc(x.status.as_str()),
        esc(&x.full_reason())
    );
    strip_plot(h, x);
    if let Some(t) = v.timelines.iter().find(|t| t.workload == x.workload) {
        timelines(h, &x.workload, t.baseline.as_ref(), t.current.as_ref());
    }
    if let Some(t) = &x.history {
        history(h, x, &t.medians, &t.changes, &t.commits);
    }
    if let Some(a) = &x.attribution {
        if a.sites.is_empty() {
            if let Some(note) = &a.note {
                let _ = write!(h, "<p class=\"muted\">where it grew: {}</p>", esc(note));
            }
        } else {
            sites(h, x, a);
        }
    }
    h.push_str("</section>");
}

/// An x scale over `lo..hi` onto `left..right` pixels.
fn scale(lo: f64, hi: f64, left: f64, right: f64) -> impl Fn(f64) -> f64 {
    let span = if hi > lo { hi - lo } else { 1.0 };
    move |x| left + (x - lo) / span * (right - left)
}

/// Both sides' runs on one axis: baseline above, current below, the
/// tolerance band from the baseline's median the worse way.
fn strip_plot(h: &mut String, x: &Verdict) {
    let (Some(b), Some(c)) = (x.baseline, x.current) else {
        return;
    };
    let band = x.threshold.band(b.median);
    let edge = match x.better {
        Better::Lower => b.median + band,
        Better::Higher => b.median - band,
    };
    let all = x
        .baseline_samples
        .iter()
        .chain(&x.current_samples)
        .copied()
        .chain([b.median, edge]);
    let lo = all.clone().fold(f64::INFINITY, f64::min);
    let hi = all.fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.05).max(hi.abs() * 1e-9);
    let sx = scale(lo - pad, hi + pad, 110.0, 690.0);
    let (band_l, band_r) = (sx(b.median.min(edge)), sx(b.median.max(edge)));
    let _ = write!(
        h,
        "<svg class=\"strip\" width=\"700\" height=\"104\" viewBox=\"0 0 700 104\" role=\"img\" aria-label=\"{alt}\"><title>{alt}</title>\
         <rect class=\"band\" x=\"{band_l:.1}\" y=\"8\" width=\"{:.1}\" height=\"66\"/>\
         <line class=\"axis\" x1=\"110\" x2=\"690\" y1=\"80\" y2=\"80\"/>\
         <text x=\"4\" y=\"30\">baseline ({})</text><text x=\"4\" y=\"60\">current ({})</text>\
         <text x=\"110\" y=\"96\">{}</text><text x=\"690\" y=\"96\" text-anchor=\"end\">{}</text>",
        (band_r - band_l).max(1.0),
        x.baseline_samples.len(),
        x.current_samples.len(),
        esc(&human(x.unit, lo - pad)),
        esc(&human(x.unit, hi + pad)),
        alt = esc(&format!(
            "{} runs of {}: baseline median {}, current median {}; shaded: the tolerance {} from the baseline's median",
            x.current_samples.len() + x.baseline_samples.len(),
            x.metric,
            human(x.unit, b.median),
            human(x.unit, c.median),
            x.threshold.describe(x.unit)
        ))
    );
    for (samples, y, class) in [
        (&x.baseline_samples, 26.0, "b"),
        (&x.current_samples, 56.0, "c"),
    ] {
        for &s in samples.iter() {
            let _ = write!(
                h,
                "<circle class=\"{class}\" cx=\"{:.1}\" cy=\"{y}\" r=\"4\" fill-opacity=\".7\"/>",
                sx(s)
            );
        }
    }
    h.push_str("</svg>");
}

/// The median runs' RSS over time, both sides on one pair of axes.
fn timelines(h: &mut String, workload: &str, base: Option<&Timeline>, cur: Option<&Timeline>) {
    let sides: Vec<(&Timeline, &str)> = [(base, "lb"), (cur, "lc")]
        .into_iter()
        .filter_map(|(t, c)| t.filter(|t| !t.t_us.is_empty()).map(|t| (t, c)))
        .collect();
    if sides.is_empty() {
        return;
    }
    let t_max = sides
        .iter()
        .filter_map(|(t, _)| t.t_us.last().copied())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let rss_max = sides
        .iter()
        .flat_map(|(t, _)| t.rss_bytes.iter().copied())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let sx = scale(0.0, t_max, 60.0, 690.0);
    let sy = |r: f64| 150.0 - r / rss_max * 140.0;
    let alt = format!(
        "RSS of {workload} over the median run: baseline in blue, current in red, up to {} in {:.2} s",
        human(crate::metrics::Unit::Bytes, rss_max),
        t_max / 1e6
    );
    let _ = write!(
        h,
        "<svg class=\"timeline\" width=\"700\" height=\"170\" viewBox=\"0 0 700 170\" role=\"img\" aria-label=\"{a}\"><title>{a}</title>\
         <line class=\"axis\" x1=\"60\" x2=\"690\" y1=\"150\" y2=\"150\"/><line class=\"axis\" x1=\"60\" x2=\"60\" y1=\"10\" y2=\"150\"/>\
         <text x=\"56\" y=\"16\" text-anchor=\"end\">{}</text><text x=\"690\" y=\"165\" text-anchor=\"end\">{:.2} s</text>\
         <text x=\"60\" y=\"165\">RSS over the median run: <tspan class=\"b\">baseline</tspan> · <tspan class=\"c\">current</tspan></text>",
        esc(&human(crate::metrics::Unit::Bytes, rss_max)),
        t_max / 1e6,
        a = esc(&alt)
    );
    for (t, class) in sides {
        let points: Vec<String> = t
            .t_us
            .iter()
            .zip(&t.rss_bytes)
            .map(|(&us, &r)| format!("{:.1},{:.1}", sx(us as f64), sy(r as f64)))
            .collect();
        let _ = write!(
            h,
            "<polyline class=\"{class}\" points=\"{}\"/>",
            points.join(" ")
        );
    }
    h.push_str("</svg>");
}

/// The history's last commits: a line of their medians, a mark at each
/// commit where the level moved.
fn history(
    h: &mut String,
    x: &Verdict,
    medians: &[f64],
    changes: &[usize],
    commits: &(String, String),
) {
    if medians.is_empty() {
        return;
    }
    let lo = medians.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = medians.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sx = scale(0.0, (medians.len() - 1).max(1) as f64, 110.0, 690.0);
    let sy = |m: f64| {
        if hi > lo {
            70.0 - (m - lo) / (hi - lo) * 60.0
        } else {
            40.0
        }
    };
    let alt = format!(
        "{} over the last {} recorded commits ({} to {}), from {} to {}; {} change(s) of level marked",
        x.metric,
        medians.len(),
        commits.0,
        commits.1,
        human(x.unit, medians[0]),
        human(x.unit, medians[medians.len() - 1]),
        changes.len()
    );
    let points: Vec<String> = medians
        .iter()
        .enumerate()
        .map(|(i, &m)| format!("{:.1},{:.1}", sx(i as f64), sy(m)))
        .collect();
    let _ = write!(
        h,
        "<svg class=\"history\" width=\"700\" height=\"90\" viewBox=\"0 0 700 90\" role=\"img\" aria-label=\"{a}\"><title>{a}</title>\
         <text x=\"4\" y=\"44\">history</text><polyline class=\"lc\" points=\"{}\"/>",
        points.join(" "),
        a = esc(&alt)
    );
    for &i in changes.iter().filter(|&&i| i < medians.len()) {
        let _ = write!(
            h,
            "<line class=\"change\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"6\" y2=\"76\" stroke=\"var(--new)\" stroke-dasharray=\"3 2\"/>",
            x = sx(i as f64)
        );
    }
    let _ = write!(
        h,
        "<text x=\"110\" y=\"88\">{}</text><text x=\"690\" y=\"88\" text-anchor=\"end\">{}</text></svg>",
        esc(&commits.0),
        esc(&commits.1)
    );
}

/// A differential icicle of the allocation sites' call paths: the
/// program's outermost frame on top, each call below its caller, as wide
/// as both sides' figures together (so children never overflow their
/// parent), coloured by what happened to it; the table of the sites under
/// it. Without recorded call paths (results from before memgate kept
/// them), each site is a path of one frame: a single row.
fn sites(h: &mut String, x: &Verdict, a: &crate::attribution::Attribution) {
    let paths: Vec<(Vec<&str>, f64, f64)> = if a.stacks.is_empty() {
        a.sites
            .iter()
            .map(|s| (vec![s.function.as_str()], s.baseline, s.current))
            .collect()
    } else {
        a.stacks
            .iter()
            .map(|s| (s.folded.split(';').collect(), s.baseline, s.current))
            .collect()
    };
    let root = Node::of(&paths);
    if root.base + root.cur <= 0.0 {
        return;
    }
    let depth = root.depth();
    let height = depth * ROW + 24;
    let alt = format!(
        "Where {} grew: {} call paths through {} frames, {} deep, each frame as wide as its two figures together ({}), coloured grew, shrank, appeared or disappeared",
        x.metric,
        paths.len(),
        root.count() - 1,
        depth,
        a.figure
    );
    let _ = write!(
        h,
        "<svg class=\"icicle\" width=\"700\" height=\"{height}\" viewBox=\"0 0 700 {height}\" role=\"img\" aria-label=\"{a}\"><title>{a}</title>",
        a = esc(&alt)
    );
    // Shade by how much each frame changed, against the largest change.
    let most = root.most_changed().max(f64::MIN_POSITIVE);
    let scale = 700.0 / (root.base + root.cur);
    let mut left = 0.0;
    for (name, child) in root.sorted() {
        child.draw(h, name, (left, 0), scale, most);
        left += (child.base + child.cur) * scale;
    }
    let _ = write!(
        h,
        "<text x=\"0\" y=\"{}\">red: grew · green: shrank · orange: appeared · grey: disappeared</text></svg>",
        height - 6
    );
    let _ = write!(
        h,
        "<table><tr><th>site</th><th>baseline</th><th>current</th><th>change</th><th></th></tr>"
    );
    for s in &a.sites {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&s.named(false)),
            esc(&human(crate::metrics::Unit::Bytes, s.baseline)),
            esc(&human(crate::metrics::Unit::Bytes, s.current)),
            esc(&human(crate::metrics::Unit::Bytes, s.change)),
            change_kind(s.baseline, s.current).1
        );
    }
    h.push_str("</table>");
}

/// The height of one row of the icicle.
const ROW: usize = 20;

/// What happened to a frame or site: its class and its word.
fn change_kind(base: f64, cur: f64) -> (&'static str, &'static str) {
    match (base > 0.0, cur > 0.0) {
        (false, _) => ("new", "appeared"),
        (_, false) => ("gone", "disappeared"),
        _ if cur > base => ("grown", "grew"),
        _ if cur < base => ("shrunk", "shrank"),
        _ => ("same", "unchanged"),
    }
}

/// A frame of the icicle: both sides' figures along every path through
/// it, and its callees.
#[derive(Default)]
struct Node<'a> {
    base: f64,
    cur: f64,
    children: BTreeMap<&'a str, Node<'a>>,
}

impl<'a> Node<'a> {
    /// The tree of `paths` (frames outermost first, and their figures).
    fn of(paths: &[(Vec<&'a str>, f64, f64)]) -> Node<'a> {
        let mut root = Node::default();
        for (frames, b, c) in paths {
            let mut at = &mut root;
            at.base += b;
            at.cur += c;
            for f in frames {
                at = at.children.entry(f).or_default();
                at.base += b;
                at.cur += c;
            }
        }
        root
    }

    fn depth(&self) -> usize {
        self.children
            .values()
            .map(|c| 1 + c.depth())
            .max()
            .unwrap_or(0)
    }

    fn count(&self) -> usize {
        1 + self.children.values().map(Node::count).sum::<usize>()
    }

    fn most_changed(&self) -> f64 {
        self.children
            .values()
            .map(|c| (c.cur - c.base).abs().max(c.most_changed()))
            .fold(0.0, f64::max)
    }

    /// Callees, the largest first.
    fn sorted(&self) -> Vec<(&&'a str, &Node<'a>)> {
        let mut v: Vec<_> = self.children.iter().collect();
        v.sort_by(|x, y| (y.1.base + y.1.cur).total_cmp(&(x.1.base + x.1.cur)));
        v
    }

    /// Draws this frame at (`left`, row `depth`) and its callees under it.
    fn draw(&self, h: &mut String, name: &str, (left, depth): (f64, usize), scale: f64, most: f64) {
        let w = (self.base + self.cur) * scale;
        let (class, what) = change_kind(self.base, self.cur);
        let opacity = 0.3 + 0.7 * ((self.cur - self.base).abs() / most);
        let y = depth * ROW;
        let _ = write!(
            h,
            "<g><title>{}: {what}, {} → {}</title><rect class=\"{class}\" x=\"{left:.1}\" y=\"{y}\" width=\"{:.1}\" height=\"{}\" fill-opacity=\"{opacity:.2}\" stroke=\"var(--bg)\"/>",
            esc(name),
            esc(&human(crate::metrics::Unit::Bytes, self.base)),
            esc(&human(crate::metrics::Unit::Bytes, self.cur)),
            w.max(0.5),
            ROW - 2
        );
        if w > 60.0 {
            let label: String = name.chars().take((w / 7.0) as usize).collect();
            let _ = write!(
                h,
                "<text x=\"{:.1}\" y=\"{}\">{}</text>",
                left + 3.0,
                y + 14,
                esc(&label)
            );
        }
        h.push_str("</g>");
        let mut x = left;
        for (callee, child) in self.sorted() {
            child.draw(h, callee, (x, depth + 1), scale, most);
            x += (child.base + child.cur) * scale;
        }
    }
}

fn environment(h: &mut String, v: &Verdicts) {
    if !v.environment_differences.is_empty() {
        h.push_str("<h2>The environments differ</h2><table><tr><th>workload</th><th>field</th><th>baseline</th><th>current</th></tr>");
        for d in &v.environment_differences {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&d.workload),
                esc(&d.field),
                esc(&d.baseline),
                esc(&d.current)
            );
        }
        h.push_str("</table>");
    }
    let _ = write!(
        h,
        "<p class=\"muted\">Baseline: {} ({}). Current: {} ({}). {} comparisons, {} in the family, correction {:?}, confidence {}; memgate {}.</p>",
        esc(&v.baseline.source),
        esc(&v.baseline.created_at),
        esc(&v.current.source),
        esc(&v.current.created_at),
        v.settings.tests,
        v.settings.family,
        v.settings.correction,
        v.settings.confidence,
        esc(&v.memgate_version)
    );
}

fn all_verdicts(h: &mut String, v: &Verdicts) {
    let _ = write!(
        h,
        "<details><summary>Every verdict ({})</summary><table><tr><th>workload</th><th>metric</th><th>baseline</th><th>current</th><th>change</th><th>p</th><th>threshold</th><th>verdict</th></tr>",
        v.verdicts.len()
    );
    for x in &v.verdicts {
        let r = Row::of(x);
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td title=\"{}\">{}</td></tr>",
            esc(&r.workload),
            esc(&r.metric),
            esc(&r.baseline),
            esc(&r.current),
            esc(&r.change),
            esc(&r.p),
            esc(&r.threshold),
            esc(&r.reason),
            esc(&r.status)
        );
    }
    h.push_str("</table></details>");
}
