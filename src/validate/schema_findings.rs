//! Schema violations as findings: the message a person reads for each kind of problem,
//! the value quoted unless it is sensitive, a "did you mean" for a misspelt field, and the
//! hints for YAML's usual traps (`yes` is not a boolean here, `"3600"` is not a number).

use crate::findings::Code;
use crate::kinds::client::fields;
use crate::schema::{self, Problem};
use crate::source::{Diagnostic, Node, NodeValue};
use std::collections::HashMap;

/// The key nodes of one document's mappings, indexed on first use, one pass per mapping:
/// an unknown-field finding points at its key, and looking each key up alone is a linear
/// search of the mapping, quadratic over a manifest of 200,000 unknown keys (a 4 MB pull
/// request kept validate busy for minutes; issue #19).
#[derive(Default)]
pub(super) struct KeyIndex<'a> {
    maps: HashMap<String, HashMap<&'a str, &'a Node>>,
}

impl<'a> KeyIndex<'a> {
    /// The key node `key` of the mapping at `pointer` in `client` (the last one of a key
    /// written twice, as [`Node::entry`] finds it).
    fn key(&mut self, client: &'a Node, pointer: &str, key: &str) -> Option<&'a Node> {
        let keys = self.maps.entry(pointer.to_string()).or_insert_with(|| {
            let mut keys = HashMap::new();
            if let Some(NodeValue::Map(pairs)) = client.at_pointer(pointer).map(|n| &n.value) {
                for (k, _) in pairs {
                    if let Some(text) = k.as_str() {
                        keys.insert(text, k);
                    }
                }
            }
            keys
        });
        keys.get(key).copied()
    }
}

/// Quotes a value for a message, unless it is sensitive.
fn describe(node: Option<&Node>, under_secret: bool) -> String {
    match node {
        Some(n) if n.sensitive() || under_secret => "the (sensitive) value".to_string(),
        Some(n) => match &n.value {
            NodeValue::Str(s) => format!("`{}`", truncate(s)),
            NodeValue::Null => "null".to_string(),
            NodeValue::Bool(b) => b.to_string(),
            NodeValue::Int(i) => i.to_string(),
            NodeValue::Float(f) => f.to_string(),
            NodeValue::Seq(_) => "a list".to_string(),
            NodeValue::Map(_) => "a mapping".to_string(),
        },
        None => "the value".to_string(),
    }
}

fn truncate(s: &str) -> String {
    let first_line = s.lines().next().unwrap_or("");
    if first_line.chars().count() > 60 || first_line.len() != s.len() {
        format!("{}…", first_line.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}

fn kind_name(node: &Node) -> &'static str {
    match &node.value {
        NodeValue::Null => "null",
        NodeValue::Bool(_) => "boolean",
        NodeValue::Int(_) => "integer",
        NodeValue::Float(_) => "number",
        NodeValue::Str(_) => "string",
        NodeValue::Seq(_) => "list",
        NodeValue::Map(_) => "mapping",
    }
}

/// The finding code for a value that is not one of a field's allowed values.
fn value_code(field: &str) -> Code {
    fields::get(field).map_or(Code::InvalidValue, |f| f.invalid_code)
}

/// What a schema violation is about: the offending value, where, and how to quote it.
struct Subject<'a> {
    field: &'a str,
    path: String,
    node: Option<&'a Node>,
    under_secret: bool,
    shown: String,
}

/// The finding for one violation of the `kind` schema by the document `client`.
pub(super) fn schema_diagnostic<'a>(
    kind: schema::SchemaKind,
    client: &'a Node,
    keys: &mut KeyIndex<'a>,
    pointer: &str,
    problem: &Problem,
) -> Diagnostic {
    let field = pointer.split('/').nth(1).unwrap_or("");
    let node = client.at_pointer(pointer);
    let loc = node.map_or_else(|| client.loc.clone(), |n| n.loc.clone());
    let under_secret = field == fields::FieldId::Secret.name();
    let subject = Subject {
        field,
        path: pointer.trim_start_matches('/').replace('/', "."),
        node,
        under_secret,
        shown: describe(node, under_secret),
    };
    let Subject { path, shown, .. } = &subject;
    let within = |path: &str| match path {
        "" => String::new(),
        path => format!(" in `{path}`"),
    };
    let (code, message) = match problem {
        Problem::UnknownField(key) => {
            let loc = keys
                .key(client, pointer, key)
                .map_or(loc, |k| k.loc.clone());
            let hint = if pointer.is_empty() {
                suggestion(kind, key)
            } else {
                String::new()
            };
            let message = format!("unknown field `{key}`{}{hint}", within(path));
            return Diagnostic::new(Code::UnknownField, message, Some(loc));
        }
        Problem::MissingField(key) => (
            Code::MissingField,
            format!("missing required field `{key}`{}", within(path)),
        ),
        Problem::WrongType { expected } => wrong_type(&subject, expected),
        Problem::NotOneOf { options } => (
            value_code(field),
            format!("`{path}`: {shown} is not one of: {}", options.join(", ")),
        ),
        Problem::OutOfRange { min, max } => {
            let (min, max) = (min.as_deref().unwrap_or(""), max.as_deref().unwrap_or(""));
            let code = if field.ends_with("_ttl") {
                Code::TtlOutOfRange
            } else {
                Code::InvalidValue
            };
            (
                code,
                format!("`{path}` {shown} is out of range {min}..{max}"),
            )
        }
        Problem::PatternMismatch { pattern } => pattern_mismatch(&subject, pattern),
        Problem::TooShort => (Code::EmptyValue, format!("`{path}` must not be empty")),
        Problem::NeedsIdOrName => (Code::MissingField, format!("`{path}` needs `id` or `name`")),
        Problem::Other(text) => (Code::SchemaViolation, format!("`{path}`: {text}")),
    };
    Diagnostic::new(code, message, Some(loc))
}

/// A value of the wrong type, with the hint for YAML's usual traps.
fn wrong_type(subject: &Subject<'_>, expected: &str) -> (Code, String) {
    let Subject {
        path,
        node,
        under_secret,
        ..
    } = subject;
    let found = node.map_or("nothing", kind_name);
    let text = node.and_then(|n| n.as_str());
    let yaml11 = text.is_some_and(|s| {
        matches!(
            s.to_ascii_lowercase().as_str(),
            "yes" | "no" | "on" | "off" | "y" | "n"
        )
    });
    let number = matches!(
        node.map(|n| &n.value),
        Some(NodeValue::Int(_) | NodeValue::Float(_))
    );
    let hint = match expected {
        "boolean" if yaml11 && !under_secret => {
            " (YAML 1.2 reads yes/no/on/off as strings: write true or false)"
        }
        "integer" if text.is_some_and(|s| s.parse::<i64>().is_ok()) => " (remove the quotes)",
        "string" if number => " (quote it)",
        _ => "",
    };
    let expected = match expected {
        "array" => "a list",
        "object" => "a mapping",
        "integer" => "an integer",
        "boolean" => "a boolean",
        "string" => "a string",
        other => other,
    };
    let composite = matches!(
        node.map(|n| &n.value),
        Some(NodeValue::Seq(_) | NodeValue::Map(_))
    );
    let shown = if *under_secret || node.is_some_and(|n| n.sensitive()) {
        " (not shown: it is sensitive)".to_string()
    } else if composite || node.is_none() {
        String::new()
    } else {
        format!(" {}", subject.shown)
    };
    (
        Code::InvalidType,
        format!("`{path}` must be {expected}, found {found}{shown}{hint}"),
    )
}

/// A string that does not match its pattern: a UUID, a non-blank text, a scope name, a
/// number written as a string.
fn pattern_mismatch(subject: &Subject<'_>, pattern: &str) -> (Code, String) {
    let Subject { path, shown, .. } = subject;
    if pattern == crate::kinds::client::manifest::UUID_PATTERN {
        (
            Code::InvalidUuid,
            format!("`{path}`: {shown} is not a UUID"),
        )
    } else if pattern == r"\S" {
        (Code::EmptyValue, format!("`{path}` must not be blank"))
    } else if pattern == r"^\S+$" && path == "name" {
        // A scope manifest's own name (a client's `name` may hold spaces).
        (
            Code::InvalidScopeName,
            format!("`{path}`: {shown} contains whitespace (boruta refuses it: must not contain whitespace)"),
        )
    } else if pattern == r"^\S+$" {
        (
            Code::InvalidScopeName,
            format!("`{path}`: {shown} contains whitespace (boruta silently drops such scopes)"),
        )
    } else {
        (
            value_code(subject.field),
            format!("`{path}`: {shown} must be a whole number written as a string"),
        )
    }
}

/// "; did you mean `x`?" for a misspelt top-level field.
fn suggestion(kind: schema::SchemaKind, key: &str) -> String {
    let best = schema::field_names(kind)
        .into_iter()
        .map(|name| (strsim::levenshtein(key, &name), name))
        .min();
    match best {
        Some((d, name)) if d <= 3 && d < key.len() => format!("; did you mean `{name}`?"),
        _ => String::new(),
    }
}
