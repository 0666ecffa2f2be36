//! The security review (issue #14): one fixture per rule with the finding at its exact
//! line and column, the waiver forms, the policy file (severities, parameters, mistakes),
//! SARIF validated against the SARIF 2.1.0 schema, annotations, and the Markdown heading.

use crate::support::{all_findings, Output, Test, Workspace};
use boruta_gitops::policy::catalogue::RULES;

/// A client that passes every rule; each test adds the lines under review from line 6.
const BASE: &str = "id: 11111111-1111-4111-8111-111111111111\nname: app\naccess_token_ttl: 900\nidentity_provider:\n  name: Default identity provider\n";

fn validate(ws: &Workspace, extra: &[&str]) -> Output {
    let mut args = vec!["validate", "manifests", "--format", "json"];
    args.extend_from_slice(extra);
    ws.run(&args)
}

/// (code, file, line, col) of the security findings of `validate` on one manifest.
fn review(manifest: &str) -> Vec<(String, String, u64, u64)> {
    let ws = Workspace::new().file("app.yaml", manifest);
    rule_findings(&validate(&ws, &[]))
}

fn rule_findings(out: &Output) -> Vec<(String, String, u64, u64)> {
    all_findings(out)
        .into_iter()
        .filter(|f| RULES.iter().any(|r| r.code.as_str() == f.0))
        .collect()
}

fn at(code: &str, line: u64, col: u64) -> (String, String, u64, u64) {
    (
        code.to_string(),
        "manifests/app.yaml".to_string(),
        line,
        col,
    )
}

fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

#[test]
fn the_base_fixture_passes_every_rule() {
    assert_eq!(review(&with("confidential: false\n")), []);
}

#[test]
fn implicit_grant() {
    let manifest =
        with("pkce: true\nsupported_grant_types:\n  - authorization_code\n  - implicit\n");
    assert_eq!(review(&manifest), [at("implicit-grant", 9, 5)]);
    let ws = Workspace::new().file("app.yaml", &manifest);
    assert_eq!(validate(&ws, &[]).code, 1, "an error by default");
}

#[test]
fn password_grant() {
    let manifest = with("confidential: true\ntoken_endpoint_auth_methods: [private_key_jwt]\ntoken_endpoint_jwt_auth_alg: RS256\njwt_public_key: \"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\\n\"\nsupported_grant_types: [client_credentials, password]\n");
    assert_eq!(review(&manifest), [at("password-grant", 10, 45)]);
}

#[test]
fn public_client_without_pkce() {
    let manifest = with("supported_grant_types: [authorization_code]\n");
    assert_eq!(review(&manifest), [at("public-client-without-pkce", 6, 25)]);
    // With PKCE, or confidential, it is fine.
    assert_eq!(
        review(&with(
            "supported_grant_types: [authorization_code]\npkce: true\n"
        )),
        []
    );
    let confidential = with("supported_grant_types: [authorization_code]\nconfidential: true\ntoken_endpoint_auth_methods: [private_key_jwt]\ntoken_endpoint_jwt_auth_alg: RS256\njwt_public_key: \"k\"\n");
    assert_eq!(review(&confidential), []);
}

#[test]
fn public_client_credentials() {
    // Backend-only: boruta checks the secret whatever `confidential` says.
    assert_eq!(
        review(&with("supported_grant_types: [client_credentials]\n")),
        []
    );
    // The same client serving a browser app ships its secret there.
    let mixed =
        with("pkce: true\nsupported_grant_types: [authorization_code, client_credentials]\n");
    assert_eq!(review(&mixed), [at("public-client-credentials", 7, 45)]);
    // A public_client_id disables every secret check.
    let unchecked =
        with("public_client_id: did:key:z6Mk\nsupported_grant_types: [client_credentials]\n");
    let found = review(&unchecked);
    assert_eq!(found, [at("public-client-credentials", 7, 25)]);
}

#[test]
fn insecure_redirect_uri() {
    let manifest = with("pkce: true\nsupported_grant_types: [authorization_code]\nredirect_uris:\n  - https://app.example.com/cb\n  - http://app.example.com/cb\n  - http://127.0.0.1:8080/cb\n  - http://[::1]:8080/cb\n");
    assert_eq!(review(&manifest), [at("insecure-redirect-uri", 10, 5)]);
}

#[test]
fn localhost_redirect_uri() {
    let manifest = with("pkce: true\nsupported_grant_types: [authorization_code]\nredirect_uris:\n  - http://localhost:8080/cb\n");
    assert_eq!(review(&manifest), [at("localhost-redirect-uri", 9, 5)]);
}

#[test]
fn redirect_uri_reused() {
    let client = |id: &str, name: &str| {
        format!("id: {id}\nname: {name}\naccess_token_ttl: 900\npkce: true\nsupported_grant_types: [authorization_code]\nredirect_uris:\n  - https://{name}.example.com/cb\n  - https://shared.example.com/cb\nidentity_provider:\n  name: Default identity provider\n")
    };
    let ws = Workspace::new()
        .file(
            "a.yaml",
            client("11111111-1111-4111-8111-111111111111", "a"),
        )
        .file(
            "b.yaml",
            client("22222222-2222-4222-8222-222222222222", "b"),
        );
    let out = validate(&ws, &[]);
    assert_eq!(out.code, 0, "a warning");
    assert_eq!(
        rule_findings(&out),
        [(
            "redirect-uri-reused".to_string(),
            "manifests/b.yaml".to_string(),
            8,
            5
        )]
    );
    Test::new(&ws)
        .args(&["validate", "manifests"])
        .stdout(r"warning[redirect-uri-reused]: redirect URI `https://shared.example.com/cb` is also one of `a` (manifests/a.yaml:8:5): an authorization code meant for one client can reach the other
  --> manifests/b.yaml:8:5
  |
8 |   - https://shared.example.com/cb
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^

0 error(s), 1 warning(s), 0 note(s) in 2 client(s) from 2 file(s)
")
        .run();
}

#[test]
fn jwt_auth_without_key() {
    let manifest = with("confidential: true\ntoken_endpoint_auth_methods: [client_secret_basic, private_key_jwt]\ntoken_endpoint_jwt_auth_alg: RS256\n");
    assert_eq!(review(&manifest), [at("jwt-auth-without-key", 7, 52)]);
    // A jwks_uri alone does not help: boruta reads it only after jwt_public_key failed.
    let ws = Workspace::new().file(
        "app.yaml",
        with("confidential: true\ntoken_endpoint_auth_methods: [private_key_jwt]\ntoken_endpoint_jwt_auth_alg: RS256\njwks_uri: https://app.example.com/jwks\n"),
    );
    let out = validate(&ws, &[]);
    assert_eq!(rule_findings(&out), [at("jwt-auth-without-key", 7, 31)]);
    Test::new(&ws)
        .args(&["validate", "manifests"])
        .status(1)
        .stdout(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/app.yaml:2:7
  |
2 | name: app
  |       ^^^

error[jwt-auth-without-key]: private_key_jwt is allowed but no jwt_public_key is declared: no client assertion can be verified (boruta reads jwks_uri only after jwt_public_key failed to verify an assertion, so a jwks_uri alone never authenticates)
  --> manifests/app.yaml:7:31
  |
7 | token_endpoint_auth_methods: [private_key_jwt]
  |                               ^^^^^^^^^^^^^^^

1 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
}

#[test]
fn jwt_auth_alg_mismatch() {
    // private_key_jwt with the default HS256.
    let manifest = with("confidential: true\ntoken_endpoint_auth_methods: [private_key_jwt]\njwt_public_key: \"k\"\n");
    assert_eq!(review(&manifest), [at("jwt-auth-alg-mismatch", 7, 31)]);
    // RS384 works on master only (0.9 and 0.10 test for a misspelt RS364).
    let rs384 = with("confidential: true\ntoken_endpoint_auth_methods: [private_key_jwt]\ntoken_endpoint_jwt_auth_alg: RS384\njwt_public_key: \"k\"\n");
    assert_eq!(review(&rs384), [at("jwt-auth-alg-mismatch", 7, 31)]);
    let ws = Workspace::new().file("app.yaml", &rs384);
    assert_eq!(
        rule_findings(&validate(&ws, &["--boruta-version", "master"])),
        []
    );
}

#[test]
fn symmetric_id_token_on_public_client() {
    let manifest = with("id_token_signature_alg: HS256\n");
    assert_eq!(
        review(&manifest),
        [at("symmetric-id-token-on-public-client", 6, 25)]
    );
}

#[test]
fn secret_auth_preferred_asymmetric() {
    let manifest = with("confidential: true\n");
    assert_eq!(
        review(&manifest),
        [at("secret-auth-preferred-asymmetric", 2, 7)]
    );
    let declared =
        with("confidential: true\ntoken_endpoint_auth_methods:\n  - client_secret_post\n");
    assert_eq!(
        review(&declared),
        // At the list's key (line 7), not at its first dash.
        [at("secret-auth-preferred-asymmetric", 7, 1)]
    );
}

#[test]
fn long_lived_access_token() {
    let declared = BASE.replace("access_token_ttl: 900", "access_token_ttl: 7200");
    assert_eq!(review(&declared), [at("long-lived-access-token", 3, 19)]);
    // Omitted: boruta's default, a day, at the client's name.
    let omitted = BASE.replace("access_token_ttl: 900\n", "");
    let ws = Workspace::new().file("app.yaml", &omitted);
    let out = validate(&ws, &[]);
    assert_eq!(rule_findings(&out), [at("long-lived-access-token", 2, 7)]);
    Test::new(&ws)
        .args(&["validate", "manifests"])
        .stdout(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/app.yaml:2:7
  |
2 | name: app
  |       ^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/app.yaml:2:7
  |
2 | name: app
  |       ^^^

0 error(s), 2 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    // The threshold is the policy's.
    let ws = Workspace::new().file("app.yaml", &declared).file(
        ".boruta-policy.yaml",
        "rules:\n  long-lived-access-token:\n    max_ttl: 7200\n",
    );
    assert_eq!(rule_findings(&validate(&ws, &[])), []);
}

#[test]
fn admin_scope_granted() {
    let manifest = with("authorized_scopes:\n  - name: openid\n  - name: clients:manage:all\n");
    assert_eq!(review(&manifest), [at("admin-scope-granted", 8, 5)]);
    let ws = Workspace::new().file("app.yaml", &manifest).file(
        ".boruta-policy.yaml",
        "rules:\n  admin-scope-granted:\n    administration_clients: [ops-console, app]\n",
    );
    assert_eq!(rule_findings(&validate(&ws, &[])), []);
}

#[test]
fn a_waiver_above_the_value_waives_it_and_keeps_it_listed() {
    let manifest = with("pkce: true\nsupported_grant_types:\n  - authorization_code\n  # boruta-gitops:allow implicit-grant the legacy widget, removed in Q3\n  - implicit\n");
    let ws = Workspace::new().file("app.yaml", &manifest);
    let out = validate(&ws, &[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let json = out.json();
    let waived: Vec<(&str, &str)> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| Some((d["code"].as_str()?, d["waived"].as_str()?)))
        .collect();
    assert_eq!(
        waived,
        [("implicit-grant", "the legacy widget, removed in Q3")]
    );
    Test::new(&ws)
        .args(&["validate", "manifests"])
        .stdout(r"error[implicit-grant] (waived: the legacy widget, removed in Q3): the implicit grant returns tokens in the front channel, where they leak: RFC 9700 §2.1.2 says not to use it; use authorization_code with PKCE
  --> manifests/app.yaml:10:5
   |
10 |   - implicit
   |     ^^^^^^^^

0 error(s), 0 warning(s), 0 note(s), 1 waived in 1 client(s) from 1 file(s)
")
        .run();
}

#[test]
fn a_waiver_at_the_top_of_the_document_covers_the_whole_client() {
    let manifest = format!(
        "# boruta-gitops:allow long-lived-access-token,admin-scope-granted the batch exporter of the ops team\n{}",
        BASE.replace("access_token_ttl: 900", "access_token_ttl: 7200")
    ) + "authorized_scopes:\n  - name: logs:read:all\n";
    let ws = Workspace::new().file("app.yaml", &manifest);
    let out = validate(&ws, &[]);
    assert_eq!(out.code, 0);
    let json = out.json();
    let waived: Vec<&str> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["waived"].is_string())
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(waived, ["long-lived-access-token", "admin-scope-granted"]);
}

#[test]
fn a_waiver_without_a_reason_is_an_error() {
    let manifest =
        with("supported_grant_types:\n  # boruta-gitops:allow password-grant\n  - password\n");
    let ws = Workspace::new().file("app.yaml", &manifest);
    let out = validate(&ws, &[]);
    assert_eq!(out.code, 1);
    let found = crate::support::findings(&out);
    assert!(
        found.contains(&(
            "waiver-without-reason".to_string(),
            "manifests/app.yaml".to_string(),
            7,
            5
        )),
        "{found:?}"
    );
    assert!(
        found.contains(&at("password-grant", 8, 5)),
        "not waived: {found:?}"
    );
}

#[test]
fn the_policy_file_sets_severities() {
    let manifest = with("pkce: true\nsupported_grant_types: [authorization_code, implicit]\n")
        .replace("access_token_ttl: 900\n", "");
    let policy = "# Our policy\nrules:\n  implicit-grant: warning\n  long-lived-access-token: off\n  default-grant-types: error\n";
    let ws = Workspace::new()
        .file("app.yaml", &manifest)
        .file(".boruta-policy.yaml", policy);
    let out = validate(&ws, &[]);
    assert_eq!(
        out.code, 0,
        "implicit-grant is only a warning now: {}",
        out.stdout
    );
    let json = out.json();
    let found: Vec<(&str, &str)> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["code"].as_str().unwrap(), d["severity"].as_str().unwrap()))
        .collect();
    // The file is in the manifest directory, where a pull request may have relaxed it.
    assert_eq!(
        found,
        [
            ("policy-relaxed", "warning"),
            ("policy-relaxed", "warning"),
            ("implicit-grant", "warning")
        ]
    );
    // default-grant-types is set like any rule's severity.
    let undeclared = BASE.to_string();
    let ws = Workspace::new()
        .file("app.yaml", &undeclared)
        .file(".boruta-policy.yaml", policy);
    let out = validate(&ws, &[]);
    assert_eq!(out.code, 1);
    // Each relaxation is reported at its value: `warning` and `off`.
    let relaxed = |line, column| {
        let file = "manifests/.boruta-policy.yaml".to_string();
        ("policy-relaxed".to_string(), file, line, column)
    };
    assert_eq!(
        crate::support::all_findings(&out),
        [
            relaxed(3, 19),
            relaxed(4, 28),
            (
                "default-grant-types".to_string(),
                "manifests/app.yaml".to_string(),
                2,
                7
            )
        ]
    );
    // --policy names another file; the default one is then not read.
    let ws = ws.file("../strict.yaml", "rules:\n  default-grant-types: off\n");
    let strict = ws.path().join("strict.yaml");
    let out = validate(&ws, &["--policy", strict.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[test]
fn mistakes_in_the_policy_file_are_errors_at_their_line() {
    let policy = "rules:\n  implicit-grant: warnin\n  no-such-rule: error\n  long-lived-access-token:\n    max_ttl: -5\n    colour: red\nsettings: {}\n";
    let ws = Workspace::new()
        .file("app.yaml", with(""))
        .file(".boruta-policy.yaml", policy);
    let out = validate(&ws, &[]);
    assert_eq!(out.code, 1);
    let file = "manifests/.boruta-policy.yaml".to_string();
    assert_eq!(
        crate::support::findings(&out),
        [
            ("invalid-policy".to_string(), file.clone(), 2, 19),
            ("invalid-policy".to_string(), file.clone(), 3, 3),
            ("invalid-policy".to_string(), file.clone(), 5, 14),
            ("invalid-policy".to_string(), file.clone(), 6, 5),
            ("invalid-policy".to_string(), file.clone(), 7, 1),
        ]
    );
    Test::new(&ws)
        .args(&["validate", "manifests"])
        .status(1)
        .stdout(r"error[invalid-policy]: the severity of `implicit-grant` is one of error, warning, note, off
  --> manifests/.boruta-policy.yaml:2:19
  |
2 |   implicit-grant: warnin
  |                   ^^^^^^

error[invalid-policy]: unknown rule `no-such-rule` (the rules are listed in the README, section Security rules)
  --> manifests/.boruta-policy.yaml:3:3
  |
3 |   no-such-rule: error
  |   ^^^^^^^^^^^^

error[invalid-policy]: `max_ttl` is a number of seconds, above 0
  --> manifests/.boruta-policy.yaml:5:14
  |
5 |     max_ttl: -5
  |              ^^

error[invalid-policy]: `long-lived-access-token` has no parameter `colour` (it takes: severity, waivable, max_ttl)
  --> manifests/.boruta-policy.yaml:6:5
  |
6 |     colour: red
  |     ^^^^^^

error[invalid-policy]: unknown key `settings`: a policy file has the keys `rules` and `waivers`
  --> manifests/.boruta-policy.yaml:7:1
  |
7 | settings: {}
  | ^^^^^^^^

warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/app.yaml:2:7
  |
2 | name: app
  |       ^^^

5 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 2 file(s)
")
        .run();
    // A --policy file that does not exist is an error, not the defaults.
    let out = validate(
        &Workspace::new().file("app.yaml", with("")),
        &["--policy", "nope.yaml"],
    );
    assert_eq!(out.code, 1);
    assert_eq!(crate::support::findings(&out)[0].0, "unreadable-file");
}

#[test]
fn sarif_is_valid_sarif_2_1_0_with_rules_locations_and_suppressions() {
    let manifest = with("pkce: true\nsupported_grant_types:\n  - authorization_code\n  # boruta-gitops:allow implicit-grant the legacy widget\n  - implicit\n  - password\nredirect_uris: [\"http://app.example.com/cb\"]\n");
    let ws = Workspace::new().file("app.yaml", &manifest);
    let out = ws.run(&["validate", "manifests", "--format", "sarif"]);
    assert_eq!(
        out.code, 1,
        "password-grant and the insecure URI are errors"
    );
    let document: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    // The OASIS file's `run.language` pattern has a stray `]`, a literal for ECMA-262
    // but a syntax error for Rust's regex engines: escape it (same meaning) to compile.
    let text = include_str!("../fixtures/sarif/sarif-schema-2.1.0.json").replace(
        r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#,
        r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$""#,
    );
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(
        !validator.is_valid(&serde_json::json!({"runs": [{"results": []}]})),
        "the schema rejects a log without version and tool"
    );
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let run = &document["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let implicit = rules.iter().find(|r| r["id"] == "implicit-grant").unwrap();
    assert_eq!(
        implicit["helpUri"],
        "https://www.rfc-editor.org/rfc/rfc9700#section-2.1.2"
    );
    assert_eq!(implicit["defaultConfiguration"]["level"], "error");
    let results = run["results"].as_array().unwrap();
    let summary: Vec<(&str, &str, u64, u64, bool)> = results
        .iter()
        .map(|r| {
            let region = &r["locations"][0]["physicalLocation"]["region"];
            (
                r["ruleId"].as_str().unwrap(),
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap(),
                region["startLine"].as_u64().unwrap(),
                region["startColumn"].as_u64().unwrap(),
                r.get("suppressions").is_some(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("implicit-grant", "manifests/app.yaml", 10, 5, true),
            ("password-grant", "manifests/app.yaml", 11, 5, false),
            ("insecure-redirect-uri", "manifests/app.yaml", 12, 17, false),
        ]
    );
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
    }
}

#[test]
fn github_annotations_carry_the_rule_level() {
    let manifest = with("pkce: true\nsupported_grant_types: [authorization_code]\nredirect_uris:\n  - http://localhost:8080/cb\n  - http://app.example.com/cb\n");
    let ws = Workspace::new().file("app.yaml", &manifest);
    Test::new(&ws)
        .args(&["validate", "manifests", "--format", "github"])
        .status(1)
        .stdout(r"::warning file=manifests/app.yaml,line=9,col=5,title=localhost-redirect-uri::redirect URI `http://localhost:8080/cb` uses `localhost`: register the loopback IP literal (http://127.0.0.1:PORT/... or http://[::1]:PORT/...) instead (RFC 8252 §8.3)
::error file=manifests/app.yaml,line=10,col=5,title=insecure-redirect-uri::redirect URI `http://app.example.com/cb` uses plain http on a host that is not a loopback address: codes and tokens sent there can be read on the way; use https (http is for loopback redirects of native apps only, RFC 8252 §8.3)
")
        .run();
}

#[test]
fn the_bundled_manifests_have_no_security_error() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Workspace::new().run(&[
        "validate",
        root.join("manifests").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let json = out.json();
    let errors: Vec<&serde_json::Value> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let warnings: Vec<&str> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "warning")
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        warnings,
        ["unset-variable", "unset-variable"],
        "only the secrets this machine lacks"
    );
}

#[cfg(unix)]
#[test]
fn a_default_policy_file_linking_out_of_the_manifests_is_not_read() {
    // A pull request can add the default policy file: as a link to a file of the CI
    // machine, its parse errors would quote that file.
    let ws = Workspace::new().file("app.yaml", with(""));
    let outside = ws.path().join("ci-secret.txt");
    std::fs::write(&outside, "TOKEN: [not-yaml-SECRET-CONTENT\n").unwrap();
    std::os::unix::fs::symlink(&outside, ws.manifests().join(".boruta-policy.yaml")).unwrap();
    let out = validate(&ws, &[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        crate::support::findings(&out),
        [(
            "symlink-outside-root".to_string(),
            "manifests/.boruta-policy.yaml".to_string(),
            1,
            1
        )]
    );
    let human = ws.run(&["validate", "manifests"]);
    assert!(!human.stdout.contains("SECRET-CONTENT") && !human.stderr.contains("SECRET-CONTENT"));
}
