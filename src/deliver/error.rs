//! What can go wrong talking to the secret store, and the sentence that says what to do
//! about it. Every message names the store's address; none holds a secret or the token
//! (server texts are redacted before they get here).

use crate::fetch::FetchError;

/// What went wrong with the secret store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A setting is missing or unusable (`VAULT_ADDR`, `VAULT_TOKEN`, `VAULT_CACERT`,
    /// `VAULT_NAMESPACE`).
    #[error("{0}")]
    Config(String),
    /// No answer: the connection was refused or timed out, or TLS failed.
    #[error("{what}: the secret store at {address} did not answer: {reason}")]
    Unreachable {
        address: String,
        what: String,
        reason: String,
    },
    /// 403: the token is unknown or expired, or its policies do not allow the call.
    #[error("{what}: the secret store at {address} answered 403{detail}. {hint}")]
    PermissionDenied {
        address: String,
        what: String,
        detail: String,
        hint: String,
    },
    /// 400 "check-and-set parameter did not match the current version": someone wrote a
    /// newer version since it was read.
    #[error("writing {location} to the secret store at {address}: refused by check-and-set: its latest version is no longer {expected} (0: none), another writer got there first. Run again: the newer version is read and compared first")]
    CasMismatch {
        address: String,
        location: String,
        expected: u64,
    },
    /// 404 that is not "no secret here": no such mount, or not a KV version 2 mount.
    #[error("{what}: the secret store at {address} answered 404{detail}. {hint}")]
    NotFound {
        address: String,
        what: String,
        detail: String,
        hint: String,
    },
    /// The mount is not a KV version 2 mount.
    #[error("the secret store at {address}: {reason}")]
    NotKv2 { address: String, reason: String },
    /// Any other status.
    #[error("{what}: the secret store at {address} answered {status}{detail}. {hint}")]
    Server {
        address: String,
        what: String,
        status: u16,
        detail: String,
        hint: String,
    },
    /// An answer that is not what the API documents (or too large).
    #[error("{what}: unexpected answer from the secret store at {address}: {reason}")]
    Decode {
        address: String,
        what: String,
        reason: String,
    },
    #[error("{what}: not sent: the run was cancelled")]
    Cancelled { what: String },
}

impl StoreError {
    /// A transport failure of the HTTP layer, said in the store's terms.
    pub(super) fn from_fetch(address: &str, error: FetchError) -> StoreError {
        let address = address.to_string();
        match error {
            FetchError::Network { what, reason, .. } => {
                // A TLS failure already says what to do; a refused or timed-out
                // connection usually means a wrong address or a store that is down.
                let reason = if reason.starts_with("TLS:") {
                    reason
                } else {
                    format!("{reason}. Is the store running, and is VAULT_ADDR its address?")
                };
                StoreError::Unreachable {
                    address,
                    what,
                    reason,
                }
            }
            FetchError::TooLarge { what, limit } => StoreError::Decode {
                address,
                what,
                reason: format!("the answer is larger than {limit} bytes"),
            },
            FetchError::Cancelled { what } => StoreError::Cancelled { what },
            FetchError::CaCert { path, reason, .. } => StoreError::Config(format!(
                "VAULT_CACERT: cannot read the CA certificate {}: {reason}",
                path.display()
            )),
            FetchError::Config(text) => StoreError::Config(text),
            // Not produced by the store's client (no token endpoint, no boruta); kept
            // as the text it is.
            other => StoreError::Config(other.to_string()),
        }
    }
}
