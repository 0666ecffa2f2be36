//! Wire types and constants of boruta's admin API and token endpoint, shared by the HTTP
//! client (`fetch`) and the loopback imitation (`sandbox`), so both speak the same JSON.
//!
//! Clients travel as JSON objects (`serde_json::Map`) on the way out, and are read into
//! typed records (`kinds::client::ClientRecord`) on the way in: which members boruta
//! renders depends on its version, which the field catalogue says. No I/O.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The protected administration-UI client's default id (`BORUTA_ADMIN_OAUTH_CLIENT_ID`).
pub const ADMIN_UI_CLIENT_ID: &str = "6a2f41a3-c54c-fce8-32d2-0324e1c32e20";
/// The name of the migration-inserted client that has no identity provider.
pub const PUBLIC_CLIENT_NAME: &str = "public client";

pub const SCOPE_CLIENTS: &str = "clients:manage:all";
pub const SCOPE_IDENTITY_PROVIDERS: &str = "identity-providers:manage:all";
pub const SCOPE_SCOPES: &str = "scopes:manage:all";
pub const SCOPE_USERS: &str = "users:manage:all";
/// Any one of these lets a token read scopes.
/// boruta's private management scopes: each opens part of the admin API (contract §2.3).
pub const ADMIN_SCOPES: [&str; 8] = [
    "scopes:manage:all",
    "roles:manage:all",
    "clients:manage:all",
    "upstreams:manage:all",
    "users:manage:all",
    "identity-providers:manage:all",
    "configuration:manage:all",
    "logs:read:all",
];

/// Scopes boruta refuses to update or delete (403 "write protected", contract §1.3).
pub const PROTECTED_SCOPES: [&str; 6] = [
    "users:manage:all",
    "clients:manage:all",
    "identity-providers:manage:all",
    "scopes:manage:all",
    "roles:manage:all",
    "upstreams:manage:all",
];

/// Scopes boruta's seeds create besides [`ADMIN_SCOPES`] (boruta-server
/// `apps/boruta_auth/priv/repo/boruta.seeds.exs` at 3be6cb4f): public OpenID scopes.
pub const SEEDED_PUBLIC_SCOPES: [&str; 3] = ["openid", "email", "profile"];

pub const SCOPE_READERS: [&str; 4] = [
    SCOPE_SCOPES,
    SCOPE_USERS,
    SCOPE_CLIENTS,
    SCOPE_IDENTITY_PROVIDERS,
];

/// `{"data": ...}`, the envelope of every success body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Data<T> {
    pub data: T,
}

/// boruta's admin error body. `errors` is absent on exception-rendered 400/404/500.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
}

impl ErrorBody {
    fn resource(code: &str, message: &str, detail: &str) -> Self {
        ErrorBody {
            code: code.into(),
            message: message.into(),
            errors: Some(BTreeMap::from([(
                "resource".to_string(),
                vec![detail.to_string()],
            )])),
        }
    }

    /// 401.
    pub fn unauthorized() -> Self {
        Self::resource(
            "UNAUTHORIZED",
            "You are unauthorized to access this resource.",
            "you are unauthorized to access this resource.",
        )
    }

    /// 403, missing scope.
    pub fn forbidden() -> Self {
        Self::resource(
            "FORBIDDEN",
            "You are forbidden to access this resource.",
            "you are forbidden to access this resource.",
        )
    }

    /// 403 on the protected admin-UI client (and protected scopes / identity provider).
    pub fn write_protected() -> Self {
        Self::resource(
            "FORBIDDEN",
            "The resource is write protected.",
            "is write protected.",
        )
    }

    /// 400 rendered by the fallback (unparsable JSON body).
    pub fn bad_request() -> Self {
        Self::resource(
            "BAD_REQUEST",
            "The requested with given parameters cannot be processed.",
            "the requested with given parameters cannot be processed.",
        )
    }

    /// 422 with field errors.
    pub fn unprocessable(errors: BTreeMap<String, Vec<String>>) -> Self {
        ErrorBody {
            code: "UNPROCESSABLE_ENTITY".into(),
            message: "Your request could not be processed.".into(),
            errors: Some(errors),
        }
    }

    /// An error raised inside the router: `{"code","message"}` without `errors`.
    pub fn exception(code: &str, message: impl Into<String>) -> Self {
        ErrorBody {
            code: code.into(),
            message: message.into(),
            errors: None,
        }
    }
}

/// A successful token response. boruta sends no `scope` member.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_nonce: Option<String>,
}

/// An OAuth error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenError {
    pub error: String,
    pub error_description: Option<String>,
}

/// The `grant_type` values boruta's token-request validator accepts (its JSON schema,
/// boruta_auth `lib/boruta/oauth/json/schema.ex`): not the twelve client grant types of
/// the catalogue, but the ones a token request may name. The sandbox refuses others with
/// [`token_messages::BAD_GRANT_TYPE`], which quotes this list.
pub const TOKEN_REQUEST_GRANT_TYPES: [&str; 6] = [
    "client_credentials",
    "agent_credentials",
    "password",
    "agent_code",
    "authorization_code",
    "refresh_token",
];

/// Messages of the token endpoint (contract §3.3).
pub mod token_messages {
    pub const NO_GRANT_TYPE: &str =
        "Request is not a valid OAuth request. Need a grant_type param.";
    pub const BAD_GRANT_TYPE: &str = "Request body validation failed. #/grant_type do match required pattern /^(client_credentials|agent_credentials|password|agent_code|authorization_code|refresh_token)$/.";
    pub const NO_CLIENT_ID: &str =
        "Request body validation failed. Required property client_id is missing at #.";
    pub const BAD_CLIENT_ID: &str = "Request body validation failed. #/client_id do match required pattern /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.";
    pub const INVALID_CLIENT: &str = "Invalid client_id or client_secret.";
    pub const UNSUPPORTED_GRANT_TYPE: &str = "Client do not support given grant type.";
    pub const INVALID_SCOPE: &str = "Given scopes are unknown or unauthorized.";
    pub const BAD_CREDENTIALS: &str = "Given credentials are invalid.";
    pub const EXPECTS_BASIC: &str =
        "Given client expects the credentials to be provided with BasicAuth.";
    pub const EXPECTS_POST: &str =
        "Given client expects the credentials to be provided with POST body parameters.";
    pub const EXPECTS_JWT: &str =
        "Given client expects the credentials to be provided with a jwt assertion.";
    pub const RESOURCE_NOT_AUTHORIZED: &str =
        "Requested resource is not authorized for this client.";
    pub const RESOURCE_MALFORMED: &str =
        "Requested resource must be an absolute URI without a fragment.";
}

/// A global key pair as `GET /api/key-pairs` renders it (boruta-server
/// `apps/boruta_admin/lib/boruta_admin_web/views/key_pair_view.ex`, 3be6cb4f; the same at
/// 0.10.5). Readable with `clients:manage:all`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPair {
    pub id: String,
    pub public_key: String,
    #[serde(default)]
    pub is_default: bool,
}

/// Which boruta the server is, as far as its answers tell, and how that was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionChoice {
    pub version: crate::kinds::client::fields::Version,
    /// For the plan header: "--boruta-version", or what the answers showed.
    pub how: String,
    /// Set when the answers contradict what the user said.
    pub mismatch: Option<String>,
    /// Whether the server caches a client's identity provider until it restarts (0.9.0 to
    /// 0.10.0); `None` when its answers cannot tell the patch release.
    pub identity_provider_cache_defect: Option<bool>,
}

/// Finds out the version from the clients the server rendered: boruta's master renders
/// `trusted_hosts` on every client; 0.9 and 0.10 do not (and behave the same for clients).
/// `told` (`--boruta-version`) wins, with a warning when the answers disagree.
pub fn choose_version(
    told: Option<crate::kinds::client::fields::Named>,
    clients: &[crate::kinds::client::ClientRecord],
) -> VersionChoice {
    use crate::kinds::client::fields::Version;
    let renders_trusted_hosts = clients.iter().any(|c| c.renders_trusted_hosts);
    let seen = if renders_trusted_hosts {
        Version::Master
    } else {
        Version::V0_10
    };
    match told {
        Some(named) => {
            let version = named.version;
            let mismatch = (version.is_release() != seen.is_release()).then(|| {
                if renders_trusted_hosts {
                    format!("--boruta-version {version} was given, but the server's clients carry `trusted_hosts`, as boruta's master renders them")
                } else {
                    format!("--boruta-version {version} was given, but the server's clients carry no `trusted_hosts`, as boruta 0.9 and 0.10 render them")
                }
            });
            VersionChoice {
                version,
                how: "--boruta-version".to_string(),
                mismatch,
                identity_provider_cache_defect: named.identity_provider_cache_defect,
            }
        }
        None => VersionChoice {
            version: seen,
            how: if renders_trusted_hosts {
                "detected: its clients carry `trusted_hosts`".to_string()
            } else {
                "detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same"
                    .to_string()
            },
            mismatch: None,
            identity_provider_cache_defect: (!seen.is_release()).then_some(false),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grant_type_message_quotes_the_token_request_grant_types() {
        let pattern = format!("/^({})$/.", TOKEN_REQUEST_GRANT_TYPES.join("|"));
        assert!(token_messages::BAD_GRANT_TYPE.ends_with(&pattern));
    }
}
