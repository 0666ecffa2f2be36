//! A client as the server renders it, typed: its identity and every member the field
//! catalogue knows, keyed by [`FieldId`]. The list of every client is deserialized
//! straight into these records (no JSON tree, no raw text kept), so a server of 100,000
//! clients costs the records and nothing else. Members boruta may add later are ignored:
//! the catalogue says what the tool compares. A `public_key` is kept as its digest.

use super::fields::FieldId;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;

/// A rendered client.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientRecord {
    /// Lower-case id.
    pub id: String,
    pub name: Option<String>,
    /// The associated identity provider's id (lower-case), if any.
    pub identity_provider_id: Option<String>,
    /// The catalogue members the server rendered, in the order it rendered them.
    members: Vec<(FieldId, Value)>,
}

impl ClientRecord {
    /// The rendered value of `field`, if the server rendered it.
    pub fn get(&self, field: FieldId) -> Option<&Value> {
        self.members
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v)
    }

    /// True when the server renders `field` (its version knows it).
    pub fn renders(&self, field: FieldId) -> bool {
        self.get(field).is_some()
    }

    /// The record as the JSON object the server sent (catalogue members only), for
    /// boruta's update rules, export and fingerprints.
    pub fn to_map(&self) -> Map<String, Value> {
        self.members
            .iter()
            .map(|(f, v)| (f.name().to_string(), v.clone()))
            .collect()
    }

    /// A record from a single rendered client (a show, an update's answer).
    pub fn from_map(map: &Map<String, Value>) -> Result<ClientRecord, String> {
        let mut record = Builder::default();
        for (key, value) in map {
            record.member(key, value.clone());
        }
        record.finish()
    }

    /// sha256 of the record's canonical JSON (keys sorted), so that any change of a
    /// member changes it.
    pub fn fingerprint(&self) -> String {
        let mut sorted: Vec<&(FieldId, Value)> = self.members.iter().collect();
        sorted.sort_by_key(|(f, _)| f.name());
        let mut text = String::from("{");
        for (i, (field, value)) in sorted.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&Value::String(field.name().to_string()).to_string());
            text.push(':');
            text.push_str(&crate::diff::canonical(value));
        }
        text.push('}');
        crate::diff::digest(&text)
    }
}

/// What a record keeps of a rendered `public_key` (compare a key pair's with it).
pub fn public_key_digest(pem: &str) -> String {
    format!("sha256:{}", crate::diff::digest(pem))
}

/// Collects members as they are read.
#[derive(Default)]
struct Builder {
    id: Option<String>,
    name: Option<String>,
    identity_provider_id: Option<String>,
    members: Vec<(FieldId, Value)>,
}

impl Builder {
    fn member(&mut self, key: &str, value: Value) {
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
            FieldId::PublicKey => {
                // A PEM of about 450 bytes, only ever compared: its digest is enough.
                let digest = value.as_str().map(public_key_digest);
                self.members
                    .push((field, digest.map_or(Value::Null, Value::String)));
                return;
            }
            _ => {}
        }
        self.members.push((field, value));
    }

    fn finish(mut self) -> Result<ClientRecord, String> {
        let id = self.id.ok_or("a client without an `id`")?;
        self.members.shrink_to_fit();
        Ok(ClientRecord {
            id,
            name: self.name,
            identity_provider_id: self.identity_provider_id,
            members: self.members,
        })
    }
}

impl<'de> Deserialize<'de> for ClientRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = ClientRecord;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a client object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<ClientRecord, M::Error> {
                let mut record = Builder::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if FieldId::parse(&key).is_some() {
                        let value: Value = map.next_value()?;
                        record.member(&key, value);
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                record.finish().map_err(serde::de::Error::custom)
            }
        }
        deserializer.deserialize_map(Members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_client_is_read_into_its_catalogue_members() {
        let text = r#"{"id":"A","name":"n","public_key":"a\nb","identity_provider":{"id":"B","name":"x"},"unknown":[1,2],"key_pair_type":{"type":"rsa"}}"#;
        let record: ClientRecord = serde_json::from_str(text).unwrap();
        assert_eq!(record.id, "a");
        assert_eq!(record.identity_provider_id.as_deref(), Some("b"));
        let digest = public_key_digest("a\nb");
        assert_eq!(record.get(FieldId::PublicKey), Some(&Value::from(digest)));
        assert!(!record.to_map().contains_key("unknown"));
        let same = ClientRecord::from_map(&serde_json::from_str(text).unwrap()).unwrap();
        assert_eq!(same.fingerprint(), record.fingerprint());
    }
}
