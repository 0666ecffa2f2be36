//! Neutralising text the project did not write (names, URIs, server messages, any value
//! from a manifest or an answer) before it reaches a terminal, a pull-request comment or a
//! workflow command.
//!
//! A server-side client name holding `\n  + injected will be created` would otherwise
//! forge plan lines, `\x1b[2J` would clear the reviewer's terminal (with or without
//! colour), and a right-to-left override would make `evil.example/cb` read as something
//! else. Control characters (C0, DEL, C1) and the bidirectional controls are shown
//! escaped, Rust style (`\n`, `\u{1b}`); everything else is kept. JSON output is not
//! touched: it is exact JSON, escaped by the serializer. Also here: percent-encoding, for
//! text that goes into a URI (a GitHub label, a SARIF artifact path).
//!
//! A module of its own, below `render`: the renderers use it, and so do the two places
//! that print outside them, the log lines of `fetch` and the error chain `main` prints.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::borrow::Cow;

/// RFC 3986's unreserved characters: everything else is percent-encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// The same, keeping `/` (a relative path).
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// `text` percent-encoded as one URI path segment (a GitHub label).
pub fn percent_encode_segment(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// `text` percent-encoded as a relative URI path (a SARIF artifact location).
pub fn percent_encode_path(text: &str) -> String {
    utf8_percent_encode(text, PATH).to_string()
}

/// The bidirectional formatting characters (marks, embeddings, overrides, isolates).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

fn escape_into(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// `text` with every control and bidi character escaped.
pub fn neutral(text: &str) -> Cow<'_, str> {
    neutral_keeping(text, |_| false)
}

/// Like [`neutral`], but keeps tabs (a source line quoted under a caret).
pub fn neutral_line(text: &str) -> Cow<'_, str> {
    neutral_keeping(text, |c| c == '\t')
}

fn neutral_keeping(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| needs_escape(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) && !keep(c) {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        assert_eq!(
            neutral("a\n  + injected\x1b[2J\u{202e}b\u{7f}\u{85}"),
            "a\\n  + injected\\u{1b}[2J\\u{202e}b\\u{7f}\\u{85}"
        );
        assert!(matches!(neutral("plain é ✓"), Cow::Borrowed(_)));
        assert_eq!(neutral_line("\tx\u{1b}"), "\tx\\u{1b}");
    }
}
