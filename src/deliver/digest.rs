//! Whether a delivery is done: the store's latest version compared with what boruta holds
//! for the client. Secrets are compared by SHA-256 digest, in constant time, and neither
//! a secret nor its digest is ever shown (a digest of a short declared secret could be
//! brute-forced). Pure: the read is done by the caller (`KvClient::read`).

use super::error::StoreError;
use super::kv::Current;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// The SHA-256 digest of a secret. Its `Debug` shows nothing of it.
#[derive(Clone, Copy, Eq)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    pub fn of(secret: &SecretString) -> SecretDigest {
        SecretDigest::of_text(secret.expose_secret())
    }

    /// The digest of a secret held as text (the server's record, read as JSON).
    pub fn of_text(secret: &str) -> SecretDigest {
        SecretDigest(Sha256::digest(secret.as_bytes()).into())
    }
}

impl PartialEq for SecretDigest {
    /// In constant time: how long a comparison takes says nothing of where they differ.
    fn eq(&self, other: &SecretDigest) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
    }
}

impl std::fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretDigest(..)")
    }
}

/// What the store should hold for a client.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub client_id: &'a str,
    /// The digest of the secret boruta holds (or was just given).
    pub secret: SecretDigest,
    /// Compared only when given: a delivery written without it is not outdated by it.
    pub token_endpoint: Option<&'a str>,
}

/// How a stored version differs from what is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// `client_id` or `client_secret` is missing, or not a string.
    Incomplete,
    /// Another client's id.
    AnotherClient,
    /// Another secret than the server's.
    AnotherSecret,
    /// Another token endpoint.
    AnotherTokenEndpoint,
}

/// The state of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The latest version holds the client's id and the server's secret.
    InSync,
    /// Nothing to read: never written, or its latest version deleted or destroyed.
    Missing,
    /// The latest version holds something else.
    Outdated(Mismatch),
    /// The store could not be read (the reason, redacted).
    Unreadable(String),
}

impl Delivery {
    /// Whether an apply has something to write.
    pub fn is_pending(&self) -> bool {
        matches!(self, Delivery::Missing | Delivery::Outdated(_))
    }

    /// A few words for a plan line; never a value.
    pub fn describe(&self) -> String {
        match self {
            Delivery::InSync => "delivered".into(),
            Delivery::Missing => "not delivered yet (the path holds no secret)".into(),
            Delivery::Outdated(Mismatch::Incomplete) => {
                "outdated (the path lacks client_id or client_secret)".into()
            }
            Delivery::Outdated(Mismatch::AnotherClient) => {
                "outdated (the path holds another client's id)".into()
            }
            Delivery::Outdated(Mismatch::AnotherSecret) => {
                "outdated (the path holds another secret than the server's)".into()
            }
            Delivery::Outdated(Mismatch::AnotherTokenEndpoint) => {
                "outdated (the path holds another token endpoint)".into()
            }
            Delivery::Unreadable(reason) => format!("cannot be read: {reason}"),
        }
    }
}

/// The state of a delivery from the result of reading its path.
pub fn compare(read: &Result<Option<Current>, StoreError>, expected: &Expected<'_>) -> Delivery {
    let current = match read {
        Err(error) => return Delivery::Unreadable(error.to_string()),
        Ok(None) => return Delivery::Missing,
        Ok(Some(current)) => current,
    };
    let Some(stored) = &current.data else {
        return Delivery::Missing;
    };
    let (Some(client_id), Some(secret)) = (&stored.client_id, &stored.client_secret) else {
        return Delivery::Outdated(Mismatch::Incomplete);
    };
    if client_id != expected.client_id {
        return Delivery::Outdated(Mismatch::AnotherClient);
    }
    if SecretDigest::of(secret) != expected.secret {
        return Delivery::Outdated(Mismatch::AnotherSecret);
    }
    if let Some(endpoint) = expected.token_endpoint {
        if stored.token_endpoint.as_deref() != Some(endpoint) {
            return Delivery::Outdated(Mismatch::AnotherTokenEndpoint);
        }
    }
    Delivery::InSync
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::kv::Stored;

    fn stored(client_id: Option<&str>, secret: Option<&str>, endpoint: Option<&str>) -> Current {
        Current {
            version: 3,
            data: Some(Stored {
                client_id: client_id.map(str::to_string),
                client_secret: secret.map(SecretString::from),
                token_endpoint: endpoint.map(str::to_string),
            }),
        }
    }

    #[test]
    fn each_state_is_told_apart() {
        let expected = Expected {
            client_id: "c-1",
            secret: SecretDigest::of_text("server-secret"),
            token_endpoint: Some("https://id.example.com/oauth/token"),
        };
        let endpoint = Some("https://id.example.com/oauth/token");
        let state = |read: Result<Option<Current>, StoreError>| compare(&read, &expected);
        assert_eq!(
            state(Ok(Some(stored(
                Some("c-1"),
                Some("server-secret"),
                endpoint
            )))),
            Delivery::InSync
        );
        assert_eq!(state(Ok(None)), Delivery::Missing);
        let deleted = Current {
            version: 4,
            data: None,
        };
        assert_eq!(state(Ok(Some(deleted))), Delivery::Missing);
        assert_eq!(
            state(Ok(Some(stored(Some("c-1"), Some("old-secret"), endpoint)))),
            Delivery::Outdated(Mismatch::AnotherSecret)
        );
        assert_eq!(
            state(Ok(Some(stored(
                Some("c-2"),
                Some("server-secret"),
                endpoint
            )))),
            Delivery::Outdated(Mismatch::AnotherClient)
        );
        assert_eq!(
            state(Ok(Some(stored(Some("c-1"), None, endpoint)))),
            Delivery::Outdated(Mismatch::Incomplete)
        );
        assert_eq!(
            state(Ok(Some(stored(Some("c-1"), Some("server-secret"), None)))),
            Delivery::Outdated(Mismatch::AnotherTokenEndpoint)
        );
        let error = StoreError::Config("VAULT_ADDR is not set".into());
        assert_eq!(
            state(Err(error)),
            Delivery::Unreadable("VAULT_ADDR is not set".into())
        );
        assert_eq!(
            format!("{:?}", SecretDigest::of_text("server-secret")),
            "SecretDigest(..)"
        );
    }
}
