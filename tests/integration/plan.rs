//! `plan` and `drift` against the sandbox (issue #4): the real binary over real HTTP.

use crate::support::{Server, Test, Workspace, BOOTSTRAP_ID, DEFAULT_IDP, IDP};
use serde_json::{json, Value};

const API_ID: &str = "3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10";
const SPA_ID: &str = "8b1d4c6e-2f3a-4e5b-9c7d-0a1b2c3d4e5f";

fn api_manifest() -> String {
    format!(
        "id: {API_ID}\nname: billing-api\nconfidential: true\nsecret: ${{env:API_SECRET}}\nsupported_grant_types: [client_credentials]\ntoken_endpoint_auth_methods: [client_secret_basic]\naccess_token_ttl: 3600\nauthorize_scope: true\nauthorized_scopes:\n  - name: openid\n  - name: email\nidentity_provider:\n  name: {DEFAULT_IDP}\n"
    )
}

fn spa_manifest() -> String {
    format!(
        "id: {SPA_ID}\nname: storefront-spa\npkce: true\nredirect_uris:\n  - https://shop.example.com/callback\n  - http://localhost:5173/callback\nsupported_grant_types: [authorization_code, refresh_token]\njwt_public_key: |\n  -----BEGIN PUBLIC KEY-----\n  AAAA\n  BBBB\n  -----END PUBLIC KEY-----\nmetadata:\n  team: shop\nidentity_provider:\n  id: {}\n",
        boruta_gitops::sandbox::state::seed_id(DEFAULT_IDP)
    )
}

fn workspace(server: &Server) -> Workspace {
    server.connect(
        Workspace::new()
            .file("billing-api.yaml", api_manifest())
            .file("storefront-spa.yaml", spa_manifest())
            .env("API_SECRET", "api-secret-1"),
    )
}

/// Creates both manifests' clients through the API with exactly the manifests' fields.
fn create_both(server: &Server) {
    let scopes = server.sandbox.with_state(|s| {
        s.scopes
            .values()
            .filter(|s| s.name == "openid" || s.name == "email")
            .map(|s| json!({"id": s.id}))
            .collect::<Vec<_>>()
    });
    server.create(json!({
        "id": API_ID, "name": "billing-api", "confidential": true, "secret": "api-secret-1",
        "supported_grant_types": ["client_credentials"], "token_endpoint_auth_methods": ["client_secret_basic"],
        "access_token_ttl": 3600, "authorize_scope": true, "authorized_scopes": scopes,
        "identity_provider": {"id": server.idp_id(DEFAULT_IDP)}
    }));
    server.create(json!({
        "id": SPA_ID, "name": "storefront-spa", "pkce": true,
        "redirect_uris": ["https://shop.example.com/callback", "http://localhost:5173/callback"],
        "supported_grant_types": ["authorization_code", "refresh_token"],
        "jwt_public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\nBBBB\n-----END PUBLIC KEY-----\n",
        "metadata": {"team": "shop"},
        "identity_provider": {"id": server.idp_id(DEFAULT_IDP)}
    }));
}

/// The plan of both manifests against an empty server.
fn plan_of_two_creates() -> String {
    format!("boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + billing-api ({API_ID}) will be created  [manifests/billing-api.yaml:2]
      + name                        = \"billing-api\"
      + confidential                = true
      + supported_grant_types       = [\"client_credentials\"]
      + token_endpoint_auth_methods = [\"client_secret_basic\"]
      + access_token_ttl            = 3600
      + authorize_scope             = true
      + authorized_scopes           = [\"email\",\"openid\"]
      + identity_provider           = \"Default identity provider\"
      + secret                      = (sensitive)
  + storefront-spa ({SPA_ID}) will be created  [manifests/storefront-spa.yaml:2]
      + name                  = \"storefront-spa\"
      + pkce                  = true
      + redirect_uris         = [\"https://shop.example.com/callback\",\"http://localhost:5173/callback\"]
      + supported_grant_types = [\"authorization_code\",\"refresh_token\"]
      + jwt_public_key        = <<4 lines>>
          + -----BEGIN PUBLIC KEY-----
          + AAAA
          + BBBB
          + -----END PUBLIC KEY-----
      + metadata              = {{\"team\":\"shop\"}}
      + identity_provider     = \"Default identity provider\"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap ({BOOTSTRAP_ID}) system client: the client this run authenticates as
  · public client ({}) system client: boruta's public client

Plan: 2 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
", boruta_gitops::sandbox::state::seed_id("public client"))
}

/// What validation says of both manifests, on stderr before a plan.
const FINDINGS_OF_BOTH: &str = r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/storefront-spa.yaml:2:7
  |
2 | name: storefront-spa
  |       ^^^^^^^^^^^^^^

warning[localhost-redirect-uri]: redirect URI `http://localhost:5173/callback` uses `localhost`: register the loopback IP literal (http://127.0.0.1:PORT/... or http://[::1]:PORT/...) instead (RFC 8252 §8.3)
  --> manifests/storefront-spa.yaml:6:5
  |
6 |   - http://localhost:5173/callback
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^

0 error(s), 2 warning(s), 0 note(s) in 2 client(s) from 2 file(s)
";

#[test]
fn empty_server_plans_creates_with_exit_codes() {
    let server = Server::start();
    let ws = workspace(&server);
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .stdout(plan_of_two_creates())
        .stderr(FINDINGS_OF_BOTH)
        .run();
    // The same plan; only the exit code says there are changes.
    Test::new(&ws)
        .args(&["plan", "manifests", "--detailed-exitcode"])
        .sandbox(&server)
        .stdout(plan_of_two_creates())
        .stderr(FINDINGS_OF_BOTH)
        .status(2)
        .run();
}

#[test]
fn human_plan_snapshot() {
    let server = Server::start();
    let ws = workspace(&server);
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .stdout(plan_of_two_creates())
        .stderr(FINDINGS_OF_BOTH)
        .run();
}

#[test]
fn server_defaults_cause_no_drift() {
    let server = Server::start();
    create_both(&server);
    let ws = workspace(&server);
    let expected = format!(
        "boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  No changes: the server matches the manifests.
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap ({BOOTSTRAP_ID}) system client: the client this run authenticates as
  · public client ({}) system client: boruta's public client

Plan: 0 to create, 0 drifted, 2 in sync, 0 unmanaged (3 system), 0 conflict(s).
",
        boruta_gitops::sandbox::state::seed_id("public client")
    );
    Test::new(&ws)
        .args(&["plan", "manifests", "--detailed-exitcode"])
        .sandbox(&server)
        .stdout(expected)
        .stderr(FINDINGS_OF_BOTH)
        .run();
    let out = ws.run(&["drift", "manifests"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    // A write-only field is listed as unverifiable, never as drift.
    let json = ws.run(&["plan", "manifests", "--format", "json"]).json();
    let spa = json["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == SPA_ID)
        .unwrap()
        .clone();
    assert_eq!(spa["action"], "in-sync");
    assert_eq!(spa["unverifiable"], json!(["metadata"]));
}

#[test]
fn each_kind_of_drift() {
    let server = Server::start();
    create_both(&server);
    server.update(
        API_ID,
        json!({
            "access_token_ttl": 120,
            "secret": "rotated-by-hand",
            "supported_grant_types": ["client_credentials", "refresh_token"],
            "identity_provider": {"id": server.idp_id("Partners identity provider")},
            "authorized_scopes": [{"name": "openid"}]
        }),
    );
    server.update(SPA_ID, json!({
        // Same set, other order: not drift. redirect_uris order: drift.
        "supported_grant_types": ["refresh_token", "authorization_code"],
        "redirect_uris": ["http://localhost:5173/callback", "https://shop.example.com/callback"],
        "jwt_public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\nCCCC\n-----END PUBLIC KEY-----\n",
        "metadata": {"team": "other"}
    }));
    let ws = workspace(&server);
    let expected = format!("boruta-gitops drift check against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ~ billing-api ({API_ID}) has drifted  [manifests/billing-api.yaml:2]
      ~ supported_grant_types:
          - \"refresh_token\"
      ~ access_token_ttl      = 120 -> 3600
      ~ authorized_scopes:
          + \"email\"
      ~ identity_provider     = \"Partners identity provider\" -> \"Default identity provider\"
      ~ secret                = (sensitive) changed
  ~ storefront-spa ({SPA_ID}) has drifted  [manifests/storefront-spa.yaml:2]
      ~ redirect_uris:
          + \"https://shop.example.com/callback\"
            \"http://localhost:5173/callback\"
          - \"https://shop.example.com/callback\"
      ~ jwt_public_key:
            -----BEGIN PUBLIC KEY-----
            AAAA
          - CCCC
          + BBBB
            -----END PUBLIC KEY-----
      ? metadata         unverifiable: boruta never renders it back (apply --update re-sends it)
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap ({BOOTSTRAP_ID}) system client: the client this run authenticates as
  · public client ({}) system client: boruta's public client

Drift: 0 to create, 2 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
", boruta_gitops::sandbox::state::seed_id("public client"));
    let out = Test::new(&ws)
        .args(&["drift", "manifests"])
        .sandbox(&server)
        .stdout(expected)
        .stderr(FINDINGS_OF_BOTH)
        .status(2)
        .run();
    assert!(!out.stdout.contains("rotated-by-hand") && !out.stdout.contains("api-secret-1"));
    // plan: drift is reported but apply would create nothing.
    assert_eq!(
        ws.run(&["plan", "manifests", "--detailed-exitcode"]).code,
        0
    );
}

#[test]
fn unmanaged_and_system_clients() {
    let server = Server::start();
    create_both(&server);
    let stray = server.create(
        json!({"name": "hand-made", "identity_provider": {"id": server.idp_id(DEFAULT_IDP)}}),
    );
    let ws = workspace(&server);
    let out = ws.run(&["drift", "manifests", "--format", "json"]);
    assert_eq!(out.code, 2);
    let json = out.json();
    assert_eq!(json["summary"]["unmanaged"], 1);
    assert_eq!(json["summary"]["system"], 3);
    let unmanaged = json["unmanaged"].as_array().unwrap();
    assert_eq!(
        unmanaged[0],
        json!({"id": stray["id"], "name": "hand-made"})
    );
    let systems: Vec<&str> = unmanaged[1..]
        .iter()
        .map(|u| u["system"].as_str().unwrap())
        .collect();
    assert_eq!(systems, ["admin-ui", "this-tool", "public-client"]);
    assert_eq!(
        ws.run(&["drift", "manifests", "--ignore-unmanaged"]).code,
        0
    );
}

#[test]
fn conflict_when_a_derived_id_meets_a_namesake() {
    let server = Server::start();
    let existing = server.create(
        json!({"name": "legacy-app", "identity_provider": {"id": server.idp_id(DEFAULT_IDP)}}),
    );
    let ws = server.connect(Workspace::new().file(
        "legacy.yaml",
        format!("name: legacy-app\nidentity_provider:\n  name: {DEFAULT_IDP}\n"),
    ));
    let id = existing["id"].as_str().unwrap();
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .redact(id, "[ID]")
        .status(1)
        .stdout(r"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ! legacy-app (65b3ce1d-cb6e-5bef-9534-c616853f1d66) conflicts with server client [ID] of the same name: pin `id: [ID]` to adopt it  [manifests/legacy.yaml:1]
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 1 conflict(s).
")
        .stderr(r"error[conflict]: the server already has a client named `legacy-app` with id [ID], and this manifest's derived id 65b3ce1d-cb6e-5bef-9534-c616853f1d66 is absent: pin `id: [ID]` to adopt that client (or rename this one)
  --> manifests/legacy.yaml:1:7
  |
1 | name: legacy-app
  |       ^^^^^^^^^^

warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/legacy.yaml:1:7
  |
1 | name: legacy-app
  |       ^^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/legacy.yaml:1:7
  |
1 | name: legacy-app
  |       ^^^^^^^^^^

1 error(s), 2 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    // Pinning the id adopts it: in sync.
    let ws = server.connect(Workspace::new().file(
        "legacy.yaml",
        format!("id: {id}\nname: legacy-app\nidentity_provider:\n  name: {DEFAULT_IDP}\n"),
    ));
    assert_eq!(
        ws.run(&["plan", "manifests", "--detailed-exitcode"]).code,
        0
    );
}

#[test]
fn unknown_scope_warns_and_unknown_identity_provider_fails() {
    let server = Server::start();
    let ws = server.connect(Workspace::new().file(
        "a.yaml",
        format!("name: a\nauthorized_scopes:\n  - name: not-yet-a-scope\nidentity_provider:\n  name: {DEFAULT_IDP}\n"),
    ));
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + a (41b62bd9-bc94-54a4-ad16-54c5f1443c4d) will be created  [manifests/a.yaml:1]
      + name              = "a"
      + authorized_scopes = ["not-yet-a-scope"]
      + identity_provider = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/a.yaml:1:7
  |
1 | name: a
  |       ^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/a.yaml:1:7
  |
1 | name: a
  |       ^

warning[unknown-scope]: no scope named `not-yet-a-scope` on the server: boruta will silently create it as a private scope
  --> manifests/a.yaml:3:11
  |
3 |   - name: not-yet-a-scope
  |           ^^^^^^^^^^^^^^^

0 error(s), 3 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    let ws = server
        .connect(Workspace::new().file("a.yaml", "name: a\nidentity_provider:\n  name: Nope\n"));
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .status(1)
        .stdout(r"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ! a (41b62bd9-bc94-54a4-ad16-54c5f1443c4d) is blocked: it cannot be created as declared (see the errors)  [manifests/a.yaml:1]
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 1 blocked, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
")
        .stderr(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/a.yaml:1:7
  |
1 | name: a
  |       ^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/a.yaml:1:7
  |
1 | name: a
  |       ^

error[unknown-identity-provider]: no identity provider named `Nope` on the server (known: Boruta administration interface, Default identity provider, Partners identity provider): the create would fail
  --> manifests/a.yaml:3:9
  |
3 |   name: Nope
  |         ^^^^

1 error(s), 2 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
}

#[test]
fn exact_requests_and_least_privilege() {
    let server = Server::start();
    // Identity provider by id, no scopes: only clients:manage:all and one list call.
    let ws = server.connect(Workspace::new().file(
        "a.yaml",
        format!(
            "name: a\nidentity_provider:\n  id: {}\n",
            server.idp_id(DEFAULT_IDP)
        ),
    ));
    server.sandbox.clear_requests();
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + a (41b62bd9-bc94-54a4-ad16-54c5f1443c4d) will be created  [manifests/a.yaml:1]
      + name              = "a"
      + identity_provider = "5099d922-285f-542d-8c0b-e7d330a90606"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/a.yaml:1:7
  |
1 | name: a
  |       ^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/a.yaml:1:7
  |
1 | name: a
  |       ^

0 error(s), 2 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    let requests = server.requests();
    assert_eq!(
        server.calls(),
        [
            ("POST".to_string(), "/oauth/token".to_string()),
            ("GET".to_string(), "/api/clients".to_string())
        ]
    );
    assert_eq!(
        requests[0].form("scope").as_deref(),
        Some("clients:manage:all")
    );
    assert_eq!(
        requests[0].form("grant_type").as_deref(),
        Some("client_credentials")
    );
    assert_eq!(requests[0].auth_scheme.as_deref(), Some("Basic"));
    // Names: the identity-provider scope is added, and each list is read once.
    server.sandbox.clear_requests();
    let out = workspace(&server).run(&["plan", "manifests"]);
    assert_eq!(out.code, 0);
    // The three reads are sent together, so their order varies.
    let mut calls = server.calls();
    calls[1..].sort();
    assert_eq!(
        calls,
        [
            ("POST".to_string(), "/oauth/token".to_string()),
            ("GET".to_string(), "/api/clients".to_string()),
            ("GET".to_string(), "/api/identity-providers".to_string()),
            ("GET".to_string(), "/api/scopes".to_string()),
        ]
    );
    assert_eq!(
        server.requests()[0].form("scope").as_deref(),
        Some("clients:manage:all identity-providers:manage:all")
    );
}

#[test]
fn client_secret_post_and_pre_issued_token() {
    let server = Server::start();
    let ws = workspace(&server);
    server.sandbox.clear_requests();
    assert_eq!(
        ws.run(&["plan", "manifests", "--token-auth", "post"]).code,
        0
    );
    let token_request = &server.requests()[0];
    assert_eq!(token_request.auth_scheme, None);
    assert_eq!(
        token_request.form("client_id").as_deref(),
        Some(BOOTSTRAP_ID)
    );
    assert_eq!(
        token_request.form("client_secret").as_deref(),
        Some("REDACTED")
    );
    let token = server.sandbox.with_state(|s| {
        s.issue_token(
            "clients:manage:all identity-providers:manage:all".into(),
            600,
        )
        .0
    });
    let ws = Workspace::new()
        .file("a.yaml", api_manifest())
        .env("API_SECRET", "x")
        .env("BORUTA_ADMIN_URL", server.sandbox.base_url())
        .env("BORUTA_ACCESS_TOKEN", &token);
    server.sandbox.clear_requests();
    let out = ws.run(&["plan", "manifests"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(server
        .calls()
        .iter()
        .all(|(_, path)| path != "/oauth/token"));
}

#[test]
fn markdown_and_json_formats() {
    let server = Server::start();
    create_both(&server);
    // An update without `authorized_scopes` clears them (boruta's full replacement, §6.1).
    server.update(API_ID, json!({"access_token_ttl": 120}));
    let ws = workspace(&server);
    let expected = format!(
        "<!-- boruta-gitops plan -->
### boruta-gitops plan

| create | drift | in sync | unmanaged | system | conflict |
|---:|---:|---:|---:|---:|---:|
| 0 | 1 | 1 | 0 | 3 | 0 |

**Security review** (OAuth best practice): 0 error(s), 2 warning(s)

| | code | where | message |
|---|---|---|---|
| ⚠\u{fe0f} warning | <a href=\"https://www.rfc-editor.org/rfc/rfc6819#section-5.1.5.3\"><code>long-lived-access-token</code></a> | <code>manifests/storefront-spa.yaml:2</code> | access\\_token\\_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max\\_ttl in the policy) |
| ⚠\u{fe0f} warning | <a href=\"https://www.rfc-editor.org/rfc/rfc8252#section-8.3\"><code>localhost-redirect-uri</code></a> | <code>manifests/storefront-spa.yaml:6</code> | redirect URI &#96;http:\u{200d}//localhost:5173/callback&#96; uses &#96;localhost&#96;: register the loopback IP literal (http:\u{200d}//127.0.0.1:PORT/... or http:\u{200d}//\\[::1\\]:PORT/...) instead (RFC 8252 §8.3) |

<details><summary><code>~</code> <b>billing-api</b> (drift) <code>{API_ID}</code></summary>

<code>manifests/billing-api.yaml:2</code>

```diff
! access_token_ttl  = 120 -> 3600
! authorized_scopes:
+   \"email\"
+   \"openid\"
```

</details>

Plan: 0 to create, 1 drifted, 1 in sync, 0 unmanaged (3 system), 0 conflict(s).
"
    );
    Test::new(&ws)
        .args(&["plan", "manifests", "--format", "markdown"])
        .sandbox(&server)
        .stdout(expected)
        .stderr(FINDINGS_OF_BOTH)
        .run();
    let json = ws.run(&["plan", "manifests", "--format", "json"]).json();
    assert_eq!(json["format_version"], 1);
    assert_eq!(
        json["summary"],
        json!({"create": 0, "update": 0, "delete": 0, "drift": 1, "in_sync": 1, "conflict": 0, "unmanaged": 0, "system": 3, "resend": 0, "blocked": 0})
    );
    let api = &json["clients"][0];
    assert_eq!(api["action"], "drift");
    assert_eq!(
        api["fields"][0],
        json!({"field": "access_token_ttl", "server": 120, "desired": 3600})
    );
    assert_eq!(api["secret"], "unchanged");
    assert_eq!(api["fingerprint"].as_str().unwrap().len(), 64);
}

#[test]
fn saved_plan_holds_no_secret() {
    let server = Server::start();
    let ws = workspace(&server).env("API_SECRET", "canary-in-saved-plan");
    let out = ws.run(&["plan", "manifests", "--out", "plan.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(ws.path().join("plan.json")).unwrap();
    assert!(!text.contains("canary-in-saved-plan"));
    let plan: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(plan["manifests_digest"].as_str().unwrap().len(), 64);
    assert_eq!(plan["clients"][0]["secret"], "set");
}

#[test]
fn token_expiring_mid_run_is_renewed_once() {
    let server = Server::start();
    server
        .sandbox
        .add_fault("GET /api/clients nth=1 expire-tokens".parse().unwrap());
    let ws = workspace(&server);
    server.sandbox.clear_requests();
    let out = ws.run(&["plan", "manifests"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let requests = server.requests();
    let statuses_of = |path: &str| -> Vec<u16> {
        requests
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.status)
            .collect()
    };
    assert_eq!(statuses_of("/api/clients"), [401, 200]);
    // Concurrent reads that meet the same expired token renew it once.
    assert_eq!(statuses_of("/oauth/token"), [200, 200]);
}

#[test]
fn list_answering_503() {
    let server = Server::start();
    server
        .sandbox
        .add_fault("GET /api/clients nth=1 status=503".parse().unwrap());
    let ws = workspace(&server);
    let out = ws.run(&["plan", "manifests"]);
    assert_eq!(out.code, 0, "a single 503 is retried: {}", out.stderr);
    server
        .sandbox
        .add_fault("GET /api/clients status=503".parse().unwrap());
    Test::new(&ws)
        .args(&["plan", "manifests", "--max-retries", "1"])
        .sandbox(&server)
        .redact_between("retrying in ", " ms", "[MS]")
        .status(1)
        .stderr(r#"warning: listing clients (GET /api/clients): HTTP 503; retrying in [MS] ms (attempt 2 of 2)
error: listing clients (GET /api/clients): boruta answered 503 SERVICE_UNAVAILABLE "injected fault". the server is overloaded or unavailable; retried 1 time(s); try again later
"#)
        .run();
}

#[test]
fn token_endpoint_refusing_the_scope() {
    let server = Server::start();
    // A client that may only obtain clients:manage:all.
    let limited = server.create(json!({
        "secret": "limited-secret", "authorize_scope": true, "authorized_scopes": [{"name": "clients:manage:all"}],
        "supported_grant_types": ["client_credentials"], "identity_provider": {"id": server.idp_id(DEFAULT_IDP)}
    }));
    let id = limited["id"].as_str().unwrap();
    let ws = workspace(&server)
        .env("BORUTA_CLIENT_ID", id)
        .env("BORUTA_CLIENT_SECRET", "limited-secret");
    let out = Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .redact(id, "[LIMITED-ID]")
        .status(1)
        .stderr("error: requesting a token with scopes `clients:manage:all identity-providers:manage:all` from [SANDBOX]/oauth/token: the token endpoint answered 400 (invalid_scope: “Given scopes are unknown or unauthorized.”). boruta grants all requested scopes or none: the client [LIMITED-ID] needs `authorize_scope: true` and `clients:manage:all identity-providers:manage:all` in its `authorized_scopes`\n")
        .run();
    assert!(!out.stderr.contains("limited-secret"));
    // The same client suffices for manifests that name no identity provider.
    let ws = server
        .connect(Workspace::new().file(
            "a.yaml",
            format!(
                "name: a\nidentity_provider:\n  id: {}\n",
                server.idp_id(DEFAULT_IDP)
            ),
        ))
        .env("BORUTA_CLIENT_ID", id)
        .env("BORUTA_CLIENT_SECRET", "limited-secret");
    assert_eq!(ws.run(&["plan", "manifests"]).code, 0);
}

#[test]
fn refuses_credentials_over_plain_http_to_other_hosts() {
    let ws = Workspace::new()
        .file("a.yaml", api_manifest())
        .env("API_SECRET", "x")
        .env("BORUTA_ADMIN_URL", "http://boruta.example.com:8081")
        .env(
            "BORUTA_TOKEN_URL",
            "http://boruta.example.com:8080/oauth/token",
        )
        .env("BORUTA_CLIENT_ID", BOOTSTRAP_ID)
        .env("BORUTA_CLIENT_SECRET", "x");
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .status(1)
        .stderr(r"error: --admin-url `http://boruta.example.com:8081` is plain http to a host that is not loopback: credentials would travel in clear text (through any proxy too). Use https, or --allow-insecure-http if you really mean it
")
        .run();
}

#[test]
fn invalid_manifests_change_nothing() {
    let server = Server::start();
    // Unparsable files stop before the network.
    let ws = server.connect(Workspace::new().file("a.yaml", "name: [\n"));
    Test::new(&ws)
        .args(&["apply", "manifests", "--auto-approve"])
        .status(1)
        .stderr(r"error[yaml-syntax]: invalid YAML: while parsing a node, did not find expected node content
  --> manifests/a.yaml:2:1

1 error(s), 0 warning(s), 0 note(s) in 0 client(s) from 1 file(s)
")
        .run();
    assert!(server.requests().is_empty());
    // Schema findings are made while the server is read (reads only), then nothing is written.
    let ws = server.connect(Workspace::new().file("a.yaml", "name: a\naccess_token_ttl: 0\n"));
    Test::new(&ws)
        .args(&["apply", "manifests", "--auto-approve"])
        .sandbox(&server)
        .status(1)
        .stderr(
            r"error[missing-field]: missing required field `identity_provider`
  --> manifests/a.yaml:1:1
  |
1 | name: a
  | ^

error[ttl-out-of-range]: `access_token_ttl` 0 is out of range 1..86400
  --> manifests/a.yaml:2:19
  |
2 | access_token_ttl: 0
  |                   ^

2 error(s), 0 warning(s), 0 note(s) in 0 client(s) from 1 file(s)
",
        )
        .run();
    assert!(server
        .requests()
        .iter()
        .all(|r| r.method == "GET" || r.path == "/oauth/token"));
}

#[test]
fn private_ca_certificate_problems_are_clear() {
    let server = Server::start();
    let ws = workspace(&server).file("not-a-cert.pem", "hello");
    Test::new(&ws)
        .args(&["plan", "manifests", "--ca-cert", "missing.pem"])
        .status(1)
        .stderr(r"error: cannot read the CA certificate missing.pem: No such file or directory (os error 2)
")
        .run();
    Test::new(&ws)
        .args(&["plan", "manifests", "--ca-cert", "manifests/not-a-cert.pem"])
        .status(1)
        .stderr(r"error: cannot read the CA certificate manifests/not-a-cert.pem: it holds no PEM certificate
")
        .run();
}

#[test]
fn forbidden_names_the_missing_scope() {
    let server = Server::start();
    let token = server
        .sandbox
        .with_state(|s| s.issue_token("scopes:manage:all".into(), 600).0);
    let ws = Workspace::new()
        .file(
            "a.yaml",
            format!(
                "name: a\nidentity_provider:\n  id: {}\n",
                server.idp_id(DEFAULT_IDP)
            ),
        )
        .env("BORUTA_ADMIN_URL", server.sandbox.base_url())
        .env("BORUTA_ACCESS_TOKEN", &token);
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .status(1)
        .stderr(r#"error: listing clients (GET /api/clients): boruta answered 403 FORBIDDEN "You are forbidden to access this resource.". the access token lacks `clients:manage:all`: issue one that has it
"#)
        .run();
}

#[test]
fn missing_connection_settings_are_explained() {
    let server = Server::start();
    let manifest = format!(
        "name: a\nidentity_provider:\n  id: {}\n",
        server.idp_id(DEFAULT_IDP)
    );
    let ws = Workspace::new()
        .file("a.yaml", &manifest)
        .env("BORUTA_ADMIN_URL", server.sandbox.base_url());
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .status(1)
        .stderr(r"error: no credentials: set BORUTA_CLIENT_ID and BORUTA_CLIENT_SECRET (or --client-secret-file), or BORUTA_ACCESS_TOKEN
")
        .run();
    let ws = ws
        .env("BORUTA_CLIENT_ID", BOOTSTRAP_ID)
        .env("BORUTA_CLIENT_SECRET", "x");
    let out = ws.run(&["plan", "manifests"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(
            "error: --token-url (or BORUTA_TOKEN_URL) is required with client credentials"
        ),
        "{}",
        out.stderr
    );
    // The secret can come from a file; one trailing newline is ignored.
    let ws = Workspace::new()
        .file("a.yaml", &manifest)
        .env(
            "BORUTA_ADMIN_URL",
            &format!("{}/api/", server.sandbox.base_url()),
        )
        .env("BORUTA_TOKEN_URL", &server.sandbox.token_url())
        .env("BORUTA_CLIENT_ID", BOOTSTRAP_ID);
    std::fs::write(
        ws.path().join("secret.txt"),
        format!("{}\n", crate::support::BOOTSTRAP_SECRET),
    )
    .unwrap();
    let out = ws.run(&["plan", "manifests", "--client-secret-file", "secret.txt"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// Issue #18 item 4: boruta's migration-inserted public client is told by its
/// `public_client_id`, which is the issuer, not by its name: an admin may rename it, and
/// anyone may name a client "public client".
#[test]
fn the_public_client_is_told_by_its_public_client_id_not_its_name() {
    let server = Server::start();
    let public = boruta_gitops::sandbox::state::seed_id("public client");
    server.sandbox.with_state(|s| {
        let client = s.clients.get_mut(&public).unwrap();
        client
            .fields
            .insert("name".into(), json!("renamed by an admin"));
        let impostor =
            json!({"name": "public client", "public_client_id": "https://elsewhere.example.com"});
        let serde_json::Value::Object(values) = impostor else {
            unreachable!()
        };
        s.insert_raw_client("0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a", values, None);
    });
    let ws = server.connect(Workspace::new().file("a.yaml", format!("name: a\n{IDP}")));
    let out = ws.run(&["plan", "manifests", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let unmanaged = &out.json()["unmanaged"];
    let system_of = |name: &str| -> Option<Value> {
        unmanaged
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .map(|u| u["system"].clone())
    };
    assert_eq!(
        system_of("renamed by an admin"),
        Some(json!("public-client"))
    );
    assert_eq!(system_of("public client"), Some(Value::Null));
    // --issuer names the issuer when the token URL does not (a proxy, a pre-issued token).
    let out = ws.run(&[
        "plan",
        "manifests",
        "--format",
        "json",
        "--issuer",
        "https://elsewhere.example.com/",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let unmanaged = out.json()["unmanaged"].clone();
    let named = |name: &str| {
        unmanaged
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .map(|u| u["system"].clone())
    };
    assert_eq!(named("public client"), Some(json!("public-client")));
    assert_eq!(named("renamed by an admin"), Some(Value::Null));
}
