//! A client as the server renders it, typed: its identity, a fingerprint of the whole
//! record, and the members the run needs, keyed by [`FieldId`]. The list of every client
//! is read element by element straight into these records (no JSON tree, no raw text
//! kept), and only the members some manifest declares are kept (a [`FieldSet`]), as their
//! JSON text in one allocation per record, parsed again when a comparison reads them: a
//! server of 100,000 clients costs well under a kilobyte per client. Members boruta may
//! add later are ignored: the catalogue says what the tool compares. A `public_key` is
//! kept as its digest (it is only compared).

use super::fields::{FieldId, FieldSet};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
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
            record.member(key, &value.to_string(), FieldSet::ALL)?;
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
    /// Reads member `key`, whose JSON text is `raw`, when it is one of ours; keeps it when
    /// `wanted`.
    fn member(&mut self, key: &str, raw: &str, wanted: FieldSet) -> Result<(), String> {
        let Some(field) = FieldId::parse(key) else {
            return Ok(());
        };
        let parse = || serde_json::from_str::<Value>(raw).map_err(|e| e.to_string());
        match field {
            FieldId::Id => self.id = parse()?.as_str().map(str::to_ascii_lowercase),
            FieldId::Name => self.name = parse()?.as_str().map(str::to_string),
            FieldId::IdentityProvider => {
                self.identity_provider_id = parse()?
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase)
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
                let digest = parse()?
                    .as_str()
                    .map(|key| match key.starts_with(DIGEST_PREFIX) {
                        true => key.to_string(),
                        false => public_key_digest(key),
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
                    let raw: &'de RawValue = map.next_value()?;
                    record
                        .member(&key, raw.get(), self.wanted)
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
}
