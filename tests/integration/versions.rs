//! Every boruta users run (issue #11): the field catalogue's version dimension, each
//! behaviour against the sandbox imitating that version.

use crate::sandbox::Api;
use crate::support::{all_findings, findings, Server, Test, Workspace, DEFAULT_IDP, IDP};
use boruta_gitops::kinds::client::fields::Version;
use boruta_gitops::sandbox::Config;
use serde_json::{json, Value};

fn server(version: Version) -> Server {
    Server::start_with(Config {
        version,
        ..Config::default()
    })
}

/// The secret of the server's client named `name` (exported manifests read it from the
/// environment).
fn secret_of(server: &Server, name: &str) -> String {
    let id = server.ids_named(name).remove(0);
    server.sandbox.with_state(|s| {
        s.clients[&id].fields["secret"]
            .as_str()
            .unwrap()
            .to_string()
    })
}

#[test]
fn omitted_grant_types_are_a_warning_naming_what_the_server_would_allow() {
    let ws = Workspace::new().file(
        "app.yaml",
        format!("id: 11111111-1111-4111-8111-111111111111\nname: app\n{IDP}"),
    );
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let found: Vec<_> = all_findings(&out)
        .into_iter()
        .filter(|f| f.0 != "long-lived-access-token")
        .collect();
    assert_eq!(
        found,
        vec![(
            "default-grant-types".to_string(),
            "manifests/app.yaml".to_string(),
            2,
            7
        )]
    );
    let message = out.json()["diagnostics"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with("`supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included"),
        "{message}"
    );
    let out = ws.run(&[
        "validate",
        "manifests",
        "--format",
        "json",
        "--boruta-version",
        "master",
    ]);
    let message = out.json()["diagnostics"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("boruta master gives a new client 2 grant type(s) (client_credentials, authorization_code), and other versions differ (boruta 0.9: client_credentials, password,"),
        "{message}"
    );
    // Declared, there is nothing to say.
    let ws = Workspace::new().file(
        "app.yaml",
        format!("id: 11111111-1111-4111-8111-111111111111\nname: app\nsupported_grant_types: [client_credentials]\n{IDP}"),
    );
    assert!(
        crate::support::findings(&ws.run(&["validate", "manifests", "--format", "json"]))
            .is_empty()
    );
}

#[test]
fn export_writes_the_grant_types_a_released_server_gave() {
    let server = server(Version::V0_10);
    server.create(json!({"name": "implicit-defaults", "identity_provider": {"id": server.idp_id(DEFAULT_IDP)}}));
    let ws = server.connect(Workspace::new());
    let out = ws.run(&[
        "export",
        "--out",
        "manifests",
        "--select",
        "implicit-defaults",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ws = ws.env(
        "BORUTA_SECRET_IMPLICIT_DEFAULTS",
        &secret_of(&server, "implicit-defaults"),
    );
    let text = std::fs::read_to_string(ws.manifests().join("implicit-defaults.yaml")).unwrap();
    // Every grant boruta gave, each security error on them waived for the reviewer: the
    // export changes nothing on the server, and the findings stay listed.
    let waiver = |code: &str| {
        format!("  # boruta-gitops:allow {code} exported as the server holds it; review this security finding\n")
    };
    let expected = format!(
        "supported_grant_types:\n{}  - client_credentials\n{}  - password\n{}  - authorization_code\n",
        waiver("public-client-credentials"),
        waiver("password-grant"),
        waiver("public-client-without-pkce"),
    );
    assert!(text.contains(&expected), "{text}");
    assert!(
        text.contains(&format!("{}  - implicit\n", waiver("implicit-grant"))),
        "{text}"
    );
    let out = ws.run(&["plan", "manifests", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

const TRUSTED: &str = "id: 11111111-1111-4111-8111-111111111111\nname: app\nsupported_grant_types: [client_credentials]\ntrusted_hosts:\n  - jwks.example.com\ntrusted_authorities: https://authority.example.com\nidentity_provider:\n  name: Default identity provider\n";

#[test]
fn trusted_hosts_are_refused_at_their_line_on_a_release() {
    let server = server(Version::V0_10);
    let ws = server.connect(Workspace::new().file("app.yaml", TRUSTED));
    for args in [
        &["plan", "manifests"][..],
        &["apply", "manifests", "--auto-approve"],
        &["drift", "manifests"],
    ] {
        // The same refusal whatever the command.
        Test::new(&ws)
            .args(args).sandbox(&server)
            .status(1)
            .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/app.yaml:2:7
  |
2 | name: app
  |       ^^^

error[field-not-supported]: `trusted_hosts` is not supported by boruta 0.10: it arrived on boruta's master branch after the latest release, and boruta 0.10 would silently ignore it. Remove it, or pass --boruta-version master for a server built from master
  --> manifests/app.yaml:4:1
  |
4 | trusted_hosts:
  | ^^^^^^^^^^^^^

error[field-not-supported]: `trusted_authorities` is not supported by boruta 0.10: it arrived on boruta's master branch after the latest release, and boruta 0.10 would silently ignore it. Remove it, or pass --boruta-version master for a server built from master
  --> manifests/app.yaml:6:1
  |
6 | trusted_authorities: https://authority.example.com
  | ^^^^^^^^^^^^^^^^^^^

2 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
            .run();
    }
    assert_eq!(server.count("POST", "/api/clients"), 0, "nothing is sent");
    // Offline, validate assumes the latest release too.
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        findings(&out),
        vec![
            (
                "field-not-supported".into(),
                "manifests/app.yaml".into(),
                4,
                1
            ),
            (
                "field-not-supported".into(),
                "manifests/app.yaml".into(),
                6,
                1
            ),
        ]
    );
}

#[test]
fn trusted_hosts_converge_on_master() {
    let server = server(Version::Master);
    let ws = server.connect(Workspace::new().file("app.yaml", TRUSTED));
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: master (detected: its clients carry `trusted_hosts`)

  + app (11111111-1111-4111-8111-111111111111) will be created  [manifests/app.yaml:2]
      + name                  = "app"
      + supported_grant_types = ["client_credentials"]
      + trusted_hosts         = ["jwks.example.com"]
      + trusted_authorities   = "https://authority.example.com"
      + identity_provider     = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/app.yaml:2:7
  |
2 | name: app
  |       ^^^

0 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    let out = ws.run(&["apply", "manifests", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let out = ws.run(&["plan", "manifests", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(ws.run(&["drift", "manifests"]).code, 0);
    assert_eq!(
        ws.run(&["validate", "manifests", "--boruta-version", "master"])
            .code,
        0
    );
}

#[test]
fn a_version_given_against_the_answers_is_a_warning() {
    let server = server(Version::V0_10);
    let ws = server.connect(Workspace::new().file(
        "app.yaml",
        format!("id: 11111111-1111-4111-8111-111111111111\nname: app\nsupported_grant_types: [client_credentials]\n{IDP}"),
    ));
    Test::new(&ws)
        .args(&["plan", "manifests", "--boruta-version", "master"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all
boruta version: master (--boruta-version)

  + app (11111111-1111-4111-8111-111111111111) will be created  [manifests/app.yaml:2]
      + name                  = "app"
      + supported_grant_types = ["client_credentials"]
      + identity_provider     = "7f6b2a8e-6c1d-4d5e-9f3a-2b1c0d9e8f7a"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning[boruta-version-mismatch]: --boruta-version master was given, but the server's clients carry no `trusted_hosts`, as boruta 0.9 and 0.10 render them

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/app.yaml:2:7
  |
2 | name: app
  |       ^^^

0 error(s), 2 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
}

#[tokio::test(flavor = "multi_thread")]
async fn scope_reads_follow_the_version() {
    for version in Version::ALL {
        let api = Api::start(Config {
            version,
            ..Config::default()
        });
        let token = api.token("clients:manage:all").await;
        let list = api.call("GET", "/api/scopes", Some(&token), None).await;
        assert_eq!(
            list.status, 200,
            "{version}: the list needs any management scope"
        );
        let id = boruta_gitops::sandbox::state::seed_id("openid");
        let one = api
            .call("GET", &format!("/api/scopes/{id}"), Some(&token), None)
            .await;
        let expected = if version.is_release() { 403 } else { 200 };
        assert_eq!(one.status, expected, "{version}: reading one scope");
    }
}

#[test]
fn plans_read_scopes_on_0_9_with_the_least_scopes() {
    let server = server(Version::V0_9);
    let ws = server.connect(Workspace::new().file(
        "app.yaml",
        format!("id: 11111111-1111-4111-8111-111111111111\nname: app\nsupported_grant_types: [client_credentials]\nauthorize_scope: true\nauthorized_scopes:\n  - name: openid\nidentity_provider:\n  id: {}\n", server.idp_id(DEFAULT_IDP)),
    ));
    Test::new(&ws)
        .args(&["apply", "manifests", "--auto-approve"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + app (11111111-1111-4111-8111-111111111111) will be created  [manifests/app.yaml:2]
      + name                  = "app"
      + supported_grant_types = ["client_credentials"]
      + authorize_scope       = true
      + authorized_scopes     = ["openid"]
      + identity_provider     = "5099d922-285f-542d-8c0b-e7d330a90606"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Creating 1 client(s), at most 8 at a time:
  + app (11111111-1111-4111-8111-111111111111) created
boruta generated the secret of 1 client(s). It is not printed: read it with GET /api/clients/<id> (scope clients:manage:all), or run apply with --secrets-out FILE next time.

Apply: 1 created, 0 already present, 0 failed, 0 not attempted.
"#)
        .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/app.yaml:2:7
  |
2 | name: app
  |       ^^^

0 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    assert_eq!(
        ws.run(&["plan", "manifests", "--detailed-exitcode"]).code,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn update_range_checks_differ_between_versions() {
    for (version, refresh, id_token) in [(Version::V0_10, 422, 200), (Version::Master, 200, 422)] {
        let api = Api::start(Config {
            version,
            ..Config::default()
        });
        let token = api.token("clients:manage:all").await;
        let created = api
            .create(
                &token,
                json!({"name": "a", "identity_provider": {"id": api.idp(DEFAULT_IDP)}}),
            )
            .await;
        let id = created.body["data"]["id"].as_str().unwrap().to_string();
        let update = |field: &str| {
            let mut body = serde_json::Map::new();
            body.insert(field.to_string(), json!(100_000));
            json!({"client": body})
        };
        let path = format!("/api/clients/{id}");
        let r = api
            .call(
                "PATCH",
                &path,
                Some(&token),
                Some(update("refresh_token_ttl")),
            )
            .await;
        assert_eq!(
            r.status, refresh,
            "{version} refresh_token_ttl: {:?}",
            r.body
        );
        let r = api
            .call("PATCH", &path, Some(&token), Some(update("id_token_ttl")))
            .await;
        assert_eq!(r.status, id_token, "{version} id_token_ttl: {:?}", r.body);
    }
}

/// A client as a migration or an older boruta left it: values today's create refuses.
fn seed_legacy(server: &Server) {
    let idp = server.idp_id(DEFAULT_IDP);
    server.sandbox.with_state(|s| {
        let Value::Object(values) = json!({
            "name": "legacy", "supported_grant_types": ["client_credentials"],
            "key_pair_type": {"type": "rsa", "modulus_size": "1024", "exponent_size": "65537"},
            "redirect_uris": ["https://ok.example/cb", "myapp:/cb"],
            "authorization_request_ttl": 600
        }) else {
            unreachable!()
        };
        s.insert_raw_client("44444444-4444-4444-8444-444444444444", values, Some(idp));
    });
}

#[test]
fn exports_of_legacy_values_validate_and_plan_empty_on_every_version() {
    for version in Version::ALL {
        let server = server(version);
        seed_legacy(&server);
        let ws = server.connect(Workspace::new());
        let out = ws.run(&["export", "--out", "manifests", "--select", "legacy"]);
        assert_eq!(out.code, 0, "{version}: {}", out.stderr);
        let ws = ws.env("BORUTA_SECRET_LEGACY", &secret_of(&server, "legacy"));
        let text = std::fs::read_to_string(ws.manifests().join("legacy.yaml")).unwrap();
        assert!(
            text.contains("  # boruta-gitops:allow invalid-redirect-uri legacy value held by the server; boruta refuses it for a new client\n  - \"myapp:/cb\"\n"),
            "{version}:\n{text}"
        );
        let out = ws.run(&[
            "validate",
            "manifests",
            "--format",
            "json",
            "--boruta-version",
            version.as_str(),
        ]);
        assert_eq!(out.code, 0, "{version}: {}", out.stdout);
        let json = out.json();
        let waived: Vec<(&str, &str)> = json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["waived"].is_string())
            .map(|d| (d["code"].as_str().unwrap(), d["severity"].as_str().unwrap()))
            .collect();
        assert_eq!(
            waived,
            [
                ("invalid-redirect-uri", "warning"),
                ("ttl-out-of-range", "warning"),
                ("rsa-modulus-too-small", "warning"),
            ],
            "{version}"
        );
        let first_waived = json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["waived"].is_string())
            .unwrap();
        assert!(first_waived["message"].as_str().unwrap().contains(
            "boruta refuses it on create, so it may only stay on a client that already exists"
        ));
        let out = ws.run(&["plan", "manifests", "--detailed-exitcode"]);
        assert_eq!(out.code, 0, "{version}: {}\n{}", out.stdout, out.stderr);
        // The same manifest for a client that does not exist cannot be applied.
        server.sandbox.with_state(|s| {
            s.clients.remove("44444444-4444-4444-8444-444444444444");
        });
        let out = ws.run(&["plan", "manifests"]);
        assert_eq!(out.code, 1, "{version}");
        assert_eq!(
            out.stderr.lines().find(|l| l.starts_with("error[")),
            Some("error[refused-on-create]: client `legacy` does not exist on the server, and the legacy value waived here is one boruta refuses on create: fix the value, or create the client with a value boruta accepts"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn waivers_are_checked() {
    let ws = Workspace::new().file(
        "app.yaml",
        format!("id: 11111111-1111-4111-8111-111111111111\nname: app\nsupported_grant_types: [client_credentials]\n# boruta-gitops:allow rsa-modulus-too-small\naccess_token_ttl: 60\n# boruta-gitops:allow invalid-grant-type because\npkce: true\n# boruta-gitops:allow ttl-out-of-range nothing to waive\nid_token_ttl: 60\n{IDP}"),
    );
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        findings(&out),
        vec![
            (
                "waiver-without-reason".into(),
                "manifests/app.yaml".into(),
                4,
                3
            ),
            ("not-waivable".into(), "manifests/app.yaml".into(), 6, 3),
            ("unused-waiver".into(), "manifests/app.yaml".into(), 8, 3),
        ]
    );
}

#[test]
fn an_unknown_key_pair_is_reported_at_its_line() {
    let server = Server::start();
    let ws = server.connect(Workspace::new().file(
        "app.yaml",
        format!("id: 11111111-1111-4111-8111-111111111111\nname: app\nsupported_grant_types: [client_credentials]\nkey_pair_id: 99999999-9999-4999-8999-999999999999\nidentity_provider:\n  name: {DEFAULT_IDP}\n"),
    ));
    Test::new(&ws)
        .args(&["apply", "manifests", "--auto-approve"])
        .sandbox(&server)
        .status(1)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + app (11111111-1111-4111-8111-111111111111) will be created  [manifests/app.yaml:2]
      + name                  = "app"
      + supported_grant_types = ["client_credentials"]
      + key_pair_id           = "99999999-9999-4999-8999-999999999999"
      + identity_provider     = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Creating 1 client(s), at most 8 at a time:
  ✗ app (11111111-1111-4111-8111-111111111111) failed: key pair not found: boruta answered 404 to the create; no global key pair (/api/key-pairs) has this id

Apply: 0 created, 0 already present, 1 failed, 0 not attempted.
Nothing reported as done is undone. Fix the failures and run apply again: it converges.
"#)
        .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/app.yaml:2:7
  |
2 | name: app
  |       ^^^

0 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
error[key-pair-not-found]: key pair not found: boruta answered 404 to the create; no global key pair (/api/key-pairs) has this id
  --> manifests/app.yaml:4:14
  |
4 | key_pair_id: 99999999-9999-4999-8999-999999999999
  |              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^

")
        .run();
    // A known one is used.
    let known =
        boruta_gitops::sandbox::state::seed_id(boruta_gitops::sandbox::state::DEFAULT_KEY_PAIR);
    std::fs::write(
        ws.manifests().join("app.yaml"),
        format!("id: 11111111-1111-4111-8111-111111111111\nname: app\nsupported_grant_types: [client_credentials]\nkey_pair_id: {known}\nidentity_provider:\n  name: {DEFAULT_IDP}\n"),
    )
    .unwrap();
    let out = ws.run(&["apply", "manifests", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn the_401_hint_names_the_restrictions_and_the_token_database() {
    let server = Server::start();
    server
        .sandbox
        .add_fault("GET /api/clients status=401".parse().unwrap());
    let ws = server.connect(Workspace::new().file(
        "app.yaml",
        format!("id: 11111111-1111-4111-8111-111111111111\nname: app\nsupported_grant_types: [client_credentials]\n{IDP}"),
    ));
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .status(1)
        .stderr(r"error: listing clients (GET /api/clients): boruta answered 401. a fresh token was refused too. boruta's admin API refuses client-credentials tokens when the server sets BORUTA_SUB_RESTRICTED or BORUTA_ORGANIZATION_RESTRICTED (even to an empty value), and when the admin app does not share the OAuth app's token database; unset those, or use a BORUTA_ACCESS_TOKEN issued to a user
")
        .run();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_creates_inserting_one_new_scope_race_into_a_500() {
    let api = Api::start(Config {
        latency: std::time::Duration::from_millis(150),
        ..Config::default()
    });
    let token = api.token("clients:manage:all").await;
    let body = |name: &str| {
        json!({"client": {"name": name, "authorized_scopes": [{"name": "orders:read"}],
            "identity_provider": {"id": api.idp(DEFAULT_IDP)}}})
    };
    let (a, b) = tokio::join!(
        api.call("POST", "/api/clients", Some(&token), Some(body("a"))),
        api.call("POST", "/api/clients", Some(&token), Some(body("b")))
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [201, 500], "{:?} {:?}", a.body, b.body);
}

#[test]
fn apply_creates_the_first_client_of_a_new_scope_alone() {
    let server = Server::start_with(Config {
        latency: std::time::Duration::from_millis(100),
        ..Config::default()
    });
    let mut ws = server.connect(Workspace::new());
    for i in 0..4 {
        ws = ws.file(
            &format!("svc-{i}.yaml"),
            format!("id: 00000000-0000-4000-8000-{i:012}\nname: svc-{i}\nsupported_grant_types: [client_credentials]\nauthorize_scope: true\nauthorized_scopes:\n  - name: orders:read\nidentity_provider:\n  name: {DEFAULT_IDP}\n"),
        );
    }
    let out = ws.run(&["apply", "manifests", "--auto-approve", "--concurrency", "8"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let creates: Vec<(u64, u16)> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/api/clients")
        .map(|r| (r.at_ms, r.status))
        .collect();
    assert_eq!(creates.len(), 4);
    assert!(
        creates.iter().all(|(_, status)| *status == 201),
        "{creates:?}"
    );
    // The first create ran alone: the others arrived after its answer.
    let first = creates[0].0;
    assert!(
        creates[1..].iter().all(|(at, _)| *at >= first + 100),
        "{creates:?}"
    );
    assert_eq!(
        ws.run(&["plan", "manifests", "--detailed-exitcode"]).code,
        0
    );
}
