//! boruta's client operations in the sandbox, for the version it imitates: render, create,
//! update, delete and `regenerate_key_pair`, with coercion, validation (`rules.rs`), id
//! uniqueness, the identity-provider association, the key-pair store, and the crashes
//! boruta answers with a 500. Which members exist, are accepted, are rendered, default to
//! what, and crash on null is the field catalogue's (`fields.rs`); nothing here lists
//! fields.

use super::coerce::coerce;
use super::key_pairs;
use super::state::{
    cast_error, cast_uuid, fake_public_key, not_found, random_alphanumeric, Answer, State,
    StoredClient,
};
use crate::api::ErrorBody;
use crate::kinds::client::fields::{self, Kind, NullOnCreate, NullOnUpdate, OnUpdate};
use crate::kinds::client::rules::{self, KeyGeneration, Mode};
use bytes::Bytes;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

impl State {
    /// A client as boruta renders it: exactly the members the version renders.
    pub fn render_client(&self, id: &str) -> Option<Value> {
        let client = self.clients.get(id)?;
        let mut out = Map::new();
        for field in fields::rendered(self.version) {
            let value = match field.kind {
                Kind::IdentityProvider => {
                    let idp = self
                        .associations
                        .get(id)
                        .and_then(|i| self.identity_providers.get(i));
                    json!({
                        "id": idp.and_then(|i| i.get("id")).cloned().unwrap_or(Value::Null),
                        "name": idp.and_then(|i| i.get("name")).cloned().unwrap_or(Value::Null),
                    })
                }
                Kind::Scopes => Value::Array(
                    client
                        .scope_ids
                        .iter()
                        .filter_map(|s| self.scopes.get(s))
                        .map(|s| json!({"id": s.id, "name": s.name, "public": s.public}))
                        .collect(),
                ),
                // master renders a stored null as the default ("" / []): client_view.ex
                // `client.trusted_hosts || []`.
                _ if field.null_on_update == NullOnUpdate::Nil => {
                    match client.fields.get(field.name) {
                        Some(Value::Null) | None => field.default.value(self.version),
                        Some(v) => v.clone(),
                    }
                }
                _ => client
                    .fields
                    .get(field.name)
                    .cloned()
                    .unwrap_or(Value::Null),
            };
            out.insert(field.name.to_string(), value);
        }
        Some(Value::Object(out))
    }

    /// `GET /api/clients`: `{"data":[...]}` in pieces, each client's the render cache's
    /// (rendered now if it is not there), shared rather than copied.
    pub fn list_clients(&mut self) -> Answer {
        if let Some(pieces) = self.render_cache.listing() {
            return Answer::pieces(200, pieces);
        }
        let mut pieces = Vec::with_capacity(self.clients.len() + 2);
        pieces.push(Bytes::from_static(b"{\"data\":["));
        for id in self.clients.keys() {
            let cached = match self.render_cache.get(id) {
                Some(cached) => cached.clone(),
                None => {
                    let rendered = self.render_client(id).unwrap_or(Value::Null);
                    let cached = Bytes::from(format!(",{rendered}"));
                    self.render_cache.insert(id.clone(), cached.clone());
                    cached
                }
            };
            // The cache's comma separates this client from the one before: the first
            // client has none before it.
            let first = pieces.len() == 1;
            pieces.push(if first { cached.slice(1..) } else { cached });
        }
        pieces.push(Bytes::from_static(b"]}"));
        let pieces: Arc<[Bytes]> = pieces.into();
        self.render_cache.keep_listing(pieces.clone());
        Answer::pieces(200, pieces)
    }

    pub fn show_client(&self, id: &str) -> Answer {
        match self.render_client(id) {
            Some(client) => Answer::data(200, client),
            None => not_found("clients", id),
        }
    }

    /// `POST /api/clients`, answered at once (tests and seeding).
    pub fn create_client(&mut self, body: &Value) -> Answer {
        self.create_client_until(body, Instant::now())
    }

    /// `POST /api/clients` (contract §4-§6, checklist §11.4). `commit_at` is when the
    /// request's transaction commits (its answer is sent then): scopes it creates are
    /// invisible to other creates until that moment, and a create that inserts the same
    /// new scope meanwhile fails as boruta's does (contract §13).
    pub fn create_client_until(&mut self, body: &Value, commit_at: Instant) -> Answer {
        match self.create(body, commit_at) {
            Ok(answer) | Err(answer) => answer,
        }
    }

    /// [`State::create_client_until`], each refusal as the error.
    // The error is the HTTP answer itself, built once per refused request.
    #[allow(clippy::result_large_err)]
    fn create(&mut self, body: &Value, commit_at: Instant) -> Result<Answer, Answer> {
        let (params, key_pair_type) = checked_create(body, self.version)?;
        let id = match params.get("id").and_then(Value::as_str) {
            Some(id) => id.to_ascii_lowercase(),
            None => Uuid::new_v4().to_string(),
        };
        if self.clients.contains_key(&id) {
            return Err(Answer::field_error("id", "has already been taken"));
        }
        let mut fields = fields::create_defaults(self.version).clone();
        // `KeyPairs.get_key_pair!` inside the create transaction: 400 / 404, rolled back;
        // `key_pair_id: null` is ignored (boruta_identity `clients.ex`,
        // `insert_global_key_pair(client, nil)`). The fresh key never equals the key
        // pair's, so the key pair's is copied.
        if let Some(key_pair) = params.get("key_pair_id").filter(|v| !v.is_null()) {
            let (_, key_pair) = self.global_key_pair(key_pair)?;
            let public_key = Value::String(key_pair.public_key.clone());
            fields.insert("public_key".into(), public_key);
        }
        let idp_id = self.association_target(params.get("identity_provider"))?;
        let (scope_ids, new_scopes) = self.resolve_scopes(params.get("authorized_scopes"))?;
        let fields = created_fields(fields, params, &id, key_pair_type);
        self.commit_scopes(new_scopes, commit_at);
        self.clients
            .insert(id.clone(), StoredClient { fields, scope_ids });
        self.associations.insert(id.clone(), idp_id);
        self.render_cache.remove(&id);
        let mut answer = Answer::data(201, self.render_client(&id).unwrap_or(Value::Null));
        answer.location = Some(format!("/api/clients/{id}"));
        Ok(answer)
    }

    /// `PATCH`/`PUT /api/clients/{id}`. `raw_id` is the path segment as sent.
    pub fn update_client(&mut self, raw_id: &str, body: &Value) -> Answer {
        self.update_client_until(raw_id, body, Instant::now())
    }

    /// `PATCH`/`PUT /api/clients/{id}` committing at `commit_at` (see
    /// [`State::create_client_until`]).
    pub fn update_client_until(
        &mut self,
        raw_id: &str,
        body: &Value,
        commit_at: Instant,
    ) -> Answer {
        match self.update(raw_id, body, commit_at) {
            Ok(answer) | Err(answer) => answer,
        }
    }

    /// [`State::update_client_until`], each refusal as the error.
    // The error is the HTTP answer itself, built once per refused request.
    #[allow(clippy::result_large_err)]
    fn update(&mut self, raw_id: &str, body: &Value, commit_at: Instant) -> Result<Answer, Answer> {
        let (id, params) = self.checked_update(raw_id, body)?;
        // Full replacement, whether or not the body mentions authorized_scopes (§6.1).
        let (scope_ids, new_scopes) = self.resolve_scopes(params.get("authorized_scopes"))?;
        let key_pair_id = params.get("key_pair_id").cloned();
        let association = params.get("identity_provider").cloned();
        self.commit_scopes(new_scopes, commit_at);
        self.render_cache.remove(&id);
        let client = self.clients.get_mut(&id).expect("looked up above");
        for (k, v) in params {
            let field = fields::get(&k).expect("filtered above");
            if field.on_update == OnUpdate::Partial {
                client.fields.insert(k, v);
            }
        }
        client.scope_ids = scope_ids;
        // Re-associate only when `identity_provider.id` is sent; a failure is reported
        // although the field changes above are already saved (not atomic upstream).
        if let Some(Value::Object(idp)) = &association {
            if idp.contains_key("id") {
                let idp_id = self.association_target(association.as_ref())?;
                self.associations.insert(id.clone(), idp_id);
            }
        }
        // The key pair comes last, after the update committed: its 400 / 404 / 422 / 500
        // leaves the other changes saved (client_controller.ex `update`, contract §4.4).
        self.insert_global_key_pair(&id, key_pair_id.as_ref())?;
        Ok(Answer::data(
            200,
            self.render_client(&id).unwrap_or(Value::Null),
        ))
    }

    /// An update's client id and its params, accepted, coerced and checked, or boruta's
    /// refusal, in boruta's order.
    #[allow(clippy::result_large_err)]
    fn checked_update(
        &self,
        raw_id: &str,
        body: &Value,
    ) -> Result<(String, Map<String, Value>), Answer> {
        // The action's clause needs the `client` key before anything runs: without it,
        // 400 whatever the id (boruta-server `client_controller.ex`, 3be6cb4f:
        // `def update(conn, %{"id" => client_id, "client" => client_params})`).
        let Some(envelope) = body.get("client") else {
            return Err(missing_envelope("update", body));
        };
        let Some(id) = cast_uuid(raw_id) else {
            return Err(cast_error(raw_id));
        };
        let Some(stored) = self.clients.get(&id) else {
            return Err(not_found("clients", &id));
        };
        // The record is looked up first, then the protection (a case-sensitive comparison
        // of the raw path segment, contract §2.4).
        if raw_id == self.admin_client_id {
            return Err(Answer::error(403, ErrorBody::write_protected()));
        }
        let Value::Object(raw) = envelope else {
            // `Ecto.Changeset.cast` raises `Ecto.CastError` on params that are not a map,
            // which phoenix_ecto answers with 400 (derived).
            return Err(Answer::error(
                400,
                ErrorBody::exception(
                    "BAD_REQUEST",
                    format!("expected params to be a :map, got: `{envelope}`"),
                ),
            ));
        };
        let version = self.version;
        let mut params: Map<String, Value> = raw
            .iter()
            .filter(|(k, _)| {
                fields::get(k).is_some_and(|f| {
                    f.accepted.includes(version) && f.on_update != OnUpdate::Ignored
                })
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let current = &stored.fields;
        coerce(&mut params, fields::create_defaults(version));
        for (name, value) in &params {
            let crashes =
                fields::get(name).is_some_and(|f| f.null_on_update == NullOnUpdate::Crashes);
            if value.is_null() && crashes {
                return Err(Answer::crash(&format!(
                    "null value in column \"{name}\" violates not-null constraint"
                )));
            }
        }
        let errors = group(rules::check_client(
            &only_changed_uri_lists(&params, current),
            Mode::Update { stored: current },
            version,
        ));
        if !errors.is_empty() {
            return Err(Answer::unprocessable(errors));
        }
        Ok((id, params))
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
            pieces: None,
            location: None,
        }
    }

    /// `POST /api/clients/{id}/regenerate_key_pair`: a new key of the current type;
    /// lookup first, then the protection (§1.2, §2.4).
    pub fn regenerate_key_pair(&mut self, raw_id: &str) -> Answer {
        let Some(id) = cast_uuid(raw_id) else {
            return cast_error(raw_id);
        };
        let Some(client) = self.clients.get_mut(&id) else {
            return not_found("clients", &id);
        };
        if raw_id == self.admin_client_id {
            return Answer::error(403, ErrorBody::write_protected());
        }
        // `regenerate_client_key_pair(client)`: no keys given, so `generate_key_pair`
        // makes one from the stored `key_pair_type`, or fails as a create's would.
        let public_key = match key_pairs::client_key(client.fields.get("key_pair_type")) {
            Ok(public_key) => public_key,
            Err(answer) => return answer,
        };
        client.fields.insert("public_key".into(), public_key);
        client.fields.insert(
            "signatures_adapter".into(),
            Value::String(fields::INTERNAL_SIGNATURES.into()),
        );
        self.render_cache.remove(&id);
        Answer::data(200, self.render_client(&id).unwrap_or(Value::Null))
    }

    /// Inserts a client as a migration or an old boruta left it, bypassing today's rules
    /// (tests seed legacy values with it, as `seed.rs` seeds the public client).
    pub fn insert_raw_client(
        &mut self,
        id: &str,
        values: Map<String, Value>,
        identity_provider: Option<String>,
    ) {
        let mut fields = fields::create_defaults(self.version).clone();
        fields.extend(values);
        fields.insert("id".into(), Value::String(id.to_string()));
        fields
            .entry("secret")
            .or_insert_with(|| Value::String(random_alphanumeric(86)));
        let key_type = fields["key_pair_type"]["type"]
            .as_str()
            .unwrap_or("rsa")
            .to_string();
        fields.insert(
            "public_key".into(),
            Value::String(fake_public_key(&key_type)),
        );
        fields.insert("did".into(), Value::Null);
        self.clients.insert(
            id.to_string(),
            StoredClient {
                fields,
                scope_ids: Vec::new(),
            },
        );
        match identity_provider {
            Some(idp) => self.associations.insert(id.to_string(), idp),
            None => self.associations.remove(id),
        };
        self.render_cache.remove(id);
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
}

/// A client's members, as sent or stored.
type Params = Map<String, Value>;

/// A create's params (the members this version accepts, coerced) and its key pair type,
/// or boruta's refusal: a crash, the rules' errors, a key that needs a DID registrar.
// The error is the HTTP answer itself, built once per refused request.
#[allow(clippy::result_large_err)]
fn checked_create(body: &Value, version: fields::Version) -> Result<(Params, Params), Answer> {
    let Some(Value::Object(raw)) = body.get("client") else {
        return Err(missing_envelope("create", body));
    };
    let defaults = fields::create_defaults(version);
    // Unknown members are silently ignored, like the fields this version does not cast.
    let mut params: Map<String, Value> = raw
        .iter()
        .filter(|(k, _)| fields::get(k).is_some_and(|f| f.accepted.includes(version)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    coerce(&mut params, defaults);
    if let Some(crash) = create_crash(&params) {
        return Err(Answer::crash(crash));
    }
    let mut errors = group(rules::check_client(&params, Mode::Create, version));
    let key_pair_type = match params.get("key_pair_type") {
        Some(Value::Object(k)) => k.clone(),
        Some(_) => Map::new(),
        None => defaults["key_pair_type"]
            .as_object()
            .cloned()
            .unwrap_or_default(),
    };
    if errors.is_empty() && rules::key_generation(&key_pair_type) == KeyGeneration::NeedsRegistrar {
        // The sandbox has no DID registrar, like a boruta that cannot reach one.
        errors.insert("private_key".into(), vec!["Could not create did.".into()]);
    }
    if !errors.is_empty() {
        return Err(Answer::unprocessable(errors));
    }
    Ok((params, key_pair_type))
}

/// The stored fields of a new client: `fields` (the defaults) with the params over them
/// (a null keeps a defaulted field's default), its id, a secret generated when none is
/// given, a public key of its key type, and what boruta sets itself.
fn created_fields(
    mut fields: Map<String, Value>,
    params: Map<String, Value>,
    id: &str,
    key_pair_type: Map<String, Value>,
) -> Map<String, Value> {
    for (k, v) in params {
        let field = fields::get(&k).expect("filtered above");
        if matches!(field.kind, Kind::IdentityProvider | Kind::Scopes) {
            continue;
        }
        let v = if v.is_null() && field.null_on_create == NullOnCreate::Defaulted {
            fields.get(&k).cloned().unwrap_or(Value::Null)
        } else {
            v
        };
        fields.insert(k, v);
    }
    fields.insert("id".into(), Value::String(id.to_string()));
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
    if !fields.contains_key("public_key") || fields["public_key"].is_null() {
        fields.insert(
            "public_key".into(),
            Value::String(fake_public_key(&key_type)),
        );
    }
    fields.insert("did".into(), Value::Null);
    fields.insert(
        "signatures_adapter".into(),
        Value::String(fields::INTERNAL_SIGNATURES.into()),
    );
    fields.insert("key_pair_type".into(), Value::Object(key_pair_type));
    fields
}

/// The update's params as boruta validates them: `redirect_uris` and
/// `authorized_resources` are checked with `validate_change`, which runs only on a value
/// that differs from the stored one (boruta_auth `schemas/client.ex`, cfdb52d and 1587483;
/// contract §5.2), so an unchanged list, even of URIs a create would refuse, passes.
fn only_changed_uri_lists(
    params: &Map<String, Value>,
    stored: &Map<String, Value>,
) -> Map<String, Value> {
    let mut checked = params.clone();
    for field in ["redirect_uris", "authorized_resources"] {
        if checked
            .get(field)
            .is_some_and(|v| stored.get(field) == Some(v))
        {
            checked.remove(field);
        }
    }
    checked
}

/// The first UUID-looking substring (boruta's association step extracts one).
fn find_uuid(text: &str) -> Option<String> {
    (0..text.len().saturating_sub(35))
        .filter(|i| text.is_char_boundary(*i) && text.is_char_boundary(i + 36))
        .map(|i| &text[i..i + 36])
        .find(|candidate| rules::is_uuid(candidate))
        .map(str::to_ascii_lowercase)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::client::fields::Version;
    use crate::sandbox::state::Bootstrap;

    /// The list's body as sent: its pieces one after another.
    fn listed(state: &mut State) -> String {
        let pieces = state.list_clients().into_body_pieces().unwrap_or_default();
        String::from_utf8(pieces.concat()).unwrap()
    }

    /// The list as rendering every client now would make it.
    fn rendered(state: &State) -> String {
        let clients: Vec<Value> = state
            .clients
            .keys()
            .filter_map(|id| state.render_client(id))
            .collect();
        json!({ "data": clients }).to_string()
    }

    #[test]
    fn the_listed_pieces_are_every_rendering_in_order_and_follow_writes() {
        let bootstrap = Bootstrap {
            client_id: "00000000-b007-4000-8000-00000000bbbb".into(),
            client_secret: "secret".into(),
            token_ttl: 60,
        };
        let admin = crate::api::ADMIN_UI_CLIENT_ID;
        let mut state = State::seeded(
            "http://127.0.0.1:1",
            admin,
            &bootstrap,
            Version::LATEST_RELEASE,
        );
        assert!(state.clients.len() >= 2);
        assert_eq!(listed(&mut state), rendered(&state));
        // From the cache, the same bytes.
        assert_eq!(listed(&mut state), rendered(&state));
        let first = state.clients.keys().next().cloned().unwrap_or_default();
        let name = Map::from_iter([("name".to_string(), json!("renamed"))]);
        state.insert_raw_client(&first, name, None);
        let after = listed(&mut state);
        assert!(
            after.contains(r#"[{"id":"#) && after.contains("renamed"),
            "{after}"
        );
        assert_eq!(after, rendered(&state));
        // The list kept is forgotten when a client goes.
        assert_eq!(state.delete_client(&first).status, 204);
        assert!(!listed(&mut state).contains("renamed"));
        assert_eq!(listed(&mut state), rendered(&state));
        // As `Sandbox::with_state` does after changing clients behind the cache's back.
        state.clients.clear();
        state.render_cache.clear();
        assert_eq!(listed(&mut state), r#"{"data":[]}"#);
    }
}
