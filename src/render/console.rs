//! The two streams of a command: its product on stdout (findings of `validate`, plans,
//! reports) and what a person reads beside it on stderr (findings of the other commands,
//! errors, notes), in the format the command line chose and the [`Console`] style of each
//! stream. The renderers of the other modules write to any writer; this module is the one
//! that hands them the process's streams, so a command line only decides which to call.

use super::diagnostics::Counts;
use super::plan::FULL_PLAN;
use super::plan::{EnvironmentPlan, Report};
use super::Style;
use crate::commands::plan::{shown, Computed, Outcome};
use crate::commands::validate::Validation;
use crate::commands::Prepared;
use crate::error::{Chain, Error};
use crate::source::Diagnostic;
use std::io::Write;

/// The style of each stream (the command line decides: `--color`, a terminal, `NO_COLOR`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Console {
    pub stdout: Style,
    pub stderr: Style,
}

/// How a plan or a drift report is written on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanFormat {
    /// Terraform-like text.
    Human,
    /// The versioned JSON plan document.
    Json,
    /// Markdown for a pull-request comment.
    Markdown,
}

/// How `validate` writes its findings on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingsFormat {
    /// Source line with a caret under the value.
    Human,
    /// A stable JSON document.
    Json,
    /// GitHub workflow commands.
    Github,
    /// SARIF 2.1.0.
    Sarif,
}

/// What a plan that could not be made says in place of the plan, when the manifests have
/// errors.
const INVALID: &str = "the manifests have errors";

/// `validate`'s findings on stdout, in `format`.
pub fn validation(v: &Validation, format: FindingsFormat, style: Style) -> Result<(), Error> {
    let counts = Counts::of(&v.diagnostics, v.objects, v.files);
    // Buffered: stdout flushes at every newline, a syscall per line of 10,000 findings.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let findings = &v.diagnostics;
    match format {
        FindingsFormat::Json => super::diagnostics::json(&mut out, findings, counts)?,
        FindingsFormat::Github => super::diagnostics::github(&mut out, findings)?,
        FindingsFormat::Sarif => super::sarif::write(&mut out, findings)?,
        FindingsFormat::Human => {
            let (sources, redacted) = (&v.sources, &v.redacted_lines);
            super::diagnostics::human(&mut out, findings, sources, redacted, counts, style)?
        }
    }
    out.flush()?;
    Ok(())
}

/// Findings on stderr, as text with carets (nothing when there are none).
pub fn findings(findings: &[Diagnostic], prepared: &Prepared, style: Style) -> Result<(), Error> {
    if findings.is_empty() {
        return Ok(());
    }
    let validated = &prepared.validated;
    let objects = (validated.clients.len(), validated.scopes.len());
    let counts = Counts::of(findings, objects, prepared.sources.len());
    let redacted = &prepared.validated.redacted_lines;
    let mut err = std::io::stderr().lock();
    super::diagnostics::human(
        &mut err,
        findings,
        &prepared.sources,
        redacted,
        counts,
        style,
    )?;
    Ok(())
}

/// Findings met after `findings` printed the summary (an apply's writes refused), on
/// stderr: each one, without a second summary.
pub fn more_findings(
    findings: &[Diagnostic],
    prepared: &Prepared,
    style: Style,
) -> Result<(), Error> {
    let redacted = &prepared.validated.redacted_lines;
    let mut err = std::io::stderr().lock();
    super::diagnostics::each(&mut err, findings, &prepared.sources, redacted, style)?;
    Ok(())
}

/// The findings of manifests that have errors, on stderr.
pub fn invalid(prepared: &Prepared, style: Style) -> Result<(), Error> {
    findings(&shown(prepared.diagnostics.iter()), prepared, style)
}

/// The plan on stdout, in `format`.
pub fn plan(
    plan: &crate::plan::Plan,
    format: PlanFormat,
    report: Report,
    style: Style,
) -> Result<(), Error> {
    // Buffered: stdout flushes at every newline, a syscall per line of a large plan.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        PlanFormat::Human => super::plan::human(&mut out, plan, report, style)?,
        PlanFormat::Json => super::plan::json(&mut out, plan)?,
        PlanFormat::Markdown => super::plan::markdown(&mut out, plan, report, FULL_PLAN)?,
    }
    out.flush()?;
    Ok(())
}

/// What a failed `plan`/`drift` prints on stdout: a JSON or Markdown document saying why
/// (the human format has already said it on stderr).
fn plan_failure(
    format: PlanFormat,
    report: Report,
    error: &str,
    findings: &[Diagnostic],
) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match format {
        PlanFormat::Human => {}
        PlanFormat::Json => super::plan::json_failure(&mut out, error, findings)?,
        PlanFormat::Markdown => super::plan::markdown_failure(&mut out, report, error, findings)?,
    }
    out.flush()?;
    Ok(())
}

/// The findings of a computed plan on stderr, or (on stderr, and in `format` on stdout)
/// why there is no plan. Returns the plan to print, if there is one; the error, after
/// saying it in `format`, is returned as it is.
pub fn planned(
    outcome: Result<Outcome, Error>,
    format: PlanFormat,
    report: Report,
    style: Style,
) -> Result<Option<Box<Computed>>, Error> {
    match outcome {
        Ok(Outcome::Planned(computed)) => {
            findings(&computed.findings(), &computed.prepared, style)?;
            Ok(Some(computed))
        }
        Ok(Outcome::Invalid(prepared)) => {
            invalid(&prepared, style)?;
            let findings = prepared.into_findings();
            plan_failure(format, report, INVALID, &findings)?;
            Ok(None)
        }
        Err(error) => {
            plan_failure(format, report, &Chain(&error).to_string(), &[])?;
            Err(error)
        }
    }
}

/// Where `plan --out` saved the plan, on stderr.
pub fn plan_saved(path: &std::path::Path) {
    eprintln!("plan saved to {}", path.display());
}

/// Why a command failed or refused, on stderr.
pub fn error(message: &str) {
    eprintln!("error: {message}");
}

/// The failure of one environment of `plan --all-envs`, which does not stop the others.
pub fn environment_error(error: &Error) {
    self::error(&Chain(error).to_string());
}

/// The heading of an environment of `plan --all-envs`: on stderr before its findings, and
/// on stdout before its plan in the human format.
pub fn environment_heading(name: &str, format: PlanFormat) {
    eprintln!("== environment {name}");
    if format == PlanFormat::Human {
        println!("== environment {name}");
    }
}

/// What an environment whose plan could not be made reports in the documents of
/// `plan --all-envs`: the error, and the manifests' findings.
pub fn environment_failure(outcome: &Result<Outcome, Error>) -> Option<(String, Vec<Diagnostic>)> {
    match outcome {
        Ok(Outcome::Invalid(prepared)) => Some((INVALID.to_string(), prepared.diagnostics.clone())),
        Err(error) => Some((Chain(error).to_string(), Vec::new())),
        Ok(Outcome::Planned(_)) => None,
    }
}

/// The one document of `plan --all-envs` on stdout in the JSON and Markdown formats (the
/// human format printed each environment's plan as it came).
pub fn environments(
    outcomes: &[(String, EnvironmentPlan<'_>)],
    format: PlanFormat,
) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match format {
        PlanFormat::Human => {}
        PlanFormat::Json => super::plan::json_environments(&mut out, outcomes)?,
        PlanFormat::Markdown => {
            super::plan::markdown_environments(&mut out, Report::Plan, outcomes, FULL_PLAN)?
        }
    }
    out.flush()?;
    Ok(())
}

/// A document made elsewhere (the JSON Schema), on stdout as it is.
pub fn document(text: &str) -> Result<(), Error> {
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}
