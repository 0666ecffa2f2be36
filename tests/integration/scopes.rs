//! Scopes as managed objects (issue #20): `kind: Scope` manifests validated at their
//! values, planned and shown like clients in every format, written before the clients that
//! name them and deleted after, with `scopes:manage:all` asked for only when a scope is
//! written, and exported so that the export plans empty. The sandbox's request log is the
//! witness of order and privilege.

use crate::support::{all_findings, Output, Server, Test, Workspace, DEFAULT_IDP};
use serde_json::{json, Value};

const READ_ID: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c61";
const BILLING_ID: &str = "3f9d1c2e-8a7b-4c6d-9e0f-1a2b3c4d5e6f";

fn scope(name: &str, id: &str, extra: &str) -> String {
    format!("kind: Scope\nid: {id}\nname: {name}\n{extra}")
}

/// A client that may request `billing:read` (by name).
fn billing_client() -> String {
    format!(
        "id: {BILLING_ID}\nname: billing\nconfidential: true\nsupported_grant_types: [client_credentials]\naccess_token_ttl: 300\nauthorize_scope: true\nauthorized_scopes:\n  - name: billing:read\nidentity_provider:\n  name: {DEFAULT_IDP}\n"
    )
}

fn ok(out: &Output) {
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

/// The lines of a plan between its header block and its system lines.
fn changes(plan: &Output, server: &Server) -> String {
    let text = server.scrub(&plan.stdout);
    let start = text.find("\n\n").expect("a header") + 2;
    text[start..]
        .lines()
        .filter(|l| !l.trim_start().starts_with('·'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The scopes the bootstrap client's token requests asked for, in order.
fn token_scopes(server: &Server) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/oauth/token")
        .filter_map(|r| {
            r.body.split('&').find_map(|p| {
                p.strip_prefix("scope=")
                    .map(|s| s.replace('+', " ").replace("%3A", ":"))
            })
        })
        .collect()
}

/// The server's scope of this name: (id, label, public).
fn server_scope(server: &Server, name: &str) -> Option<(String, Value, bool)> {
    server.sandbox.with_state(|s| {
        s.scopes
            .values()
            .find(|scope| scope.name == name)
            .map(|scope| (scope.id.clone(), json!(scope.label), scope.public))
    })
}

#[test]
fn a_scope_is_created_before_the_client_that_names_it_with_the_scope_write_scope_asked_only_then() {
    let server = Server::start();
    let ws = server.connect(
        Workspace::new()
            .file("billing.yaml", billing_client())
            .file(
                "scopes/billing-read.yaml",
                scope("billing:read", READ_ID, "label: Read invoices\n"),
            ),
    );
    let plan = Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all scopes:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + scope billing:read (9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c61) will be created  [manifests/scopes/billing-read.yaml:1]
      + name   = "billing:read"
      + label  = "Read invoices"
      + public = false
  + billing (3f9d1c2e-8a7b-4c6d-9e0f-1a2b3c4d5e6f) will be created  [manifests/billing.yaml:2]
      + name                  = "billing"
      + confidential          = true
      + supported_grant_types = ["client_credentials"]
      + access_token_ttl      = 300
      + authorize_scope       = true
      + authorized_scopes     = ["billing:read"]
      + identity_provider     = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client
  · 11 system scopes: boruta's built-in scopes (clients:manage:all, configuration:manage:all, email, identity-providers:manage:all, logs:read:all, openid, profile, roles:manage:all, scopes:manage:all, upstreams:manage:all, users:manage:all)

Plan: 2 to create, 0 drifted, 0 in sync, 0 unmanaged (14 system), 0 conflict(s).
"#)
        .run();
    ok(&plan);
    assert_eq!(
        changes(&plan, &server),
        format!(
            "  + scope billing:read ({READ_ID}) will be created  [manifests/scopes/billing-read.yaml:1]
      + name   = \"billing:read\"
      + label  = \"Read invoices\"
      + public = false
  + billing ({BILLING_ID}) will be created  [manifests/billing.yaml:2]
      + name                  = \"billing\"
      + confidential          = true
      + supported_grant_types = [\"client_credentials\"]
      + access_token_ttl      = 300
      + authorize_scope       = true
      + authorized_scopes     = [\"billing:read\"]
      + identity_provider     = \"{DEFAULT_IDP}\"

Plan: 2 to create, 0 drifted, 0 in sync, 0 unmanaged (14 system), 0 conflict(s).
"
        )
    );
    // The scope the client names is declared: no "boruta will silently create it" warning.
    assert!(!plan.stderr.contains("unknown-scope"), "{}", plan.stderr);

    server.sandbox.clear_requests();
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    let writes: Vec<(String, String)> = server
        .calls()
        .into_iter()
        .filter(|(m, _)| m == "POST" && !matches!(m.as_str(), "GET"))
        .filter(|(_, p)| p != "/oauth/token")
        .collect();
    assert_eq!(
        writes,
        [
            ("POST".to_string(), "/api/scopes".to_string()),
            ("POST".to_string(), "/api/clients".to_string())
        ]
    );
    // The reads' token has no scope-write scope; the writes' token has it.
    assert_eq!(
        token_scopes(&server),
        [
            "clients:manage:all identity-providers:manage:all",
            "clients:manage:all identity-providers:manage:all scopes:manage:all"
        ]
    );
    let (id, label, public) = server_scope(&server, "billing:read").expect("created");
    assert_eq!(
        (id.as_str(), label, public),
        (READ_ID, json!("Read invoices"), false)
    );
    // The client holds the scope created by this run, by its id.
    let held = server
        .sandbox
        .with_state(|s| s.clients[BILLING_ID].scope_ids.clone());
    assert_eq!(held, [READ_ID.to_string()]);

    // Converged: nothing to do, and the run that does nothing asks for no write scope.
    server.sandbox.clear_requests();
    let again = ws.run(&["plan", "manifests", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
    assert_eq!(
        token_scopes(&server),
        ["clients:manage:all identity-providers:manage:all"]
    );
}

#[test]
fn validate_points_at_each_scope_mistake() {
    let ws = Workspace::new()
        .file("a.yaml", scope("billing read", READ_ID, ""))
        .file(
            "b.yaml",
            "kind: Scope\nname: clients:manage:all\nlabel: mine\n",
        )
        .file("c.yaml", "kind: Role\nname: x\n")
        .file(
            "d.yaml",
            "kind: Scope\nname: dup\n---\nkind: Scope\nname: dup\npublic: yes\n",
        )
        .file(
            "e.yaml",
            "kind: Scope\nname: gone\nlifecycle: {ensure: absent, ignore_changes: [name]}\n",
        );
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let errors: Vec<(String, String, u64, u64)> = all_findings(&out)
        .into_iter()
        .filter(|f| !matches!(f.0.as_str(), "derived-id"))
        .collect();
    let at = |code: &str, file: &str, line: u64, col: u64| {
        (code.to_string(), format!("manifests/{file}"), line, col)
    };
    assert_eq!(
        errors,
        [
            at("invalid-scope-name", "a.yaml", 3, 7),
            at("protected-scope", "b.yaml", 2, 7),
            at("unknown-kind", "c.yaml", 1, 7),
            at("invalid-type", "d.yaml", 6, 9),
            at("unknown-field", "e.yaml", 3, 46),
        ]
    );
    let messages = out.json()["diagnostics"].to_string();
    assert!(
        messages.contains(
            "unknown `kind`: `Role` (a manifest is a `Client`, the default, or a `Scope`)"
        ),
        "{messages}"
    );
    assert!(
        messages.contains("boruta refuses it: must not contain whitespace"),
        "{messages}"
    );
}

#[test]
fn duplicate_scopes_and_deleting_a_scope_a_client_still_names_are_errors() {
    let ws = Workspace::new()
        .file("billing.yaml", billing_client())
        .file(
            "read.yaml",
            scope("billing:read", READ_ID, "lifecycle:\n  ensure: absent\n"),
        )
        .file("again.yaml", "kind: Scope\nname: billing:read\n");
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let codes: Vec<String> = all_findings(&out)
        .into_iter()
        .filter(|f| f.1.ends_with("read.yaml"))
        .map(|f| format!("{} {}:{}", f.0, f.1, f.2))
        .collect();
    assert_eq!(
        codes,
        [
            "scope-still-referenced manifests/read.yaml:1",
            "duplicate-name manifests/read.yaml:3"
        ]
    );
}

#[test]
fn a_drifted_scope_is_shown_and_put_back_and_a_conflicting_name_is_blocked() {
    let server = Server::start();
    let ws = server.connect(Workspace::new().file(
        "read.yaml",
        scope(
            "billing:read",
            READ_ID,
            "label: Read invoices\npublic: true\n",
        ),
    ));
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    // Someone edits it in the admin UI.
    server.sandbox.with_state(|s| {
        let scope = s.scopes.get_mut(READ_ID).unwrap();
        scope.label = Some("Invoices".into());
        scope.public = false;
    });
    Test::new(&ws)
        .args(&["drift", "manifests"])
        .sandbox(&server)
        .status(2)
        .stdout(r#"boruta-gitops drift check against [SANDBOX]
scopes requested: clients:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ~ scope billing:read (9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c61) has drifted  [manifests/read.yaml:1]
      ~ label  = "Invoices" -> "Read invoices"
      ~ public = false -> true
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client
  · 11 system scopes: boruta's built-in scopes (clients:manage:all, configuration:manage:all, email, identity-providers:manage:all, logs:read:all, openid, profile, roles:manage:all, scopes:manage:all, upstreams:manage:all, users:manage:all)

Drift: 0 to create, 1 drifted, 0 in sync, 0 unmanaged (14 system), 0 conflict(s).
"#)
        .run();
    let json = ws.run(&["plan", "manifests", "--update", "--format", "json"]);
    let plan = json.json();
    assert_eq!(plan["scopes"][0]["kind"], "scope");
    assert_eq!(plan["scopes"][0]["action"], "update");
    assert_eq!(plan["summary"]["update"], 1);

    server.sandbox.clear_requests();
    ok(&ws.run(&["apply", "manifests", "--update", "--auto-approve"]));
    let patch: Vec<Value> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(
        patch,
        [json!({"scope": {"label": "Read invoices", "public": true}})]
    );
    assert_eq!(
        server_scope(&server, "billing:read"),
        Some((READ_ID.to_string(), json!("Read invoices"), true))
    );

    // Another scope of that name under another id: scope names are unique, so it is a
    // conflict that names the id to pin.
    let other = server.connect(Workspace::new().file(
        "read.yaml",
        "kind: Scope\nid: 0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b\nname: billing:read\n",
    ));
    Test::new(&other)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .status(1)
        .stdout(r"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ! scope billing:read (0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b) conflicts with server scope 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c61 of the same name: pin `id: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c61` to adopt it  [manifests/read.yaml:1]
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client
  · 11 system scopes: boruta's built-in scopes (clients:manage:all, configuration:manage:all, email, identity-providers:manage:all, logs:read:all, openid, profile, roles:manage:all, scopes:manage:all, upstreams:manage:all, users:manage:all)

Plan: 0 to create, 0 drifted, 0 in sync, 0 unmanaged (14 system), 1 conflict(s).
")
        .stderr(r"error[conflict]: the server already has a scope named `billing:read` with id 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c61 (scope names are unique): pin `id: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c61` to adopt it
  --> manifests/read.yaml:3:7
  |
3 | name: billing:read
  |       ^^^^^^^^^^^^

1 error(s), 0 warning(s), 0 note(s) in 0 client(s) and 1 scope(s) from 1 file(s)
")
        .run();
}

#[test]
fn a_scope_is_deleted_only_with_allow_delete_after_the_clients_drop_it() {
    let server = Server::start();
    let ws = server.connect(
        Workspace::new()
            .file("billing.yaml", billing_client())
            .file("read.yaml", scope("billing:read", READ_ID, "")),
    );
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    // The client drops the scope, and the scope is declared absent, in one change.
    let without = billing_client()
        .replace("  - name: billing:read\n", "")
        .replace("authorized_scopes:\n", "authorized_scopes: []\n");
    std::fs::write(ws.manifests().join("billing.yaml"), without).unwrap();
    std::fs::write(
        ws.manifests().join("read.yaml"),
        scope("billing:read", READ_ID, "lifecycle:\n  ensure: absent\n"),
    )
    .unwrap();

    Test::new(&ws)
        .args(&["apply", "manifests", "--update", "--auto-approve"])
        .sandbox(&server)
        .status(1)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ! scope billing:read (9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c61) is blocked: it cannot be deleted as declared (see the errors)  [manifests/read.yaml:1]
      ? deleting a scope also deletes every user's grant of it (boruta does so)
      ? it is unlinked from the server's clients that hold it: billing
  ~ billing (3f9d1c2e-8a7b-4c6d-9e0f-1a2b3c4d5e6f) will be updated  [manifests/billing.yaml:2]
      ~ authorized_scopes:
          - "billing:read"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client
  · 11 system scopes: boruta's built-in scopes (clients:manage:all, configuration:manage:all, email, identity-providers:manage:all, logs:read:all, openid, profile, roles:manage:all, scopes:manage:all, upstreams:manage:all, users:manage:all)

Plan: 0 to create, 1 to update, 0 to re-send, 1 blocked, 0 drifted, 0 in sync, 0 unmanaged (14 system), 0 conflict(s).
"#)
        .stderr(r"error[delete-not-allowed]: `billing:read` (9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c61) is declared `ensure: absent` and exists: deleting it needs --allow-delete, on plan and apply (the whole plan is refused without it)
  --> manifests/read.yaml:1:1
  |
1 | kind: Scope
  | ^

1 error(s), 0 warning(s), 0 note(s) in 1 client(s) and 1 scope(s) from 2 file(s)
error: the plan has errors (see above): nothing was changed
")
        .run();
    assert!(server_scope(&server, "billing:read").is_some());

    let plan = Test::new(&ws)
        .args(&["plan", "manifests", "--update", "--allow-delete"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all scopes:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  - scope billing:read (9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c61) will be deleted  [manifests/read.yaml:1]
      ? deleting a scope also deletes every user's grant of it (boruta does so)
      ? it is unlinked from the server's clients that hold it: billing
  ~ billing (3f9d1c2e-8a7b-4c6d-9e0f-1a2b3c4d5e6f) will be updated  [manifests/billing.yaml:2]
      ~ authorized_scopes:
          - "billing:read"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client
  · 11 system scopes: boruta's built-in scopes (clients:manage:all, configuration:manage:all, email, identity-providers:manage:all, logs:read:all, openid, profile, roles:manage:all, scopes:manage:all, upstreams:manage:all, users:manage:all)

Plan: 0 to create, 1 to update, 0 to re-send, 1 to delete, 0 drifted, 0 in sync, 0 unmanaged (14 system), 0 conflict(s).
"#)
        .run();
    ok(&plan);

    server.sandbox.clear_requests();
    ok(&ws.run(&[
        "apply",
        "manifests",
        "--update",
        "--allow-delete",
        "--auto-approve",
    ]));
    let writes: Vec<String> = server
        .calls()
        .into_iter()
        .filter(|(m, _)| m == "PATCH" || m == "DELETE")
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert_eq!(
        writes,
        [
            format!("PATCH /api/clients/{BILLING_ID}"),
            format!("DELETE /api/scopes/{READ_ID}")
        ]
    );
    assert_eq!(server_scope(&server, "billing:read"), None);
    let again = ws.run(&[
        "plan",
        "manifests",
        "--update",
        "--allow-delete",
        "--detailed-exitcode",
    ]);
    assert_eq!(again.code, 0, "{}", again.stdout);
}

#[test]
fn export_writes_the_unprotected_scopes_and_plans_empty() {
    let server = Server::start();
    let ws = server.connect(Workspace::new().file(
        "read.yaml",
        scope("billing:read", READ_ID, "label: Read invoices\n"),
    ));
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    let out = ws.run(&["export", "--out", "exported", "--kind", "scope"]);
    ok(&out);
    let written: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("wrote "))
        .collect();
    assert!(
        written.contains(&"wrote exported/scopes/billing-read.yaml"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("clients-manage-all"),
        "a protected scope is never exported: {}",
        out.stdout
    );
    assert!(out.stdout.ends_with(" scope(s)\n"), "{}", out.stdout);
    let text =
        std::fs::read_to_string(ws.path().join("exported/scopes/billing-read.yaml")).unwrap();
    assert_eq!(
        text.lines().skip(2).collect::<Vec<_>>().join("\n"),
        format!("kind: Scope\nid: {READ_ID}\nname: \"billing:read\"\nlabel: Read invoices")
    );
    Test::new(&ws)
        .args(&["plan", "exported", "--detailed-exitcode"])
        .sandbox(&server)
        .stdout(r"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  No changes: the server matches the manifests.
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client
  · 6 system scopes: boruta's built-in scopes (clients:manage:all, identity-providers:manage:all, roles:manage:all, scopes:manage:all, upstreams:manage:all, users:manage:all)

Plan: 0 to create, 0 drifted, 6 in sync, 0 unmanaged (9 system), 0 conflict(s).
")
        .run();
}

#[test]
fn unmanaged_scopes_are_reported_only_when_git_declares_scopes() {
    let server = Server::start();
    let stray = server.sandbox.with_state(|s| {
        s.create_scope(&json!({"scope": {"name": "stray:scope"}}))
            .body
            .unwrap()["data"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    });
    let clients_only = server.connect(Workspace::new().file(
        "billing.yaml",
        billing_client().replace("billing:read", "stray:scope"),
    ));
    let plan = clients_only.run(&["plan", "manifests", "--format", "json"]);
    ok(&plan);
    assert_eq!(plan.json()["summary"]["unmanaged"], 0);
    let with_scopes =
        server.connect(Workspace::new().file("read.yaml", scope("billing:read", READ_ID, "")));
    Test::new(&with_scopes)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .redact(&stray, "[STRAY-ID]")
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all scopes:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + scope billing:read (9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c61) will be created  [manifests/read.yaml:1]
      + name   = "billing:read"
      + public = false
  ? scope stray:scope ([STRAY-ID]) is unmanaged: no manifest declares it
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client
  · 11 system scopes: boruta's built-in scopes (clients:manage:all, configuration:manage:all, email, identity-providers:manage:all, logs:read:all, openid, profile, roles:manage:all, scopes:manage:all, upstreams:manage:all, users:manage:all)

Plan: 1 to create, 0 drifted, 0 in sync, 1 unmanaged (14 system), 0 conflict(s).
"#)
        .run();
}
