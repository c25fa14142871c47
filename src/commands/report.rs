//! `memgate report`: render a verdicts file as Markdown, JSON, JUnit XML
//! or CSV, to a file (atomically) or stdout.

use crate::cli::{ReportArgs, ReportFormat};
use crate::error::{Error, Outcome};
use crate::report::csv::Csv;
use crate::report::html::Html;
use crate::report::junit::Junit;
use crate::report::markdown::{GITHUB_COMMENT_LIMIT, Markdown};
use crate::report::openmetrics::OpenMetrics;
use crate::report::{Json, Render, read_verdicts};

/// `memgate report VERDICTS`.
pub fn report(args: ReportArgs) -> Result<Outcome, Error> {
    if let Some(out) = &args.output {
        let mut inputs = vec![("the verdicts file", args.verdicts.as_path())];
        inputs.extend(args.template.as_deref().map(|t| ("the --template", t)));
        crate::atomic::check_outputs(&inputs, &[("-o", out.as_path())])?;
    }
    let verdicts = read_verdicts(&args.verdicts)?;
    if args.format != ReportFormat::Markdown
        && (args.advisory.is_some() || args.max_chars != GITHUB_COMMENT_LIMIT)
    {
        return Err(Error::TemplateNeedsMarkdown);
    }
    let renderer: Box<dyn Render> = match (args.format, &args.template) {
        (ReportFormat::Markdown, template) => {
            let mut md = match template {
                Some(t) => Markdown::with_template(t)?,
                None => Markdown::default(),
            };
            md.advisory = args.advisory.clone();
            md.max_len = args.max_chars;
            Box::new(md)
        }
        (_, Some(_)) => {
            return Err(Error::TemplateNeedsMarkdown);
        }
        (ReportFormat::Json, None) => Box::new(Json),
        (ReportFormat::Junit, None) => Box::new(Junit),
        (ReportFormat::Csv, None) => Box::new(Csv),
        (ReportFormat::Openmetrics, None) => Box::new(OpenMetrics),
        (ReportFormat::Html, None) => Box::new(Html),
    };
    let mut bytes = Vec::new();
    renderer.render(&verdicts, &mut bytes)?;
    match &args.output {
        Some(path) => crate::atomic::write(path, &bytes)?,
        None => std::io::Write::write_all(&mut std::io::stdout().lock(), &bytes)
            .map_err(Error::Stdout)?,
    }
    Ok(Outcome::Pass)
}
