//! A client manifest after validation: its identity and lifecycle as Rust types, and every
//! declared field keyed by [`FieldId`] with its value, where it sits and whether it may be
//! printed. Later stages read only this: never the YAML tree, never a field by its name.
//!
//! Values are kept in their wire form (JSON, substituted), since that is what the schema
//! checked, what boruta's rules judge, what a request sends and what the server's answer is
//! compared with; the field catalogue says how each one compares and what it defaults to.
//! Positions are compact (`Pos`, the file being the client's): 100,000 clients must fit in
//! a few hundred MB.

use super::fields::FieldId;
use super::manifest::{Ensure, IdentityProviderRef, ScopeRef};
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

/// One declared field of a client.
#[derive(Debug, Clone)]
pub struct Declared {
    pub field: FieldId,
    /// The value as it goes on the wire (substituted).
    pub value: Value,
    /// The key's position (findings about the field as a whole point there).
    pub key: Pos,
    /// The value's position.
    pub at: Pos,
    /// Positions of the parts of the value, by pointer relative to it (`/0`, `/type`,
    /// `/0/name`), in document order.
    pub parts: Box<[(Box<str>, Pos)]>,
    /// Some of the value came from the environment or a file outside the manifest
    /// directory: it is never printed.
    pub sensitive: bool,
    /// Some of the value could not be substituted: it is the reference's text, which no
    /// rule judges and nothing prints.
    pub unresolved: bool,
}

impl Declared {
    /// The position of a part (`""` for the value itself), if the value has that part.
    pub fn part(&self, pointer: &str) -> Option<Pos> {
        if pointer.is_empty() {
            return Some(self.at);
        }
        self.parts
            .iter()
            .find(|(p, _)| &**p == pointer)
            .map(|(_, pos)| *pos)
    }

    /// A list's elements as text (non-strings skipped), with their positions.
    pub fn items(&self) -> impl Iterator<Item = (&str, Pos)> {
        self.value
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, item)| Some((item.as_str()?, self.part(&format!("/{i}"))?)))
    }

    /// Builds the declared field of `key: node` (positions and provenance read once).
    pub fn read(field: FieldId, key: &Node, node: &Node) -> Declared {
        let mut parts = Vec::new();
        collect_parts(node, &mut String::new(), &mut parts);
        Declared {
            field,
            value: node.to_json(),
            key: Pos::of(&key.loc),
            at: Pos::of(&node.loc),
            parts: parts.into_boxed_slice(),
            sensitive: node.any_sensitive(),
            unresolved: node.any_unresolved(),
        }
    }
}

fn collect_parts(node: &Node, path: &mut String, out: &mut Vec<(Box<str>, Pos)>) {
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
        out.push((path.as_str().into(), Pos::of(&child.loc)));
        collect_parts(child, path, out);
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
            Some(declared) => declared.part(part).unwrap_or(declared.at),
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
    pub fn sensitive_texts(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for declared in self.fields.iter() {
            if declared.sensitive || declared.field == FieldId::Secret {
                strings(&declared.value, &mut out);
            }
        }
        out
    }
}

fn strings<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(text) if !text.is_empty() => out.push(text),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}
