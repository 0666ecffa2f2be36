//! A client as the server renders it, typed: its identity, a fingerprint of the whole
//! record, and the members the run needs, keyed by [`FieldId`]. The list of every client
//! is read element by element straight into these records (no JSON tree, no raw text
//! kept), and only the members some manifest declares are kept (a [`FieldSet`]), as their
//! JSON text in one allocation per record, parsed again when a comparison reads them: a
//! server of 100,000 clients costs well under a kilobyte per client. Members boruta may
//! add later are ignored: the catalogue says what the tool compares. A `public_key` is
//! kept as its digest (it is only compared).

use super::fields::{FieldId, FieldSet};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt;

/// A rendered client.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientRecord {
    /// Lower-case id.
    pub id: String,
    pub name: Option<String>,
    /// The associated identity provider's id (lower-case), if any.
    pub identity_provider_id: Option<String>,
    /// sha256 of the record as the server sent it: any change of any member changes it.
    fingerprint: [u8; 32],
    /// The kept members' JSON texts, one after another.
    text: Box<str>,
    /// Each kept member, in the order the server rendered them, and where its text is.
    members: Box<[(FieldId, u32, u32)]>,
    /// The server renders `trusted_hosts` (boruta's master does; releases do not).
    pub renders_trusted_hosts: bool,
}

/// What starts a kept public key's digest (a PEM starts with `-----BEGIN`).
const DIGEST_PREFIX: &str = "sha256:";

/// What a record keeps of a rendered `public_key` (compare a key pair's with it).
pub fn public_key_digest(pem: &str) -> String {
    format!("{DIGEST_PREFIX}{}", crate::diff::digest(pem))
}

impl ClientRecord {
    /// The rendered value of `field`, if the server rendered it and it was kept.
    pub fn get(&self, field: FieldId) -> Option<Value> {
        let (_, start, end) = self.members.iter().find(|(f, _, _)| *f == field)?;
        self.value(*start, *end)
    }

    /// The rendered JSON text of `field`, if the server rendered it and it was kept (what
    /// [`get`](Self::get) parses): a comparison reads it with `crate::diff::same` without
    /// building a tree.
    pub fn text(&self, field: FieldId) -> Option<&str> {
        let (_, start, end) = self.members.iter().find(|(f, _, _)| *f == field)?;
        self.text.get(*start as usize..*end as usize)
    }

    /// The member whose text is at `start..end` (it was valid JSON when it was kept).
    fn value(&self, start: u32, end: u32) -> Option<Value> {
        serde_json::from_str(&self.text[start as usize..end as usize]).ok()
    }

    /// The record as a JSON object (the members kept), for boruta's update rules and
    /// export.
    pub fn to_map(&self) -> Map<String, Value> {
        self.members
            .iter()
            .filter_map(|(f, start, end)| Some((f.name().to_string(), self.value(*start, *end)?)))
            .collect()
    }

    /// The fingerprint of the record, hex.
    pub fn fingerprint(&self) -> String {
        crate::diff::hex(&self.fingerprint)
    }

    /// One element of a list, as the server sent it, keeping the `wanted` members.
    pub fn parse(element: &[u8], wanted: FieldSet) -> Result<ClientRecord, String> {
        let members = Members {
            wanted,
            capacity: element.len(),
        };
        // UTF-8 checked once, in one pass, rather than key by key and member by member
        // (a third of reading a record); an element that is not UTF-8 is read as bytes,
        // for the parser's own error.
        let read = match std::str::from_utf8(element) {
            Ok(text) => serde_json::Deserializer::from_str(text).deserialize_map(members),
            Err(_) => serde_json::Deserializer::from_slice(element).deserialize_map(members),
        };
        let mut record = read.map_err(|e| e.to_string())?;
        record.fingerprint = Sha256::digest(element).into();
        Ok(record)
    }

    /// A record from a single rendered client (a show, an update's answer): every member.
    pub fn from_map(map: &Map<String, Value>) -> Result<ClientRecord, String> {
        let mut record = Builder::default();
        for (key, value) in map {
            if let Some(field) = FieldId::parse(key) {
                record.member(field, &value.to_string(), FieldSet::ALL)?;
            }
        }
        let canonical = crate::diff::canonical(&Value::Object(map.clone()));
        let mut record = record.finish()?;
        record.fingerprint = Sha256::digest(canonical.as_bytes()).into();
        Ok(record)
    }
}

/// Collects members as they are read.
#[derive(Default)]
struct Builder {
    id: Option<String>,
    name: Option<String>,
    identity_provider_id: Option<String>,
    text: String,
    members: Vec<(FieldId, u32, u32)>,
    renders_trusted_hosts: bool,
}

impl Builder {
    /// Reads member `field`, whose JSON text is `raw`; keeps it when `wanted`.
    fn member(&mut self, field: FieldId, raw: &str, wanted: FieldSet) -> Result<(), String> {
        match field {
            FieldId::Id => self.id = string_of(raw)?.map(|id| id.to_ascii_lowercase()),
            FieldId::Name => self.name = string_of(raw)?.map(Cow::into_owned),
            FieldId::IdentityProvider => {
                self.identity_provider_id = read(raw, IdOf)?.map(|id| id.to_ascii_lowercase())
            }
            FieldId::TrustedHosts => self.renders_trusted_hosts = true,
            _ => {}
        }
        if !wanted.contains(field) {
            return Ok(());
        }
        let start = self.text.len();
        match field {
            // A PEM of about 450 bytes, only ever compared: its digest is enough. A value
            // already digested (`from_map` of a `to_map`, as apply's read-back does) is
            // kept, so that the round trip gives the same record.
            FieldId::PublicKey => {
                let digest = string_of(raw)?.map(|key| match key.starts_with(DIGEST_PREFIX) {
                    true => key.into_owned(),
                    false => public_key_digest(&key),
                });
                self.text.push_str(&serde_json::json!(digest).to_string());
            }
            _ => self.text.push_str(raw),
        }
        let narrow = |n: usize| u32::try_from(n).map_err(|_| "a client larger than 4 GiB");
        self.members
            .push((field, narrow(start)?, narrow(self.text.len())?));
        Ok(())
    }

    fn finish(self) -> Result<ClientRecord, String> {
        let id = self.id.ok_or("a client without an `id`")?;
        Ok(ClientRecord {
            id,
            name: self.name,
            identity_provider_id: self.identity_provider_id,
            fingerprint: [0; 32],
            text: self.text.into_boxed_str(),
            members: self.members.into_boxed_slice(),
            renders_trusted_hosts: self.renders_trusted_hosts,
        })
    }
}

/// Reads a client object, parsing only the members it needs: identity members always,
/// the `wanted` ones; the others are skipped, never built.
struct Members {
    wanted: FieldSet,
    /// The most the kept texts can take: the element's length.
    capacity: usize,
}

impl<'de> Visitor<'de> for Members {
    type Value = ClientRecord;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a client object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<ClientRecord, M::Error> {
        // Room for the usual record from the start (growing it member by member cost
        // more than reading the members); `finish` trims it.
        let mut record = Builder {
            text: String::with_capacity(self.capacity),
            members: Vec::with_capacity(16),
            ..Builder::default()
        };
        let identity = FieldSet::of(&[
            FieldId::Id,
            FieldId::Name,
            FieldId::IdentityProvider,
            FieldId::TrustedHosts,
        ]);
        while let Some(key) = map.next_key_seed(Key)? {
            match key {
                Some(field) if self.wanted.contains(field) || identity.contains(field) => {
                    let raw: &'de RawValue = map.next_value()?;
                    record
                        .member(field, raw.get(), self.wanted)
                        .map_err(serde::de::Error::custom)?;
                }
                // Skipped without being built.
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        record.finish().map_err(serde::de::Error::custom)
    }
}

/// A member's name, read as the catalogue's field without allocating it (a record has
/// about 33 members, a server 100,000 records).
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<FieldId>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Option<FieldId>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(FieldId::parse(key))
    }
}

/// Reads a member's JSON text (valid JSON: the list's parser cut it out) with `visitor`.
fn read<'de, V: Visitor<'de>>(raw: &'de str, visitor: V) -> Result<V::Value, String> {
    let mut deserializer = serde_json::Deserializer::from_str(raw);
    let value = deserializer
        .deserialize_any(visitor)
        .map_err(|e| e.to_string())?;
    deserializer.end().map_err(|e| e.to_string())?;
    Ok(value)
}

/// The string a member's text holds (`None` for any other JSON value), borrowed unless it
/// has escapes: what `Value::as_str` gives, without building the value.
fn string_of(raw: &str) -> Result<Option<Cow<'_, str>>, String> {
    read(raw, StrOrNone)
}

/// The visitor methods of the values a reader of one kind of value does not want: each
/// reads as `None` (a list's items skipped, never built). Shared by [`StrOrNone`] and
/// [`IdOf`].
macro_rules! none_for_other_values {
    ($de:lifetime) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_seq<A: SeqAccess<$de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    };
}

/// A string, or `None` for any other JSON value (whose contents are skipped).
struct StrOrNone;

impl<'de> DeserializeSeed<'de> for StrOrNone {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrOrNone {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(s.to_string())))
    }

    none_for_other_values!('de);

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// The `id` string of an object (the last `id`, as a `Value` keeps it; `None` when it is
/// not a string or the value is not an object).
struct IdOf;

impl<'de> Visitor<'de> for IdOf {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut id = None;
        // The key read as a field name (`id` is one): no key is allocated.
        while let Some(key) = map.next_key_seed(Key)? {
            match key == Some(FieldId::Id) {
                true => id = map.next_value_seed(StrOrNone)?,
                false => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(id)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    none_for_other_values!('de);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_client_keeps_what_is_wanted_and_a_fingerprint_of_everything() {
        let text = r#"{"id":"A","name":"n","public_key":"a\nb","identity_provider":{"id":"B","name":"x"},"unknown":[1,2],"key_pair_type":{"type":"rsa"},"pkce":true}"#;
        let all = ClientRecord::parse(text.as_bytes(), FieldSet::ALL).unwrap();
        assert_eq!(all.id, "a");
        assert_eq!(all.identity_provider_id.as_deref(), Some("b"));
        let digest = public_key_digest("a\nb");
        assert_eq!(
            all.get(FieldId::PublicKey),
            Some(Value::from(digest.clone()))
        );
        assert!(!all.to_map().contains_key("unknown"));
        // apply's read-back compares a record rebuilt from its map: the digest is kept.
        let again = ClientRecord::from_map(&all.to_map()).unwrap();
        assert_eq!(
            again.get(FieldId::PublicKey),
            Some(Value::from(digest.clone()))
        );
        let some = ClientRecord::parse(text.as_bytes(), FieldSet::of(&[FieldId::Pkce])).unwrap();
        assert_eq!(some.get(FieldId::Pkce), Some(Value::Bool(true)));
        assert_eq!(some.get(FieldId::KeyPairType), None);
        assert_eq!(some.fingerprint(), all.fingerprint());
        let changed = text.replace("\"pkce\":true", "\"pkce\":false");
        let other = ClientRecord::parse(changed.as_bytes(), FieldSet::of(&[])).unwrap();
        assert_ne!(other.fingerprint(), all.fingerprint());
    }
    #[test]
    fn identity_members_read_as_a_tree_reads_them() {
        let members = [
            (
                r#""A\u0042""#,
                r#"{"id":"C\/D","name":"x"}"#,
                r#""n\u00e9""#,
            ),
            (r#""AB""#, r#"{"id":"X","id":"Y"}"#, "null"),
            (r#""AB""#, r#"{"id":"X","id":7}"#, "12"),
            (r#""AB""#, r#"{"name":"x","other":{"id":"Z"}}"#, r#"["n"]"#),
            (r#""AB""#, r#"["id"]"#, r#"{"n":1}"#),
            (r#""AB""#, "null", r#""""#),
        ];
        for (id, idp, name) in members {
            let text = format!(r#"{{"id":{id},"identity_provider":{idp},"name":{name}}}"#);
            let record = ClientRecord::parse(text.as_bytes(), FieldSet::of(&[])).unwrap();
            let tree: Value = serde_json::from_str(&text).unwrap();
            let lower = |v: &Value| v.as_str().map(str::to_ascii_lowercase);
            assert_eq!(Some(record.id), lower(&tree["id"]), "{text}");
            assert_eq!(
                record.identity_provider_id,
                tree["identity_provider"].get("id").and_then(lower),
                "{text}"
            );
            assert_eq!(record.name.as_deref(), tree["name"].as_str(), "{text}");
        }
        let no_id = ClientRecord::parse(br#"{"id":1,"name":"x"}"#, FieldSet::ALL);
        assert_eq!(
            no_id,
            Err("a client without an `id` at line 1 column 19".to_string())
        );
    }

    #[test]
    fn a_kept_member_is_its_text() {
        let text = r#"{"id":"a","redirect_uris":["h\/1"],"pkce":true}"#;
        let record = ClientRecord::parse(text.as_bytes(), FieldSet::ALL).unwrap();
        assert_eq!(record.text(FieldId::RedirectUris), Some(r#"["h\/1"]"#));
        assert_eq!(record.text(FieldId::Pkce), Some("true"));
        assert_eq!(record.text(FieldId::Secret), None);
    }
    #[test]
    fn an_element_that_is_not_utf8_is_refused_with_the_parsers_error() {
        let error = ClientRecord::parse(b"{\"id\":\"a\xff\"}", FieldSet::ALL).unwrap_err();
        assert_eq!(error, "invalid unicode code point at line 1 column 9");
    }
}
