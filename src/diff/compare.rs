//! How a declared value compares with the server's, per the field catalogue's comparison
//! kind: scalars by value, ordered lists in order, sets as sets, the identity provider by
//! id and scopes by name after resolving both against the server; and how each is shown.

use crate::kinds::client::fields::Compare;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A scope reference as a comparable key: its name when known, else its id or name.
fn scope_key(item: &Value, scopes: &Lookup<'_>) -> String {
    match (
        item.get("id").and_then(Value::as_str),
        item.get("name").and_then(Value::as_str),
    ) {
        (Some(id), _) => scopes
            .name_of(id)
            .map_or_else(|| id.to_ascii_lowercase(), str::to_string),
        (None, Some(name)) => name.to_string(),
        (None, None) => String::new(),
    }
}

/// The server's scopes as keys (the rendered list carries names).
fn server_scope_keys(actual: &Value, scopes: &Lookup<'_>) -> BTreeSet<String> {
    actual
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    s.get("name")
                        .and_then(Value::as_str)
                        .map_or_else(|| scope_key(s, scopes), str::to_string)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn desired_scope_keys(desired: &Value, scopes: &Lookup<'_>) -> BTreeSet<String> {
    desired
        .as_array()
        .map(|a| a.iter().map(|s| scope_key(s, scopes)).collect())
        .unwrap_or_default()
}

fn lower_id(value: &Value) -> Option<String> {
    value
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
}

/// The elements of a list as a set (of their JSON texts).
pub(super) fn as_set(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .map(|a| a.iter().map(Value::to_string).collect())
        .unwrap_or_default()
}

/// Whether a declared value (on the wire) matches the server's, under `compare`.
pub(super) fn equal(
    compare: Compare,
    desired: &Value,
    actual: &Value,
    scopes: &Lookup<'_>,
) -> bool {
    match compare {
        Compare::IdentityProvider => lower_id(desired) == lower_id(actual),
        Compare::Scopes => desired_scope_keys(desired, scopes) == server_scope_keys(actual, scopes),
        Compare::Set => as_set(desired) == as_set(actual),
        Compare::Scalar | Compare::Ordered | Compare::Secret | Compare::Never => desired == actual,
    }
}

/// (desired, server) as shown in a plan: references by name.
pub(super) fn display(
    compare: Compare,
    desired: &Value,
    actual: &Value,
    scopes: &Lookup<'_>,
    idps: &Lookup<'_>,
) -> (Value, Value) {
    match compare {
        Compare::IdentityProvider => {
            let show = |id: Option<String>| match id {
                Some(id) => {
                    Value::String(idps.name_of(&id).map_or_else(|| id.clone(), str::to_string))
                }
                None => Value::Null,
            };
            let have = match actual.get("name").and_then(Value::as_str) {
                Some(name) => Value::String(name.to_string()),
                None => show(lower_id(actual)),
            };
            (show(lower_id(desired)), have)
        }
        Compare::Scopes => (
            json!(desired_scope_keys(desired, scopes)),
            json!(server_scope_keys(actual, scopes)),
        ),
        _ => (desired.clone(), actual.clone()),
    }
}

/// Name and id lookups of scopes or identity providers.
pub(super) struct Lookup<'a> {
    pub known: bool,
    pub by_id: BTreeMap<String, &'a Map<String, Value>>,
    pub by_name: BTreeMap<&'a str, &'a Map<String, Value>>,
}

impl<'a> Lookup<'a> {
    pub fn new(items: Option<&'a [Map<String, Value>]>) -> Self {
        let items = items.unwrap_or_default();
        Lookup {
            known: !items.is_empty(),
            by_id: items
                .iter()
                .filter_map(|i| str_of(i, "id").map(|id| (id.to_ascii_lowercase(), i)))
                .collect(),
            by_name: items
                .iter()
                .filter_map(|i| str_of(i, "name").map(|n| (n, i)))
                .collect(),
        }
    }

    pub fn name_of(&self, id: &str) -> Option<&'a str> {
        self.by_id
            .get(&id.to_ascii_lowercase())
            .and_then(|i| str_of(i, "name"))
    }
}

pub(super) fn str_of<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}
