//! The access token: obtained with the client_credentials grant and the least scopes
//! needed, shared by every request, renewed once when the server refuses it.
//!
//! Single-flight: one request fetches while the others wait, and when the token endpoint
//! fails every waiting request gets that same failure instead of trying again itself. A
//! dead or hanging token endpoint therefore costs `(max_retries + 1) × timeout` plus
//! backoff, once, and the message counts the attempts that really happened.

use super::error::FetchError;
use super::redact::Redactions;
use super::retry::{Answer, Sender};
use super::settings::{Credentials, TokenAuth};
use crate::api::{TokenError, TokenResponse};
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
struct State {
    current: Option<SecretString>,
    /// The outcome of the last fetch, when it failed.
    failure: Option<FetchError>,
    generation: u64,
}

pub struct TokenSource {
    token_url: Option<String>,
    pub credentials: Credentials,
    scopes: Vec<String>,
    state: tokio::sync::Mutex<State>,
    /// `state.generation`, readable without the lock: a request notes it before waiting,
    /// and knows after the wait whether a fetch happened meanwhile.
    generation: AtomicU64,
}

impl TokenSource {
    pub fn new(token_url: Option<String>, credentials: Credentials, scopes: Vec<String>) -> Self {
        let current = match &credentials {
            Credentials::AccessToken(token) => Some(token.clone()),
            Credentials::ClientCredentials { .. } => None,
        };
        TokenSource {
            token_url,
            credentials,
            scopes,
            state: tokio::sync::Mutex::new(State {
                current,
                ..State::default()
            }),
            generation: AtomicU64::new(0),
        }
    }

    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The current token; a new one when there is none yet, or when `refused` (a token the
    /// server just answered 401 to) is still the current one. Concurrent requests that
    /// meet the same expiry renew it once.
    pub async fn bearer(
        &self,
        sender: &Sender,
        redactions: &Redactions,
        refused: Option<&SecretString>,
    ) -> Result<SecretString, FetchError> {
        let seen = self.generation.load(Ordering::SeqCst);
        let mut state = self.state.lock().await;
        if state.generation != seen {
            // A fetch finished while this request waited: share its outcome.
            if let Some(failure) = &state.failure {
                return Err(failure.clone());
            }
        }
        if let Some(current) = &state.current {
            let stale = refused.is_some_and(|r| r.expose_secret() == current.expose_secret());
            if !stale {
                return Ok(current.clone());
            }
        }
        let result = self.fetch(sender, redactions).await;
        state.generation += 1;
        self.generation.store(state.generation, Ordering::SeqCst);
        match &result {
            Ok(token) => {
                state.current = Some(token.clone());
                state.failure = None;
            }
            Err(e) => {
                state.current = None;
                state.failure = Some(e.clone());
            }
        }
        result
    }

    /// One token request, through the retry loop.
    async fn fetch(
        &self,
        sender: &Sender,
        redactions: &Redactions,
    ) -> Result<SecretString, FetchError> {
        let Credentials::ClientCredentials {
            client_id,
            secret,
            auth,
        } = &self.credentials
        else {
            return Err(FetchError::Config(
                "the pre-issued BORUTA_ACCESS_TOKEN was refused and cannot be renewed: issue a new one, or use BORUTA_CLIENT_ID and BORUTA_CLIENT_SECRET".into(),
            ));
        };
        let token_url = self.token_url.as_deref().unwrap_or_default();
        let scope = self.scopes.join(" ");
        let what = format!("requesting a token with scopes `{scope}` from {token_url}");
        let build = || {
            let mut form = vec![
                ("grant_type", "client_credentials".to_string()),
                ("scope", scope.clone()),
            ];
            let mut request = sender
                .http
                .post(token_url)
                .header("accept", "application/json");
            match auth {
                TokenAuth::Basic => {
                    request = request.basic_auth(client_id, Some(secret.expose_secret()))
                }
                TokenAuth::Post => {
                    form.push(("client_id", client_id.clone()));
                    form.push(("client_secret", secret.expose_secret().to_string()));
                }
            }
            request.form(&form)
        };
        let answer = sender.send(&what, &build).await?;
        tracing::debug!(
            url = token_url,
            status = answer.status,
            "token endpoint answered"
        );
        if answer.status == 200 {
            let token: TokenResponse =
                serde_json::from_slice(&answer.body).map_err(|e| FetchError::Decode {
                    what: what.clone(),
                    reason: e.to_string(),
                    source: super::error::cause(e),
                })?;
            let access = SecretString::from(token.access_token);
            redactions.add(access.clone());
            tracing::debug!("token obtained");
            return Ok(access);
        }
        let refused = Refused {
            what,
            client_id,
            scope: &scope,
        };
        Err(refused.explain(&answer, redactions, sender.max_retries))
    }
}

/// A token request the token endpoint did not answer with a token.
struct Refused<'a> {
    what: String,
    client_id: &'a str,
    scope: &'a str,
}

impl Refused<'_> {
    /// The error, with what to do about it. The endpoint's own error text is redacted.
    fn explain(self, answer: &Answer, redactions: &Redactions, max_retries: u32) -> FetchError {
        let Refused {
            what,
            client_id,
            scope,
        } = self;
        let status = answer.status;
        let error: Option<TokenError> = serde_json::from_slice(&answer.body).ok();
        let (error, description) = match error {
            // The description is the server's free text, and a proxy may quote our request
            // in it: only a short, redacted, neutralised excerpt is shown, in quotes.
            Some(e) => (
                redactions.scrub(&e.error),
                e.error_description
                    .map(|d| format!(": “{}”", redactions.excerpt(&d)))
                    .unwrap_or_default(),
            ),
            None => (format!("HTTP {status}"), String::new()),
        };
        let hint = match error.as_str() {
            "invalid_scope" => format!("boruta grants all requested scopes or none: the client {client_id} needs `authorize_scope: true` and `{scope}` in its `authorized_scopes`"),
            "invalid_client" => "check BORUTA_CLIENT_ID and BORUTA_CLIENT_SECRET; if the client only allows client_secret_post, add --token-auth post".to_string(),
            "unsupported_grant_type" => "add `client_credentials` to the client's `supported_grant_types`".to_string(),
            "invalid_target" => "the client has `authorized_resources`, so boruta requires a `resource` with every token request: use a client without authorized_resources".to_string(),
            _ if status == 404 => "--token-url must be the OAuth listener's /oauth/token URL".to_string(),
            _ if super::retry::is_transient(status) => format!("the token endpoint is overloaded or unavailable; retried {} time(s); try again later", max_retries),
            _ => "check --token-url and the server's logs".to_string(),
        };
        FetchError::Token {
            what,
            status,
            error,
            description,
            hint,
        }
    }
}
