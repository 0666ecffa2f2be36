//! Connection settings, checked once before anything is sent: the URLs (credentials never
//! travel in clear text to a host that is not loopback), the CA bundle, the proxy policy,
//! and the HTTP client built from them.
//!
//! Proxies: a loopback admin or token URL is always reached directly, whatever
//! `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` say, so a proxy variable left in a CI job cannot
//! collect the pipeline's credentials. Other hosts follow the standard variables and
//! `NO_PROXY`; since plain http to them needs `--allow-insecure-http`, credentials cross
//! a proxy only inside TLS to the target (a `CONNECT` tunnel) unless the user said so.

use super::error::FetchError;
use std::path::{Path, PathBuf};
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
        secret: secrecy::SecretString,
        auth: TokenAuth,
    },
    /// A pre-issued access token (cannot be renewed on 401).
    AccessToken(secrecy::SecretString),
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

/// The proxy variables of the environment (read by the caller, so tests can set them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    pub http: Option<String>,
    pub https: Option<String>,
    pub all: Option<String>,
    pub no_proxy: Option<String>,
}

impl ProxyEnv {
    /// `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, upper or lower case.
    pub fn from_process() -> ProxyEnv {
        ProxyEnv::from_lookup(|name| std::env::var(name).ok())
    }

    /// The same variables, looked up with `lookup` (an injected environment in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> ProxyEnv {
        let var = |name: &str| {
            lookup(name)
                .or_else(|| lookup(&name.to_ascii_lowercase()))
                .filter(|v| !v.trim().is_empty())
        };
        ProxyEnv {
            http: var("HTTP_PROXY"),
            https: var("HTTPS_PROXY"),
            all: var("ALL_PROXY"),
            no_proxy: var("NO_PROXY"),
        }
    }
}

/// Connection settings as given.
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
    /// The largest answer body read (`--max-response-bytes`).
    pub max_response_bytes: u64,
    pub proxies: ProxyEnv,
}

/// The default of `--max-response-bytes`: well above the list of 100,000 clients (about
/// 180 MB), well below what exhausts a CI runner.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 512 * 1024 * 1024;

/// Settings after every check.
pub struct Checked {
    /// The admin API base URL, without `/api` and without a trailing slash.
    pub admin_url: String,
    pub token_url: Option<String>,
    pub credentials: Credentials,
    pub http: reqwest::Client,
    pub max_retries: u32,
    pub max_response_bytes: u64,
}

pub fn is_loopback_host(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

pub(super) fn check_url(
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
            "{label} `{text}` is plain http to a host that is not loopback: credentials would travel in clear text (through any proxy too). Use https, or --allow-insecure-http if you really mean it"
        ))),
        other => Err(FetchError::Config(format!("{label} `{text}` has unsupported scheme `{other}` (use https)"))),
    }
}

/// The proxy for `url` under the policy above.
fn proxy_for(url: &reqwest::Url, env: &ProxyEnv) -> Option<String> {
    if is_loopback_host(url) {
        return None;
    }
    let specific = match url.scheme() {
        "https" => env.https.clone(),
        _ => env.http.clone(),
    };
    // `proxy:3128` means `http://proxy:3128`, as curl reads it.
    specific.or_else(|| env.all.clone()).map(|p| {
        if p.contains("://") {
            p
        } else {
            format!("http://{p}")
        }
    })
}

/// An HTTP client builder with the policy of this module: timeouts, no redirects, the
/// proxy rule above and nothing from the system's proxy discovery.
pub fn client_builder(timeout: Duration, proxies: &ProxyEnv) -> reqwest::ClientBuilder {
    // ring instead of rustls' default aws-lc-rs provider, which builds a C library.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let proxies = proxies.clone();
    let no_proxy = proxies
        .no_proxy
        .as_deref()
        .and_then(reqwest::NoProxy::from_string);
    let proxy = reqwest::Proxy::custom(move |url| proxy_for(url, &proxies)).no_proxy(no_proxy);
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("boruta-gitops/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .proxy(proxy)
}

/// The admin API base URL as plans record it: without a trailing `/` or `/api`.
pub fn admin_base(admin_url: &str) -> String {
    let admin = admin_url.trim_end_matches('/');
    admin.strip_suffix("/api").unwrap_or(admin).to_string()
}

/// `builder` trusting, besides the system's roots, every certificate of the PEM bundle
/// at `path` (a private CA).
pub(super) fn add_ca_bundle(
    mut builder: reqwest::ClientBuilder,
    path: &std::path::Path,
) -> Result<reqwest::ClientBuilder, FetchError> {
    let ca_error = |reason: String, source| FetchError::CaCert {
        path: path.to_path_buf(),
        reason,
        source,
    };
    let failed = |e: std::io::Error| ca_error(e.to_string(), super::error::cause(e));
    let limit = 4 * 1024 * 1024;
    let meta = std::fs::metadata(path).map_err(failed)?;
    if !meta.is_file() || meta.len() > limit {
        return Err(ca_error(
            format!("it must be a regular file of at most {limit} bytes"),
            None,
        ));
    }
    let pem = std::fs::read(path).map_err(failed)?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| ca_error(e.to_string(), super::error::cause(e)))?;
    if certs.is_empty() {
        return Err(ca_error("it holds no PEM certificate".into(), None));
    }
    for cert in certs {
        builder = builder.add_root_certificate(cert);
    }
    Ok(builder)
}

/// An HTTP client built before the settings are checked (building one reads and parses the
/// system's trusted roots: several milliseconds, spent while the manifests load). It sends
/// nothing, and keeps what it was built from: [`check_with`] uses it only for settings
/// that say the same.
pub struct HttpClient {
    client: Result<reqwest::Client, FetchError>,
    timeout: Duration,
    proxies: ProxyEnv,
    ca_cert: Option<PathBuf>,
}

impl HttpClient {
    /// The client of `timeout`, `proxies` and `ca_cert` (its error is reported after those
    /// of the URLs and proxies).
    pub fn build(timeout: Duration, proxies: ProxyEnv, ca_cert: Option<&Path>) -> HttpClient {
        let client = (|| {
            let mut builder = client_builder(timeout, &proxies);
            if let Some(path) = ca_cert {
                builder = add_ca_bundle(builder, path)?;
            }
            builder
                .build()
                .map_err(|e| FetchError::Config(format!("cannot build the HTTP client: {e}")))
        })();
        HttpClient {
            client,
            timeout,
            proxies,
            ca_cert: ca_cert.map(Path::to_path_buf),
        }
    }

    /// The proxy variables it was built with (the settings take the same).
    pub fn proxies(&self) -> &ProxyEnv {
        &self.proxies
    }

    /// Its client, if it was built from what `settings` say; otherwise one built from them.
    fn for_settings(self, settings: &Settings) -> Result<reqwest::Client, FetchError> {
        let same = self.timeout == settings.timeout
            && self.proxies == settings.proxies
            && self.ca_cert == settings.ca_cert;
        match same {
            true => self.client,
            false => HttpClient::of(settings).client,
        }
    }

    fn of(settings: &Settings) -> HttpClient {
        let proxies = settings.proxies.clone();
        HttpClient::build(settings.timeout, proxies, settings.ca_cert.as_deref())
    }
}

/// Checks the settings and builds the HTTP client.
pub fn check(settings: Settings) -> Result<Checked, FetchError> {
    let http = HttpClient::of(&settings);
    check_with(settings, http)
}

/// Checks the settings; the HTTP client is `http`, built from the same settings (its error
/// comes after those of the URLs and proxies, as with [`check`]).
pub fn check_with(settings: Settings, http: HttpClient) -> Result<Checked, FetchError> {
    let admin = admin_base(&settings.admin_url);
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
    for (name, value) in [
        ("HTTP_PROXY", &settings.proxies.http),
        ("HTTPS_PROXY", &settings.proxies.https),
        ("ALL_PROXY", &settings.proxies.all),
    ] {
        if let Some(value) = value {
            reqwest::Proxy::all(value.as_str()).map_err(|e| {
                FetchError::Config(format!("{name} `{value}` is not a usable proxy URL: {e}"))
            })?;
        }
    }
    let http = http.for_settings(&settings)?;
    Ok(Checked {
        admin_url: admin,
        token_url: settings.token_url,
        credentials: settings.credentials,
        http,
        max_retries: settings.max_retries,
        max_response_bytes: settings.max_response_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_never_proxied() {
        let env = ProxyEnv {
            http: Some("http://proxy:3128".into()),
            https: Some("http://proxy:3128".into()),
            all: Some("http://proxy:3128".into()),
            no_proxy: None,
        };
        for url in [
            "http://127.0.0.1:8081/api/clients",
            "https://[::1]/oauth/token",
            "http://localhost/x",
            "http://boruta.localhost/x",
        ] {
            assert_eq!(proxy_for(&url.parse().unwrap(), &env), None, "{url}");
        }
        assert_eq!(
            proxy_for(&"https://boruta.example.com/api".parse().unwrap(), &env).as_deref(),
            Some("http://proxy:3128")
        );
    }
}

#[cfg(test)]
mod ahead {
    use super::*;

    fn settings(ca_cert: Option<PathBuf>) -> Settings {
        Settings {
            admin_url: "http://127.0.0.1:1".into(),
            token_url: None,
            credentials: Credentials::AccessToken("t".to_string().into()),
            ca_cert,
            allow_insecure_http: false,
            timeout: Duration::from_secs(5),
            max_retries: 0,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            proxies: ProxyEnv::default(),
        }
    }

    /// A client built ahead is used only for the settings it was built from: one built
    /// with another CA file (here, one that does not exist) is not, and the settings'
    /// own client is built instead.
    #[test]
    fn a_client_built_from_other_settings_is_not_used() {
        let missing = PathBuf::from("/nonexistent/ca.pem");
        let ahead = HttpClient::build(Duration::from_secs(5), ProxyEnv::default(), Some(&missing));
        assert!(check_with(settings(None), ahead).is_ok());
        let ahead = HttpClient::build(Duration::from_secs(5), ProxyEnv::default(), Some(&missing));
        let refused = check_with(settings(Some(missing)), ahead).err().unwrap();
        assert!(
            refused.to_string().contains("/nonexistent/ca.pem"),
            "{refused}"
        );
    }
}
