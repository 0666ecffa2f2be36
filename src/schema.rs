//! The JSON Schemas of the manifest formats, generated from the Rust types of `model.rs`,
//! and the compiled validator that checks documents against them.
//!
//! The only file naming schemars and jsonschema. Generation is deterministic so the
//! committed `schemas/*.json` can be compared byte for byte with a fresh generation.

use crate::kinds::client::manifest::{ClientManifest, ConfigurationFile};
use crate::kinds::scope::manifest::ScopeManifest;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;
use std::sync::OnceLock;

/// Base URL under which the schemas are published (the `$id`s).
pub const SCHEMA_BASE: &str =
    "https://raw.githubusercontent.com/boruta-gitops/boruta-gitops/main/schemas";

/// Which schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    /// One client per document.
    Client,
    /// One scope per document (`kind: Scope`).
    Scope,
    /// boruta's configuration-file form.
    Configuration,
}

impl SchemaKind {
    /// File name under `schemas/`.
    pub fn file_name(self) -> &'static str {
        match self {
            SchemaKind::Client => "client.schema.json",
            SchemaKind::Scope => "scope.schema.json",
            SchemaKind::Configuration => "configuration.schema.json",
        }
    }
}

/// The generated schema as JSON.
pub fn generate(kind: SchemaKind) -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = match kind {
        SchemaKind::Client => generator.into_root_schema_for::<ClientManifest>(),
        SchemaKind::Scope => generator.into_root_schema_for::<ScopeManifest>(),
        SchemaKind::Configuration => generator.into_root_schema_for::<ConfigurationFile>(),
    };
    let mut value = schema.to_value();
    strip_null(&mut value);
    if let Value::Object(map) = &mut value {
        let id = format!("{SCHEMA_BASE}/{}", kind.file_name());
        map.insert("$id".into(), Value::String(id));
    }
    value
}

/// The schema as the pretty-printed text committed under `schemas/` (with a final newline).
pub fn generate_text(kind: SchemaKind) -> String {
    let mut text =
        serde_json::to_string_pretty(&generate(kind)).expect("a JSON value always serializes");
    text.push('\n');
    text
}

/// schemars describes `Option<T>` as "T or null". In a manifest an absent field already
/// means "server default", so an explicit null is refused: it would only be ambiguous.
fn strip_null(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            let null_branch = |v: &Value| {
                v.get("type").is_some_and(|t| t == "null")
                    && v.as_object().is_some_and(|o| o.len() == 1)
            };
            if let Some(Value::Array(branches)) = map.get("anyOf") {
                if branches.len() == 2 && branches.iter().any(null_branch) {
                    let keep = branches.iter().find(|b| !null_branch(b)).cloned();
                    map.remove("anyOf");
                    if let Some(Value::Object(keep)) = keep {
                        for (k, v) in keep {
                            map.entry(k).or_insert(v);
                        }
                    }
                }
            }
            if let Some(Value::Array(options)) = map.get_mut("enum") {
                options.retain(|o| !o.is_null());
            }
            for v in map.values_mut() {
                strip_null(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

/// One schema violation, with the JSON pointer of the offending value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Pointer of the value (for `Unknown`, of the object holding the key).
    pub pointer: String,
    pub problem: Problem,
}

/// What is wrong, in terms the validator turns into a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    UnknownField(String),
    MissingField(String),
    WrongType {
        expected: String,
    },
    NotOneOf {
        options: Vec<String>,
    },
    OutOfRange {
        min: Option<String>,
        max: Option<String>,
    },
    PatternMismatch {
        pattern: String,
    },
    TooShort,
    NeedsIdOrName,
    Other(String),
}

fn compiled(kind: SchemaKind) -> &'static jsonschema::Validator {
    static CLIENT: OnceLock<jsonschema::Validator> = OnceLock::new();
    static SCOPE: OnceLock<jsonschema::Validator> = OnceLock::new();
    static CONFIG: OnceLock<jsonschema::Validator> = OnceLock::new();
    let cell = match kind {
        SchemaKind::Client => &CLIENT,
        SchemaKind::Scope => &SCOPE,
        SchemaKind::Configuration => &CONFIG,
    };
    cell.get_or_init(|| {
        jsonschema::validator_for(&generate(kind)).expect("the generated schema compiles")
    })
}

/// Checks `instance` against the schema of `kind`; every violation is returned.
pub fn check(kind: SchemaKind, instance: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let schema = compiled(kind);
    // Nearly every manifest is valid: the yes/no check skips what collecting errors
    // costs (a third less of the schema's instructions per manifest).
    if schema.is_valid(instance) {
        return out;
    }
    for error in schema.iter_errors(instance) {
        let pointer = error.instance_path().as_str().to_string();
        let limits = |min: Option<&Value>, max: Option<&Value>| Problem::OutOfRange {
            min: min.map(Value::to_string),
            max: max.map(Value::to_string),
        };
        let problem = match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for key in unexpected {
                    out.push(Violation {
                        pointer: pointer.clone(),
                        problem: Problem::UnknownField(key.clone()),
                    });
                }
                continue;
            }
            ValidationErrorKind::Required { property } => {
                Problem::MissingField(property.as_str().unwrap_or_default().to_string())
            }
            ValidationErrorKind::Type { kind } => Problem::WrongType {
                expected: match kind {
                    TypeKind::Single(t) => t.to_string(),
                    TypeKind::Multiple(set) => format!("{set:?}"),
                },
            },
            ValidationErrorKind::Enum { options } => Problem::NotOneOf {
                options: options
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            ValidationErrorKind::Constant { expected_value } => Problem::NotOneOf {
                options: vec![expected_value
                    .as_str()
                    .map_or_else(|| expected_value.to_string(), str::to_string)],
            },
            ValidationErrorKind::Minimum { limit }
            | ValidationErrorKind::ExclusiveMinimum { limit } => {
                let max = range_partner(kind, &pointer, "maximum");
                limits(Some(limit), max.as_ref())
            }
            ValidationErrorKind::Maximum { limit }
            | ValidationErrorKind::ExclusiveMaximum { limit } => {
                let min = range_partner(kind, &pointer, "minimum");
                limits(min.as_ref(), Some(limit))
            }
            ValidationErrorKind::Pattern { pattern } => Problem::PatternMismatch {
                pattern: pattern.clone(),
            },
            ValidationErrorKind::MinLength { .. } => Problem::TooShort,
            ValidationErrorKind::MinProperties { .. } | ValidationErrorKind::AnyOf { .. } => {
                Problem::NeedsIdOrName
            }
            _ => Problem::Other(error.to_string()),
        };
        out.push(Violation { pointer, problem });
    }
    out
}

/// The other bound of a range, read from the schema, so messages can say "1..86400".
fn range_partner(kind: SchemaKind, pointer: &str, keyword: &str) -> Option<Value> {
    let field = pointer.split('/').nth(1)?;
    let schema = generate_cached(kind);
    schema
        .pointer(&format!("/properties/{field}/{keyword}"))
        .cloned()
}

fn generate_cached(kind: SchemaKind) -> &'static Value {
    static CLIENT: OnceLock<Value> = OnceLock::new();
    static SCOPE: OnceLock<Value> = OnceLock::new();
    static CONFIG: OnceLock<Value> = OnceLock::new();
    let cell = match kind {
        SchemaKind::Client => &CLIENT,
        SchemaKind::Scope => &SCOPE,
        SchemaKind::Configuration => &CONFIG,
    };
    cell.get_or_init(|| generate(kind))
}

/// Names of the top-level fields of a manifest kind, for "did you mean" hints.
pub fn field_names(kind: SchemaKind) -> Vec<String> {
    generate_cached(kind)
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// The sections of boruta's configuration file (`model::Configuration`'s members).
pub fn configuration_sections() -> &'static [String] {
    static SECTIONS: OnceLock<Vec<String>> = OnceLock::new();
    SECTIONS.get_or_init(|| {
        generate_cached(SchemaKind::Configuration)
            .pointer("/$defs/Configuration/properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::client::fields::{self, Kind};
    use std::collections::BTreeSet;

    /// A property's schema with `$ref`s to `$defs` followed.
    fn resolve<'a>(schema: &'a Value, property: &'a Value) -> &'a Value {
        match property.get("$ref").and_then(Value::as_str) {
            Some(reference) => schema
                .pointer(reference.trim_start_matches('#'))
                .unwrap_or(property),
            None => property,
        }
    }

    fn enum_of(schema: &Value, property: &Value) -> Option<BTreeSet<String>> {
        let property = resolve(schema, property);
        let property = match property.get("items") {
            Some(items) => resolve(schema, items),
            None => property,
        };
        property
            .get("enum")
            .and_then(Value::as_array)
            .map(|values| {
                values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
    }

    /// The generated schema and the field catalogue describe the same fields, with the same
    /// types, ranges and allowed values: neither can drift from the other.
    #[test]
    fn the_schema_agrees_with_the_field_catalogue() {
        let schema = generate(SchemaKind::Client);
        let properties = schema["properties"].as_object().unwrap();
        // `kind`, `lifecycle` and `secret_delivery` are boruta-gitops's own keys, not
        // boruta fields.
        let in_schema: BTreeSet<&str> = properties
            .keys()
            .map(String::as_str)
            .filter(|k| !matches!(*k, "kind" | "lifecycle" | "secret_delivery"))
            .collect();
        let in_catalogue: BTreeSet<&str> = fields::manifest_fields().map(|f| f.name).collect();
        assert_eq!(in_schema, in_catalogue);
        for field in fields::manifest_fields() {
            let property = resolve(&schema, &properties[field.name]);
            let json_type = property.get("type").and_then(Value::as_str);
            let expected = match field.kind {
                Kind::Bool => Some("boolean"),
                Kind::Int => Some("integer"),
                Kind::Str | Kind::NullableStr | Kind::Uuid => Some("string"),
                Kind::StrList | Kind::Scopes => Some("array"),
                Kind::Object | Kind::IdentityProvider => Some("object"),
            };
            // Enumerations are strings by their values.
            if json_type.is_some() || property.get("enum").is_none() {
                assert_eq!(json_type, expected, "{}", field.name);
            }
            if field.kind == Kind::Uuid {
                assert_eq!(
                    property["pattern"],
                    crate::kinds::client::manifest::UUID_PATTERN,
                    "{}",
                    field.name
                );
            }
            if let Some(max) = field.ttl_max {
                assert_eq!(property["minimum"], 1, "{}", field.name);
                assert_eq!(property["maximum"], max, "{}", field.name);
            } else {
                assert!(property.get("maximum").is_none(), "{}", field.name);
            }
            let allowed: BTreeSet<String> = field.allowed.iter().map(|s| s.to_string()).collect();
            match enum_of(&schema, &properties[field.name]) {
                Some(values) => assert_eq!(values, allowed, "{}", field.name),
                None => assert!(allowed.is_empty(), "{} lacks an enum", field.name),
            }
        }
        let key_pair = &schema["$defs"]["KeyPairType"]["properties"];
        let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(
            enum_of(&schema, &key_pair["type"]),
            Some(set(&fields::KEY_TYPES))
        );
        assert_eq!(
            enum_of(&schema, &key_pair["curve"]),
            Some(set(&fields::CURVES))
        );
    }
}
