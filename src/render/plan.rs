//! Plans and drift reports: Terraform-like text (`+` create, `~` drift), the versioned
//! JSON document, and Markdown for a pull-request comment. Multi-line values are diffed
//! line by line. Sensitive values are never here to print: the plan holds none.

use super::escape::neutral;
use super::Style;
use crate::diff::{Action, FieldChange, SecretState, SystemKind};
use crate::plan::{Plan, PlannedClient};
use serde_json::Value;
use std::io::{self, Write};

/// Which command the report is for: the wording and the closing line differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    Plan,
    Drift,
}

/// A value on one line: strings quoted, lists and mappings as JSON, all neutralised.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) if !s.contains('\n') => format!("{:?}", neutral(s).as_ref()),
        Value::String(s) => format!("<<{} lines>>", s.lines().count()),
        other => neutral(&other.to_string()).into_owned(),
    }
}

fn system_label(kind: SystemKind) -> &'static str {
    match kind {
        SystemKind::AdminUi => "admin UI client",
        SystemKind::PublicClient => "boruta's public client",
        SystemKind::ThisTool => "the client this run authenticates as",
    }
}

/// The closing line both text formats end with.
pub fn summary_line(plan: &Plan, report: Report) -> String {
    let s = &plan.summary;
    let body = format!(
        "{} to create, {} drifted, {} in sync, {} unmanaged ({} system), {} conflict(s)",
        s.create, s.drift, s.in_sync, s.unmanaged, s.system, s.conflict
    );
    match report {
        Report::Plan => format!("Plan: {body}."),
        Report::Drift => format!("Drift: {body}."),
    }
}

fn field_lines(out: &mut dyn Write, client: &PlannedClient, style: Style) -> io::Result<()> {
    let width = client
        .fields
        .iter()
        .map(|f| f.field.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let creating = client.action == Action::Create;
    for f in &client.fields {
        if f.field == "secret" {
            continue;
        }
        let FieldChange {
            field,
            server,
            desired,
            sensitive,
        } = f;
        if creating {
            let value = if *sensitive {
                "(sensitive)".to_string()
            } else {
                show(desired)
            };
            writeln!(
                out,
                "      {} {field:<width$} = {value}",
                style.paint("32", "+")
            )?;
            if let Value::String(text) = desired {
                if text.contains('\n') && !sensitive {
                    for line in text.lines() {
                        writeln!(out, "          {}", neutral(line))?;
                    }
                }
            }
            continue;
        }
        if *sensitive {
            writeln!(
                out,
                "      {} {field:<width$} = (sensitive) changed",
                style.paint("33", "~")
            )?;
            continue;
        }
        match (server, desired) {
            (Value::String(a), Value::String(b)) if a.contains('\n') || b.contains('\n') => {
                writeln!(out, "      {} {field}:", style.paint("33", "~"))?;
                let diff = similar::TextDiff::from_lines(a.as_str(), b.as_str());
                for change in diff.iter_all_changes() {
                    let (sign, color) = match change.tag() {
                        similar::ChangeTag::Delete => ("-", "31"),
                        similar::ChangeTag::Insert => ("+", "32"),
                        similar::ChangeTag::Equal => (" ", "0"),
                    };
                    let line = neutral(change.value().trim_end_matches('\n'));
                    writeln!(
                        out,
                        "          {}",
                        style.paint(color, &format!("{sign} {line}"))
                    )?;
                }
            }
            _ => writeln!(
                out,
                "      {} {field:<width$} = {} -> {}",
                style.paint("33", "~"),
                show(server),
                show(desired)
            )?,
        }
    }
    match client.secret {
        Some(SecretState::Set) => writeln!(
            out,
            "      {} {:<width$} = (sensitive)",
            style.paint("32", "+"),
            "secret"
        )?,
        Some(SecretState::Changed) => writeln!(
            out,
            "      {} {:<width$} = (sensitive) changed",
            style.paint("33", "~"),
            "secret"
        )?,
        Some(SecretState::Unchanged) | None => {}
    }
    for field in &client.unverifiable {
        writeln!(
            out,
            "      ? {field:<width$}   unverifiable: boruta never renders it back"
        )?;
    }
    Ok(())
}

/// Terraform-like text.
pub fn human(out: &mut dyn Write, plan: &Plan, report: Report, style: Style) -> io::Result<()> {
    let title = match report {
        Report::Plan => "plan",
        Report::Drift => "drift check",
    };
    writeln!(
        out,
        "boruta-gitops {title} against {}",
        neutral(&plan.admin_url)
    )?;
    writeln!(out, "scopes requested: {}", plan.scopes_requested.join(" "))?;
    writeln!(
        out,
        "boruta version: {} ({})",
        plan.boruta_version, plan.boruta_version_source
    )?;
    writeln!(out)?;
    let unmanaged = plan.unmanaged.iter().any(|u| u.system.is_none());
    if !unmanaged && plan.clients.iter().all(|c| c.action == Action::InSync) {
        writeln!(out, "  No changes: the server matches the manifests.")?;
    }
    for client in &plan.clients {
        let place = format!("{}:{}", neutral(&client.file), client.line);
        let (name, id) = (neutral(&client.name), neutral(&client.id));
        match client.action {
            Action::InSync => continue,
            Action::Create => {
                let verb = if report == Report::Plan {
                    "will be created"
                } else {
                    "is missing on the server"
                };
                writeln!(
                    out,
                    "  {} {name} ({id}) {verb}  [{place}]",
                    style.paint("32", "+"),
                )?;
            }
            Action::Drift => {
                let note = if report == Report::Plan {
                    " (apply reports drift, it does not change existing clients)"
                } else {
                    ""
                };
                writeln!(
                    out,
                    "  {} {name} ({id}) has drifted{note}  [{place}]",
                    style.paint("33", "~"),
                )?;
            }
            Action::Conflict => {
                let other = neutral(client.conflicting_id.as_deref().unwrap_or("?"));
                writeln!(
                    out,
                    "  {} {name} ({id}) conflicts with server client {other} of the same name: pin `id: {other}` to adopt it  [{place}]",
                    style.paint("31", "!"),
                )?;
            }
        }
        field_lines(out, client, style)?;
    }
    for u in &plan.unmanaged {
        let name = neutral(u.name.as_deref().unwrap_or("(no name)"));
        let id = neutral(&u.id);
        match u.system {
            Some(kind) => writeln!(
                out,
                "  · {name} ({id}) system client: {}",
                system_label(kind)
            )?,
            None => {
                writeln!(
                    out,
                    "  {} {name} ({id}) is unmanaged: no manifest declares it",
                    style.paint("36", "?"),
                )?;
            }
        }
    }
    writeln!(out)?;
    writeln!(out, "{}", summary_line(plan, report))
}

/// The versioned JSON document (the same shape `--out` saves).
pub fn json(out: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, plan)?;
    writeln!(out)
}

fn md_escape(text: &str) -> String {
    neutral(text)
        .replace('&', "&amp;")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "&#96;")
        .replace('*', "\\*")
        .replace('_', "\\_")
        .replace('[', "\\[")
}

/// Markdown for a pull-request comment: a summary table, then one collapsible section per
/// client that is not in sync.
pub fn markdown(out: &mut dyn Write, plan: &Plan, report: Report) -> io::Result<()> {
    let title = match report {
        Report::Plan => "boruta-gitops plan",
        Report::Drift => "boruta-gitops drift",
    };
    // A fixed marker lets a workflow find and update its own comment instead of adding one.
    writeln!(out, "<!-- {title} -->")?;
    writeln!(out, "### {title}")?;
    writeln!(out)?;
    let s = &plan.summary;
    writeln!(
        out,
        "| create | drift | in sync | unmanaged | system | conflict |"
    )?;
    writeln!(out, "|---:|---:|---:|---:|---:|---:|")?;
    writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} |",
        s.create, s.drift, s.in_sync, s.unmanaged, s.system, s.conflict
    )?;
    writeln!(out)?;
    for client in plan.clients.iter().filter(|c| c.action != Action::InSync) {
        let (sign, what) = match client.action {
            Action::Create => ("+", "create"),
            Action::Drift => ("~", "drift"),
            Action::Conflict => ("!", "conflict"),
            Action::InSync => continue,
        };
        writeln!(
            out,
            "<details><summary><code>{sign}</code> <b>{}</b> ({what}) <code>{}</code></summary>\n",
            md_escape(&client.name),
            md_escape(&client.id)
        )?;
        writeln!(
            out,
            "<code>{}:{}</code>\n",
            md_escape(&client.file),
            client.line
        )?;
        writeln!(out, "```diff")?;
        let mut text = Vec::new();
        field_lines(&mut text, client, Style::default())?;
        let text = String::from_utf8_lossy(&text);
        for line in text.lines() {
            // `diff` highlighting wants the sign in the first column.
            let trimmed = line.trim_start();
            let sign = match trimmed.chars().next() {
                Some('+') => "+",
                Some('~') => "!",
                Some('-') => "-",
                _ => " ",
            };
            writeln!(
                out,
                "{sign} {}",
                trimmed.get(1..).unwrap_or("").trim_start()
            )?;
        }
        writeln!(out, "```\n\n</details>\n")?;
    }
    let unmanaged: Vec<_> = plan
        .unmanaged
        .iter()
        .filter(|u| u.system.is_none())
        .collect();
    if !unmanaged.is_empty() {
        writeln!(
            out,
            "<details><summary>{} unmanaged client(s)</summary>\n",
            unmanaged.len()
        )?;
        for u in unmanaged {
            writeln!(
                out,
                "- {} <code>{}</code>",
                md_escape(u.name.as_deref().unwrap_or("(no name)")),
                md_escape(&u.id)
            )?;
        }
        writeln!(out, "\n</details>\n")?;
    }
    writeln!(out, "{}", summary_line(plan, report))
}
