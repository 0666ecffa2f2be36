//! Converge (issue #13): `--update`, `lifecycle` (`ensure: absent`, `ignore_changes`),
//! `--allow-delete` and `--select`, the real binary against the sandbox. Every test reads
//! the sandbox's request log: no PATCH or DELETE unless a flag asked for it, and none on a
//! client the plan did not show.

use crate::support::{
    all_findings, wait_until, Output, Server, Test, Workspace, BOOTSTRAP_ID, DEFAULT_IDP,
};
use serde_json::{json, Map, Value};
use std::time::Duration;

const API_ID: &str = "3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10";
const OLD_ID: &str = "5d2c9a1e-7b3f-4c6d-8e9a-0b1c2d3e4f50";
const PARTNERS_IDP: &str = "Partners identity provider";
const ADMIN_UI_ID: &str = "6a2f41a3-c54c-fce8-32d2-0324e1c32e20";

/// A client with a field of every kind: scalar, set, ordered list, reference, multi-line
/// and secret.
fn api_manifest(extra: &str) -> String {
    format!(
        "id: {API_ID}\nname: billing-api\nconfidential: true\nsecret: api-secret-1\npkce: true\naccess_token_ttl: 120\nsupported_grant_types: [client_credentials, refresh_token]\nredirect_uris:\n  - https://billing.example.com/a\n  - https://billing.example.com/b\njwt_public_key: |\n  -----BEGIN PUBLIC KEY-----\n  AAAA\n  BBBB\n  -----END PUBLIC KEY-----\nidentity_provider:\n  name: {DEFAULT_IDP}\n{extra}"
    )
}

/// billing-api declaring one TTL.
fn ttl_manifest(ttl: u32) -> String {
    format!("id: {API_ID}\nname: billing-api\naccess_token_ttl: {ttl}\nidentity_provider:\n  name: {DEFAULT_IDP}\n")
}

fn workspace(server: &Server, manifests: &[(&str, String)]) -> Workspace {
    let mut ws = Workspace::new();
    for (name, content) in manifests {
        ws = ws.file(name, content);
    }
    server.connect(ws)
}

/// The PATCH and DELETE requests the sandbox received, as (method, path).
fn writes(server: &Server) -> Vec<(String, String)> {
    server
        .calls()
        .into_iter()
        .filter(|(m, p)| (m == "PATCH" || m == "DELETE" || m == "PUT") && p.starts_with("/api/"))
        .collect()
}

/// The body of the only PATCH the sandbox received (secrets are redacted in the log).
fn the_patch(server: &Server) -> Map<String, Value> {
    let patches: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert_eq!(patches.len(), 1, "{:?}", server.calls());
    let body: Value = serde_json::from_str(&patches[0].body).unwrap();
    body["client"].as_object().unwrap().clone()
}

/// The stored record of a client, as the admin API renders it.
fn record(server: &Server, id: &str) -> Value {
    server
        .sandbox
        .with_state(|s| s.render_client(id))
        .expect("client exists")
}

fn applied(out: &Output) {
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

/// Creates the clients of `ws` with a plain apply, then forgets the requests.
fn create_all(server: &Server, ws: &Workspace) {
    applied(&ws.run(&["apply", "manifests", "--auto-approve"]));
    server.sandbox.clear_requests();
}

/// What an administrator does in the admin UI: every field kind changed at once (the UI
/// sends the client's scopes along; it has none).
fn drift_every_kind(server: &Server) {
    server.update(
        API_ID,
        json!({
            "pkce": false,
            "access_token_ttl": 200,
            "supported_grant_types": ["client_credentials", "implicit"],
            "redirect_uris": ["https://billing.example.com/b", "https://billing.example.com/a", "https://evil.example.net/cb"],
            "jwt_public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\nCCCC\n-----END PUBLIC KEY-----\n",
            "secret": "rotated-by-hand",
            "identity_provider": {"id": server.idp_id(PARTNERS_IDP)},
        }),
    );
}

#[test]
fn update_of_every_field_kind_sends_only_the_changed_fields_and_converges() {
    let server = Server::start();
    let ws = workspace(&server, &[("billing-api.yaml", api_manifest(""))]);
    create_all(&server, &ws);
    drift_every_kind(&server);

    // Without --update, drift is a report: apply changes nothing and says what would.
    Test::new(&ws)
        .args(&["apply", "manifests", "--auto-approve"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ~ billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) has drifted (apply --update would correct it)  [manifests/billing-api.yaml:2]
      ~ pkce                  = false -> true
      ~ access_token_ttl      = 200 -> 120
      ~ supported_grant_types:
          + "refresh_token"
          - "implicit"
      ~ redirect_uris:
          - "https://billing.example.com/b"
            "https://billing.example.com/a"
          - "https://evil.example.net/cb"
          + "https://billing.example.com/b"
      ~ jwt_public_key:
            -----BEGIN PUBLIC KEY-----
            AAAA
          - CCCC
          + BBBB
            -----END PUBLIC KEY-----
      ~ identity_provider     = "Partners identity provider" -> "Default identity provider"
      ~ secret                = (sensitive) changed
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 1 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Nothing to create.
1 client(s) drifted from git: `apply --update` would correct them (see the plan above).
"#)
        .run();
    assert_eq!(writes(&server), [] as [(String, String); 0]);
    assert_eq!(
        ws.run(&["plan", "manifests", "--detailed-exitcode"]).code,
        0,
        "nothing apply would do without --update"
    );

    let plan = Test::new(&ws)
        .args(&["plan", "manifests", "--update", "--detailed-exitcode"])
        .sandbox(&server)
        .status(2)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ~ billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) will be updated  [manifests/billing-api.yaml:2]
      ~ pkce                  = false -> true
      ~ access_token_ttl      = 200 -> 120
      ~ supported_grant_types:
          + "refresh_token"
          - "implicit"
      ~ redirect_uris:
          - "https://billing.example.com/b"
            "https://billing.example.com/a"
          - "https://evil.example.net/cb"
          + "https://billing.example.com/b"
      ~ jwt_public_key:
            -----BEGIN PUBLIC KEY-----
            AAAA
          - CCCC
          + BBBB
            -----END PUBLIC KEY-----
      ~ identity_provider     = "Partners identity provider" -> "Default identity provider"
      ~ secret                = (sensitive) will change
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 1 to update, 0 to re-send, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning[identity-provider-restart]: if this server runs boruta 0.9.0 to 0.10.0, it caches the identity provider of `billing-api` and keeps using the old one after this update until it restarts (fixed in 0.10.1): restart boruta after apply, or pass --boruta-version with the exact release
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

0 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    assert!(!plan.stdout.contains("rotated-by-hand") && !plan.stdout.contains("api-secret-1"));
    server.sandbox.clear_requests();

    Test::new(&ws)
        .args(&["apply", "manifests", "--update", "--auto-approve"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ~ billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) will be updated  [manifests/billing-api.yaml:2]
      ~ pkce                  = false -> true
      ~ access_token_ttl      = 200 -> 120
      ~ supported_grant_types:
          + "refresh_token"
          - "implicit"
      ~ redirect_uris:
          - "https://billing.example.com/b"
            "https://billing.example.com/a"
          - "https://evil.example.net/cb"
          + "https://billing.example.com/b"
      ~ jwt_public_key:
            -----BEGIN PUBLIC KEY-----
            AAAA
          - CCCC
          + BBBB
            -----END PUBLIC KEY-----
      ~ identity_provider     = "Partners identity provider" -> "Default identity provider"
      ~ secret                = (sensitive) will change
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 1 to update, 0 to re-send, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Updating 1 client(s), at most 8 at a time:
  ~ billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) updated

Apply: 0 created, 1 updated, 0 already present, 0 failed, 0 not attempted.
"#)
        .stderr(r"warning[identity-provider-restart]: if this server runs boruta 0.9.0 to 0.10.0, it caches the identity provider of `billing-api` and keeps using the old one after this update until it restarts (fixed in 0.10.1): restart boruta after apply, or pass --boruta-version with the exact release
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

0 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    assert_eq!(
        writes(&server),
        [("PATCH".to_string(), format!("/api/clients/{API_ID}"))]
    );
    let patch = the_patch(&server);
    let mut keys: Vec<&str> = patch.keys().map(String::as_str).collect();
    keys.sort();
    // The changed fields, the complete scopes (none here), and nothing else: not `name`,
    // not `confidential`, not `id`.
    assert_eq!(
        keys,
        [
            "access_token_ttl",
            "authorized_scopes",
            "identity_provider",
            "jwt_public_key",
            "pkce",
            "redirect_uris",
            "secret",
            "supported_grant_types"
        ]
    );
    assert_eq!(patch["authorized_scopes"], json!([]));
    assert_eq!(
        patch["identity_provider"],
        json!({"id": server.idp_id(DEFAULT_IDP)})
    );
    let now = record(&server, API_ID);
    assert_eq!(now["access_token_ttl"], 120);
    assert_eq!(now["secret"], "api-secret-1");
    assert_eq!(
        now["redirect_uris"],
        json!([
            "https://billing.example.com/a",
            "https://billing.example.com/b"
        ])
    );
    // Converged: drift is clean, and a second apply --update sends nothing.
    assert_eq!(ws.run(&["drift", "manifests"]).code, 0);
    server.sandbox.clear_requests();
    applied(&ws.run(&["apply", "manifests", "--update", "--auto-approve"]));
    assert!(writes(&server).is_empty(), "{:?}", server.calls());
}

#[test]
fn an_update_of_one_ttl_keeps_the_scopes_the_manifest_does_not_declare() {
    let server = Server::start();
    let manifest = ttl_manifest(120);
    let ws = workspace(&server, &[("billing-api.yaml", manifest)]);
    create_all(&server, &ws);
    // Someone granted scopes in the admin UI and tuned the TTL; git only declares the TTL.
    let scopes: Vec<Value> = server.sandbox.with_state(|s| {
        s.scopes
            .values()
            .filter(|s| s.name == "openid" || s.name == "email")
            .map(|s| json!({"id": s.id}))
            .collect()
    });
    assert_eq!(scopes.len(), 2);
    server.update(
        API_ID,
        json!({"access_token_ttl": 250, "authorized_scopes": scopes}),
    );
    let out = ws.run(&["apply", "manifests", "--update", "--auto-approve"]);
    applied(&out);
    let patch = the_patch(&server);
    let mut sent: Vec<Value> = patch["authorized_scopes"].as_array().unwrap().clone();
    let mut held = scopes.clone();
    let by_id = |v: &Value| v["id"].as_str().unwrap().to_string();
    sent.sort_by_key(by_id);
    held.sort_by_key(by_id);
    assert_eq!(sent, held, "the server's scopes, by id");
    assert_eq!(patch.len(), 2, "{patch:?}");
    let now = record(&server, API_ID);
    assert_eq!(now["access_token_ttl"], 120);
    let mut names: Vec<&str> = now["authorized_scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["email", "openid"], "scopes intact");
}

#[test]
fn a_ttl_change_boruta_refuses_on_update_is_an_error_in_the_plan_and_nothing_is_sent() {
    let server = Server::start();
    let manifest = ttl_manifest(3600);
    let ws = workspace(&server, &[("billing-api.yaml", manifest)]);
    create_all(&server, &ws);
    server.update(API_ID, json!({"access_token_ttl": 120}));
    // Plain plan: a drift, no error.
    assert_eq!(ws.run(&["plan", "manifests"]).code, 0);
    let plan = Test::new(&ws)
        .args(&["plan", "manifests", "--update", "--format", "json"])
        .sandbox(&server)
        .redact_between("\"fingerprint\": \"", "\"", "[FINGERPRINT]")
        .status(1)
        .stdout(r#"{
  "format_version": 1,
  "tool_version": "0.1.0",
  "admin_url": "[SANDBOX]",
  "scopes_requested": [
    "clients:manage:all",
    "identity-providers:manage:all"
  ],
  "manifests_dir": "manifests",
  "boruta_version": "0.10",
  "boruta_version_source": "detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same",
  "options": {
    "update": true,
    "allow_delete": false
  },
  "manifests_digest": "454917119c5e0b9e477b2cb9cb9e08c9b4867e147991f9ed9b4a1e71bead14db",
  "clients": [
    {
      "id": "3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10",
      "name": "billing-api",
      "file": "manifests/billing-api.yaml",
      "line": 2,
      "action": "blocked",
      "fields": [
        {
          "field": "access_token_ttl",
          "server": 120,
          "desired": 3600
        }
      ],
      "blocked": "update",
      "fingerprint": "[FINGERPRINT]"
    }
  ],
  "unmanaged": [
    {
      "id": "6a2f41a3-c54c-fce8-32d2-0324e1c32e20",
      "name": "Boruta administration panel",
      "system": "admin-ui"
    },
    {
      "id": "00000000-b007-4000-8000-000000000001",
      "name": "boruta-gitops sandbox bootstrap",
      "system": "this-tool"
    },
    {
      "id": "16f303ac-3b4a-55d6-b1b2-8474213a65f0",
      "name": "public client",
      "system": "public-client"
    }
  ],
  "summary": {
    "create": 0,
    "update": 0,
    "delete": 0,
    "drift": 0,
    "in_sync": 0,
    "conflict": 0,
    "unmanaged": 0,
    "system": 3,
    "resend": 0,
    "blocked": 1
  },
  "diagnostics": [
    {
      "severity": "warning",
      "code": "default-grant-types",
      "message": "`supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs",
      "file": "manifests/billing-api.yaml",
      "line": 2,
      "col": 7
    },
    {
      "severity": "error",
      "code": "update-refused",
      "message": "boruta 0.10 refuses this change on update: access_token_ttl 3600 is out of range 1..300 (on update boruta also checks a changed access_token_ttl against the authorization-request maximum, 300 (an upstream bug)); only deleting and re-creating the client can set it",
      "file": "manifests/billing-api.yaml",
      "line": 3,
      "col": 19
    }
  ]
}
"#)
        .stderr(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

error[update-refused]: boruta 0.10 refuses this change on update: access_token_ttl 3600 is out of range 1..300 (on update boruta also checks a changed access_token_ttl against the authorization-request maximum, 300 (an upstream bug)); only deleting and re-creating the client can set it
  --> manifests/billing-api.yaml:3:19
  |
3 | access_token_ttl: 3600
  |                   ^^^^

1 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    assert_eq!(
        crate::support::findings(&plan),
        [(
            "update-refused".to_string(),
            "manifests/billing-api.yaml".to_string(),
            3,
            19
        )]
    );
    Test::new(&ws)
        .args(&["apply", "manifests", "--update", "--auto-approve"])
        .sandbox(&server)
        .status(1)
        .stdout(r"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ! billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) is blocked: it cannot be updated as declared (see the errors)  [manifests/billing-api.yaml:2]
      ~ access_token_ttl = 120 -> 3600
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 0 to update, 0 to re-send, 1 blocked, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
")
        .stderr(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

error[update-refused]: boruta 0.10 refuses this change on update: access_token_ttl 3600 is out of range 1..300 (on update boruta also checks a changed access_token_ttl against the authorization-request maximum, 300 (an upstream bug)); only deleting and re-creating the client can set it
  --> manifests/billing-api.yaml:3:19
  |
3 | access_token_ttl: 3600
  |                   ^^^^

1 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
error: the plan has errors (see above): nothing was changed
")
        .run();
    assert!(writes(&server).is_empty(), "{:?}", server.calls());
    assert_eq!(record(&server, API_ID)["access_token_ttl"], 120);
}

#[test]
fn a_key_pair_type_change_is_followed_by_a_regenerated_key_pair() {
    let server = Server::start();
    let manifest = |key: &str, alg: &str| {
        format!("id: {API_ID}\nname: billing-api\nkey_pair_type: {key}\nid_token_signature_alg: {alg}\nidentity_provider:\n  name: {DEFAULT_IDP}\n")
    };
    let ws = workspace(
        &server,
        &[(
            "billing-api.yaml",
            manifest(
                "{type: rsa, modulus_size: \"2048\", exponent_size: \"65537\"}",
                "RS256",
            ),
        )],
    );
    create_all(&server, &ws);
    let rsa_key = record(&server, API_ID)["public_key"].clone();
    let ws = ws.file(
        "billing-api.yaml",
        manifest("{type: ec, curve: P-256}", "ES256"),
    );
    Test::new(&ws)
        .args(&["plan", "manifests", "--update"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ~ billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) will be updated  [manifests/billing-api.yaml:2]
      ~ key_pair_type          = {"type":"rsa","modulus_size":"2048","exponent_size":"65537"} -> {"type":"ec","curve":"P-256"}
      ~ id_token_signature_alg = "RS256" -> "ES256"
      + then POST regenerate_key_pair: boruta keeps the old key until asked for one of the new type
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 1 to update, 0 to re-send, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

0 error(s), 2 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    let out = ws.run(&["apply", "manifests", "--update", "--auto-approve"]);
    applied(&out);
    let sequence: Vec<(String, String)> = server
        .calls()
        .into_iter()
        .filter(|(m, _)| m != "GET")
        .filter(|(_, p)| p.starts_with("/api/"))
        .collect();
    assert_eq!(
        sequence,
        [
            ("PATCH".to_string(), format!("/api/clients/{API_ID}")),
            (
                "POST".to_string(),
                format!("/api/clients/{API_ID}/regenerate_key_pair")
            ),
        ]
    );
    let now = record(&server, API_ID);
    assert_eq!(now["key_pair_type"]["type"], "ec");
    assert_ne!(now["public_key"], rsa_key, "a new key");
    assert_eq!(ws.run(&["drift", "manifests"]).code, 0);
}

#[test]
fn a_partial_save_is_found_by_reading_the_client_back() {
    let server = Server::start();
    let manifest = |ttl: u32, idp: &str| {
        format!("id: {API_ID}\nname: billing-api\naccess_token_ttl: {ttl}\nidentity_provider:\n  name: {idp}\n")
    };
    let ws = workspace(&server, &[("billing-api.yaml", manifest(120, DEFAULT_IDP))]);
    create_all(&server, &ws);
    let ws = ws.file("billing-api.yaml", manifest(200, PARTNERS_IDP));
    // The identity provider disappears while the PATCH is on its way: boruta saves the
    // TTL, then fails the association with a 422 (contract §9.3).
    server
        .sandbox
        .add_fault("PATCH /api/clients/* delay-ms=1500".parse().unwrap());
    let child = server
        .command(&ws, &["apply", "manifests", "--update", "--auto-approve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(20), "the PATCH", || {
        server.count("PATCH", &format!("/api/clients/{API_ID}")) > 0
    });
    let partners = server.idp_id(PARTNERS_IDP);
    server
        .sandbox
        .with_state(|s| s.identity_providers.remove(&partners));
    let out = child.wait_with_output().unwrap();
    Test::new(&ws)
        .args(&["apply", "manifests", "--update", "--auto-approve"])
        .sandbox(&server)
        .status(1)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ~ billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) will be updated  [manifests/billing-api.yaml:2]
      ~ access_token_ttl  = 120 -> 200
      ~ identity_provider = "Default identity provider" -> "Partners identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 1 to update, 0 to re-send, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Updating 1 client(s), at most 8 at a time:
  ✗ billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) failed: boruta refused the update (422): identity_provider_id: does not exist; read back: changed `access_token_ttl`; not changed `identity_provider`

Apply: 0 created, 0 updated, 0 already present, 1 failed, 0 not attempted.
Nothing reported as done is undone. Fix the failures and run apply again: it converges.
"#)
        .stderr(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

warning[identity-provider-restart]: if this server runs boruta 0.9.0 to 0.10.0, it caches the identity provider of `billing-api` and keeps using the old one after this update until it restarts (fixed in 0.10.1): restart boruta after apply, or pass --boruta-version with the exact release
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

0 error(s), 2 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
error[rejected-by-server]: boruta rejected `identity_provider_id`: does not exist
  --> manifests/billing-api.yaml:4:1
  |
4 | identity_provider:
  | ^^^^^^^^^^^^^^^^^

")
        .check(out.into());
    assert_eq!(record(&server, API_ID)["access_token_ttl"], 200);
    assert_eq!(
        server.count("GET", &format!("/api/clients/{API_ID}")),
        1,
        "one read-back"
    );
}

#[test]
fn a_200_that_did_not_take_is_a_failure_naming_the_fields() {
    let server = Server::start();
    let manifest = format!(
        "id: {API_ID}\nname: billing-api\npkce: true\npublic_revoke: false\nidentity_provider:\n  name: {DEFAULT_IDP}\n"
    );
    let ws = workspace(&server, &[("billing-api.yaml", manifest)]);
    create_all(&server, &ws);
    server.update(API_ID, json!({"pkce": false, "public_revoke": true}));
    // A proxy strips `pkce` from writes: boruta answers 200 with pkce unchanged.
    server
        .sandbox
        .add_fault("PATCH /api/clients/* strip-field=pkce".parse().unwrap());
    Test::new(&ws)
        .args(&["apply", "manifests", "--update", "--auto-approve"])
        .sandbox(&server)
        .status(1)
        .stdout(r"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ~ billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) will be updated  [manifests/billing-api.yaml:2]
      ~ pkce          = false -> true
      ~ public_revoke = true -> false
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 1 to update, 0 to re-send, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Updating 1 client(s), at most 8 at a time:
  ✗ billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) failed: boruta answered 200 but the client still differs from the manifest: changed `public_revoke`; not changed `pkce`

Apply: 0 created, 0 updated, 0 already present, 1 failed, 0 not attempted.
Nothing reported as done is undone. Fix the failures and run apply again: it converges.
")
        .stderr(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

0 error(s), 2 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    server.sandbox.clear_faults();
    applied(&ws.run(&["apply", "manifests", "--update", "--auto-approve"]));
    assert_eq!(ws.run(&["drift", "manifests"]).code, 0);
}

fn absent_manifest(id: &str, name: &str) -> String {
    format!("id: {id}\nname: {name}\nidentity_provider:\n  name: {DEFAULT_IDP}\nlifecycle:\n  ensure: absent\n")
}

fn plain_manifest(id: &str, name: &str) -> String {
    format!("id: {id}\nname: {name}\nidentity_provider:\n  name: {DEFAULT_IDP}\n")
}

#[test]
fn a_delete_needs_allow_delete_and_without_it_nothing_in_the_plan_is_applied() {
    let server = Server::start();
    server.create(json!({"id": OLD_ID, "name": "legacy-app", "identity_provider": {"id": server.idp_id(DEFAULT_IDP)}}));
    let ws = workspace(
        &server,
        &[
            ("legacy-app.yaml", absent_manifest(OLD_ID, "legacy-app")),
            ("billing-api.yaml", plain_manifest(API_ID, "billing-api")),
        ],
    );
    let plan = ws.run(&["plan", "manifests", "--format", "json"]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    assert_eq!(
        crate::support::findings(&plan),
        [(
            "delete-not-allowed".to_string(),
            "manifests/legacy-app.yaml".to_string(),
            2,
            7
        )]
    );
    Test::new(&ws)
        .args(&["apply", "manifests", "--auto-approve"])
        .sandbox(&server)
        .status(1)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) will be created  [manifests/billing-api.yaml:2]
      + name              = "billing-api"
      + identity_provider = "Default identity provider"
  ! legacy-app (5d2c9a1e-7b3f-4c6d-8e9a-0b1c2d3e4f50) is blocked: it cannot be deleted as declared (see the errors)  [manifests/legacy-app.yaml:2]
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 1 blocked, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

error[delete-not-allowed]: `legacy-app` (5d2c9a1e-7b3f-4c6d-8e9a-0b1c2d3e4f50) is declared `ensure: absent` and exists: deleting it needs --allow-delete, on plan and apply (the whole plan is refused without it)
  --> manifests/legacy-app.yaml:2:7
  |
2 | name: legacy-app
  |       ^^^^^^^^^^

1 error(s), 2 warning(s), 0 note(s) in 2 client(s) from 2 file(s)
error: the plan has errors (see above): nothing was changed
")
        .run();
    // Reads and the token only: the create in the same plan is not applied either.
    let calls = server.calls();
    assert!(
        calls
            .iter()
            .all(|(m, p)| m == "GET" || (m == "POST" && p == "/oauth/token")),
        "{calls:?}"
    );

    Test::new(&ws)
        .args(&["plan", "manifests", "--allow-delete", "--detailed-exitcode"])
        .sandbox(&server)
        .status(2)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) will be created  [manifests/billing-api.yaml:2]
      + name              = "billing-api"
      + identity_provider = "Default identity provider"
  - legacy-app (5d2c9a1e-7b3f-4c6d-8e9a-0b1c2d3e4f50) will be deleted  [manifests/legacy-app.yaml:2]
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 1 to delete, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

0 error(s), 2 warning(s), 0 note(s) in 2 client(s) from 2 file(s)
")
        .run();
    Test::new(&ws)
        .args(&["apply", "manifests", "--allow-delete", "--auto-approve"])
        .sandbox(&server)
        .unordered_under("Creating ")
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) will be created  [manifests/billing-api.yaml:2]
      + name              = "billing-api"
      + identity_provider = "Default identity provider"
  - legacy-app (5d2c9a1e-7b3f-4c6d-8e9a-0b1c2d3e4f50) will be deleted  [manifests/legacy-app.yaml:2]
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 1 to delete, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Creating 1 and deleting 1 client(s), at most 8 at a time:
  + billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) created
  - legacy-app (5d2c9a1e-7b3f-4c6d-8e9a-0b1c2d3e4f50) deleted
boruta generated the secret of 1 client(s). It is not printed: read it with GET /api/clients/<id> (scope clients:manage:all), or run apply with --secrets-out FILE next time.

Apply: 1 created, 1 deleted, 0 already present, 0 already absent, 0 failed, 0 not attempted.
"#)
        .stderr(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

0 error(s), 2 warning(s), 0 note(s) in 2 client(s) from 2 file(s)
")
        .run();
    assert_eq!(
        writes(&server),
        [("DELETE".to_string(), format!("/api/clients/{OLD_ID}"))]
    );
    assert!(server.ids_named("legacy-app").is_empty());
    // Gone and declared absent: nothing to do, and drift is clean.
    server.sandbox.clear_requests();
    let again = ws.run(&["apply", "manifests", "--allow-delete", "--auto-approve"]);
    applied(&again);
    assert!(writes(&server).is_empty());
    assert_eq!(ws.run(&["drift", "manifests"]).code, 0);
}

#[test]
fn a_delete_whose_answer_was_lost_counts_as_deleted() {
    let server = Server::start();
    server.create(json!({"id": OLD_ID, "name": "legacy-app", "identity_provider": {"id": server.idp_id(DEFAULT_IDP)}}));
    let ws = workspace(
        &server,
        &[("legacy-app.yaml", absent_manifest(OLD_ID, "legacy-app"))],
    );
    server.sandbox.add_fault(
        "DELETE /api/clients/* times=1 commit-then-drop"
            .parse()
            .unwrap(),
    );
    Test::new(&ws)
        .args(&["apply", "manifests", "--allow-delete", "--auto-approve"])
        .sandbox(&server)
        .redact_between("retrying in ", " ms", "[MS]")
        .stdout(r"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  - legacy-app (5d2c9a1e-7b3f-4c6d-8e9a-0b1c2d3e4f50) will be deleted  [manifests/legacy-app.yaml:2]
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 1 to delete, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Deleting 1 client(s), at most 8 at a time:
  - legacy-app (5d2c9a1e-7b3f-4c6d-8e9a-0b1c2d3e4f50) deleted

Apply: 0 created, 1 deleted, 0 already present, 0 already absent, 0 failed, 0 not attempted.
")
        .stderr(r"warning: deleting client `legacy-app` (5d2c9a1e-7b3f-4c6d-8e9a-0b1c2d3e4f50): the server closed the connection before the answer was complete; retrying in [MS] ms (attempt 2 of 5)
")
        .run();
    let deletes = server.count("DELETE", &format!("/api/clients/{OLD_ID}"));
    assert_eq!(deletes, 2, "the lost attempt and its retry");
}

#[test]
fn system_clients_are_never_deleted_or_updated_whatever_a_manifest_says() {
    let server = Server::start();
    let ws = workspace(
        &server,
        &[
            ("admin.yaml", absent_manifest(ADMIN_UI_ID, "Boruta administration panel")),
            ("me.yaml", format!("id: {BOOTSTRAP_ID}\nname: boruta-gitops sandbox bootstrap\naccess_token_ttl: 100\nidentity_provider:\n  name: {DEFAULT_IDP}\n")),
        ],
    );
    let plan = Test::new(&ws)
        .args(&[
            "plan",
            "manifests",
            "--update",
            "--allow-delete",
            "--format",
            "json",
        ])
        .sandbox(&server)
        .redact_between("\"fingerprint\": \"", "\"", "[FINGERPRINT]")
        .status(1)
        .stdout(r#"{
  "format_version": 1,
  "tool_version": "0.1.0",
  "admin_url": "[SANDBOX]",
  "scopes_requested": [
    "clients:manage:all",
    "identity-providers:manage:all"
  ],
  "manifests_dir": "manifests",
  "boruta_version": "0.10",
  "boruta_version_source": "detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same",
  "options": {
    "update": true,
    "allow_delete": true
  },
  "manifests_digest": "fc7074cefaa2f7b94dd97e49a415de476ebf3c0852be689fb95d3b659af67888",
  "clients": [
    {
      "id": "6a2f41a3-c54c-fce8-32d2-0324e1c32e20",
      "name": "Boruta administration panel",
      "file": "manifests/admin.yaml",
      "line": 2,
      "action": "blocked",
      "blocked": "delete",
      "fingerprint": "[FINGERPRINT]"
    },
    {
      "id": "00000000-b007-4000-8000-000000000001",
      "name": "boruta-gitops sandbox bootstrap",
      "file": "manifests/me.yaml",
      "line": 2,
      "action": "blocked",
      "fields": [
        {
          "field": "access_token_ttl",
          "server": 86400,
          "desired": 100
        }
      ],
      "blocked": "update",
      "fingerprint": "[FINGERPRINT]"
    }
  ],
  "unmanaged": [
    {
      "id": "16f303ac-3b4a-55d6-b1b2-8474213a65f0",
      "name": "public client",
      "system": "public-client"
    }
  ],
  "summary": {
    "create": 0,
    "update": 0,
    "delete": 0,
    "drift": 0,
    "in_sync": 0,
    "conflict": 0,
    "unmanaged": 0,
    "system": 1,
    "resend": 0,
    "blocked": 2
  },
  "diagnostics": [
    {
      "severity": "error",
      "code": "protected-client",
      "message": "`Boruta administration panel` (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) is a system client (admin UI client): boruta-gitops never deletes it, whatever a manifest says",
      "file": "manifests/admin.yaml",
      "line": 2,
      "col": 7
    },
    {
      "severity": "error",
      "code": "protected-client",
      "message": "`boruta-gitops sandbox bootstrap` (00000000-b007-4000-8000-000000000001) is a system client (the client this run authenticates as): boruta-gitops never changes it, whatever a manifest says",
      "file": "manifests/me.yaml",
      "line": 2,
      "col": 7
    },
    {
      "severity": "warning",
      "code": "default-grant-types",
      "message": "`supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs",
      "file": "manifests/me.yaml",
      "line": 2,
      "col": 7
    }
  ]
}
"#)
        .stderr(r"error[protected-client]: `Boruta administration panel` (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) is a system client (admin UI client): boruta-gitops never deletes it, whatever a manifest says
  --> manifests/admin.yaml:2:7
  |
2 | name: Boruta administration panel
  |       ^^^^^^^^^^^^^^^^^^^^^^^^^^^

error[protected-client]: `boruta-gitops sandbox bootstrap` (00000000-b007-4000-8000-000000000001) is a system client (the client this run authenticates as): boruta-gitops never changes it, whatever a manifest says
  --> manifests/me.yaml:2:7
  |
2 | name: boruta-gitops sandbox bootstrap
  |       ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^

warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/me.yaml:2:7
  |
2 | name: boruta-gitops sandbox bootstrap
  |       ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^

2 error(s), 1 warning(s), 0 note(s) in 2 client(s) from 2 file(s)
")
        .run();
    let mut found: Vec<_> = all_findings(&plan)
        .into_iter()
        .filter(|f| f.0 == "protected-client")
        .map(|f| (f.1, f.2))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("manifests/admin.yaml".to_string(), 2),
            ("manifests/me.yaml".to_string(), 2)
        ]
    );
    let out = ws.run(&[
        "apply",
        "manifests",
        "--update",
        "--allow-delete",
        "--auto-approve",
    ]);
    assert_eq!(out.code, 1);
    assert!(writes(&server).is_empty(), "{:?}", server.calls());
}

#[test]
fn ignored_fields_are_shown_but_never_drift_nor_updated() {
    let server = Server::start();
    let manifest = format!(
        "id: {API_ID}\nname: billing-api\nsecret: api-secret-1\naccess_token_ttl: 120\npkce: true\nidentity_provider:\n  name: {DEFAULT_IDP}\nlifecycle:\n  ignore_changes: [secret, access_token_ttl]\n"
    );
    let ws = workspace(&server, &[("billing-api.yaml", manifest)]);
    create_all(&server, &ws);
    server.update(
        API_ID,
        json!({"secret": "rotated-by-vault", "access_token_ttl": 250}),
    );
    let drift = Test::new(&ws)
        .args(&["drift", "manifests"])
        .sandbox(&server)
        .stdout(r"boruta-gitops drift check against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  No changes: the server matches the manifests.
    billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) is in sync, but for ignored changes  [manifests/billing-api.yaml:2]
      ? access_token_ttl = 250 -> 120 (ignored)
      ? secret           = (sensitive) changed (ignored)
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Drift: 0 to create, 0 drifted, 1 in sync, 0 unmanaged (3 system), 0 conflict(s).
")
        .stderr(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

0 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    assert!(!drift.stdout.contains("rotated-by-vault"));
    assert_eq!(
        ws.run(&["plan", "manifests", "--update", "--detailed-exitcode"])
            .code,
        0
    );
    applied(&ws.run(&["apply", "manifests", "--update", "--auto-approve"]));
    assert!(writes(&server).is_empty(), "{:?}", server.calls());
    // A real drift next to them is updated without them.
    server.update(API_ID, json!({"pkce": false}));
    applied(&ws.run(&["apply", "manifests", "--update", "--auto-approve"]));
    let patch = the_patch(&server);
    let mut keys: Vec<&str> = patch.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["authorized_scopes", "pkce"]);
    let now = record(&server, API_ID);
    assert_eq!(now["secret"], "rotated-by-vault");
    assert_eq!(now["access_token_ttl"], 250);
}

#[test]
fn ignore_changes_naming_no_field_is_an_error_at_its_line() {
    let manifest = format!(
        "id: {API_ID}\nname: billing-api\nidentity_provider:\n  name: {DEFAULT_IDP}\nlifecycle:\n  ignore_changes:\n    - secret\n    - acces_token_ttl\n    - id\n"
    );
    let out = Workspace::new().file("billing-api.yaml", manifest).run(&[
        "validate",
        "manifests",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 1);
    let found: Vec<_> = crate::support::findings(&out);
    assert_eq!(
        found,
        [
            (
                "unknown-field".to_string(),
                "manifests/billing-api.yaml".to_string(),
                8,
                7
            ),
            (
                "unknown-field".to_string(),
                "manifests/billing-api.yaml".to_string(),
                9,
                7
            ),
        ]
    );
}

#[test]
fn select_plans_and_applies_only_the_named_manifests() {
    let server = Server::start();
    const WORKER: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
    const SHOP: &str = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e";
    server.create(
        json!({"name": "someone-elses", "identity_provider": {"id": server.idp_id(DEFAULT_IDP)}}),
    );
    let ws = workspace(
        &server,
        &[
            ("billing-api.yaml", plain_manifest(API_ID, "billing-api")),
            (
                "billing-worker.yaml",
                plain_manifest(WORKER, "billing-worker"),
            ),
            ("shop.yaml", plain_manifest(SHOP, "shop")),
        ],
    );
    let plan = Test::new(&ws)
        .args(&["plan", "manifests", "--select", "billing-*"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  Partial plan: only the manifests --select billing-* chose; the server's other clients and scopes are left out.
  + billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) will be created  [manifests/billing-api.yaml:2]
      + name              = "billing-api"
      + identity_provider = "Default identity provider"
  + billing-worker (9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d) will be created  [manifests/billing-worker.yaml:2]
      + name              = "billing-worker"
      + identity_provider = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 2 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/billing-worker.yaml:2:7
  |
2 | name: billing-worker
  |       ^^^^^^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/billing-worker.yaml:2:7
  |
2 | name: billing-worker
  |       ^^^^^^^^^^^^^^

warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/shop.yaml:2:7
  |
2 | name: shop
  |       ^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/shop.yaml:2:7
  |
2 | name: shop
  |       ^^^^

0 error(s), 6 warning(s), 0 note(s) in 2 client(s) from 3 file(s)
")
        .run();
    assert!(
        !plan.stdout.contains("shop") && !plan.stdout.contains("someone-elses"),
        "{}",
        plan.stdout
    );
    applied(&ws.run(&[
        "apply",
        "manifests",
        "--select",
        "billing-*",
        "--auto-approve",
    ]));
    assert_eq!(server.ids_named("billing-api"), [API_ID]);
    assert_eq!(server.ids_named("billing-worker"), [WORKER]);
    assert!(server.ids_named("shop").is_empty());
    // By id, with another pattern: the union.
    let plan = ws.run(&[
        "plan",
        "manifests",
        "--select",
        SHOP,
        "--select",
        "billing-api",
        "--format",
        "json",
    ]);
    let actions: Vec<(String, String)> = plan.json()["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["action"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("billing-api".to_string(), "in-sync".to_string()),
            ("shop".to_string(), "create".to_string())
        ]
    );
    assert_eq!(
        plan.json()["options"]["select"],
        json!([SHOP, "billing-api"])
    );
    // Drift of one client does not report the others, nor the unmanaged one.
    let drift = ws.run(&["drift", "manifests", "--select", "billing-api"]);
    assert_eq!(drift.code, 0, "{}", drift.stdout);
    // A pattern that names nothing is a mistake, not an empty success.
    Test::new(&ws)
        .args(&[
            "apply",
            "manifests",
            "--select",
            "biling-*",
            "--auto-approve",
        ])
        .sandbox(&server)
        .status(1)
        .stderr("error: --select biling-*: no manifest has this name or id\n")
        .run();
    assert!(writes(&server).is_empty());
}

#[test]
fn a_saved_plan_with_an_update_is_refused_when_the_client_changed_since() {
    let server = Server::start();
    let manifest = ttl_manifest(120);
    let ws = workspace(&server, &[("billing-api.yaml", manifest)]);
    create_all(&server, &ws);
    server.update(API_ID, json!({"access_token_ttl": 200}));
    let saved = ws.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    let plan = ws.run(&["plan", "manifests", "--update", "--out", saved]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let document: Value = serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    assert_eq!(document["options"]["update"], true);
    assert_eq!(document["clients"][0]["action"], "update");
    // The flags are in the plan: apply --plan takes none.
    Test::new(&ws)
        .args(&["apply", "--plan", saved, "--update"])
        .sandbox(&server)
        .status(1)
        .stderr(r"error: apply --plan performs the saved plan as it was reviewed: --update, --allow-delete and --select are recorded in it, and cannot be given again
")
        .run();
    // Someone edits the client between review and merge.
    server.update(API_ID, json!({"access_token_ttl": 250}));
    server.sandbox.clear_requests();
    Test::new(&ws)
        .args(&["apply", "--plan", saved])
        .sandbox(&server)
        .status(1)
        .stdout(r"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ~ billing-api (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10) will be updated  [manifests/billing-api.yaml:2]
      ~ access_token_ttl = 250 -> 120
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 1 to update, 0 to re-send, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
")
        .stderr(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/billing-api.yaml:2:7
  |
2 | name: billing-api
  |       ^^^^^^^^^^^

0 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
error: the saved plan is stale; nothing was changed. Make a new plan:
  - client `billing-api` (3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10): it was changed on the server after the plan was made
")
        .run();
    assert!(writes(&server).is_empty());
    // A fresh plan applies exactly its update, without --update on the command line.
    let plan = ws.run(&["plan", "manifests", "--update", "--out", saved]);
    assert_eq!(plan.code, 0);
    applied(&ws.run(&["apply", "--plan", saved]));
    assert_eq!(
        writes(&server),
        [("PATCH".to_string(), format!("/api/clients/{API_ID}"))]
    );
    assert_eq!(record(&server, API_ID)["access_token_ttl"], 120);
}

/// A fault on the writes, then a re-run: the server converges, each write done once.
fn converges_through(fault: &str, extra: &[&str], first_exit: i32) {
    let server = Server::start();
    let manifest = ttl_manifest(120);
    let ws = workspace(&server, &[("billing-api.yaml", manifest)]);
    create_all(&server, &ws);
    server.create(json!({"id": OLD_ID, "name": "legacy-app", "identity_provider": {"id": server.idp_id(DEFAULT_IDP)}}));
    let ws = ws.file("legacy-app.yaml", absent_manifest(OLD_ID, "legacy-app"));
    server.update(API_ID, json!({"access_token_ttl": 200}));
    server.sandbox.add_fault(fault.parse().unwrap());
    let mut args = vec![
        "apply",
        "manifests",
        "--update",
        "--allow-delete",
        "--auto-approve",
    ];
    args.extend_from_slice(extra);
    let out = ws.run(&args);
    assert_eq!(
        out.code, first_exit,
        "{fault}\n{}\n{}",
        out.stdout, out.stderr
    );
    assert!(!format!("{}{}", out.stdout, out.stderr).contains("panicked"));
    server.sandbox.clear_faults();
    applied(&ws.run(&[
        "apply",
        "manifests",
        "--update",
        "--allow-delete",
        "--auto-approve",
    ]));
    assert_eq!(
        ws.run(&["drift", "manifests"]).code,
        0,
        "{fault}: converged"
    );
    assert_eq!(record(&server, API_ID)["access_token_ttl"], 120);
    assert!(server.ids_named("legacy-app").is_empty());
}

#[test]
fn updates_and_deletes_converge_through_503_429_and_timeouts() {
    converges_through("PATCH /api/clients/* times=2 status=503", &[], 0);
    converges_through("DELETE /api/clients/* times=2 status=503", &[], 0);
    converges_through(
        "PATCH /api/clients/* times=1 status=429 retry-after=1",
        &[],
        0,
    );
    converges_through(
        "DELETE /api/clients/* times=1 status=429 retry-after=1",
        &[],
        0,
    );
    converges_through("PATCH /api/clients/* times=1 hang", &["--timeout", "1"], 0);
    converges_through("DELETE /api/clients/* times=1 hang", &["--timeout", "1"], 0);
    converges_through("PATCH /api/clients/* times=1 commit-then-drop", &[], 0);
    // Still failing after every retry: exit 1, and the re-run converges.
    converges_through(
        "PATCH /api/clients/* status=503",
        &["--max-retries", "1"],
        1,
    );
    converges_through(
        "DELETE /api/clients/* status=503",
        &["--max-retries", "1"],
        1,
    );
}
