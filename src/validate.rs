//! Turns loaded documents into validated desired clients plus findings: the JSON Schema
//! check, boruta's own rules (`rules.rs`), and the checks across the manifest set
//! (duplicate names and ids). Pure: no filesystem, no network.
//!
//! Every finding points at the offending value. Later stages only ever see [`Desired`]
//! clients, which passed all of this.

use crate::load::Document;
use crate::model::{derived_client_id, ClientManifest};
use crate::rules::{self, Mode};
use crate::schema::{self, Problem, SchemaKind};
use crate::source::{Diagnostic, Location, Node, NodeValue, Origin, Severity};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use uuid::Uuid;

/// Sections of boruta's configuration file other than `client`.
const UNMANAGED_SECTIONS: [&str; 10] = [
    "node_name",
    "aliases",
    "cluster_ca",
    "gateway",
    "microgateway",
    "organization",
    "backend",
    "identity_provider",
    "scope",
    "role",
];
const ALSO_UNMANAGED: &str = "error_template";

/// A client as git declares it, validated.
#[derive(Debug, Clone)]
pub struct Desired {
    /// Lower-case id: explicit, or derived from the name.
    pub id: Uuid,
    pub id_explicit: bool,
    pub name: String,
    pub manifest: ClientManifest,
    /// The manifest's node, to point later findings (e.g. a server's 422) at values.
    pub node: Node,
}

impl Desired {
    /// Exactly the fields the manifest declares, substituted, as JSON. Computed on demand
    /// rather than stored: large manifest sets must fit in little memory.
    pub fn declared(&self) -> Map<String, Value> {
        match self.node.to_json() {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// A manifest value for a message: `text` in backticks, or a placeholder when the
    /// value at `pointer` came from a sensitive origin (it must never be printed).
    pub fn quote(&self, pointer: &str, text: &str) -> String {
        match self.node.at_pointer(pointer) {
            Some(node) if node.sensitive() => "(a sensitive value)".to_string(),
            _ => format!("`{text}`"),
        }
    }

    /// Where `pointer` (e.g. `/redirect_uris/1`) sits in the manifest, or the manifest itself.
    pub fn locate(&self, pointer: &str) -> Location {
        let mut pointer = pointer.to_string();
        loop {
            if let Some(node) = self.node.at_pointer(&pointer) {
                return node.loc.clone();
            }
            match pointer.rfind('/') {
                Some(cut) => pointer.truncate(cut),
                None => return self.node.loc.clone(),
            }
        }
    }
}

/// The outcome of validation.
#[derive(Debug, Default)]
pub struct Validated {
    pub clients: Vec<Desired>,
    pub diagnostics: Vec<Diagnostic>,
    /// Source lines that hold a literal secret: renderers must never quote them.
    pub redacted_lines: BTreeSet<(Arc<str>, usize)>,
}

/// Which server lists the manifests need, read from the raw documents so the server can
/// be read while the manifests are being validated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// Some client names its identity provider (the list, and its scope, are needed).
    pub identity_providers: bool,
    /// Some client declares `authorized_scopes` (the scope list is needed).
    pub scopes: bool,
}

/// Scans the documents for what [`Needs`] describes.
pub fn scan_needs(documents: &[Document]) -> Needs {
    let mut needs = Needs::default();
    let mut visit = |client: &Node| {
        needs.identity_providers |= client
            .get("identity_provider")
            .and_then(|i| i.get("name"))
            .is_some();
        needs.scopes |= client.get("authorized_scopes").is_some();
    };
    for doc in documents {
        match doc.root.get("configuration").and_then(|c| c.get("client")) {
            Some(Node {
                value: NodeValue::Seq(items),
                ..
            }) => items.iter().for_each(&mut visit),
            Some(_) => {}
            None => visit(&doc.root),
        }
    }
    needs
}

/// Validates every document.
/// Takes the documents by value: their nodes move into the [`Desired`] clients (10,000
/// manifests must validate within 100 MB).
pub fn validate(documents: Vec<Document>) -> Validated {
    let mut out = Validated::default();
    for doc in documents {
        validate_document(doc.root, &mut out);
    }
    check_uniqueness(&mut out);
    out
}

fn validate_document(root: Node, out: &mut Validated) {
    let NodeValue::Map(pairs) = &root.value else {
        out.diagnostics.push(Diagnostic::error(
            "not-a-mapping",
            "a manifest document must be a mapping of client fields (or a boruta configuration file)",
            Some(root.loc.clone()),
        ));
        return;
    };
    let is_configuration = pairs
        .iter()
        .any(|(k, _)| matches!(k.as_str(), Some("version" | "configuration")));
    if !is_configuration {
        validate_client(root, out);
        return;
    }
    // The client lists are checked client by client below; other sections are boruta's.
    check_duplicate_keys(&root, false, out);
    if let Some(configuration) = root.get("configuration") {
        check_duplicate_keys(configuration, false, out);
    }
    for (key, value) in pairs {
        match key.as_str() {
            Some("version") => {
                if value.as_str() != Some("1.0") {
                    let hint = if matches!(value.value, NodeValue::Float(_) | NodeValue::Int(_)) {
                        " (quote it: an unquoted 1.0 is a number, which boruta refuses)"
                    } else {
                        ""
                    };
                    out.diagnostics.push(Diagnostic::error(
                        "invalid-configuration",
                        format!("`version` must be the string \"1.0\"{hint}"),
                        Some(value.loc.clone()),
                    ));
                }
            }
            Some("configuration") => validate_configuration(value, out),
            _ => out.diagnostics.push(Diagnostic::error(
                "unknown-field",
                format!("unknown field `{}` in a configuration file (expected `version` and `configuration`)", key.key_text()),
                Some(key.loc.clone()),
            )),
        }
    }
    if root.get("configuration").is_none() {
        out.diagnostics.push(Diagnostic::error(
            "invalid-configuration",
            "a configuration file needs a `configuration` mapping",
            Some(root.loc.clone()),
        ));
    }
    if root.get("version").is_none() {
        out.diagnostics.push(Diagnostic::error(
            "invalid-configuration",
            "a configuration file needs `version: \"1.0\"` (boruta refuses it otherwise)",
            Some(root.loc.clone()),
        ));
    }
    let document_start = root.loc.clone();
    let clients = take_configuration_clients(root);
    if clients.is_empty() {
        out.diagnostics.push(Diagnostic::warning(
            "no-clients",
            "this configuration file declares no client: boruta-gitops has nothing to manage in it",
            Some(document_start),
        ));
    }
    for client in clients {
        validate_client(client, out);
    }
}

/// Moves the client nodes out of a configuration-file document.
fn take_configuration_clients(root: Node) -> Vec<Node> {
    let mut clients = Vec::new();
    let NodeValue::Map(pairs) = root.value else {
        return clients;
    };
    for (key, configuration) in pairs {
        if key.as_str() != Some("configuration") {
            continue;
        }
        let NodeValue::Map(sections) = configuration.value else {
            continue;
        };
        for (section, value) in sections {
            if let (Some("client"), NodeValue::Seq(items)) = (section.as_str(), value.value) {
                clients.extend(items);
            }
        }
    }
    clients
}

fn validate_configuration(node: &Node, out: &mut Validated) {
    let NodeValue::Map(pairs) = &node.value else {
        out.diagnostics.push(Diagnostic::error(
            "invalid-configuration",
            "`configuration` must be a mapping of sections",
            Some(node.loc.clone()),
        ));
        return;
    };
    for (key, value) in pairs {
        let name = key.key_text();
        if name == "client" {
            match &value.value {
                NodeValue::Seq(_) | NodeValue::Null => {} // validated by validate_document
                _ => out.diagnostics.push(Diagnostic::error(
                    "invalid-configuration",
                    "`configuration.client` must be a list of clients",
                    Some(value.loc.clone()),
                )),
            }
        } else if UNMANAGED_SECTIONS.contains(&name.as_str()) || name == ALSO_UNMANAGED {
            out.diagnostics.push(Diagnostic::warning(
                "section-not-managed",
                format!("section `{name}` is not managed by boruta-gitops and is ignored (only `client` is)"),
                Some(key.loc.clone()),
            ));
        } else {
            out.diagnostics.push(Diagnostic::warning(
                "unknown-section",
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
            let mut seen: HashMap<String, &Location> = HashMap::new();
            for (k, v) in pairs {
                let text = k.key_text();
                if let Some(first) = seen.get(&text) {
                    out.diagnostics.push(Diagnostic::error(
                        "duplicate-key",
                        format!("key `{text}` is repeated (first at {first}); only one may stay"),
                        Some(k.loc.clone()),
                    ));
                } else {
                    seen.insert(text, &k.loc);
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
            out.diagnostics.push(Diagnostic::error(
                "substitution-not-allowed",
                format!("`{field}` cannot come from the environment or from a file outside the manifest directory: it identifies the client in every plan and report, and such values are never printed"),
                Some(value.loc.clone()),
            ));
        }
    }
}

fn validate_client(node: Node, out: &mut Validated) {
    let before = out.diagnostics.len();
    if !matches!(node.value, NodeValue::Map(_)) {
        out.diagnostics.push(Diagnostic::error(
            "not-a-mapping",
            "a client must be a mapping of client fields",
            Some(node.loc.clone()),
        ));
        return;
    }
    if let Some((key, value)) = node.entry("secret") {
        // A `${env:..}` / `${file:..}` line shows the reference, not the secret.
        if value.origin == Origin::Literal {
            let lines = value.as_str().map_or(1, |s| s.lines().count().max(1));
            for line in key.loc.line..=value.loc.line + lines {
                out.redacted_lines.insert((key.loc.file.clone(), line));
            }
        }
    }
    check_duplicate_keys(&node, true, out);
    check_identity_origins(&node, out);
    let json = node.to_json();
    let mut reported: BTreeSet<String> = BTreeSet::new();
    for violation in schema::check(SchemaKind::Client, &json) {
        let field = violation
            .pointer
            .split('/')
            .nth(1)
            .unwrap_or("")
            .to_string();
        // An unresolved reference is reported by the loader; its text is not the value.
        if node
            .at_pointer(&violation.pointer)
            .is_some_and(|n| n.origin == Origin::Unresolved)
        {
            continue;
        }
        let diagnostic = schema_diagnostic(&node, &violation.pointer, &violation.problem);
        // A finding about the whole object (a missing or unknown field) does not hide the
        // other findings about that object's fields.
        if !matches!(
            violation.problem,
            Problem::UnknownField(_) | Problem::MissingField(_)
        ) || !field.is_empty()
        {
            reported.insert(field);
        }
        out.diagnostics.push(diagnostic);
    }
    if let Value::Object(map) = &json {
        let violations = rules::check_client(map, Mode::Create);
        for v in &violations {
            if reported.contains(v.subject) {
                continue;
            }
            // "cannot generate a key" repeats a more precise key_pair_type finding.
            let repeats =
                v.field == "private_key" && violations.iter().any(|o| o.field == "key_pair_type");
            if repeats {
                continue;
            }
            let pointer = match v.index {
                Some(i) => format!("/{}/{i}", v.subject),
                None => format!("/{}", v.subject),
            };
            let target = node
                .at_pointer(&pointer)
                .or_else(|| node.at_pointer(&format!("/{}", v.subject)));
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
                .push(Diagnostic::error(v.code, detail, Some(loc)));
        }
        if let Some(Value::Object(kpt)) = map.get("key_pair_type") {
            if rules::key_generation(kpt) == rules::KeyGeneration::NeedsRegistrar {
                out.diagnostics.push(Diagnostic::warning(
                    "universal-key-type",
                    "key type `universal` makes boruta call an external DID registrar on create; the create fails when it is unreachable",
                    node.at_pointer("/key_pair_type/type").map(|n| n.loc.clone()),
                ));
            }
        }
    }
    for field in ["public_key", "did"] {
        if let Some((key, _)) = node.entry(field) {
            out.diagnostics.push(Diagnostic::warning(
                "server-generated-field",
                format!("`{field}` is generated by the server and ignored on create; declaring it can only cause endless drift: remove it"),
                Some(key.loc.clone()),
            ));
        }
    }
    let has_error = out.diagnostics[before..]
        .iter()
        .any(|d| d.severity == Severity::Error);
    if has_error {
        return;
    }
    let manifest: ClientManifest = match ClientManifest::deserialize(&json) {
        Ok(m) => m,
        Err(e) => {
            // The schema and the types agree, so this is a bug, reported rather than hidden.
            out.diagnostics.push(Diagnostic::error(
                "invalid-manifest",
                format!("the manifest could not be read: {e}"),
                Some(node.loc.clone()),
            ));
            return;
        }
    };
    let (id, id_explicit) = match &manifest.id {
        Some(id) => match Uuid::parse_str(id) {
            Ok(uuid) => (uuid, true),
            Err(_) => return,
        },
        None => {
            let id = derived_client_id(&manifest.name);
            out.diagnostics.push(Diagnostic::note(
                "derived-id",
                format!("no `id`: the id {id} is derived from the name; pin it with `id: {id}` so a rename cannot create a new client"),
                node.entry("name").map(|(k, _)| k.loc.clone()),
            ));
            (id, false)
        }
    };
    out.clients.push(Desired {
        id,
        id_explicit,
        name: manifest.name.clone(),
        manifest,
        node,
    });
}

/// Quotes a value for a message, unless it is sensitive.
fn describe(node: Option<&Node>, under_secret: bool) -> String {
    match node {
        Some(n) if n.sensitive() || under_secret => "the (sensitive) value".to_string(),
        Some(n) => match &n.value {
            NodeValue::Str(s) => format!("`{}`", truncate(s)),
            NodeValue::Null => "null".to_string(),
            NodeValue::Bool(b) => b.to_string(),
            NodeValue::Int(i) => i.to_string(),
            NodeValue::Float(f) => f.to_string(),
            NodeValue::Seq(_) => "a list".to_string(),
            NodeValue::Map(_) => "a mapping".to_string(),
        },
        None => "the value".to_string(),
    }
}

fn truncate(s: &str) -> String {
    let first_line = s.lines().next().unwrap_or("");
    if first_line.chars().count() > 60 || first_line.len() != s.len() {
        format!("{}…", first_line.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}

fn kind_name(node: &Node) -> &'static str {
    match &node.value {
        NodeValue::Null => "null",
        NodeValue::Bool(_) => "boolean",
        NodeValue::Int(_) => "integer",
        NodeValue::Float(_) => "number",
        NodeValue::Str(_) => "string",
        NodeValue::Seq(_) => "list",
        NodeValue::Map(_) => "mapping",
    }
}

/// The finding code for a value that is not one of a field's allowed values.
fn value_code(field: &str) -> &'static str {
    match field {
        "supported_grant_types" => "invalid-grant-type",
        "id_token_signature_alg" | "userinfo_signed_response_alg" => "invalid-signature-alg",
        "token_endpoint_jwt_auth_alg" => "invalid-jwt-auth-alg",
        "token_endpoint_auth_methods" => "invalid-auth-method",
        "response_mode" => "invalid-response-mode",
        "key_pair_type" => "invalid-key-pair-type",
        "signatures_adapter" => "signatures-adapter-mismatch",
        _ => "invalid-value",
    }
}

fn schema_diagnostic(client: &Node, pointer: &str, problem: &Problem) -> Diagnostic {
    let field = pointer.split('/').nth(1).unwrap_or("");
    let path = pointer.trim_start_matches('/').replace('/', ".");
    let node = client.at_pointer(pointer);
    let loc = node.map_or_else(|| client.loc.clone(), |n| n.loc.clone());
    let under_secret = field == "secret";
    let shown = describe(node, under_secret);
    let (code, message) = match problem {
        Problem::UnknownField(key) => {
            let loc = client
                .key_at_pointer(pointer, key)
                .map_or(loc.clone(), |k| k.loc.clone());
            let hint = if pointer.is_empty() {
                suggestion(key)
            } else {
                String::new()
            };
            let at = if path.is_empty() {
                String::new()
            } else {
                format!(" in `{path}`")
            };
            return Diagnostic::error(
                "unknown-field",
                format!("unknown field `{key}`{at}{hint}"),
                Some(loc),
            );
        }
        Problem::MissingField(key) => {
            let at = if path.is_empty() {
                String::new()
            } else {
                format!(" in `{path}`")
            };
            (
                "missing-field",
                format!("missing required field `{key}`{at}"),
            )
        }
        Problem::WrongType { expected } => {
            let found = node.map_or("nothing", kind_name);
            let yaml11 = node.and_then(Node::as_str).is_some_and(|s| {
                matches!(
                    s.to_ascii_lowercase().as_str(),
                    "yes" | "no" | "on" | "off" | "y" | "n"
                )
            });
            let hint = if expected == "boolean" && yaml11 && !under_secret {
                " (YAML 1.2 reads yes/no/on/off as strings: write true or false)"
            } else if expected == "integer"
                && node
                    .and_then(Node::as_str)
                    .is_some_and(|s| s.parse::<i64>().is_ok())
            {
                " (remove the quotes)"
            } else if expected == "string"
                && matches!(
                    node.map(|n| &n.value),
                    Some(NodeValue::Int(_) | NodeValue::Float(_))
                )
            {
                " (quote it)"
            } else {
                ""
            };
            let expected = match expected.as_str() {
                "array" => "a list",
                "object" => "a mapping",
                "integer" => "an integer",
                "boolean" => "a boolean",
                "string" => "a string",
                other => other,
            };
            let shown = if matches!(
                node.map(|n| &n.value),
                Some(NodeValue::Seq(_) | NodeValue::Map(_))
            ) || node.is_none()
            {
                String::new()
            } else {
                format!(" {shown}")
            };
            (
                "invalid-type",
                format!("`{path}` must be {expected}, found {found}{shown}{hint}"),
            )
        }
        Problem::NotOneOf { options } => (
            value_code(field),
            format!("`{path}`: {shown} is not one of: {}", options.join(", ")),
        ),
        Problem::OutOfRange { min, max } => {
            let range = format!(
                "{}..{}",
                min.as_deref().unwrap_or(""),
                max.as_deref().unwrap_or("")
            );
            let code = if field.ends_with("_ttl") {
                "ttl-out-of-range"
            } else {
                "invalid-value"
            };
            (code, format!("`{path}` {shown} is out of range {range}"))
        }
        Problem::PatternMismatch { pattern } => {
            if pattern == crate::model::UUID_PATTERN {
                ("invalid-uuid", format!("`{path}`: {shown} is not a UUID"))
            } else if pattern == r"\S" {
                ("empty-value", format!("`{path}` must not be blank"))
            } else if pattern == r"^\S+$" {
                (
                    "invalid-scope-name",
                    format!(
                        "`{path}`: {shown} contains whitespace (boruta silently drops such scopes)"
                    ),
                )
            } else {
                (
                    value_code(field),
                    format!("`{path}`: {shown} must be a whole number written as a string"),
                )
            }
        }
        Problem::TooShort => ("empty-value", format!("`{path}` must not be empty")),
        Problem::NeedsIdOrName => ("missing-field", format!("`{path}` needs `id` or `name`")),
        Problem::Other(text) => ("schema-violation", format!("`{path}`: {text}")),
    };
    Diagnostic::error(code, message, Some(loc))
}

/// "; did you mean `x`?" for a misspelt top-level field.
fn suggestion(key: &str) -> String {
    let best = schema::client_field_names()
        .into_iter()
        .map(|name| (edit_distance(key, &name), name))
        .min();
    match best {
        Some((d, name)) if d <= 3 && d < key.len() => format!("; did you mean `{name}`?"),
        _ => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn check_uniqueness(out: &mut Validated) {
    let mut names: BTreeMap<&str, &Desired> = BTreeMap::new();
    let mut ids: BTreeMap<Uuid, &Desired> = BTreeMap::new();
    let mut findings = Vec::new();
    for client in &out.clients {
        let name_loc = client.locate("/name");
        if let Some(first) = names.get(client.name.as_str()) {
            findings.push(Diagnostic::error(
                "duplicate-name",
                format!(
                    "client name `{}` is already used at {}",
                    client.name,
                    first.locate("/name")
                ),
                Some(name_loc),
            ));
            continue;
        }
        names.insert(&client.name, client);
        if let Some(first) = ids.get(&client.id) {
            let loc = if client.id_explicit {
                client.locate("/id")
            } else {
                name_loc
            };
            findings.push(Diagnostic::error(
                "duplicate-id",
                format!(
                    "client id {} is already used by `{}` at {}",
                    client.id,
                    first.name,
                    first.locate("/id")
                ),
                Some(loc),
            ));
            continue;
        }
        ids.insert(client.id, client);
    }
    out.diagnostics.extend(findings);
}
