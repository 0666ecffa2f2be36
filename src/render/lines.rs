//! A plan as structured lines: each a sign (what kind of line it is) and raw text, built
//! once from the plan's data. The human renderer colours and indents them, the Markdown
//! renderer puts the sign in a `diff` block's first column; neither parses the other's
//! output. Texts are raw here: each renderer neutralises them for its medium.

use crate::diff::{Action, FieldChange, KeyPairCheck, SecretState, SystemKind, Unmanaged};
use crate::kinds::client::fields::Compare;
use crate::kinds::client::fields::FieldId;
use crate::kinds::ObjectKind;
use crate::plan::{DeliveryState, Plan, PlannedObject};
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
    /// A system client (never counted, never touched); an action not attempted.
    System,
    /// Nothing to do: already as declared.
    Same,
    /// Sent again as git declares it (a write-only field: not verifiable).
    Resend,
    /// An action that failed.
    Failed,
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

/// The header line of a client.
pub fn header(client: &PlannedObject, report: Report) -> Line {
    let place = format!("{}:{}", client.file, client.line);
    let (name, id) = (&client.name, &client.id);
    let (sign, what) = match (client.action, report) {
        (Action::Create, Report::Plan) => (Sign::Add, "will be created".to_string()),
        (Action::Create, Report::Drift) => (Sign::Add, "is missing on the server".to_string()),
        (Action::Update, _) => (Sign::Change, "will be updated".to_string()),
        (Action::Delete, Report::Plan) => (Sign::Remove, "will be deleted".to_string()),
        (Action::Delete, Report::Drift) => (
            Sign::Remove,
            "is declared absent but exists on the server".to_string(),
        ),
        (Action::Drift, Report::Plan) => (
            Sign::Change,
            "has drifted (apply --update would correct it)".to_string(),
        ),
        (Action::Drift, Report::Drift) => (Sign::Change, "has drifted".to_string()),
        (Action::Conflict, _) => {
            let other = client.conflicting_id.as_deref().unwrap_or("?");
            (
                Sign::Problem,
                format!(
                    "conflicts with server {} {other} of the same name: pin `id: {other}` to adopt it",
                    client.kind
                ),
            )
        }
        (Action::InSync, _) if client.delivery_pending() => match report {
            Report::Plan => (Sign::Add, "will have its secret delivered".to_string()),
            Report::Drift => (
                Sign::Add,
                "is in sync, but its secret is not delivered as declared".to_string(),
            ),
        },
        (Action::InSync, _) if unreadable(client) => (
            Sign::Problem,
            "is in sync, but its secret delivery cannot be checked (see the errors)".to_string(),
        ),
        (Action::InSync, _) => (
            Sign::Keep,
            "is in sync, but for ignored changes".to_string(),
        ),
        (Action::Absent, _) => (Sign::Keep, "is absent, as declared".to_string()),
        (Action::Resend, _) => (
            Sign::Resend,
            "will re-send its write-only fields (boruta never renders them back: not verifiable)"
                .to_string(),
        ),
        (Action::Blocked, _) => {
            let what = match client.blocked {
                Some(Action::Delete) => "deleted",
                Some(Action::Update | Action::Resend) => "updated",
                _ => "created",
            };
            (
                Sign::Problem,
                format!("is blocked: it cannot be {what} as declared (see the errors)"),
            )
        }
    };
    let noun = prefix(client.kind);
    Line::new(0, sign, format!("{noun}{name} ({id}) {what}  [{place}]"))
}

/// What a header line starts with: nothing for clients (most of any plan), the kind's
/// name for the others.
fn prefix(kind: ObjectKind) -> String {
    match kind {
        ObjectKind::Client => String::new(),
        other => format!("{other} "),
    }
}

/// True when the client's secret delivery could not be checked.
fn unreadable(client: &PlannedObject) -> bool {
    client
        .delivery
        .as_ref()
        .is_some_and(|d| d.state == DeliveryState::Unreadable)
}

/// True when a client has something to show: it is not in sync, its drift is ignored, or
/// its secret delivery is pending or cannot be checked.
pub fn shown(client: &PlannedObject) -> bool {
    match client.action {
        Action::InSync => {
            client.fields.iter().any(|f| f.ignored)
                || client.secret == Some(SecretState::Ignored)
                || client.delivery_pending()
                || unreadable(client)
        }
        Action::Absent => false,
        _ => true,
    }
}

/// The field lines under a client's header.
pub fn fields(client: &PlannedObject) -> Vec<Line> {
    let mut out = Vec::new();
    if client.blocked == Some(Action::Create) {
        // Nothing of it will exist: its fields would only mislead (an unresolved
        // identity provider shows as null). A delivery that cannot be checked is why it
        // is blocked: that line stays.
        out.extend(delivery(client, DELIVERY_KEY.len()));
        return out;
    }
    let width = client
        .fields
        .iter()
        .chain(&client.resend)
        .map(|f| f.field.len())
        .chain(client.unverifiable.iter().map(String::len))
        .chain(client.delivery.as_ref().map(|_| DELIVERY_KEY.len()))
        .max()
        .unwrap_or(0)
        .max(6);
    let creating = client.action == Action::Create;
    let updating = client.action == Action::Update;
    for change in client.fields.iter().filter(|f| f.field != "secret") {
        if creating {
            created_field(change, width, &mut out);
        } else {
            changed_field(client.kind, change, width, updating, &mut out);
        }
    }
    match client.secret {
        Some(SecretState::Set) => out.push(Line::new(
            1,
            Sign::Add,
            format!("{:<width$} = (sensitive)", "secret"),
        )),
        Some(SecretState::Changed) => {
            let verb = if updating { "will change" } else { "changed" };
            out.push(Line::new(
                1,
                Sign::Change,
                format!("{:<width$} = (sensitive) {verb}", "secret"),
            ))
        }
        Some(SecretState::Ignored) => out.push(Line::new(
            1,
            Sign::Info,
            format!("{:<width$} = (sensitive) changed (ignored)", "secret"),
        )),
        Some(SecretState::Unchanged) | None => {}
    }
    if client.regenerate_key_pair {
        out.push(Line::new(
            1,
            Sign::Add,
            "then POST regenerate_key_pair: boruta keeps the old key until asked for one of the new type",
        ));
    }
    write_only(client, width, &mut out);
    if let Some(line) = delivery(client, width) {
        out.push(line);
    }
    for note in &client.notes {
        out.push(Line::new(1, Sign::Info, note.clone()));
    }
    out
}

/// The manifest key a delivery's line is named after.
const DELIVERY_KEY: &str = "secret_delivery";

/// The secret's delivery to the secret store: where, and whether apply writes it (never
/// the secret).
fn delivery(client: &PlannedObject, width: usize) -> Option<Line> {
    let delivery = client.delivery.as_ref()?;
    let location = delivery.location();
    let detail = delivery.detail.as_deref().unwrap_or_default();
    let (sign, text) = match delivery.state {
        DeliveryState::WithCreate => (Sign::Add, "written after the create".to_string()),
        DeliveryState::InSync => (Sign::Same, "delivered".to_string()),
        DeliveryState::Missing | DeliveryState::Outdated => {
            (Sign::Add, format!("{detail}: apply writes it"))
        }
        DeliveryState::Unreadable => (Sign::Problem, format!("cannot be checked: {detail}")),
    };
    let key = DELIVERY_KEY;
    Some(Line::new(
        1,
        sign,
        format!("{key:<width$} = {location}   {text}"),
    ))
}

/// The write-only fields: re-sent (with `--update`) or unverifiable, and `key_pair_id`.
fn write_only(client: &PlannedObject, width: usize, out: &mut Vec<Line>) {
    let key_pair_id = FieldId::KeyPairId.name();
    for change in client.resend.iter().filter(|c| c.field != key_pair_id) {
        let field = &change.field;
        let value = match change.sensitive {
            true => "(sensitive)".to_string(),
            false => show(&change.desired),
        };
        out.push(Line::new(
            1,
            Sign::Resend,
            format!("{field:<width$} = {value}   re-sent: boruta never renders it back"),
        ));
    }
    if client.resend.is_empty() {
        for field in client.unverifiable.iter().filter(|f| *f != key_pair_id) {
            out.push(Line::new(
                1,
                Sign::Info,
                format!("{field:<width$}   unverifiable: boruta never renders it back (apply --update re-sends it)"),
            ));
        }
    }
    let Some(check) = client.key_pair else {
        return;
    };
    let sent = client.resend.iter().any(|c| c.field == key_pair_id);
    let (sign, text) = match (check, sent) {
        (KeyPairCheck::Held, _) => (Sign::Same, "held: the client holds this key pair's key (not sent: boruta would replace it with a random one)"),
        (KeyPairCheck::Unverifiable, _) => (Sign::Info, "not sent: whether the client holds this key pair's key cannot be checked"),
        (KeyPairCheck::NotHeld, true) => (Sign::Change, "sent: the client does not hold this key pair's key (boruta copies the key pair's keys into it)"),
        (KeyPairCheck::Asked, true) => (Sign::Change, "sent, as --send-key-pair-id asks (boruta copies the key pair's keys into it)"),
        (_, false) => (Sign::Change, "the client does not hold this key pair's key (apply --update sends it)"),
    };
    out.push(Line::new(
        1,
        sign,
        format!("{key_pair_id:<width$}   {text}"),
    ));
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

/// The sign of a line of a diff.
fn diff_sign(tag: similar::ChangeTag) -> Sign {
    match tag {
        similar::ChangeTag::Delete => Sign::Remove,
        similar::ChangeTag::Insert => Sign::Add,
        similar::ChangeTag::Equal => Sign::Keep,
    }
}

/// Sets: what is added and what is removed.
fn set_lines(have: &[Value], want: &[Value], out: &mut Vec<Line>) {
    let have: Vec<String> = have.iter().map(show).collect();
    let want: Vec<String> = want.iter().map(show).collect();
    for item in want.iter().filter(|i| !have.contains(i)) {
        out.push(Line::new(2, Sign::Add, item.clone()));
    }
    for item in have.iter().filter(|i| !want.contains(i)) {
        out.push(Line::new(2, Sign::Remove, item.clone()));
    }
}

/// Lists, element by element.
fn ordered_lines(have: &[Value], want: &[Value], out: &mut Vec<Line>) {
    let have: Vec<String> = have.iter().map(show).collect();
    let want: Vec<String> = want.iter().map(show).collect();
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &have, &want) {
        for change in op.iter_changes(&have, &want) {
            out.push(Line::new(
                2,
                diff_sign(change.tag()),
                change.value().clone(),
            ));
        }
    }
}

/// Texts of several lines, line by line.
fn text_lines(have: &str, want: &str, out: &mut Vec<Line>) {
    let diff = similar::TextDiff::from_lines(have, want);
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end_matches('\n');
        out.push(Line::new(2, diff_sign(change.tag()), line));
    }
}

fn changed_field(
    kind: ObjectKind,
    change: &FieldChange,
    width: usize,
    updating: bool,
    out: &mut Vec<Line>,
) {
    let FieldChange {
        field,
        server,
        desired,
        sensitive,
        ignored,
    } = change;
    let note = if *ignored { " (ignored)" } else { "" };
    let sign = if *ignored { Sign::Info } else { Sign::Change };
    if *sensitive {
        let verb = if updating { "will change" } else { "changed" };
        out.push(Line::new(
            1,
            sign,
            format!("{field:<width$} = (sensitive) {verb}{note}"),
        ));
        return;
    }
    let compare = match kind {
        ObjectKind::Client => crate::kinds::client::fields::get(field).map(|f| f.compare),
        ObjectKind::Scope => None,
    };
    match (compare, server, desired) {
        (Some(Compare::Set | Compare::Scopes), Value::Array(have), Value::Array(want)) => {
            out.push(Line::new(1, sign, format!("{field}:{note}")));
            set_lines(have, want, out);
        }
        (Some(Compare::Ordered), Value::Array(have), Value::Array(want)) => {
            out.push(Line::new(1, sign, format!("{field}:{note}")));
            ordered_lines(have, want, out);
        }
        (_, Value::String(a), Value::String(b)) if a.contains('\n') || b.contains('\n') => {
            out.push(Line::new(1, sign, format!("{field}:{note}")));
            text_lines(a, b, out);
        }
        _ => out.push(Line::new(
            1,
            sign,
            format!(
                "{field:<width$} = {} -> {}{note}",
                show(server),
                show(desired)
            ),
        )),
    }
}

/// The lines of the objects no manifest declares. boruta's built-in scopes are one line:
/// every server has the same eleven.
pub fn unmanaged(plan: &Plan) -> Vec<Line> {
    let built_in = |u: &&Unmanaged| u.system == Some(SystemKind::BuiltInScope);
    let mut out: Vec<Line> = plan
        .unmanaged
        .iter()
        .filter(|u| !built_in(u))
        .map(|u| {
            let name = u.name.as_deref().unwrap_or("(no name)");
            let noun = prefix(u.kind);
            match u.system {
                Some(system) => Line::new(
                    0,
                    Sign::System,
                    format!(
                        "{noun}{name} ({}) system {}: {}",
                        u.id,
                        u.kind,
                        system.label()
                    ),
                ),
                None => Line::new(
                    0,
                    Sign::Info,
                    format!(
                        "{noun}{name} ({}) is unmanaged: no manifest declares it",
                        u.id
                    ),
                ),
            }
        })
        .collect();
    let names: Vec<&str> = plan
        .unmanaged
        .iter()
        .filter(built_in)
        .filter_map(|u| u.name.as_deref())
        .collect();
    if !names.is_empty() {
        out.push(Line::new(
            0,
            Sign::System,
            format!(
                "{} system scopes: boruta's built-in scopes ({})",
                names.len(),
                names.join(", ")
            ),
        ));
    }
    out
}

/// The counts of what apply does, by verb: creates always, updates, re-sends and deletes
/// when there are any or the plan's options allow them, and what is blocked.
pub fn actions(plan: &Plan) -> Vec<(&'static str, usize)> {
    let (s, options) = (&plan.summary, &plan.options);
    let mut out = vec![("create", s.create)];
    if s.update > 0 || options.update {
        out.push(("update", s.update));
    }
    if s.resend > 0 || options.update {
        out.push(("re-send", s.resend));
    }
    if s.delete > 0 || options.allow_delete {
        out.push(("delete", s.delete));
    }
    if s.deliver > 0 {
        out.push(("deliver", s.deliver));
    }
    out
}

/// The closing line both text formats end with (updates and deletes named when there
/// are any, or when the plan's options allow them).
pub fn summary_line(plan: &Plan, report: Report) -> String {
    let s = &plan.summary;
    let mut changes: Vec<String> = actions(plan)
        .iter()
        .map(|(verb, n)| format!("{n} to {verb}"))
        .collect();
    if s.blocked > 0 {
        changes.push(format!("{} blocked", s.blocked));
    }
    let changes = changes.join(", ");
    let body = format!(
        "{changes}, {} drifted, {} in sync, {} unmanaged ({} system), {} conflict(s)",
        s.drift, s.in_sync, s.unmanaged, s.system, s.conflict
    );
    match report {
        Report::Plan => format!("Plan: {body}."),
        Report::Drift => format!("Drift: {body}."),
    }
}
