//! Desired (git) against observed (server): for each manifest `create`, `in-sync`, `drift`
//! with the differing fields, or `conflict`; server clients no manifest declares are
//! `unmanaged` (system clients labelled). Pure: no I/O.
//!
//! Only declared fields are compared (a field left out is the server's to default, so
//! server defaults never cause noise). Sets compare as sets, `redirect_uris` in order,
//! identity provider and scopes after resolving names to ids, `secret` by digest only,
//! write-only fields are `unverifiable`, server-generated fields are ignored.

use crate::api;
use crate::source::{Diagnostic, Location};
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
    pub clients: Vec<Map<String, Value>>,
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
    /// The server's record (for the fingerprint), absent for a create.
    pub server: Option<Map<String, Value>>,
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

/// Does any manifest name an identity provider (so the provider list is needed)?
pub fn needs_identity_providers(desired: &[Desired]) -> bool {
    desired
        .iter()
        .any(|d| d.manifest.identity_provider.name.is_some())
}

/// Does any manifest declare scopes (so the scope list is needed)?
pub fn needs_scopes(desired: &[Desired]) -> bool {
    desired
        .iter()
        .any(|d| d.manifest.authorized_scopes.is_some())
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

/// Compares every desired client with the server.
pub fn diff(desired: &[Desired], observed: &Observed, system: &SystemIds) -> Diff {
    let mut out = Diff::default();
    let by_id: BTreeMap<String, &Map<String, Value>> = observed
        .clients
        .iter()
        .filter_map(|c| str_of(c, "id").map(|id| (id.to_ascii_lowercase(), c)))
        .collect();
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for c in &observed.clients {
        if let (Some(name), Some(id)) = (str_of(c, "name"), str_of(c, "id")) {
            by_name.entry(name).or_default().push(id);
        }
    }
    let scopes = Lookup::new(observed.scopes.as_deref());
    let idps = Lookup::new(observed.identity_providers.as_deref());
    let mut declared_ids = BTreeSet::new();
    for d in desired {
        let id = d.id.to_string();
        declared_ids.insert(id.clone());
        let server = by_id.get(&id).copied();
        let create_body = wire_body(d, &scopes, &idps, &mut out.diagnostics);
        let location = d.locate("/name");
        let mut entry = ClientDiff {
            id: id.clone(),
            name: d.name.clone(),
            location: location.clone(),
            action: Action::Create,
            fields: Vec::new(),
            secret: None,
            unverifiable: Vec::new(),
            server: server.cloned(),
            create_body,
            conflicting_id: None,
        };
        let namesakes: Vec<&str> = by_name.get(d.name.as_str()).cloned().unwrap_or_default();
        if server.is_none() && !namesakes.is_empty() {
            if d.id_explicit {
                out.diagnostics.push(Diagnostic::warning(
                    "name-taken-on-server",
                    format!("the server already has a client named `{}` (id {}); creating {id} makes a second client with this name", d.name, namesakes.join(", ")),
                    Some(location.clone()),
                ));
            } else {
                let other = namesakes[0].to_string();
                out.diagnostics.push(Diagnostic::error(
                    "conflict",
                    format!("the server already has a client named `{}` with id {other}, and this manifest's derived id {id} is absent: pin `id: {other}` to adopt that client (or rename this one)", d.name),
                    Some(location.clone()),
                ));
                entry.action = Action::Conflict;
                entry.conflicting_id = Some(other);
                out.clients.push(entry);
                continue;
            }
        }
        compare(d, &mut entry, server, &scopes, &idps);
        entry.action = match server {
            None => Action::Create,
            Some(_) if entry.fields.is_empty() && entry.secret != Some(SecretState::Changed) => {
                Action::InSync
            }
            Some(_) => Action::Drift,
        };
        out.clients.push(entry);
    }
    for client in &observed.clients {
        let Some(id) = str_of(client, "id").map(str::to_ascii_lowercase) else {
            continue;
        };
        if declared_ids.contains(&id) {
            continue;
        }
        let name = str_of(client, "name").map(str::to_string);
        let no_idp = client
            .get("identity_provider")
            .and_then(|i| i.get("id"))
            .is_none_or(Value::is_null);
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
                        format!("identity provider {id} is named `{actual}` on the server, not `{name}`; the id is used"),
                        Some(d.locate("/identity_provider/name")),
                    ));
                }
            }
            if idps.known && !idps.by_id.contains_key(&id.to_ascii_lowercase()) {
                diagnostics.push(Diagnostic::error(
                    "unknown-identity-provider",
                    format!("identity provider {id} does not exist on the server: the create would fail"),
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
                    format!("no identity provider named `{name}` on the server (known: {}): the create would fail", known.join(", ")),
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
                            format!("scope {id} does not exist on the server: boruta would silently drop it"),
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
                            format!("no scope named `{name}` on the server: boruta will silently create it as a private scope"),
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
    server: Option<&Map<String, Value>>,
    scopes: &Lookup<'_>,
    idps: &Lookup<'_>,
) {
    let mut sensitive = Vec::new();
    d.node.sensitive_pointers("", &mut sensitive);
    let is_sensitive = |field: &str| {
        sensitive
            .iter()
            .any(|p| p == &format!("/{field}") || p.starts_with(&format!("/{field}/")))
    };
    let empty = Map::new();
    let actual_record = server.unwrap_or(&empty);
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
                Some(record) => {
                    let same = record.get("secret").and_then(Value::as_str).map(digest)
                        == desired_wire.as_str().map(digest);
                    if same {
                        SecretState::Unchanged
                    } else {
                        SecretState::Changed
                    }
                }
            });
            continue;
        }
        let actual = actual_record.get(field).cloned().unwrap_or(Value::Null);
        let (equal, shown_desired, shown_actual) = match field.as_str() {
            "identity_provider" => {
                let want = desired_wire
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase);
                let have = actual
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase);
                let show = |id: &Option<String>| match id {
                    Some(id) => {
                        Value::String(idps.name_of(id).map_or_else(|| id.clone(), str::to_string))
                    }
                    None => Value::Null,
                };
                let have_shown = match actual.get("name").and_then(Value::as_str) {
                    Some(name) => Value::String(name.to_string()),
                    None => show(&have),
                };
                (want == have, show(&want), have_shown)
            }
            "authorized_scopes" => {
                let key = |item: &Value| -> String {
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
                };
                let want: BTreeSet<String> = desired_wire
                    .as_array()
                    .map(|a| a.iter().map(key).collect())
                    .unwrap_or_default();
                let have: BTreeSet<String> = actual
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|s| {
                                s.get("name")
                                    .and_then(Value::as_str)
                                    .map_or_else(|| key(s), str::to_string)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (want == have, json!(want), json!(have))
            }
            f if SET_FIELDS.contains(&f) => {
                let set = |v: &Value| -> BTreeSet<String> {
                    v.as_array()
                        .map(|a| a.iter().map(Value::to_string).collect())
                        .unwrap_or_default()
                };
                (
                    set(desired_wire) == set(&actual),
                    desired_wire.clone(),
                    actual.clone(),
                )
            }
            _ => (
                desired_wire == &actual,
                desired_wire.clone(),
                actual.clone(),
            ),
        };
        let created = server.is_none();
        if created || !equal {
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
}
