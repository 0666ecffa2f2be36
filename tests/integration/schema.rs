//! The committed schemas are exactly what the types generate (issue #2).

use crate::support::Workspace;

#[test]
fn committed_schemas_match_the_generated_ones() {
    let root = env!("CARGO_MANIFEST_DIR");
    for (kind, file) in [
        ("client", "client.schema.json"),
        ("scope", "scope.schema.json"),
        ("configuration", "configuration.schema.json"),
    ] {
        let out = Workspace::new().run(&["schema", "--kind", kind]);
        assert_eq!(out.code, 0);
        let committed = std::fs::read_to_string(format!("{root}/schemas/{file}")).unwrap();
        assert!(
            committed == out.stdout,
            "schemas/{file} is stale: run `cargo run -- schema --kind {kind} > schemas/{file}`"
        );
    }
}

#[test]
fn schema_carries_boruta_constraints() {
    let out = Workspace::new().run(&["schema"]);
    let schema = out.json();
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["required"],
        serde_json::json!(["name", "identity_provider"])
    );
    let props = &schema["properties"];
    let ttls = boruta_gitops::kinds::client::fields::FIELDS
        .iter()
        .filter_map(|f| f.ttl_max.map(|max| (f.name, max)));
    for (field, max) in ttls {
        assert_eq!(props[field]["minimum"], 1, "{field}");
        assert_eq!(props[field]["maximum"], max, "{field}");
        assert!(props[field]["description"]
            .as_str()
            .unwrap()
            .contains("boruta default"));
    }
    let defs = &schema["$defs"];
    assert_eq!(defs["GrantType"]["enum"].as_array().unwrap().len(), 12);
    assert_eq!(defs["SignatureAlg"]["enum"].as_array().unwrap().len(), 10);
    assert_eq!(defs["JwtAuthAlg"]["enum"].as_array().unwrap().len(), 6);
    assert_eq!(
        defs["TokenEndpointAuthMethod"]["enum"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        defs["ResponseMode"]["enum"],
        serde_json::json!(["post", "direct_post"])
    );
    assert_eq!(defs["KeyPairType"]["required"], serde_json::json!(["type"]));
    assert_eq!(defs["KeyPairType"]["additionalProperties"], false);
    assert_eq!(defs["Curve"]["enum"], serde_json::json!(["P-256", "P-384"]));
}
