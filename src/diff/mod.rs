//! Desired (git) against observed (server): for each manifest `create`, `in-sync`, `drift`
//! with the differing fields, or `conflict`; server clients no manifest declares are
//! `unmanaged` (system clients labelled). Pure: no I/O.
//!
//! Only declared fields are compared (a field left out is the server's to default, so
//! server defaults never cause noise), each the way the field catalogue says (`compare`);
//! `secret` by digest only; fields the server's version never renders are
//! `unverifiable`; server-generated fields are ignored. Request bodies are `wire`'s.

mod compare;
mod wire;

use crate::api;
use crate::findings::Code;
use crate::kinds::client::fields::FieldId;
use crate::kinds::client::fields::{Compare, Version};
use crate::kinds::client::{ClientRecord, ClientSpec};
use crate::source::{Diagnostic, Location};
use compare::Lookup;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// What the server holds.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    pub clients: Vec<ClientRecord>,
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

impl SystemIds {
    /// Which system client `client` is, if it is one: never changed, never deleted.
    pub fn kind_of(&self, client: &ClientRecord) -> Option<SystemKind> {
        let id = &client.id;
        if id.eq_ignore_ascii_case(&self.admin_client_id) {
            Some(SystemKind::AdminUi)
        } else if client.name.as_deref() == Some(api::PUBLIC_CLIENT_NAME)
            && client.identity_provider_id.is_none()
        {
            Some(SystemKind::PublicClient)
        } else if self
            .self_client_id
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(id))
        {
            Some(SystemKind::ThisTool)
        } else {
            None
        }
    }
}

/// How a system client is named in messages.
pub fn system_label(kind: SystemKind) -> &'static str {
    match kind {
        SystemKind::AdminUi => "admin UI client",
        SystemKind::PublicClient => "boruta's public client",
        SystemKind::ThisTool => "the client this run authenticates as",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    /// A drifted client `apply --update` puts back (decided by the plan, from `Drift`).
    Update,
    /// A client declared `lifecycle: {ensure: absent}` that exists.
    Delete,
    InSync,
    Drift,
    Conflict,
    /// Declared absent, and absent.
    Absent,
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
    /// Listed in `lifecycle.ignore_changes`: shown, never counted nor updated.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignored: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretState {
    Changed,
    Unchanged,
    /// Declared, and the client does not exist yet.
    Set,
    /// Changed, but `lifecycle.ignore_changes` lists `secret`.
    Ignored,
}

/// What `apply --update` would send for a drifted client.
#[derive(Debug, Clone)]
pub struct UpdatePlan {
    /// The `PATCH` body: the changed declared fields, and always the complete
    /// `authorized_scopes` (boruta replaces them on every update, clearing them when
    /// absent). Contains secrets: never rendered.
    pub body: Map<String, Value>,
    /// `key_pair_type` changes: boruta keeps the old key until `regenerate_key_pair`.
    pub regenerate_key_pair: bool,
    /// Why boruta would refuse this update (its update rules, run on the body against the
    /// server's record; a system client): errors at the offending values.
    pub refusals: Vec<Diagnostic>,
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
    /// For a drift: the update that would correct it.
    pub update: Option<UpdatePlan>,
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
pub fn fingerprint(id: &str, record: Option<&ClientRecord>) -> String {
    match record {
        Some(record) => record.fingerprint(),
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

/// What every per-client comparison reads.
struct Context<'a> {
    version: Version,
    system: &'a SystemIds,
    by_id: BTreeMap<&'a str, &'a ClientRecord>,
    by_name: BTreeMap<&'a str, Vec<&'a str>>,
    scopes: Lookup<'a>,
    idps: Lookup<'a>,
}

/// Compares every desired client with the server, a boruta `version`.
pub fn diff(
    desired: &[ClientSpec],
    observed: &Observed,
    system: &SystemIds,
    version: Version,
) -> Diff {
    let mut out = Diff::default();
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for c in &observed.clients {
        if let Some(name) = &c.name {
            by_name.entry(name).or_default().push(&c.id);
        }
    }
    let context = Context {
        version,
        system,
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
    let one_chunk = desired.len() <= chunk;
    let results: Vec<(ClientDiff, Vec<Diagnostic>)> = if one_chunk {
        // A small set (apply verifies one record at a time): no thread to start.
        desired.iter().map(|d| diff_one(d, &context)).collect()
    } else {
        std::thread::scope(|scope| {
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
        })
    };
    for (entry, diagnostics) in results {
        out.clients.push(entry);
        out.diagnostics.extend(diagnostics);
    }
    let declared_ids: BTreeSet<String> = desired.iter().map(|d| d.id.to_string()).collect();
    for client in &observed.clients {
        if declared_ids.contains(&client.id) {
            continue;
        }
        out.unmanaged.push(Unmanaged {
            id: client.id.clone(),
            name: client.name.clone(),
            system: system.kind_of(client),
        });
    }
    // The server lists in no particular order; reports must be stable.
    out.unmanaged.sort_by(|a, b| {
        (a.system.is_some(), &a.name, &a.id).cmp(&(b.system.is_some(), &b.name, &b.id))
    });
    out
}

/// Compares one desired client with one server record of its id: apply's check of what it
/// wrote. `observed` resolves scope and identity-provider names; its clients are not read
/// (and need not be cloned to hold the record).
pub fn compare_record(
    desired: &ClientSpec,
    record: &ClientRecord,
    observed: &Observed,
    system: &SystemIds,
    version: Version,
) -> ClientDiff {
    let context = Context {
        version,
        system,
        by_id: BTreeMap::from([(record.id.as_str(), record)]),
        by_name: BTreeMap::new(),
        scopes: Lookup::new(observed.scopes.as_deref()),
        idps: Lookup::new(observed.identity_providers.as_deref()),
    };
    diff_one(desired, &context).0
}

/// Compares one desired client with the server.
fn diff_one(d: &ClientSpec, context: &Context<'_>) -> (ClientDiff, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let id = d.id.to_string();
    let listed = context.by_id.get(id.as_str()).copied();
    let server = listed;
    let create_body = wire::create_body(d, &context.scopes, &context.idps, &mut diagnostics);
    let location = d.locate(FieldId::Name, "");
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
        update: None,
    };
    if d.absent() {
        declared_absent(&mut entry, listed, context, &mut diagnostics);
        return (entry, diagnostics);
    }
    let namesakes: Vec<&str> = context
        .by_name
        .get(d.name.as_str())
        .cloned()
        .unwrap_or_default();
    if server.is_none() && !namesakes.is_empty() {
        if d.id_explicit {
            diagnostics.push(Diagnostic::new(Code::NameTakenOnServer,
                format!("the server already has a client named `{}` (id {}); creating {id} makes a second client with this name", d.name, namesakes.join(", ")),
                Some(location),
            ));
        } else {
            let other = namesakes[0].to_string();
            diagnostics.push(Diagnostic::new(Code::Conflict,
                format!("the server already has a client named `{}` with id {other}, and this manifest's derived id {id} is absent: pin `id: {other}` to adopt that client (or rename this one)", d.name),
                Some(location),
            ));
            entry.action = Action::Conflict;
            entry.fingerprint = Some(fingerprint(&id, None));
            entry.conflicting_id = Some(other);
            return (entry, diagnostics);
        }
    }
    compare_fields(d, &mut entry, server, context);
    let drifted =
        entry.fields.iter().any(|f| !f.ignored) || entry.secret == Some(SecretState::Changed);
    entry.action = match server {
        None => Action::Create,
        Some(_) if drifted => Action::Drift,
        Some(_) => Action::InSync,
    };
    if entry.action != Action::InSync {
        entry.fingerprint = Some(fingerprint(&id, listed));
        if let (Action::Drift, Some(listed)) = (entry.action, listed) {
            entry.update = Some(wire::update_plan(d, &entry, listed, context));
        }
    }
    (entry, diagnostics)
}

/// `lifecycle: {ensure: absent}`: a delete when the client exists (never of a system
/// client), nothing when it is already gone.
fn declared_absent(
    entry: &mut ClientDiff,
    listed: Option<&ClientRecord>,
    context: &Context<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    entry.create_body.clear();
    let Some(listed) = listed else {
        entry.action = Action::Absent;
        return;
    };
    entry.action = Action::Delete;
    entry.fingerprint = Some(fingerprint(&entry.id, Some(listed)));
    if let Some(kind) = context.system.kind_of(listed) {
        diagnostics.push(Diagnostic::new(Code::ProtectedClient,
            format!(
                "`{}` ({}) is a system client ({}): boruta-gitops never deletes it, whatever a manifest says",
                entry.name,
                entry.id,
                system_label(kind)
            ),
            Some(entry.location.clone()),
        ));
    }
}

/// Fills `fields`, `secret` and `unverifiable` of `entry`.
fn compare_fields(
    d: &ClientSpec,
    entry: &mut ClientDiff,
    server: Option<&ClientRecord>,
    context: &Context<'_>,
) {
    let member = |field: FieldId| -> Value {
        server
            .and_then(|record| record.get(field))
            .cloned()
            .unwrap_or(Value::Null)
    };
    for declared in d.fields.iter() {
        let field = declared.field.spec();
        if field.compare == Compare::Never {
            continue;
        }
        let Some(desired_wire) = entry.create_body.get(field.name) else {
            continue;
        };
        let created = server.is_none();
        if !created && !field.rendered.includes(context.version) {
            entry.unverifiable.push(field.name.to_string());
            continue;
        }
        if field.compare == Compare::Secret {
            entry.secret = Some(match server {
                None => SecretState::Set,
                Some(_) => {
                    let same =
                        member(field.id).as_str().map(digest) == desired_wire.as_str().map(digest);
                    match (same, d.ignores(field.id)) {
                        (true, _) => SecretState::Unchanged,
                        (false, true) => SecretState::Ignored,
                        (false, false) => SecretState::Changed,
                    }
                }
            });
            continue;
        }
        let actual = member(field.id);
        // Display values are built only for the fields that are shown.
        if !created && compare::equal(field.compare, desired_wire, &actual, &context.scopes) {
            continue;
        }
        let (shown_desired, shown_actual) = compare::display(
            field.compare,
            desired_wire,
            &actual,
            &context.scopes,
            &context.idps,
        );
        let hidden = declared.sensitive || declared.unresolved;
        entry.fields.push(FieldChange {
            field: field.name.to_string(),
            server: if hidden || created {
                Value::Null
            } else {
                shown_actual
            },
            desired: if hidden { Value::Null } else { shown_desired },
            sensitive: hidden,
            ignored: !created && d.ignores(field.id),
        });
    }
}
