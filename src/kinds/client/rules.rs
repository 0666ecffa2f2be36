//! boruta's own validation rules for a client create or update, written once and used by
//! both `validate` (to catch in a pull request what boruta would reject) and the sandbox
//! (to answer exactly as boruta does). The lists (which fields are TTLs, which values a
//! field accepts, which JSON type it has) come from the field catalogue (`fields.rs`);
//! the rules that concern one field by nature (redirect URIs, key pairs) say so by name.
//!
//! Input is the client object as JSON (after the sandbox's coercions, or as a manifest
//! declares it). Output is a list of [`RuleViolation`]s carrying boruta's exact message,
//! a human detail, and our stable finding code. Pure: no I/O.

use crate::findings::Code;
use crate::kinds::client::fields::{
    self, Field, Kind, NullOnCreate, NullOnUpdate, Rejection, Version, INTERNAL_SIGNATURES,
    UNIVERSAL_SIGNATURES,
};
use serde_json::{Map, Value};

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleViolation {
    /// The key boruta reports the error under (may be `private_key`, not a client field).
    pub field: &'static str,
    /// The manifest field the problem is about (for locating it), and the list index.
    pub subject: &'static str,
    pub index: Option<usize>,
    /// boruta's exact message.
    pub message: String,
    /// A sentence for humans (never quotes a secret: secrets have no rules here).
    pub detail: String,
    /// Our stable finding code.
    pub code: Code,
}

impl RuleViolation {
    fn on(
        field: &'static str,
        code: Code,
        message: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        RuleViolation {
            field,
            subject: field,
            index: None,
            message: message.into(),
            detail: detail.into(),
            code,
        }
    }

    fn at(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }
}

/// Ecto only validates "changes": values given that differ from the current ones.
struct Changes<'a> {
    input: &'a Map<String, Value>,
    before: &'a Map<String, Value>,
}

impl<'a> Changes<'a> {
    fn get(&self, field: &str) -> Option<&'a Value> {
        self.of(field, self.input.get(field)?)
    }

    /// `value`, the input's value of `field`, when it changes.
    fn of(&self, field: &str, value: &'a Value) -> Option<&'a Value> {
        (self.before.get(field) != Some(value)).then_some(value)
    }
}

/// Create or update: boruta validates some fields only when they change, and checks a
/// few ranges differently on update.
#[derive(Debug, Clone, Copy)]
pub enum Mode<'a> {
    Create,
    Update { stored: &'a Map<String, Value> },
}

/// Every rule boruta `version` applies to a client write, all violations collected.
/// Fields `version` does not accept are ignored, as boruta ignores them.
pub fn check_client(
    input: &Map<String, Value>,
    mode: Mode<'_>,
    version: Version,
) -> Vec<RuleViolation> {
    let before = match mode {
        Mode::Create => fields::create_defaults(version),
        Mode::Update { stored } => stored,
    };
    let changed = Changes { input, before };
    let key_type: Option<String> = input
        .get("key_pair_type")
        .or_else(|| before.get("key_pair_type"))
        .and_then(|k| k.get("type"))
        .and_then(Value::as_str)
        .map(str::to_string);

    let mut out = Vec::new();
    // The per-field rules judge sent values only: walk the input, not the catalogue (a
    // third of the lookups, on 10,000 clients).
    // Each with its value, rather than looking each value up again in every rule.
    let sent = input
        .iter()
        .filter_map(|(name, value)| Some((fields::get(name)?, value)))
        .filter(|(field, _)| field.accepted.includes(version));
    for (field, value) in sent {
        check_null(field, value, mode, &mut out);
        if field.ttl_max.is_some() {
            check_ttl(field, value, mode, &changed, version, &mut out);
        }
        check_allowed(field, value, &changed, &mut out);
    }
    check_id(input, mode, &mut out);
    check_uri_list(input, "redirect_uris", &mut out);
    check_uri_list(input, "authorized_resources", &mut out);
    for field in ["id_token_signature_alg", "userinfo_signed_response_alg"] {
        check_signature_alg_key_type(field, &changed, key_type.as_deref(), &mut out);
    }
    check_key_pair_type(input, before, mode, &mut out);
    check_signatures_adapter(&changed, key_type.as_deref(), &mut out);
    check_types(input, version, &mut out);
    out
}

fn check_id(input: &Map<String, Value>, mode: Mode<'_>, out: &mut Vec<RuleViolation>) {
    if !matches!(mode, Mode::Create) {
        return; // boruta ignores `id` on update
    }
    match input.get("id") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if is_uuid(s) => {}
        Some(_) => out.push(RuleViolation::on(
            "id",
            Code::InvalidUuid,
            "is invalid",
            "id is not a UUID",
        )),
    }
}

/// boruta's UUID cast: 8-4-4-4-12 hex digits, either case.
pub fn is_uuid(text: &str) -> bool {
    // Dashes at 8, 13, 18 and 23 of 36 characters, hex digits everywhere else.
    text.len() == 36
        && text.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// `null` where boruta needs a value (contract §5.2).
fn check_null(field: &'static Field, value: &Value, mode: Mode<'_>, out: &mut Vec<RuleViolation>) {
    if !value.is_null() {
        return;
    }
    let message = match mode {
        Mode::Create => match field.null_on_create {
            NullOnCreate::Blank => "can't be blank",
            NullOnCreate::Nil => "can't be nil",
            NullOnCreate::Stored | NullOnCreate::Defaulted => return,
        },
        Mode::Update { .. } => match field.null_on_update {
            NullOnUpdate::Blank => "can't be blank",
            NullOnUpdate::Nil => "can't be nil",
            NullOnUpdate::Stored | NullOnUpdate::Crashes => return,
        },
    };
    let name = field.name;
    out.push(RuleViolation::on(
        name,
        Code::MissingField,
        message,
        format!("{name} cannot be null"),
    ));
    // The key cannot be generated without a key pair type.
    if name == "key_pair_type" && matches!(mode, Mode::Create) {
        out.push(private_key_invalid());
    }
}

fn check_ttl<'a>(
    field: &'static Field,
    value: &'a Value,
    mode: Mode<'_>,
    changed: &Changes<'a>,
    version: Version,
    out: &mut Vec<RuleViolation>,
) {
    let name = field.name;
    let maxima: &[i64] = match mode {
        Mode::Create => std::slice::from_ref(field.ttl_max.as_ref().expect("a TTL")),
        Mode::Update { .. } => field
            .update_ranges
            .map_or(&[][..], |r| r.for_version(version)),
    };
    let value = match mode {
        Mode::Create => Some(value),
        // Unchanged values are not validated on update.
        Mode::Update { .. } => changed.of(name, value),
    };
    // Null is the null rule's business, other types the type check's.
    let Some(n) = value.and_then(Value::as_i64) else {
        return;
    };
    for max in maxima {
        if !(1..=*max).contains(&n) {
            out.push(RuleViolation::on(
                name,
                Code::TtlOutOfRange,
                "is invalid",
                format!("{name} {n} is out of range 1..{max}"),
            ));
        }
    }
}

/// A value outside the field's allowed set (checked on change only).
fn check_allowed<'a>(
    field: &'static Field,
    value: &'a Value,
    changed: &Changes<'a>,
    out: &mut Vec<RuleViolation>,
) {
    // The adapter is checked against the key type instead (check_signatures_adapter).
    if field.allowed.is_empty() || field.name == "signatures_adapter" {
        return;
    }
    let Some(value) = changed.of(field.name, value) else {
        return;
    };
    let name = field.name;
    // Written only for a finding: every client's allowed values pass.
    let allowed = || field.allowed.join(", ");
    let message = || match field.rejection {
        Rejection::IsInvalid => "is invalid".to_string(),
        Rejection::HasAnInvalidEntry => "has an invalid entry".to_string(),
        Rejection::MustBePartOf => format!("must be part of {}", allowed()),
    };
    match value {
        Value::String(s) if !field.allowed.contains(&s.as_str()) => {
            out.push(RuleViolation::on(
                name,
                field.invalid_code,
                message(),
                format!("{name} `{s}` is not one of: {}", allowed()),
            ));
        }
        Value::Array(items) => {
            let bad = items.iter().enumerate().find_map(|(i, item)| {
                item.as_str()
                    .filter(|s| !field.allowed.contains(s))
                    .map(|s| (i, s))
            });
            // boruta reports the whole list once.
            if let Some((i, s)) = bad {
                out.push(
                    RuleViolation::on(
                        name,
                        field.invalid_code,
                        message(),
                        format!("`{s}` in {name} is not one of: {}", allowed()),
                    )
                    .at(i),
                );
            }
        }
        _ => {}
    }
}

fn check_uri_list(input: &Map<String, Value>, field: &'static str, out: &mut Vec<RuleViolation>) {
    let (code, valid): (Code, fn(&str) -> bool) = if field == "redirect_uris" {
        (Code::InvalidRedirectUri, is_valid_redirect_uri)
    } else {
        (Code::InvalidResourceUri, is_valid_resource_uri)
    };
    let Some(Value::Array(items)) = input.get(field) else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::Null => out.push(
                RuleViolation::on(
                    field,
                    Code::MissingField,
                    "empty values are not allowed",
                    format!("{field} holds an empty value"),
                )
                .at(i),
            ),
            Value::String(uri) if !valid(uri) => {
                let detail = if field == "redirect_uris" {
                    format!("redirect URI `{uri}` is invalid: it needs a scheme and a `//` host part, and no `#` fragment")
                } else {
                    format!("resource `{uri}` is invalid: it must be an absolute URI without fragment or whitespace")
                };
                out.push(
                    RuleViolation::on(field, code, format!("`{uri}` is invalid"), detail).at(i),
                );
            }
            _ => {}
        }
    }
}

/// The redirect URI rule: a scheme, an authority (`//`, host may be empty), no fragment.
pub fn is_valid_redirect_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = split_scheme(uri) else {
        return false;
    };
    !scheme.is_empty() && rest.starts_with("//") && !uri.contains('#')
}

/// `scheme:rest` when `uri` starts with an RFC 3986 scheme followed by `:`.
fn split_scheme(uri: &str) -> Option<(&str, &str)> {
    let colon = uri.find(':')?;
    let scheme = &uri[..colon];
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (first_ok && rest_ok).then(|| (scheme, &uri[colon + 1..]))
}

/// The authorized-resource rule (contract §5.2).
pub fn is_valid_resource_uri(uri: &str) -> bool {
    let Some((_, rest)) = split_scheme(uri) else {
        return false;
    };
    if uri.contains('#') || uri.chars().any(char::is_whitespace) {
        return false;
    }
    let bytes = uri.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return false;
        }
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~:/?[]@!$&'()*+,;=%".contains(c);
    if !rest.chars().all(allowed) {
        return false;
    }
    if let Some(authority) = rest.strip_prefix("//") {
        let authority = authority.split(['/', '?']).next().unwrap_or("");
        let host_port = authority.rsplit('@').next().unwrap_or("");
        let host = if host_port.starts_with('[') {
            host_port
                .split(']')
                .next()
                .unwrap_or("")
                .trim_start_matches('[')
        } else {
            host_port.split(':').next().unwrap_or("")
        };
        if host.is_empty() {
            return false;
        }
    }
    true
}

/// Algorithms allowed for each key type.
pub fn algs_for_key_type(key_type: &str) -> &'static [&'static str] {
    match key_type {
        "rsa" => &["RS256", "RS384", "RS512", "HS256", "HS384", "HS512"],
        "ec" => &["ES256", "ES384", "ES512", "HS256", "HS384", "HS512"],
        "universal" => &["EdDSA"],
        _ => &[],
    }
}

/// The second check of a signature algorithm: it must suit the key type (an unknown
/// algorithm gets both messages).
fn check_signature_alg_key_type(
    field: &'static str,
    changed: &Changes<'_>,
    key_type: Option<&str>,
    out: &mut Vec<RuleViolation>,
) {
    let Some(Value::String(alg)) = changed.get(field) else {
        return;
    };
    let key_type = key_type.unwrap_or("");
    let allowed = algs_for_key_type(key_type);
    if !allowed.contains(&alg.as_str()) {
        let detail = if allowed.is_empty() {
            format!("{field} `{alg}` cannot be checked against key type `{key_type}`")
        } else {
            format!(
                "{field} `{alg}` does not suit key type `{key_type}` (allowed: {})",
                allowed.join(", ")
            )
        };
        out.push(RuleViolation::on(
            field,
            Code::SignatureAlgKeyMismatch,
            "is invalid",
            detail,
        ));
    }
}

/// boruta's loose `^ec|rsa|universal$` pattern (an unanchored alternation).
fn loose_type_pattern(s: &str) -> bool {
    s.starts_with("ec") || s.contains("rsa") || s.ends_with("universal")
}

/// boruta's loose `^P-256|P-384|P-512$` pattern.
fn loose_curve_pattern(s: &str) -> bool {
    s.starts_with("P-256") || s.contains("P-384") || s.ends_with("P-512")
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// boruta's JSON-schema check of `key_pair_type`, with its error texts.
fn key_pair_type_schema_errors(kpt: &Map<String, Value>) -> Vec<String> {
    let mut errors = Vec::new();
    if !kpt.contains_key("type") {
        errors.push("Required property type is missing at #.".to_string());
    }
    for (key, value) in kpt {
        match key.as_str() {
            "type" | "curve" | "modulus_size" | "exponent_size" => {
                let Some(s) = value.as_str() else {
                    errors.push(format!(
                        "The type at #/{key} `{}` do not match the required types [\"string\"].",
                        json_type_name(value)
                    ));
                    continue;
                };
                if key == "type" && !loose_type_pattern(s) {
                    errors
                        .push("#/type do match required pattern /^ec|rsa|universal$/.".to_string());
                }
                if key == "curve" && !loose_curve_pattern(s) {
                    errors.push(
                        "#/curve do match required pattern /^P-256|P-384|P-512$/.".to_string(),
                    );
                }
            }
            other => errors.push(format!(
                "Schema does not allow additional properties: #/{other}."
            )),
        }
    }
    errors
}

/// Checked on create and on every update, with the stored value when none is sent.
fn check_key_pair_type(
    input: &Map<String, Value>,
    before: &Map<String, Value>,
    mode: Mode<'_>,
    out: &mut Vec<RuleViolation>,
) {
    let kpt = match input.get("key_pair_type") {
        Some(Value::Object(map)) => map,
        // Null is the null rule's business; another type, the type check's.
        Some(_) => return,
        None => match before.get("key_pair_type") {
            Some(Value::Object(map)) => map,
            _ => return,
        },
    };
    let schema_errors = key_pair_type_schema_errors(kpt);
    if !schema_errors.is_empty() {
        let message = format!("validation failed: {}", schema_errors.join(" "));
        let detail = format!("key_pair_type is invalid: {}", schema_errors.join(" "));
        out.push(RuleViolation::on(
            "key_pair_type",
            Code::InvalidKeyPairType,
            message,
            detail,
        ));
    } else if kpt.get("type").and_then(Value::as_str) == Some("rsa") {
        match kpt.get("modulus_size").and_then(Value::as_str) {
            None => out.push(RuleViolation::on(
                "key_pair_type",
                Code::RsaModulusTooSmall,
                "rsa modulus_size is required",
                "key_pair_type of type rsa needs modulus_size (at least \"2048\")",
            )),
            Some(m) if m.parse::<u64>().map_or(true, |bits| bits < 2048) => {
                out.push(RuleViolation::on(
                    "key_pair_type",
                    Code::RsaModulusTooSmall,
                    "rsa modulus_size must be at least 2048",
                    format!("rsa modulus_size `{m}` must be a whole number of at least 2048"),
                ))
            }
            Some(_) => {}
        }
    }
    if matches!(mode, Mode::Create) && key_generation(kpt) == KeyGeneration::Impossible {
        out.push(private_key_invalid());
    }
}

fn private_key_invalid() -> RuleViolation {
    RuleViolation {
        field: "private_key",
        subject: "key_pair_type",
        index: None,
        message: "private_key_type is invalid".into(),
        detail: "boruta cannot generate a key pair for this key_pair_type (rsa needs modulus_size >= 2048 and exponent_size; ec needs curve)".into(),
        code: Code::KeyGenerationImpossible,
    }
}

/// Whether boruta can generate the key pair a `key_pair_type` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyGeneration {
    Possible,
    Impossible,
    /// boruta crashes (500) on these: an rsa exponent that is not an integer, ec P-512.
    Crashes,
    /// `universal` needs boruta's external DID registrar.
    NeedsRegistrar,
}

pub fn key_generation(kpt: &Map<String, Value>) -> KeyGeneration {
    let text = |k: &str| kpt.get(k).and_then(Value::as_str);
    match text("type") {
        Some("rsa") => {
            let modulus_ok = text("modulus_size")
                .and_then(|m| m.parse::<u64>().ok())
                .is_some_and(|m| m >= 2048);
            match (modulus_ok, text("exponent_size")) {
                (true, Some(e)) if e.parse::<u64>().is_ok() => KeyGeneration::Possible,
                (true, Some(_)) => KeyGeneration::Crashes,
                _ => KeyGeneration::Impossible,
            }
        }
        Some("ec") => match text("curve") {
            Some(curve) if fields::GENERATOR_CURVES.contains(&curve) => KeyGeneration::Possible,
            Some("P-512") => KeyGeneration::Crashes,
            Some(_) | None => KeyGeneration::Impossible,
        },
        Some("universal") => KeyGeneration::NeedsRegistrar,
        _ => KeyGeneration::Impossible,
    }
}

fn check_signatures_adapter(
    changed: &Changes<'_>,
    key_type: Option<&str>,
    out: &mut Vec<RuleViolation>,
) {
    let expected = match key_type {
        Some("universal") => UNIVERSAL_SIGNATURES,
        Some("rsa" | "ec") => INTERNAL_SIGNATURES,
        _ => {
            let mut violation = RuleViolation::on(
                "signatures_adapter",
                Code::UnknownKeyType,
                "unknown key pair type",
                "key_pair_type.type must be rsa, ec or universal",
            );
            // The cause is the key type, so that is where a manifest finding points.
            violation.subject = "key_pair_type";
            out.push(violation);
            return;
        }
    };
    if let Some(Value::String(adapter)) = changed.get("signatures_adapter") {
        if adapter != expected {
            let detail = format!(
                "signatures_adapter `{adapter}` does not suit key type `{}` (use {expected})",
                key_type.unwrap_or("")
            );
            out.push(RuleViolation::on(
                "signatures_adapter",
                Code::SignaturesAdapterMismatch,
                "is invalid",
                detail,
            ));
        }
    }
}

/// True when `value` has the JSON type `kind` needs (null is the null rules' business).
pub fn has_kind(kind: Kind, value: &Value) -> bool {
    match (kind, value) {
        (_, Value::Null) => true,
        // Checked by their own rules (or not at all).
        (Kind::Uuid | Kind::IdentityProvider | Kind::Scopes, _) => true,
        (Kind::Bool, Value::Bool(_)) => true,
        (Kind::Int, Value::Number(n)) => n.is_i64(),
        (Kind::Str | Kind::NullableStr, Value::String(_)) => true,
        (Kind::StrList, Value::Array(items)) => items.iter().all(|i| i.is_string() || i.is_null()),
        (Kind::Object, Value::Object(_)) => true,
        _ => false,
    }
}

/// "is invalid" for values of the wrong JSON type. Server-generated members are ignored
/// (boruta does not cast them).
fn check_types(input: &Map<String, Value>, version: Version, out: &mut Vec<RuleViolation>) {
    for (name, value) in input {
        let Some(field) = fields::get(name).filter(|f| f.accepted.includes(version)) else {
            continue;
        };
        if field.server_generated() {
            continue;
        }
        if !has_kind(field.kind, value) {
            let detail = format!(
                "{} has the wrong type (found {})",
                field.name,
                json_type_name(value)
            );
            out.push(RuleViolation::on(
                field.name,
                Code::InvalidType,
                "is invalid",
                detail,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creatable_curves_are_the_generators_that_the_schema_lets_through() {
        for curve in fields::GENERATOR_CURVES {
            assert_eq!(
                loose_curve_pattern(curve),
                fields::CURVES.contains(&curve),
                "{curve}"
            );
        }
    }

    #[test]
    fn redirect_uri_examples_from_the_contract() {
        for ok in [
            "https://redirect.uri.boruta",
            "openid4vp://",
            "openid-credential-offer://",
            "com.example.app://cb",
        ] {
            assert!(is_valid_redirect_uri(ok), "{ok}");
        }
        for bad in [
            "bad_uri",
            "myapp:/cb",
            "urn:x",
            "https://a/cb#x",
            "{{PRESENTATION_REDIRECT_URI}}",
            "localhost:3000/cb",
            "https://a/#",
        ] {
            assert!(!is_valid_redirect_uri(bad), "{bad}");
        }
    }

    #[test]
    fn resource_uris() {
        assert!(is_valid_resource_uri("https://resource.test"));
        assert!(is_valid_resource_uri("urn:example:thing"));
        assert!(!is_valid_resource_uri("https://a b"));
        assert!(!is_valid_resource_uri("https://a/%zz"));
        assert!(!is_valid_resource_uri("https:///path"));
        assert!(!is_valid_resource_uri("https://a/b#c"));
    }

    fn update_messages(version: Version, field: &str, value: i64) -> Vec<String> {
        let stored = fields::create_defaults(version).clone();
        let input: Map<String, Value> =
            serde_json::from_value(serde_json::json!({ field: value })).unwrap();
        check_client(&input, Mode::Update { stored: &stored }, version)
            .into_iter()
            .filter(|v| v.field == field)
            .map(|v| v.message)
            .collect()
    }

    #[test]
    fn ttl_update_bugs_are_reproduced_per_version() {
        for version in Version::ALL {
            assert_eq!(
                update_messages(version, "access_token_ttl", 90_000),
                ["is invalid", "is invalid"]
            );
            assert_eq!(
                update_messages(version, "access_token_ttl", 600),
                ["is invalid"]
            );
        }
        // 0.10 checks refresh_token_ttl against the id-token maximum, and not id_token_ttl.
        assert_eq!(
            update_messages(Version::V0_10, "refresh_token_ttl", 100_000),
            ["is invalid"]
        );
        assert!(update_messages(Version::Master, "refresh_token_ttl", 100_000).is_empty());
        assert!(update_messages(Version::V0_10, "id_token_ttl", 100_000).is_empty());
        assert_eq!(
            update_messages(Version::Master, "id_token_ttl", 100_000),
            ["is invalid"]
        );
        // authorization_request_ttl is not range-checked on update at all (contract §9.3).
        for version in Version::ALL {
            assert!(update_messages(version, "authorization_request_ttl", 5_000).is_empty());
        }
    }
}
