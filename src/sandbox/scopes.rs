//! Scopes in the sandbox: list, show, create, update and delete (contract §1.3, §7.1), the
//! resolution of a client's `authorized_scopes` (§6.1), and which scopes a client may be
//! granted (§3.4).

use super::state::{cast_error, cast_uuid, not_found, Answer, Scope, State};
use crate::api::{self, ErrorBody};
use crate::kinds::client::rules;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Instant;
use uuid::Uuid;

impl State {
    pub fn list_scopes(&self) -> Answer {
        let all: Vec<Value> = self.scopes.values().map(render_scope).collect();
        Answer::data(200, Value::Array(all))
    }

    pub fn show_scope(&self, raw_id: &str) -> Answer {
        let Some(id) = cast_uuid(raw_id) else {
            return cast_error(raw_id);
        };
        match self.scopes.get(&id) {
            Some(scope) => Answer::data(200, render_scope(scope)),
            None => not_found("scopes", &id),
        }
    }

    /// Resolves `authorized_scopes` as boruta does (§6.1): the scope ids, and the private
    /// scopes to insert for unknown names (inserted with [`State::commit_scopes`] once the
    /// whole write succeeded). A name that another create inserted and has not committed
    /// yet is invisible here, so this create inserts it too and fails like boruta's second
    /// insert (unique index on `oauth_scopes.name` without constraint mapping: 500).
    #[allow(clippy::result_large_err)]
    pub(super) fn resolve_scopes(
        &self,
        value: Option<&Value>,
    ) -> Result<(Vec<String>, Vec<Scope>), Answer> {
        let Some(Value::Array(items)) = value else {
            return Ok((Vec::new(), Vec::new()));
        };
        let now = Instant::now();
        let mut ids = Vec::new();
        let mut new: Vec<Scope> = Vec::new();
        for item in items {
            let Value::Object(item) = item else { continue };
            if let Some(id) = item.get("id").filter(|v| !v.is_null()) {
                let id = id
                    .as_str()
                    .filter(|s| rules::is_uuid(s))
                    .map(str::to_ascii_lowercase);
                if let Some(id) = id.filter(|id| self.scopes.contains_key(id)) {
                    ids.push(id);
                }
                continue; // unknown or malformed ids are silently dropped
            }
            let name = item.get("name").and_then(Value::as_str).unwrap_or("");
            if name.chars().any(char::is_whitespace) {
                continue;
            }
            let uncommitted = self
                .uncommitted_scopes
                .get(name)
                .is_some_and(|commit| *commit > now);
            if uncommitted {
                return Err(Answer::crash(&format!(
                    "ERROR 23505 (unique_violation) duplicate key value violates unique constraint \"scopes_name_index\": Key (name)=({name}) already exists"
                )));
            }
            let existing = self
                .scopes
                .values()
                .chain(new.iter())
                .find(|s| s.name == name)
                .map(|s| s.id.clone());
            let id = existing.unwrap_or_else(|| {
                let scope = Scope {
                    id: Uuid::new_v4().to_string(),
                    name: name.to_string(),
                    label: None,
                    public: false,
                };
                let id = scope.id.clone();
                new.push(scope);
                id
            });
            ids.push(id);
        }
        Ok((ids, new))
    }

    /// Inserts the scopes a write created; they count as uncommitted until `commit_at`.
    pub(super) fn commit_scopes(&mut self, scopes: Vec<Scope>, commit_at: Instant) {
        let now = Instant::now();
        self.uncommitted_scopes.retain(|_, commit| *commit > now);
        for scope in scopes {
            if commit_at > now {
                self.uncommitted_scopes
                    .insert(scope.name.clone(), commit_at);
            }
            self.scopes.insert(scope.id.clone(), scope);
        }
    }

    /// Names of the scopes a client may be granted (§3.4).
    pub fn grantable_scopes(&self, client_id: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .scopes
            .values()
            .filter(|s| s.public)
            .map(|s| s.name.clone())
            .collect();
        if !names.iter().any(|n| n == "openid") {
            names.push("openid".into());
        }
        let Some(client) = self.clients.get(client_id) else {
            return names;
        };
        if client.fields.get("authorize_scope") == Some(&Value::Bool(true)) {
            names.extend(
                client
                    .scope_ids
                    .iter()
                    .filter_map(|id| self.scopes.get(id))
                    .map(|s| s.name.clone()),
            );
        }
        names
    }

    /// `POST /api/scopes` (contract §1.3, §7.1): 201 with `location`, or 400 without the
    /// `scope` envelope, 422 with boruta's messages.
    pub fn create_scope(&mut self, body: &Value) -> Answer {
        let Some(envelope) = body.get("scope") else {
            return missing_envelope("create", body);
        };
        let Value::Object(params) = envelope else {
            return params_not_a_map(envelope);
        };
        let blank = Scope {
            id: String::new(),
            name: String::new(),
            label: None,
            public: false,
        };
        let mut scope = match changeset(&blank, params, Action::Create) {
            Ok(scope) => scope,
            Err(answer) => return answer,
        };
        if scope.id.is_empty() {
            scope.id = Uuid::new_v4().to_string(); // `autogenerate: true`
        }
        if let Err(answer) = self.unique(&scope, None) {
            return answer;
        }
        let id = scope.id.clone();
        let rendered = render_scope(&scope);
        self.scopes.insert(id.clone(), scope);
        let mut answer = Answer::data(201, rendered);
        answer.location = Some(format!("/api/scopes/{id}"));
        answer
    }

    /// `PATCH`/`PUT /api/scopes/{id}`: the `scope` envelope (400), the lookup (400 / 404),
    /// the protection of the management scopes by their stored name (403), then the same
    /// changeset as a create (boruta-server `scope_controller.ex` `update`, 3be6cb4f; the
    /// same at 0.9.0 and 0.10.5).
    pub fn update_scope(&mut self, raw_id: &str, body: &Value) -> Answer {
        let Some(envelope) = body.get("scope") else {
            return missing_envelope("update", body);
        };
        let current = match self.scope_for_edition(raw_id) {
            Ok(scope) => scope.clone(),
            Err(answer) => return answer,
        };
        let Value::Object(params) = envelope else {
            return params_not_a_map(envelope);
        };
        let scope = match changeset(&current, params, Action::Update) {
            Ok(scope) => scope,
            Err(answer) => return answer,
        };
        if let Err(answer) = self.unique(&scope, Some(&current)) {
            return answer;
        }
        let holders: Vec<String> = self
            .clients
            .iter()
            .filter(|(_, c)| c.scope_ids.contains(&current.id))
            .map(|(id, _)| id.clone())
            .collect();
        if scope.id != current.id {
            // Only `oauth_clients_scopes.scope_id` cascades on delete, not on update: a
            // new primary key for a scope clients hold breaks the foreign key (derived).
            if !holders.is_empty() {
                return Answer::crash("update or delete on table \"oauth_scopes\" violates foreign key constraint \"oauth_clients_scopes_scope_id_fkey\" on table \"oauth_clients_scopes\"");
            }
            self.scopes.remove(&current.id);
        }
        // Clients render each scope's name and `public`.
        for holder in holders {
            self.render_cache.remove(&holder);
        }
        let rendered = render_scope(&scope);
        self.scopes.insert(scope.id.clone(), scope);
        Answer::data(200, rendered)
    }

    /// `DELETE /api/scopes/{id}`: the lookup, the protection, then in one transaction the
    /// users' grants of the scope and the scope itself; the clients' links to it go with
    /// it (`oauth_clients_scopes.scope_id ... on_delete: :delete_all`, boruta_auth
    /// `priv/boruta/migrations/20210824122016_openid_connect.ex`). 204, empty body.
    pub fn delete_scope(&mut self, raw_id: &str) -> Answer {
        let id = match self.scope_for_edition(raw_id) {
            Ok(scope) => scope.id.clone(),
            Err(answer) => return answer,
        };
        for grants in self.user_grants.values_mut() {
            grants.retain(|scope_id| *scope_id != id);
        }
        let State {
            clients,
            render_cache,
            ..
        } = self;
        for (client_id, client) in clients.iter_mut() {
            if client.scope_ids.contains(&id) {
                client.scope_ids.retain(|scope_id| *scope_id != id);
                render_cache.remove(client_id);
            }
        }
        self.scopes.remove(&id);
        Answer {
            status: 204,
            body: None,
            pieces: None,
            location: None,
        }
    }

    /// `Admin.get_scope!` then `ensure_open_for_edition`: the scope to change, or 400 / 404
    /// / 403 "write protected".
    #[allow(clippy::result_large_err)]
    fn scope_for_edition(&self, raw_id: &str) -> Result<&Scope, Answer> {
        let Some(id) = cast_uuid(raw_id) else {
            return Err(cast_error(raw_id));
        };
        let Some(scope) = self.scopes.get(&id) else {
            return Err(not_found("scopes", &id));
        };
        if api::PROTECTED_SCOPES.contains(&scope.name.as_str()) {
            return Err(Answer::error(403, ErrorBody::write_protected()));
        }
        Ok(scope)
    }

    /// The database's unique indexes, checked once the changeset is valid: the primary key
    /// (`unique_constraint(:id, name: :scopes_pkey)`) before the name
    /// (`unique_constraint(:name)`), as PostgreSQL checks the older index first (derived).
    #[allow(clippy::result_large_err)]
    fn unique(&self, scope: &Scope, current: Option<&Scope>) -> Result<(), Answer> {
        let other = |s: &&Scope| current.is_none_or(|c| c.id != s.id);
        let new_id = current.is_none_or(|c| c.id != scope.id);
        if new_id && self.scopes.contains_key(&scope.id) {
            return Err(Answer::field_error("id", "has already been taken"));
        }
        if self
            .scopes
            .values()
            .filter(other)
            .any(|s| s.name == scope.name)
        {
            return Err(Answer::field_error("name", "has already been taken"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Create,
    Update,
}

/// boruta_auth's `Scope.changeset` (`lib/boruta/adapters/ecto/schemas/scope.ex`, cfdb52d;
/// the same at 1587483) on `current`: `cast` of `id`, `label`, `name`, `public` (Ecto
/// 3.11: an empty or blank string becomes the field's default, `""` for `name`, null for
/// `label`, false for `public`; a wrong type is `is invalid`), then `validate_required
/// ([:name])`, `validate_not_nil(:public)` and `validate_no_whitespace(:name)`. Returns the
/// changed scope or the 422 with every error.
#[allow(clippy::result_large_err)]
fn changeset(
    current: &Scope,
    params: &Map<String, Value>,
    action: Action,
) -> Result<Scope, Answer> {
    let Cast {
        mut scope,
        name,
        name_cast_failed,
        public,
        mut errors,
    } = cast(current, params, action)?;
    let name_text = name.unwrap_or_default();
    if !name_cast_failed && name_text.trim().is_empty() {
        errors
            .entry("name".into())
            .or_default()
            .push("can't be blank".into());
    }
    if public.is_none() {
        errors
            .entry("public".into())
            .or_default()
            .push("must not be null".into());
    }
    if name_text.chars().any(is_regex_space) {
        errors
            .entry("name".into())
            .or_default()
            .push("must not contain whitespace".into());
    }
    if !errors.is_empty() {
        return Err(Answer::unprocessable(errors));
    }
    scope.name = name_text;
    scope.public = public.unwrap_or(false);
    Ok(scope)
}

/// What `cast` makes of a scope's params: the scope with `id` and `label` cast, `name` and
/// `public` as cast (`None`: null was given), and the cast errors.
struct Cast {
    scope: Scope,
    name: Option<String>,
    name_cast_failed: bool,
    public: Option<bool>,
    errors: BTreeMap<String, Vec<String>>,
}

/// The `cast` of [`changeset`]; an update that nulls the id crashes (500).
#[allow(clippy::result_large_err)]
fn cast(current: &Scope, params: &Map<String, Value>, action: Action) -> Result<Cast, Answer> {
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut invalid = |field: &str| {
        errors
            .entry(field.into())
            .or_default()
            .push("is invalid".into())
    };
    let mut scope = current.clone();
    // name: None in `cast_name` means null was given.
    let mut name: Option<String> = Some(current.name.clone());
    let mut name_cast_failed = false;
    let mut public: Option<bool> = Some(current.public);
    for (field, value) in params {
        let blank = matches!(value, Value::String(s) if s.trim().is_empty());
        match (field.as_str(), value) {
            ("id", Value::Null) | ("id", Value::String(_)) if blank || value.is_null() => {
                match action {
                    Action::Create => scope.id = String::new(),
                    // Setting the primary key to NULL breaks its NOT NULL constraint.
                    Action::Update => {
                        return Err(Answer::crash(
                            "null value in column \"id\" violates not-null constraint",
                        ))
                    }
                }
            }
            ("id", Value::String(s)) if rules::is_uuid(s) => scope.id = s.to_ascii_lowercase(),
            ("id", _) => invalid("id"),
            ("name", Value::String(s)) => {
                name = Some(if blank { String::new() } else { s.clone() })
            }
            ("name", Value::Null) => name = None,
            ("name", _) => {
                name_cast_failed = true;
                invalid("name");
            }
            ("label", Value::String(s)) => scope.label = (!blank).then(|| s.clone()),
            ("label", Value::Null) => scope.label = None,
            ("label", _) => invalid("label"),
            ("public", Value::Bool(b)) => public = Some(*b),
            ("public", Value::String(_)) if blank => public = Some(false),
            ("public", Value::String(s)) => match s.as_str() {
                "true" | "1" => public = Some(true),
                "false" | "0" => public = Some(false),
                _ => invalid("public"),
            },
            ("public", Value::Null) => public = None,
            ("public", _) => invalid("public"),
            _ => {} // not cast: ignored
        }
    }
    Ok(Cast {
        scope,
        name,
        name_cast_failed,
        public,
        errors,
    })
}

/// What `~r/\s/` matches in Elixir (PCRE without the unicode flag): ASCII white space.
fn is_regex_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')
}

/// The action's clause needs the `scope` key: without it, Phoenix's `ActionClauseError`,
/// 400.
fn missing_envelope(action: &str, body: &Value) -> Answer {
    let message = format!(
        "could not find a matching BorutaAdminWeb.ScopeController.{action} clause to process request. Params: {body}"
    );
    Answer::error(400, ErrorBody::exception("BAD_REQUEST", message))
}

/// `Ecto.Changeset.cast` raises `Ecto.CastError` on params that are not a map, which
/// phoenix_ecto answers with 400 (derived).
fn params_not_a_map(params: &Value) -> Answer {
    let message = format!("expected params to be a :map, got: `{params}`");
    Answer::error(400, ErrorBody::exception("BAD_REQUEST", message))
}

fn render_scope(scope: &Scope) -> Value {
    json!({"id": scope.id, "name": scope.name, "label": scope.label, "public": scope.public})
}
