//! `POST /oauth/token` for the client_credentials grant, with boruta's order of checks,
//! client authentication per the client's `token_endpoint_auth_methods`, all-or-nothing
//! scope granting and its exact error table (contract §3).

use super::state::State;
use crate::api::token_messages as msg;
use crate::kinds::client::rules;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn error(status: u16, code: &str, description: Option<&str>) -> (u16, Value) {
    (
        status,
        json!({"error": code, "error_description": description}),
    )
}

/// How the request authenticated.
enum Method {
    Basic,
    Post,
}

/// A status and a JSON body: the token endpoint's answer.
type Answered = (u16, Value);

/// Answers a token request: status and JSON body.
pub fn token(
    state: &mut State,
    authorization: Option<&str>,
    form: &BTreeMap<String, String>,
    has_dpop_proof: bool,
) -> (u16, Value) {
    match issue(state, authorization, form, has_dpop_proof) {
        Ok(answer) | Err(answer) => answer,
    }
}

/// boruta's checks in boruta's order, each refusal with its error, then the token.
fn issue(
    state: &mut State,
    authorization: Option<&str>,
    form: &BTreeMap<String, String>,
    has_dpop_proof: bool,
) -> Result<Answered, Answered> {
    let Some(grant_type) = form.get("grant_type") else {
        return Err(error(400, "invalid_request", Some(msg::NO_GRANT_TYPE)));
    };
    if !crate::api::TOKEN_REQUEST_GRANT_TYPES.contains(&grant_type.as_str()) {
        return Err(error(400, "invalid_request", Some(msg::BAD_GRANT_TYPE)));
    }
    let (method, client_id, secret) = credentials(authorization, form)?;
    let Some(client_id) = client_id else {
        return Err(error(400, "invalid_request", Some(msg::NO_CLIENT_ID)));
    };
    if !rules::is_uuid(&client_id) {
        return Err(error(400, "invalid_request", Some(msg::BAD_CLIENT_ID)));
    }
    let client_id = client_id.to_ascii_lowercase();
    if !state.clients.contains_key(&client_id) {
        return Err(error(401, "invalid_client", Some(msg::INVALID_CLIENT)));
    }
    if grant_type != "client_credentials" {
        // Only client_credentials is imitated; the other grants need users and codes.
        return Err(error(
            400,
            "unsupported_grant_type",
            Some(msg::UNSUPPORTED_GRANT_TYPE),
        ));
    }
    authenticate(state, &client_id, method, secret.as_deref(), has_dpop_proof)?;
    let requested = granted(state, &client_id, form)?;
    let ttl = client_value(state, &client_id, "access_token_ttl")
        .as_i64()
        .unwrap_or(86_400);
    let (access_token, expires_in) = state.issue_token(requested.join(" "), ttl);
    let c_nonce: String = (0..8)
        .map(|_| format!("{:x}", rand::random::<u8>() % 16))
        .collect();
    Ok((
        200,
        json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": expires_in,
            "refresh_token": super::state::random_alphanumeric(86),
            "c_nonce": c_nonce,
        }),
    ))
}

/// The client's credentials: from the `Authorization` header (client_secret_basic) when
/// there is one, else from the form (client_secret_post).
fn credentials(
    authorization: Option<&str>,
    form: &BTreeMap<String, String>,
) -> Result<(Method, Option<String>, Option<String>), Answered> {
    let Some(header) = authorization else {
        return Ok((
            Method::Post,
            form.get("client_id").cloned(),
            form.get("client_secret").cloned(),
        ));
    };
    let Some(encoded) = header.strip_prefix("Basic ") else {
        let description = format!("`{header}` is not a valid Basic authorization header.");
        return Err(error(400, "invalid_request", Some(&description)));
    };
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let parts: Option<Vec<String>> = decoded.map(|d| d.split(':').map(str::to_string).collect());
    match parts {
        Some(parts) if parts.len() == 2 => Ok((
            Method::Basic,
            Some(parts[0].clone()),
            Some(parts[1].clone()),
        )),
        _ => Err(error(400, "invalid_request", Some(msg::BAD_CREDENTIALS))),
    }
}

/// A field of a stored client (`null` when absent).
fn client_value(state: &State, client_id: &str, field: &str) -> Value {
    state
        .client_value(client_id, field)
        .cloned()
        .unwrap_or(Value::Null)
}

/// The strings of a JSON array (none when it is not one).
fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The known client may use client_credentials, this authentication method, this secret
/// (unless it is the public client) and no DPoP proof (unless it enforces DPoP).
fn authenticate(
    state: &State,
    client_id: &str,
    method: Method,
    secret: Option<&str>,
    has_dpop_proof: bool,
) -> Result<(), Answered> {
    let value = |field: &str| client_value(state, client_id, field);
    let grants = value("supported_grant_types");
    let supports = grants
        .as_array()
        .is_some_and(|g| g.iter().any(|t| t == "client_credentials"));
    if !supports {
        return Err(error(
            400,
            "unsupported_grant_type",
            Some(msg::UNSUPPORTED_GRANT_TYPE),
        ));
    }
    // Walk the client's methods in stored order; the last one tried names the error.
    let methods = strings(&value("token_endpoint_auth_methods"));
    let wanted = match method {
        Method::Basic => "client_secret_basic",
        Method::Post => "client_secret_post",
    };
    if !methods.iter().any(|m| m == wanted) {
        let description = methods.last().map(|m| match m.as_str() {
            "client_secret_basic" => msg::EXPECTS_BASIC,
            "client_secret_post" => msg::EXPECTS_POST,
            _ => msg::EXPECTS_JWT,
        });
        return Err(error(401, "invalid_client", description));
    }
    if value("public_client_id").is_null() && value("secret").as_str() != secret {
        return Err(error(401, "invalid_client", Some(msg::INVALID_CLIENT)));
    }
    if value("enforce_dpop") == Value::Bool(true) && !has_dpop_proof {
        return Err(error(
            400,
            "invalid_dpop_proof",
            Some("DPoP proof is required."),
        ));
    }
    Ok(())
}

/// The scopes requested, all grantable (all or nothing), and the resource, authorized.
fn granted<'f>(
    state: &State,
    client_id: &str,
    form: &'f BTreeMap<String, String>,
) -> Result<Vec<&'f str>, Answered> {
    let requested: Vec<&str> = form
        .get("scope")
        .map(|s| s.split(' ').filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let mut grantable = state.grantable_scopes(client_id);
    for scope in &requested {
        // List subtraction removes one occurrence: a repeated scope is refused.
        match grantable.iter().position(|g| g == scope) {
            Some(i) => {
                grantable.remove(i);
            }
            None => return Err(error(400, "invalid_scope", Some(msg::INVALID_SCOPE))),
        }
    }
    let resources = strings(&client_value(state, client_id, "authorized_resources"));
    match form.get("resource") {
        Some(resource) if !rules::is_valid_resource_uri(resource) => {
            Err(error(400, "invalid_target", Some(msg::RESOURCE_MALFORMED)))
        }
        Some(resource) if !resources.is_empty() && !resources.contains(resource) => Err(error(
            400,
            "invalid_target",
            Some(msg::RESOURCE_NOT_AUTHORIZED),
        )),
        None if !resources.is_empty() => Err(error(
            400,
            "invalid_target",
            Some(msg::RESOURCE_NOT_AUTHORIZED),
        )),
        _ => Ok(requested),
    }
}

/// The answer of a proxy or web application firewall in front of boruta that refuses a
/// request and quotes it back, headers and body, in the token endpoint's error format and
/// in the admin API's (the `echo-request` fault): what a careless one does, and what
/// redaction must withstand (issue #19).
pub fn echoed_request(headers: &[(String, String)], body: &[u8]) -> Value {
    let headers: Vec<String> = headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let quoted = format!(
        "request rejected by policy; request headers: {}; request body: {}",
        headers.join("; "),
        String::from_utf8_lossy(body)
    );
    json!({
        "error": "access_denied",
        "error_description": quoted,
        "code": "REQUEST_REJECTED",
        "message": quoted,
    })
}
