//! The HTTP client of boruta: a client-credentials token with the least scopes needed, the
//! list reads (one `GET /api/clients` per run), and client creation. The only file that
//! names reqwest. Owns timeouts, retries with backoff and jitter (429 with `Retry-After`,
//! 502/503/504, connection errors, timeouts), one token refresh on a 401, and the refusal
//! to send credentials in clear text to a non-loopback host.
//!
//! Secrets (client secret, access token) live in `SecretString`s, are never logged, and
//! are redacted from any server text that is shown to the user.

use crate::api::{self, ErrorBody, TokenError, TokenResponse};
use crate::sync::lock;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAuth {
    /// `client_secret_basic` (Authorization header).
    Basic,
    /// `client_secret_post` (form fields).
    Post,
}

/// Where the credentials come from.
pub enum Credentials {
    ClientCredentials {
        client_id: String,
        secret: SecretString,
        auth: TokenAuth,
    },
    /// A pre-issued access token (cannot be renewed on 401).
    AccessToken(SecretString),
}

impl Credentials {
    /// The id of the client the tool authenticates as, when known.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Credentials::ClientCredentials { client_id, .. } => Some(client_id),
            Credentials::AccessToken(_) => None,
        }
    }
}

/// Connection settings.
pub struct Settings {
    /// Base URL of the admin API (the listener serving `/api`).
    pub admin_url: String,
    /// The OAuth token endpoint (`.../oauth/token`).
    pub token_url: Option<String>,
    pub credentials: Credentials,
    pub ca_cert: Option<PathBuf>,
    pub allow_insecure_http: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
}

/// What went wrong talking to boruta. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Config(String),
    #[error("cannot read the CA certificate {path}: {reason}")]
    CaCert { path: PathBuf, reason: String },
    #[error("{what} failed: {reason}")]
    Network { what: String, reason: String },
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
    Decode { what: String, reason: String },
}

/// The outcome of one create.
#[derive(Debug)]
pub enum Created {
    /// 201 with the rendered client.
    Created {
        /// The client's secret as stored (declared or generated), for `--secrets-out`.
        secret: Option<SecretString>,
    },
    /// The id was already taken. `after_unknown_outcome` is true when an earlier attempt of
    /// this same create may have committed (timeout, dropped connection, 5xx).
    IdTaken { after_unknown_outcome: bool },
    /// 422 with field errors.
    Rejected(std::collections::BTreeMap<String, Vec<String>>),
}

/// What an admin API request finally got.
struct Answer {
    status: u16,
    body: bytes::Bytes,
    /// An earlier attempt may have been carried out although its answer was lost.
    unknown_outcome: bool,
}

/// A connection to one boruta server.
pub struct Connection {
    http: reqwest::Client,
    admin_url: String,
    token_url: Option<String>,
    credentials: Credentials,
    scopes: Vec<String>,
    token: tokio::sync::Mutex<Option<SecretString>>,
    max_retries: u32,
    /// Texts that must never be shown (secrets sent, tokens received).
    redactions: Mutex<Vec<SecretString>>,
}

fn is_loopback_host(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn check_url(
    label: &str,
    text: &str,
    allow_insecure_http: bool,
) -> Result<reqwest::Url, FetchError> {
    let url = reqwest::Url::parse(text)
        .map_err(|e| FetchError::Config(format!("{label} `{text}` is not a URL: {e}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_host(&url) || allow_insecure_http => Ok(url),
        "http" => Err(FetchError::Config(format!(
            "{label} `{text}` is plain http to a host that is not loopback: credentials would travel in clear text. Use https, or --allow-insecure-http if you really mean it"
        ))),
        other => Err(FetchError::Config(format!("{label} `{text}` has unsupported scheme `{other}` (use https)"))),
    }
}

impl Connection {
    /// Checks the settings and builds the HTTP client. `scopes` are the scopes to request.
    pub fn new(settings: Settings, scopes: Vec<String>) -> Result<Connection, FetchError> {
        // ring instead of rustls' default aws-lc-rs provider, which builds a C library.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let admin = settings.admin_url.trim_end_matches('/');
        let admin = admin.strip_suffix("/api").unwrap_or(admin).to_string();
        check_url("--admin-url", &admin, settings.allow_insecure_http)?;
        let needs_token_url = matches!(settings.credentials, Credentials::ClientCredentials { .. });
        if needs_token_url && settings.token_url.is_none() {
            return Err(FetchError::Config(
                "--token-url (or BORUTA_TOKEN_URL) is required with client credentials: boruta serves /oauth/token on its OAuth listener, not on the admin one".into(),
            ));
        }
        if let Some(token_url) = &settings.token_url {
            check_url("--token-url", token_url, settings.allow_insecure_http)?;
        }
        let mut builder = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("boruta-gitops/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &settings.ca_cert {
            let ca_error = |reason: String| FetchError::CaCert {
                path: path.clone(),
                reason,
            };
            let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ca_error(e.to_string()))?;
            if certs.is_empty() {
                return Err(ca_error("it holds no PEM certificate".into()));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| FetchError::Config(format!("cannot build the HTTP client: {e}")))?;
        let mut redactions = Vec::new();
        let token = match &settings.credentials {
            Credentials::AccessToken(token) => {
                redactions.push(token.clone());
                Some(token.clone())
            }
            Credentials::ClientCredentials { secret, .. } => {
                redactions.push(secret.clone());
                None
            }
        };
        Ok(Connection {
            http,
            admin_url: admin,
            token_url: settings.token_url,
            credentials: settings.credentials,
            scopes,
            token: tokio::sync::Mutex::new(token),
            max_retries: settings.max_retries,
            redactions: Mutex::new(redactions),
        })
    }

    /// The scopes this connection requests.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Adds a value that must never appear in any text this connection shows.
    pub fn redact(&self, secret: SecretString) {
        lock(&self.redactions).push(secret);
    }

    fn scrub(&self, text: &str) -> String {
        let mut text: String = text.chars().take(500).collect();
        for secret in lock(&self.redactions).iter() {
            let secret = secret.expose_secret();
            if !secret.is_empty() {
                text = text.replace(secret, "(redacted)");
            }
        }
        text
    }

    /// Obtains a token (client_credentials) with the connection's scopes.
    async fn fetch_token(&self) -> Result<SecretString, FetchError> {
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
        let mut attempt = 0;
        loop {
            let mut form = vec![
                ("grant_type", "client_credentials".to_string()),
                ("scope", scope.clone()),
            ];
            let mut request = self
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
            let result = request.form(&form).send().await;
            tracing::debug!(url = token_url, "token request sent");
            let response = match self.classify(&what, result, attempt).await? {
                Some(response) => response,
                None => {
                    attempt += 1;
                    continue;
                }
            };
            let status = response.status().as_u16();
            let body = response.bytes().await.map_err(|e| FetchError::Network {
                what: what.clone(),
                reason: e.to_string(),
            })?;
            if status == 200 {
                let token: TokenResponse =
                    serde_json::from_slice(&body).map_err(|e| FetchError::Decode {
                        what: what.clone(),
                        reason: e.to_string(),
                    })?;
                let access = SecretString::from(token.access_token);
                self.redact(access.clone());
                tracing::debug!("token obtained");
                return Ok(access);
            }
            let error: Option<TokenError> = serde_json::from_slice(&body).ok();
            let (error, description) = match error {
                Some(e) => (
                    e.error,
                    e.error_description
                        .map(|d| format!(": {}", self.scrub(&d)))
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
                _ => "check --token-url and the server's logs".to_string(),
            };
            return Err(FetchError::Token {
                what,
                status,
                error,
                description,
                hint,
            });
        }
    }

    /// Decides what to do with a response or transport error: `Ok(Some)` to use it,
    /// `Ok(None)` to retry (after sleeping), `Err` to give up.
    async fn classify(
        &self,
        what: &str,
        result: Result<reqwest::Response, reqwest::Error>,
        attempt: u32,
    ) -> Result<Option<reqwest::Response>, FetchError> {
        if let Err(e) = &result {
            if let Some(tls) = tls_failure(e) {
                // A certificate that does not verify will not verify on a retry either.
                return Err(FetchError::Network {
                    what: what.to_string(),
                    reason: format!(
                        "TLS: {tls}. If the server uses a private CA, pass it with --ca-cert"
                    ),
                });
            }
        }
        let (retry_after, reason) = match &result {
            Ok(response) if !is_transient(response.status().as_u16()) => return Ok(result.ok()),
            Ok(response) => (
                retry_after(response),
                format!("HTTP {}", response.status().as_u16()),
            ),
            Err(e) => (None, describe_transport(e)),
        };
        if attempt >= self.max_retries {
            return match result {
                Ok(response) => Ok(Some(response)),
                Err(_) => Err(FetchError::Network {
                    what: what.to_string(),
                    reason: format!("{reason} (after {} attempt(s))", attempt + 1),
                }),
            };
        }
        let delay =
            retry_after.map_or_else(|| backoff(attempt), |d| d.min(Duration::from_secs(60)));
        tracing::warn!("{what}: {reason}; retrying in {} ms", delay.as_millis());
        tokio::time::sleep(delay).await;
        Ok(None)
    }

    /// The current token; a new one when there is none yet, or when `refused` (a token
    /// the server just answered 401 to) is still the current one. Concurrent requests that
    /// meet the same expiry thus renew it once.
    async fn bearer(&self, refused: Option<&SecretString>) -> Result<SecretString, FetchError> {
        let mut token = self.token.lock().await;
        let stale = match (&*token, refused) {
            (None, _) => true,
            (Some(current), Some(refused)) => current.expose_secret() == refused.expose_secret(),
            (Some(_), None) => false,
        };
        if stale {
            *token = Some(self.fetch_token().await?);
        }
        Ok(token.clone().expect("set above"))
    }

    /// Sends an admin API request with retries and one token renewal on 401.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Answer, FetchError> {
        let url = format!("{}{path}", self.admin_url);
        let mut attempt = 0;
        let mut renewed = false;
        let mut unknown_outcome = false;
        let mut token = self.bearer(None).await?;
        loop {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .header("accept", "application/json")
                .bearer_auth(token.expose_secret());
            if let Some(body) = body {
                request = request.json(body);
            }
            let result = request.send().await;
            // A timeout or a dropped connection may hide a write that was done; so may a
            // 502/504 from a proxy. A refused connection, 429 and 503 did nothing.
            unknown_outcome |= match &result {
                Ok(r) => matches!(r.status().as_u16(), 502 | 504),
                Err(e) => !e.is_connect(),
            };
            let response = match self.classify(what, result, attempt).await? {
                Some(response) => response,
                None => {
                    attempt += 1;
                    continue;
                }
            };
            let status = response.status().as_u16();
            tracing::debug!(method = %method, path, status, "admin API answered");
            if status == 401
                && !renewed
                && matches!(self.credentials, Credentials::ClientCredentials { .. })
            {
                // The token expired or was revoked mid-run: renew it once.
                tracing::info!("access token refused (401); obtaining a new one");
                renewed = true;
                token = self.bearer(Some(&token)).await?;
                continue;
            }
            let body = match response.bytes().await {
                Ok(bytes) => bytes,
                Err(e) => {
                    // The status arrived but the body did not: a write may have been done.
                    unknown_outcome = true;
                    if attempt >= self.max_retries {
                        return Err(FetchError::Network {
                            what: what.to_string(),
                            reason: format!("reading the answer: {}", describe_transport(&e)),
                        });
                    }
                    tracing::warn!(
                        "{what}: reading the answer failed ({}); retrying",
                        describe_transport(&e)
                    );
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                    continue;
                }
            };
            return Ok(Answer {
                status,
                body,
                unknown_outcome,
            });
        }
    }

    fn server_error(&self, what: &str, path: &str, status: u16, body: &[u8]) -> FetchError {
        let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
        let detail = match &parsed {
            Some(e) => format!(" {} \"{}\"", e.code, self.scrub(&e.message)),
            None if body.is_empty() => String::new(),
            None => format!(" \"{}\"", self.scrub(&String::from_utf8_lossy(body))),
        };
        let scopes = self.scopes.join(" ");
        let hint = match status {
            401 => match self.credentials {
                Credentials::AccessToken(_) => "the access token is unknown or expired: issue a new BORUTA_ACCESS_TOKEN".to_string(),
                Credentials::ClientCredentials { .. } => "a fresh token was refused too: if the server sets BORUTA_SUB_RESTRICTED or BORUTA_ORGANIZATION_RESTRICTED, client-credentials tokens are not accepted".to_string(),
            },
            403 => {
                let needed = needed_scope(path);
                match self.credentials {
                    Credentials::AccessToken(_) => format!("the access token lacks {needed}: issue one that has it"),
                    Credentials::ClientCredentials { .. } => format!(
                        "the token lacks {needed} (requested: `{scopes}`): give the client `authorize_scope: true` and it in its `authorized_scopes`"
                    ),
                }
            }
            404 => "is --admin-url the admin listener (the one serving /api)?".to_string(),
            406 => "the server refused the Accept header".to_string(),
            429 | 502 | 503 | 504 => format!("the server is overloaded or unavailable; retried {} time(s); try again later", self.max_retries),
            500..=599 => "the server failed; see its logs".to_string(),
            _ => "see the server's logs".to_string(),
        };
        FetchError::Server {
            what: what.to_string(),
            status,
            detail,
            hint,
        }
    }

    /// One list endpoint: `{"data": [...]}` decoded as `T`s.
    async fn get_list<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
    ) -> Result<Vec<T>, FetchError> {
        let Answer { status, body, .. } = self.send(reqwest::Method::GET, path, None, what).await?;
        if status != 200 {
            return Err(self.server_error(what, path, status, &body));
        }
        let data: api::Data<Vec<T>> =
            serde_json::from_slice(&body).map_err(|e| FetchError::Decode {
                what: what.to_string(),
                reason: format!("{e} (is --admin-url the admin API?)"),
            })?;
        Ok(data.data)
    }

    /// Every client (one request), kept raw until compared.
    pub async fn list_clients(&self) -> Result<Vec<api::ListedClient>, FetchError> {
        let what = "listing clients (GET /api/clients)";
        let raw: Vec<Box<serde_json::value::RawValue>> =
            self.get_list("/api/clients", what).await?;
        raw.into_iter()
            .map(|raw| {
                api::ListedClient::from_raw(raw).map_err(|e| FetchError::Decode {
                    what: what.to_string(),
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    /// Every scope (one request).
    pub async fn list_scopes(&self) -> Result<Vec<Map<String, Value>>, FetchError> {
        self.get_list("/api/scopes", "listing scopes (GET /api/scopes)")
            .await
    }

    /// Every identity provider (one request; needs identity-providers:manage:all).
    pub async fn list_identity_providers(&self) -> Result<Vec<Map<String, Value>>, FetchError> {
        self.get_list(
            "/api/identity-providers",
            "listing identity providers (GET /api/identity-providers)",
        )
        .await
    }

    /// One client by id, `None` on 404.
    pub async fn show_client(&self, id: &str) -> Result<Option<Map<String, Value>>, FetchError> {
        let what = format!("reading client {id}");
        let Answer { status, body, .. } = self
            .send(
                reqwest::Method::GET,
                &format!("/api/clients/{id}"),
                None,
                &what,
            )
            .await?;
        match status {
            200 => {
                let data: api::Data<Map<String, Value>> =
                    serde_json::from_slice(&body).map_err(|e| FetchError::Decode {
                        what,
                        reason: e.to_string(),
                    })?;
                Ok(Some(data.data))
            }
            404 => Ok(None),
            _ => Err(self.server_error(&what, "/api/clients", status, &body)),
        }
    }

    /// `POST /api/clients` with `{"client": client}`. Retries transient failures; a retry
    /// after an unknown outcome that meets "id has already been taken" is reported as such,
    /// so the caller can check whether the existing client is the one it meant to create.
    pub async fn create_client(
        &self,
        client: &Map<String, Value>,
        label: &str,
    ) -> Result<Created, FetchError> {
        let what = format!("creating client {label}");
        let body = serde_json::json!({ "client": client });
        let answer = self
            .send(reqwest::Method::POST, "/api/clients", Some(&body), &what)
            .await?;
        match answer.status {
            201 | 200 => {
                // Only the secret is needed from the rendered client.
                #[derive(serde::Deserialize)]
                struct SecretOnly {
                    secret: Option<String>,
                }
                let data: api::Data<SecretOnly> =
                    serde_json::from_slice(&answer.body).map_err(|e| FetchError::Decode {
                        what: what.clone(),
                        reason: e.to_string(),
                    })?;
                Ok(Created::Created {
                    secret: data.data.secret.map(SecretString::from),
                })
            }
            422 => {
                let parsed: Option<ErrorBody> = serde_json::from_slice(&answer.body).ok();
                let errors = parsed.and_then(|e| e.errors).unwrap_or_default();
                let id_taken = errors.len() == 1
                    && errors
                        .get("id")
                        .is_some_and(|m| m.iter().any(|m| m == "has already been taken"));
                if id_taken {
                    return Ok(Created::IdTaken {
                        after_unknown_outcome: answer.unknown_outcome,
                    });
                }
                let errors = errors
                    .into_iter()
                    .map(|(k, v)| (k, v.iter().map(|m| self.scrub(m)).collect()))
                    .collect();
                Ok(Created::Rejected(errors))
            }
            status => Err(self.server_error(&what, "/api/clients", status, &answer.body)),
        }
    }
}

/// The scope an admin API path requires (contract §1.2–§1.4), for 403 messages.
fn needed_scope(path: &str) -> String {
    if path.starts_with("/api/identity-providers") {
        format!("`{}`", api::SCOPE_IDENTITY_PROVIDERS)
    } else if path.starts_with("/api/scopes") {
        format!("any of `{}`", api::SCOPE_READERS.join("`, `"))
    } else {
        format!("`{}`", api::SCOPE_CLIENTS)
    }
}

/// The first error of type `T` in a transport error's chain of causes.
fn cause_of<T: std::error::Error + 'static>(e: &reqwest::Error) -> Option<&T> {
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        if let Some(found) = cause.downcast_ref::<T>() {
            return Some(found);
        }
        // Errors often travel inside (nested) io::Errors, whose `source` skips the error
        // they wrap: unwrap those by hand.
        next = match cause
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => cause.source(),
        };
    }
    None
}

/// The TLS error behind a transport error, if that is what it is.
fn tls_failure(e: &reqwest::Error) -> Option<String> {
    cause_of::<rustls::Error>(e).map(ToString::to_string)
}

/// Statuses worth retrying: rate limited, or a gateway/server that is briefly unavailable.
fn is_transient(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by boruta or common proxies).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn describe_transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else if cause_of::<hyper::Error>(e).is_some_and(hyper::Error::is_incomplete_message) {
        "the server closed the connection before the answer was complete".to_string()
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            text = format!("{text}: {cause}");
            source = cause.source();
        }
        text
    }
}

/// Exponential backoff with full jitter: up to 200 ms, 400 ms, 800 ms, ... capped at 10 s.
pub fn backoff(attempt: u32) -> Duration {
    let cap = 200u64.saturating_mul(1u64 << attempt.min(16)).min(10_000);
    Duration::from_millis(rand::random_range(cap / 2..=cap))
}

impl Connection {
    /// The admin API base URL (without `/api`).
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }
}
