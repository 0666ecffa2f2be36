//! What can go wrong talking to boruta, and the sentence that says what to do about it.

use crate::api;
use std::path::PathBuf;
use std::sync::Arc;

/// The error underneath a [`FetchError`] (a transport, I/O or JSON error), shared so that
/// the error stays cloneable. Its text is already part of the [`FetchError`]'s message
/// (said in our words, without secrets), so `error::Chain` does not print it again; it is
/// kept so that the chain of causes is complete for whoever walks it.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// `error` as a [`Cause`].
pub fn cause(error: impl std::error::Error + Send + Sync + 'static) -> Option<Cause> {
    Some(Arc::new(error))
}

/// What went wrong talking to boruta. Every message says what to do. Cloneable: a token
/// endpoint failure is handed to every request that waited for the token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Config(String),
    #[error("cannot read the CA certificate {path}: {reason}")]
    CaCert {
        path: PathBuf,
        reason: String,
        #[source]
        source: Option<Cause>,
    },
    #[error("{what} failed: {reason}")]
    Network {
        what: String,
        reason: String,
        #[source]
        source: Option<Cause>,
    },
    #[error("{what}: boruta answered {status}{detail}. {hint}")]
    Server {
        what: String,
        status: u16,
        detail: String,
        hint: String,
    },
    #[error("{what}: the token endpoint answered {status} ({error}{description}). {hint}")]
    Token {
        what: String,
        status: u16,
        error: String,
        description: String,
        hint: String,
    },
    #[error("{what}: unexpected answer: {reason}")]
    Decode {
        what: String,
        reason: String,
        #[source]
        source: Option<Cause>,
    },
    #[error("{what}: the answer is larger than --max-response-bytes ({limit} bytes); raise the limit if the server really holds that much")]
    TooLarge { what: String, limit: u64 },
    #[error("{what}: not sent: the run was cancelled")]
    Cancelled { what: String },
}

impl FetchError {
    /// Would this error fail every other request as well (authentication, permissions,
    /// settings)? Then a run stops instead of trying the rest.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            FetchError::Server {
                status: 401 | 403,
                ..
            } | FetchError::Token { .. }
                | FetchError::Config(_)
                | FetchError::CaCert { .. }
                | FetchError::Cancelled { .. }
        )
    }
}

/// Who the run authenticates as, for hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authenticated {
    ClientCredentials,
    AccessToken,
}

/// The scope an admin API path requires (contract §1.2–§1.4), for 403 messages.
pub fn needed_scope(path: &str) -> String {
    if path.starts_with("/api/identity-providers") {
        format!("`{}`", api::SCOPE_IDENTITY_PROVIDERS)
    } else if path.starts_with("/api/scopes") {
        format!("any of `{}`", api::SCOPE_READERS.join("`, `"))
    } else {
        format!("`{}`", api::SCOPE_CLIENTS)
    }
}

/// What to do about an admin API status.
pub fn hint(status: u16, path: &str, who: Authenticated, scopes: &str, retries: u32) -> String {
    match status {
        401 => match who {
            Authenticated::AccessToken => {
                "the access token is unknown or expired: issue a new BORUTA_ACCESS_TOKEN".to_string()
            }
            Authenticated::ClientCredentials => "a fresh token was refused too. boruta's admin API refuses client-credentials tokens when the server sets BORUTA_SUB_RESTRICTED or BORUTA_ORGANIZATION_RESTRICTED (even to an empty value), and when the admin app does not share the OAuth app's token database; unset those, or use a BORUTA_ACCESS_TOKEN issued to a user".to_string(),
        },
        403 => {
            let needed = needed_scope(path);
            match who {
                Authenticated::AccessToken => format!("the access token lacks {needed}: issue one that has it"),
                Authenticated::ClientCredentials => format!(
                    "the token lacks {needed} (requested: `{scopes}`): give the client `authorize_scope: true` and it in its `authorized_scopes`"
                ),
            }
        }
        404 => "is --admin-url the admin listener (the one serving /api)?".to_string(),
        406 => "the server refused the Accept header".to_string(),
        s if super::retry::is_transient(s) => format!(
            "the server is overloaded or unavailable; retried {retries} time(s); try again later"
        ),
        500..=599 => "the server failed; see its logs".to_string(),
        _ => "see the server's logs".to_string(),
    }
}

/// A short, printable account of a body that is not boruta's JSON: an HTML page is
/// summarised by its title, other text cut short.
pub fn summarise_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    if lower.contains("<html") || lower.contains("<!doctype html") {
        let title = lower
            .find("<title>")
            .and_then(|start| {
                let rest = &text[start + "<title>".len()..];
                rest.to_ascii_lowercase()
                    .find("</title>")
                    .map(|end| rest[..end].trim().to_string())
            })
            .filter(|t| !t.is_empty());
        return match title {
            Some(title) => format!(
                "an HTML page titled \"{}\" ({} bytes), not boruta's JSON",
                title.chars().take(80).collect::<String>(),
                body.len()
            ),
            None => format!("an HTML page ({} bytes), not boruta's JSON", body.len()),
        };
    }
    let first: String = text.chars().take(200).collect();
    if first.len() < text.len() {
        format!("\"{first}…\"")
    } else {
        format!("\"{first}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_bodies_are_summarised() {
        let page = b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>nginx</body></html>";
        assert_eq!(
            summarise_body(page),
            "an HTML page titled \"404 Not Found\" (87 bytes), not boruta's JSON"
        );
        assert_eq!(summarise_body(b"plain"), "\"plain\"");
    }

    #[test]
    fn the_source_is_kept_and_printed_once() {
        let json = serde_json::from_slice::<serde_json::Value>(b"{").unwrap_err();
        let text = json.to_string();
        let error = FetchError::Decode {
            what: "reading the clients".into(),
            reason: text.clone(),
            source: cause(json),
        };
        let source = std::error::Error::source(&error).expect("the source is kept");
        assert_eq!(source.to_string(), text);
        // The message already says it: the chain prints it once.
        let expected = format!("reading the clients: unexpected answer: {text}");
        assert_eq!(crate::error::Chain(&error).to_string(), expected);
        let wrapped = crate::error::Error::from(error.clone());
        assert_eq!(
            std::error::Error::source(&wrapped).map(|s| s.to_string()),
            Some(text)
        );
        assert_eq!(crate::error::Chain(&wrapped).to_string(), expected);
    }
}
