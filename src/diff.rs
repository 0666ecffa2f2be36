//! Desired (git) against observed (server): for each manifest `create`, `in-sync`, `drift`
//! with the differing fields, or `conflict`; server clients no manifest declares are
//! `unmanaged` (system clients labelled). Pure: no I/O.
//!
//! Only declared fields are compared (a field left out is the server's to default, so
//! server defaults never cause noise). Sets compare as sets, `redirect_uris` in order,
//! identity provider and scopes after resolving names to ids, `secret` by digest only,
//! write-only fields are `unverifiable`, server-generated fields are ignored.

use crate::api;
use crate::source::{Diagnostic, Location, Node};
use crate::validate::Desired;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Fields compared as sets.
const SET_FIELDS: [&str; 4] = [
    "supported_grant_types",
    "token_endpoint_auth_methods",
    "trusted_hosts",
    "authorized_scopes",
];

/// What the server holds.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    pub clients: Vec<api::ListedClient>,
    /// Present when some manifest declares `authorized_scopes`.
    pub scopes: Option<Vec<Map<String, Value>>>,
    /// Present when some manifest names an identity provider.
    pub identity_providers: Option<Vec<Map<String, Value>>>,
}

/// Which clients are the server's own.
#[derive(Debug, Clone)]
pub struct SystemIds {
    pub admin_client_id: String,
    /// The client the tool authenticates as, if known.
    pub self_client_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    InSync,
    Drift,
    Conflict,
}

/// One differing (or, for a create, declared) field. Values are display values: a
/// sensitive value is never here (`sensitive` is set and the values are null).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub server: Value,
    pub desired: Value,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretState {
    Changed,
    Unchanged,
    /// Declared, and the client does not exist yet.
    Set,
}

/// The comparison of one manifest with the server.
#[derive(Debug, Clone)]
pub struct ClientDiff {
    pub id: String,
    pub name: String,
    pub location: Location,
    pub action: Action,
    pub fields: Vec<FieldChange>,
    pub secret: Option<SecretState>,
    pub unverifiable: Vec<String>,
    /// sha256 of the server's record, or of its absence, for clients the plan touches
    /// (not in sync); a saved plan is refused when it no longer matches.
    pub fingerprint: Option<String>,
    /// The request body a create would send (contains secrets: never rendered).
    pub create_body: Map<String, Value>,
    /// For a conflict: the server client that has this name.
    pub conflicting_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SystemKind {
    AdminUi,
    PublicClient,
    /// The client whose credentials this run uses.
    ThisTool,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Unmanaged {
    pub id: String,
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemKind>,
}

/// The result of comparing everything.
#[derive(Debug, Default)]
pub struct Diff {
    pub clients: Vec<ClientDiff>,
    pub unmanaged: Vec<Unmanaged>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Canonical JSON (object keys sorted) so equal records hash equally.
pub fn canonical(value: &Value) -> String {
    fn sort(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let sorted: BTreeMap<&String, Value> =
                    map.iter().map(|(k, v)| (k, sort(v))).collect();
                serde_json::to_value(sorted).unwrap_or(Value::Null)
            }
            Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(value).to_string()
}

/// Fingerprint of a server record, or of the absence of `id`.
pub fn fingerprint(id: &str, record: Option<&Map<String, Value>>) -> String {
    match record {
        Some(record) => digest(&canonical(&Value::Object(record.clone()))),
        None => digest(&format!("absent:{id}")),
    }
}

/// sha256 of a text, hex.
pub fn digest(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn str_of<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

/// What every per-client comparison reads.
struct Context<'a> {
    by_id: BTreeMap<&'a str, &'a api::ListedClient>,
    by_name: BTreeMap<&'a str, Vec<&'a str>>,
    scopes: Lookup<'a>,
    idps: Lookup<'a>,
}

/// Compares every desired client with the server.
pub fn diff(desired: &[Desired], observed: &Observed, system: &SystemIds) -> Diff {
    let mut out = Diff::default();
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for c in &observed.clients {
        if let Some(name) = &c.name {
            by_name.entry(name).or_default().push(&c.id);
        }
    }
    let context = Context {
        by_id: observed
            .clients
            .iter()
            .map(|c| (c.id.as_str(), c))
            .collect(),
        by_name,
        scopes: Lookup::new(observed.scopes.as_deref()),
        idps: Lookup::new(observed.identity_providers.as_deref()),
    };
    // Each comparison is independent and CPU-bound: large sets use every core. Results are
    // joined in manifest order, so the output does not depend on the thread count.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = if desired.len() < 512 {
        desired.len().max(1)
    } else {
        desired.len().div_ceil(threads)
    };
    let results: Vec<(ClientDiff, Vec<Diagnostic>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = desired
            .chunks(chunk)
            .map(|part| {
                scope.spawn(|| {
                    part.iter()
                        .map(|d| diff_one(d, &context))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    for (entry, diagnostics) in results {
        out.clients.push(entry);
        out.diagnostics.extend(diagnostics);
    }
    let declared_ids: BTreeSet<String> = desired.iter().map(|d| d.id.to_string()).collect();
    for client in &observed.clients {
        let id = client.id.clone();
        if declared_ids.contains(&id) {
            continue;
        }
        let name = client.name.clone();
        let no_idp = client.identity_provider_id.is_none();
        let system = if id == system.admin_client_id.to_ascii_lowercase() {
            Some(SystemKind::AdminUi)
        } else if name.as_deref() == Some(api::PUBLIC_CLIENT_NAME) && no_idp {
            Some(SystemKind::PublicClient)
        } else if system
            .self_client_id
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(&id))
        {
            Some(SystemKind::ThisTool)
        } else {
            None
        };
        out.unmanaged.push(Unmanaged { id, name, system });
    }
    // The server lists in no particular order; reports must be stable.
    out.unmanaged.sort_by(|a, b| {
        (a.system.is_some(), &a.name, &a.id).cmp(&(b.system.is_some(), &b.name, &b.id))
    });
    out
}

/// Compares one desired client with the server.
fn diff_one(d: &Desired, context: &Context<'_>) -> (ClientDiff, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let id = d.id.to_string();
    let listed = context.by_id.get(id.as_str()).copied();
    // Only the members the manifest declares are parsed, and only now.
    let members = listed.map(api::ListedClient::members);
    let server = members.as_ref();
    let create_body = wire_body(d, &context.scopes, &context.idps, &mut diagnostics);
    let location = d.locate("/name");
    let mut entry = ClientDiff {
        id: id.clone(),
        name: d.name.clone(),
        location: location.clone(),
        action: Action::Create,
        fields: Vec::new(),
        secret: None,
        unverifiable: Vec::new(),
        fingerprint: None,
        create_body,
        conflicting_id: None,
    };
    let namesakes: Vec<&str> = context
        .by_name
        .get(d.name.as_str())
        .cloned()
        .unwrap_or_default();
    if server.is_none() && !namesakes.is_empty() {
        if d.id_explicit {
            diagnostics.push(Diagnostic::warning(
                "name-taken-on-server",
                format!("the server already has a client named `{}` (id {}); creating {id} makes a second client with this name", d.name, namesakes.join(", ")),
                Some(location),
            ));
        } else {
            let other = namesakes[0].to_string();
            diagnostics.push(Diagnostic::error(
                "conflict",
                format!("the server already has a client named `{}` with id {other}, and this manifest's derived id {id} is absent: pin `id: {other}` to adopt that client (or rename this one)", d.name),
                Some(location),
            ));
            entry.action = Action::Conflict;
            entry.fingerprint = Some(fingerprint(&id, None));
            entry.conflicting_id = Some(other);
            return (entry, diagnostics);
        }
    }
    compare(d, &mut entry, server, &context.scopes, &context.idps);
    entry.action = match server {
        None => Action::Create,
        Some(_) if entry.fields.is_empty() && entry.secret != Some(SecretState::Changed) => {
            Action::InSync
        }
        Some(_) => Action::Drift,
    };
    if entry.action != Action::InSync {
        entry.fingerprint = Some(fingerprint(
            &id,
            listed.map(api::ListedClient::record).as_ref(),
        ));
    }
    (entry, diagnostics)
}

/// A scope reference as a comparable key: its name when known, else its id or name.
fn scope_key(item: &Value, scopes: &Lookup<'_>) -> String {
    match (
        item.get("id").and_then(Value::as_str),
        item.get("name").and_then(Value::as_str),
    ) {
        (Some(id), _) => scopes
            .name_of(id)
            .map_or_else(|| id.to_ascii_lowercase(), str::to_string),
        (None, Some(name)) => name.to_string(),
        (None, None) => String::new(),
    }
}

/// The server's scopes as keys (the rendered list carries names).
fn server_scope_keys(actual: &Value, scopes: &Lookup<'_>) -> BTreeSet<String> {
    actual
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    s.get("name")
                        .and_then(Value::as_str)
                        .map_or_else(|| scope_key(s, scopes), str::to_string)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn desired_scope_keys(desired: &Value, scopes: &Lookup<'_>) -> BTreeSet<String> {
    desired
        .as_array()
        .map(|a| a.iter().map(|s| scope_key(s, scopes)).collect())
        .unwrap_or_default()
}

fn lower_id(value: &Value) -> Option<String> {
    value
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
}

/// Whether a declared field matches the server: sets as sets, references by id.
fn field_equal(field: &str, desired: &Value, actual: &Value, scopes: &Lookup<'_>) -> bool {
    match field {
        "identity_provider" => lower_id(desired) == lower_id(actual),
        "authorized_scopes" => {
            desired_scope_keys(desired, scopes) == server_scope_keys(actual, scopes)
        }
        f if SET_FIELDS.contains(&f) => {
            let set = |v: &Value| -> BTreeSet<String> {
                v.as_array()
                    .map(|a| a.iter().map(Value::to_string).collect())
                    .unwrap_or_default()
            };
            set(desired) == set(actual)
        }
        _ => desired == actual,
    }
}

/// (desired, server) as shown in a plan: references by name.
fn field_display(
    field: &str,
    desired: &Value,
    actual: &Value,
    scopes: &Lookup<'_>,
    idps: &Lookup<'_>,
) -> (Value, Value) {
    match field {
        "identity_provider" => {
            let show = |id: Option<String>| match id {
                Some(id) => {
                    Value::String(idps.name_of(&id).map_or_else(|| id.clone(), str::to_string))
                }
                None => Value::Null,
            };
            let have = match actual.get("name").and_then(Value::as_str) {
                Some(name) => Value::String(name.to_string()),
                None => show(lower_id(actual)),
            };
            (show(lower_id(desired)), have)
        }
        "authorized_scopes" => (
            json!(desired_scope_keys(desired, scopes)),
            json!(server_scope_keys(actual, scopes)),
        ),
        _ => (desired.clone(), actual.clone()),
    }
}

/// Name and id lookups of scopes or identity providers.
struct Lookup<'a> {
    known: bool,
    by_id: BTreeMap<String, &'a Map<String, Value>>,
    by_name: BTreeMap<&'a str, &'a Map<String, Value>>,
}

impl<'a> Lookup<'a> {
    fn new(items: Option<&'a [Map<String, Value>]>) -> Self {
        let items = items.unwrap_or_default();
        Lookup {
            known: !items.is_empty(),
            by_id: items
                .iter()
                .filter_map(|i| str_of(i, "id").map(|id| (id.to_ascii_lowercase(), i)))
                .collect(),
            by_name: items
                .iter()
                .filter_map(|i| str_of(i, "name").map(|n| (n, i)))
                .collect(),
        }
    }

    fn name_of(&self, id: &str) -> Option<&'a str> {
        self.by_id
            .get(&id.to_ascii_lowercase())
            .and_then(|i| str_of(i, "name"))
    }
}

/// The create body: declared fields, the id, and names resolved to ids.
fn wire_body(
    d: &Desired,
    scopes: &Lookup<'_>,
    idps: &Lookup<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Map<String, Value> {
    let mut body = d.declared();
    body.insert("id".into(), Value::String(d.id.to_string()));
    let idp = &d.manifest.identity_provider;
    let idp_id = match (&idp.id, &idp.name) {
        (Some(id), name) => {
            if let (Some(name), Some(actual)) = (name, idps.name_of(id)) {
                if actual != name {
                    diagnostics.push(Diagnostic::warning(
                        "identity-provider-name-mismatch",
                        format!("identity provider {} is named `{actual}` on the server, not {}; the id is used", d.quote("/identity_provider/id", id), d.quote("/identity_provider/name", name)),
                        Some(d.locate("/identity_provider/name")),
                    ));
                }
            }
            if idps.known && !idps.by_id.contains_key(&id.to_ascii_lowercase()) {
                diagnostics.push(Diagnostic::error(
                    "unknown-identity-provider",
                    format!(
                        "identity provider {} does not exist on the server: the create would fail",
                        d.quote("/identity_provider/id", id)
                    ),
                    Some(d.locate("/identity_provider/id")),
                ));
            }
            Some(id.to_ascii_lowercase())
        }
        (None, Some(name)) => match idps
            .by_name
            .get(name.as_str())
            .and_then(|i| str_of(i, "id"))
        {
            Some(id) => Some(id.to_ascii_lowercase()),
            None => {
                let known: Vec<&str> = idps.by_name.keys().copied().collect();
                diagnostics.push(Diagnostic::error(
                    "unknown-identity-provider",
                    format!("no identity provider named {} on the server (known: {}): the create would fail", d.quote("/identity_provider/name", name), known.join(", ")),
                    Some(d.locate("/identity_provider/name")),
                ));
                None
            }
        },
        (None, None) => None,
    };
    body.insert("identity_provider".into(), json!({ "id": idp_id }));
    if let Some(refs) = &d.manifest.authorized_scopes {
        let mut resolved = Vec::new();
        for (i, r) in refs.iter().enumerate() {
            let item = match (&r.id, &r.name) {
                (Some(id), _) => {
                    if scopes.known && !scopes.by_id.contains_key(&id.to_ascii_lowercase()) {
                        diagnostics.push(Diagnostic::error(
                            "unknown-scope-id",
                            format!("scope {} does not exist on the server: boruta would silently drop it", d.quote(&format!("/authorized_scopes/{i}/id"), id)),
                            Some(d.locate(&format!("/authorized_scopes/{i}/id"))),
                        ));
                    }
                    json!({ "id": id.to_ascii_lowercase() })
                }
                (None, Some(name)) => match scopes
                    .by_name
                    .get(name.as_str())
                    .and_then(|s| str_of(s, "id"))
                {
                    Some(id) => json!({ "id": id }),
                    None => {
                        diagnostics.push(Diagnostic::warning(
                            "unknown-scope",
                            format!("no scope named {} on the server: boruta will silently create it as a private scope", d.quote(&format!("/authorized_scopes/{i}/name"), name)),
                            Some(d.locate(&format!("/authorized_scopes/{i}/name"))),
                        ));
                        json!({ "name": name })
                    }
                },
                (None, None) => continue,
            };
            resolved.push(item);
        }
        body.insert("authorized_scopes".into(), Value::Array(resolved));
    }
    body
}

/// Fills `fields`, `secret` and `unverifiable` of `entry`.
fn compare(
    d: &Desired,
    entry: &mut ClientDiff,
    server: Option<&api::Members<'_>>,
    scopes: &Lookup<'_>,
    idps: &Lookup<'_>,
) {
    let is_sensitive = |field: &str| d.node.get(field).is_some_and(Node::any_sensitive);
    let member = |field: &str| -> Value {
        server
            .and_then(|m| m.get(field))
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or(Value::Null)
    };
    for (field, desired_wire) in &entry.create_body {
        if field == "id" || api::SERVER_GENERATED_FIELDS.contains(&field.as_str()) {
            continue;
        }
        if api::WRITE_ONLY_FIELDS.contains(&field.as_str()) && server.is_some() {
            entry.unverifiable.push(field.clone());
            continue;
        }
        if field == "secret" {
            entry.secret = Some(match server {
                None => SecretState::Set,
                Some(_) => {
                    let same =
                        member("secret").as_str().map(digest) == desired_wire.as_str().map(digest);
                    if same {
                        SecretState::Unchanged
                    } else {
                        SecretState::Changed
                    }
                }
            });
            continue;
        }
        let actual = member(field);
        let created = server.is_none();
        // Display values are built only for the fields that are shown.
        if !created && field_equal(field, desired_wire, &actual, scopes) {
            continue;
        }
        let (shown_desired, shown_actual) =
            field_display(field, desired_wire, &actual, scopes, idps);
        let hidden = is_sensitive(field);
        entry.fields.push(FieldChange {
            field: field.clone(),
            server: if hidden || created {
                Value::Null
            } else {
                shown_actual
            },
            desired: if hidden { Value::Null } else { shown_desired },
            sensitive: hidden,
        });
    }
}
