//! Whether a JSON text holds an expected value, read straight from the text: nothing is
//! built (no `serde_json::Value` tree, no key or string allocated unless it has escapes).
//! A plan compares 100,000 server records, nearly all in sync, with their manifests;
//! parsing every compared member into a tree was a third of the comparison's cost.
//!
//! Every function here answers `true` only when the value the text parses to would
//! compare equal the way the full comparison compares it; `false` means "different, or
//! not sure" (duplicate keys, a member of another type, a malformed text), and the caller
//! then makes the full comparison. So a fast answer can never change a verdict.

use serde::de::{DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// What a JSON text is expected to hold.
#[derive(Debug, Clone, Copy)]
pub enum Expected<'a> {
    Null,
    Bool(bool),
    /// A number (compared as `serde_json::Number`s are: `1` is not `1.0`).
    Int(i64),
    Float(f64),
    Str(&'a str),
    /// A list of strings, in order.
    Strings(&'a [Box<str>]),
    /// Any JSON value.
    Value(&'a Value),
}

/// Whether `text` parses to a value equal to `expected` (as `Value`'s `==` says:
/// object keys in any order, numbers by their `serde_json::Number`).
pub fn text_is(text: &str, expected: Expected<'_>) -> bool {
    read(text, Same(expected))
}

/// Whether `text` is an object whose member `key` appears once, is a string, and
/// satisfies `wanted`.
pub fn member_str_is(text: &str, key: &str, wanted: impl Fn(&str) -> bool) -> bool {
    read(text, Member { key, wanted })
}

/// Whether `text` is a list of objects, as many as `expected`, the `i`-th of which has
/// member `key` once, a string equal to `expected[i]`.
pub fn members_are<S: AsRef<str>>(text: &str, key: &str, expected: &[S]) -> bool {
    read(text, Members { key, expected })
}

/// Runs `seed` on the whole of `text`: an error (a difference, bad JSON) is `false`.
fn read<'de, S: DeserializeSeed<'de, Value = ()>>(text: &'de str, seed: S) -> bool {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    seed.deserialize(&mut deserializer).is_ok() && deserializer.end().is_ok()
}

/// The error that stops a walk at the first difference.
fn differ<E: Error>() -> E {
    E::custom("different")
}

fn check<E: Error>(same: bool) -> Result<(), E> {
    same.then_some(()).ok_or_else(differ)
}

/// Walks a value, comparing it with what is expected as it is read.
struct Same<'a>(Expected<'a>);

impl Same<'_> {
    /// A number as `Value`'s visitor would build it, against the expected one.
    fn number<E: Error>(self, number: Number) -> Result<(), E> {
        check(match self.0 {
            Expected::Int(i) => number == Number::from(i),
            Expected::Float(f) => Number::from_f64(f) == Some(number),
            Expected::Value(Value::Number(n)) => *n == number,
            _ => false,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Same<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Same<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the expected value")
    }

    fn visit_unit<E: Error>(self) -> Result<(), E> {
        check(match self.0 {
            Expected::Null | Expected::Value(Value::Null) => true,
            // A float that is no JSON number is null on the wire.
            Expected::Float(f) => Number::from_f64(f).is_none(),
            _ => false,
        })
    }

    fn visit_bool<E: Error>(self, b: bool) -> Result<(), E> {
        check(match self.0 {
            Expected::Bool(x) | Expected::Value(&Value::Bool(x)) => x == b,
            _ => false,
        })
    }

    fn visit_u64<E: Error>(self, n: u64) -> Result<(), E> {
        self.number(Number::from(n))
    }

    fn visit_i64<E: Error>(self, n: i64) -> Result<(), E> {
        self.number(Number::from(n))
    }

    fn visit_f64<E: Error>(self, f: f64) -> Result<(), E> {
        match Number::from_f64(f) {
            Some(number) => self.number(number),
            None => self.visit_unit(),
        }
    }

    fn visit_str<E: Error>(self, s: &str) -> Result<(), E> {
        check(match self.0 {
            Expected::Str(x) => x == s,
            Expected::Value(Value::String(x)) => x == s,
            _ => false,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        match self.0 {
            Expected::Strings(items) => {
                for item in items {
                    seq.next_element_seed(Same(Expected::Str(item)))?
                        .ok_or_else(differ)?;
                }
            }
            Expected::Value(Value::Array(items)) => {
                for item in items {
                    seq.next_element_seed(Same(Expected::Value(item)))?
                        .ok_or_else(differ)?;
                }
            }
            _ => return Err(differ()),
        }
        check(seq.next_element::<IgnoredAny>()?.is_none())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Expected::Value(Value::Object(expected)) = self.0 else {
            return Err(differ());
        };
        // The expected keys met so far: a key met twice is a difference (a tree keeps the
        // last of them; this walk does not guess).
        let mut seen: Vec<&String> = Vec::with_capacity(expected.len());
        while let Some((key, value)) = map.next_key_seed(KeyOf(expected))? {
            if seen.iter().any(|s| std::ptr::eq(*s, key)) {
                return Err(differ());
            }
            seen.push(key);
            map.next_value_seed(Same(Expected::Value(value)))?;
        }
        check(seen.len() == expected.len())
    }
}

/// A key of an object, found among the expected object's keys (any other is a
/// difference).
struct KeyOf<'a>(&'a Map<String, Value>);

impl<'de, 'a> DeserializeSeed<'de> for KeyOf<'a> {
    type Value = (&'a String, &'a Value);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, 'a> Visitor<'de> for KeyOf<'a> {
    type Value = (&'a String, &'a Value);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an expected key")
    }

    fn visit_str<E: Error>(self, key: &str) -> Result<Self::Value, E> {
        self.0.get_key_value(key).ok_or_else(differ)
    }
}

/// Whether a key is the one looked for.
struct IsKey<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for IsKey<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for IsKey<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// A string satisfying a test.
struct StrWhere<F>(F);

impl<'de, F: Fn(&str) -> bool> DeserializeSeed<'de> for StrWhere<F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, F: Fn(&str) -> bool> Visitor<'de> for StrWhere<F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: Error>(self, s: &str) -> Result<(), E> {
        check((self.0)(s))
    }
}

/// An object whose member `key` is, once, a string satisfying `wanted`; other members
/// are skipped.
struct Member<'k, F> {
    key: &'k str,
    wanted: F,
}

impl<'de, F: Fn(&str) -> bool> DeserializeSeed<'de> for Member<'_, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, F: Fn(&str) -> bool> Visitor<'de> for Member<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut found = false;
        while let Some(is_key) = map.next_key_seed(IsKey(self.key))? {
            if !is_key {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if found {
                return Err(differ());
            }
            map.next_value_seed(StrWhere(&self.wanted))?;
            found = true;
        }
        check(found)
    }
}

/// A list of objects whose `i`-th has member `key` equal to `expected[i]`.
struct Members<'a, S> {
    key: &'a str,
    expected: &'a [S],
}

impl<'de, S: AsRef<str>> DeserializeSeed<'de> for Members<'_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, S: AsRef<str>> Visitor<'de> for Members<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for expected in self.expected {
            let expected = expected.as_ref();
            let member = Member {
                key: self.key,
                wanted: |s: &str| s == expected,
            };
            seq.next_element_seed(member)?.ok_or_else(differ)?;
        }
        check(seq.next_element::<IgnoredAny>()?.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Texts that differ from one another in form or in value.
    const TEXTS: &[&str] = &[
        "null",
        "true",
        "false",
        "0",
        "-0",
        "1",
        "1.0",
        "1e0",
        "10",
        "1e1",
        "-1",
        "-1.0",
        "18446744073709551615",
        "1.5",
        r#""a""#,
        r#""\u0061""#,
        r#""a/b""#,
        r#""a\/b""#,
        r#""é""#,
        r#""\u00e9""#,
        r#""\u00E9""#,
        "[]",
        "{}",
        r#"["a"]"#,
        r#"["\u0061"]"#,
        r#"["a","b"]"#,
        r#"["b","a"]"#,
        r#"["a","b","c"]"#,
        r#"[["a"]]"#,
        r#"[1,"a"]"#,
        r#"{"a":1}"#,
        r#"{"a":1.0}"#,
        r#"{"a":1,"b":2}"#,
        r#"{"b":2,"a":1}"#,
        r#"{"a":1,"a":1}"#,
        r#"{"a":1,"a":2}"#,
        r#"{"a":2,"a":1}"#,
        r#"{"\u0061":1}"#,
        r#"{"a":{"b":[true,null]}}"#,
        r#"{"a":{"b":[null,true]}}"#,
        r#" {"a" : 1 } "#,
        r#"{"a":1} x"#,
        r#"{"a":1"#,
        r#"[{"id":"X"}]"#,
    ];

    #[test]
    fn a_text_is_a_value_exactly_when_its_tree_equals_it() {
        for expected_text in TEXTS {
            let Ok(expected) = serde_json::from_str::<Value>(expected_text) else {
                continue;
            };
            for text in TEXTS {
                let tree = serde_json::from_str::<Value>(text).ok();
                let fast = text_is(text, Expected::Value(&expected));
                // Never equal when the trees differ; equal whenever they are the same
                // and the text has no duplicate key.
                let same = tree.as_ref() == Some(&expected);
                let duplicated = text.contains(r#""a":1,"a""#) || text.contains(r#""a":2,"a""#);
                assert_eq!(fast, same && !duplicated, "{text} against {expected_text}");
            }
        }
    }

    #[test]
    fn compact_expectations_compare_as_their_json_values() {
        let strings: Box<[Box<str>]> = vec!["a".into(), "b".into()].into_boxed_slice();
        let cases: Vec<(Expected<'_>, Value)> = vec![
            (Expected::Null, Value::Null),
            (Expected::Bool(true), json!(true)),
            (Expected::Int(1), json!(1)),
            (Expected::Int(-1), json!(-1)),
            (Expected::Float(1.0), json!(1.0)),
            (Expected::Float(f64::NAN), Value::Null),
            (Expected::Str("a/b"), json!("a/b")),
            (Expected::Str("é"), json!("é")),
            (Expected::Strings(&strings), json!(["a", "b"])),
            (Expected::Strings(&[]), json!([])),
        ];
        for (expected, value) in &cases {
            for text in TEXTS {
                let tree = serde_json::from_str::<Value>(text).ok();
                assert_eq!(
                    text_is(text, *expected),
                    tree.as_ref() == Some(value),
                    "{text} against {expected:?}"
                );
            }
        }
    }

    #[test]
    fn a_member_is_read_once_as_a_string() {
        let upper = |s: &str| s.eq_ignore_ascii_case("ab");
        assert!(member_str_is(r#"{"name":"x","id":"AB"}"#, "id", upper));
        assert!(member_str_is(r#"{"\u0069d":"\u0061B"}"#, "id", upper));
        assert!(!member_str_is(r#"{"id":"AB","id":"AB"}"#, "id", upper));
        assert!(!member_str_is(r#"{"id":"AC"}"#, "id", upper));
        assert!(!member_str_is(r#"{"id":1}"#, "id", upper));
        assert!(!member_str_is(r#"{"name":"ab"}"#, "id", upper));
        assert!(!member_str_is(r#"["ab"]"#, "id", upper));
        assert!(!member_str_is("null", "id", upper));
    }

    #[test]
    fn a_list_of_objects_has_the_expected_members_in_order() {
        let text = r#"[{"id":"1","name":"a","public":false},{"name":"b\/c"}]"#;
        assert!(members_are(text, "name", &["a", "b/c"]));
        assert!(!members_are(text, "name", &["b/c", "a"]));
        assert!(!members_are(text, "name", &["a"]));
        assert!(!members_are(text, "name", &["a", "b/c", "d"]));
        assert!(!members_are(r#"[{"id":"1"}]"#, "name", &["1"]));
        assert!(!members_are(r#"[{"name":"a","name":"a"}]"#, "name", &["a"]));
        assert!(!members_are(r#"["a"]"#, "name", &["a"]));
        assert!(!members_are("null", "name", &[] as &[&str]));
        assert!(members_are("[]", "name", &[] as &[&str]));
    }
}
