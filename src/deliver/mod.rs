//! Secret delivery (issue #21): client secrets written straight to the secret store the
//! applications read, HashiCorp Vault or OpenBao KV version 2, so that no person and no CI
//! log ever holds one. Along its seams: `settings` (the store's address and token, read the
//! way Vault's own tools read them), `kv` (the KV v2 calls: capabilities, read,
//! check-and-set write), `digest` (a stored secret compared with the server's, by digest
//! only), `generate` (new secrets for rotation) and `error` (what went wrong and what to do).
//!
//! The store side only: it knows nothing of manifests, plans or boruta. The secret written
//! and the token stay in `SecretString`s; no `Debug` and no error text shows them.

pub mod digest;
mod error;
pub mod generate;
pub mod kv;
pub mod settings;

pub use digest::{compare, Delivery, Expected, Mismatch, SecretDigest};
pub use error::StoreError;
pub use generate::{new_client_secret, RandomError, SECRET_ALPHABET, SECRET_LENGTH};
pub use kv::{Capabilities, Current, KvClient, Refusal, SecretData, Stored, Write};
pub use settings::StoreSettings;

use crate::escape::percent_encode_path;

/// The mount a delivery uses when the manifest names none (the dev server's KV v2 mount,
/// and the usual name in production).
pub const DEFAULT_MOUNT: &str = "secret";

/// The longest mount or path accepted (Vault has no documented limit; this keeps
/// messages and URLs short).
const MAX_LOCATION_CHARS: usize = 512;

/// Where a client's secret is delivered: a KV v2 secret path under a mount. Displayed
/// as `mount/path`, the way `vault kv get` names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    mount: String,
    path: String,
}

impl Location {
    /// A checked location: both parts non-empty, without a leading or trailing `/`, an
    /// empty segment, a `.` or `..` segment (a URL would resolve those to another path),
    /// or a control character. The error is a sentence for a finding.
    pub fn new(mount: &str, path: &str) -> Result<Location, String> {
        check_part("mount", mount)?;
        check_part("path", path)?;
        Ok(Location {
            mount: mount.to_string(),
            path: path.to_string(),
        })
    }

    pub fn mount(&self) -> &str {
        &self.mount
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path a Vault policy names for this secret's data (`secret/data/apps/x`): what
    /// the token needs `create`, `update` and `read` on.
    pub fn api_path(&self) -> String {
        format!("{}/data/{}", self.mount, self.path)
    }

    /// The URL path of the data endpoint, percent-encoded.
    fn url_path(&self) -> String {
        format!(
            "/v1/{}/data/{}",
            percent_encode_path(&self.mount),
            percent_encode_path(&self.path)
        )
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.mount, self.path)
    }
}

fn check_part(what: &str, text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err(format!("the secret_delivery {what} is empty"));
    }
    if text.chars().count() > MAX_LOCATION_CHARS {
        return Err(format!(
            "the secret_delivery {what} is longer than {MAX_LOCATION_CHARS} characters"
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!(
            "the secret_delivery {what} holds a control character"
        ));
    }
    if text.starts_with('/') || text.ends_with('/') {
        return Err(format!(
            "the secret_delivery {what} must not start or end with `/`"
        ));
    }
    if text
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(format!(
            "the secret_delivery {what} has an empty, `.` or `..` segment"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_checked_and_encoded() {
        let location = Location::new("kv/team", "apps/billing oauth/é").unwrap();
        assert_eq!(location.to_string(), "kv/team/apps/billing oauth/é");
        assert_eq!(location.api_path(), "kv/team/data/apps/billing oauth/é");
        assert_eq!(
            location.url_path(),
            "/v1/kv/team/data/apps/billing%20oauth/%C3%A9"
        );
        let refused = |mount: &str, path: &str| Location::new(mount, path).unwrap_err();
        assert_eq!(refused("secret", ""), "the secret_delivery path is empty");
        assert_eq!(
            refused("secret", "/apps/x"),
            "the secret_delivery path must not start or end with `/`"
        );
        assert_eq!(
            refused("secret", "apps/../../sys/x"),
            "the secret_delivery path has an empty, `.` or `..` segment"
        );
        assert_eq!(
            refused("secret", "apps//x"),
            "the secret_delivery path has an empty, `.` or `..` segment"
        );
        assert_eq!(
            refused("sec\nret", "x"),
            "the secret_delivery mount holds a control character"
        );
        assert_eq!(
            refused("secret", &"a".repeat(513)),
            "the secret_delivery path is longer than 512 characters"
        );
    }
}
