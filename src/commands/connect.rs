//! The connection to boruta as the caller configured it (flags and `BORUTA_*` variables,
//! or an environment file): checked before anything is sent, turned into a
//! [`fetch::Connection`] that requests exactly the scopes the run needs. Where requests go
//! and which credentials they carry come only from here, never from a manifest or a saved
//! plan.

use crate::error::Error;
use crate::fetch::{self, Credentials, Settings, TokenAuth};
use crate::kinds::client::fields::Named;
use crate::kinds::client::SystemIds;
use secrecy::SecretString;
use std::path::{Path, PathBuf};

/// A client secret file is short: a FIFO or a huge file there is a mistake, not a secret.
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// The connection settings of a run.
#[derive(Debug, Clone)]
pub struct ConnectionOptions {
    /// Base URL of the admin API (the listener serving `/api`).
    pub admin_url: Option<String>,
    /// The OAuth token endpoint.
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub access_token: Option<String>,
    pub token_auth: TokenAuth,
    pub ca_cert: Option<PathBuf>,
    pub allow_insecure_http: bool,
    /// Per-request timeout, seconds.
    pub timeout: u64,
    pub max_retries: u32,
    pub max_response_bytes: u64,
    /// Id of boruta's protected admin-UI client.
    pub admin_client_id: String,
    /// `--boruta-version`, when given.
    pub boruta_version: Option<Named>,
    /// `--issuer`: boruta's OAuth issuer, when it is not the token URL's base.
    pub issuer: Option<String>,
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        ConnectionOptions {
            admin_url: None,
            token_url: None,
            client_id: None,
            client_secret: None,
            client_secret_file: None,
            access_token: None,
            token_auth: TokenAuth::Basic,
            ca_cert: None,
            allow_insecure_http: false,
            timeout: 30,
            max_retries: 4,
            max_response_bytes: fetch::DEFAULT_MAX_RESPONSE_BYTES,
            admin_client_id: crate::api::ADMIN_UI_CLIENT_ID.to_string(),
            boruta_version: None,
            issuer: None,
        }
    }
}

fn read_secret_file(path: &Path) -> Result<String, Error> {
    let mut text =
        crate::bounded::read_text(path, MAX_SECRET_FILE_BYTES).map_err(|source| Error::File {
            what: "--client-secret-file",
            path: path.to_path_buf(),
            source,
        })?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

impl ConnectionOptions {
    /// The settings every server command needs, present.
    pub fn check(&self) -> Result<(), Error> {
        if self.admin_url.is_none() {
            return Err(Error::Usage(
                "no admin URL: set --admin-url or BORUTA_ADMIN_URL (the listener serving /api)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The credentials, from the secret, its file, or a pre-issued token.
    fn credentials(&self) -> Result<Credentials, Error> {
        let secret = match (&self.client_secret_file, &self.client_secret) {
            (Some(path), _) => Some(read_secret_file(path)?),
            (None, Some(secret)) => Some(secret.clone()),
            (None, None) => None,
        };
        match (&self.client_id, secret, &self.access_token) {
            (Some(id), Some(secret), token) => {
                if token.is_some() {
                    tracing::warn!("both client credentials (BORUTA_CLIENT_ID and a secret) and BORUTA_ACCESS_TOKEN are set: the client credentials are used, the access token is ignored");
                }
                Ok(Credentials::ClientCredentials {
                client_id: id.clone(),
                secret: SecretString::from(secret),
                    auth: self.token_auth,
                })
            }
            (_, _, Some(token)) => Ok(Credentials::AccessToken(SecretString::from(token.clone()))),
            (Some(_), None, None) => Err(Error::Usage(
                "BORUTA_CLIENT_ID is set but no secret: set BORUTA_CLIENT_SECRET or --client-secret-file".into(),
            )),
            (None, _, None) => Err(Error::Usage(
                "no credentials: set BORUTA_CLIENT_ID and BORUTA_CLIENT_SECRET (or --client-secret-file), or BORUTA_ACCESS_TOKEN".into(),
            )),
        }
    }

    /// A connection requesting `scopes`.
    pub fn connect(&self, scopes: Vec<String>) -> Result<fetch::Connection, Error> {
        self.connect_with(scopes, self.http_client())
    }

    /// The HTTP client [`ConnectionOptions::connect_with`] takes, built ahead (it sends
    /// nothing; building it reads the system's trusted roots).
    pub fn http_client(&self) -> fetch::HttpClient {
        let proxies = fetch::ProxyEnv::from_process();
        fetch::HttpClient::build(self.timeout(), proxies, self.ca_cert.as_deref())
    }

    /// [`ConnectionOptions::connect`] with a client from [`ConnectionOptions::http_client`].
    pub fn connect_with(
        &self,
        scopes: Vec<String>,
        http: fetch::HttpClient,
    ) -> Result<fetch::Connection, Error> {
        let credentials = self.credentials()?;
        self.check()?;
        let settings = Settings {
            admin_url: self.admin_url.clone().unwrap_or_default(),
            token_url: self.token_url.clone(),
            credentials,
            ca_cert: self.ca_cert.clone(),
            allow_insecure_http: self.allow_insecure_http,
            timeout: self.timeout(),
            max_retries: self.max_retries,
            max_response_bytes: self.max_response_bytes,
            // The variables the client was built with: the process's, read once.
            proxies: http.proxies().clone(),
        };
        Ok(fetch::Connection::with_client(settings, http, scopes)?)
    }

    /// The per-request timeout (at least a second).
    fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout.max(1))
    }

    /// Takes what the caller left unset from an environment file: its server, its
    /// credentials when the caller gave none (never half from each), its boruta version.
    pub fn with_environment(mut self, environment: &crate::env::EnvFile) -> Self {
        self.admin_url = self.admin_url.or_else(|| environment.admin_url.clone());
        self.token_url = self.token_url.or_else(|| environment.token_url.clone());
        let has_credentials = self.client_id.is_some()
            || self.client_secret.is_some()
            || self.client_secret_file.is_some()
            || self.access_token.is_some();
        if !has_credentials {
            self.client_id = environment.client_id.clone();
            self.client_secret = environment
                .client_secret
                .as_ref()
                .map(|s| secrecy::ExposeSecret::expose_secret(s).to_string());
        }
        self.boruta_version = self.boruta_version.or(environment.boruta_version);
        self
    }

    /// The server and credential settings the caller set (flags or `BORUTA_*`): with every
    /// environment at once, each must come from its own file.
    pub fn overrides(&self) -> Vec<&'static str> {
        [
            ("BORUTA_ADMIN_URL", self.admin_url.is_some()),
            ("BORUTA_TOKEN_URL", self.token_url.is_some()),
            ("BORUTA_CLIENT_ID", self.client_id.is_some()),
            ("BORUTA_CLIENT_SECRET", self.client_secret.is_some()),
            ("--client-secret-file", self.client_secret_file.is_some()),
            ("BORUTA_ACCESS_TOKEN", self.access_token.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }

    /// The clients that are the server's own or this run's.
    pub fn system_ids(&self) -> SystemIds {
        let from_token_url = self
            .token_url
            .as_deref()
            .and_then(|url| url.trim_end_matches('/').strip_suffix("/oauth/token"))
            .map(str::to_string);
        SystemIds {
            admin_client_id: self.admin_client_id.clone(),
            self_client_id: self.client_id.clone(),
            issuer: self.issuer.clone().or(from_token_url),
        }
    }
}
