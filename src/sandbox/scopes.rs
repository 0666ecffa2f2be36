//! Scopes in the sandbox: list, show and create (contract §7.1), the resolution of a
//! client's `authorized_scopes` (§6.1), and which scopes a client may be granted (§3.4).

use super::state::{cast_error, cast_uuid, not_found, Answer, Scope, State};
use crate::api::ErrorBody;
use crate::kinds::client::rules;
use serde_json::{json, Value};
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

    /// `POST /api/scopes` (contract §7.1).
    pub fn create_scope(&mut self, body: &Value) -> Answer {
        let Some(Value::Object(params)) = body.get("scope") else {
            let message = format!(
                "could not find a matching BorutaAdminWeb.ScopeController.create clause to process request. Params: {body}"
            );
            return Answer::error(400, ErrorBody::exception("BAD_REQUEST", message));
        };
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let name = params
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if name.trim().is_empty() {
            errors
                .entry("name".into())
                .or_default()
                .push("can't be blank".into());
        } else if name.chars().any(char::is_whitespace) {
            errors
                .entry("name".into())
                .or_default()
                .push("must not contain whitespace".into());
        }
        let public = match params.get("public") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Null) => {
                errors
                    .entry("public".into())
                    .or_default()
                    .push("must not be null".into());
                false
            }
            Some(_) => {
                errors
                    .entry("public".into())
                    .or_default()
                    .push("is invalid".into());
                false
            }
        };
        let id = match params.get("id") {
            None | Some(Value::Null) => Uuid::new_v4().to_string(),
            Some(Value::String(s)) if rules::is_uuid(s) => s.to_ascii_lowercase(),
            Some(_) => {
                errors
                    .entry("id".into())
                    .or_default()
                    .push("is invalid".into());
                String::new()
            }
        };
        if !errors.is_empty() {
            return Answer::unprocessable(errors);
        }
        if self.scopes.values().any(|s| s.name == name) {
            return Answer::field_error("name", "has already been taken");
        }
        if self.scopes.contains_key(&id) {
            return Answer::field_error("id", "has already been taken");
        }
        let scope = Scope {
            id: id.clone(),
            name,
            label: params
                .get("label")
                .and_then(Value::as_str)
                .map(str::to_string),
            public,
        };
        let rendered = render_scope(&scope);
        self.scopes.insert(id.clone(), scope);
        let mut answer = Answer::data(201, rendered);
        answer.location = Some(format!("/api/scopes/{id}"));
        answer
    }
}

fn render_scope(scope: &Scope) -> Value {
    json!({"id": scope.id, "name": scope.name, "label": scope.label, "public": scope.public})
}
