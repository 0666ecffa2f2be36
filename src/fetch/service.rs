//! An HTTP client for a JSON API other than boruta's (a secret store's), on the one HTTP
//! stack of the project: the proxy rule and timeouts of `client_builder`, no redirects,
//! TLS with an optional private CA, the one retry loop and bounded bodies. Its callers
//! (`deliver`) speak the API; they never name reqwest, so swapping it touches `fetch` only.
//!
//! Credentials go in headers fixed when the client is built, marked sensitive (never in a
//! `Debug` of the request), and only to the address the caller configured.

use super::error::FetchError;
use super::retry::{Answer, Sender};
use super::settings::{add_ca_bundle, check_url, client_builder, ProxyEnv};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// The HTTP methods a service call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// Where the service is and how to reach it.
pub struct ServiceSettings<'a> {
    /// The name of the setting holding the address, for messages (`VAULT_ADDR`).
    pub address_setting: &'static str,
    /// The base URL; request paths are appended to it.
    pub address: &'a str,
    /// A PEM bundle of private CAs to trust besides the system's roots.
    pub ca_cert: Option<&'a Path>,
    /// How the user names that bundle, for TLS failures (`VAULT_CACERT`).
    pub ca_setting: &'static str,
    /// Plain http to a host that is not loopback (credentials in clear text).
    pub allow_insecure_http: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The largest answer body read.
    pub max_body: u64,
    pub proxies: &'a ProxyEnv,
}

/// A header sent with every request: its name (lower case), the setting its value comes
/// from (for messages), and the value.
pub enum Header {
    /// A credential: marked sensitive, never shown.
    Secret {
        name: &'static str,
        setting: &'static str,
        value: SecretString,
    },
    Plain {
        name: &'static str,
        setting: &'static str,
        value: String,
    },
}

/// A client of one service.
pub struct Service {
    sender: Sender,
    base: String,
    headers: reqwest::header::HeaderMap,
}

impl Service {
    /// Checks the address (https, or http on loopback unless allowed), reads the CA bundle
    /// and builds the client. A header value an HTTP header cannot carry is refused,
    /// naming the header, never quoting its value.
    pub fn new(settings: ServiceSettings<'_>, headers: Vec<Header>) -> Result<Service, FetchError> {
        let base = check_url(
            settings.address_setting,
            settings.address.trim_end_matches('/'),
            settings.allow_insecure_http,
        )?;
        let mut builder = client_builder(settings.timeout, settings.proxies);
        if let Some(path) = settings.ca_cert {
            builder = add_ca_bundle(builder, path)?;
        }
        let http = builder
            .build()
            .map_err(|e| FetchError::Config(format!("cannot build the HTTP client: {e}")))?;
        let mut map = reqwest::header::HeaderMap::new();
        for header in headers {
            let (name, setting, value, sensitive) = match &header {
                Header::Secret {
                    name,
                    setting,
                    value,
                } => (*name, *setting, value.expose_secret(), true),
                Header::Plain {
                    name,
                    setting,
                    value,
                } => (*name, *setting, value.as_str(), false),
            };
            let refused = || {
                FetchError::Config(format!(
                    "{setting} holds characters an HTTP header cannot carry (a line break?)"
                ))
            };
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| FetchError::Config(format!("`{name}` is not an HTTP header name")))?;
            let mut value = reqwest::header::HeaderValue::from_str(value).map_err(|_| refused())?;
            value.set_sensitive(sensitive);
            map.insert(name, value);
        }
        Ok(Service {
            sender: Sender {
                http,
                max_retries: settings.max_retries,
                max_body: settings.max_body,
                cancelled: Arc::new(AtomicBool::new(false)),
                ca_setting: settings.ca_setting,
            },
            base: base.as_str().trim_end_matches('/').to_string(),
            headers: map,
        })
    }

    /// The base URL, as checked (for messages).
    pub fn address(&self) -> &str {
        &self.base
    }

    /// Set it to stop retrying (a cancelled run): attempts under way finish, no new one
    /// starts, and the call fails with [`FetchError::Cancelled`].
    pub fn cancellation(&self) -> Arc<AtomicBool> {
        self.sender.cancelled.clone()
    }

    /// One call of `path` (appended to the address, already percent-encoded) through the
    /// retry loop. Every status is returned for the caller to interpret; transport
    /// failures become [`FetchError::Network`].
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Answer, FetchError> {
        let url = format!("{}{path}", self.base);
        let method = match method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let build = || {
            let request = self
                .sender
                .http
                .request(method.clone(), &url)
                .header("accept", "application/json")
                .headers(self.headers.clone());
            match body {
                Some(body) => request.json(body),
                None => request,
            }
        };
        self.sender.send(what, &build).await
    }
}
