//! YAML text -> [`Node`] trees, one per document, with the position of every value.
//!
//! This is the only file that names the YAML parser. We build the tree ourselves from
//! saphyr's events rather than deserializing, because every later finding needs the
//! `line:col` of the value it is about. Three defences live here: YAML 1.2 scalar
//! resolution (only `true`/`false` are booleans, so `yes`/`on` stay strings and fail the
//! schema loudly), a nesting limit (deep input cannot overflow the stack of later,
//! recursive stages), and an alias-expansion budget (no "billion laughs").

use crate::findings::Code;
use crate::source::{Diagnostic, Location, Node, NodeValue};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

/// Deeper nesting than this is refused. Real manifests use about 4 levels.
pub const MAX_DEPTH: usize = 64;
/// Alias expansion may add at most this many nodes per file (beyond the parsed ones).
pub const MAX_ALIAS_NODES: usize = 100_000;

enum Frame {
    Seq {
        items: Vec<Node>,
        loc: Location,
        anchor: usize,
    },
    Map {
        pairs: Vec<(Node, Node)>,
        key: Option<Node>,
        loc: Location,
        anchor: usize,
    },
}

/// Parses every document of `text`. On a syntax error, returns the documents completed
/// before it along with the error finding.
pub fn parse_documents(file: &Arc<str>, text: &str) -> (Vec<Node>, Option<Diagnostic>) {
    let mut tree = Tree::new(file, SPARE.take());
    let mut error = None;
    for event in Parser::new_from_str(text) {
        let step = match event {
            Ok((event, span)) => tree.event(event, &span),
            Err(e) => Err(scan_error(file, &e)),
        };
        if let Err(diagnostic) = step {
            error = Some(diagnostic);
            break;
        }
    }
    if error.is_none() {
        if let Some(node) = tree.root.take() {
            tree.docs.push(node);
        }
    }
    SPARE.set(tree.spare.keep());
    (tree.docs, error)
}

thread_local! {
    /// The emptied collection buffers of the files this thread parsed, for the next file.
    static SPARE: Cell<Spare> = Cell::default();
}

/// Collection buffers whose items moved into exactly sized vectors. A collection is built
/// in one of these and copied out once when it ends: growing a fresh vector for each
/// mapping (then shrinking it) was a third of the loader's own instructions.
#[derive(Default)]
struct Spare {
    items: Vec<Vec<Node>>,
    pairs: Vec<Vec<(Node, Node)>>,
}

impl Spare {
    /// A buffer kept for later holds at most this many values (a hostile file's huge
    /// mapping is not kept alive by the thread).
    const MAX_KEPT: usize = 256;

    /// What is worth keeping for the next file: small buffers, a few of them.
    fn keep(mut self) -> Spare {
        self.items.retain(|v| v.capacity() <= Self::MAX_KEPT);
        self.pairs.retain(|v| v.capacity() <= Self::MAX_KEPT);
        self.items.truncate(MAX_DEPTH);
        self.pairs.truncate(MAX_DEPTH);
        self
    }
}

/// The finding of a parser error.
fn scan_error(file: &Arc<str>, e: &saphyr_parser::ScanError) -> Diagnostic {
    let m = e.marker();
    let loc = Location {
        file: file.clone(),
        line: m.line(),
        col: m.col() + 1,
        len: 1,
    };
    // The scanner has its own nesting limit; report it like ours.
    if e.info().contains("recursion limit") {
        let message = format!("YAML nesting deeper than {MAX_DEPTH} levels is not accepted");
        Diagnostic::new(Code::YamlTooDeep, message, Some(loc))
    } else {
        let message = format!("invalid YAML: {}", e.info());
        Diagnostic::new(Code::YamlSyntax, message, Some(loc))
    }
}

/// The documents of one text as they are built from the parser's events.
struct Tree<'f> {
    file: &'f Arc<str>,
    docs: Vec<Node>,
    /// The collections opened and not yet closed, innermost last.
    stack: Vec<Frame>,
    /// The anchored values of the current document.
    anchors: HashMap<usize, Node>,
    /// The current document's value, once complete.
    root: Option<Node>,
    /// How many more nodes aliases may still add.
    alias_budget: usize,
    /// Empty buffers for the collections still to open.
    spare: Spare,
}

impl<'f> Tree<'f> {
    fn new(file: &'f Arc<str>, spare: Spare) -> Self {
        Tree {
            spare,
            file,
            docs: Vec::new(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            root: None,
            alias_budget: MAX_ALIAS_NODES,
        }
    }

    /// Takes one event; a finding stops the parse.
    fn event(&mut self, event: Event<'_>, span: &Span) -> Result<(), Diagnostic> {
        let complete = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => return Ok(()),
            Event::DocumentStart(_) => {
                self.root = None;
                self.anchors.clear();
                return Ok(());
            }
            Event::DocumentEnd => {
                if let Some(node) = self.root.take() {
                    self.docs.push(node);
                }
                return Ok(());
            }
            Event::SequenceStart(anchor, _) => return self.open(true, anchor, span),
            Event::MappingStart(anchor, _) => return self.open(false, anchor, span),
            Event::SequenceEnd | Event::MappingEnd => match self.close() {
                Some(node) => node,
                None => return Ok(()),
            },
            Event::Scalar(text, style, anchor, tag) => {
                let forced_string = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style == ScalarStyle::Plain && !forced_string {
                    resolve_plain(text)
                } else {
                    NodeValue::Str(text.into_owned())
                };
                let node = plain(value, location(self.file, span));
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                node
            }
            Event::Alias(anchor) => self.alias(anchor, location(self.file, span))?,
        };
        self.attach(complete);
        Ok(())
    }

    /// A sequence or mapping starts (within the nesting limit).
    fn open(&mut self, sequence: bool, anchor: usize, span: &Span) -> Result<(), Diagnostic> {
        let loc = location(self.file, span);
        if self.stack.len() >= MAX_DEPTH {
            let message = format!("YAML nesting deeper than {MAX_DEPTH} levels is not accepted");
            return Err(Diagnostic::new(Code::YamlTooDeep, message, Some(loc)));
        }
        self.stack.push(match sequence {
            true => Frame::Seq {
                items: self.spare.items.pop().unwrap_or_default(),
                loc,
                anchor,
            },
            false => Frame::Map {
                pairs: self.spare.pairs.pop().unwrap_or_default(),
                key: None,
                loc,
                anchor,
            },
        });
        Ok(())
    }

    /// The innermost open collection ends: its node (recorded when anchored).
    fn close(&mut self) -> Option<Node> {
        let (node, anchor) = match self.stack.pop()? {
            Frame::Seq {
                mut items,
                loc,
                anchor,
            } => {
                let exact = exactly(&mut items);
                self.spare.items.push(items);
                (plain(NodeValue::Seq(exact), loc), anchor)
            }
            Frame::Map {
                mut pairs,
                loc,
                anchor,
                ..
            } => {
                let exact = exactly(&mut pairs);
                self.spare.pairs.push(pairs);
                (plain(NodeValue::Map(exact), loc), anchor)
            }
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Some(node)
    }

    /// A copy of the anchored value, within the alias budget.
    fn alias(&mut self, anchor: usize, loc: Location) -> Result<Node, Diagnostic> {
        let Some(target) = self.anchors.get(&anchor) else {
            let message = "alias refers to an unknown anchor";
            return Err(Diagnostic::new(Code::YamlSyntax, message, Some(loc)));
        };
        let size = count_nodes(target);
        if size > self.alias_budget {
            let message = format!(
                "YAML aliases expand to more than {MAX_ALIAS_NODES} values; refusing to expand (alias bomb?)"
            );
            return Err(Diagnostic::new(Code::YamlAliasLimit, message, Some(loc)));
        }
        self.alias_budget -= size;
        let mut copy = target.clone();
        // Findings about the copy point at the alias, where the user used it.
        copy.loc = loc;
        Ok(copy)
    }

    /// A complete value goes into the open collection, or is the document's value.
    fn attach(&mut self, complete: Node) {
        match self.stack.last_mut() {
            Some(Frame::Seq { items, .. }) => items.push(complete),
            Some(Frame::Map { pairs, key, .. }) => match key.take() {
                None => *key = Some(complete),
                Some(k) => pairs.push((k, complete)),
            },
            None => self.root = Some(complete),
        }
    }
}

/// The items of a buffer moved into a vector of exactly their number (trees of 10,000
/// manifests stay in memory until the plan is made: no growth slack); the buffer is left
/// empty, for reuse.
fn exactly<T>(buffer: &mut Vec<T>) -> Vec<T> {
    let mut exact = Vec::with_capacity(buffer.len());
    exact.append(buffer);
    exact
}

fn plain(value: NodeValue, loc: Location) -> Node {
    Node {
        value,
        loc,
        origin: crate::source::Origin::Literal,
    }
}

fn location(file: &Arc<str>, span: &Span) -> Location {
    let len = if span.end.line() == span.start.line() && span.end.col() > span.start.col() {
        span.end.col() - span.start.col()
    } else {
        1
    };
    Location {
        file: file.clone(),
        line: span.start.line(),
        col: span.start.col() + 1,
        len,
    }
}

fn count_nodes(node: &Node) -> usize {
    match &node.value {
        NodeValue::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        NodeValue::Map(pairs) => {
            1 + pairs
                .iter()
                .map(|(k, v)| count_nodes(k) + count_nodes(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// YAML 1.2 core schema resolution of an unquoted scalar. Deliberately not YAML 1.1:
/// `yes`, `no`, `on`, `off` are strings. A string keeps the parser's text (not a copy:
/// the trees are short-lived, a copy per scalar was a sixth of building them).
fn resolve_plain(owned: Cow<'_, str>) -> NodeValue {
    let text: &str = &owned;
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Bool(true),
        "false" | "False" | "FALSE" => return NodeValue::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return NodeValue::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return NodeValue::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return NodeValue::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // Out-of-range integers stay strings rather than losing precision.
        return match text.parse::<i64>() {
            Ok(i) => NodeValue::Int(i),
            Err(_) => NodeValue::Str(owned.into_owned()),
        };
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return NodeValue::Int(i);
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return NodeValue::Int(i);
        }
    }
    let looks_float = digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_float {
        if let Ok(f) = text.parse::<f64>() {
            return NodeValue::Float(f);
        }
    }
    NodeValue::Str(owned.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<Node>, Option<Diagnostic>) {
        parse_documents(&Arc::from("t.yaml"), text)
    }

    #[test]
    fn yaml_1_1_booleans_stay_strings() {
        let (docs, err) = parse("a: yes\nb: on\nc: true\nd: '1'\ne: 12\n");
        assert!(err.is_none());
        let d = &docs[0];
        assert_eq!(d.get("a").unwrap().value, NodeValue::Str("yes".into()));
        assert_eq!(d.get("b").unwrap().value, NodeValue::Str("on".into()));
        assert_eq!(d.get("c").unwrap().value, NodeValue::Bool(true));
        assert_eq!(d.get("d").unwrap().value, NodeValue::Str("1".into()));
        assert_eq!(d.get("e").unwrap().value, NodeValue::Int(12));
    }

    #[test]
    fn positions_point_at_values() {
        let (docs, _) = parse("name: x\nredirect_uris:\n  - https://a/cb\n  - bad\n");
        let bad = docs[0].at_pointer("/redirect_uris/1").unwrap();
        assert_eq!((bad.loc.line, bad.loc.col, bad.loc.len), (4, 5, 3));
    }

    #[test]
    fn multiple_documents() {
        let (docs, err) = parse("a: 1\n---\nb: 2\n");
        assert!(err.is_none());
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = (b'a' + i - 1) as char;
            let cur = (b'a' + i) as char;
            text.push_str(&format!("{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let (_, err) = parse(&text);
        assert_eq!(err.unwrap().code, Code::YamlAliasLimit);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(10_000);
        let (_, err) = parse(&text);
        assert_eq!(err.unwrap().code, Code::YamlTooDeep);
    }
}
