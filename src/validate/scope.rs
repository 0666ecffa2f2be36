//! Validates scope documents (`kind: Scope`, or an entry of a configuration file's
//! `scope:` section) into [`ScopeSpec`]s: the generated schema, boruta's scope rules
//! (contract §7.1) and the names boruta protects (§1.3); and, across the manifest set,
//! duplicate names and ids and what deleting a scope would take from the clients in git.

use super::{check_duplicate_keys, check_identity_origins, schema_diagnostic, Validated};
use crate::findings::Code;
use crate::kinds::client::manifest::Ensure;
use crate::kinds::scope::manifest::{derived_scope_id, ScopeManifest};
use crate::kinds::scope::spec::{ScopeField, ScopeSpec};
use crate::schema::{self, SchemaKind};
use crate::source::{Diagnostic, Node, NodeValue, Origin, Waiver};
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Validates one scope document, adding it to `out` when it has no error.
pub(super) fn validate_scope(node: Node, waivers: &[Waiver], out: &mut Validated) {
    let before = out.diagnostics.len();
    if !matches!(node.value, NodeValue::Map(_)) {
        out.diagnostics.push(Diagnostic::new(
            Code::NotAMapping,
            "a scope must be a mapping of scope fields",
            Some(node.loc.clone()),
        ));
        return;
    }
    check_duplicate_keys(&node, true, out);
    check_identity_origins(&node, out);
    let json = node.to_json();
    let mut keys = super::schema_findings::KeyIndex::default();
    for violation in schema::check(SchemaKind::Scope, &json) {
        if node
            .at_pointer(&violation.pointer)
            .is_some_and(|n| n.origin == Origin::Unresolved)
        {
            continue; // the loader reports the unresolved reference
        }
        let finding = schema_diagnostic(
            SchemaKind::Scope,
            &node,
            &mut keys,
            &violation.pointer,
            &violation.problem,
        );
        out.diagnostics.push(finding);
    }
    check_protected(&node, out);
    let ignored = check_ignore_changes(&node, out);
    crate::policy::waivers::waive(&mut out.diagnostics[before..], waivers);
    if out.diagnostics[before..].iter().any(Diagnostic::is_error) {
        return;
    }
    if let Some(spec) = ignored.and_then(|ignored| typed(&node, &json, ignored, out)) {
        out.scopes.push(spec);
    }
}

/// boruta refuses to change or delete its management scopes (403 "write protected").
fn check_protected(node: &Node, out: &mut Validated) {
    let Some(name) = node.get("name") else { return };
    if let Some(text) = name
        .as_str()
        .filter(|n| crate::api::PROTECTED_SCOPES.contains(n))
    {
        out.diagnostics.push(Diagnostic::new(
            Code::ProtectedScope,
            format!("`{text}` is one of boruta's protected management scopes: boruta refuses to change or delete it (403 write protected); leave it out of git"),
            Some(name.loc.clone()),
        ));
    }
}

/// `lifecycle.ignore_changes` may name `label` and `public`: those fields, or `None` when
/// it names anything else.
fn check_ignore_changes(node: &Node, out: &mut Validated) -> Option<Vec<ScopeField>> {
    let Some(NodeValue::Seq(items)) = node
        .at_pointer("/lifecycle/ignore_changes")
        .map(|n| &n.value)
    else {
        return Some(Vec::new());
    };
    let mut fields = Vec::new();
    let mut ok = true;
    for item in items {
        let name = item.as_str().unwrap_or_default();
        match ScopeField::parse(name).filter(|f| *f != ScopeField::Name) {
            Some(field) => fields.push(field),
            None => {
                out.diagnostics.push(Diagnostic::new(
                    Code::UnknownField,
                    format!("`{name}` in `lifecycle.ignore_changes` cannot be ignored: a scope's ignorable fields are `label` and `public`"),
                    Some(item.loc.clone()),
                ));
                ok = false;
            }
        }
    }
    ok.then_some(fields)
}

/// The typed model of a scope that passed every check.
fn typed(
    node: &Node,
    json: &serde_json::Value,
    ignore_changes: Vec<ScopeField>,
    out: &mut Validated,
) -> Option<ScopeSpec> {
    let manifest = match ScopeManifest::deserialize(json) {
        Ok(m) => m,
        Err(_) if node.any_unresolved() => return None,
        Err(e) => {
            out.diagnostics.push(Diagnostic::new(
                Code::InvalidManifest,
                format!("the scope could not be read: {e}"),
                Some(node.loc.clone()),
            ));
            return None;
        }
    };
    let (id, id_explicit) = match &manifest.id {
        Some(id) => (Uuid::parse_str(id).ok()?, true),
        None => {
            let id = derived_scope_id(&manifest.name);
            out.diagnostics.push(Diagnostic::new(Code::DerivedId,
                format!("no `id`: the id {id} is derived from the name; pin it with `id: {id}` so a rename cannot create a new scope"),
                node.entry("name").map(|(k, _)| k.loc.clone()),
            ));
            (id, false)
        }
    };
    let fields_at = ["id", "name", "label", "public"]
        .into_iter()
        .filter_map(|field| node.get(field).map(|v| (field, v.loc.clone())))
        .collect();
    Some(ScopeSpec {
        id,
        id_explicit,
        name: manifest.name,
        label: manifest.label,
        public: manifest.public.unwrap_or(false),
        ensure: manifest
            .lifecycle
            .and_then(|l| l.ensure)
            .unwrap_or_default(),
        ignore_changes,
        at: node.loc.clone(),
        fields_at,
    })
}

/// Across the manifest set: each scope name and id once; no scope deleted while a client
/// in git still names it (boruta would unlink it from that client, and the next plan
/// would recreate it as a private scope).
pub(super) fn check_across(out: &mut Validated) {
    let mut findings = Vec::new();
    let mut names: BTreeMap<&str, &ScopeSpec> = BTreeMap::new();
    let mut ids: BTreeMap<Uuid, &ScopeSpec> = BTreeMap::new();
    for scope in &out.scopes {
        if let Some(first) = names.get(scope.name.as_str()) {
            findings.push(Diagnostic::new(
                Code::DuplicateName,
                format!(
                    "scope name `{}` is already used at {}",
                    scope.name,
                    first.locate("name")
                ),
                Some(scope.locate("name")),
            ));
            continue;
        }
        names.insert(&scope.name, scope);
        if let Some(first) = ids.get(&scope.id) {
            let at = if scope.id_explicit { "id" } else { "name" };
            findings.push(Diagnostic::new(
                Code::DuplicateId,
                format!(
                    "scope id {} is already used by `{}` at {}",
                    scope.id,
                    first.name,
                    first.locate("id")
                ),
                Some(scope.locate(at)),
            ));
            continue;
        }
        ids.insert(scope.id, scope);
    }
    for scope in out.scopes.iter().filter(|s| s.ensure == Ensure::Absent) {
        let id = scope.id.to_string();
        let users: Vec<&str> = out
            .clients
            .iter()
            .filter(|c| c.lifecycle.ensure == Ensure::Present)
            .filter(|c| {
                c.authorized_scopes.iter().flatten().any(|r| {
                    r.name.as_deref() == Some(scope.name.as_str())
                        || r.id.as_deref().is_some_and(|i| i.eq_ignore_ascii_case(&id))
                })
            })
            .map(|c| c.name.as_str())
            .collect();
        if !users.is_empty() {
            findings.push(Diagnostic::new(
                Code::ScopeStillReferenced,
                format!(
                    "scope `{}` is declared `ensure: absent`, but clients in git still name it in `authorized_scopes`: `{}`; remove it from them first",
                    scope.name,
                    users.join("`, `")
                ),
                Some(scope.at.clone()),
            ));
        }
    }
    out.diagnostics.extend(findings);
}
