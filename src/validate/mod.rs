//! Turns loaded documents into validated desired clients plus findings: the JSON Schema
//! check, boruta's own rules (`rules.rs`), and the checks across the manifest set
//! (duplicate names and ids). `version` adds what depends on the boruta version (fields
//! it does not support, defaults that differ). Pure: no filesystem, no network.
//!
//! Every finding points at the offending value. Later stages only ever see [`ClientSpec`]
//! clients, which passed all of this, and read their fields through the catalogue.

mod delivery;
mod schema_findings;
mod scope;
mod version;

pub use version::check_version;

use crate::findings::Code;
use crate::kinds::client::fields::{self, FieldId, Version};
use crate::kinds::client::manifest::{derived_client_id, ClientManifest};
use crate::kinds::client::rules::{self, Mode};
use crate::load::Document;
use crate::schema::{self, Problem, SchemaKind};
use crate::source::{Diagnostic, Location, Node, NodeValue, Origin, Severity, Waiver};
use schema_findings::schema_diagnostic;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use uuid::Uuid;

pub use crate::kinds::client::spec::{ClientSpec, Declared, Lifecycle, Pos};

/// The outcome of validation.
#[derive(Debug, Default)]
pub struct Validated {
    pub clients: Vec<ClientSpec>,
    pub scopes: Vec<crate::kinds::scope::ScopeSpec>,
    pub diagnostics: Vec<Diagnostic>,
    /// Source lines that hold a literal secret: renderers must never quote them.
    pub redacted_lines: BTreeSet<(Arc<str>, usize)>,
}

/// Which server lists the manifests need, read from the raw documents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// Some client names its identity provider (the list, and its scope, are needed).
    pub identity_providers: bool,
    /// Some client declares `authorized_scopes`, or some scope is declared (the scope list
    /// is needed).
    pub scopes: bool,
    /// Some client declares `key_pair_id` (the key pairs are needed to tell whether an
    /// existing client holds it).
    pub key_pairs: bool,
}

/// Scans the documents for what [`Needs`] describes.
impl Needs {
    /// What either needs.
    pub fn or(self, other: Needs) -> Needs {
        Needs {
            identity_providers: self.identity_providers || other.identity_providers,
            scopes: self.scopes || other.scopes,
            key_pairs: self.key_pairs || other.key_pairs,
        }
    }
}

pub fn scan_needs(documents: &[Document]) -> Needs {
    let mut needs = Needs::default();
    let mut visit = |client: &Node| {
        needs.identity_providers |= client
            .get("identity_provider")
            .and_then(|i| i.get("name"))
            .is_some();
        needs.scopes |= client.get(FieldId::AuthorizedScopes.name()).is_some();
        needs.key_pairs |= client.get(FieldId::KeyPairId.name()).is_some();
    };
    let mut declares_scopes = false;
    for doc in documents {
        declares_scopes |= doc.root.get("kind").and_then(Node::as_str) == Some("Scope")
            || doc
                .root
                .get("configuration")
                .and_then(|c| c.get("scope"))
                .is_some();
        match doc.root.get("configuration").and_then(|c| c.get("client")) {
            Some(Node {
                value: NodeValue::Seq(items),
                ..
            }) => items.iter().for_each(&mut visit),
            Some(_) => {}
            None => visit(&doc.root),
        }
    }
    needs.scopes |= declares_scopes;
    needs
}

/// Validates every document (what does not depend on the boruta version; see
/// [`check_version`] for the rest). Takes the documents by value: their nodes move into
/// the [`ClientSpec`]s (10,000 manifests must validate within 100 MB).
/// `waivers` are the manifests' `# boruta-gitops:allow` comments: a waived legacy value
/// does not keep its client from being validated.
pub fn validate(documents: Vec<Document>, waivers: &[Waiver]) -> Validated {
    finish(vec![validate_file(documents, waivers)])
}

/// Validates the documents of one file, without the checks across the manifest set
/// ([`finish`] makes those once every file is validated).
pub fn validate_file(documents: Vec<Document>, waivers: &[Waiver]) -> Validated {
    let mut out = Validated::default();
    validate_into(documents, waivers, &mut out);
    out
}

/// Validates the documents of one file into `out` (the files validated so far by this
/// thread), without the checks across the manifest set.
pub fn validate_into(documents: Vec<Document>, waivers: &[Waiver], out: &mut Validated) {
    for doc in documents {
        validate_document(doc.root, waivers, out);
    }
}

/// Joins the files' validations, in file order, and checks across the manifest set
/// (duplicate names and ids).
pub fn finish(parts: Vec<Validated>) -> Validated {
    let mut out = Validated::default();
    let mut redacted_lines = Vec::with_capacity(parts.len());
    for mut part in parts {
        // The first part's clients grow in place (a large vector grows by remapping its
        // pages, without a copy of 100,000 clients beside the parts).
        if out.clients.is_empty() {
            std::mem::swap(&mut out.clients, &mut part.clients);
        }
        out.clients.append(&mut part.clients);
        out.scopes.append(&mut part.scopes);
        out.diagnostics.append(&mut part.diagnostics);
        redacted_lines.push(part.redacted_lines);
    }
    // Built once from all parts: `append` per part rebuilds the whole set each time.
    out.redacted_lines = redacted_lines.into_iter().flatten().collect();
    check_uniqueness(&mut out);
    delivery::check_across(&mut out);
    scope::check_across(&mut out);
    out
}

fn validate_document(root: Node, waivers: &[Waiver], out: &mut Validated) {
    let NodeValue::Map(pairs) = &root.value else {
        out.diagnostics.push(Diagnostic::new(Code::NotAMapping,
            "a manifest document must be a mapping of client fields (or a boruta configuration file)",
            Some(root.loc.clone()),
        ));
        return;
    };
    if let Some((key, value)) = root.entry("apiVersion") {
        let shown = value.as_str().map(|v| format!(": {v}")).unwrap_or_default();
        out.diagnostics.push(Diagnostic::new(
            Code::ForeignDocument,
            format!("this document has `apiVersion{shown}`: it is not a boruta-gitops manifest (a Kubernetes or kustomize file?); keep it out with --exclude"),
            Some(key.loc.clone()),
        ));
        return;
    }
    let is_configuration = pairs
        .iter()
        .any(|(k, _)| matches!(k.as_str(), Some("version" | "configuration")));
    match is_configuration {
        true => validate_configuration_file(root, waivers, out),
        false => validate_object(root, waivers, out),
    }
}

/// A document that is one object: a client (the default `kind`) or a scope.
fn validate_object(root: Node, waivers: &[Waiver], out: &mut Validated) {
    match root.get("kind") {
        Some(kind) if kind.as_str() == Some("Scope") => scope::validate_scope(root, waivers, out),
        Some(kind) if kind.as_str() != Some("Client") => {
            let shown = kind.as_str().map_or_else(
                || "this value".to_string(),
                |k| format!("`{}`", crate::escape::neutral(k)),
            );
            out.diagnostics.push(Diagnostic::new(
                Code::UnknownKind,
                format!(
                    "unknown `kind`: {shown} (a manifest is a `Client`, the default, or a `Scope`)"
                ),
                Some(kind.loc.clone()),
            ));
        }
        _ => validate_client(root, waivers, out),
    }
}

/// A document in the form of boruta's own configuration file (`version`,
/// `configuration.client`, `configuration.scope`).
fn validate_configuration_file(root: Node, waivers: &[Waiver], out: &mut Validated) {
    // The client lists are checked client by client below; other sections are boruta's.
    check_duplicate_keys(&root, false, out);
    if let Some(configuration) = root.get("configuration") {
        check_duplicate_keys(configuration, false, out);
    }
    check_configuration_keys(&root, out);
    let document_start = root.loc.clone();
    let (clients, scopes) = take_configuration_lists(root);
    if clients.is_empty() && scopes.is_empty() {
        out.diagnostics.push(Diagnostic::new(
            Code::NoClients,
            "this configuration file declares no client and no scope: boruta-gitops has nothing to manage in it",
            Some(document_start),
        ));
    }
    for scope in scopes {
        scope::validate_scope(scope, waivers, out);
    }
    for client in clients {
        validate_client(client, waivers, out);
    }
}

/// The top level of a configuration file: `version: "1.0"` and `configuration`, nothing
/// else.
fn check_configuration_keys(root: &Node, out: &mut Validated) {
    let NodeValue::Map(pairs) = &root.value else {
        return;
    };
    for (key, value) in pairs {
        match key.as_str() {
            Some("version") => {
                if value.as_str() != Some("1.0") {
                    let hint = if matches!(value.value, NodeValue::Float(_) | NodeValue::Int(_)) {
                        " (quote it: an unquoted 1.0 is a number, which boruta refuses)"
                    } else {
                        ""
                    };
                    out.diagnostics.push(Diagnostic::new(Code::InvalidConfiguration,
                        format!("`version` must be the string \"1.0\"{hint}"),
                        Some(value.loc.clone()),
                    ));
                }
            }
            Some("configuration") => validate_configuration(value, out),
            _ => out.diagnostics.push(Diagnostic::new(Code::UnknownField,
                format!("unknown field `{}` in a configuration file (expected `version` and `configuration`)", key.key_text()),
                Some(key.loc.clone()),
            )),
        }
    }
    if root.get("configuration").is_none() {
        out.diagnostics.push(Diagnostic::new(
            Code::InvalidConfiguration,
            "a configuration file needs a `configuration` mapping",
            Some(root.loc.clone()),
        ));
    }
    if root.get("version").is_none() {
        out.diagnostics.push(Diagnostic::new(
            Code::InvalidConfiguration,
            "a configuration file needs `version: \"1.0\"` (boruta refuses it otherwise)",
            Some(root.loc.clone()),
        ));
    }
}

/// Moves the client and scope nodes out of a configuration-file document.
fn take_configuration_lists(root: Node) -> (Vec<Node>, Vec<Node>) {
    let (mut clients, mut scopes) = (Vec::new(), Vec::new());
    let NodeValue::Map(pairs) = root.value else {
        return (clients, scopes);
    };
    for (key, configuration) in pairs {
        if key.as_str() != Some("configuration") {
            continue;
        }
        let NodeValue::Map(sections) = configuration.value else {
            continue;
        };
        for (section, value) in sections {
            match (section.as_str(), value.value) {
                (Some("client"), NodeValue::Seq(items)) => clients.extend(items),
                (Some("scope"), NodeValue::Seq(items)) => scopes.extend(items),
                _ => {}
            }
        }
    }
    (clients, scopes)
}

/// The sections of boruta's configuration file boruta-gitops manages.
const MANAGED_SECTIONS: [&str; 2] = ["client", "scope"];

/// Sections of boruta's configuration file it leaves alone (read from the schema of
/// `Configuration`).
fn is_unmanaged_section(name: &str) -> bool {
    !MANAGED_SECTIONS.contains(&name) && schema::configuration_sections().iter().any(|s| s == name)
}

fn validate_configuration(node: &Node, out: &mut Validated) {
    let NodeValue::Map(pairs) = &node.value else {
        out.diagnostics.push(Diagnostic::new(
            Code::InvalidConfiguration,
            "`configuration` must be a mapping of sections",
            Some(node.loc.clone()),
        ));
        return;
    };
    for (key, value) in pairs {
        let name = key.key_text();
        if MANAGED_SECTIONS.contains(&name.as_str()) {
            match &value.value {
                NodeValue::Seq(_) | NodeValue::Null => {} // validated by validate_document
                _ => out.diagnostics.push(Diagnostic::new(
                    Code::InvalidConfiguration,
                    format!("`configuration.{name}` must be a list of {name}s"),
                    Some(value.loc.clone()),
                )),
            }
        } else if is_unmanaged_section(&name) {
            out.diagnostics.push(Diagnostic::new(Code::SectionNotManaged,
                format!("section `{name}` is not managed by boruta-gitops and is ignored (only `client` and `scope` are)"),
                Some(key.loc.clone()),
            ));
        } else {
            out.diagnostics.push(Diagnostic::new(
                Code::UnknownSection,
                format!("boruta ignores the unknown configuration section `{name}`"),
                Some(key.loc.clone()),
            ));
        }
    }
}

/// Reports keys written twice in a mapping (the last one would silently win: the
/// reviewer reads the first, boruta gets the second), each once, at the second key; with
/// `recurse`, in every mapping below too.
fn check_duplicate_keys(node: &Node, recurse: bool, out: &mut Validated) {
    match &node.value {
        NodeValue::Map(pairs) => {
            let mut seen = FirstKeys::new(pairs);
            for (i, (k, v)) in pairs.iter().enumerate() {
                let text = key_text(k);
                if let Some((first, first_value)) = seen.get(&text, i) {
                    let finding = Diagnostic::new(
                        Code::DuplicateKey,
                        format!("key `{text}` is repeated (first at {first}); only one may stay"),
                        Some(k.loc.clone()),
                    );
                    // The same scalar twice (boruta's own full_configuration.yml does it):
                    // reviewer and boruta read the same value, so it is untidy, not unsafe.
                    let same = same_scalar(&first_value.value, &v.value);
                    out.diagnostics.push(match same {
                        true => finding.with_severity(Severity::Warning),
                        false => finding,
                    });
                } else {
                    seen.insert(text, (&k.loc, v));
                }
                if recurse {
                    check_duplicate_keys(v, true, out);
                }
            }
        }
        NodeValue::Seq(items) if recurse => {
            for item in items {
                check_duplicate_keys(item, true, out);
            }
        }
        _ => {}
    }
}

/// A key's text, borrowed when it is a string (every key of a real manifest).
fn key_text(key: &Node) -> Cow<'_, str> {
    match &key.value {
        NodeValue::Str(text) => Cow::Borrowed(text),
        _ => Cow::Owned(key.key_text()),
    }
}

/// The first key of each text in one mapping: a scan of the keys before for a mapping of
/// a few keys (every client is one: a hash and an allocation per key cost more), a hash
/// map for a large one (a scan would be quadratic in a hostile file).
enum FirstKeys<'a> {
    Few(&'a [(Node, Node)]),
    Many(HashMap<Cow<'a, str>, (&'a Location, &'a Node)>),
}

impl<'a> FirstKeys<'a> {
    const FEW: usize = 32;

    fn new(pairs: &'a [(Node, Node)]) -> Self {
        match pairs.len() <= Self::FEW {
            true => FirstKeys::Few(pairs),
            false => FirstKeys::Many(HashMap::with_capacity(pairs.len())),
        }
    }

    /// The first of the keys before the `index`th one that reads `text`.
    fn get(&self, text: &str, index: usize) -> Option<(&'a Location, &'a Node)> {
        match self {
            FirstKeys::Few(pairs) => pairs[..index]
                .iter()
                .find(|(k, _)| key_text(k) == text)
                .map(|(k, v)| (&k.loc, v)),
            FirstKeys::Many(keys) => keys.get(text).copied(),
        }
    }

    /// Records the first key that reads `text` (a scan needs no record).
    fn insert(&mut self, text: Cow<'a, str>, first: (&'a Location, &'a Node)) {
        if let FirstKeys::Many(keys) = self {
            keys.insert(text, first);
        }
    }
}

/// True when both are the same scalar.
fn same_scalar(a: &NodeValue, b: &NodeValue) -> bool {
    match (a, b) {
        (NodeValue::Null, NodeValue::Null) => true,
        (NodeValue::Bool(a), NodeValue::Bool(b)) => a == b,
        (NodeValue::Int(a), NodeValue::Int(b)) => a == b,
        (NodeValue::Str(a), NodeValue::Str(b)) => a == b,
        _ => false,
    }
}

/// `lifecycle.ignore_changes` names fields a manifest may declare (not `id` or `name`,
/// which identify the client): those fields, or `None` when one is not.
fn check_lifecycle(node: &Node, out: &mut Validated) -> Option<Vec<FieldId>> {
    let items = match node
        .at_pointer("/lifecycle/ignore_changes")
        .map(|n| &n.value)
    {
        Some(NodeValue::Seq(items)) => items,
        _ => return Some(Vec::new()),
    };
    let mut ignored = Vec::new();
    let mut ok = true;
    for item in items {
        let name = item.as_str().unwrap_or_default();
        let field = FieldId::parse(name).filter(|f| f.spec().in_manifest);
        match field {
            Some(field) if !matches!(field, FieldId::Id | FieldId::Name) => ignored.push(field),
            _ => {
                let why = if name == "id" || name == "name" {
                    "it identifies the client"
                } else {
                    "it is not a client field"
                };
                out.diagnostics.push(Diagnostic::new(
                    Code::UnknownField,
                    format!("`{name}` in `lifecycle.ignore_changes` cannot be ignored: {why}"),
                    Some(item.loc.clone()),
                ));
                ok = false;
            }
        }
    }
    ok.then_some(ignored)
}

/// `id` and `name` identify the client in every plan and report, so they may not come
/// from a sensitive origin (which would be printed there).
fn check_identity_origins(node: &Node, out: &mut Validated) {
    for field in ["id", "name"] {
        let Some(value) = node.get(field) else {
            continue;
        };
        let sensitive = match value.origin {
            Origin::Env | Origin::FileOutsideRoot => true,
            // An unset variable stays a reference; its own finding may be a warning only.
            Origin::Unresolved => value.as_str().is_some_and(crate::load::is_env_reference),
            Origin::Literal | Origin::FileInRoot => false,
        };
        if sensitive {
            out.diagnostics.push(Diagnostic::new(Code::SubstitutionNotAllowed,
                format!("`{field}` cannot come from the environment or from a file outside the manifest directory: it identifies the client in every plan and report, and such values are never printed"),
                Some(value.loc.clone()),
            ));
        }
    }
}

fn validate_client(node: Node, waivers: &[Waiver], out: &mut Validated) {
    let before = out.diagnostics.len();
    if !matches!(node.value, NodeValue::Map(_)) {
        out.diagnostics.push(Diagnostic::new(
            Code::NotAMapping,
            "a client must be a mapping of client fields",
            Some(node.loc.clone()),
        ));
        return;
    }
    redact_secret_lines(&node, out);
    check_duplicate_keys(&node, true, out);
    check_identity_origins(&node, out);
    let json = node.to_json();
    let reported = check_schema(&node, &json, out);
    if let Value::Object(map) = &json {
        check_rules(&node, map, &reported, out);
    }
    check_server_generated(&node, out);
    delivery::check(&node, &reported, out);
    crate::policy::waivers::waive(&mut out.diagnostics[before..], waivers);
    let has_error = out.diagnostics[before..].iter().any(Diagnostic::is_error);
    if has_error {
        return;
    }
    if let Some(client) = typed(node, json, out) {
        out.clients.push(client);
    }
}

/// Source lines holding a literal secret are never quoted (a `${env:..}` / `${file:..}`
/// line shows the reference, not the secret).
fn redact_secret_lines(node: &Node, out: &mut Validated) {
    let Some((key, value)) = node.entry(FieldId::Secret.name()) else {
        return;
    };
    if value.origin == Origin::Literal {
        let lines = value.as_str().map_or(1, |s| s.lines().count().max(1));
        // One line more than a plain scalar needs: a block scalar (`secret: |`) starts at
        // its indicator and its text on the next line, and the tree does not keep the
        // style. Hiding the line after a one-line secret is the price of never quoting one.
        for line in key.loc.line..=value.loc.line + lines {
            out.redacted_lines.insert((key.loc.file.clone(), line));
        }
    }
}

/// The JSON Schema's findings; returns the fields they are about (boruta's rules then
/// say nothing more about those).
fn check_schema(node: &Node, json: &Value, out: &mut Validated) -> BTreeSet<String> {
    let mut reported = BTreeSet::new();
    let mut keys = schema_findings::KeyIndex::default();
    for violation in schema::check(SchemaKind::Client, json) {
        let field = violation.pointer.split('/').nth(1).unwrap_or("");
        // An unresolved reference is reported by the loader; its text is not the value.
        if node
            .at_pointer(&violation.pointer)
            .is_some_and(|n| n.origin == Origin::Unresolved)
        {
            continue;
        }
        // A finding about the whole object (a missing or unknown field) does not hide the
        // other findings about that object's fields.
        let whole_object = matches!(
            violation.problem,
            Problem::UnknownField(_) | Problem::MissingField(_)
        );
        if !whole_object || !field.is_empty() {
            reported.insert(field.to_string());
        }
        let diagnostic = schema_diagnostic(
            SchemaKind::Client,
            node,
            &mut keys,
            &violation.pointer,
            &violation.problem,
        );
        out.diagnostics.push(diagnostic);
    }
    reported
}

/// boruta's own rules (of every version: what only some versions accept is
/// `check_version`'s), at the values they are about.
fn check_rules(
    node: &Node,
    map: &serde_json::Map<String, Value>,
    reported: &BTreeSet<String>,
    out: &mut Validated,
) {
    let violations = rules::check_client(map, Mode::Create, Version::Master);
    let key_pair_type = FieldId::KeyPairType.name();
    for v in &violations {
        // "cannot generate a key" repeats a more precise key_pair_type finding.
        let repeats =
            v.field == "private_key" && violations.iter().any(|o| o.field == key_pair_type);
        if reported.contains(v.subject) || repeats {
            continue;
        }
        let whole = format!("/{}", v.subject);
        let pointer = v
            .index
            .map_or_else(|| whole.clone(), |i| format!("{whole}/{i}"));
        let target = node
            .at_pointer(&pointer)
            .or_else(|| node.at_pointer(&whole));
        if target.is_some_and(Node::any_unresolved) {
            continue;
        }
        let loc = target.map_or_else(|| node.loc.clone(), |n| n.loc.clone());
        let detail = if target.is_some_and(|n| n.sensitive()) {
            format!(
                "{} is invalid (its substituted value is not shown)",
                v.subject
            )
        } else {
            v.detail.clone()
        };
        out.diagnostics
            .push(Diagnostic::new(v.code, detail, Some(loc)));
    }
    if let Some(Value::Object(kpt)) = map.get(key_pair_type) {
        if rules::key_generation(kpt) == rules::KeyGeneration::NeedsRegistrar {
            out.diagnostics.push(Diagnostic::new(Code::UniversalKeyType,
                "key type `universal` makes boruta call an external DID registrar on create; the create fails when it is unreachable",
                node.at_pointer("/key_pair_type/type").map(|n| n.loc.clone()),
            ));
        }
    }
}

/// Fields boruta generates itself are ignored on create: declaring one only drifts.
fn check_server_generated(node: &Node, out: &mut Validated) {
    for field in fields::manifest_fields().filter(|f| f.server_generated()) {
        let field = field.name;
        if let Some((key, _)) = node.entry(field) {
            out.diagnostics.push(Diagnostic::new(Code::ServerGeneratedField,
                format!("`{field}` is generated by the server and ignored on create; declaring it can only cause endless drift: remove it"),
                Some(key.loc.clone()),
            ));
        }
    }
}

/// The typed model of a manifest that passed every check; the YAML tree is dropped.
fn typed(node: Node, json: Value, out: &mut Validated) -> Option<ClientSpec> {
    let manifest = match ClientManifest::deserialize(&json) {
        Ok(m) => m,
        // A reference left unresolved (reported by the loader) is text where a number may
        // belong: nothing to model until it resolves.
        Err(_) if node.any_unresolved() => return None,
        Err(e) => {
            // The schema and the types agree, so this is a bug, reported rather than hidden.
            out.diagnostics.push(Diagnostic::new(
                Code::InvalidManifest,
                format!("the manifest could not be read: {e}"),
                Some(node.loc.clone()),
            ));
            return None;
        }
    };
    let (id, id_explicit) = match &manifest.id {
        Some(id) => (Uuid::parse_str(id).ok()?, true),
        None => {
            let id = derived_client_id(&manifest.name);
            out.diagnostics.push(Diagnostic::new(Code::DerivedId,
                format!("no `id`: the id {id} is derived from the name; pin it with `id: {id}` so a rename cannot create a new client"),
                node.entry(FieldId::Name.name()).map(|(k, _)| k.loc.clone()),
            ));
            (id, false)
        }
    };
    let ignore_changes = check_lifecycle(&node, out)?;
    let lifecycle = Lifecycle {
        ensure: manifest
            .lifecycle
            .and_then(|l| l.ensure)
            .unwrap_or_default(),
        ignore_changes,
    };
    let secret_delivery = delivery::typed(&node, manifest.secret_delivery.as_ref());
    let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let NodeValue::Map(pairs) = &node.value else {
        return None;
    };
    // Room for every key up front (nearly every key is a field): collecting an iterator
    // of unknown length grows the vector three times.
    let mut fields = Vec::with_capacity(pairs.len());
    let mut values = json_values(json, pairs.len());
    fields.extend(pairs.iter().enumerate().filter_map(|(i, (key, value))| {
        let field = FieldId::parse(key.as_str()?)?;
        let json = values.get_mut(i).map(std::mem::take);
        Some(Declared::read(field, key, value, json))
    }));
    Some(ClientSpec {
        id,
        id_explicit,
        name: manifest.name,
        file: node.loc.file.clone(),
        lines: (narrow(node.loc.line), narrow(node.last_line())),
        at: Pos::of(&node.loc),
        identity_provider: manifest.identity_provider,
        authorized_scopes: manifest.authorized_scopes,
        lifecycle,
        secret_delivery,
        fields: fields.into_boxed_slice(),
    })
}

/// The JSON form of each of a client's `pairs` values, in order, taken from the manifest's
/// (built once for the schema check; its strings move into the client's fields rather
/// than being copied again). Empty when two keys read the same (the JSON holds one value
/// for both, the last one's): each value is then built from its own node.
fn json_values(json: Value, pairs: usize) -> Vec<Value> {
    match json {
        Value::Object(map) if map.len() == pairs => map.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    }
}

fn check_uniqueness(out: &mut Validated) {
    let mut names: HashMap<&str, &ClientSpec> = HashMap::with_capacity(out.clients.len());
    let mut ids: HashMap<Uuid, &ClientSpec> = HashMap::with_capacity(out.clients.len());
    let mut findings = Vec::new();
    for client in &out.clients {
        let name_loc = || client.locate(FieldId::Name, "");
        // `entry`: one hash per client and map, not `get` then `insert`.
        match names.entry(client.name.as_str()) {
            Entry::Occupied(first) => {
                findings.push(Diagnostic::new(
                    Code::DuplicateName,
                    format!(
                        "client name `{}` is already used at {}",
                        client.name,
                        first.get().locate(FieldId::Name, "")
                    ),
                    Some(name_loc()),
                ));
                continue;
            }
            Entry::Vacant(name) => {
                name.insert(client);
            }
        }
        let first = match ids.entry(client.id) {
            Entry::Occupied(first) => *first.get(),
            Entry::Vacant(id) => {
                id.insert(client);
                continue;
            }
        };
        {
            let loc = if client.id_explicit {
                client.locate(FieldId::Id, "")
            } else {
                name_loc()
            };
            findings.push(Diagnostic::new(
                Code::DuplicateId,
                format!(
                    "client id {} is already used by `{}` at {}",
                    client.id,
                    first.name,
                    first.locate(FieldId::Id, "")
                ),
                Some(loc),
            ));
        }
    }
    out.diagnostics.extend(findings);
}
