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

/// Answers a token request: status and JSON body.
pub fn token(
    state: &mut State,
    authorization: Option<&str>,
    form: &BTreeMap<String, String>,
    has_dpop_proof: bool,
) -> (u16, Value) {
    let Some(grant_type) = form.get("grant_type") else {
        return error(400, "invalid_request", Some(msg::NO_GRANT_TYPE));
    };
    if !crate::api::TOKEN_REQUEST_GRANT_TYPES.contains(&grant_type.as_str()) {
        return error(400, "invalid_request", Some(msg::BAD_GRANT_TYPE));
    }
    // Client authentication source: a header means client_secret_basic.
    let (method, client_id, secret) = match authorization {
        Some(header) => {
            let Some(encoded) = header.strip_prefix("Basic ") else {
                let description = format!("`{header}` is not a valid Basic authorization header.");
                return error(400, "invalid_request", Some(&description));
            };
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            let parts: Option<Vec<String>> =
                decoded.map(|d| d.split(':').map(str::to_string).collect());
            match parts {
                Some(parts) if parts.len() == 2 => (
                    Method::Basic,
                    Some(parts[0].clone()),
                    Some(parts[1].clone()),
                ),
                _ => return error(400, "invalid_request", Some(msg::BAD_CREDENTIALS)),
            }
        }
        None => (
            Method::Post,
            form.get("client_id").cloned(),
            form.get("client_secret").cloned(),
        ),
    };
    let Some(client_id) = client_id else {
        return error(400, "invalid_request", Some(msg::NO_CLIENT_ID));
    };
    if !rules::is_uuid(&client_id) {
        return error(400, "invalid_request", Some(msg::BAD_CLIENT_ID));
    }
    let client_id = client_id.to_ascii_lowercase();
    if !state.clients.contains_key(&client_id) {
        return error(401, "invalid_client", Some(msg::INVALID_CLIENT));
    }
    if grant_type != "client_credentials" {
        // Only client_credentials is imitated; the other grants need users and codes.
        return error(
            400,
            "unsupported_grant_type",
            Some(msg::UNSUPPORTED_GRANT_TYPE),
        );
    }
    let value = |field: &str| {
        state
            .client_value(&client_id, field)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let grants = value("supported_grant_types");
    let supports = grants
        .as_array()
        .is_some_and(|g| g.iter().any(|t| t == "client_credentials"));
    if !supports {
        return error(
            400,
            "unsupported_grant_type",
            Some(msg::UNSUPPORTED_GRANT_TYPE),
        );
    }
    // Walk the client's methods in stored order; the last one tried names the error.
    let methods: Vec<String> = value("token_endpoint_auth_methods")
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
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
        return error(401, "invalid_client", description);
    }
    if value("public_client_id").is_null() {
        let stored = value("secret");
        if stored.as_str() != secret.as_deref() {
            return error(401, "invalid_client", Some(msg::INVALID_CLIENT));
        }
    }
    if value("enforce_dpop") == Value::Bool(true) && !has_dpop_proof {
        return error(400, "invalid_dpop_proof", Some("DPoP proof is required."));
    }
    let requested: Vec<&str> = form
        .get("scope")
        .map(|s| s.split(' ').filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let mut grantable = state.grantable_scopes(&client_id);
    for scope in &requested {
        // List subtraction removes one occurrence: a repeated scope is refused.
        match grantable.iter().position(|g| g == scope) {
            Some(i) => {
                grantable.remove(i);
            }
            None => return error(400, "invalid_scope", Some(msg::INVALID_SCOPE)),
        }
    }
    let resources: Vec<String> = value("authorized_resources")
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    match form.get("resource") {
        Some(resource) if !rules::is_valid_resource_uri(resource) => {
            return error(400, "invalid_target", Some(msg::RESOURCE_MALFORMED));
        }
        Some(resource) if !resources.is_empty() && !resources.contains(resource) => {
            return error(400, "invalid_target", Some(msg::RESOURCE_NOT_AUTHORIZED));
        }
        None if !resources.is_empty() => {
            return error(400, "invalid_target", Some(msg::RESOURCE_NOT_AUTHORIZED));
        }
        _ => {}
    }
    let ttl = value("access_token_ttl").as_i64().unwrap_or(86_400);
    let (access_token, expires_in) = state.issue_token(requested.join(" "), ttl);
    let c_nonce: String = (0..8)
        .map(|_| format!("{:x}", rand::random::<u8>() % 16))
        .collect();
    (
        200,
        json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": expires_in,
            "refresh_token": super::state::random_alphanumeric(86),
            "c_nonce": c_nonce,
        }),
    )
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
