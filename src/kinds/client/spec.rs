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
use crate::source::{Location, Node, NodeValue, Origin};
use serde_json::Value;
use std::cell::RefCell;
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
    /// The wire form of a YAML value (what `Node::to_json` gives, kept compactly). `json`,
    /// when the caller already has it, is that value's `to_json()` (built once for the
    /// schema check): its strings move into the wire form instead of being copied.
    pub fn of(node: &Node, json: Option<Value>) -> Wire {
        Wire::from_json(json.unwrap_or_else(|| node.to_json()))
    }

    /// The wire form of a JSON value.
    fn from_json(json: Value) -> Wire {
        match json {
            Value::Null => Wire::Null,
            Value::Bool(b) => Wire::Bool(b),
            // `to_json` writes an integer as i64 and a float as f64 (never integral i64).
            Value::Number(n) => match n.as_i64() {
                Some(i) => Wire::Int(i),
                None => n.as_f64().map_or(Wire::Null, Wire::Float),
            },
            Value::String(s) => Wire::Str(s.into_boxed_str()),
            Value::Array(items) if items.iter().all(Value::is_string) => Wire::Strings(
                items
                    .into_iter()
                    .map(|item| match item {
                        Value::String(s) => s.into_boxed_str(),
                        _ => Box::default(),
                    })
                    .collect(),
            ),
            list_or_map => Wire::Json(compact(&list_or_map).into()),
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

/// The compact JSON text of a value (what its `Display` writes).
fn compact(value: &Value) -> String {
    // A `Value` always serializes (its keys are strings).
    serde_json::to_string(value).unwrap_or_default()
}

/// Where the parts of a value are (`/0`, `/type`, `/0/name`, relative to the value), in
/// document order: the pointers one after another in one text, each with where it ends.
#[derive(Debug, Clone, Default)]
pub struct Parts {
    pointers: Box<str>,
    ends: Box<[(u32, Pos)]>,
}

impl Parts {
    /// The parts below `node`, and whether any value at or below it is sensitive or
    /// unresolved (one walk for the three).
    fn read(node: &Node) -> (Option<Box<Parts>>, Provenance) {
        if !matches!(node.value, NodeValue::Seq(_) | NodeValue::Map(_)) {
            return (None, Provenance::of(node));
        }
        // The walk's buffers are the thread's, reused for every field of every client:
        // the parts are copied out once, exactly sized.
        SCRATCH.with_borrow_mut(|walk| {
            walk.path.clear();
            walk.pointers.clear();
            walk.ends.clear();
            walk.provenance = Provenance::of(node);
            walk.children(node);
            let parts = (!walk.ends.is_empty()).then(|| {
                Box::new(Parts {
                    pointers: walk.pointers.as_str().into(),
                    ends: walk.ends.as_slice().into(),
                })
            });
            let provenance = walk.provenance;
            if walk.pointers.capacity() > Walk::MAX_KEPT {
                *walk = Walk::default();
            }
            (parts, provenance)
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
    /// `json` is the value's `to_json()` when the caller already built it.
    pub fn read(field: FieldId, key: &Node, node: &Node, json: Option<Value>) -> Declared {
        let (parts, provenance) = Parts::read(node);
        Declared {
            field,
            value: Wire::of(node, json),
            key: Pos::of(&key.loc),
            at: Pos::of(&node.loc),
            parts,
            sensitive: provenance.sensitive,
            unresolved: provenance.unresolved,
        }
    }
}

/// Whether some value at or below a node is sensitive, or unresolved
/// ([`Node::any_sensitive`], [`Node::any_unresolved`]).
#[derive(Clone, Copy, Default)]
struct Provenance {
    sensitive: bool,
    unresolved: bool,
}

impl Provenance {
    fn of(node: &Node) -> Provenance {
        Provenance {
            sensitive: node.sensitive(),
            unresolved: node.origin == Origin::Unresolved,
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Walk> = RefCell::default();
}

/// The walk below a declared value: the pointer of the current part, the pointers and
/// positions found so far, and the provenance seen so far.
#[derive(Default)]
struct Walk {
    path: String,
    pointers: String,
    ends: Vec<(u32, Pos)>,
    provenance: Provenance,
}

impl Walk {
    /// Buffers larger than this (a huge value) are not kept for the next field.
    const MAX_KEPT: usize = 64 * 1024;

    /// Every part below `node`, in document order (a part's own parts follow it).
    fn children(&mut self, node: &Node) {
        let len = self.path.len();
        match &node.value {
            NodeValue::Seq(items) => {
                for (i, child) in items.iter().enumerate() {
                    self.path.push('/');
                    push_index(&mut self.path, i);
                    self.part(child);
                    self.path.truncate(len);
                }
            }
            NodeValue::Map(pairs) => {
                for (key, child) in pairs {
                    self.path.push('/');
                    match key.as_str() {
                        Some(text) => self.path.push_str(text),
                        None => self.path.push_str(&key.key_text()),
                    }
                    self.part(child);
                    self.path.truncate(len);
                }
            }
            _ => {}
        }
    }

    /// Records the part at `self.path` (just extended by its segment), then its parts.
    fn part(&mut self, child: &Node) {
        self.pointers.push_str(&self.path);
        let end = u32::try_from(self.pointers.len()).unwrap_or(u32::MAX);
        self.ends.push((end, Pos::of(&child.loc)));
        let own = Provenance::of(child);
        self.provenance.sensitive |= own.sensitive;
        self.provenance.unresolved |= own.unresolved;
        self.children(child);
    }
}

/// Appends the decimal digits of `i` (what `write!` does, without its formatter: the
/// parts of every list item of 100,000 clients).
fn push_index(out: &mut String, i: usize) {
    if i >= 10 {
        push_index(out, i / 10);
    }
    out.push(char::from(b'0' + (i % 10) as u8));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::yaml::parse_documents;

    fn declared(text: &str, key: &str) -> Declared {
        let (docs, _) = parse_documents(&Arc::from("t.yaml"), text);
        let (k, v) = docs[0].entry(key).expect("the key");
        Declared::read(FieldId::Name, k, v, None)
    }

    #[test]
    fn parts_of_keys_holding_a_slash_and_of_nested_lists() {
        let d = declared("v:\n  a/b: [x, y]\n  c: {d: 1}\n", "v");
        let at = |p: &str| d.part(p).map(|p| (p.line, p.col));
        assert_eq!(at("/a/b"), Some((2, 8)));
        assert_eq!(at("/a/b/1"), Some((2, 12)));
        assert_eq!(at("/c"), Some((3, 6)));
        assert_eq!(at("/c/d"), Some((3, 10)));
        assert_eq!(at("/a"), None);
    }

    #[test]
    fn the_wire_form_is_the_same_with_or_without_the_json() {
        let (docs, _) = parse_documents(
            &Arc::from("t.yaml"),
            "s: text\nl: [a, b]\nm: {k: [1, x]}\ni: 3\nf: 3.0\nn: .nan\nb: true\nz: null\ne: []\n",
        );
        for key in ["s", "l", "m", "i", "f", "n", "b", "z", "e"] {
            let node = docs[0].get(key).unwrap();
            let built = Wire::of(node, None);
            assert_eq!(Wire::of(node, Some(node.to_json())), built);
            assert_eq!(built.to_value(), node.to_json());
        }
        let wire = |key: &str| Wire::of(docs[0].get(key).unwrap(), None);
        assert_eq!(wire("s"), Wire::Str("text".into()));
        assert_eq!(wire("l"), Wire::Strings(["a".into(), "b".into()].into()));
        assert_eq!(wire("e"), Wire::Strings(Box::default()));
        assert_eq!(wire("m"), Wire::Json(r#"{"k":[1,"x"]}"#.into()));
        assert_eq!(wire("i"), Wire::Int(3));
        assert_eq!(wire("f"), Wire::Float(3.0));
        assert_eq!(wire("n"), Wire::Null);
        assert_eq!(wire("b"), Wire::Bool(true));
    }
}
