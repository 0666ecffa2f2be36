//! Texts that must never be shown (the client secret, tokens received, the secrets a
//! create sends), removed from any server text before it reaches a message.
//!
//! The rule (README, "Security model"): a secret of at least [`SUBSTRING_MIN`] characters
//! is removed wherever it occurs; a shorter one only where it stands as a whole token
//! (not inside a longer run of letters and digits). A short secret such as `t` would
//! otherwise garble every word that contains it (`<h(redacted)ml>`), while a long one
//! cannot plausibly occur in unrelated text.

use crate::sync::lock;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Mutex;

/// Secrets at least this long are redacted as substrings; shorter ones as whole tokens.
pub const SUBSTRING_MIN: usize = 16;
/// Server texts are cut to this many characters before they are shown.
pub const MAX_SHOWN: usize = 500;

/// The texts to remove.
#[derive(Default)]
pub struct Redactions(Mutex<Vec<SecretString>>);

impl Redactions {
    pub fn add(&self, secret: SecretString) {
        if !secret.expose_secret().is_empty() {
            lock(&self.0).push(secret);
        }
    }

    /// `text`, cut to `MAX_SHOWN` characters, with every secret removed.
    pub fn scrub(&self, text: &str) -> String {
        let mut text: String = text.chars().take(MAX_SHOWN).collect();
        for secret in lock(&self.0).iter() {
            text = redact(&text, secret.expose_secret());
        }
        text
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric()
}

/// `text` with `secret` replaced by `(redacted)` under the rule above.
fn redact(text: &str, secret: &str) -> String {
    if secret.chars().count() >= SUBSTRING_MIN {
        return text.replace(secret, "(redacted)");
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(secret) {
        let before = rest[..at].chars().next_back().or(out.chars().next_back());
        let after = rest[at + secret.len()..].chars().next();
        let whole = !before.is_some_and(is_word) && !after.is_some_and(is_word);
        out.push_str(&rest[..at]);
        if whole {
            out.push_str("(redacted)");
        } else {
            out.push_str(secret);
        }
        rest = &rest[at + secret.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_redacted_only_as_whole_tokens() {
        assert_eq!(redact("<html>", "t"), "<html>");
        assert_eq!(redact("secret=t&x", "t"), "secret=(redacted)&x");
        assert_eq!(redact("t", "t"), "(redacted)");
        assert_eq!(redact("tt t", "t"), "tt (redacted)");
        assert_eq!(
            redact("hunter2 is the password", "hunter2"),
            "(redacted) is the password"
        );
    }

    #[test]
    fn long_secrets_are_redacted_anywhere() {
        let secret = "0123456789abcdefXYZ";
        assert_eq!(redact(&format!("x{secret}y"), secret), "x(redacted)y");
    }
}
