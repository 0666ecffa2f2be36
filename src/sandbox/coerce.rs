//! Ecto-style casting of a client's request parameters before validation (contract §4.5):
//! empty strings become the field's default, empty array elements vanish, numeric strings
//! become integers, "true"/"1" become booleans, UUIDs are lower-cased.

use crate::rules::{self, field_type, FieldType};
use serde_json::{Map, Value};

/// Casts `params` in place. `defaults` supplies the value an empty string becomes.
pub fn coerce(params: &mut Map<String, Value>, defaults: &Map<String, Value>) {
    for (field, value) in params.iter_mut() {
        let Some(kind) = field_type(field) else {
            continue;
        };
        if let Value::String(s) = value {
            if s.trim().is_empty() && kind != FieldType::Special {
                // `trusted_authorities: ""` stays "" because "" is its default.
                *value = defaults.get(field.as_str()).cloned().unwrap_or(Value::Null);
                continue;
            }
        }
        match (kind, &*value) {
            (FieldType::Int, Value::String(s)) => {
                if let Ok(n) = s.trim().parse::<i64>() {
                    *value = Value::from(n);
                }
            }
            (FieldType::Bool, Value::String(s)) => match s.as_str() {
                "true" | "1" => *value = Value::Bool(true),
                "false" | "0" => *value = Value::Bool(false),
                _ => {}
            },
            (FieldType::StrList, Value::Array(items)) => {
                let kept: Vec<Value> = items
                    .iter()
                    .filter(|i| !matches!(i, Value::String(s) if s.trim().is_empty()))
                    .cloned()
                    .collect();
                *value = Value::Array(kept);
            }
            (FieldType::Special, Value::String(s)) if field == "id" && rules::is_uuid(s) => {
                *value = Value::String(s.to_ascii_lowercase());
            }
            _ => {}
        }
    }
}
