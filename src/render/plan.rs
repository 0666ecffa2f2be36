//! Plans and drift reports: Terraform-like text (`+` create, `~` drift), the versioned
//! JSON document, and Markdown for a pull-request comment, all from the structured lines
//! of `lines.rs`. Sensitive values are never here to print: the plan holds none. When a
//! plan fails, the JSON and Markdown formats still print a document saying why, so a
//! pull request never keeps showing an old plan.

use super::lines::{self, Line, Sign};
use super::markdown::{self, fence, md};
use super::marks;
use super::Style;
use crate::diff::Action;
use crate::escape::neutral;
use crate::kinds::ObjectKind;
use crate::plan::{DeliveryState, Plan};
use crate::source::{Diagnostic, Severity};
use std::io::{self, Write};

pub use super::lines::{summary_line, Report};

/// Where the full plan is when a comment cannot hold it (the example workflow uploads it).
pub const FULL_PLAN: &str = "the JSON plan (<code>plan --format json</code>), which the example workflow uploads as the artifact <code>boruta-gitops-plan</code>";

/// A comment GitHub accepts (65,536 characters at most), with room to spare.
pub const MARKDOWN_LIMIT: usize = 60_000;

fn title(report: Report) -> &'static str {
    match report {
        Report::Plan => "plan",
        Report::Drift => "drift check",
    }
}

fn human_line(out: &mut dyn Write, line: &Line, style: Style) -> io::Result<()> {
    let indent = " ".repeat(2 + 4 * line.depth);
    let text = neutral(&line.text);
    match line.sign {
        Sign::Keep | Sign::System => {
            writeln!(out, "{indent}{} {text}", marks::sign(line.sign).glyph)
        }
        sign if line.depth == 2 => {
            let mark = marks::sign(sign);
            let painted = style.paint(mark.colour, &format!("{} {text}", mark.glyph));
            writeln!(out, "{indent}{painted}")
        }
        sign => {
            let mark = marks::sign(sign);
            writeln!(
                out,
                "{indent}{} {text}",
                style.paint(mark.colour, mark.glyph)
            )
        }
    }
}

/// Terraform-like text.
pub fn human(out: &mut dyn Write, plan: &Plan, report: Report, style: Style) -> io::Result<()> {
    writeln!(
        out,
        "boruta-gitops {} against {}",
        title(report),
        neutral(&plan.admin_url)
    )?;
    writeln!(out, "scopes requested: {}", plan.scopes_requested.join(" "))?;
    writeln!(
        out,
        "boruta version: {} ({})",
        plan.boruta_version, plan.boruta_version_source
    )?;
    writeln!(out)?;
    if !plan.options.select.is_empty() {
        writeln!(
            out,
            "  Partial plan: only the manifests --select {} chose; the server's other clients and scopes are left out.",
            neutral(&plan.options.select.join(", "))
        )?;
    }
    let unmanaged = plan.unmanaged.iter().any(|u| u.system.is_none());
    let settled = plan
        .objects()
        .all(|c| matches!(c.action, Action::InSync | Action::Absent) && !delivery_unsettled(c));
    if !unmanaged && settled {
        writeln!(out, "  No changes: the server matches the manifests.")?;
    }
    for client in plan.objects().filter(|c| lines::shown(c)) {
        human_line(out, &lines::header(client, report), style)?;
        for line in lines::fields(client) {
            human_line(out, &line, style)?;
        }
    }
    for line in lines::unmanaged(plan) {
        human_line(out, &line, style)?;
    }
    writeln!(out)?;
    writeln!(out, "{}", summary_line(plan, report))
}

/// The versioned JSON document (the same shape `--out` saves).
pub fn json(out: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    // The serializer writes a few bytes at a time (a quote, a key, an indent): into a
    // buffer of a known type each write is a copy, not a call through `dyn Write` (a plan
    // at 100,000 clients is 50 MB written in some 10 million pieces).
    let mut buffered = io::BufWriter::with_capacity(JSON_BUFFER, &mut *out);
    serde_json::to_writer_pretty(&mut buffered, plan)?;
    buffered.write_all(b"\n")?;
    buffered.flush()
}

/// The buffer of [`json`]: large enough that the writer under it is called rarely.
const JSON_BUFFER: usize = 1 << 20;

/// The document `plan --format json` prints when no plan could be made.
pub fn json_failure(out: &mut dyn Write, error: &str, findings: &[Diagnostic]) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &failure_document(error, findings))?;
    writeln!(out)
}

/// The JSON document of a plan that could not be made.
fn failure_document(error: &str, findings: &[Diagnostic]) -> serde_json::Value {
    serde_json::json!({
        "format_version": crate::plan::PLAN_FORMAT_VERSION,
        "status": "failed",
        "error": error,
        "diagnostics": findings,
    })
}

/// `plan --all-envs --format json`: one document keyed by environment, each a plan or a
/// failure document.
pub fn json_environments(
    out: &mut dyn Write,
    environments: &[(String, EnvironmentPlan<'_>)],
) -> io::Result<()> {
    let mut document = serde_json::Map::new();
    for (name, outcome) in environments {
        let value = match outcome {
            EnvironmentPlan::Planned(plan) => serde_json::to_value(plan)?,
            EnvironmentPlan::Failed { error, findings } => failure_document(error, findings),
        };
        document.insert(name.clone(), value);
    }
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

/// The hidden first line a workflow finds its own comment by.
pub fn marker(report: Report) -> &'static str {
    match report {
        Report::Plan => "<!-- boruta-gitops plan -->",
        Report::Drift => "<!-- boruta-gitops drift -->",
    }
}

fn heading(report: Report) -> &'static str {
    match report {
        Report::Plan => "boruta-gitops plan",
        Report::Drift => "boruta-gitops drift",
    }
}

/// One client's section: a summary line that opens to a `diff` block.
/// True when a client's secret delivery is pending or cannot be checked.
fn delivery_unsettled(client: &crate::plan::PlannedObject) -> bool {
    let settled = [DeliveryState::InSync, DeliveryState::WithCreate];
    client
        .delivery
        .as_ref()
        .is_some_and(|d| !settled.contains(&d.state))
}

/// The sign and word of a client in a comment's titles and tables: its action, or for a
/// client in sync on boruta, its secret's delivery.
fn label(client: &crate::plan::PlannedObject) -> (Sign, &'static str) {
    match client.action {
        Action::InSync if client.delivery_pending() => (Sign::Add, "deliver"),
        Action::InSync if delivery_unsettled(client) => (Sign::Problem, "delivery unchecked"),
        action => marks::action(action),
    }
}

fn markdown_client(client: &crate::plan::PlannedObject) -> String {
    let (sign, what) = label(client);
    let sign = marks::sign(sign).glyph;
    let text: Vec<String> = lines::fields(client)
        .iter()
        .map(|line| {
            let first = marks::sign(line.sign).diff;
            let indent = "  ".repeat(line.depth.saturating_sub(1));
            format!("{first} {indent}{}", neutral(&line.text))
        })
        .collect();
    let noun = match client.kind {
        ObjectKind::Client => "",
        ObjectKind::Scope => "scope ",
    };
    let mut section = format!(
        "<details><summary><code>{sign}</code> {noun}<b>{}</b> ({what}) <code>{}</code></summary>\n\n<code>{}:{}</code>\n\n",
        md(&client.name),
        md(&client.id),
        md(&client.file),
        client.line
    );
    if client.action == Action::Conflict {
        let other = client.conflicting_id.as_deref().unwrap_or("?");
        section.push_str(&format!(
            "{} To adopt the existing {kind}, pin <code>id: {}</code> in the manifest; to make a new one, rename it.\n\n",
            match client.kind {
                ObjectKind::Client => "The server already has a client with this name under another id, and this manifest has no `id`: its derived id is absent.",
                ObjectKind::Scope => "The server already has a scope with this name under another id (scope names are unique).",
            },
            md(other),
            kind = client.kind
        ));
    }
    if !text.is_empty() {
        section.push_str(&fence("diff", &text));
        section.push('\n');
    }
    section.push_str("</details>\n\n");
    section
}

/// Markdown for a pull-request comment: the hidden marker, a summary table, the findings,
/// then one collapsible section per client that is not in sync. Past
/// [`MARKDOWN_LIMIT`] characters the clients are summarised in a table, and the rest is
/// left out with a note saying where the full plan is (`full_plan_hint`, trusted HTML).
pub fn markdown(
    out: &mut dyn Write,
    plan: &Plan,
    report: Report,
    full_plan_hint: &str,
) -> io::Result<()> {
    let mut text = format!("{}\n### {}\n\n", marker(report), heading(report));
    text.push_str(&markdown_body(plan, report, full_plan_hint, MARKDOWN_LIMIT));
    out.write_all(text.as_bytes())
}

/// The counts of a plan as a one-row table's header and row.
fn counts_row(plan: &Plan) -> (Vec<&'static str>, Vec<String>) {
    let s = &plan.summary;
    let mut columns = lines::actions(plan);
    if s.blocked > 0 {
        columns.push(("blocked", s.blocked));
    }
    columns.extend([
        ("drift", s.drift),
        ("in sync", s.in_sync),
        ("unmanaged", s.unmanaged),
        ("system", s.system),
        ("conflict", s.conflict),
    ]);
    let names = columns.iter().map(|(n, _)| *n).collect();
    let counts = columns.iter().map(|(_, c)| c.to_string()).collect();
    (names, counts)
}

/// A plan's comment below its heading, in at most `limit` characters.
fn markdown_body(plan: &Plan, report: Report, full_plan_hint: &str, limit: usize) -> String {
    let mut head = markdown::policy_banner(&plan.diagnostics);
    if !plan.options.select.is_empty() {
        head.push_str(&format!(
            "Partial plan: only the manifests <code>--select {}</code> chose.\n\n",
            md(&plan.options.select.join(", "))
        ));
    }
    let (names, counts) = counts_row(plan);
    head.push_str(&format!(
        "| {} |\n|{}\n| {} |\n\n",
        names.join(" | "),
        "---:|".repeat(names.len()),
        counts.join(" | ")
    ));
    head.push_str(&markdown::findings(&plan.diagnostics));
    let tail = format!("{}\n", summary_line(plan, report));
    // A client with nothing but write-only fields to re-send is one line of a collapsed
    // list, not a section: an unchanged repository's comment stays short.
    let changed: Vec<_> = plan
        .objects()
        .filter(|c| lines::shown(c) && c.action != Action::Resend)
        .collect();
    let sections: Vec<String> = changed.iter().map(|c| markdown_client(c)).collect();
    let unmanaged = markdown::resent(plan) + &markdown::unmanaged(plan);
    let full: usize =
        head.len() + tail.len() + unmanaged.len() + sections.iter().map(String::len).sum::<usize>();
    let mut text = head;
    if full <= limit {
        sections.iter().for_each(|s| text.push_str(s));
        text.push_str(&unmanaged);
    } else {
        let budget = limit.saturating_sub(text.len() + tail.len() + 600);
        text.push_str(&summarised(&changed, budget, full_plan_hint));
    }
    text.push_str(&tail);
    text
}

/// Too long for one comment: a table of the objects, as many rows as `budget` holds, and
/// where the full plan is.
fn summarised(changed: &[&crate::plan::PlannedObject], budget: usize, hint: &str) -> String {
    let rows: Vec<String> = changed
        .iter()
        .map(|c| {
            let action = label(c).1;
            format!(
                "| {action} | {} | <code>{}</code> | <code>{}:{}</code> |\n",
                md(&c.name),
                md(&c.id),
                md(&c.file),
                c.line
            )
        })
        .collect();
    let mut table = String::from("| action | client | id | manifest |\n|---|---|---|---|\n");
    let mut shown = 0;
    for row in &rows {
        if table.len() + row.len() > budget {
            break;
        }
        table.push_str(row);
        shown += 1;
    }
    let mut text = format!(
        "The plan is too long for one comment: its {} client(s) are summarised below, without their fields.\n\n",
        rows.len()
    );
    text.push_str(&table);
    let left = rows.len() - shown;
    text.push('\n');
    if left > 0 {
        text.push_str(&format!("{left} more client(s) left out. "));
    }
    // The hint is ours (not escaped): it may name commands in <code>.
    text.push_str(&format!("The full plan: {hint}.\n\n"));
    text
}

/// One environment's outcome in a plan of every environment: its plan, or why it has none.
pub enum EnvironmentPlan<'a> {
    Planned(&'a Plan),
    Failed {
        error: String,
        findings: Vec<Diagnostic>,
    },
}

/// `plan --all-envs --format markdown`: ONE comment (one marker) for every environment: a
/// table with a row per environment, then each environment's plan, collapsed.
pub fn markdown_environments(
    out: &mut dyn Write,
    report: Report,
    environments: &[(String, EnvironmentPlan<'_>)],
    full_plan_hint: &str,
) -> io::Result<()> {
    let mut text = format!(
        "{}\n### {}: {} environment(s)\n\n",
        marker(report),
        heading(report),
        environments.len()
    );
    text.push_str("| environment | server | plan |\n|---|---|---|\n");
    for (name, outcome) in environments {
        let (server, summary) = match outcome {
            EnvironmentPlan::Planned(plan) => (
                format!("<code>{}</code>", md(&plan.admin_url)),
                md(&summary_line(plan, report)),
            ),
            EnvironmentPlan::Failed { .. } => (String::new(), "failed: no plan".to_string()),
        };
        text.push_str(&format!("| <b>{}</b> | {server} | {summary} |\n", md(name)));
    }
    text.push('\n');
    let limit = MARKDOWN_LIMIT / environments.len().max(1);
    for (name, outcome) in environments {
        text.push_str(&format!(
            "<details><summary>Environment <b>{}</b></summary>\n\n",
            md(name)
        ));
        match outcome {
            EnvironmentPlan::Planned(plan) => {
                text.push_str(&markdown_body(plan, report, full_plan_hint, limit))
            }
            EnvironmentPlan::Failed { error, findings } => {
                text.push_str(&failure_body(error, findings))
            }
        }
        text.push_str("\n</details>\n\n");
    }
    out.write_all(text.as_bytes())
}

/// Why there is no plan: the error and the findings (notes left out).
fn failure_body(error: &str, findings: &[Diagnostic]) -> String {
    let mut text = markdown::policy_banner(findings);
    if !error.is_empty() {
        text.push_str(&fence("text", &[neutral(error).into_owned()]));
        text.push('\n');
    }
    let shown: Vec<Diagnostic> = findings
        .iter()
        .filter(|d| d.severity != Severity::Note)
        .cloned()
        .collect();
    text.push_str(&markdown::findings(&shown));
    text
}

/// The comment `plan --format markdown` prints when no plan could be made: it replaces
/// the previous plan's comment, so a pull request never shows a stale plan.
pub fn markdown_failure(
    out: &mut dyn Write,
    report: Report,
    error: &str,
    findings: &[Diagnostic],
) -> io::Result<()> {
    let mut text = format!("{}\n### {} failed\n\n", marker(report), heading(report));
    text.push_str(&failure_body(error, findings));
    text.push_str("No plan is shown: fix what is above and push again; this comment is then replaced by the new plan.\n");
    out.write_all(text.as_bytes())
}
