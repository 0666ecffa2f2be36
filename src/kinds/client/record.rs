//! A client as the server renders it, typed: its identity, a fingerprint of the whole
//! record, and the members the run needs, keyed by [`FieldId`]. The list of every client
//! is read element by element straight into these records (no JSON tree, no raw text
//! kept), and only the members some manifest declares are kept (a [`FieldSet`]): a server
//! of 100,000 clients costs a few hundred bytes per client. Members boruta may add later
//! are ignored: the catalogue says what the tool compares. A `public_key` is kept as its
//! digest (it is only compared).

use super::fields::{FieldId, FieldSet};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
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
    /// The members kept, in the order the server rendered them.
    members: Vec<(FieldId, Value)>,
    /// The server renders `trusted_hosts` (boruta's master does; releases do not).
    pub renders_trusted_hosts: bool,
}

/// What a record keeps of a rendered `public_key` (compare a key pair's with it).
pub fn public_key_digest(pem: &str) -> String {
    format!("sha256:{}", crate::diff::digest(pem))
}

impl ClientRecord {
    /// The rendered value of `field`, if the server rendered it and it was kept.
    pub fn get(&self, field: FieldId) -> Option<&Value> {
        self.members
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v)
    }

    /// The record as a JSON object (the members kept), for boruta's update rules and
    /// export.
    pub fn to_map(&self) -> Map<String, Value> {
        self.members
            .iter()
            .map(|(f, v)| (f.name().to_string(), v.clone()))
            .collect()
    }

    /// The fingerprint of the record, hex.
    pub fn fingerprint(&self) -> String {
        crate::diff::hex(&self.fingerprint)
    }

    /// One element of a list, as the server sent it, keeping the `wanted` members.
    pub fn parse(element: &[u8], wanted: FieldSet) -> Result<ClientRecord, String> {
        let mut deserializer = serde_json::Deserializer::from_slice(element);
        let mut record = deserializer
            .deserialize_map(Members { wanted })
            .map_err(|e| e.to_string())?;
        record.fingerprint = Sha256::digest(element).into();
        Ok(record)
    }

    /// A record from a single rendered client (a show, an update's answer): every member.
    pub fn from_map(map: &Map<String, Value>) -> Result<ClientRecord, String> {
        let mut record = Builder::default();
        for (key, value) in map {
            record.member(key, value.clone(), FieldSet::ALL);
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
    members: Vec<(FieldId, Value)>,
    renders_trusted_hosts: bool,
}

impl Builder {
    /// Reads member `field` when it is one of ours; keeps it when `wanted`.
    fn member(&mut self, key: &str, value: Value, wanted: FieldSet) {
        let Some(field) = FieldId::parse(key) else {
            return;
        };
        match field {
            FieldId::Id => self.id = value.as_str().map(str::to_ascii_lowercase),
            FieldId::Name => self.name = value.as_str().map(str::to_string),
            FieldId::IdentityProvider => {
                self.identity_provider_id = value
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase)
            }
            FieldId::TrustedHosts => self.renders_trusted_hosts = true,
            _ => {}
        }
        if !wanted.contains(field) {
            return;
        }
        let value = match field {
            // A PEM of about 450 bytes, only ever compared: its digest is enough.
            FieldId::PublicKey => value
                .as_str()
                .map_or(Value::Null, |pem| Value::String(public_key_digest(pem))),
            _ => value,
        };
        self.members.push((field, value));
    }

    fn finish(mut self) -> Result<ClientRecord, String> {
        let id = self.id.ok_or("a client without an `id`")?;
        self.members.shrink_to_fit();
        Ok(ClientRecord {
            id,
            name: self.name,
            identity_provider_id: self.identity_provider_id,
            fingerprint: [0; 32],
            members: self.members,
            renders_trusted_hosts: self.renders_trusted_hosts,
        })
    }
}

/// Reads a client object, parsing only the members it needs: identity members always,
/// the `wanted` ones; the others are skipped, never built.
struct Members {
    wanted: FieldSet,
}

impl<'de> Visitor<'de> for Members {
    type Value = ClientRecord;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a client object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<ClientRecord, M::Error> {
        let mut record = Builder::default();
        let identity = FieldSet::of(&[
            FieldId::Id,
            FieldId::Name,
            FieldId::IdentityProvider,
            FieldId::TrustedHosts,
        ]);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match FieldId::parse(&key) {
                Some(field) if self.wanted.contains(field) || identity.contains(field) => {
                    let value: Value = map.next_value()?;
                    record.member(&key, value, self.wanted);
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
        assert_eq!(all.get(FieldId::PublicKey), Some(&Value::from(digest)));
        assert!(!all.to_map().contains_key("unknown"));
        let some = ClientRecord::parse(text.as_bytes(), FieldSet::of(&[FieldId::Pkce])).unwrap();
        assert_eq!(some.get(FieldId::Pkce), Some(&Value::Bool(true)));
        assert_eq!(some.get(FieldId::KeyPairType), None);
        assert_eq!(some.fingerprint(), all.fingerprint());
        let changed = text.replace("\"pkce\":true", "\"pkce\":false");
        let other = ClientRecord::parse(changed.as_bytes(), FieldSet::of(&[])).unwrap();
        assert_ne!(other.fingerprint(), all.fingerprint());
    }
}
