//! boruta's own validation rules for a client create or update, written once and used by
//! both `validate` (to catch in a pull request what boruta would reject) and the sandbox
//! (to answer exactly as boruta does). Each rule is one function.
//!
//! Input is the client object as JSON (after the sandbox's coercions, or as a manifest
//! declares it). Output is a list of [`RuleViolation`]s carrying boruta's exact message,
//! a human detail, and our stable finding code. Pure: no I/O.

use serde_json::{Map, Value};

/// The TTL fields with boruta-server's maxima (which are also their defaults on create).
pub const TTL_FIELDS: [(&str, i64); 6] = [
    ("access_token_ttl", 86_400),
    ("agent_token_ttl", 2_592_000),
    ("authorization_code_ttl", 600),
    ("authorization_request_ttl", 300),
    ("id_token_ttl", 86_400),
    ("refresh_token_ttl", 2_592_000),
];

pub const GRANT_TYPES: [&str; 12] = [
    "client_credentials",
    "password",
    "authorization_code",
    "agent_code",
    "refresh_token",
    "implicit",
    "revoke",
    "introspect",
    "id_token",
    "vp_token",
    "preauthorized_code",
    "agent_credentials",
];
pub const SIGNATURE_ALGS: [&str; 10] = [
    "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "HS256", "HS384", "HS512", "EdDSA",
];
pub const AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
];
pub const JWT_AUTH_ALGS: [&str; 6] = ["RS256", "RS384", "RS512", "HS256", "HS384", "HS512"];
pub const RESPONSE_MODES: [&str; 2] = ["post", "direct_post"];
pub const INTERNAL_SIGNATURES: &str = "Elixir.Boruta.Internal.Signatures";
pub const UNIVERSAL_SIGNATURES: &str = "Elixir.Boruta.Universal.Signatures";

/// boruta's defaults on create (contract §4.3), as the JSON the server renders. Built once:
/// the sandbox consults it on every create.
pub fn create_defaults() -> &'static Map<String, Value> {
    static DEFAULTS: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    DEFAULTS.get_or_init(build_create_defaults)
}

fn build_create_defaults() -> Map<String, Value> {
    let value = serde_json::json!({
        "public_client_id": null,
        "check_public_client_id": false,
        "trusted_authorities": "",
        "trusted_hosts": [],
        "name": null,
        "confidential": false,
        "redirect_uris": [],
        "public_refresh_token": false,
        "public_revoke": false,
        "authorize_scope": false,
        "enforce_dpop": false,
        "enforce_tx_code": false,
        "access_token_ttl": 86400,
        "agent_token_ttl": 2592000,
        "authorization_code_ttl": 600,
        "authorization_request_ttl": 300,
        "refresh_token_ttl": 2592000,
        "id_token_ttl": 86400,
        "pkce": false,
        "key_pair_type": {"type": "rsa", "modulus_size": "2048", "exponent_size": "65537"},
        "signatures_adapter": INTERNAL_SIGNATURES,
        "supported_grant_types": ["client_credentials", "authorization_code"],
        "id_token_signature_alg": "RS512",
        "userinfo_signed_response_alg": null,
        "token_endpoint_jwt_auth_alg": "HS256",
        "token_endpoint_auth_methods": ["client_secret_basic", "client_secret_post"],
        "jwt_public_key": null,
        "response_mode": "direct_post",
        "authorized_resources": [],
        "metadata": {},
        "jwks_uri": null,
        "logo_uri": null,
        "id_token_kid": null
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

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
    pub code: &'static str,
}

impl RuleViolation {
    fn on(
        field: &'static str,
        code: &'static str,
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
        let value = self.input.get(field)?;
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

/// Every rule boruta applies to a client write, all violations collected.
pub fn check_client(input: &Map<String, Value>, mode: Mode<'_>) -> Vec<RuleViolation> {
    let before = match mode {
        Mode::Create => create_defaults(),
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
    check_id(input, mode, &mut out);
    check_ttls(input, mode, &changed, &mut out);
    check_uri_list(input, "redirect_uris", mode, &mut out);
    check_uri_list(input, "authorized_resources", mode, &mut out);
    check_not_nil(input, &mut out);
    check_grant_types(&changed, &mut out);
    for field in ["id_token_signature_alg", "userinfo_signed_response_alg"] {
        check_signature_alg(field, &changed, key_type.as_deref(), &mut out);
    }
    check_auth_methods(&changed, &mut out);
    check_one_of(
        &changed,
        "token_endpoint_jwt_auth_alg",
        &JWT_AUTH_ALGS,
        "invalid-jwt-auth-alg",
        &mut out,
    );
    check_one_of(
        &changed,
        "response_mode",
        &RESPONSE_MODES,
        "invalid-response-mode",
        &mut out,
    );
    check_key_pair_type(input, before, mode, &mut out);
    check_signatures_adapter(&changed, key_type.as_deref(), &mut out);
    check_types(input, &mut out);
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
            "invalid-uuid",
            "is invalid",
            "id is not a UUID",
        )),
    }
}

/// boruta's UUID cast: 8-4-4-4-12 hex digits, either case.
pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn check_ttls(
    input: &Map<String, Value>,
    mode: Mode<'_>,
    changed: &Changes<'_>,
    out: &mut Vec<RuleViolation>,
) {
    for (field, max) in TTL_FIELDS {
        let value = match mode {
            Mode::Create => match input.get(field) {
                None | Some(Value::Null) => continue,
                Some(v) => v,
            },
            Mode::Update { .. } => match input.get(field) {
                Some(Value::Null) => {
                    if field != "authorization_request_ttl" {
                        out.push(RuleViolation::on(
                            field,
                            "missing-field",
                            "can't be blank",
                            format!("{field} cannot be null"),
                        ));
                    }
                    continue;
                }
                _ => match changed.get(field) {
                    Some(v) => v,
                    None => continue,
                },
            },
        };
        let Some(n) = value.as_i64() else { continue }; // type errors are reported by check_types
        let mut check = |max: i64| {
            if !(1..=max).contains(&n) {
                let detail = format!("{field} {n} is out of range 1..{max}");
                out.push(RuleViolation::on(
                    field,
                    "ttl-out-of-range",
                    "is invalid",
                    detail,
                ));
            }
        };
        match mode {
            Mode::Create => check(max),
            // Upstream does not range-check authorization_request_ttl on update.
            Mode::Update { .. } if field == "authorization_request_ttl" => {}
            Mode::Update { .. } => {
                check(max);
                // Upstream bug (contract §5.2): a changed access_token_ttl is also checked
                // against the authorization-request maximum.
                if field == "access_token_ttl" {
                    check(300);
                }
            }
        }
    }
}

fn check_uri_list(
    input: &Map<String, Value>,
    field: &'static str,
    mode: Mode<'_>,
    out: &mut Vec<RuleViolation>,
) {
    let (code, valid): (&'static str, fn(&str) -> bool) = if field == "redirect_uris" {
        ("invalid-redirect-uri", is_valid_redirect_uri)
    } else {
        ("invalid-resource-uri", is_valid_resource_uri)
    };
    match input.get(field) {
        Some(Value::Null) if field == "redirect_uris" && matches!(mode, Mode::Create) => {
            out.push(RuleViolation::on(
                field,
                "missing-field",
                "can't be blank",
                "redirect_uris cannot be null",
            ));
        }
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::Null => out.push(
                        RuleViolation::on(
                            field,
                            "missing-field",
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
                            RuleViolation::on(field, code, format!("`{uri}` is invalid"), detail)
                                .at(i),
                        );
                    }
                    _ => {}
                }
            }
        }
        _ => {}
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

fn check_not_nil(input: &Map<String, Value>, out: &mut Vec<RuleViolation>) {
    for field in ["trusted_authorities", "trusted_hosts"] {
        if input.get(field) == Some(&Value::Null) {
            out.push(RuleViolation::on(
                field,
                "missing-field",
                "can't be nil",
                format!("{field} cannot be null"),
            ));
        }
    }
}

fn check_grant_types(changed: &Changes<'_>, out: &mut Vec<RuleViolation>) {
    let Some(Value::Array(items)) = changed.get("supported_grant_types") else {
        return;
    };
    let message = format!("must be part of {}", GRANT_TYPES.join(", "));
    for (i, item) in items.iter().enumerate() {
        if let Some(s) = item.as_str() {
            if !GRANT_TYPES.contains(&s) {
                let detail = format!("grant type `{s}` is not one of: {}", GRANT_TYPES.join(", "));
                out.push(
                    RuleViolation::on(
                        "supported_grant_types",
                        "invalid-grant-type",
                        message.clone(),
                        detail,
                    )
                    .at(i),
                );
                // boruta reports the whole list once.
                return;
            }
        }
    }
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

fn check_signature_alg(
    field: &'static str,
    changed: &Changes<'_>,
    key_type: Option<&str>,
    out: &mut Vec<RuleViolation>,
) {
    let Some(Value::String(alg)) = changed.get(field) else {
        return;
    };
    if !SIGNATURE_ALGS.contains(&alg.as_str()) {
        let detail = format!(
            "{field} `{alg}` is not one of: {}",
            SIGNATURE_ALGS.join(", ")
        );
        out.push(RuleViolation::on(
            field,
            "invalid-signature-alg",
            "is invalid",
            detail,
        ));
    }
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
            "signature-alg-key-mismatch",
            "is invalid",
            detail,
        ));
    }
}

fn check_auth_methods(changed: &Changes<'_>, out: &mut Vec<RuleViolation>) {
    let Some(Value::Array(items)) = changed.get("token_endpoint_auth_methods") else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        if let Some(s) = item.as_str() {
            if !AUTH_METHODS.contains(&s) {
                let detail = format!(
                    "token endpoint auth method `{s}` is not one of: {}",
                    AUTH_METHODS.join(", ")
                );
                out.push(
                    RuleViolation::on(
                        "token_endpoint_auth_methods",
                        "invalid-auth-method",
                        "has an invalid entry",
                        detail,
                    )
                    .at(i),
                );
                return;
            }
        }
    }
}

fn check_one_of(
    changed: &Changes<'_>,
    field: &'static str,
    allowed: &[&str],
    code: &'static str,
    out: &mut Vec<RuleViolation>,
) {
    let Some(Value::String(value)) = changed.get(field) else {
        return;
    };
    if !allowed.contains(&value.as_str()) {
        let detail = format!("{field} `{value}` is not one of: {}", allowed.join(", "));
        out.push(RuleViolation::on(field, code, "is invalid", detail));
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

fn check_key_pair_type(
    input: &Map<String, Value>,
    before: &Map<String, Value>,
    mode: Mode<'_>,
    out: &mut Vec<RuleViolation>,
) {
    let given = input.get("key_pair_type");
    let kpt = match given {
        Some(Value::Null) => {
            out.push(RuleViolation::on(
                "key_pair_type",
                "missing-field",
                "can't be blank",
                "key_pair_type cannot be null",
            ));
            if matches!(mode, Mode::Create) {
                out.push(private_key_invalid());
            }
            return;
        }
        Some(Value::Object(map)) => map,
        Some(_) => return, // wrong JSON type: check_types reports "is invalid"
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
            "invalid-key-pair-type",
            message,
            detail,
        ));
    } else if kpt.get("type").and_then(Value::as_str) == Some("rsa") {
        match kpt.get("modulus_size").and_then(Value::as_str) {
            None => out.push(RuleViolation::on(
                "key_pair_type",
                "rsa-modulus-too-small",
                "rsa modulus_size is required",
                "key_pair_type of type rsa needs modulus_size (at least \"2048\")",
            )),
            Some(m) if m.parse::<u64>().map_or(true, |bits| bits < 2048) => {
                out.push(RuleViolation::on(
                    "key_pair_type",
                    "rsa-modulus-too-small",
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
        code: "key-generation-impossible",
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
            Some("P-256" | "P-384" | "P-521") => KeyGeneration::Possible,
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
                "unknown-key-type",
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
                "signatures-adapter-mismatch",
                "is invalid",
                detail,
            ));
        }
    }
}

/// The JSON type each client field must have on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Bool,
    Int,
    Str,
    /// A string that may also be null.
    NullableStr,
    StrList,
    Object,
    /// Checked by its own rules (or not at all).
    Special,
}

/// Every field of the create request with its wire type.
pub const FIELD_TYPES: [(&str, FieldType); 40] = [
    ("id", FieldType::Special),
    ("public_client_id", FieldType::NullableStr),
    ("check_public_client_id", FieldType::Bool),
    ("name", FieldType::NullableStr),
    ("secret", FieldType::NullableStr),
    ("confidential", FieldType::Bool),
    ("redirect_uris", FieldType::StrList),
    ("public_refresh_token", FieldType::Bool),
    ("public_revoke", FieldType::Bool),
    ("authorize_scope", FieldType::Bool),
    ("enforce_dpop", FieldType::Bool),
    ("enforce_tx_code", FieldType::Bool),
    ("access_token_ttl", FieldType::Int),
    ("authorization_code_ttl", FieldType::Int),
    ("authorization_request_ttl", FieldType::Int),
    ("refresh_token_ttl", FieldType::Int),
    ("id_token_ttl", FieldType::Int),
    ("agent_token_ttl", FieldType::Int),
    ("pkce", FieldType::Bool),
    ("public_key", FieldType::Special),
    ("key_pair_type", FieldType::Object),
    ("signatures_adapter", FieldType::Str),
    ("did", FieldType::Special),
    ("identity_provider", FieldType::Special),
    ("authorized_scopes", FieldType::Special),
    ("supported_grant_types", FieldType::StrList),
    ("id_token_signature_alg", FieldType::Str),
    ("userinfo_signed_response_alg", FieldType::NullableStr),
    ("token_endpoint_jwt_auth_alg", FieldType::Str),
    ("token_endpoint_auth_methods", FieldType::StrList),
    ("jwt_public_key", FieldType::NullableStr),
    ("response_mode", FieldType::Str),
    ("authorized_resources", FieldType::StrList),
    ("jwks_uri", FieldType::NullableStr),
    ("id_token_kid", FieldType::NullableStr),
    ("logo_uri", FieldType::NullableStr),
    ("metadata", FieldType::Object),
    ("key_pair_id", FieldType::Special),
    ("trusted_authorities", FieldType::NullableStr),
    ("trusted_hosts", FieldType::StrList),
];

pub fn field_type(field: &str) -> Option<FieldType> {
    FIELD_TYPES
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, t)| *t)
}

/// "is invalid" for values of the wrong JSON type (null is left to the null rules).
fn check_types(input: &Map<String, Value>, out: &mut Vec<RuleViolation>) {
    for (field, kind) in FIELD_TYPES {
        let Some(value) = input.get(field) else {
            continue;
        };
        let ok = match (kind, value) {
            (_, Value::Null) | (FieldType::Special, _) => true,
            (FieldType::Bool, Value::Bool(_)) => true,
            (FieldType::Int, Value::Number(n)) => n.is_i64(),
            (FieldType::Str | FieldType::NullableStr, Value::String(_)) => true,
            (FieldType::StrList, Value::Array(items)) => {
                items.iter().all(|i| i.is_string() || i.is_null())
            }
            (FieldType::Object, Value::Object(_)) => true,
            _ => false,
        };
        if !ok {
            let detail = format!(
                "{field} has the wrong type (found {})",
                json_type_name(value)
            );
            out.push(RuleViolation::on(
                field,
                "invalid-type",
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

    #[test]
    fn ttl_update_bug_is_reproduced() {
        let stored = create_defaults().clone();
        let input: Map<String, Value> =
            serde_json::from_str(r#"{"access_token_ttl": 90000}"#).unwrap();
        let v = check_client(&input, Mode::Update { stored: &stored });
        let messages: Vec<_> = v
            .iter()
            .filter(|v| v.field == "access_token_ttl")
            .map(|v| v.message.as_str())
            .collect();
        assert_eq!(messages, ["is invalid", "is invalid"]);
    }
}
