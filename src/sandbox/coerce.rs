//! Ecto-style casting of a client's request parameters before validation (contract §4.5):
//! empty strings become the field's default, empty array elements vanish, numeric strings
//! become integers, "true"/"1" become booleans, UUIDs are lower-cased. The JSON type of
//! each field comes from the catalogue.

use crate::kinds::client::fields::{self, Kind};
use crate::kinds::client::rules;
use serde_json::{Map, Value};

/// Casts `params` in place. `defaults` supplies the value an empty string becomes.
pub fn coerce(params: &mut Map<String, Value>, defaults: &Map<String, Value>) {
    for (name, value) in params.iter_mut() {
        let Some(field) = fields::get(name) else {
            continue;
        };
        let kind = field.kind;
        if let Value::String(s) = value {
            let special = matches!(kind, Kind::Uuid | Kind::IdentityProvider | Kind::Scopes);
            if s.trim().is_empty() && !special {
                // `trusted_authorities: ""` stays "" because "" is its default.
                *value = defaults.get(name.as_str()).cloned().unwrap_or(Value::Null);
                continue;
            }
        }
        match (kind, &*value) {
            (Kind::Int, Value::String(s)) => {
                if let Ok(n) = s.trim().parse::<i64>() {
                    *value = Value::from(n);
                }
            }
            (Kind::Bool, Value::String(s)) => match s.as_str() {
                "true" | "1" => *value = Value::Bool(true),
                "false" | "0" => *value = Value::Bool(false),
                _ => {}
            },
            (Kind::StrList, Value::Array(items)) => {
                let kept: Vec<Value> = items
                    .iter()
                    .filter(|i| !matches!(i, Value::String(s) if s.trim().is_empty()))
                    .cloned()
                    .collect();
                *value = Value::Array(kept);
            }
            (Kind::Uuid, Value::String(s)) if rules::is_uuid(s) => {
                *value = Value::String(s.to_ascii_lowercase());
            }
            _ => {}
        }
    }
}
