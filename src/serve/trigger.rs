//! The trigger token of `POST /reconcile` (`BORUTA_GITOPS_TRIGGER_TOKEN`). Only its
//! SHA-256 digest is kept: the token itself is dropped (and zeroized by `secrecy`) once
//! read. A presented token is hashed the same way and the two digests are compared in
//! constant time (`subtle`), so neither the comparison's time nor a length check tells an
//! attacker how much of a guess was right.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The name of the variable holding the token.
pub const TOKEN_VARIABLE: &str = "BORUTA_GITOPS_TRIGGER_TOKEN";

/// The token set in the process's environment, if any, wrapped from the moment it is read.
pub fn trigger_token() -> Result<Option<SecretString>, crate::error::Error> {
    match std::env::var(TOKEN_VARIABLE) {
        Ok(token) => Ok(Some(SecretString::from(token))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(crate::error::Error::Usage(format!(
            "{TOKEN_VARIABLE} is not UTF-8 text"
        ))),
    }
}

/// Why a trigger request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No `Authorization: Bearer` header.
    NoToken,
    /// A bearer token that is not the trigger token.
    WrongToken,
}

/// What a trigger request must present.
pub struct TriggerToken {
    digest: [u8; 32],
}

impl TriggerToken {
    /// The token, or `None` when it is empty (an empty token would open the endpoint to
    /// anyone sending `Bearer ` with nothing after it).
    pub fn new(token: SecretString) -> Option<TriggerToken> {
        let text = token.expose_secret();
        (!text.is_empty()).then(|| TriggerToken {
            digest: Sha256::digest(text.as_bytes()).into(),
        })
    }

    /// Checks an `Authorization` header's value (`Bearer <token>`, the scheme in any case).
    pub fn check(&self, authorization: Option<&[u8]>) -> Result<(), Refused> {
        let presented = authorization
            .and_then(|value| {
                let (scheme, rest) = value.split_at_checked(7)?;
                scheme.eq_ignore_ascii_case(b"bearer ").then_some(rest)
            })
            .ok_or(Refused::NoToken)?;
        let digest: [u8; 32] = Sha256::digest(presented).into();
        match bool::from(digest.ct_eq(&self.digest)) {
            true => Ok(()),
            false => Err(Refused::WrongToken),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> TriggerToken {
        TriggerToken::new(SecretString::from("s3cr3t-trigger")).unwrap()
    }

    #[test]
    fn only_the_bearer_token_passes() {
        assert_eq!(token().check(Some(b"Bearer s3cr3t-trigger")), Ok(()));
        assert_eq!(token().check(Some(b"bearer s3cr3t-trigger")), Ok(()));
        assert_eq!(
            token().check(Some(b"Bearer s3cr3t-trigge")),
            Err(Refused::WrongToken)
        );
        assert_eq!(
            token().check(Some(b"Bearer s3cr3t-trigger ")),
            Err(Refused::WrongToken)
        );
        assert_eq!(
            token().check(Some(b"Basic s3cr3t-trigger")),
            Err(Refused::NoToken)
        );
        assert_eq!(token().check(Some(b"Bear")), Err(Refused::NoToken));
        assert_eq!(token().check(None), Err(Refused::NoToken));
    }

    #[test]
    fn an_empty_token_turns_the_trigger_off() {
        assert!(TriggerToken::new(SecretString::from("")).is_none());
    }
}
