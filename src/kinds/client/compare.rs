//! How a client manifest compares with the server's record of it, field by field as the
//! catalogue says (`Compare`): scalars by value, ordered lists in order, sets as sets, the
//! identity provider by id and scopes by name after resolving both against the server, the
//! secret by digest only; fields the server's version never renders are `unverifiable`,
//! server-generated ones are ignored, and only declared fields are compared (a field left
//! out is the server's to default). Also which clients are the server's own. Pure.

use super::fields::{Compare, FieldId, Version};
use super::wire::{desired, Desired, Resolved};
use super::{ClientRecord, ClientSpec};
use crate::api;
use crate::diff::{
    absence, digest, same, Action, FieldChange, KeyPairCheck, ObjectDiff, Observed, SecretState,
    SystemKind,
};
use crate::findings::Code;
use crate::kinds::{Kind, ObjectKind};
use crate::source::Diagnostic;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Which clients are the server's own.
#[derive(Debug, Clone)]
pub struct SystemIds {
    pub admin_client_id: String,
    /// The client the tool authenticates as, if known.
    pub self_client_id: Option<String>,
    /// boruta's issuer (`--issuer`, or the token URL without `/oauth/token`): the public
    /// client a migration inserts has it as `public_client_id` (contract §9.1).
    pub issuer: Option<String>,
}

impl SystemIds {
    /// The migration-inserted public client: its `public_client_id` is the issuer (boruta_auth
    /// `priv/boruta/migrations/20240127084350_siopv2_implementation.ex` at 1587483). Without
    /// a known issuer, its seeded name and its lack of identity provider say it.
    fn is_public_client(&self, client: &ClientRecord) -> bool {
        let trimmed = |s: &str| s.trim_end_matches('/').to_ascii_lowercase();
        match &self.issuer {
            Some(issuer) => client
                .get(FieldId::PublicClientId)
                .as_ref()
                .and_then(Value::as_str)
                .is_some_and(|id| trimmed(id) == trimmed(issuer)),
            None => {
                client.name.as_deref() == Some(api::PUBLIC_CLIENT_NAME)
                    && client.identity_provider_id.is_none()
            }
        }
    }

    /// Which system client `client` is, if it is one: never changed, never deleted.
    pub fn kind_of(&self, client: &ClientRecord) -> Option<SystemKind> {
        let id = &client.id;
        if id.eq_ignore_ascii_case(&self.admin_client_id) {
            Some(SystemKind::AdminUi)
        } else if self.is_public_client(client) {
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

/// What every client comparison reads.
pub struct Context<'a> {
    pub version: Version,
    pub system: &'a SystemIds,
    pub scopes: Lookup<'a>,
    pub idps: Lookup<'a>,
    /// The global key pairs (`key_pair_id`), or why they could not be read.
    pub key_pairs: Option<&'a Result<Vec<crate::api::KeyPair>, String>>,
    /// `--send-key-pair-id`: the clients (names, globs, ids) whose `key_pair_id` is sent
    /// when it cannot be checked.
    pub send_key_pair_id: &'a [String],
}

impl<'a> Context<'a> {
    pub fn new(observed: &'a Observed, system: &'a SystemIds, version: Version) -> Self {
        Context {
            version,
            system,
            scopes: Lookup::new(observed.scopes.as_deref()),
            idps: Lookup::new(observed.identity_providers.as_deref()),
            key_pairs: observed.key_pairs.as_ref(),
            send_key_pair_id: &[],
        }
    }

    /// Resolves `authorized_scopes` against `scopes` (the scopes as they will be once the
    /// run's scope writes are made) rather than the server's.
    pub fn with_scopes(mut self, scopes: Option<&'a [Map<String, Value>]>) -> Self {
        self.scopes = Lookup::new(scopes);
        self
    }
}

/// OAuth clients, as an object kind.
pub struct Clients;

impl Kind for Clients {
    const KIND: ObjectKind = ObjectKind::Client;
    type Spec = ClientSpec;
    type Record = ClientRecord;
    type Context<'a> = Context<'a>;

    fn identity(spec: &ClientSpec) -> (String, &str) {
        (spec.id.to_string(), &spec.name)
    }

    fn record_identity(record: &ClientRecord) -> (&str, Option<&str>) {
        (&record.id, record.name.as_deref())
    }

    fn compare(
        spec: &ClientSpec,
        record: Option<&ClientRecord>,
        namesakes: &[&str],
        context: &Context<'_>,
    ) -> (ObjectDiff, Vec<Diagnostic>) {
        compare_one(spec, record, namesakes, context)
    }

    fn system(record: &ClientRecord, context: &Context<'_>) -> Option<SystemKind> {
        context.system.kind_of(record)
    }
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
) -> ObjectDiff {
    let context = Context::new(observed, system, version);
    compare_one(desired, Some(record), &[], &context).0
}

/// Compares one desired client with the server's record of its id.
fn compare_one(
    d: &ClientSpec,
    listed: Option<&ClientRecord>,
    namesakes: &[&str],
    context: &Context<'_>,
) -> (ObjectDiff, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let id = d.id.to_string();
    let location = d.locate(FieldId::Name, "");
    let mut entry = ObjectDiff::new(ObjectKind::Client, id.clone(), d.name.clone(), location);
    let resolved = super::wire::resolve(d, &context.scopes, &context.idps, &mut diagnostics);
    if d.absent() {
        declared_absent(&mut entry, listed, context, &mut diagnostics);
    } else if listed.is_none() && !namesakes.is_empty() {
        namesake(d, &mut entry, namesakes, &mut diagnostics);
    } else {
        compare_present(d, &mut entry, listed, context, &resolved, &mut diagnostics);
    }
    // Only a create sends it (an update's body is built from it in `compare_present`):
    // 100,000 in-sync clients need not build theirs.
    entry.create_body = if entry.action == Action::Create {
        super::wire::create_body(d, &resolved)
    } else {
        Map::new()
    };
    entry.blocked = diagnostics.iter().any(Diagnostic::is_error);
    (entry, diagnostics)
}

/// No client of this id, but one of this name: a second client with the name (an explicit
/// id), or a conflict (a derived id: pin the existing one's).
fn namesake(
    d: &ClientSpec,
    entry: &mut ObjectDiff,
    namesakes: &[&str],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let id = &entry.id;
    let location = Some(entry.location.clone());
    if d.id_explicit {
        diagnostics.push(Diagnostic::new(Code::NameTakenOnServer,
            format!("the server already has a client named `{}` (id {}); creating {id} makes a second client with this name", d.name, namesakes.join(", ")),
            location,
        ));
        return;
    }
    let other = namesakes[0].to_string();
    diagnostics.push(Diagnostic::new(Code::Conflict,
        format!("the server already has a client named `{}` with id {other}, and this manifest's derived id {id} is absent: pin `id: {other}` to adopt that client (or rename this one)", d.name),
        location,
    ));
    entry.action = Action::Conflict;
    entry.fingerprint = Some(absence(id));
    entry.conflicting_id = Some(other);
}

/// A client that should exist: a create, or a comparison field by field.
fn compare_present(
    d: &ClientSpec,
    entry: &mut ObjectDiff,
    listed: Option<&ClientRecord>,
    context: &Context<'_>,
    resolved: &Resolved,
    diagnostics: &mut Vec<Diagnostic>,
) {
    compare_fields(d, entry, listed, context, resolved);
    let Some(listed) = listed else {
        entry.action = Action::Create;
        entry.fingerprint = Some(absence(&entry.id));
        return;
    };
    if let Some(declared) = d
        .get(FieldId::KeyPairId)
        .filter(|_| !d.ignores(FieldId::KeyPairId))
    {
        let check = key_pair(d, declared, listed, context, diagnostics);
        if check.sends() {
            entry.resend.push(FieldChange {
                field: FieldId::KeyPairId.name().to_string(),
                server: Value::Null,
                desired: declared.value.to_value(),
                sensitive: false,
                ignored: false,
            });
        }
        entry.key_pair = Some(check);
    }
    let drifted = entry.fields.iter().any(|f| !f.ignored)
        || entry.secret == Some(SecretState::Changed)
        || entry.key_pair.is_some_and(KeyPairCheck::sends);
    entry.action = if drifted {
        Action::Drift
    } else {
        Action::InSync
    };
    if drifted || !entry.resend.is_empty() {
        entry.fingerprint = Some(listed.fingerprint());
        entry.create_body = super::wire::create_body(d, resolved);
        entry.update = Some(super::wire::update_plan(d, entry, listed, context));
    }
}

/// Whether the client holds the key of the key pair its manifest names (contract §4.4).
fn key_pair(
    d: &ClientSpec,
    declared: &super::spec::Declared,
    listed: &ClientRecord,
    context: &Context<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> KeyPairCheck {
    let wanted = declared.value.as_str().unwrap_or_default();
    let at = Some(d.location(declared.at));
    let pairs = match context.key_pairs {
        Some(Ok(pairs)) => pairs,
        unreadable => {
            let asked = context
                .send_key_pair_id
                .iter()
                .any(|p| crate::plan::selects(p, Some(&d.name), &d.id.to_string()));
            if asked {
                return KeyPairCheck::Asked;
            }
            let why = match unreadable {
                Some(Err(reason)) => reason.clone(),
                _ => "they were not read".to_string(),
            };
            diagnostics.push(Diagnostic::new(Code::KeyPairUnverifiable,
                format!("whether `{}` holds key pair {wanted}'s key cannot be checked ({why}): key_pair_id is not sent, since boruta replaces the key of a client that already holds it with a random one; if it does not hold it, pass --send-key-pair-id {}", d.name, d.name),
                at,
            ));
            return KeyPairCheck::Unverifiable;
        }
    };
    let Some(pair) = pairs.iter().find(|p| p.id.eq_ignore_ascii_case(wanted)) else {
        diagnostics.push(Diagnostic::new(Code::KeyPairNotFound,
            format!("no global key pair has id {wanted} on the server: boruta would save the update's other fields, then answer 404"),
            at,
        ));
        return KeyPairCheck::Unverifiable;
    };
    let held = super::record::public_key_digest(&pair.public_key);
    if listed
        .get(FieldId::PublicKey)
        .as_ref()
        .and_then(Value::as_str)
        == Some(held.as_str())
    {
        KeyPairCheck::Held
    } else {
        KeyPairCheck::NotHeld
    }
}

/// `lifecycle: {ensure: absent}`: a delete when the client exists (never of a system
/// client), nothing when it is already gone.
fn declared_absent(
    entry: &mut ObjectDiff,
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
    entry.fingerprint = Some(listed.fingerprint());
    if let Some(kind) = context.system.kind_of(listed) {
        diagnostics.push(Diagnostic::new(Code::ProtectedClient,
            format!(
                "`{}` ({}) is a system client ({}): boruta-gitops never deletes it, whatever a manifest says",
                entry.name,
                entry.id,
                kind.label()
            ),
            Some(entry.location.clone()),
        ));
    }
}

/// Fills `fields`, `secret`, `unverifiable` and `resend` of `entry`.
fn compare_fields(
    d: &ClientSpec,
    entry: &mut ObjectDiff,
    server: Option<&ClientRecord>,
    context: &Context<'_>,
    resolved: &Resolved,
) {
    let member = |field: FieldId| -> Value {
        server
            .and_then(|record| record.get(field))
            .unwrap_or(Value::Null)
    };
    for declared in d.fields.iter() {
        let field = declared.field.spec();
        if field.compare == Compare::Never {
            continue;
        }
        let Some(desired_wire) = desired(d, declared.field, resolved) else {
            continue;
        };
        let created = server.is_none();
        let hidden = declared.sensitive || declared.unresolved;
        if !created && !field.rendered.includes(context.version) {
            let resent = unverifiable(d, field, &desired_wire, hidden);
            entry.unverifiable.push(field.name.to_string());
            entry.resend.extend(resent);
            continue;
        }
        if field.compare == Compare::Secret {
            let held = server.map(|_| member(field.id));
            entry.secret = Some(secret_state(d, field.id, &desired_wire, held.as_ref()));
            continue;
        }
        // Read from the member's text first; parsed only when that cannot tell.
        let text = server.map(|record| record.text(field.id).unwrap_or("null"));
        if text.is_some_and(|text| same_text(field.compare, &desired_wire, text, &context.scopes)) {
            continue;
        }
        let actual = member(field.id);
        // Display values are built only for the fields that are shown.
        if !created && same(field.compare, &desired_wire, &actual, &context.scopes) {
            continue;
        }
        let (shown_desired, shown_actual) = display(
            field.compare,
            &desired_wire.to_value(),
            &actual,
            &context.scopes,
            &context.idps,
        );
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

/// A declared field the server's version never renders: what an update re-sends of it,
/// as git declares it, since no comparison can say it changed. Never an ignored field,
/// never key_pair_id (re-sending one rotates the key). Harmless for the others: boruta's
/// update changeset validates a field only when its value changes (Ecto's
/// validate_inclusion, validate_change; boruta_auth
/// lib/boruta/adapters/ecto/schemas/client.ex, 1587483 and cfdb52d).
fn unverifiable(
    d: &ClientSpec,
    field: &super::fields::Field,
    desired_wire: &Desired<'_>,
    hidden: bool,
) -> Option<FieldChange> {
    if field.id == FieldId::KeyPairId || d.ignores(field.id) {
        return None;
    }
    Some(FieldChange {
        field: field.name.to_string(),
        server: Value::Null,
        desired: if hidden {
            Value::Null
        } else {
            desired_wire.to_value()
        },
        sensitive: hidden,
        ignored: false,
    })
}

/// The declared secret against the one the server holds (`None`: no client yet),
/// compared by digest.
fn secret_state(
    d: &ClientSpec,
    field: FieldId,
    desired_wire: &Desired<'_>,
    held: Option<&Value>,
) -> SecretState {
    let Some(held) = held else {
        return SecretState::Set;
    };
    let same = held.as_str().map(digest) == desired_wire.as_str().map(digest);
    match (same, d.ignores(field)) {
        (true, _) => SecretState::Unchanged,
        (false, true) => SecretState::Ignored,
        (false, false) => SecretState::Changed,
    }
}

/// A scope reference as a comparable key: its name when known, else its id or name.
fn scope_key(item: &Value, scopes: &Lookup<'_>) -> String {
    let id = item.get("id").and_then(Value::as_str);
    let name = item.get("name").and_then(Value::as_str);
    scope_key_of(id, name, scopes).into_owned()
}

/// The comparable key of a scope reference: its name when the server knows its id, else
/// its id (lower-case), else its name. The one rule for JSON items and typed ones.
pub(crate) fn scope_key_of<'s>(
    id: Option<&'s str>,
    name: Option<&'s str>,
    scopes: &Lookup<'s>,
) -> std::borrow::Cow<'s, str> {
    match (id, name) {
        (Some(id), _) => scopes
            .name_of(id)
            .map_or_else(|| id.to_ascii_lowercase().into(), Into::into),
        (None, Some(name)) => name.into(),
        (None, None) => "".into(),
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

/// The elements of a list as a set (of their JSON texts).
pub(crate) fn as_set(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .map(|a| a.iter().map(Value::to_string).collect())
        .unwrap_or_default()
}

/// [`equal`] of a member of the create body, built only when a comparison needs more
/// than equality.
fn same(compare: Compare, desired: &Desired<'_>, actual: &Value, scopes: &Lookup<'_>) -> bool {
    match compare {
        Compare::Scalar | Compare::Ordered | Compare::Secret | Compare::Never => {
            desired.equals(actual)
        }
        Compare::Set => {
            desired.equals(actual) || equal(compare, &desired.to_value(), actual, scopes)
        }
        Compare::IdentityProvider | Compare::Scopes => match desired {
            Desired::Built(value) => equal(compare, value, actual, scopes),
            _ => equal(compare, &desired.to_value(), actual, scopes),
        },
    }
}

/// [`same`], read from the server member's JSON text (`null` when it was not rendered)
/// without parsing it into a tree: `true` only when `same` would say so of the parsed
/// member; `false` when it differs or this cannot tell (then `same` decides). Nearly
/// every member of 100,000 in-sync clients is answered here.
fn same_text(compare: Compare, desired: &Desired<'_>, text: &str, scopes: &Lookup<'_>) -> bool {
    match (compare, desired) {
        // `lower_id` of both: the text's only `id`, a string, equal ignoring case.
        (Compare::IdentityProvider, Desired::IdentityProvider(Some(id))) => {
            same::member_str_is(text, "id", |held| held.eq_ignore_ascii_case(id))
        }
        // The same keys in the same order are the same set: each rendered scope's only
        // `name` (what `server_scope_keys` reads first) is the desired item's key.
        (Compare::Scopes, Desired::Scopes(items)) => {
            let keys: Vec<_> = items.iter().map(|item| item.key(scopes)).collect();
            same::members_are(text, "name", &keys)
        }
        (Compare::IdentityProvider | Compare::Scopes, _) => false,
        // Plain equality (a set also when equal as a list).
        (_, Desired::Declared(wire)) => match wire.expected() {
            Some(expected) => same::text_is(text, expected),
            None => same::text_is(text, same::Expected::Value(&wire.to_value())),
        },
        (_, Desired::Built(value)) => same::text_is(text, same::Expected::Value(value)),
        (_, _) => false,
    }
}

/// Whether a declared value (on the wire) matches the server's, under `compare`.
pub(crate) fn equal(
    compare: Compare,
    desired: &Value,
    actual: &Value,
    scopes: &Lookup<'_>,
) -> bool {
    match compare {
        Compare::IdentityProvider => lower_id(desired) == lower_id(actual),
        Compare::Scopes => desired_scope_keys(desired, scopes) == server_scope_keys(actual, scopes),
        // The same list in the same order is the same set (the usual in-sync case): the
        // sets of texts are built only otherwise.
        Compare::Set => desired == actual || as_set(desired) == as_set(actual),
        Compare::Scalar | Compare::Ordered | Compare::Secret | Compare::Never => desired == actual,
    }
}

/// (desired, server) as shown in a plan: references by name.
pub(crate) fn display(
    compare: Compare,
    desired: &Value,
    actual: &Value,
    scopes: &Lookup<'_>,
    idps: &Lookup<'_>,
) -> (Value, Value) {
    match compare {
        Compare::IdentityProvider => {
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
        Compare::Scopes => (
            json!(desired_scope_keys(desired, scopes)),
            json!(server_scope_keys(actual, scopes)),
        ),
        _ => (desired.clone(), actual.clone()),
    }
}

/// Name and id lookups of scopes or identity providers.
pub struct Lookup<'a> {
    pub known: bool,
    /// Each item's name (if it has one) by its lower-case id: hashed, and the name read
    /// once, since every client's every reference looks up here.
    pub by_id: HashMap<String, Option<&'a str>>,
    pub by_name: BTreeMap<&'a str, &'a Map<String, Value>>,
}

impl<'a> Lookup<'a> {
    pub fn new(items: Option<&'a [Map<String, Value>]>) -> Self {
        let items = items.unwrap_or_default();
        Lookup {
            known: !items.is_empty(),
            by_id: items
                .iter()
                .filter_map(|i| {
                    str_of(i, "id").map(|id| (id.to_ascii_lowercase(), str_of(i, "name")))
                })
                .collect(),
            by_name: items
                .iter()
                .filter_map(|i| str_of(i, "name").map(|n| (n, i)))
                .collect(),
        }
    }

    pub fn name_of(&self, id: &str) -> Option<&'a str> {
        // Ids are nearly always lower-case already: no copy to look them up.
        let found = match id.bytes().any(|b| b.is_ascii_uppercase()) {
            true => self.by_id.get(&id.to_ascii_lowercase()),
            false => self.by_id.get(id),
        };
        found.copied().flatten()
    }
}

pub(crate) fn str_of<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::client::spec::Wire;
    use crate::kinds::client::wire::ScopeItem;

    /// Each text with the answer read from it, which must never be "the same" when the
    /// full comparison of its value says otherwise.
    fn check(
        compare: Compare,
        desired: Desired<'_>,
        scopes: &Lookup<'_>,
        cases: &[(&str, bool, bool)],
    ) {
        for (text, fast, full) in cases {
            let actual: Value = serde_json::from_str(text).unwrap();
            let slow = same(compare, &desired, &actual, scopes);
            assert_eq!(slow, *full, "full comparison of {text}");
            assert_eq!(same_text(compare, &desired, text, scopes), *fast, "{text}");
        }
    }

    #[test]
    fn a_member_read_from_its_text_is_never_the_same_when_its_value_is_not() {
        let items: Vec<Map<String, Value>> = [("S1", "read"), ("s2", "write")]
            .iter()
            .map(|(id, name)| {
                json!({ "id": id, "name": name })
                    .as_object()
                    .unwrap()
                    .clone()
            })
            .collect();
        let scopes = Lookup::new(Some(&items));
        let resolved = [ScopeItem::Id("s1".into()), ScopeItem::Name("new".into())];
        check(
            Compare::Scopes,
            Desired::Scopes(&resolved),
            &scopes,
            &[
                (
                    r#"[{"id":"S1","name":"read","public":false},{"name":"new"}]"#,
                    true,
                    true,
                ),
                (r#"[{"name":"re\u0061d"},{"name":"new"}]"#, true, true),
                (r#"[{"name":"new"},{"name":"read"}]"#, false, true),
                (r#"[{"id":"s1"},{"name":"new"}]"#, false, true),
                (
                    r#"[{"name":"read"},{"name":"new"},{"name":"new"}]"#,
                    false,
                    true,
                ),
                (
                    r#"[{"name":"read","name":"read"},{"name":"new"}]"#,
                    false,
                    true,
                ),
                (r#"[{"name":"read"}]"#, false, false),
                ("null", false, false),
            ],
        );
        check(
            Compare::IdentityProvider,
            Desired::IdentityProvider(Some("ab12")),
            &scopes,
            &[
                (r#"{"id":"AB12","name":"x"}"#, true, true),
                (r#"{"id":"ab12","id":"ab12"}"#, false, true),
                (r#"{"id":"cd"}"#, false, false),
                (r#"{"name":"ab12"}"#, false, false),
                ("null", false, false),
            ],
        );
        check(
            Compare::IdentityProvider,
            Desired::IdentityProvider(None),
            &scopes,
            &[("null", false, true), (r#"{"id":"cd"}"#, false, false)],
        );
        check(
            Compare::Scalar,
            Desired::Declared(&Wire::Int(1)),
            &scopes,
            &[
                ("1", true, true),
                ("1.0", false, false),
                ("1e0", false, false),
                (r#""1""#, false, false),
            ],
        );
        check(
            Compare::Scalar,
            Desired::Declared(&Wire::Float(1.5)),
            &scopes,
            &[
                ("1.5", true, true),
                ("15e-1", true, true),
                ("1", false, false),
            ],
        );
        let strings = Wire::Strings(vec!["a/b".into(), "é".into()].into_boxed_slice());
        check(
            Compare::Set,
            Desired::Declared(&strings),
            &scopes,
            &[
                (r#"["a\/b","\u00e9"]"#, true, true),
                (r#"["é","a/b"]"#, false, true),
                (r#"["a/b"]"#, false, false),
            ],
        );
        let mapping = Wire::Json(r#"{"type":"rsa","size":"2"}"#.into());
        check(
            Compare::Scalar,
            Desired::Declared(&mapping),
            &scopes,
            &[
                (r#"{"size":"2","type":"rsa"}"#, true, true),
                (r#"{"type":"rsa","size":2}"#, false, false),
                (r#"{"type":"rsa"}"#, false, false),
            ],
        );
        let id = Desired::Built(Value::String("x".into()));
        check(
            Compare::Scalar,
            id,
            &scopes,
            &[(r#""\u0078""#, true, true), ("null", false, false)],
        );
    }
}
