//! The HTTP client of boruta, the only module that names reqwest. Along its seams:
//! `settings` (checked once: URLs, CA, proxies, the HTTP client), `token` (the
//! single-flight token source), `retry` (the one retry loop, bounded bodies), `redact`
//! (secrets removed from server texts), `error` (what went wrong and what to do),
//! `service` (the same stack for another JSON API: the secret store of `deliver`), and
//! here the endpoint calls: the list reads (one `GET /api/clients` per run), and show,
//! create, update and delete of any object kind, and key-pair regeneration.
//!
//! Secrets (client secret, access token) live in `SecretString`s, are never logged, and
//! are redacted from any server text that is shown to the user.

mod error;
pub mod github;
mod redact;
mod retry;
pub mod service;
mod settings;
mod stream;
mod token;

pub use error::FetchError;
pub use redact::{Redactions, SUBSTRING_MIN as REDACT_SUBSTRING_MIN};
pub use retry::{backoff, is_transient, Answer};
pub use settings::{
    admin_base, Credentials, HttpClient, ProxyEnv, Settings, TokenAuth, DEFAULT_MAX_RESPONSE_BYTES,
};

use crate::api::{self, ErrorBody};
use crate::kinds::client::fields::FieldSet;
use crate::kinds::client::ClientRecord;
use crate::kinds::ObjectKind;
use error::{hint, summarise_body, Authenticated};
use retry::{Reply, Sender};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use token::TokenSource;

/// The outcome of one create.
#[derive(Debug)]
pub enum Created {
    /// 201 with the rendered client: its id and name as the server holds them (checked by
    /// the caller against what was sent), and its secret for `--secrets-out`.
    Created {
        id: Option<String>,
        name: Option<String>,
        secret: Option<SecretString>,
    },
    /// The id was already taken. `after_unknown_outcome` is true when an earlier attempt of
    /// this same create may have committed (timeout, dropped connection, 5xx).
    IdTaken { after_unknown_outcome: bool },
    /// 422 with field errors.
    Rejected(FieldErrors),
    /// 404 to a create: boruta raises it for an unknown `key_pair_id` (contract §13).
    KeyPairNotFound,
}

/// The outcome of one update.
#[derive(Debug)]
pub enum Updated {
    /// 200 with the rendered client.
    Saved(Map<String, Value>),
    /// 422 with field errors (boruta may have saved the other fields anyway, §9.3).
    Rejected(FieldErrors),
    /// 404: the client no longer exists.
    NotFound,
}

/// The outcome of one delete.
#[derive(Debug, PartialEq, Eq)]
pub enum Deleted {
    /// 204, or 404 after an attempt whose answer was lost (that attempt deleted it).
    Deleted,
    /// 404 at the first attempt: someone else deleted it.
    AlreadyAbsent,
}

/// Told the first client record read (what it renders tells boruta's versions apart), so
/// that work depending on the version can start before the list is complete. Dropped
/// untold when the list is empty or fails.
#[derive(Default)]
pub struct FirstRecord {
    told: std::sync::atomic::AtomicBool,
    sender: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<ClientRecord>>>,
}

impl FirstRecord {
    /// A sender, and the receiver it tells.
    pub fn channel() -> (FirstRecord, tokio::sync::oneshot::Receiver<ClientRecord>) {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let first = FirstRecord {
            told: Default::default(),
            sender: std::sync::Mutex::new(Some(sender)),
        };
        (first, receiver)
    }

    fn tell(&self, record: &ClientRecord) {
        use std::sync::atomic::Ordering;
        if self.told.load(Ordering::Relaxed) || self.told.swap(true, Ordering::SeqCst) {
            return;
        }
        let sender = self.sender.lock().ok().and_then(|mut s| s.take());
        if let Some(sender) = sender {
            // The receiver may be gone (the run stopped waiting): nothing to tell.
            let _ = sender.send(record.clone());
        }
    }
}

/// boruta's 422 field errors, redacted: field → messages.
pub type FieldErrors = std::collections::BTreeMap<String, Vec<String>>;

/// A connection to one boruta server.
pub struct Connection {
    admin_url: String,
    sender: Sender,
    tokens: TokenSource,
    /// Texts that must never be shown (secrets sent, tokens received).
    redactions: Redactions,
}

impl Connection {
    /// Checks the settings and builds the HTTP client. `scopes` are the scopes to request.
    pub fn new(settings: Settings, scopes: Vec<String>) -> Result<Connection, FetchError> {
        Connection::checked(settings::check(settings)?, scopes)
    }

    /// [`Connection::new`] with an HTTP client built ahead from the same settings.
    pub fn with_client(
        settings: Settings,
        http: HttpClient,
        scopes: Vec<String>,
    ) -> Result<Connection, FetchError> {
        Connection::checked(settings::check_with(settings, http)?, scopes)
    }

    fn checked(checked: settings::Checked, scopes: Vec<String>) -> Result<Connection, FetchError> {
        let redactions = Redactions::default();
        match &checked.credentials {
            Credentials::AccessToken(token) => redactions.add(token.clone()),
            // Every form it is sent in, the Basic header's value included (issue #19).
            Credentials::ClientCredentials {
                client_id, secret, ..
            } => redactions.add_basic(client_id, secret),
        }
        Ok(Connection {
            admin_url: checked.admin_url,
            sender: Sender {
                http: checked.http,
                max_retries: checked.max_retries,
                max_body: checked.max_response_bytes,
                cancelled: Arc::new(AtomicBool::new(false)),
                ca_setting: retry::CA_FLAG,
            },
            tokens: TokenSource::new(checked.token_url, checked.credentials, scopes),
            redactions,
        })
    }

    /// The scopes this connection requests.
    pub fn scopes(&self) -> &[String] {
        self.tokens.scopes()
    }

    /// The admin API base URL (without `/api`).
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// Set it to stop retrying (a cancelled run): attempts under way finish, no new one
    /// starts, and the request fails with [`FetchError::Cancelled`].
    pub fn cancellation(&self) -> Arc<AtomicBool> {
        self.sender.cancelled.clone()
    }

    /// Adds a value that must never appear in any text this connection shows.
    pub fn redact(&self, secret: SecretString) {
        self.redactions.add(secret);
    }

    fn who(&self) -> Authenticated {
        match self.tokens.credentials {
            Credentials::AccessToken(_) => Authenticated::AccessToken,
            Credentials::ClientCredentials { .. } => Authenticated::ClientCredentials,
        }
    }

    /// An admin API request with the bearer token, and one renewal of the token on 401.
    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Answer, FetchError> {
        match self.admin_reply(method, path, body, what, false).await? {
            Reply::Whole(answer) => Ok(answer),
            Reply::Open(_) => Err(FetchError::Decode {
                what: what.to_string(),
                reason: "an answer kept open that was not asked for".into(),
                source: None,
            }),
        }
    }

    /// [`Connection::admin`], keeping a `200`'s body open when `keep_open`.
    async fn admin_reply(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
        keep_open: bool,
    ) -> Result<Reply, FetchError> {
        let url = format!("{}{path}", self.admin_url);
        let renewable = self.who() == Authenticated::ClientCredentials;
        let mut token = self
            .tokens
            .bearer(&self.sender, &self.redactions, None)
            .await?;
        let mut renewed = false;
        let mut unknown_outcome = false;
        loop {
            let build = || {
                let request = self
                    .sender
                    .http
                    .request(method.clone(), &url)
                    .header("accept", "application/json")
                    .bearer_auth(token.expose_secret());
                match body {
                    Some(body) => request.json(body),
                    None => request,
                }
            };
            let answer = match self.sender.send_keeping(what, &build, keep_open).await? {
                Reply::Whole(answer) => answer,
                open @ Reply::Open(_) => return Ok(open),
            };
            unknown_outcome |= answer.unknown_outcome;
            tracing::debug!(method = %method, path, status = answer.status, "admin API answered");
            if answer.status == 401 && renewable && !renewed {
                // The token expired or was revoked mid-run: renew it once.
                tracing::info!("access token refused (401); obtaining a new one");
                renewed = true;
                token = self
                    .tokens
                    .bearer(&self.sender, &self.redactions, Some(&token))
                    .await?;
                continue;
            }
            return Ok(Reply::Whole(Answer {
                unknown_outcome,
                ..answer
            }));
        }
    }

    fn server_error(&self, what: &str, path: &str, status: u16, body: &[u8]) -> FetchError {
        let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
        let detail = match &parsed {
            Some(e) => format!(
                " {} \"{}\"",
                self.redactions.scrub(&e.code),
                self.redactions.scrub(&e.message)
            ),
            None if body.is_empty() => String::new(),
            None => format!(" {}", self.redactions.scrub(&summarise_body(body))),
        };
        let scopes = self.scopes().join(" ");
        FetchError::Server {
            what: what.to_string(),
            status,
            detail,
            hint: hint(status, path, self.who(), &scopes, self.sender.max_retries),
        }
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        body: &[u8],
    ) -> Result<T, FetchError> {
        serde_json::from_slice(body).map_err(|e| FetchError::Decode {
            what: what.to_string(),
            reason: format!("{e} (is --admin-url the admin API?)"),
            source: error::cause(e),
        })
    }

    /// One list endpoint: `{"data": [...]}` decoded as `T`s.
    async fn get_list<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
    ) -> Result<Vec<T>, FetchError> {
        let Answer { status, body, .. } =
            self.admin(reqwest::Method::GET, path, None, what).await?;
        if status != 200 {
            return Err(self.server_error(what, path, status, &body));
        }
        let data: api::Data<Vec<T>> = self.decode(what, &body)?;
        Ok(data.data)
    }

    /// Every client (one request), read into typed records as the answer arrives: the
    /// list of 100,000 clients (about 180 MB of JSON) is never held whole.
    /// Only the `wanted` members are kept (the record's fingerprint covers them all).
    pub async fn list_clients(&self, wanted: FieldSet) -> Result<Vec<ClientRecord>, FetchError> {
        self.list_clients_telling(wanted, FirstRecord::default())
            .await
    }

    /// [`Connection::list_clients`], telling `first` about the first record read, long
    /// before the list is complete.
    pub async fn list_clients_telling(
        &self,
        wanted: FieldSet,
        first: FirstRecord,
    ) -> Result<Vec<ClientRecord>, FetchError> {
        let (path, what) = ("/api/clients", "listing clients (GET /api/clients)");
        let first = Arc::new(first);
        let mut attempt = 0;
        loop {
            let reply = self
                .admin_reply(reqwest::Method::GET, path, None, what, true)
                .await?;
            let response = match reply {
                Reply::Open(response) => response,
                Reply::Whole(Answer { status, body, .. }) => {
                    return Err(self.server_error(what, path, status, &body))
                }
            };
            let first = first.clone();
            let parse = move |element: &[u8]| {
                let record = ClientRecord::parse(element, wanted)?;
                first.tell(&record);
                Ok(record)
            };
            match stream::each_element(response, self.sender.max_body, what, parse).await {
                Ok(records) => return Ok(records),
                // The body broke off: a read can be asked again.
                Err(e @ FetchError::Network { .. }) if attempt < self.sender.max_retries => {
                    tracing::warn!("{}; retrying", crate::escape::neutral(&e.to_string()));
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Every scope (one request).
    pub async fn list_scopes(&self) -> Result<Vec<Map<String, Value>>, FetchError> {
        self.get_list("/api/scopes", "listing scopes (GET /api/scopes)")
            .await
    }

    /// Every global key pair (one request; `clients:manage:all`).
    pub async fn list_key_pairs(&self) -> Result<Vec<api::KeyPair>, FetchError> {
        self.get_list("/api/key-pairs", "listing key pairs (GET /api/key-pairs)")
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

    /// One object by id, `None` on 404.
    pub async fn show(
        &self,
        kind: ObjectKind,
        id: &str,
    ) -> Result<Option<Map<String, Value>>, FetchError> {
        let what = format!("reading {kind} {id}");
        let path = format!("{}/{id}", kind.collection());
        self.object_call(reqwest::Method::GET, &path, None, &what)
            .await
    }

    /// A request answered with one rendered object: `Some` on 200, `None` on 404.
    async fn object_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Option<Map<String, Value>>, FetchError> {
        let Answer { status, body, .. } = self.admin(method, path, body, what).await?;
        match status {
            200 => {
                let data: api::Data<Map<String, Value>> = self.decode(what, &body)?;
                Ok(Some(data.data))
            }
            404 => Ok(None),
            _ => Err(self.server_error(what, path, status, &body)),
        }
    }

    /// `POST /api/<kind>s` with `{"<kind>": object}`. Retries transient failures; a retry
    /// after an unknown outcome that meets "id has already been taken" is reported as such,
    /// so the caller can check whether the existing object is the one it meant to create.
    pub async fn create(
        &self,
        kind: ObjectKind,
        object: &Map<String, Value>,
        label: &str,
    ) -> Result<Created, FetchError> {
        let what = format!("creating {kind} {label}");
        let body = serde_json::json!({ kind.envelope(): object });
        let path = kind.collection();
        let answer = self
            .admin(reqwest::Method::POST, path, Some(&body), &what)
            .await?;
        match answer.status {
            201 | 200 => {
                #[derive(serde::Deserialize)]
                struct Rendered {
                    id: Option<String>,
                    name: Option<String>,
                    secret: Option<String>,
                }
                let data: api::Data<Rendered> = self.decode(&what, &answer.body)?;
                Ok(Created::Created {
                    id: data.data.id,
                    name: data.data.name,
                    secret: data.data.secret.map(SecretString::from),
                })
            }
            422 => {
                let errors = self.field_errors(&answer.body);
                let id_taken = errors.len() == 1
                    && errors
                        .get("id")
                        .is_some_and(|m| m.iter().any(|m| m == "has already been taken"));
                if id_taken {
                    return Ok(Created::IdTaken {
                        after_unknown_outcome: answer.unknown_outcome,
                    });
                }
                Ok(Created::Rejected(errors))
            }
            404 if object.contains_key("key_pair_id") => Ok(Created::KeyPairNotFound),
            status => Err(self.server_error(&what, path, status, &answer.body)),
        }
    }

    /// The field errors of a 422 body, redacted (the body may quote a value sent).
    fn field_errors(&self, body: &[u8]) -> FieldErrors {
        let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
        let errors = parsed.and_then(|e| e.errors).unwrap_or_default();
        errors
            .into_iter()
            .map(|(k, v)| {
                (
                    self.redactions.scrub(&k),
                    v.iter().map(|m| self.redactions.scrub(m)).collect(),
                )
            })
            .collect()
    }

    /// `PATCH /api/<kind>s/{id}` with `{"<kind>": changes}`. The same body sent twice
    /// leaves the same object, so transient failures are retried like reads.
    pub async fn update(
        &self,
        kind: ObjectKind,
        id: &str,
        changes: &Map<String, Value>,
        label: &str,
    ) -> Result<Updated, FetchError> {
        let what = format!("updating {kind} {label}");
        let path = format!("{}/{id}", kind.collection());
        let body = serde_json::json!({ kind.envelope(): changes });
        let answer = self
            .admin(reqwest::Method::PATCH, &path, Some(&body), &what)
            .await?;
        match answer.status {
            200 => {
                let data: api::Data<Map<String, Value>> = self.decode(&what, &answer.body)?;
                Ok(Updated::Saved(data.data))
            }
            422 => Ok(Updated::Rejected(self.field_errors(&answer.body))),
            404 => Ok(Updated::NotFound),
            status => Err(self.server_error(&what, &path, status, &answer.body)),
        }
    }

    /// `DELETE /api/<kind>s/{id}` (204). A 404 after an attempt whose answer was lost is
    /// that attempt's success.
    pub async fn delete(
        &self,
        kind: ObjectKind,
        id: &str,
        label: &str,
    ) -> Result<Deleted, FetchError> {
        let what = format!("deleting {kind} {label}");
        let path = format!("{}/{id}", kind.collection());
        let answer = self
            .admin(reqwest::Method::DELETE, &path, None, &what)
            .await?;
        match answer.status {
            204 | 200 => Ok(Deleted::Deleted),
            404 if answer.unknown_outcome => Ok(Deleted::Deleted),
            404 => Ok(Deleted::AlreadyAbsent),
            status => Err(self.server_error(&what, &path, status, &answer.body)),
        }
    }

    /// `POST /api/clients/{id}/regenerate_key_pair`: a new key pair of the client's current
    /// `key_pair_type`; the rendered client, `None` on 404.
    pub async fn regenerate_key_pair(
        &self,
        id: &str,
        label: &str,
    ) -> Result<Option<Map<String, Value>>, FetchError> {
        let what = format!("regenerating the key pair of client {label}");
        let path = format!("/api/clients/{id}/regenerate_key_pair");
        self.object_call(reqwest::Method::POST, &path, None, &what)
            .await
    }
}
