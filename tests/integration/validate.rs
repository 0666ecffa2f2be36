//! `validate` (issue #2): one problem per fixture, asserting code, file, line and column.

use crate::support::{findings, Test, Workspace, IDP};

/// A valid client whose line 5 onwards is `extra`.
fn client(extra: &str) -> String {
    format!("id: 11111111-1111-4111-8111-111111111111\nname: app\n{IDP}{extra}")
}

/// Validates one manifest file and returns the error/warning findings (notes dropped).
fn check(content: &str) -> (i32, Vec<(String, String, u64, u64)>) {
    let ws = Workspace::new().file("app.yaml", content);
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    let found = findings(&out);
    (out.code, found)
}

fn one(code: &str, line: u64, col: u64) -> Vec<(String, String, u64, u64)> {
    vec![(
        code.to_string(),
        "manifests/app.yaml".to_string(),
        line,
        col,
    )]
}

#[test]
fn each_rule_points_at_the_offending_value() {
    let cases: Vec<(&str, String, &str, u64, u64)> = vec![
        ("unknown field", client("redirect_uri: []\n"), "unknown-field", 5, 1),
        ("ttl range", client("access_token_ttl: 90000\n"), "ttl-out-of-range", 5, 19),
        ("ttl zero", client("authorization_code_ttl: 0\n"), "ttl-out-of-range", 5, 25),
        ("redirect without host", client("redirect_uris:\n  - https://ok.example/cb\n  - myapp:/cb\n"), "invalid-redirect-uri", 7, 5),
        ("redirect with fragment", client("redirect_uris: [\"https://a.example/cb#x\"]\n"), "invalid-redirect-uri", 5, 17),
        ("grant type", client("supported_grant_types:\n  - client_credentials\n  - magic\n"), "invalid-grant-type", 7, 5),
        ("unknown alg", client("id_token_signature_alg: XX256\n"), "invalid-signature-alg", 5, 25),
        ("alg vs key type", client("key_pair_type:\n  type: ec\n  curve: P-256\nid_token_signature_alg: RS256\n"), "signature-alg-key-mismatch", 8, 25),
        ("userinfo alg vs key type", client("userinfo_signed_response_alg: ES256\n"), "signature-alg-key-mismatch", 5, 31),
        ("auth method", client("token_endpoint_auth_methods: [client_secret_basic, tls_client_auth]\n"), "invalid-auth-method", 5, 52),
        ("jwt auth alg", client("token_endpoint_jwt_auth_alg: ES256\n"), "invalid-jwt-auth-alg", 5, 30),
        ("response mode", client("response_mode: query\n"), "invalid-response-mode", 5, 16),
        ("key type", client("key_pair_type:\n  type: dsa\n"), "invalid-key-pair-type", 6, 9),
        ("curve boruta cannot generate", client("key_pair_type:\n  type: ec\n  curve: P-512\n"), "invalid-key-pair-type", 7, 10),
        ("modulus as number", client("key_pair_type:\n  type: rsa\n  modulus_size: 2048\n  exponent_size: \"65537\"\n"), "invalid-type", 7, 17),
        ("small modulus", client("key_pair_type:\n  type: rsa\n  modulus_size: \"1024\"\n  exponent_size: \"65537\"\n"), "rsa-modulus-too-small", 6, 3),
        ("no exponent", client("key_pair_type:\n  type: rsa\n  modulus_size: \"2048\"\n"), "key-generation-impossible", 6, 3),
        ("ec without curve", client("key_pair_type:\n  type: ec\n"), "key-generation-impossible", 6, 3),
        ("adapter vs key type", client("signatures_adapter: Elixir.Boruta.Universal.Signatures\n"), "signatures-adapter-mismatch", 5, 21),
        ("unknown adapter", client("signatures_adapter: Elixir.Other\n"), "signatures-adapter-mismatch", 5, 21),
        ("resource uri", client("authorized_resources: [\"https://a b\"]\n"), "invalid-resource-uri", 5, 24),
        ("yaml 1.1 boolean", client("confidential: yes\n"), "invalid-type", 5, 15),
        ("quoted integer", client("access_token_ttl: \"3600\"\n"), "invalid-type", 5, 19),
        ("null value", client("pkce:\n"), "invalid-type", 5, 5),
        ("scope without id or name", client("authorized_scopes:\n  - public: true\n"), "missing-field", 6, 5),
        ("scope name with space", client("authorized_scopes:\n  - name: a b\n"), "invalid-scope-name", 6, 11),
        ("empty identity provider", "name: app\nidentity_provider: {}\n".to_string(), "missing-field", 2, 20),
        ("identity provider id", "name: app\nidentity_provider:\n  id: nope\n".to_string(), "invalid-uuid", 3, 7),
        ("duplicate key", client("pkce: true\npkce: false\n"), "duplicate-key", 6, 1),
        ("blank name", format!("id: 11111111-1111-4111-8111-111111111111\nname: \"  \"\n{IDP}"), "empty-value", 2, 7),
    ];
    let mut failures = Vec::new();
    for (what, content, code, line, col) in cases {
        let (exit, found) = check(&content);
        if exit != 1 || found != one(code, line, col) {
            failures.push(format!(
                "{what}: exit {exit}, expected [{code} {line}:{col}], got {found:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn invalid_uuid_and_missing_required_fields() {
    let (code, found) = check("id: not-a-uuid\nname: app\n");
    assert_eq!(code, 1);
    assert_eq!(
        found,
        vec![
            ("missing-field".into(), "manifests/app.yaml".into(), 1, 1),
            ("invalid-uuid".into(), "manifests/app.yaml".into(), 1, 5),
        ]
    );
}

#[test]
fn server_generated_fields_are_warnings_and_exit_zero() {
    let ws = Workspace::new().file("app.yaml", client("public_key: abc\ndid: did:key:z\n"));
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let found = findings(&out);
    assert_eq!(
        found,
        vec![
            (
                "server-generated-field".into(),
                "manifests/app.yaml".into(),
                5,
                1
            ),
            (
                "server-generated-field".into(),
                "manifests/app.yaml".into(),
                6,
                1
            ),
        ]
    );
    assert_eq!(out.json()["diagnostics"][0]["severity"], "warning");
}

#[test]
fn duplicate_names_and_ids_across_files() {
    let ws = Workspace::new()
        .file("a.yaml", client(""))
        .file("b/b.yaml", format!("name: app\n{IDP}"))
        .file(
            "c.yaml",
            format!("id: 11111111-1111-4111-8111-111111111111\nname: other\n{IDP}"),
        );
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 1);
    let errors: Vec<_> = findings(&out)
        .into_iter()
        .filter(|f| f.0 != "derived-id")
        .collect();
    assert_eq!(
        errors,
        vec![
            ("duplicate-name".into(), "manifests/b/b.yaml".into(), 1, 7),
            ("duplicate-id".into(), "manifests/c.yaml".into(), 1, 5),
        ]
    );
}

#[test]
fn derived_id_is_a_note_with_the_stable_uuid() {
    let ws = Workspace::new().file("a.yaml", format!("name: app\n{IDP}"));
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 0);
    let d = &out.json()["diagnostics"][0];
    assert_eq!(d["code"], "derived-id");
    assert_eq!(d["severity"], "note");
    // UUID v5 of "app" under the documented namespace: stable across versions.
    let id = boruta_gitops::kinds::client::manifest::derived_client_id("app").to_string();
    assert!(d["message"].as_str().unwrap().contains(&id));
    assert_eq!(
        id,
        uuid::Uuid::new_v5(
            &uuid::Uuid::parse_str("6f1c2b7e-9d4a-4b3e-8c55-b0a7e1d2c3f4").unwrap(),
            b"app"
        )
        .to_string()
    );
}

#[test]
fn substitution_errors_point_at_the_value_and_values_are_never_printed() {
    let ws = Workspace::new()
        .file(
            "app.yaml",
            client("secret: ${env:BG_TEST_UNSET_VARIABLE}\njwt_public_key: ${file:keys/missing.pem}\npublic_client_id: ${env:BG_TEST_CANARY}\nresponse_mode: ${env:BG_TEST_CANARY}\n"),
        )
        .env("BG_TEST_CANARY", "canary-7f3a9");
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        findings(&out),
        vec![
            ("unset-variable".into(), "manifests/app.yaml".into(), 5, 9),
            ("unreadable-file".into(), "manifests/app.yaml".into(), 6, 17),
            (
                "invalid-response-mode".into(),
                "manifests/app.yaml".into(),
                8,
                16
            ),
        ]
    );
    let human = ws.run(&["validate", "manifests"]);
    for text in [&out.stdout, &out.stderr, &human.stdout, &human.stderr] {
        assert!(!text.contains("canary-7f3a9"), "canary leaked:\n{text}");
    }
}

#[test]
fn file_substitution_reads_relative_to_the_manifest_and_trims_one_newline() {
    let ws = Workspace::new()
        .file(
            "team/app.yaml",
            client("jwt_public_key: ${file:keys/jwt.pem}\n"),
        )
        .file("team/keys/jwt.pem.txt", "not a manifest");
    std::fs::create_dir_all(ws.manifests().join("team/keys")).unwrap();
    std::fs::write(
        ws.manifests().join("team/keys/jwt.pem"),
        "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[test]
fn partial_substitution_is_a_warning() {
    let ws = Workspace::new().file(
        "app.yaml",
        client("redirect_uris: [\"https://${env:HOST}/cb\"]\n"),
    );
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(findings(&out), one("partial-substitution", 5, 17));
}

#[test]
fn literal_secret_lines_are_never_quoted() {
    let ws = Workspace::new().file(
        "app.yaml",
        client("secret: hunter2-canary\nconfidential: yes\n"),
    );
    let out = Test::new(&ws)
        .args(&["validate", "manifests"])
        .status(1)
        .stdout(r"error[invalid-type]: `confidential` must be a boolean, found string `yes` (YAML 1.2 reads yes/no/on/off as strings: write true or false)
  --> manifests/app.yaml:6:15
  |
6 | (line not shown: it holds a secret)
  |               ^^^

1 error(s), 0 warning(s), 0 note(s) in 0 client(s) from 1 file(s)
")
        .run();
    assert!(!out.stdout.contains("hunter2"), "{}", out.stdout);
    let ws = Workspace::new().file("app.yaml", client("secret: 12345\n"));
    let out = Test::new(&ws)
        .args(&["validate", "manifests"])
        .status(1)
        .stdout(r"error[invalid-type]: `secret` must be a string, found integer (not shown: it is sensitive) (quote it)
  --> manifests/app.yaml:5:9
  |
5 | (line not shown: it holds a secret)
  |         ^^^^^

1 error(s), 0 warning(s), 0 note(s) in 0 client(s) from 1 file(s)
")
        .run();
    assert!(!out.stdout.contains("12345"), "{}", out.stdout);
}

#[test]
fn human_format_draws_a_caret_under_the_value() {
    let ws = Workspace::new().file(
        "app.yaml",
        client("access_token_ttl: 90000\nredirect_uri: []\n"),
    );
    let expected = "\
error[ttl-out-of-range]: `access_token_ttl` 90000 is out of range 1..86400
  --> manifests/app.yaml:5:19
  |
5 | access_token_ttl: 90000
  |                   ^^^^^

error[unknown-field]: unknown field `redirect_uri`; did you mean `redirect_uris`?
  --> manifests/app.yaml:6:1
  |
6 | redirect_uri: []
  | ^^^^^^^^^^^^

2 error(s), 0 warning(s), 0 note(s) in 0 client(s) from 1 file(s)
";
    Test::new(&ws)
        .args(&["validate", "manifests"])
        .status(1)
        .stdout(expected)
        .run();
}

#[test]
fn github_format_annotates_the_diff() {
    let ws = Workspace::new().file("app.yaml", client("access_token_ttl: 90000\n"));
    Test::new(&ws)
        .args(&["validate", "manifests", "--format", "github"])
        .status(1)
        .stdout(r"::error file=manifests/app.yaml,line=5,col=19,title=ttl-out-of-range::`access_token_ttl` 90000 is out of range 1..86400
")
        .run();
}

#[test]
fn json_format_is_stable() {
    let ws = Workspace::new().file(
        "app.yaml",
        client("supported_grant_types: [client_credentials]\naccess_token_ttl: 90000\n"),
    );
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    let expected = serde_json::json!({
        "format_version": 1,
        "diagnostics": [{
            "severity": "error",
            "code": "ttl-out-of-range",
            "message": "`access_token_ttl` 90000 is out of range 1..86400",
            "file": "manifests/app.yaml",
            "line": 6,
            "col": 19
        }],
        "summary": {"errors": 1, "warnings": 0, "notes": 0, "waived": 0, "clients": 0, "files": 1}
    });
    assert_eq!(out.json(), expected);
}

#[test]
fn every_mistake_is_reported_in_one_run() {
    let ws = Workspace::new()
        .file(
            "a.yaml",
            client("access_token_ttl: 0\nredirect_uris: [bad]\nresponse_mode: x\n"),
        )
        .file("b.yaml", "name: [\n");
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    let codes: Vec<String> = findings(&out).into_iter().map(|f| f.0).collect();
    assert_eq!(
        codes,
        [
            "ttl-out-of-range",
            "invalid-redirect-uri",
            "invalid-response-mode",
            "yaml-syntax"
        ]
    );
}

#[test]
fn boruta_full_configuration_fixture_validates() {
    let ws = Workspace::new().file(
        "full.yml",
        include_str!("../fixtures/boruta/full_configuration.yml"),
    );
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let json = out.json();
    assert_eq!(json["summary"]["errors"], 0);
    assert_eq!(json["summary"]["clients"], 1);
    // Its scope section writes `name: test` twice: untidy, not ambiguous.
    assert_eq!(json["summary"]["scopes"], 1);
    let codes: Vec<&str> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(
        codes
            .iter()
            // boruta's own example: a confidential client with a shared secret only.
            .all(|c| matches!(
                *c,
                "section-not-managed"
                    | "derived-id"
                    | "secret-auth-preferred-asymmetric"
                    | "duplicate-key"
            )),
        "{codes:?}"
    );
}

#[test]
fn boruta_example_configuration_fails_on_exactly_its_two_placeholders() {
    let ws = Workspace::new().file(
        "configuration.yml",
        include_str!("../fixtures/boruta/configuration.yml"),
    );
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 1);
    let errors: Vec<_> = out.json()["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
                d["col"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            ("invalid-redirect-uri".to_string(), 63, 11),
            ("invalid-redirect-uri".to_string(), 64, 11)
        ]
    );
}

#[test]
fn configuration_file_without_version_or_clients() {
    // Found by the hostile-input property test: `{"configuration": {}}` passed silently.
    let ws = Workspace::new().file("c.yaml", "configuration: {}\n");
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        findings(&out),
        vec![
            (
                "invalid-configuration".into(),
                "manifests/c.yaml".into(),
                1,
                1
            ),
            ("no-clients".into(), "manifests/c.yaml".into(), 1, 1),
        ]
    );
}

#[test]
fn configuration_version_must_be_a_string() {
    let ws = Workspace::new().file(
        "c.yaml",
        format!(
            "version: 1.0\nconfiguration:\n  client:\n    - name: a\n      {}",
            IDP.replace('\n', "\n      ")
        ),
    );
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(
        findings(&out)[0],
        (
            "invalid-configuration".into(),
            "manifests/c.yaml".into(),
            1,
            10
        )
    );
}

#[test]
fn bundled_manifests_validate() {
    let root = env!("CARGO_MANIFEST_DIR");
    let ws = Workspace::new()
        .env("BILLING_API_SECRET", "s1")
        .env("PARTNER_PORTAL_SECRET", "s2");
    let out = ws.run(&["validate", &format!("{root}/manifests"), "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.json()["summary"]["clients"], 3);
}

mod bad_input {
    use super::*;

    fn codes(ws: &Workspace, target: &str) -> (i32, Vec<(String, String, u64, u64)>) {
        let out = ws.run(&["validate", target, "--format", "json"]);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        (out.code, findings(&out))
    }

    #[test]
    fn malformed_yaml() {
        let ws = Workspace::new().file("app.yaml", "name: app\n  bad: [\n");
        let (code, found) = codes(&ws, "manifests");
        assert_eq!(code, 1);
        assert_eq!(found[0].0, "yaml-syntax");
        assert_eq!((found[0].2, found[0].3), (2, 6));
    }

    #[test]
    fn not_utf8() {
        let ws = Workspace::new().file("app.yaml", b"name: app\nsecret: \xff\xfe\n".as_slice());
        assert_eq!(
            codes(&ws, "manifests"),
            (
                1,
                vec![("not-utf8".into(), "manifests/app.yaml".into(), 2, 9)]
            )
        );
    }

    #[test]
    fn empty_file() {
        let ws = Workspace::new().file("app.yaml", "# nothing here\n");
        assert_eq!(
            codes(&ws, "manifests"),
            (
                1,
                vec![("empty-file".into(), "manifests/app.yaml".into(), 1, 1)]
            )
        );
    }

    #[test]
    fn directory_without_manifests_and_missing_directory() {
        let ws = Workspace::new().file("README.md", "not yaml");
        assert_eq!(
            codes(&ws, "manifests"),
            (1, vec![("no-manifests".into(), String::new(), 0, 0)])
        );
        assert_eq!(
            codes(&ws, "nowhere"),
            (1, vec![("path-not-found".into(), String::new(), 0, 0)])
        );
    }

    #[test]
    fn hidden_directories_are_skipped() {
        let ws = Workspace::new()
            .file(".git/x.yaml", "garbage: [")
            .file("ok.yaml", client(""));
        assert_eq!(codes(&ws, "manifests"), (0, vec![]));
    }

    #[test]
    fn ten_megabyte_file() {
        let mut big = client("redirect_uris:\n");
        while big.len() < 10 * 1024 * 1024 {
            big.push_str("  - https://a-very-long-host-name.example.com/callback/path/segment\n");
        }
        big.push_str("  - nope\n");
        let ws = Workspace::new().file("app.yaml", big);
        let (code, found) = codes(&ws, "manifests");
        assert_eq!(code, 1);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "invalid-redirect-uri");
    }

    #[test]
    fn deeply_nested_yaml() {
        let ws = Workspace::new().file("app.yaml", format!("name: {}\n", "[".repeat(100_000)));
        let (code, found) = codes(&ws, "manifests");
        assert_eq!(code, 1);
        assert_eq!(found[0].0, "yaml-too-deep");
    }

    #[test]
    fn alias_bomb() {
        let mut text = String::from("a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
        for (prev, cur) in "abcdefgh".chars().zip("bcdefghi".chars()) {
            let refs = vec![format!("*{prev}"); 9].join(", ");
            text.push_str(&format!("{cur}: &{cur} [{refs}]\n"));
        }
        let ws = Workspace::new().file("app.yaml", text);
        let (code, found) = codes(&ws, "manifests");
        assert_eq!(code, 1);
        assert_eq!(found[0].0, "yaml-alias-limit");
    }

    #[test]
    fn a_document_that_is_not_a_mapping() {
        let ws = Workspace::new().file("app.yaml", "- just\n- a list\n");
        assert_eq!(
            codes(&ws, "manifests"),
            (
                1,
                vec![("not-a-mapping".into(), "manifests/app.yaml".into(), 1, 1)]
            )
        );
    }
}

#[test]
fn bundled_manifests_validate_offline_without_any_secret() {
    let root = env!("CARGO_MANIFEST_DIR");
    // The reference is shown: it is not the secret.
    let ws = Workspace::new();
    Test::new(&ws)
        .args(&["validate", &format!("{root}/manifests")])
        .redact(root, "[REPO]")
        .stdout(r"warning[unset-variable]: environment variable BILLING_API_SECRET is not set here; plan, apply and drift will need it
  --> [REPO]/manifests/billing-api.yaml:7:9
  |
7 | secret: ${env:BILLING_API_SECRET}
  |         ^^^^^^^^^^^^^^^^^^^^^^^^^

note[secret-auth-preferred-asymmetric]: this confidential client authenticates with a shared secret only: prefer private_key_jwt (RFC 9700 §2.5)
  --> [REPO]/manifests/billing-api.yaml:10:1
   |
10 | token_endpoint_auth_methods:
   | ^^^^^^^^^^^^^^^^^^^^^^^^^^^

warning[unset-variable]: environment variable PARTNER_PORTAL_SECRET is not set here; plan, apply and drift will need it
  --> [REPO]/manifests/partner-portal.yml:10:15
   |
10 |       secret: ${env:PARTNER_PORTAL_SECRET}
   |               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^

note[secret-auth-preferred-asymmetric]: this confidential client authenticates with a shared secret only: prefer private_key_jwt (RFC 9700 §2.5)
  --> [REPO]/manifests/partner-portal.yml:16:7
   |
16 |       token_endpoint_auth_methods:
   |       ^^^^^^^^^^^^^^^^^^^^^^^^^^^

0 error(s), 2 warning(s), 2 note(s) in 3 client(s) from 3 file(s)
")
        .run();
    // --require-env makes it an error; plan always needs it.
    Test::new(&ws)
        .args(&["validate", &format!("{root}/manifests"), "--require-env"])
        .redact(root, "[REPO]")
        .status(1)
        .stdout(r"error[unset-variable]: environment variable BILLING_API_SECRET is not set
  --> [REPO]/manifests/billing-api.yaml:7:9
  |
7 | secret: ${env:BILLING_API_SECRET}
  |         ^^^^^^^^^^^^^^^^^^^^^^^^^

note[secret-auth-preferred-asymmetric]: this confidential client authenticates with a shared secret only: prefer private_key_jwt (RFC 9700 §2.5)
  --> [REPO]/manifests/billing-api.yaml:10:1
   |
10 | token_endpoint_auth_methods:
   | ^^^^^^^^^^^^^^^^^^^^^^^^^^^

error[unset-variable]: environment variable PARTNER_PORTAL_SECRET is not set
  --> [REPO]/manifests/partner-portal.yml:10:15
   |
10 |       secret: ${env:PARTNER_PORTAL_SECRET}
   |               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^

note[secret-auth-preferred-asymmetric]: this confidential client authenticates with a shared secret only: prefer private_key_jwt (RFC 9700 §2.5)
  --> [REPO]/manifests/partner-portal.yml:16:7
   |
16 |       token_endpoint_auth_methods:
   |       ^^^^^^^^^^^^^^^^^^^^^^^^^^^

2 error(s), 0 warning(s), 2 note(s) in 3 client(s) from 3 file(s)
")
        .run();
}
