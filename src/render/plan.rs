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
use crate::plan::Plan;
use crate::source::{Diagnostic, Severity};
use std::io::{self, Write};

pub use super::lines::{summary_line, Report};

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
            "  Partial plan: only the manifests --select {} chose; the server's other clients are left out.",
            neutral(&plan.options.select.join(", "))
        )?;
    }
    let unmanaged = plan.unmanaged.iter().any(|u| u.system.is_none());
    let settled = plan
        .clients
        .iter()
        .all(|c| matches!(c.action, Action::InSync | Action::Absent));
    if !unmanaged && settled {
        writeln!(out, "  No changes: the server matches the manifests.")?;
    }
    for client in plan.clients.iter().filter(|c| lines::shown(c)) {
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
    serde_json::to_writer_pretty(&mut *out, plan)?;
    writeln!(out)
}

/// The document `plan --format json` prints when no plan could be made.
pub fn json_failure(out: &mut dyn Write, error: &str, findings: &[Diagnostic]) -> io::Result<()> {
    let document = serde_json::json!({
        "format_version": crate::plan::PLAN_FORMAT_VERSION,
        "status": "failed",
        "error": error,
        "diagnostics": findings,
    });
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
fn markdown_client(client: &crate::plan::PlannedClient) -> String {
    let (sign, what) = marks::action(client.action);
    let sign = marks::sign(sign).glyph;
    let text: Vec<String> = lines::fields(client)
        .iter()
        .map(|line| {
            let first = marks::sign(line.sign).diff;
            let indent = "  ".repeat(line.depth.saturating_sub(1));
            format!("{first} {indent}{}", neutral(&line.text))
        })
        .collect();
    let mut section = format!(
        "<details><summary><code>{sign}</code> <b>{}</b> ({what}) <code>{}</code></summary>\n\n<code>{}:{}</code>\n\n",
        md(&client.name),
        md(&client.id),
        md(&client.file),
        client.line
    );
    if client.action == Action::Conflict {
        let other = client.conflicting_id.as_deref().unwrap_or("?");
        section.push_str(&format!(
            "The server already has a client with this name under another id, and this manifest has no `id`: its derived id is absent. To adopt the existing client, pin <code>id: {}</code> in the manifest; to make a new one, rename it.\n\n",
            md(other)
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
    let mut head = format!("{}\n### {}\n\n", marker(report), heading(report));
    head.push_str(&markdown::policy_banner(&plan.diagnostics));
    if !plan.options.select.is_empty() {
        head.push_str(&format!(
            "Partial plan: only the manifests <code>--select {}</code> chose.\n\n",
            md(&plan.options.select.join(", "))
        ));
    }
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
    let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    let counts: Vec<String> = columns.iter().map(|(_, c)| c.to_string()).collect();
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
        .clients
        .iter()
        .filter(|c| lines::shown(c) && c.action != Action::Resend)
        .collect();
    let sections: Vec<String> = changed.iter().map(|c| markdown_client(c)).collect();
    let unmanaged = markdown::resent(plan) + &markdown::unmanaged(plan);
    let full: usize =
        head.len() + tail.len() + unmanaged.len() + sections.iter().map(String::len).sum::<usize>();
    let mut text = head;
    if full <= MARKDOWN_LIMIT {
        sections.iter().for_each(|s| text.push_str(s));
        text.push_str(&unmanaged);
    } else {
        // Too long for one comment: a table of the clients, as many rows as fit.
        let budget = MARKDOWN_LIMIT - text.len() - tail.len() - 600;
        let rows: Vec<String> = changed
            .iter()
            .map(|c| {
                let action = marks::action(c.action).1;
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
        text.push_str(&format!(
            "The plan is too long for one comment: its {} client(s) are summarised below, without their fields.\n\n",
            rows.len()
        ));
        text.push_str(&table);
        let left = rows.len() - shown;
        text.push('\n');
        if left > 0 {
            text.push_str(&format!("{left} more client(s) left out. "));
        }
        // The hint is ours (not escaped): it may name commands in <code>.
        text.push_str(&format!("The full plan: {full_plan_hint}.\n\n"));
    }
    text.push_str(&tail);
    out.write_all(text.as_bytes())
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
    text.push_str(&markdown::policy_banner(findings));
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
    text.push_str("No plan is shown: fix what is above and push again; this comment is then replaced by the new plan.\n");
    out.write_all(text.as_bytes())
}
