//! The sandbox's data and boruta's semantics for clients: create / update / delete with
//! coercion, validation (`rules.rs`), id uniqueness and the identity-provider association,
//! plus identity providers and the token store. Seeding lives in `seed.rs`, scopes in
//! `scopes.rs`. Every operation answers with the status and JSON body boruta would send.
//! No I/O.

use super::coerce::coerce;
use crate::api::{self, ErrorBody};
use crate::rules::{self, KeyGeneration, Mode};
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use uuid::Uuid;

pub use super::seed::{
    seed_id, ADMIN_IDENTITY_PROVIDER, BOOTSTRAP_CLIENT_NAME, DEFAULT_IDENTITY_PROVIDER,
    PARTNERS_IDENTITY_PROVIDER,
};

/// An answer: status and JSON body (`None` for an empty body, as on 204).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Option<Value>,
    /// A body already serialized (large lists), sent instead of `body`.
    pub text: Option<String>,
    pub location: Option<String>,
}

impl Answer {
    pub fn json(status: u16, body: Value) -> Self {
        Answer {
            status,
            body: Some(body),
            text: None,
            location: None,
        }
    }

    pub(super) fn text(status: u16, text: String) -> Self {
        Answer {
            status,
            body: None,
            text: Some(text),
            location: None,
        }
    }

    /// The body as it goes on the wire (moved, not copied: a list can be 18 MB).
    pub fn into_body_text(self) -> Option<String> {
        self.text
            .or_else(|| self.body.as_ref().map(Value::to_string))
    }

    pub fn error(status: u16, body: ErrorBody) -> Self {
        Self::json(status, serde_json::to_value(body).unwrap_or(Value::Null))
    }

    pub(super) fn data(status: u16, data: Value) -> Self {
        Self::json(status, json!({ "data": data }))
    }

    pub(super) fn unprocessable(errors: BTreeMap<String, Vec<String>>) -> Self {
        Self::error(422, ErrorBody::unprocessable(errors))
    }

    pub(super) fn field_error(field: &str, message: &str) -> Self {
        Self::unprocessable(BTreeMap::from([(
            field.to_string(),
            vec![message.to_string()],
        )]))
    }

    pub(super) fn crash(message: &str) -> Self {
        Self::error(500, ErrorBody::exception("INTERNAL_SERVER_ERROR", message))
    }
}

/// A stored client: its rendered scalar members, its write-only members, its scopes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredClient {
    pub fields: Map<String, Value>,
    pub write_only: Map<String, Value>,
    pub scope_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scope {
    pub id: String,
    pub name: String,
    pub label: Option<String>,
    pub public: bool,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub struct Token {
    pub scope: String,
    pub expires_at: Instant,
}

/// Everything the sandbox knows.
#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    pub admin_client_id: String,
    pub clients: BTreeMap<String, StoredClient>,
    pub scopes: BTreeMap<String, Scope>,
    pub identity_providers: BTreeMap<String, Map<String, Value>>,
    /// client id -> identity provider id.
    pub associations: BTreeMap<String, String>,
    #[serde(skip)]
    pub tokens: HashMap<String, Token>,
    /// Each client's rendered JSON, so listing 10,000 clients is a concatenation rather
    /// than 10,000 renderings. Entries are dropped on every write to their client.
    #[serde(skip)]
    pub render_cache: HashMap<String, String>,
}

/// Who may bootstrap: the client that can obtain the management scopes.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub client_id: String,
    pub client_secret: String,
    /// Lifetime of the tokens it obtains (seconds).
    pub token_ttl: i64,
}

/// Random `[A-Za-z0-9]` text, as boruta's token generator makes.
pub fn random_alphanumeric(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// A PEM-shaped public key of realistic size. No real key is generated: the sandbox must
/// create thousands of clients per second, and nothing verifies these keys.
pub(super) fn fake_public_key(key_type: &str) -> String {
    use base64::Engine;
    let (label, bytes) = if key_type == "ec" {
        ("PUBLIC KEY", 91)
    } else {
        ("RSA PUBLIC KEY", 270)
    };
    let random: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    let body = base64::engine::general_purpose::STANDARD.encode(random);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The first UUID-looking substring (boruta's association step extracts one).
fn find_uuid(text: &str) -> Option<String> {
    (0..text.len().saturating_sub(35))
        .filter(|i| text.is_char_boundary(*i) && text.is_char_boundary(i + 36))
        .map(|i| &text[i..i + 36])
        .find(|candidate| rules::is_uuid(candidate))
        .map(str::to_ascii_lowercase)
}

impl State {
    /// A client as boruta renders it: exactly the 33 members.
    pub fn render_client(&self, id: &str) -> Option<Value> {
        let client = self.clients.get(id)?;
        let mut out = Map::new();
        for field in api::RENDERED_CLIENT_FIELDS {
            let value = match field {
                "identity_provider" => {
                    let idp = self
                        .associations
                        .get(id)
                        .and_then(|i| self.identity_providers.get(i));
                    json!({
                        "id": idp.and_then(|i| i.get("id")).cloned().unwrap_or(Value::Null),
                        "name": idp.and_then(|i| i.get("name")).cloned().unwrap_or(Value::Null),
                    })
                }
                "authorized_scopes" => Value::Array(
                    client
                        .scope_ids
                        .iter()
                        .filter_map(|s| self.scopes.get(s))
                        .map(|s| json!({"id": s.id, "name": s.name, "public": s.public}))
                        .collect(),
                ),
                "trusted_authorities" => match client.fields.get(field) {
                    Some(Value::Null) | None => Value::String(String::new()),
                    Some(v) => v.clone(),
                },
                "trusted_hosts" => match client.fields.get(field) {
                    Some(Value::Null) | None => json!([]),
                    Some(v) => v.clone(),
                },
                _ => client.fields.get(field).cloned().unwrap_or(Value::Null),
            };
            out.insert(field.to_string(), value);
        }
        Some(Value::Object(out))
    }

    pub fn list_clients(&mut self) -> Answer {
        let mut text = String::from("{\"data\":[");
        let ids: Vec<String> = self.clients.keys().cloned().collect();
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            if !self.render_cache.contains_key(id) {
                let rendered = self.render_client(id).unwrap_or(Value::Null).to_string();
                self.render_cache.insert(id.clone(), rendered);
            }
            text.push_str(&self.render_cache[id]);
        }
        text.push_str("]}");
        Answer::text(200, text)
    }

    pub fn show_client(&self, id: &str) -> Answer {
        match self.render_client(id) {
            Some(client) => Answer::data(200, client),
            None => not_found("clients", id),
        }
    }

    /// `POST /api/clients` (contract §4-§6, checklist §11.4).
    pub fn create_client(&mut self, body: &Value) -> Answer {
        let Some(Value::Object(raw)) = body.get("client") else {
            return missing_envelope("create", body);
        };
        let mut params = raw.clone();
        let defaults = rules::create_defaults();
        coerce(&mut params, defaults);
        if let Some(crash) = create_crash(&params) {
            return Answer::crash(crash);
        }
        let mut errors = group(rules::check_client(&params, Mode::Create));
        let key_pair_type = match params.get("key_pair_type") {
            Some(Value::Object(k)) => k.clone(),
            Some(_) => Map::new(),
            None => defaults["key_pair_type"]
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        if errors.is_empty()
            && rules::key_generation(&key_pair_type) == KeyGeneration::NeedsRegistrar
        {
            // The sandbox has no DID registrar, like a boruta that cannot reach one.
            errors.insert("private_key".into(), vec!["Could not create did.".into()]);
        }
        if !errors.is_empty() {
            return Answer::unprocessable(errors);
        }
        let id = match params.get("id").and_then(Value::as_str) {
            Some(id) => id.to_ascii_lowercase(),
            None => Uuid::new_v4().to_string(),
        };
        if self.clients.contains_key(&id) {
            return Answer::field_error("id", "has already been taken");
        }
        let idp_id = match self.association_target(params.get("identity_provider")) {
            Ok(idp) => idp,
            Err(answer) => return answer,
        };
        let scope_ids = self.resolve_scopes(params.get("authorized_scopes"));
        let mut fields = defaults.clone();
        for (k, v) in params {
            if k != "identity_provider"
                && k != "authorized_scopes"
                && rules::field_type(&k).is_some()
            {
                let v = if v.is_null() && is_defaulted_on_null(&k) {
                    fields.get(&k).cloned().unwrap_or(Value::Null)
                } else {
                    v
                };
                fields.insert(k, v);
            }
        }
        fields.insert("id".into(), Value::String(id.clone()));
        if fields
            .get("secret")
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty())
        {
            fields.insert("secret".into(), Value::String(random_alphanumeric(86)));
        }
        let key_type = key_pair_type
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("rsa")
            .to_string();
        fields.insert(
            "public_key".into(),
            Value::String(fake_public_key(&key_type)),
        );
        fields.insert("did".into(), Value::Null);
        fields.insert(
            "signatures_adapter".into(),
            Value::String(rules::INTERNAL_SIGNATURES.into()),
        );
        fields.insert("key_pair_type".into(), Value::Object(key_pair_type));
        let write_only = split_write_only(&mut fields);
        self.clients.insert(
            id.clone(),
            StoredClient {
                fields,
                write_only,
                scope_ids,
            },
        );
        self.associations.insert(id.clone(), idp_id);
        self.render_cache.remove(&id);
        let mut answer = Answer::data(201, self.render_client(&id).unwrap_or(Value::Null));
        answer.location = Some(format!("/api/clients/{id}"));
        answer
    }

    /// `PATCH`/`PUT /api/clients/{id}`. `raw_id` is the path segment as sent.
    pub fn update_client(&mut self, raw_id: &str, body: &Value) -> Answer {
        let Some(id) = cast_uuid(raw_id) else {
            return cast_error(raw_id);
        };
        let Some(stored) = self.clients.get(&id).cloned() else {
            return not_found("clients", &id);
        };
        if raw_id == self.admin_client_id {
            return Answer::error(403, ErrorBody::write_protected());
        }
        let Some(Value::Object(raw)) = body.get("client") else {
            return missing_envelope("update", body);
        };
        let mut params = raw.clone();
        params.remove("id"); // boruta ignores `id` on update
        let mut current = stored.fields.clone();
        current.extend(stored.write_only.clone());
        coerce(&mut params, rules::create_defaults());
        for (field, value) in &params {
            if value.is_null() && NOT_NULL_COLUMNS.contains(&field.as_str()) {
                return Answer::crash(&format!(
                    "null value in column \"{field}\" violates not-null constraint"
                ));
            }
        }
        let errors = group(rules::check_client(
            &params,
            Mode::Update { stored: &current },
        ));
        if !errors.is_empty() {
            return Answer::unprocessable(errors);
        }
        let scope_ids = self.resolve_scopes(params.get("authorized_scopes"));
        let association = params.get("identity_provider").cloned();
        self.render_cache.remove(&id);
        let client = self.clients.get_mut(&id).expect("checked above");
        for (k, v) in params {
            if k == "identity_provider"
                || k == "authorized_scopes"
                || rules::field_type(&k).is_none()
            {
                continue;
            }
            if api::WRITE_ONLY_FIELDS.contains(&k.as_str()) {
                client.write_only.insert(k, v);
            } else if !api::SERVER_GENERATED_FIELDS.contains(&k.as_str()) {
                client.fields.insert(k, v);
            }
        }
        // Full replacement, whether or not the body mentions authorized_scopes (§6.1).
        client.scope_ids = scope_ids;
        // Re-associate only when `identity_provider.id` is sent; a failure is reported
        // although the field changes above are already saved (not atomic upstream).
        if let Some(Value::Object(idp)) = &association {
            if idp.contains_key("id") {
                match self.association_target(association.as_ref()) {
                    Ok(idp_id) => {
                        self.associations.insert(id.clone(), idp_id);
                    }
                    Err(answer) => return answer,
                }
            }
        }
        Answer::data(200, self.render_client(&id).unwrap_or(Value::Null))
    }

    /// `DELETE /api/clients/{id}`: protection first, then the lookup (§2.4).
    pub fn delete_client(&mut self, raw_id: &str) -> Answer {
        if raw_id == self.admin_client_id {
            return Answer::error(403, ErrorBody::write_protected());
        }
        let Some(id) = cast_uuid(raw_id) else {
            return cast_error(raw_id);
        };
        if self.clients.remove(&id).is_none() {
            return not_found("clients", &id);
        }
        self.render_cache.remove(&id);
        self.associations.remove(&id);
        Answer {
            status: 204,
            body: None,
            text: None,
            location: None,
        }
    }

    pub fn list_identity_providers(&self) -> Answer {
        let all: Vec<Value> = self
            .identity_providers
            .values()
            .cloned()
            .map(Value::Object)
            .collect();
        Answer::data(200, Value::Array(all))
    }

    /// Unknown *or non-UUID* ids are 404 here (contract §1.4).
    pub fn show_identity_provider(&self, raw_id: &str) -> Answer {
        let id = raw_id.to_ascii_lowercase();
        match self.identity_providers.get(&id) {
            Some(idp) => Answer::data(200, Value::Object(idp.clone())),
            None => not_found("identity_providers", raw_id),
        }
    }

    /// The association step of a create (§6.2): the identity provider id or its 422.
    // The error is the HTTP answer itself; it is built once per failed request.
    #[allow(clippy::result_large_err)]
    fn association_target(&self, value: Option<&Value>) -> Result<String, Answer> {
        let blank = || Answer::field_error("identity_provider_id", "can't be blank");
        let id = match value.and_then(|v| v.get("id")) {
            None | Some(Value::Null) => return Err(blank()),
            Some(Value::String(s)) if s.trim().is_empty() => return Err(blank()),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        let Some(uuid) = find_uuid(&id) else {
            return Err(Answer::field_error(
                "identity_provider_id",
                "has invalid format",
            ));
        };
        if !self.identity_providers.contains_key(&uuid) {
            return Err(Answer::field_error(
                "identity_provider_id",
                "does not exist",
            ));
        }
        Ok(uuid)
    }

    /// Looks a token up: its granted scopes, if it exists and has not expired.
    pub fn token_scopes(&self, token: &str) -> Option<Vec<String>> {
        let token = self.tokens.get(token)?;
        (token.expires_at > Instant::now())
            .then(|| token.scope.split(' ').map(str::to_string).collect())
    }

    /// Issues an access token; returns (access_token, expires_in).
    pub fn issue_token(&mut self, scope: String, ttl: i64) -> (String, i64) {
        let token = random_alphanumeric(86);
        let ttl = ttl.max(1);
        self.tokens.insert(
            token.clone(),
            Token {
                scope,
                expires_at: Instant::now() + Duration::from_secs(ttl as u64),
            },
        );
        (token, ttl - 1)
    }

    /// Fault injection: every issued token expires now.
    pub fn expire_tokens(&mut self) {
        let now = Instant::now();
        for token in self.tokens.values_mut() {
            token.expires_at = now;
        }
    }

    /// A stored client's member (rendered or write-only).
    pub fn client_value(&self, id: &str, field: &str) -> Option<&Value> {
        let client = self.clients.get(id)?;
        client
            .fields
            .get(field)
            .or_else(|| client.write_only.get(field))
    }
}

/// Columns that crash boruta with a constraint error when an update sets them to null.
const NOT_NULL_COLUMNS: [&str; 11] = [
    "redirect_uris",
    "token_endpoint_auth_methods",
    "token_endpoint_jwt_auth_alg",
    "signatures_adapter",
    "confidential",
    "public_refresh_token",
    "public_revoke",
    "enforce_tx_code",
    "check_public_client_id",
    "metadata",
    "authorized_resources",
];

/// On create, null means "use the default" for the TTLs and a few others (§4.3).
fn is_defaulted_on_null(field: &str) -> bool {
    field.ends_with("_ttl")
        || matches!(
            field,
            "supported_grant_types"
                | "token_endpoint_auth_methods"
                | "token_endpoint_jwt_auth_alg"
                | "id_token_signature_alg"
                | "response_mode"
                | "signatures_adapter"
                | "metadata"
                | "authorized_resources"
                | "confidential"
                | "pkce"
                | "public_refresh_token"
                | "public_revoke"
                | "authorize_scope"
                | "enforce_dpop"
                | "enforce_tx_code"
                | "check_public_client_id"
        )
}

/// The inputs that crash boruta's create with a 500 (contract §5.4).
fn create_crash(params: &Map<String, Value>) -> Option<&'static str> {
    if let Some(scopes) = params.get("authorized_scopes") {
        let ok = matches!(scopes, Value::Array(items) if items.iter().all(Value::is_object))
            || scopes.is_null();
        if !ok {
            return Some("protocol Enumerable not implemented for authorized_scopes");
        }
    }
    if params
        .get("identity_provider")
        .is_some_and(|v| !v.is_object() && !v.is_null())
    {
        return Some("identity_provider must be a map");
    }
    if let Some(Value::Object(kpt)) = params.get("key_pair_type") {
        if rules::key_generation(kpt) == KeyGeneration::Crashes {
            return Some("key generation failed for the given key_pair_type");
        }
        let key_type = kpt.get("type").and_then(Value::as_str).unwrap_or("");
        let loose_only = !matches!(key_type, "rsa" | "ec" | "universal")
            && (key_type.starts_with("ec")
                || key_type.contains("rsa")
                || key_type.ends_with("universal"));
        let alg_sent = params.contains_key("id_token_signature_alg")
            || params.contains_key("userinfo_signed_response_alg");
        if loose_only && alg_sent {
            return Some("no function clause matching in signature algorithm check");
        }
    }
    None
}

pub(super) fn split_write_only(fields: &mut Map<String, Value>) -> Map<String, Value> {
    let mut write_only = Map::new();
    for field in api::WRITE_ONLY_FIELDS {
        if let Some(v) = fields.remove(field) {
            write_only.insert(field.to_string(), v);
        }
    }
    write_only
}

/// Field -> messages, in boruta's 422 shape.
fn group(violations: Vec<rules::RuleViolation>) -> BTreeMap<String, Vec<String>> {
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for v in violations {
        errors
            .entry(v.field.to_string())
            .or_default()
            .push(v.message);
    }
    errors
}

pub(super) fn cast_uuid(raw: &str) -> Option<String> {
    rules::is_uuid(raw).then(|| raw.to_ascii_lowercase())
}

pub(super) fn cast_error(raw: &str) -> Answer {
    Answer::error(
        400,
        ErrorBody::exception(
            "BAD_REQUEST",
            format!("value `\"{raw}\"` in `where` cannot be cast to type Ecto.UUID in query"),
        ),
    )
}

pub(super) fn not_found(table: &str, id: &str) -> Answer {
    Answer::error(
        404,
        ErrorBody::exception(
            "NOT_FOUND",
            format!("expected at least one result but got none in query:\n\nfrom r0 in {table},\n  where r0.id == ^\"{id}\""),
        ),
    )
}

fn missing_envelope(action: &str, body: &Value) -> Answer {
    let quoted = body.to_string();
    Answer::error(
        400,
        ErrorBody::exception(
            "BAD_REQUEST",
            format!("could not find a matching BorutaAdminWeb.ClientController.{action} clause to process request. Params: {quoted}"),
        ),
    )
}
