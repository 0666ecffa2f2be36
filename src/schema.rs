//! The JSON Schemas of the manifest formats, generated from the Rust types of `model.rs`,
//! and the compiled validator that checks documents against them.
//!
//! The only file naming schemars and jsonschema. Generation is deterministic so the
//! committed `schemas/*.json` can be compared byte for byte with a fresh generation.

use crate::model::{ClientManifest, ConfigurationFile};
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
    /// boruta's configuration-file form.
    Configuration,
}

impl SchemaKind {
    /// File name under `schemas/`.
    pub fn file_name(self) -> &'static str {
        match self {
            SchemaKind::Client => "client.schema.json",
            SchemaKind::Configuration => "configuration.schema.json",
        }
    }
}

/// The generated schema as JSON.
pub fn generate(kind: SchemaKind) -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = match kind {
        SchemaKind::Client => generator.into_root_schema_for::<ClientManifest>(),
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
    static CONFIG: OnceLock<jsonschema::Validator> = OnceLock::new();
    let cell = match kind {
        SchemaKind::Client => &CLIENT,
        SchemaKind::Configuration => &CONFIG,
    };
    cell.get_or_init(|| {
        jsonschema::validator_for(&generate(kind)).expect("the generated schema compiles")
    })
}

/// Checks `instance` against the schema of `kind`; every violation is returned.
pub fn check(kind: SchemaKind, instance: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    for error in compiled(kind).iter_errors(instance) {
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
    static CONFIG: OnceLock<Value> = OnceLock::new();
    let cell = match kind {
        SchemaKind::Client => &CLIENT,
        SchemaKind::Configuration => &CONFIG,
    };
    cell.get_or_init(|| generate(kind))
}

/// Names of the top-level fields of the client manifest, for "did you mean" hints.
pub fn client_field_names() -> Vec<String> {
    generate_cached(SchemaKind::Client)
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}
