//! How a scope manifest compares with the server's scope of its id, the requests that
//! make them equal (contract §1.3, §7.1), and the scopes as clients will see them once
//! this run's scope writes are made ([`view`]).
//!
//! Scope names are unique on the server, so a scope of the manifest's name under another
//! id is always a conflict (boruta would refuse the create): pin that id to adopt it.

use super::spec::{ScopeField, ScopeSpec};
use crate::diff::{absence, canonical, digest, Action, FieldChange, ObjectDiff, SystemKind};
use crate::diff::{Unmanaged, UpdatePlan};
use crate::findings::Code;
use crate::kinds::client::fields::FieldId;
use crate::kinds::client::ClientRecord;
use crate::kinds::{Kind, ObjectKind};
use crate::source::Diagnostic;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// What scope comparisons read besides the two.
pub struct Context<'a> {
    /// Scope id → names of the server's clients that hold it (a delete unlinks it).
    holders: HashMap<String, Vec<&'a str>>,
}

impl<'a> Context<'a> {
    /// `clients` are the server's (their `authorized_scopes` render `{id, name}`). Only
    /// the holders of the scopes `specs` declare absent are looked for (the notes of a
    /// delete): with none, 100,000 clients' scopes are not read.
    pub fn new(clients: &'a [ClientRecord], specs: &[ScopeSpec]) -> Self {
        let mut holders: HashMap<String, Vec<&str>> = specs
            .iter()
            .filter(|spec| !spec.present())
            .map(|spec| (spec.id.to_string(), Vec::new()))
            .collect();
        if holders.is_empty() {
            return Context { holders };
        }
        for client in clients {
            let Some(Value::Array(scopes)) = client.get(FieldId::AuthorizedScopes) else {
                continue;
            };
            for id in scopes
                .iter()
                .filter_map(|s| s.get("id").and_then(Value::as_str))
            {
                let name = client.name.as_deref().unwrap_or(&client.id);
                if let Some(names) = holders.get_mut(id) {
                    names.push(name);
                }
            }
        }
        holders.values_mut().for_each(|names| names.sort_unstable());
        Context { holders }
    }
}

/// OAuth scopes, as an object kind. A server scope is its rendered object
/// (`{id, name, label, public}`).
pub struct Scopes;

fn text<'a>(record: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    record.get(key).and_then(Value::as_str)
}

impl Kind for Scopes {
    const KIND: ObjectKind = ObjectKind::Scope;
    type Spec = ScopeSpec;
    type Record = Map<String, Value>;
    type Context<'a> = Context<'a>;

    fn identity(spec: &ScopeSpec) -> (String, &str) {
        (spec.id.to_string(), &spec.name)
    }

    fn record_identity(record: &Map<String, Value>) -> (&str, Option<&str>) {
        (text(record, "id").unwrap_or_default(), text(record, "name"))
    }

    fn compare(
        spec: &ScopeSpec,
        record: Option<&Map<String, Value>>,
        namesakes: &[&str],
        context: &Context<'_>,
    ) -> (ObjectDiff, Vec<Diagnostic>) {
        compare_one(spec, record, namesakes, context)
    }

    fn system(record: &Map<String, Value>, _: &Context<'_>) -> Option<SystemKind> {
        let name = text(record, "name")?;
        let built_in = crate::api::ADMIN_SCOPES.contains(&name)
            || crate::api::SEEDED_PUBLIC_SCOPES.contains(&name);
        built_in.then_some(SystemKind::BuiltInScope)
    }
}

/// The declared value of each field that is managed: `name`, `public` (default false) and
/// `label` when declared.
fn desired(spec: &ScopeSpec) -> Vec<(ScopeField, Value)> {
    let mut fields = vec![(ScopeField::Name, json!(spec.name))];
    if let Some(label) = &spec.label {
        fields.push((ScopeField::Label, json!(label)));
    }
    fields.push((ScopeField::Public, json!(spec.public)));
    fields
}

fn compare_one(
    spec: &ScopeSpec,
    record: Option<&Map<String, Value>>,
    namesakes: &[&str],
    context: &Context<'_>,
) -> (ObjectDiff, Vec<Diagnostic>) {
    let id = spec.id.to_string();
    let mut entry = ObjectDiff::new(
        ObjectKind::Scope,
        id.clone(),
        spec.name.clone(),
        spec.at.clone(),
    );
    let mut diagnostics = Vec::new();
    entry.fingerprint = Some(match record {
        Some(record) => digest(&canonical(&Value::Object(record.clone()))),
        None => absence(&id),
    });
    match (spec.present(), record) {
        (false, None) => entry.action = Action::Absent,
        (false, Some(_)) => {
            entry.action = Action::Delete;
            entry.notes = delete_notes(context.holders.get(&id));
        }
        (true, None) if !namesakes.is_empty() => {
            let other = namesakes[0].to_string();
            diagnostics.push(Diagnostic::new(Code::Conflict,
                format!("the server already has a scope named `{}` with id {other} (scope names are unique): pin `id: {other}` to adopt it", spec.name),
                Some(spec.locate("name")),
            ));
            entry.action = Action::Conflict;
            entry.conflicting_id = Some(other);
        }
        (true, None) => {
            entry.action = Action::Create;
            let mut body = Map::new();
            body.insert("id".into(), json!(id));
            for (field, value) in desired(spec) {
                entry
                    .fields
                    .push(change(field, Value::Null, value.clone(), false));
                body.insert(field.name().into(), value);
            }
            entry.create_body = body;
        }
        (true, Some(record)) => compare_fields(spec, record, &mut entry),
    }
    (entry, diagnostics)
}

fn change(field: ScopeField, server: Value, desired: Value, ignored: bool) -> FieldChange {
    FieldChange {
        field: field.name().to_string(),
        server,
        desired,
        sensitive: false,
        ignored,
    }
}

/// An existing scope, field by field: in sync, or drifted with the update that corrects it.
fn compare_fields(spec: &ScopeSpec, record: &Map<String, Value>, entry: &mut ObjectDiff) {
    let mut body = Map::new();
    for (field, value) in desired(spec) {
        // boruta renders a missing label as null and `public` as a boolean.
        let server = record.get(field.name()).cloned().unwrap_or(Value::Null);
        if server == value {
            continue;
        }
        let ignored = spec.ignore_changes.contains(&field);
        if !ignored {
            body.insert(field.name().into(), value.clone());
        }
        entry.fields.push(change(field, server, value, ignored));
    }
    entry.action = if body.is_empty() {
        Action::InSync
    } else {
        Action::Drift
    };
    if !body.is_empty() {
        entry.update = Some(UpdatePlan {
            body,
            regenerate_key_pair: false,
            refusals: Vec::new(),
        });
    }
}

/// What deleting a scope takes with it (contract §1.3).
fn delete_notes(holders: Option<&Vec<&str>>) -> Vec<String> {
    let mut notes =
        vec!["deleting a scope also deletes every user's grant of it (boruta does so)".to_string()];
    if let Some(names) = holders.filter(|n| !n.is_empty()) {
        notes.push(format!(
            "it is unlinked from the server's clients that hold it: {}",
            names.join(", ")
        ));
    }
    notes
}

/// The scopes as clients see them once this run's scope writes are made: the server's,
/// with each declared scope as git declares it (created, renamed, deleted). A client's
/// `authorized_scopes` resolve against this, so a client may name a scope created in the
/// same run without a warning.
pub fn view(
    server: Option<&[Map<String, Value>]>,
    declared: &[ScopeSpec],
) -> Option<Vec<Map<String, Value>>> {
    if server.is_none() && declared.is_empty() {
        return None;
    }
    let declared_ids: HashMap<String, &ScopeSpec> =
        declared.iter().map(|s| (s.id.to_string(), s)).collect();
    let mut view: Vec<Map<String, Value>> = server
        .unwrap_or_default()
        .iter()
        .filter(|s| !text(s, "id").is_some_and(|id| declared_ids.contains_key(id)))
        .cloned()
        .collect();
    for spec in declared.iter().filter(|s| s.present()) {
        let mut scope = Map::new();
        scope.insert("id".into(), json!(spec.id.to_string()));
        scope.insert("name".into(), json!(spec.name));
        scope.insert("public".into(), json!(spec.public));
        view.push(scope);
    }
    Some(view)
}

/// Unmanaged scopes are only reported when git manages scopes at all: a repository of
/// clients alone does not own the server's scopes.
pub fn keep_unmanaged(unmanaged: &mut Vec<Unmanaged>, manages_scopes: bool) {
    if !manages_scopes {
        unmanaged.retain(|u| u.kind != ObjectKind::Scope);
    }
}

/// The fields where a server scope differs from the manifest (ignored fields never count);
/// empty when it is the scope the manifest describes (apply's check of what it wrote).
pub fn differing_fields(desired: &ScopeSpec, record: &Map<String, Value>) -> Vec<String> {
    let mut entry = ObjectDiff::new(
        ObjectKind::Scope,
        desired.id.to_string(),
        desired.name.clone(),
        desired.at.clone(),
    );
    compare_fields(desired, record, &mut entry);
    entry
        .fields
        .into_iter()
        .filter(|f| !f.ignored)
        .map(|f| f.field)
        .collect()
}
