//! A client manifest after validation: its identity and lifecycle as Rust types, and every
//! declared field keyed by [`FieldId`] with its value, where it sits and whether it may be
//! printed. Later stages read only this: never the YAML tree, never a field by its name.
//!
//! Values are kept in their wire form (JSON, substituted), since that is what the schema
//! checked, what boruta's rules judge, what a request sends and what the server's answer is
//! compared with; the field catalogue says how each one compares and what it defaults to.
//! Both values and positions are compact ([`Wire`]: scalars and string lists as themselves,
//! other lists and mappings as JSON text; [`Pos`], the file being the client's; the parts'
//! pointers in one text): 100,000 clients must fit in a few hundred MB.

use super::fields::FieldId;
use super::manifest::{Ensure, IdentityProviderRef, ScopeRef};
use crate::diff::same::Expected;
use crate::source::{Location, Node, NodeValue};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

/// Where a value sits in the client's file: 1-based line and column (in characters), and
/// how many characters to underline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
    pub len: u32,
}

impl Pos {
    /// The position of a location (in the same file).
    pub fn of(location: &Location) -> Pos {
        let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Pos {
            line: narrow(location.line),
            col: narrow(location.col),
            len: narrow(location.len),
        }
    }
}

/// A declared value in its wire form, compactly: a scalar as itself, a list of strings as
/// its strings, any other list or mapping as its JSON text (parsed again by the rare stage
/// that reads inside it). A `serde_json::Value` tree costs about ten times its text: 100,000
/// clients' values as trees were most of what `plan` held.
#[derive(Debug, Clone, PartialEq)]
pub enum Wire {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Box<str>),
    Strings(Box<[Box<str>]>),
    /// Compact JSON text of a list or mapping that is not a list of strings.
    Json(Box<str>),
}

impl Wire {
    /// The wire form of a YAML value (what `Node::to_json` gives, kept compactly).
    pub fn of(node: &Node) -> Wire {
        match &node.value {
            NodeValue::Null => Wire::Null,
            NodeValue::Bool(b) => Wire::Bool(*b),
            NodeValue::Int(i) => Wire::Int(*i),
            // Not a JSON number (NaN, infinities): `to_json` makes it null.
            NodeValue::Float(f) if !f.is_finite() => Wire::Null,
            NodeValue::Float(f) => Wire::Float(*f),
            NodeValue::Str(s) => Wire::Str(s.as_str().into()),
            NodeValue::Seq(items) if items.iter().all(|i| i.as_str().is_some()) => Wire::Strings(
                items
                    .iter()
                    .filter_map(|i| Some(i.as_str()?.into()))
                    .collect(),
            ),
            NodeValue::Seq(_) | NodeValue::Map(_) => Wire::Json(node.to_json().to_string().into()),
        }
    }

    /// The value as JSON.
    pub fn to_value(&self) -> Value {
        match self {
            Wire::Null => Value::Null,
            Wire::Bool(b) => Value::Bool(*b),
            Wire::Int(i) => Value::from(*i),
            Wire::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Wire::Str(s) => Value::String(s.to_string()),
            Wire::Strings(items) => items.iter().map(|s| Value::String(s.to_string())).collect(),
            // The text was written from a JSON value: it parses.
            Wire::Json(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        }
    }

    /// Whether the value as JSON is `actual` (`self.to_value() == *actual`), without
    /// building it when it is not a list or mapping.
    pub fn equals(&self, actual: &Value) -> bool {
        match self {
            Wire::Null => actual.is_null(),
            Wire::Bool(b) => actual.as_bool() == Some(*b),
            Wire::Int(i) => {
                matches!(actual, Value::Number(n) if *n == serde_json::Number::from(*i))
            }
            Wire::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(number) => matches!(actual, Value::Number(n) if *n == number),
                None => actual.is_null(),
            },
            Wire::Str(s) => actual.as_str() == Some(&**s),
            Wire::Strings(items) => actual.as_array().is_some_and(|a| {
                a.len() == items.len()
                    && a.iter()
                        .zip(items.iter())
                        .all(|(v, s)| v.as_str() == Some(&**s))
            }),
            Wire::Json(_) => self.to_value() == *actual,
        }
    }

    /// What the value's JSON text must hold (`crate::diff::same`), compared without
    /// building it; `None` for a list or mapping held as text (parse it).
    pub fn expected(&self) -> Option<Expected<'_>> {
        Some(match self {
            Wire::Null => Expected::Null,
            Wire::Bool(b) => Expected::Bool(*b),
            Wire::Int(i) => Expected::Int(*i),
            Wire::Float(f) => Expected::Float(*f),
            Wire::Str(s) => Expected::Str(s),
            Wire::Strings(items) => Expected::Strings(items),
            Wire::Json(_) => return None,
        })
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Wire::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Wire::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Wire::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A list of strings' items (empty for anything else).
    pub fn strings(&self) -> impl Iterator<Item = &str> {
        let items: &[Box<str>] = match self {
            Wire::Strings(items) => items,
            _ => &[],
        };
        items.iter().map(|s| &**s)
    }
}

/// Where the parts of a value are (`/0`, `/type`, `/0/name`, relative to the value), in
/// document order: the pointers one after another in one text, each with where it ends.
#[derive(Debug, Clone, Default)]
pub struct Parts {
    pointers: Box<str>,
    ends: Box<[(u32, Pos)]>,
}

impl Parts {
    fn read(node: &Node) -> Option<Box<Parts>> {
        let (mut pointers, mut ends) = (String::new(), Vec::new());
        collect_parts(node, &mut String::new(), &mut pointers, &mut ends);
        (!ends.is_empty()).then(|| {
            Box::new(Parts {
                pointers: pointers.into_boxed_str(),
                ends: ends.into_boxed_slice(),
            })
        })
    }

    fn find(&self, pointer: &str) -> Option<Pos> {
        let mut start = 0;
        for (end, pos) in self.ends.iter() {
            let end = *end as usize;
            if self.pointers.get(start..end) == Some(pointer) {
                return Some(*pos);
            }
            start = end;
        }
        None
    }
}

/// One declared field of a client.
#[derive(Debug, Clone)]
pub struct Declared {
    pub field: FieldId,
    /// Some of the value came from the environment or a file outside the manifest
    /// directory: it is never printed.
    pub sensitive: bool,
    /// Some of the value could not be substituted: it is the reference's text, which no
    /// rule judges and nothing prints.
    pub unresolved: bool,
    /// The key's position (findings about the field as a whole point there).
    pub key: Pos,
    /// The value's position.
    pub at: Pos,
    /// The value as it goes on the wire (substituted).
    pub value: Wire,
    /// Positions of the parts of the value (none for a scalar).
    parts: Option<Box<Parts>>,
}

impl Declared {
    /// The position of a part (`""` for the value itself), if the value has that part.
    pub fn part(&self, pointer: &str) -> Option<Pos> {
        if pointer.is_empty() {
            return Some(self.whole());
        }
        self.parts.as_ref()?.find(pointer)
    }

    /// Where the whole value is: a block list or mapping begins at its first dash or key,
    /// one character on a line of its own, so a finding about all of it points at its key.
    pub fn whole(&self) -> Pos {
        let composite = matches!(self.value, Wire::Strings(_) | Wire::Json(_));
        match composite && self.at.line > self.key.line {
            true => self.key,
            false => self.at,
        }
    }

    /// A list's elements as text (non-strings skipped), with their positions.
    pub fn items(&self) -> impl Iterator<Item = (&str, Pos)> {
        // A list of strings has one part per item, `/0`, `/1`, ... in order (its items are
        // scalars, with nothing below them): read them in step rather than each by its
        // pointer (the security rules ask for items of every client several times).
        let ends = self.parts.as_deref().map_or(&[][..], |p| &p.ends[..]);
        let in_step = ends.len() == self.value.strings().count();
        self.value
            .strings()
            .enumerate()
            .filter_map(move |(i, item)| {
                let at = match in_step {
                    true => ends[i].1,
                    false => self.part(&format!("/{i}"))?,
                };
                Some((item, at))
            })
    }

    /// Builds the declared field of `key: node` (positions and provenance read once).
    pub fn read(field: FieldId, key: &Node, node: &Node) -> Declared {
        Declared {
            field,
            value: Wire::of(node),
            key: Pos::of(&key.loc),
            at: Pos::of(&node.loc),
            parts: Parts::read(node),
            sensitive: node.any_sensitive(),
            unresolved: node.any_unresolved(),
        }
    }
}

fn collect_parts(node: &Node, path: &mut String, pointers: &mut String, out: &mut Vec<(u32, Pos)>) {
    let children: Box<dyn Iterator<Item = (String, &Node)>> = match &node.value {
        NodeValue::Seq(items) => {
            Box::new(items.iter().enumerate().map(|(i, n)| (i.to_string(), n)))
        }
        NodeValue::Map(pairs) => Box::new(pairs.iter().map(|(k, v)| (k.key_text(), v))),
        _ => return,
    };
    for (segment, child) in children {
        let len = path.len();
        path.push('/');
        path.push_str(&segment);
        pointers.push_str(path);
        let end = u32::try_from(pointers.len()).unwrap_or(u32::MAX);
        out.push((end, Pos::of(&child.loc)));
        collect_parts(child, path, pointers, out);
        path.truncate(len);
    }
}

/// `lifecycle`: how boruta-gitops manages the client.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    pub ensure: Ensure,
    /// Fields whose changes are shown but never counted nor sent.
    pub ignore_changes: Vec<FieldId>,
}

/// A validated client manifest.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    /// Lower-case id: explicit, or derived from the name.
    pub id: Uuid,
    pub id_explicit: bool,
    pub name: String,
    /// The file the manifest is in, and the first and last line it occupies.
    pub file: Arc<str>,
    pub lines: (u32, u32),
    /// Where the manifest starts (its mapping).
    pub at: Pos,
    pub identity_provider: IdentityProviderRef,
    pub authorized_scopes: Option<Vec<ScopeRef>>,
    pub lifecycle: Lifecycle,
    /// `secret_delivery`: where the client's secret is delivered, if anywhere.
    pub secret_delivery: Option<SecretDelivery>,
    /// Every declared catalogue field, in manifest order.
    pub fields: Box<[Declared]>,
}

/// `secret_delivery`: the secret store location the client's secret is written to (never
/// sent to boruta), and where the key sits (findings about the delivery point there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDelivery {
    pub location: crate::deliver::Location,
    pub key: Pos,
}

impl ClientSpec {
    /// The declared field, if any.
    pub fn get(&self, field: FieldId) -> Option<&Declared> {
        self.fields.iter().find(|d| d.field == field)
    }

    /// True when the manifest says the client must not exist.
    pub fn absent(&self) -> bool {
        self.lifecycle.ensure == Ensure::Absent
    }

    /// True when changes of `field` are ignored (`lifecycle.ignore_changes`).
    pub fn ignores(&self, field: FieldId) -> bool {
        self.lifecycle.ignore_changes.contains(&field)
    }

    /// True when the manifest declares a secret.
    pub fn declares_secret(&self) -> bool {
        self.get(FieldId::Secret).is_some()
    }

    /// The location of a position in this client's file.
    pub fn location(&self, pos: Pos) -> Location {
        Location {
            file: self.file.clone(),
            line: pos.line as usize,
            col: pos.col as usize,
            len: pos.len.max(1) as usize,
        }
    }

    /// Where a part of a declared field is (`part` relative to the value: `""`, `/0`,
    /// `/type`), or the field's value, or the client's name when the field is not
    /// declared.
    pub fn locate(&self, field: FieldId, part: &str) -> Location {
        let pos = match self.get(field) {
            Some(declared) => declared.part(part).unwrap_or(declared.whole()),
            None => self.name_at(),
        };
        self.location(pos)
    }

    /// Where a boruta error about member `name` (a field, or a non-field key such as
    /// `private_key`) points, with the part below it (`/1`).
    pub fn locate_member(&self, name: &str, part: &str) -> Location {
        match FieldId::parse(name) {
            Some(field) => self.locate(field, part),
            None => self.location(self.name_at()),
        }
    }

    /// Where the name's value is (findings about the client as a whole point there).
    pub fn name_at(&self) -> Pos {
        self.get(FieldId::Name).map_or(self.at, |d| d.at)
    }

    /// A manifest value for a message: `text` in backticks, or a placeholder when the field
    /// is sensitive (it must never be printed).
    pub fn quote(&self, field: FieldId, text: &str) -> String {
        match self.get(field) {
            Some(declared) if declared.sensitive || declared.unresolved => {
                "(a sensitive value)".to_string()
            }
            _ => format!("`{text}`"),
        }
    }

    /// Every sensitive text of the manifest (substituted values, the declared secret), for
    /// redaction.
    pub fn sensitive_texts(&self) -> Vec<String> {
        let mut out = Vec::new();
        for declared in self.fields.iter() {
            if declared.sensitive || declared.field == FieldId::Secret {
                strings(&declared.value.to_value(), &mut out);
            }
        }
        out
    }
}

fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) if !text.is_empty() => out.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}
