//! The request bodies apply sends, built from a validated client through the catalogue:
//! the declared fields boruta accepts (server-generated ones are boruta's), the explicit or
//! derived id, and the identity provider and scopes resolved to ids against the server,
//! with the findings that resolution raises (an unknown provider, an unknown scope).

use super::compare::{str_of, Context, Lookup};
use crate::diff::{ObjectDiff, SecretState, UpdatePlan};
use crate::findings::Code;
use crate::kinds::client::fields::FieldId;
use crate::kinds::client::spec::Wire;
use crate::kinds::client::ClientSpec;
use crate::source::Diagnostic;
use serde_json::{json, Map, Value};

/// What a client's bodies say of the references a manifest makes by name: the identity
/// provider's id and the authorized scopes, resolved against the server once per client
/// (with the findings the resolution raises), whether or not a body is then built.
pub(crate) struct Resolved {
    idp_id: Option<String>,
    scopes: Option<Vec<ScopeItem>>,
}

/// An authorized scope as a body sends it: `{"id": ...}` when the server knows it (or
/// the manifest gives its id), else `{"name": ...}`. Typed rather than a JSON object: an
/// in-sync client never builds its body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ScopeItem {
    Id(String),
    Name(String),
}

impl ScopeItem {
    /// The item as the body's JSON.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            ScopeItem::Id(id) => json!({ "id": id }),
            ScopeItem::Name(name) => json!({ "name": name }),
        }
    }

    /// The item as a comparable key (`compare::scope_key_of`, as for its JSON).
    pub(crate) fn key<'a>(&'a self, scopes: &Lookup<'a>) -> std::borrow::Cow<'a, str> {
        match self {
            ScopeItem::Id(id) => super::compare::scope_key_of(Some(id), None, scopes),
            ScopeItem::Name(name) => super::compare::scope_key_of(None, Some(name), scopes),
        }
    }
}

/// The resolved scopes as the body's list.
fn scopes_value(items: &[ScopeItem]) -> Value {
    Value::Array(items.iter().map(ScopeItem::to_value).collect())
}

/// Resolves `d`'s identity provider and scopes, in that order (the findings' order).
pub(crate) fn resolve(
    d: &ClientSpec,
    scopes: &Lookup<'_>,
    idps: &Lookup<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Resolved {
    let idp_id = identity_provider_id(d, idps, diagnostics);
    let scopes = d
        .authorized_scopes
        .as_ref()
        .map(|refs| resolved_scopes(d, refs, scopes, diagnostics));
    Resolved { idp_id, scopes }
}

/// The create body: declared fields, the id, and names resolved to ids.
pub(crate) fn create_body(d: &ClientSpec, resolved: &Resolved) -> Map<String, Value> {
    let mut body: Map<String, Value> = d
        .fields
        .iter()
        .filter(|declared| !declared.field.spec().server_generated())
        .map(|declared| (declared.field.name().to_string(), declared.value.to_value()))
        .collect();
    body.insert("id".into(), Value::String(d.id.to_string()));
    body.insert("identity_provider".into(), json!({ "id": resolved.idp_id }));
    if let Some(resolved) = &resolved.scopes {
        body.insert("authorized_scopes".into(), scopes_value(resolved));
    }
    body
}

/// A member of the create body, without building the body (most clients are in sync and
/// never send one).
pub(crate) enum Desired<'a> {
    /// As declared.
    Declared(&'a Wire),
    /// Written by the tool: the id.
    Built(Value),
    /// The identity provider's id, resolved against the server: `{"id": id}`.
    IdentityProvider(Option<&'a str>),
    /// The authorized scopes, resolved against the server.
    Scopes(&'a [ScopeItem]),
}

impl Desired<'_> {
    /// The member as JSON.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Desired::Declared(wire) => wire.to_value(),
            Desired::Built(value) => value.clone(),
            Desired::IdentityProvider(id) => json!({ "id": id }),
            Desired::Scopes(items) => scopes_value(items),
        }
    }

    /// Whether the member equals `actual` (`to_value() == *actual`, without building it).
    pub(crate) fn equals(&self, actual: &Value) -> bool {
        match self {
            Desired::Declared(wire) => wire.equals(actual),
            Desired::Built(value) => value == actual,
            Desired::IdentityProvider(_) | Desired::Scopes(_) => self.to_value() == *actual,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Desired::Declared(wire) => wire.as_str(),
            Desired::Built(value) => value.as_str(),
            Desired::IdentityProvider(_) | Desired::Scopes(_) => None,
        }
    }
}

/// What [`create_body`] would hold under `field`'s name, if anything.
pub(crate) fn desired<'a>(
    d: &'a ClientSpec,
    field: FieldId,
    resolved: &'a Resolved,
) -> Option<Desired<'a>> {
    match field {
        FieldId::Id => return Some(Desired::Built(Value::String(d.id.to_string()))),
        FieldId::IdentityProvider => {
            return Some(Desired::IdentityProvider(resolved.idp_id.as_deref()));
        }
        FieldId::AuthorizedScopes => {
            if let Some(scopes) = &resolved.scopes {
                return Some(Desired::Scopes(scopes));
            }
        }
        _ => {}
    }
    // The body keeps the last declaration of a name.
    d.fields
        .iter()
        .rev()
        .filter(|declared| !declared.field.spec().server_generated())
        .find(|declared| declared.field == field)
        .map(|declared| Desired::Declared(&declared.value))
}

/// The id of the identity provider a manifest names (by id, or by name resolved against
/// the server), with the findings the resolution raises.
fn identity_provider_id(
    d: &ClientSpec,
    idps: &Lookup<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<String> {
    let idp = &d.identity_provider;
    match (&idp.id, &idp.name) {
        (Some(id), name) => {
            if let (Some(name), Some(actual)) = (name, idps.name_of(id)) {
                if actual != name {
                    diagnostics.push(Diagnostic::new(Code::IdentityProviderNameMismatch,
                        format!("identity provider {} is named `{actual}` on the server, not {}; the id is used", d.quote(FieldId::IdentityProvider, id), d.quote(FieldId::IdentityProvider, name)),
                        Some(d.locate(FieldId::IdentityProvider, "/name")),
                    ));
                }
            }
            if idps.known && !idps.by_id.contains_key(&id.to_ascii_lowercase()) {
                diagnostics.push(Diagnostic::new(
                    Code::UnknownIdentityProvider,
                    format!(
                        "identity provider {} does not exist on the server: the create would fail",
                        d.quote(FieldId::IdentityProvider, id)
                    ),
                    Some(d.locate(FieldId::IdentityProvider, "/id")),
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
                diagnostics.push(Diagnostic::new(Code::UnknownIdentityProvider,
                    format!("no identity provider named {} on the server (known: {}): the create would fail", d.quote(FieldId::IdentityProvider, name), known.join(", ")),
                    Some(d.locate(FieldId::IdentityProvider, "/name")),
                ));
                None
            }
        },
        (None, None) => None,
    }
}

/// The scopes a manifest authorizes, as ids where the server knows them, with the
/// findings the resolution raises.
fn resolved_scopes(
    d: &ClientSpec,
    refs: &[super::manifest::ScopeRef],
    scopes: &Lookup<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<ScopeItem> {
    let mut resolved = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        let item = match (&r.id, &r.name) {
            (Some(id), _) => {
                if scopes.known && !scopes.by_id.contains_key(&id.to_ascii_lowercase()) {
                    diagnostics.push(Diagnostic::new(
                        Code::UnknownScopeId,
                        format!(
                            "scope {} does not exist on the server: boruta would silently drop it",
                            d.quote(FieldId::AuthorizedScopes, id)
                        ),
                        Some(d.locate(FieldId::AuthorizedScopes, &format!("/{i}/id"))),
                    ));
                }
                ScopeItem::Id(id.to_ascii_lowercase())
            }
            (None, Some(name)) => match scopes
                .by_name
                .get(name.as_str())
                .and_then(|s| str_of(s, "id"))
            {
                Some(id) => ScopeItem::Id(id.to_string()),
                None => {
                    diagnostics.push(Diagnostic::new(Code::UnknownScope,
                        format!("no scope named {} on the server: boruta will silently create it as a private scope", d.quote(FieldId::AuthorizedScopes, name)),
                        Some(d.locate(FieldId::AuthorizedScopes, &format!("/{i}/name"))),
                    ));
                    ScopeItem::Name(name.clone())
                }
            },
            (None, None) => continue,
        };
        resolved.push(item);
    }
    resolved
}

/// The update that corrects a drifted client, and why boruta would refuse it (its own
/// update rules, run on the body against the server's record, so a trap is found in the
/// plan, not at apply time).
pub(crate) fn update_plan(
    d: &ClientSpec,
    entry: &ObjectDiff,
    listed: &crate::kinds::client::ClientRecord,
    context: &Context<'_>,
) -> UpdatePlan {
    let mut body = Map::new();
    // The changed fields, and the write-only ones no comparison can vouch for.
    let sent = entry
        .fields
        .iter()
        .filter(|f| !f.ignored)
        .chain(&entry.resend);
    for change in sent {
        if let Some(value) = entry.create_body.get(&change.field) {
            body.insert(change.field.clone(), value.clone());
        }
    }
    // Never an empty or null secret: boruta would store a null secret, which then accepts
    // client_secret_post without any.
    let secret = entry
        .create_body
        .get("secret")
        .filter(|s| s.as_str().is_some_and(|s| !s.trim().is_empty()));
    if let (Some(SecretState::Changed), Some(secret)) = (entry.secret, secret) {
        body.insert("secret".into(), secret.clone());
    }
    // boruta replaces the scopes on every update and clears them when the member is
    // absent: always the complete intended list.
    let declared = entry
        .create_body
        .get("authorized_scopes")
        .filter(|_| !d.ignores(FieldId::AuthorizedScopes));
    let scopes = match declared {
        Some(declared) => declared.clone(),
        None => Value::Array(
            listed
                .get(FieldId::AuthorizedScopes)
                .as_ref()
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s.get("id").cloned())
                .map(|id| json!({ "id": id }))
                .collect(),
        ),
    };
    body.insert("authorized_scopes".into(), scopes);
    let regenerate_key_pair = body.contains_key("key_pair_type");
    let refusals = update_refusals(d, entry, listed, context, &body);
    UpdatePlan {
        body,
        regenerate_key_pair,
        refusals,
    }
}

/// Why boruta would refuse an update with `body` of the client it holds as `listed`: a
/// system client, or its own update rules.
fn update_refusals(
    d: &ClientSpec,
    entry: &ObjectDiff,
    listed: &crate::kinds::client::ClientRecord,
    context: &Context<'_>,
    body: &Map<String, Value>,
) -> Vec<Diagnostic> {
    let mut refusals = Vec::new();
    if let Some(kind) = context.system.kind_of(listed) {
        refusals.push(Diagnostic::new(Code::ProtectedClient,
            format!(
                "`{}` ({}) is a system client ({}): boruta-gitops never changes it, whatever a manifest says",
                entry.name,
                entry.id,
                kind.label()
            ),
            Some(entry.location.clone()),
        ));
    }
    let version = context.version;
    let stored = listed.to_map();
    let update = crate::kinds::client::rules::Mode::Update { stored: &stored };
    for v in crate::kinds::client::rules::check_client(body, update, version) {
        let part = v.index.map(|i| format!("/{i}")).unwrap_or_default();
        let message = if v.code == Code::TtlOutOfRange {
            let why = if v.field == FieldId::AccessTokenTtl.name() {
                "on update boruta also checks a changed access_token_ttl against the authorization-request maximum, 300 (an upstream bug)"
            } else {
                "boruta's update rules are not its create rules"
            };
            format!("boruta {version} refuses this change on update: {} ({why}); only deleting and re-creating the client can set it", v.detail)
        } else {
            format!("boruta {version} would refuse this update: {}", v.detail)
        };
        refusals.push(Diagnostic::new(
            Code::UpdateRefused,
            message,
            Some(d.locate_member(v.subject, &part)),
        ));
    }
    refusals
}
