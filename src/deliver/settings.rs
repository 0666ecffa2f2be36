//! The secret store's settings, found and authenticated the way Vault's and OpenBao's own
//! tools do it: `VAULT_ADDR`, `VAULT_TOKEN`, `VAULT_CACERT`, `VAULT_NAMESPACE`. Read
//! through [`Environment`] so tests inject their own; the token is a `SecretString` from
//! the moment it is read.

use super::error::StoreError;
use crate::fetch::ProxyEnv;
use crate::load::Environment;
use secrecy::SecretString;
use std::path::PathBuf;
use std::time::Duration;

/// The store's address (`https://vault.example.com:8200`).
pub const VAULT_ADDR: &str = "VAULT_ADDR";
/// The token every request carries.
pub const VAULT_TOKEN: &str = "VAULT_TOKEN";
/// A PEM bundle of private CAs to trust for the store.
pub const VAULT_CACERT: &str = "VAULT_CACERT";
/// The Vault Enterprise / OpenBao namespace the paths are relative to.
pub const VAULT_NAMESPACE: &str = "VAULT_NAMESPACE";

/// The default per-request timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default number of retries after a transient failure.
const DEFAULT_MAX_RETRIES: u32 = 2;
/// The default largest answer read: a KV secret is small; a capabilities answer for 500
/// paths is well under this.
const DEFAULT_MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// How to reach and authenticate to the store. The fields after `namespace` have
/// defaults a caller may change (from its own flags).
pub struct StoreSettings {
    /// `VAULT_ADDR`, without a trailing `/`.
    pub address: String,
    /// `VAULT_TOKEN`.
    pub token: SecretString,
    /// `VAULT_CACERT`.
    pub ca_cert: Option<PathBuf>,
    /// `VAULT_NAMESPACE`, sent as `X-Vault-Namespace`.
    pub namespace: Option<String>,
    /// Plain http to a host that is not loopback (the token in clear text).
    pub allow_insecure_http: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt of a request that failed transiently.
    pub max_retries: u32,
    /// The largest answer body read.
    pub max_response_bytes: u64,
    /// `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY` (loopback is never proxied).
    pub proxies: ProxyEnv,
}

impl StoreSettings {
    /// The settings of `env`, with the defaults above. `VAULT_ADDR` and `VAULT_TOKEN` are
    /// required; empty values count as unset.
    pub fn from_env(env: &dyn Environment) -> Result<StoreSettings, StoreError> {
        let var = |name: &str| {
            env.var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let address = var(VAULT_ADDR).ok_or_else(|| {
            StoreError::Config(
                "VAULT_ADDR is not set: set it to the secret store's address (https://vault.example.com:8200) to deliver client secrets".into(),
            )
        })?;
        // Read once, wrapped at once: the token never sits in a plain String we keep.
        let token = env
            .var(VAULT_TOKEN)
            .map(|t| SecretString::from(t.trim()))
            .filter(|t| !secrecy::ExposeSecret::expose_secret(t).is_empty())
            .ok_or_else(|| {
                StoreError::Config(
                    "VAULT_TOKEN is not set: set it to a token allowed to read and write the delivery paths (in CI, a short-lived one from the store's JWT auth; see README, \"Delivering secrets\")".into(),
                )
            })?;
        Ok(StoreSettings {
            address: address.trim_end_matches('/').to_string(),
            token,
            ca_cert: var(VAULT_CACERT).map(PathBuf::from),
            namespace: var(VAULT_NAMESPACE),
            allow_insecure_http: false,
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            proxies: ProxyEnv::from_lookup(|name| env.var(name)),
        })
    }
}

impl std::fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSettings")
            .field("address", &self.address)
            .field("token", &"(redacted)")
            .field("ca_cert", &self.ca_cert)
            .field("namespace", &self.namespace)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("max_response_bytes", &self.max_response_bytes)
            // Proxy URLs may carry a password.
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::BTreeMap;

    struct Vars(BTreeMap<&'static str, &'static str>);

    impl Environment for Vars {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    fn vars(pairs: &[(&'static str, &'static str)]) -> Vars {
        Vars(pairs.iter().copied().collect())
    }

    #[test]
    fn every_variable_is_read_and_the_token_never_shown() {
        let env = vars(&[
            ("VAULT_ADDR", "https://vault.example.com:8200/"),
            ("VAULT_TOKEN", " hvs.token-value-1234\n"),
            ("VAULT_CACERT", "/etc/vault/ca.pem"),
            ("VAULT_NAMESPACE", "team-a"),
            ("https_proxy", "http://proxy:3128"),
        ]);
        let settings = StoreSettings::from_env(&env).unwrap();
        assert_eq!(settings.address, "https://vault.example.com:8200");
        assert_eq!(settings.token.expose_secret(), "hvs.token-value-1234");
        assert_eq!(settings.ca_cert, Some(PathBuf::from("/etc/vault/ca.pem")));
        assert_eq!(settings.namespace.as_deref(), Some("team-a"));
        assert_eq!(settings.proxies.https.as_deref(), Some("http://proxy:3128"));
        let shown = format!("{settings:?}");
        assert!(!shown.contains("token-value"), "{shown}");
        assert!(shown.contains("token: \"(redacted)\""), "{shown}");
    }

    #[test]
    fn a_missing_address_or_token_says_what_to_set() {
        let error = |env: Vars| StoreSettings::from_env(&env).unwrap_err().to_string();
        assert_eq!(
            error(vars(&[("VAULT_TOKEN", "t")])),
            "VAULT_ADDR is not set: set it to the secret store's address (https://vault.example.com:8200) to deliver client secrets"
        );
        assert_eq!(
            error(vars(&[("VAULT_ADDR", "http://127.0.0.1:8200"), ("VAULT_TOKEN", "  ")])),
            "VAULT_TOKEN is not set: set it to a token allowed to read and write the delivery paths (in CI, a short-lived one from the store's JWT auth; see README, \"Delivering secrets\")"
        );
    }
}
