//! Hostile input (issue #6): arbitrary bytes and arbitrary YAML structures fed to the
//! loader, the validator and the diagnostic renderer. No panic; every document that does
//! not become a client leaves an error diagnostic.

use boruta_gitops::load::{add_text, Environment, Loaded, Options, Roots};
use boruta_gitops::render::{diagnostics, Style};
use boruta_gitops::source::has_errors;
use boruta_gitops::validate::validate;
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::Arc;

struct Env;

impl Environment for Env {
    fn var(&self, name: &str) -> Option<String> {
        (name == "SET").then(|| "value".to_string())
    }
}

/// Loads, validates and renders `text`; checks the property.
fn check(text: &str) -> Result<(), TestCaseError> {
    let mut loaded = Loaded::default();
    let roots = Roots::only(Path::new(".")).expect("the working directory");
    add_text(
        &Arc::from("fuzz.yaml"),
        text,
        Path::new("."),
        &roots,
        &Options::new(&Env),
        &mut loaded,
    );
    let documents = loaded.documents.len();
    let sources = loaded.sources.clone();
    let mut findings = loaded.diagnostics;
    let validated = validate(loaded.documents, &loaded.waivers);
    findings.extend(validated.diagnostics.iter().cloned());
    let counts = diagnostics::Counts::of(&findings, (validated.clients.len(), 0), 1);
    let mut out = Vec::new();
    diagnostics::human(
        &mut out,
        &findings,
        &sources,
        &validated.redacted_lines,
        counts,
        Style::default(),
    )
    .unwrap();
    diagnostics::json(&mut out, &findings, counts).unwrap();
    diagnostics::github(&mut out, &findings).unwrap();
    // A configuration file may hold several clients, so clients can outnumber documents;
    // fewer clients than documents must be explained by an error (or, for a configuration
    // file without clients, by its `no-clients` warning).
    let explained = has_errors(&findings)
        || findings
            .iter()
            .any(|d| d.code == boruta_gitops::findings::Code::NoClients);
    prop_assert!(
        validated.clients.len() >= documents || explained,
        "{documents} document(s), {} client(s), no error for:\n{text}",
        validated.clients.len()
    );
    Ok(())
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (1i64..3_000_000).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("yes".to_string()),
            Just("https://a.example/cb".to_string()),
            Just("bad uri#x".to_string()),
            Just("${env:SET}".to_string()),
            Just("${env:UNSET}".to_string()),
            Just("${file:missing}".to_string()),
            Just("RS256".to_string()),
            Just("client_credentials".to_string()),
            Just("11111111-1111-4111-8111-111111111111".to_string()),
            Just("é\u{0}ü\t\u{202e}".to_string()),
            ".{0,40}",
        ]
        .prop_map(Value::String),
    ]
}

fn key() -> impl Strategy<Value = String> {
    let fields: Vec<String> =
        boruta_gitops::schema::field_names(boruta_gitops::schema::SchemaKind::Client);
    prop_oneof![
        3 => proptest::sample::select(fields),
        1 => proptest::sample::select(vec!["type".to_string(), "curve".into(), "modulus_size".into(), "id".into(), "name".into(), "version".into(), "configuration".into(), "client".into()]),
        1 => "[a-z_]{1,12}",
    ]
}

fn tree() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..10)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Block-style YAML for a value, with double-quoted strings.
fn block(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                out.push_str(&format!("\n{pad}{}:", serde_json::to_string(k).unwrap()));
                block(v, indent + 2, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&format!("\n{pad}-"));
                block(item, indent + 2, out);
            }
        }
        other => out.push_str(&format!(" {other}")),
    }
}

/// A fixed seed keeps CI deterministic; `HOSTILE_SEED` and `HOSTILE_CASES` explore more.
fn config() -> ProptestConfig {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    ProptestConfig {
        cases: env("HOSTILE_CASES").unwrap_or(300) as u32,
        rng_seed: proptest::test_runner::RngSeed::Fixed(env("HOSTILE_SEED").unwrap_or(0x0b0a_7a5e)),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn arbitrary_yaml_text_never_panics(text in "[ -~\\n\\t:\\-\\[\\]{}&*!|>'\"%@`#,?]{0,400}") {
        check(&text)?;
    }

    #[test]
    fn arbitrary_structures_as_flow_yaml(value in tree()) {
        check(&value.to_string())?;
    }

    #[test]
    fn arbitrary_structures_as_block_yaml(value in tree(), docs in 1usize..3) {
        let mut text = String::new();
        for _ in 0..docs {
            text.push_str("---");
            block(&value, 0, &mut text);
            text.push('\n');
        }
        check(&text)?;
    }
}
