//! Conformance of the sandbox's bodies to boruta's official OpenAPI document, with the
//! deviations that the contract documents applied as explicit patches (issue #3).

use serde_json::{json, Value};
use std::sync::OnceLock;

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let text = include_str!("../fixtures/openapi/boruta-admin.openapi.json");
        let mut doc: Value = serde_json::from_str(text).expect("openapi json");
        nullable_to_type(&mut doc);
        let schemas = doc.pointer_mut("/components/schemas").unwrap();
        // Contract §4.1: these members are null in practice (the spec types them non-null).
        for field in [
            "public_client_id",
            "name",
            "secret",
            "enforce_dpop",
            "authorization_request_ttl",
            "id_token_ttl",
            "id_token_signature_alg",
            "response_mode",
        ] {
            make_nullable(&mut schemas["Client"]["properties"][field]);
        }
        // Contract §4.1/§9.1: a client without identity provider renders both members null.
        for member in ["id", "name"] {
            make_nullable(
                &mut schemas["Client"]["properties"]["identity_provider"]["properties"][member],
            );
        }
        // Contract §7.1: a scope's label is string|null.
        make_nullable(&mut schemas["Scope"]["properties"]["label"]);
        // A key pair's `is_default` is a nullable column, null when created without it, as
        // the admin UI creates them (boruta-server `apps/boruta_auth/lib/boruta_auth/
        // key_pairs/schemas/key_pair.ex` and `assets/src/models/key-pair.model.js`, 3be6cb4f).
        make_nullable(&mut schemas["KeyPair"]["properties"]["is_default"]);
        schemas["Scope"]["required"] = json!(["name"]);
        doc
    })
}

fn nullable_to_type(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.remove("nullable") == Some(Value::Bool(true)) {
                if let Some(Value::String(t)) = map.get("type").cloned() {
                    map.insert("type".into(), json!([t, "null"]));
                }
            }
            map.values_mut().for_each(nullable_to_type);
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_to_type),
        _ => {}
    }
}

fn make_nullable(schema: &mut Value) {
    if let Some(Value::String(t)) = schema.get("type").cloned() {
        schema["type"] = json!([t, "null"]);
    }
}

/// The response schema for a route and status, deviations applied; `None` when the
/// contract says the spec has nothing to say (the body is then checked by the test).
fn response_schema(method: &str, template: &str, status: u16) -> Option<Value> {
    let data_list = |item: &str| json!({"type": "object", "required": ["data"], "properties": {"data": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}}}});
    // Contract §1.3/§1.4: the lists are enveloped in `data` (the spec shows bare arrays).
    match (method, template, status) {
        ("get", "/api/scopes", 200) => return Some(data_list("Scope")),
        ("get", "/api/identity-providers", 200) => return Some(data_list("IdentityProvider")),
        // Contract §1.3/§1.5: a scope's delete answers 401/403 like every write (the spec
        // lists only 204).
        ("delete", "/api/scopes/{scope_id}", 401) => {
            return Some(json!({"$ref": "#/components/schemas/Unauthorized"}))
        }
        ("delete", "/api/scopes/{scope_id}", 403) => {
            return Some(json!({"$ref": "#/components/schemas/Forbidden"}))
        }
        // Contract §12: 422 on create and PATCH exist although the spec omits them.
        (_, _, 422) => return Some(json!({"$ref": "#/components/schemas/ValidationError"})),
        // Contract §1.5: exception-rendered 400/404 carry code and message only.
        (_, _, 400 | 404) => return Some(json!({"$ref": "#/components/schemas/NotFound"})),
        _ => {}
    }
    let spec = document().pointer(&format!(
        "/paths/{}/{method}/responses/{status}/content/application~1json/schema",
        template.replace('/', "~1")
    ))?;
    Some(spec.clone())
}

/// Asserts that `body` conforms. Routes or statuses the spec does not describe are skipped
/// only where listed in the contract's §12.
pub fn assert_conforms(method: &str, template: &str, status: u16, body: &Value) {
    let Some(schema) = response_schema(method, template, status) else {
        let undocumented = matches!(status, 406 | 413 | 429 | 500 | 503 | 204)
            || template == "/api/scopes" && method == "post";
        assert!(
            undocumented,
            "no OpenAPI schema for {method} {template} {status}"
        );
        return;
    };
    let mut root = schema;
    root["components"] = document()["components"].clone();
    let validator = jsonschema::validator_for(&root).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {template} {status} does not conform:\n{}\nbody: {body}",
        errors.join("\n")
    );
}
