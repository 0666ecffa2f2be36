//! Texts that must never be shown (the client secret, tokens received, the secrets a
//! create sends), removed from any server text before it reaches a message.
//!
//! A server, or a proxy or firewall in front of it, may quote our request back: the
//! `Authorization: Basic base64(id:secret)` header, the bearer token, the URL-encoded form
//! body (issue #19). So every credential is redacted in every form we send it in (raw,
//! URL-encoded, JSON-escaped, base64 alone and inside the Basic value), a word that
//! follows `Basic`/`Bearer` or `client_secret=` is redacted whatever it is, and so is any
//! base64 word that decodes to a text holding a secret.
//!
//! The rule for a known secret (README, "Security model"): one of at least
//! [`SUBSTRING_MIN`] characters is removed wherever it occurs; a shorter one only where it
//! stands as a whole token (not inside a longer run of letters and digits). A short secret
//! such as `t` would otherwise garble every word that contains it (`<h(redacted)ml>`),
//! while a long one cannot plausibly occur in unrelated text.

use crate::escape::neutral;
use crate::sync::lock;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Mutex;

/// Secrets at least this long are redacted as substrings; shorter ones as whole tokens.
pub const SUBSTRING_MIN: usize = 16;
/// Server texts are cut to this many characters before they are shown.
pub const MAX_SHOWN: usize = 500;
/// A token endpoint's free text (`error_description`) is quoted up to this many characters.
pub const MAX_EXCERPT: usize = 200;

const REDACTED: &str = "(redacted)";

/// The texts to remove.
#[derive(Default)]
pub struct Redactions(Mutex<Vec<SecretString>>);

impl Redactions {
    /// Adds `secret` in every form it is sent in: raw, URL-encoded (form bodies),
    /// JSON-escaped (JSON bodies), and base64.
    pub fn add(&self, secret: SecretString) {
        let raw = secret.expose_secret();
        if raw.is_empty() {
            return;
        }
        let mut forms = vec![
            form_urlencoded::byte_serialize(raw.as_bytes()).collect::<String>(),
            serde_json::to_string(raw)
                .unwrap_or_default()
                .trim_matches('"')
                .to_string(),
        ];
        forms.extend(base64_forms(raw));
        let mut all = lock(&self.0);
        for form in forms {
            if !form.is_empty() && form != raw && !all.iter().any(|s| s.expose_secret() == form) {
                all.push(SecretString::from(form));
            }
        }
        all.push(secret);
        // Longer forms first: a form that contains another is removed whole.
        all.sort_by_key(|s| std::cmp::Reverse(s.expose_secret().len()));
    }

    /// Adds the value of the `Authorization: Basic` header of `client_id` and `secret`
    /// (and `secret` itself in every form).
    pub fn add_basic(&self, client_id: &str, secret: &SecretString) {
        let pair = format!("{client_id}:{}", secret.expose_secret());
        lock(&self.0).extend(base64_forms(&pair).into_iter().map(SecretString::from));
        // Sorts every form, longest first.
        self.add(secret.clone());
    }

    /// `text` with every secret removed, cut to `MAX_SHOWN` characters.
    pub fn scrub(&self, text: &str) -> String {
        self.scrub_to(text, MAX_SHOWN)
    }

    /// A server's free text as we quote it: redacted, neutralised (no control or bidi
    /// character), at most `MAX_EXCERPT` characters, an ellipsis where it was cut.
    pub fn excerpt(&self, text: &str) -> String {
        let clean = neutral(&self.scrub_to(text, MAX_EXCERPT + 1)).into_owned();
        match clean.char_indices().nth(MAX_EXCERPT - 1) {
            Some((at, _)) if clean.chars().count() > MAX_EXCERPT => {
                format!("{}…", &clean[..at])
            }
            _ => clean,
        }
    }

    /// `text` redacted, then cut to `limit` characters. Only a bounded prefix is searched
    /// (as long as the limit plus the longest secret), so a huge body costs little, and a
    /// secret that straddles the cut is removed before it is cut.
    fn scrub_to(&self, text: &str, limit: usize) -> String {
        let secrets = lock(&self.0);
        let longest = secrets
            .iter()
            .map(|s| s.expose_secret().chars().count())
            .max()
            .unwrap_or(0);
        let mut text: String = text.chars().take(limit + longest).collect();
        for secret in secrets.iter() {
            text = redact(&text, secret.expose_secret());
        }
        text = redact_credential_words(&text, &secrets);
        text.chars().take(limit).collect()
    }
}

/// The base64 forms of `text`: standard and URL-safe alphabets, padded and not (a word
/// cut short is caught by [`redact_credential_words`]).
fn base64_forms(text: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let mut forms = Vec::new();
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        let form = engine.encode(text);
        if !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric()
}

/// `text` with `secret` replaced by `(redacted)` under the rule above.
fn redact(text: &str, secret: &str) -> String {
    if secret.chars().count() >= SUBSTRING_MIN {
        return text.replace(secret, REDACTED);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(secret) {
        let before = rest[..at].chars().next_back().or(out.chars().next_back());
        let after = rest[at + secret.len()..].chars().next();
        let whole = !before.is_some_and(is_word) && !after.is_some_and(is_word);
        out.push_str(&rest[..at]);
        if whole {
            out.push_str(REDACTED);
        } else {
            out.push_str(secret);
        }
        rest = &rest[at + secret.len()..];
    }
    out.push_str(rest);
    out
}

/// A character of a credential word: base64 (both alphabets, padding) and the token
/// characters of RFC 6750 (`b64token`), plus `%` for URL-encoded values.
fn is_credential_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_' | '.' | '~' | '%')
}

/// Words that hold a credential whatever we know of it: the word after `Basic` or
/// `Bearer` (an Authorization header quoted back), the value of `client_secret=` or
/// `"client_secret":"`, and any base64 word that decodes to a text holding a secret (a
/// Basic value cut short, or quoted without its scheme).
fn redact_credential_words(text: &str, secrets: &[SecretString]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut previous_word = "";
    while let Some(start) = rest.find(is_credential_char) {
        let (before, from) = rest.split_at(start);
        let end = from.find(|c| !is_credential_char(c)).unwrap_or(from.len());
        let (word, after) = from.split_at(end);
        out.push_str(before);
        let after_scheme = before.chars().all(char::is_whitespace) && !before.is_empty();
        let follows_scheme = after_scheme
            && ((previous_word.eq_ignore_ascii_case("basic") && is_basic_value(word))
                || (previous_word.eq_ignore_ascii_case("bearer") && word.len() >= SUBSTRING_MIN));
        let secret_field = [
            "client_secret=",
            "client_secret\":\"",
            "client_secret\": \"",
        ]
        .iter()
        .any(|field| out.ends_with(field));
        if (follows_scheme || secret_field || decodes_to_secret(word, secrets))
            && !word.starts_with(REDACTED)
        {
            out.push_str(REDACTED);
        } else {
            out.push_str(word);
        }
        previous_word = word;
        rest = after;
    }
    out.push_str(rest);
    out
}

/// True when `word` reads as the value of a Basic header: base64 of `id:secret`, maybe
/// cut short after the colon. (`Basic authorization` in a message is not one.)
fn is_basic_value(word: &str) -> bool {
    decoded(word).is_some_and(|text| text.contains(':'))
}

/// `word` read as base64 (either alphabet, padded or not, cut at any length): the whole
/// groups of four, as text.
fn decoded(word: &str) -> Option<String> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let bare = word.trim_end_matches('=');
    if bare.len() < 8 {
        return None;
    }
    // Whole groups of four only: a word cut in the middle of a group still decodes.
    let whole = &bare[..bare.len() - bare.len() % 4];
    let bytes = STANDARD_NO_PAD
        .decode(whole)
        .or_else(|_| URL_SAFE_NO_PAD.decode(whole))
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// True when `word`, read as base64 (either alphabet, padded or not, cut at any length),
/// decodes to a text from which a secret would be redacted.
fn decodes_to_secret(word: &str, secrets: &[SecretString]) -> bool {
    let Some(text) = decoded(word) else {
        return false;
    };
    secrets.iter().any(|s| {
        let secret = s.expose_secret();
        // A secret cut by the end of the word still counts, from 8 characters on.
        let cut_short = secret
            .char_indices()
            .map(|(at, c)| at + c.len_utf8())
            .skip(7)
            .any(|end| text.ends_with(&secret[..end]));
        redact(&text, secret) != text || cut_short
    })
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

    fn with_basic(id: &str, secret: &str) -> Redactions {
        let r = Redactions::default();
        r.add_basic(id, &SecretString::from(secret.to_string()));
        r
    }

    #[test]
    fn every_form_of_a_basic_credential_is_redacted() {
        let r = with_basic("client-1", "pa ss/wörd+&=0123456789");
        let b64 =
            base64::engine::general_purpose::STANDARD.encode("client-1:pa ss/wörd+&=0123456789");
        for text in [
            format!("Authorization: Basic {b64}"),
            format!("authorization: basic {b64}"),
            format!("header {b64} quoted"),
            format!("cut {}", &b64[..30]),
            "client_secret=pa+ss%2Fw%C3%B6rd%2B%26%3D0123456789&x=1".to_string(),
            "{\"client_secret\":\"anything\"}".to_string(),
            "the secret pa ss/wörd+&=0123456789 raw".to_string(),
        ] {
            let scrubbed = r.scrub(&text);
            assert!(scrubbed.contains("(redacted)"), "{text} -> {scrubbed}");
            assert!(!scrubbed.contains("0123456789"), "{text} -> {scrubbed}");
            assert!(!scrubbed.contains(&b64[12..28]), "{text} -> {scrubbed}");
        }
        // Ordinary words stay: a scheme's word is only the one right after it.
        assert_eq!(
            r.scrub("Bearer realm=\"api\" error"),
            "Bearer realm=\"api\" error"
        );
        assert_eq!(
            r.scrub("expects a BASIC authorization header"),
            "expects a BASIC authorization header"
        );
    }

    #[test]
    fn a_secret_across_the_cut_is_redacted_before_the_cut() {
        let secret = "S".repeat(40);
        let r = Redactions::default();
        r.add(SecretString::from(secret.clone()));
        let text = format!("{}{secret}", "x".repeat(MAX_SHOWN - 10));
        assert!(!r.scrub(&text).contains("SSSSS"), "{}", r.scrub(&text));
    }

    #[test]
    fn an_excerpt_is_bounded_and_neutral() {
        let r = Redactions::default();
        let long = format!("a\u{1b}[2J{}", "b".repeat(400));
        let excerpt = r.excerpt(&long);
        assert_eq!(excerpt.chars().count(), MAX_EXCERPT);
        assert!(excerpt.starts_with("a\\u{1b}[2Jbbb") && excerpt.ends_with("b…"));
        assert_eq!(r.excerpt("short"), "short");
    }
}
