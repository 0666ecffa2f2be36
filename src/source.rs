//! Positions and findings: where a value sits in which file, and the `Diagnostic` every
//! stage reports instead of failing early.
//!
//! This module owns the vocabulary shared by the loader, the validator and the renderers:
//! a [`Location`] is the `file:line:col` of one YAML value (1-based, columns in characters),
//! a [`Diagnostic`] is one finding with a stable kebab-case code. It imports nothing from the
//! crate and does no I/O.

pub use crate::findings::Code;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// The `file:line:col` of a value, plus how many characters it spans on its first line
/// (so the human renderer can underline it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    /// The path as the user gave it (relative paths stay relative), `/`-separated.
    pub file: Arc<str>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub col: usize,
    /// Characters to underline, at least 1.
    #[serde(skip)]
    pub len: usize,
}

impl Location {
    /// A location pointing at the very start of a file (for file-level findings).
    pub fn file_start(file: &Arc<str>) -> Self {
        Location {
            file: file.clone(),
            line: 1,
            col: 1,
            len: 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// How bad a finding is. Only errors make `validate` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

/// One finding. `code` is stable and documented in the README; `message` never contains a
/// sensitive value (callers are responsible for not quoting secrets or substituted values).
/// Serialized as `severity`, `code`, `message`, then the location's `file`, `line`, `col`
/// when it has one, then `waived` when waived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub location: Option<Location>,
    /// Set when a `# boruta-gitops:allow CODE reason` comment waives it: the reason. A
    /// waived finding is still listed, and never counts as an error.
    pub waived: Option<String>,
}

/// Written by hand, not derived with `#[serde(flatten)]` for the location: flattening
/// goes through serde's generic map machinery, about three times the instructions of a
/// struct (a plan at 100,000 clients carries 100,000 findings). The fields and their
/// order are the derived ones'.
impl Serialize for Diagnostic {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let fields =
            3 + 3 * usize::from(self.location.is_some()) + usize::from(self.waived.is_some());
        let mut out = serializer.serialize_struct("Diagnostic", fields)?;
        out.serialize_field("severity", &self.severity)?;
        out.serialize_field("code", &self.code)?;
        out.serialize_field("message", &self.message)?;
        if let Some(location) = &self.location {
            out.serialize_field("file", &*location.file)?;
            out.serialize_field("line", &location.line)?;
            out.serialize_field("col", &location.col)?;
        }
        if let Some(waived) = &self.waived {
            out.serialize_field("waived", waived)?;
        }
        out.end()
    }
}

impl Diagnostic {
    /// A finding of `code`, at the code's default severity.
    pub fn new(code: Code, message: impl Into<String>, location: Option<Location>) -> Self {
        Diagnostic {
            severity: code.severity(),
            code,
            message: message.into(),
            location,
            waived: None,
        }
    }

    /// The same finding at another severity (a policy, `validate` running offline).
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// An error that counts: not waived.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error && self.waived.is_none()
    }
}

/// Sort findings the way users read them: by file, line, column, then severity and code.
pub fn sort_diagnostics(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (&a.location, a.severity, a.code.as_str(), &a.message).cmp(&(
            &b.location,
            b.severity,
            b.code.as_str(),
            &b.message,
        ))
    });
}

/// True when `pattern` matches all of `text`, where `*` matches any run of characters
/// (`/` included): `--select` names, `--exclude` paths.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// True when any finding is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

/// The text of every file read, keyed by its display path, so renderers can quote the line
/// a finding points at.
pub type SourceMap = std::collections::BTreeMap<Arc<str>, Arc<str>>;

/// A YAML value with the position of its first character. The loader builds this tree;
/// everything after it reads values and positions from the same place.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    pub loc: Location,
    /// Where the value came from, which decides whether it may be printed.
    pub origin: Origin,
}

/// Where a value came from (README, "Security model").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// Written in the manifest.
    #[default]
    Literal,
    /// `${env:..}`: sensitive, never printed.
    Env,
    /// `${file:..}` inside the manifest directory: as public as the manifest.
    FileInRoot,
    /// `${file:..}` from a `--file-root` outside the manifest directory: sensitive.
    FileOutsideRoot,
    /// A reference that could not be resolved: the value is still the reference text,
    /// so no rule judges it, and it is treated as sensitive.
    Unresolved,
}

impl Origin {
    pub fn sensitive(self) -> bool {
        matches!(
            self,
            Origin::Env | Origin::FileOutsideRoot | Origin::Unresolved
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Pairs in source order; duplicate keys are kept so the validator can report them.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The value of `key` in a mapping (the last one when the key is repeated, as YAML loaders do).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value node of `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.value {
            NodeValue::Map(pairs) => pairs
                .iter()
                .rev()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Follows a JSON pointer (`/redirect_uris/1`) to the node it names.
    pub fn at_pointer(&self, pointer: &str) -> Option<&Node> {
        let mut node = self;
        for raw in pointer.split('/').skip(1) {
            // Escapes are rare: most segments are used as they are.
            let segment = match raw.contains('~') {
                true => std::borrow::Cow::Owned(raw.replace("~1", "/").replace("~0", "~")),
                false => std::borrow::Cow::Borrowed(raw),
            };
            node = match &node.value {
                NodeValue::Map(_) => node.get(&segment)?,
                NodeValue::Seq(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The JSON form of this value, for schema validation and the wire.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(pairs) => {
                let mut map = serde_json::Map::with_capacity(pairs.len());
                for (k, v) in pairs {
                    map.insert(k.key_text(), v.to_json());
                }
                Value::Object(map)
            }
        }
    }

    /// A mapping key as text (YAML allows non-string keys; JSON does not).
    pub fn key_text(&self) -> String {
        match &self.value {
            NodeValue::Str(s) => s.clone(),
            NodeValue::Null => "null".into(),
            NodeValue::Bool(b) => b.to_string(),
            NodeValue::Int(i) => i.to_string(),
            NodeValue::Float(f) => f.to_string(),
            NodeValue::Seq(_) | NodeValue::Map(_) => "<complex key>".into(),
        }
    }

    /// The last line this value (and everything below it) occupies.
    pub fn last_line(&self) -> usize {
        let below = match &self.value {
            NodeValue::Seq(items) => items.iter().map(Node::last_line).max(),
            NodeValue::Map(pairs) => pairs.iter().map(|(_, v)| v.last_line()).max(),
            NodeValue::Str(text) => {
                Some(self.loc.line + text.bytes().filter(|&b| b == b'\n').count())
            }
            _ => None,
        };
        below.unwrap_or(self.loc.line).max(self.loc.line)
    }

    /// True when this value must never be printed.
    pub fn sensitive(&self) -> bool {
        self.origin.sensitive()
    }

    /// True when some value at or below this node satisfies `test`.
    pub fn any(&self, test: &dyn Fn(&Node) -> bool) -> bool {
        test(self)
            || match &self.value {
                NodeValue::Seq(items) => items.iter().any(|i| i.any(test)),
                NodeValue::Map(pairs) => pairs.iter().any(|(_, v)| v.any(test)),
                _ => false,
            }
    }

    /// True when this value or anything below it is sensitive.
    pub fn any_sensitive(&self) -> bool {
        self.any(&Node::sensitive)
    }

    /// True when this value or anything below it could not be substituted.
    pub fn any_unresolved(&self) -> bool {
        self.any(&|n: &Node| n.origin == Origin::Unresolved)
    }

    /// Every sensitive text at or below this node (substituted values), for redaction.
    pub fn sensitive_texts<'a>(&'a self, out: &mut Vec<&'a str>) {
        match &self.value {
            NodeValue::Str(text) if self.sensitive() => out.push(text),
            NodeValue::Seq(items) => items.iter().for_each(|item| item.sensitive_texts(out)),
            NodeValue::Map(pairs) => pairs.iter().for_each(|(_, v)| v.sensitive_texts(out)),
            _ => {}
        }
    }
}

/// A `# boruta-gitops:allow CODE[,CODE...] reason` comment, and the lines it covers: the
/// value below it (its line and the lines indented under it), or the whole document when
/// it stands above the document's first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    /// Where the comment is.
    pub loc: Location,
    pub codes: Vec<String>,
    /// Empty when the comment gives none (which is itself an error).
    pub reason: String,
    /// `until=YYYY-MM-DD` as written (checked by the policy): the last day it applies.
    pub until: Option<String>,
    /// First and last line covered (1-based, inclusive).
    pub lines: (usize, usize),
}

impl Waiver {
    /// True when this waiver applies to a finding `code` at `location`.
    pub fn covers(&self, code: Code, location: &Location) -> bool {
        location.file == self.loc.file
            && (self.lines.0..=self.lines.1).contains(&location.line)
            && self.codes.iter().any(|c| c == code.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields and their order are those `#[serde(flatten)]` on the location gave: the
    /// plan's JSON and `validate --format json` must not change with the hand-written
    /// serialization.
    #[test]
    fn a_finding_serializes_with_its_location_flattened_and_waiver_last() {
        let file: Arc<str> = Arc::from("manifests/a \"b\".yaml");
        let at = Location {
            file,
            line: 3,
            col: 7,
            len: 4,
        };
        let mut finding = Diagnostic::new(Code::BorutaVersionMismatch, "m\n", Some(at));
        let json = serde_json::to_string(&finding).unwrap();
        assert_eq!(
            json,
            r#"{"severity":"warning","code":"boruta-version-mismatch","message":"m\n","file":"manifests/a \"b\".yaml","line":3,"col":7}"#
        );
        finding.waived = Some("known".into());
        finding.location = None;
        let pretty = serde_json::to_string_pretty(&finding).unwrap();
        assert_eq!(
            pretty,
            "{\n  \"severity\": \"warning\",\n  \"code\": \"boruta-version-mismatch\",\n  \"message\": \"m\\n\",\n  \"waived\": \"known\"\n}"
        );
        let value = serde_json::to_value(&finding).unwrap();
        assert_eq!(value["waived"], "known");
        assert!(value.get("file").is_none());
    }
}
