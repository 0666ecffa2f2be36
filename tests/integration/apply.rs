//! `apply` against the sandbox with fault rules (issue #5): the real binary, real HTTP.

#[cfg(unix)]
use crate::support::Terminal;
use crate::support::{Server, Test, Workspace, DEFAULT_IDP};
use boruta_gitops::sandbox::Config;
use serde_json::json;

fn manifest(i: usize) -> String {
    format!(
        "id: 00000000-0000-4000-8000-{i:012}\nname: service-{i}\nconfidential: true\nredirect_uris: [\"https://service-{i}.example.com/cb\"]\nsupported_grant_types: [client_credentials, authorization_code]\nidentity_provider:\n  name: {DEFAULT_IDP}\n"
    )
}

fn workspace(server: &Server, count: usize) -> Workspace {
    let mut ws = server.connect(Workspace::new());
    for i in 0..count {
        ws = ws.file(&format!("service-{i:03}.yaml"), manifest(i));
    }
    ws
}

/// The id manifest `i` pins.
fn id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// Exactly one client named `service-{i}` exists, and it has the pinned id: a duplicate
/// under another id, a wrong id or a missing client all fail this.
fn assert_one(server: &Server, i: usize) {
    assert_eq!(
        server.ids_named(&format!("service-{i}")),
        [id(i)],
        "service-{i}"
    );
}

/// The request log never shows a write other than creates, nor any touch of system clients.
fn assert_only_creates(server: &Server) {
    for r in server.requests() {
        assert!(
            !matches!(r.method.as_str(), "PATCH" | "PUT" | "DELETE"),
            "{} {}",
            r.method,
            r.path
        );
        assert!(
            !r.path.contains(boruta_gitops::api::ADMIN_UI_CLIENT_ID),
            "{}",
            r.path
        );
        assert!(
            !r.path
                .contains(&boruta_gitops::sandbox::state::seed_id("public client")),
            "{}",
            r.path
        );
        if r.method == "POST" && r.path == "/api/clients" {
            let id = r.json()["client"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            assert!(
                id.starts_with("00000000-0000-4000-8000-"),
                "created an unexpected id {id}"
            );
        }
    }
}

#[test]
fn clean_apply_then_empty_plan() {
    let server = Server::start();
    let ws = workspace(&server, 3);
    Test::new(&ws)
        .args(&["apply", "manifests", "--auto-approve"])
        .sandbox(&server)
        .unordered_under("Creating ")
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + service-0 (00000000-0000-4000-8000-000000000000) will be created  [manifests/service-000.yaml:2]
      + name                  = "service-0"
      + confidential          = true
      + redirect_uris         = ["https://service-0.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  + service-1 (00000000-0000-4000-8000-000000000001) will be created  [manifests/service-001.yaml:2]
      + name                  = "service-1"
      + confidential          = true
      + redirect_uris         = ["https://service-1.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  + service-2 (00000000-0000-4000-8000-000000000002) will be created  [manifests/service-002.yaml:2]
      + name                  = "service-2"
      + confidential          = true
      + redirect_uris         = ["https://service-2.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 3 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Creating 3 client(s), at most 8 at a time:
  + service-0 (00000000-0000-4000-8000-000000000000) created
  + service-1 (00000000-0000-4000-8000-000000000001) created
  + service-2 (00000000-0000-4000-8000-000000000002) created
boruta generated the secret of 3 client(s). It is not printed: read it with GET /api/clients/<id> (scope clients:manage:all), or run apply with --secrets-out FILE next time.

Apply: 3 created, 0 already present, 0 failed, 0 not attempted.
"#)
        .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-000.yaml:2:7
  |
2 | name: service-0
  |       ^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-001.yaml:2:7
  |
2 | name: service-1
  |       ^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-002.yaml:2:7
  |
2 | name: service-2
  |       ^^^^^^^^^

0 error(s), 3 warning(s), 0 note(s) in 3 client(s) from 3 file(s)
")
        .run();
    for i in 0..3 {
        assert_one(&server, i);
    }
    // Exactly the declared fields, the id, and the identity provider resolved to its id.
    // Creates run concurrently: find service-0's among them.
    let create = server
        .requests()
        .into_iter()
        .find(|r| {
            r.method == "POST"
                && r.path == "/api/clients"
                && r.json()["client"]["name"] == "service-0"
        })
        .unwrap();
    assert_eq!(
        create.json(),
        json!({"client": {
            "id": "00000000-0000-4000-8000-000000000000", "name": "service-0", "confidential": true,
            "redirect_uris": ["https://service-0.example.com/cb"],
            "supported_grant_types": ["client_credentials", "authorization_code"],
            "identity_provider": {"id": server.idp_id(DEFAULT_IDP)}
        }})
    );
    let out = ws.run(&["plan", "manifests", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    Test::new(&ws)
        .args(&["apply", "manifests", "--auto-approve"])
        .sandbox(&server)
        .stdout(r"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  No changes: the server matches the manifests.
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 0 drifted, 3 in sync, 0 unmanaged (3 system), 0 conflict(s).

Nothing to create.
")
        .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-000.yaml:2:7
  |
2 | name: service-0
  |       ^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-001.yaml:2:7
  |
2 | name: service-1
  |       ^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-002.yaml:2:7
  |
2 | name: service-2
  |       ^^^^^^^^^

0 error(s), 3 warning(s), 0 note(s) in 3 client(s) from 3 file(s)
")
        .run();
    assert_only_creates(&server);
}

#[test]
fn refuses_without_a_terminal_or_approval() {
    let server = Server::start();
    let ws = workspace(&server, 2);
    Test::new(&ws)
        .args(&["apply", "manifests"])
        .sandbox(&server)
        .status(1)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + service-0 (00000000-0000-4000-8000-000000000000) will be created  [manifests/service-000.yaml:2]
      + name                  = "service-0"
      + confidential          = true
      + redirect_uris         = ["https://service-0.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  + service-1 (00000000-0000-4000-8000-000000000001) will be created  [manifests/service-001.yaml:2]
      + name                  = "service-1"
      + confidential          = true
      + redirect_uris         = ["https://service-1.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 2 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-000.yaml:2:7
  |
2 | name: service-0
  |       ^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-001.yaml:2:7
  |
2 | name: service-1
  |       ^^^^^^^^^

0 error(s), 2 warning(s), 0 note(s) in 2 client(s) from 2 file(s)
error: refusing to apply without confirmation: stdin is not a terminal. Review the plan and pass --auto-approve: nothing was changed
")
        .run();
    assert_eq!(server.count("POST", "/api/clients"), 0);
}

#[test]
fn stale_saved_plan_is_refused() {
    let server = Server::start();
    let ws = workspace(&server, 2);
    assert_eq!(ws.run(&["plan", "manifests", "--out", "plan.json"]).code, 0);
    // Someone creates one of the planned clients out of band.
    server.create(json!({"id": "00000000-0000-4000-8000-000000000001", "name": "service-1", "identity_provider": {"id": server.idp_id(DEFAULT_IDP)}}));
    server.sandbox.clear_requests();
    Test::new(&ws)
        .args(&[
            "apply",
            "manifests",
            "--plan",
            "plan.json",
            "--auto-approve",
        ])
        .sandbox(&server)
        .status(1)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + service-0 (00000000-0000-4000-8000-000000000000) will be created  [manifests/service-000.yaml:2]
      + name                  = "service-0"
      + confidential          = true
      + redirect_uris         = ["https://service-0.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  ~ service-1 (00000000-0000-4000-8000-000000000001) has drifted (apply --update would correct it)  [manifests/service-001.yaml:2]
      ~ confidential          = false -> true
      ~ redirect_uris:
          + "https://service-1.example.com/cb"
      ~ supported_grant_types:
          - "password"
          - "agent_code"
          - "refresh_token"
          - "implicit"
          - "revoke"
          - "introspect"
          - "id_token"
          - "vp_token"
          - "preauthorized_code"
          - "agent_credentials"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 1 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-000.yaml:2:7
  |
2 | name: service-0
  |       ^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-001.yaml:2:7
  |
2 | name: service-1
  |       ^^^^^^^^^

0 error(s), 2 warning(s), 0 note(s) in 2 client(s) from 2 file(s)
error: the saved plan is stale; nothing was changed. Make a new plan:
  - client `service-1` (00000000-0000-4000-8000-000000000001): it was created on the server after the plan was made
")
        .run();
    assert_eq!(server.count("POST", "/api/clients"), 0);
}

#[test]
fn changed_manifests_after_plan_are_refused_and_a_fresh_plan_applies() {
    let server = Server::start();
    let ws = workspace(&server, 2);
    assert_eq!(ws.run(&["plan", "manifests", "--out", "plan.json"]).code, 0);
    std::fs::write(
        ws.manifests().join("service-000.yaml"),
        manifest(0).replace("confidential: true", "confidential: true\npkce: true"),
    )
    .unwrap();
    Test::new(&ws)
        .args(&[
            "apply",
            "manifests",
            "--plan",
            "plan.json",
            "--auto-approve",
        ])
        .sandbox(&server)
        .status(1)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + service-0 (00000000-0000-4000-8000-000000000000) will be created  [manifests/service-000.yaml:2]
      + name                  = "service-0"
      + confidential          = true
      + pkce                  = true
      + redirect_uris         = ["https://service-0.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  + service-1 (00000000-0000-4000-8000-000000000001) will be created  [manifests/service-001.yaml:2]
      + name                  = "service-1"
      + confidential          = true
      + redirect_uris         = ["https://service-1.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 2 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-000.yaml:2:7
  |
2 | name: service-0
  |       ^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-001.yaml:2:7
  |
2 | name: service-1
  |       ^^^^^^^^^

0 error(s), 2 warning(s), 0 note(s) in 2 client(s) from 2 file(s)
error: the saved plan is stale; nothing was changed. Make a new plan:
  - the manifests changed since the plan was made
  - client `service-0` (00000000-0000-4000-8000-000000000000) is declared differently now
")
        .run();
    assert_eq!(server.count("POST", "/api/clients"), 0);
    assert_eq!(ws.run(&["plan", "manifests", "--out", "plan.json"]).code, 0);
    let out = ws.run(&[
        "apply",
        "manifests",
        "--plan",
        "plan.json",
        "--auto-approve",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(server.count("POST", "/api/clients"), 2);
}

#[test]
fn retries_503_then_succeeds() {
    let server = Server::start();
    server
        .sandbox
        .add_fault("POST /api/clients nth=1 status=503".parse().unwrap());
    let ws = workspace(&server, 1);
    Test::new(&ws)
        .args(&["apply", "manifests", "--auto-approve"])
        .sandbox(&server)
        .redact_between("retrying in ", " ms", "[MS]")
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + service-0 (00000000-0000-4000-8000-000000000000) will be created  [manifests/service-000.yaml:2]
      + name                  = "service-0"
      + confidential          = true
      + redirect_uris         = ["https://service-0.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Creating 1 client(s), at most 8 at a time:
  + service-0 (00000000-0000-4000-8000-000000000000) created
boruta generated the secret of 1 client(s). It is not printed: read it with GET /api/clients/<id> (scope clients:manage:all), or run apply with --secrets-out FILE next time.

Apply: 1 created, 0 already present, 0 failed, 0 not attempted.
"#)
        .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-000.yaml:2:7
  |
2 | name: service-0
  |       ^^^^^^^^^

0 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
warning: creating client `service-0` (00000000-0000-4000-8000-000000000000): HTTP 503; retrying in [MS] ms (attempt 2 of 5)
")
        .run();
    assert_eq!(server.count("POST", "/api/clients"), 2);
    assert_one(&server, 0);
}

#[test]
fn honours_retry_after_on_429() {
    let server = Server::start();
    server.sandbox.add_fault(
        "POST /api/clients nth=1 status=429 retry-after=1"
            .parse()
            .unwrap(),
    );
    let ws = workspace(&server, 1);
    let out = ws.run(&["apply", "manifests", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let times: Vec<u64> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/api/clients")
        .map(|r| r.at_ms)
        .collect();
    assert_eq!(times.len(), 2);
    assert!(
        times[1] - times[0] >= 950,
        "Retry-After: 1 must be honoured, waited {} ms",
        times[1] - times[0]
    );
}

#[test]
fn create_committed_then_connection_dropped_yields_exactly_one_client() {
    let server = Server::start();
    server
        .sandbox
        .add_fault("POST /api/clients nth=1 commit-then-drop".parse().unwrap());
    let ws = workspace(&server, 1);
    Test::new(&ws)
        .args(&["apply", "manifests", "--auto-approve"])
        .sandbox(&server)
        .redact_between("retrying in ", " ms", "[MS]")
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + service-0 (00000000-0000-4000-8000-000000000000) will be created  [manifests/service-000.yaml:2]
      + name                  = "service-0"
      + confidential          = true
      + redirect_uris         = ["https://service-0.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Creating 1 client(s), at most 8 at a time:
  + service-0 (00000000-0000-4000-8000-000000000000) created
boruta generated the secret of 1 client(s). It is not printed: read it with GET /api/clients/<id> (scope clients:manage:all), or run apply with --secrets-out FILE next time.

Apply: 1 created, 0 already present, 0 failed, 0 not attempted.
"#)
        .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-000.yaml:2:7
  |
2 | name: service-0
  |       ^^^^^^^^^

0 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
warning: creating client `service-0` (00000000-0000-4000-8000-000000000000): the server closed the connection before the answer was complete; retrying in [MS] ms (attempt 2 of 5)
")
        .run();
    assert_one(&server, 0);
    let statuses: Vec<u16> = server
        .requests()
        .into_iter()
        .filter(|r| {
            r.path.starts_with("/api/clients/") || r.method == "POST" && r.path == "/api/clients"
        })
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses,
        [201, 422, 200],
        "create (dropped), retry (id taken), show to verify"
    );
}

#[test]
fn create_hanging_past_the_timeout_is_retried_without_duplicate() {
    let server = Server::start();
    server
        .sandbox
        .add_fault("POST /api/clients nth=1 delay-ms=3000".parse().unwrap());
    let ws = workspace(&server, 1);
    let out = ws.run(&["apply", "manifests", "--auto-approve", "--timeout", "1"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // The first create was given up after the 1 s timeout (the sandbox never answered it:
    // status 0) and sent again with the same pinned id, which is what keeps a late commit
    // of the first from ever being a second client (it could only be refused as "id
    // taken"). An apply that waited out the 3 s delay would show one answered create.
    let creates: Vec<(u16, serde_json::Value)> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/api/clients")
        .map(|r| (r.status, r.json()["client"]["id"].clone()))
        .collect();
    assert_eq!(creates, [(0, json!(id(0))), (201, json!(id(0)))]);
    assert_one(&server, 0);
}

#[test]
fn server_422_is_mapped_to_the_manifest_value() {
    let server = Server::start();
    // An identity provider given by id is not checked offline without the provider scope.
    let ws = server.connect(Workspace::new().file(
        "a.yaml",
        "name: a\nidentity_provider:\n  id: 00000000-0000-4000-8000-00000000dead\n",
    ));
    Test::new(&ws)
        .args(&["apply", "manifests", "--auto-approve"])
        .sandbox(&server)
        .status(1)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + a (41b62bd9-bc94-54a4-ad16-54c5f1443c4d) will be created  [manifests/a.yaml:1]
      + name              = "a"
      + identity_provider = "00000000-0000-4000-8000-00000000dead"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Creating 1 client(s), at most 8 at a time:
  ✗ a (41b62bd9-bc94-54a4-ad16-54c5f1443c4d) failed: boruta refused the client (422): identity_provider_id: does not exist

Apply: 0 created, 0 already present, 1 failed, 0 not attempted.
Nothing reported as done is undone. Fix the failures and run apply again: it converges.
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
error[rejected-by-server]: boruta rejected `identity_provider_id`: does not exist
  --> manifests/a.yaml:2:1
  |
2 | identity_provider:
  | ^^^^^^^^^^^^^^^^^

")
        .run();
}

#[test]
fn partial_failure_then_a_converging_rerun() {
    let server = Server::start();
    server
        .sandbox
        .add_fault("POST /api/clients nth=2 status=500".parse().unwrap());
    let ws = workspace(&server, 4);
    Test::new(&ws)
        .args(&["apply", "manifests", "--auto-approve", "--concurrency", "1"])
        .sandbox(&server)
        .redact_between("retrying in ", " ms", "[MS]")
        .status(1)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + service-0 (00000000-0000-4000-8000-000000000000) will be created  [manifests/service-000.yaml:2]
      + name                  = "service-0"
      + confidential          = true
      + redirect_uris         = ["https://service-0.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  + service-1 (00000000-0000-4000-8000-000000000001) will be created  [manifests/service-001.yaml:2]
      + name                  = "service-1"
      + confidential          = true
      + redirect_uris         = ["https://service-1.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  + service-2 (00000000-0000-4000-8000-000000000002) will be created  [manifests/service-002.yaml:2]
      + name                  = "service-2"
      + confidential          = true
      + redirect_uris         = ["https://service-2.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  + service-3 (00000000-0000-4000-8000-000000000003) will be created  [manifests/service-003.yaml:2]
      + name                  = "service-3"
      + confidential          = true
      + redirect_uris         = ["https://service-3.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 4 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Creating 4 client(s), at most 1 at a time:
  + service-0 (00000000-0000-4000-8000-000000000000) created
  ✗ service-1 (00000000-0000-4000-8000-000000000001) failed: creating client `service-1` (00000000-0000-4000-8000-000000000001): boruta answered 500 INTERNAL_SERVER_ERROR "injected fault". the server failed; see its logs
  + service-2 (00000000-0000-4000-8000-000000000002) created
  + service-3 (00000000-0000-4000-8000-000000000003) created
boruta generated the secret of 3 client(s). It is not printed: read it with GET /api/clients/<id> (scope clients:manage:all), or run apply with --secrets-out FILE next time.

Apply: 3 created, 0 already present, 1 failed, 0 not attempted.
Nothing reported as done is undone. Fix the failures and run apply again: it converges.
"#)
        .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-000.yaml:2:7
  |
2 | name: service-0
  |       ^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-001.yaml:2:7
  |
2 | name: service-1
  |       ^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-002.yaml:2:7
  |
2 | name: service-2
  |       ^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-003.yaml:2:7
  |
2 | name: service-3
  |       ^^^^^^^^^

0 error(s), 4 warning(s), 0 note(s) in 4 client(s) from 4 file(s)
")
        .run();
    let json = ws.run(&["plan", "manifests", "--format", "json"]).json();
    assert_eq!(json["summary"]["create"], 1);
    let out = ws.run(&["apply", "manifests", "--auto-approve"]);
    assert_eq!(out.code, 0);
    assert_eq!(
        ws.run(&["plan", "manifests", "--detailed-exitcode"]).code,
        0
    );
    for i in 0..4 {
        assert_one(&server, i);
    }
    assert_only_creates(&server);
}

#[test]
fn authentication_failure_stops_the_run() {
    let server = Server::start();
    // Every token is expired before each create and renewal happens only once per request.
    server
        .sandbox
        .add_fault("POST /api/clients expire-tokens".parse().unwrap());
    let ws = workspace(&server, 3);
    let out = ws.run(&[
        "apply",
        "manifests",
        "--auto-approve",
        "--concurrency",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 1);
    let json = out.json();
    let outcomes: Vec<&str> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["failed", "not-attempted", "not-attempted"]);
    assert_eq!(
        json["summary"],
        json!({"created": 0, "updated": 0, "re_sent": 0, "deleted": 0, "already_present": 0, "already_absent": 0, "failed": 1, "not_attempted": 2})
    );
}

#[test]
fn two_applies_at_the_same_moment_create_no_duplicate() {
    let server = Server::start_with(Config {
        latency: std::time::Duration::from_millis(5),
        ..Config::default()
    });
    let ws = workspace(&server, 30);
    let spawn = || {
        server
            .command(
                &ws,
                &["apply", "manifests", "--auto-approve", "--concurrency", "4"],
            )
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(
        a.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    assert_eq!(
        b.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&b.stderr)
    );
    for i in 0..30 {
        assert_one(&server, i);
    }
    let reports = format!(
        "{}{}",
        String::from_utf8_lossy(&a.stdout),
        String::from_utf8_lossy(&b.stdout)
    );
    let created = reports.matches(") created").count();
    // The second run may plan after some creates of the first: it then creates (or finds
    // present) fewer; what never happens is a client reported created twice.
    assert_eq!(
        created, 30,
        "each client is reported created exactly once:\n{reports}"
    );
    assert_only_creates(&server);
}

#[test]
fn secrets_out_writes_generated_secrets_with_mode_0600_and_never_overwrites() {
    let server = Server::start();
    let ws = workspace(&server, 2);
    let out = ws.run(&[
        "apply",
        "manifests",
        "--auto-approve",
        "--secrets-out",
        "secrets.jsonl",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let path = ws.path().join("secrets.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        let id = line["id"].as_str().unwrap();
        let on_server = server
            .sandbox
            .with_state(|s| s.clients[id].fields["secret"].clone());
        assert_eq!(line["secret"], on_server);
        assert!(!out.stdout.contains(line["secret"].as_str().unwrap()));
        assert!(!out.stderr.contains(line["secret"].as_str().unwrap()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    std::fs::write(ws.manifests().join("service-009.yaml"), manifest(9)).unwrap();
    Test::new(&ws)
        .args(&[
            "apply",
            "manifests",
            "--auto-approve",
            "--secrets-out",
            "secrets.jsonl",
        ])
        .sandbox(&server)
        .status(1)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + service-9 (00000000-0000-4000-8000-000000000009) will be created  [manifests/service-009.yaml:2]
      + name                  = "service-9"
      + confidential          = true
      + redirect_uris         = ["https://service-9.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 2 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-000.yaml:2:7
  |
2 | name: service-0
  |       ^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-001.yaml:2:7
  |
2 | name: service-1
  |       ^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-009.yaml:2:7
  |
2 | name: service-9
  |       ^^^^^^^^^

0 error(s), 3 warning(s), 0 note(s) in 3 client(s) from 3 file(s)
error: cannot create --secrets-out secrets.jsonl: it already exists; refusing to overwrite
")
        .run();
    assert!(
        server.ids_named("service-9").is_empty(),
        "nothing is created when the secrets file cannot be written"
    );
}

#[test]
fn without_secrets_out_the_output_says_how_to_retrieve_them() {
    let server = Server::start();
    let ws = workspace(&server, 1);
    Test::new(&ws)
        .args(&["apply", "manifests", "--auto-approve"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + service-0 (00000000-0000-4000-8000-000000000000) will be created  [manifests/service-000.yaml:2]
      + name                  = "service-0"
      + confidential          = true
      + redirect_uris         = ["https://service-0.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Creating 1 client(s), at most 8 at a time:
  + service-0 (00000000-0000-4000-8000-000000000000) created
boruta generated the secret of 1 client(s). It is not printed: read it with GET /api/clients/<id> (scope clients:manage:all), or run apply with --secrets-out FILE next time.

Apply: 1 created, 0 already present, 0 failed, 0 not attempted.
"#)
        .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-000.yaml:2:7
  |
2 | name: service-0
  |       ^^^^^^^^^

0 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
}

/// Runs apply on a pseudo-terminal, typing `answer` once the prompt shows.
#[cfg(unix)]
fn apply_on_a_terminal(
    server: &Server,
    ws: &Workspace,
    prompt: &str,
    answer: &str,
) -> (i32, String) {
    let command = format!("{} apply manifests", crate::support::BIN);
    let mut terminal = Terminal::spawn(server.command(ws, &[]).env("NO_COLOR", "1"), &command);
    terminal.answer(prompt, answer);
    terminal.finish()
}

#[cfg(unix)]
#[test]
fn asks_for_confirmation_on_a_terminal_and_shows_a_progress_bar() {
    let server = Server::start();
    let ws = workspace(&server, 25);
    let (code, screen) = apply_on_a_terminal(&server, &ws, "Create 25 client(s) on", "no\n");
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("Create 25 client(s) on"), "{screen}");
    assert!(
        screen.contains("apply cancelled: nothing was changed"),
        "{screen}"
    );
    assert_eq!(server.count("POST", "/api/clients"), 0);
    let (code, screen) = apply_on_a_terminal(&server, &ws, "Create 25 client(s) on", "yes\n");
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("] 25/25"),
        "a progress bar on the terminal: {screen}"
    );
    assert!(screen.contains("Apply: 25 created"), "{screen}");
    assert_eq!(server.count("POST", "/api/clients"), 25);
}

#[test]
fn a_saved_plan_is_applied_without_dir_or_confirmation() {
    let server = Server::start();
    let ws = workspace(&server, 2);
    assert_eq!(ws.run(&["plan", "manifests", "--out", "plan.json"]).code, 0);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path().join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(saved["manifests_dir"], "manifests");
    // DIR defaults to `manifests`, the directory the plan was made from; the server is the
    // configured one, which the plan names too. Applying it is the approval (stdin is not
    // a terminal here, and no --auto-approve is given).
    Test::new(&ws)
        .args(&["apply", "--plan", "plan.json"])
        .sandbox(&server)
        .unordered_under("Creating ")
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + service-0 (00000000-0000-4000-8000-000000000000) will be created  [manifests/service-000.yaml:2]
      + name                  = "service-0"
      + confidential          = true
      + redirect_uris         = ["https://service-0.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  + service-1 (00000000-0000-4000-8000-000000000001) will be created  [manifests/service-001.yaml:2]
      + name                  = "service-1"
      + confidential          = true
      + redirect_uris         = ["https://service-1.example.com/cb"]
      + supported_grant_types = ["client_credentials","authorization_code"]
      + identity_provider     = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 2 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Creating 2 client(s), at most 8 at a time:
  + service-0 (00000000-0000-4000-8000-000000000000) created
  + service-1 (00000000-0000-4000-8000-000000000001) created
boruta generated the secret of 2 client(s). It is not printed: read it with GET /api/clients/<id> (scope clients:manage:all), or run apply with --secrets-out FILE next time.

Apply: 2 created, 0 already present, 0 failed, 0 not attempted.
"#)
        .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-000.yaml:2:7
  |
2 | name: service-0
  |       ^^^^^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/service-001.yaml:2:7
  |
2 | name: service-1
  |       ^^^^^^^^^

0 error(s), 2 warning(s), 0 note(s) in 2 client(s) from 2 file(s)
")
        .run();
    assert_only_creates(&server);
}
