//! A plan as structured lines: each a sign (what kind of line it is) and raw text, built
//! once from the plan's data. The human renderer colours and indents them, the Markdown
//! renderer puts the sign in a `diff` block's first column; neither parses the other's
//! output. Texts are raw here: each renderer neutralises them for its medium.

use crate::diff::{Action, FieldChange, SecretState, SystemKind};
use crate::plan::{Plan, PlannedClient};
use serde_json::Value;

/// What a line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    /// Something that will be (or would have to be) added.
    Add,
    /// Something that will be (or would have to be) removed.
    Remove,
    /// A value that differs.
    Change,
    /// Context: unchanged lines of a multi-line value.
    Keep,
    /// A conflict or a refusal.
    Problem,
    /// A fact: unverifiable fields, unmanaged clients.
    Info,
    /// A system client (never counted, never touched).
    System,
}

/// One line, `depth` levels deep (0: a client, 1: its fields, 2: parts of a value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub depth: usize,
    pub sign: Sign,
    pub text: String,
}

impl Line {
    fn new(depth: usize, sign: Sign, text: impl Into<String>) -> Self {
        Line {
            depth,
            sign,
            text: text.into(),
        }
    }
}

/// Which command the report is for: the wording differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    Plan,
    Drift,
}

/// A value on one line: strings quoted, lists and mappings as JSON.
pub fn show(value: &Value) -> String {
    match value {
        Value::String(s) if !s.contains('\n') => format!("{s:?}"),
        Value::String(s) => format!("<<{} lines>>", s.lines().count()),
        other => other.to_string(),
    }
}

/// The header line of a client that is not in sync.
pub fn header(client: &PlannedClient, report: Report) -> Line {
    let place = format!("{}:{}", client.file, client.line);
    let (name, id) = (&client.name, &client.id);
    match client.action {
        Action::Create => {
            let verb = match report {
                Report::Plan => "will be created",
                Report::Drift => "is missing on the server",
            };
            Line::new(0, Sign::Add, format!("{name} ({id}) {verb}  [{place}]"))
        }
        Action::Drift => {
            let note = match report {
                Report::Plan => " (apply reports drift, it does not change existing clients)",
                Report::Drift => "",
            };
            Line::new(
                0,
                Sign::Change,
                format!("{name} ({id}) has drifted{note}  [{place}]"),
            )
        }
        Action::Conflict => {
            let other = client.conflicting_id.as_deref().unwrap_or("?");
            Line::new(
                0,
                Sign::Problem,
                format!("{name} ({id}) conflicts with server client {other} of the same name: pin `id: {other}` to adopt it  [{place}]"),
            )
        }
        Action::InSync => Line::new(
            0,
            Sign::Keep,
            format!("{name} ({id}) is in sync  [{place}]"),
        ),
    }
}

/// The field lines under a client's header.
pub fn fields(client: &PlannedClient) -> Vec<Line> {
    let mut out = Vec::new();
    let width = client
        .fields
        .iter()
        .map(|f| f.field.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let creating = client.action == Action::Create;
    for change in client.fields.iter().filter(|f| f.field != "secret") {
        if creating {
            created_field(change, width, &mut out);
        } else {
            changed_field(change, width, &mut out);
        }
    }
    match client.secret {
        Some(SecretState::Set) => out.push(Line::new(
            1,
            Sign::Add,
            format!("{:<width$} = (sensitive)", "secret"),
        )),
        Some(SecretState::Changed) => out.push(Line::new(
            1,
            Sign::Change,
            format!("{:<width$} = (sensitive) changed", "secret"),
        )),
        Some(SecretState::Unchanged) | None => {}
    }
    for field in &client.unverifiable {
        out.push(Line::new(
            1,
            Sign::Info,
            format!("{field:<width$}   unverifiable: boruta never renders it back"),
        ));
    }
    out
}

fn created_field(change: &FieldChange, width: usize, out: &mut Vec<Line>) {
    let FieldChange {
        field,
        desired,
        sensitive,
        ..
    } = change;
    if *sensitive {
        out.push(Line::new(
            1,
            Sign::Add,
            format!("{field:<width$} = (sensitive)"),
        ));
        return;
    }
    out.push(Line::new(
        1,
        Sign::Add,
        format!("{field:<width$} = {}", show(desired)),
    ));
    if let Value::String(text) = desired {
        if text.contains('\n') {
            for line in text.lines() {
                out.push(Line::new(2, Sign::Add, line));
            }
        }
    }
}

fn changed_field(change: &FieldChange, width: usize, out: &mut Vec<Line>) {
    let FieldChange {
        field,
        server,
        desired,
        sensitive,
    } = change;
    if *sensitive {
        out.push(Line::new(
            1,
            Sign::Change,
            format!("{field:<width$} = (sensitive) changed"),
        ));
        return;
    }
    match (server, desired) {
        (Value::String(a), Value::String(b)) if a.contains('\n') || b.contains('\n') => {
            out.push(Line::new(1, Sign::Change, format!("{field}:")));
            let diff = similar::TextDiff::from_lines(a.as_str(), b.as_str());
            for change in diff.iter_all_changes() {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => Sign::Remove,
                    similar::ChangeTag::Insert => Sign::Add,
                    similar::ChangeTag::Equal => Sign::Keep,
                };
                let line = change.value().trim_end_matches('\n');
                out.push(Line::new(2, sign, line));
            }
        }
        _ => out.push(Line::new(
            1,
            Sign::Change,
            format!("{field:<width$} = {} -> {}", show(server), show(desired)),
        )),
    }
}

fn system_label(kind: SystemKind) -> &'static str {
    match kind {
        SystemKind::AdminUi => "admin UI client",
        SystemKind::PublicClient => "boruta's public client",
        SystemKind::ThisTool => "the client this run authenticates as",
    }
}

/// The lines of the clients no manifest declares.
pub fn unmanaged(plan: &Plan) -> Vec<Line> {
    plan.unmanaged
        .iter()
        .map(|u| {
            let name = u.name.as_deref().unwrap_or("(no name)");
            match u.system {
                Some(kind) => Line::new(
                    0,
                    Sign::System,
                    format!("{name} ({}) system client: {}", u.id, system_label(kind)),
                ),
                None => Line::new(
                    0,
                    Sign::Info,
                    format!("{name} ({}) is unmanaged: no manifest declares it", u.id),
                ),
            }
        })
        .collect()
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
