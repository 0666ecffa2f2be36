//! Every declared field converges (issue #18): write-only fields reach the server through
//! `apply --update` and are said beforehand by `plan --update`; a change boruta would
//! refuse is blocked in every format, never counted as a change; and apply reads back what
//! it wrote. The sandbox's request log is the witness.

use crate::support::{wait_until, Output, Server, Test, Workspace, DEFAULT_IDP};
use serde_json::{json, Value};
use std::time::Duration;

const API_ID: &str = "2c8d0a4e-6b1f-4e2a-9c3d-5e7f8a9b0c11";

/// A backend client declaring two write-only fields (resources, metadata).
fn manifest(resource: &str, team: &str) -> String {
    format!(
        "id: {API_ID}\nname: invoices-api\nconfidential: true\nsupported_grant_types: [client_credentials]\naccess_token_ttl: 300\nauthorized_resources:\n  - {resource}\nmetadata:\n  team: {team}\nidentity_provider:\n  name: {DEFAULT_IDP}\n"
    )
}

fn workspace(server: &Server, manifest: &str) -> Workspace {
    server.connect(Workspace::new().file("invoices-api.yaml", manifest))
}

fn ok(out: &Output) {
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

/// The stored fields of a client, write-only ones included (the sandbox keeps them as
/// boruta does; its answers never render them).
fn stored(server: &Server, field: &str) -> Value {
    server
        .sandbox
        .with_state(|s| s.clients[API_ID].fields[field].clone())
}

/// The bodies of the PATCH requests the sandbox received.
fn patches(server: &Server) -> Vec<Value> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap()["client"].clone())
        .collect()
}

/// The lines of a plan between its header block and its summary line.
fn body(plan: &Output, server: &Server) -> String {
    let text = server.scrub(&plan.stdout);
    let start = text.find("\n\n").expect("a header") + 2;
    text[start..].to_string()
}

#[test]
fn a_write_only_change_in_git_reaches_the_server_and_drift_stays_quiet() {
    let server = Server::start();
    let ws = workspace(&server, &manifest("https://old.example.com/api", "red"));
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    server.sandbox.clear_requests();
    let ws = workspace(&server, &manifest("https://new.example.com/api", "blue"));
    std::fs::write(
        ws.manifests().join("invoices-api.yaml"),
        manifest("https://new.example.com/api", "blue"),
    )
    .unwrap();

    // Without --update nothing is sent, and the plan says what apply --update would do.
    let plan = ws.run(&["plan", "manifests", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let plan = ws.run(&["plan", "manifests", "--update", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "a re-send is not a change: {}", plan.stderr);
    assert_eq!(
        body(&plan, &server),
        format!(
            "  ↻ invoices-api ({API_ID}) will re-send its write-only fields (boruta never renders them back: not verifiable)  [manifests/invoices-api.yaml:2]
      ↻ authorized_resources = [\"https://new.example.com/api\"]   re-sent: boruta never renders it back
      ↻ metadata             = {{\"team\":\"blue\"}}   re-sent: boruta never renders it back
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 0 to update, 1 to re-send, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"
        )
    );
    let json = ws
        .run(&["plan", "manifests", "--update", "--format", "json"])
        .json();
    let client = &json["clients"][0];
    assert_eq!(client["action"], "resend");
    assert_eq!(
        client["resend"],
        json!([
            {"field": "authorized_resources", "server": null, "desired": ["https://new.example.com/api"]},
            {"field": "metadata", "server": null, "desired": {"team": "blue"}},
        ])
    );
    assert_eq!(json["summary"]["resend"], 1);
    assert_eq!(patches(&server), [] as [Value; 0], "plan sends nothing");

    let applied = Test::new(&ws)
        .args(&["apply", "manifests", "--update", "--auto-approve"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ↻ invoices-api (2c8d0a4e-6b1f-4e2a-9c3d-5e7f8a9b0c11) will re-send its write-only fields (boruta never renders them back: not verifiable)  [manifests/invoices-api.yaml:2]
      ↻ authorized_resources = ["https://new.example.com/api"]   re-sent: boruta never renders it back
      ↻ metadata             = {"team":"blue"}   re-sent: boruta never renders it back
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 0 to update, 1 to re-send, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Re-sending the write-only fields of 1 client(s), at most 8 at a time:
  ↻ invoices-api (2c8d0a4e-6b1f-4e2a-9c3d-5e7f8a9b0c11) write-only fields re-sent

Apply: 0 created, 1 re-sent, 0 already present, 0 failed, 0 not attempted.
"#)
        .run();
    ok(&applied);
    assert_eq!(
        patches(&server),
        [json!({
            "authorized_resources": ["https://new.example.com/api"],
            "metadata": {"team": "blue"},
            "authorized_scopes": [],
        })]
    );
    assert_eq!(
        stored(&server, "authorized_resources"),
        json!(["https://new.example.com/api"])
    );
    assert_eq!(stored(&server, "metadata"), json!({"team": "blue"}));

    // The server now holds git's values, which nothing can read back: drift is quiet.
    let drift = ws.run(&["drift", "manifests"]);
    assert_eq!(drift.code, 0, "{}\n{}", drift.stdout, drift.stderr);

    // A pull request that changes nothing gets one collapsed line, not a section.
    let comment = Test::new(&ws)
        .args(&["plan", "manifests", "--update", "--format", "markdown"])
        .sandbox(&server)
        .stdout(r"<!-- boruta-gitops plan -->
### boruta-gitops plan

| create | update | re-send | drift | in sync | unmanaged | system | conflict |
|---:|---:|---:|---:|---:|---:|---:|---:|
| 0 | 0 | 1 | 0 | 0 | 0 | 3 | 0 |

<details><summary>apply --update re-sends the write-only fields of 1 client(s): boruta never renders them back, so git's values are sent, not compared</summary>

- invoices-api <code>2c8d0a4e-6b1f-4e2a-9c3d-5e7f8a9b0c11</code>: authorized\_resources, metadata

</details>

Plan: 0 to create, 0 to update, 1 to re-send, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
")
        .run();
    ok(&comment);
    assert!(
        !comment.stdout.contains("<details><summary><code>"),
        "{}",
        comment.stdout
    );
}

#[test]
fn a_client_with_an_unknown_identity_provider_is_blocked_not_created() {
    let server = Server::start();
    let text =
        manifest("https://new.example.com/api", "blue").replace(DEFAULT_IDP, "No such provider");
    let ws = workspace(&server, &text);
    let plan = ws.run(&["plan", "manifests"]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    let text = body(&plan, &server);
    assert!(
        text.starts_with(&format!(
            "  ! invoices-api ({API_ID}) is blocked: it cannot be created as declared (see the errors)  [manifests/invoices-api.yaml:2]\n  · "
        )),
        "{text}"
    );
    assert!(
        text.ends_with("Plan: 0 to create, 1 blocked, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).\n"),
        "{text}"
    );
    let json = ws.run(&["plan", "manifests", "--format", "json"]).json();
    assert_eq!(json["clients"][0]["action"], "blocked");
    assert_eq!(json["clients"][0]["blocked"], "create");
    assert_eq!(json["summary"]["create"], 0);
    assert_eq!(json["summary"]["blocked"], 1);
    Test::new(&ws)
        .args(&["plan", "manifests", "--format", "markdown"])
        .sandbox(&server)
        .status(1)
        .stdout(r"<!-- boruta-gitops plan -->
### boruta-gitops plan

| create | blocked | drift | in sync | unmanaged | system | conflict |
|---:|---:|---:|---:|---:|---:|---:|
| 0 | 1 | 0 | 0 | 0 | 3 | 0 |

**Findings**: 1 error(s), 0 warning(s)

| | code | where | message |
|---|---|---|---|
| ❌ error | <code>unknown-identity-provider</code> | <code>manifests/invoices-api.yaml:11</code> | no identity provider named &#96;No such provider&#96; on the server (known: Boruta administration interface, Default identity provider, Partners identity provider): the create would fail |

<details><summary><code>!</code> <b>invoices-api</b> (blocked) <code>2c8d0a4e-6b1f-4e2a-9c3d-5e7f8a9b0c11</code></summary>

<code>manifests/invoices-api.yaml:2</code>

</details>

Plan: 0 to create, 1 blocked, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
")
        .stderr(r"error[unknown-identity-provider]: no identity provider named `No such provider` on the server (known: Boruta administration interface, Default identity provider, Partners identity provider): the create would fail
  --> manifests/invoices-api.yaml:11:9
   |
11 |   name: No such provider
   |         ^^^^^^^^^^^^^^^^

1 error(s), 0 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    let applied = ws.run(&["apply", "manifests", "--auto-approve"]);
    assert_eq!(applied.code, 1);
    assert_eq!(server.count("POST", "/api/clients"), 0);
}

#[test]
fn an_update_boruta_refuses_is_blocked_not_counted() {
    let server = Server::start();
    let ws = workspace(&server, &manifest("https://a.example.com/api", "red"));
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    std::fs::write(
        ws.manifests().join("invoices-api.yaml"),
        manifest("https://a.example.com/api", "red")
            .replace("access_token_ttl: 300", "access_token_ttl: 900"),
    )
    .unwrap();
    let plan = ws.run(&["plan", "manifests", "--update", "--format", "json"]);
    assert_eq!(plan.code, 1);
    let json = plan.json();
    assert_eq!(json["clients"][0]["action"], "blocked");
    assert_eq!(json["clients"][0]["blocked"], "update");
    assert_eq!(json["summary"]["update"], 0);
    let human = Test::new(&ws)
        .args(&["plan", "manifests", "--update"])
        .sandbox(&server)
        .status(1)
        .stdout(r"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ! invoices-api (2c8d0a4e-6b1f-4e2a-9c3d-5e7f8a9b0c11) is blocked: it cannot be updated as declared (see the errors)  [manifests/invoices-api.yaml:2]
      ~ access_token_ttl     = 300 -> 900
      ? authorized_resources   unverifiable: boruta never renders it back (apply --update re-sends it)
      ? metadata               unverifiable: boruta never renders it back (apply --update re-sends it)
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 0 to update, 0 to re-send, 1 blocked, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
")
        .stderr(r"error[update-refused]: boruta 0.10 refuses this change on update: access_token_ttl 900 is out of range 1..300 (on update boruta also checks a changed access_token_ttl against the authorization-request maximum, 300 (an upstream bug)); only deleting and re-creating the client can set it
  --> manifests/invoices-api.yaml:5:19
  |
5 | access_token_ttl: 900
  |                   ^^^

1 error(s), 0 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    assert!(
        human.stdout.ends_with("Plan: 0 to create, 0 to update, 0 to re-send, 1 blocked, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).\n"),
        "{}",
        human.stdout
    );
    Test::new(&ws)
        .args(&["plan", "manifests", "--update", "--format", "markdown"])
        .sandbox(&server)
        .status(1)
        .stdout(r"<!-- boruta-gitops plan -->
### boruta-gitops plan

| create | update | re-send | blocked | drift | in sync | unmanaged | system | conflict |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|
| 0 | 0 | 0 | 1 | 0 | 0 | 0 | 3 | 0 |

**Findings**: 1 error(s), 0 warning(s)

| | code | where | message |
|---|---|---|---|
| ❌ error | <code>update-refused</code> | <code>manifests/invoices-api.yaml:5</code> | boruta 0.10 refuses this change on update: access\_token\_ttl 900 is out of range 1..300 (on update boruta also checks a changed access\_token\_ttl against the authorization-request maximum, 300 (an upstream bug)); only deleting and re-creating the client can set it |

<details><summary><code>!</code> <b>invoices-api</b> (blocked) <code>2c8d0a4e-6b1f-4e2a-9c3d-5e7f8a9b0c11</code></summary>

<code>manifests/invoices-api.yaml:2</code>

```diff
! access_token_ttl     = 300 -> 900
# authorized_resources   unverifiable: boruta never renders it back (apply --update re-sends it)
# metadata               unverifiable: boruta never renders it back (apply --update re-sends it)
```

</details>

Plan: 0 to create, 0 to update, 0 to re-send, 1 blocked, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
")
        .stderr(r"error[update-refused]: boruta 0.10 refuses this change on update: access_token_ttl 900 is out of range 1..300 (on update boruta also checks a changed access_token_ttl against the authorization-request maximum, 300 (an upstream bug)); only deleting and re-creating the client can set it
  --> manifests/invoices-api.yaml:5:19
  |
5 | access_token_ttl: 900
  |                   ^^^

1 error(s), 0 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    // apply refuses the plan: nothing is sent, nothing counted as updated.
    server.sandbox.clear_requests();
    Test::new(&ws)
        .args(&["apply", "manifests", "--update", "--auto-approve"])
        .sandbox(&server)
        .status(1)
        .stdout(r"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ! invoices-api (2c8d0a4e-6b1f-4e2a-9c3d-5e7f8a9b0c11) is blocked: it cannot be updated as declared (see the errors)  [manifests/invoices-api.yaml:2]
      ~ access_token_ttl     = 300 -> 900
      ? authorized_resources   unverifiable: boruta never renders it back (apply --update re-sends it)
      ? metadata               unverifiable: boruta never renders it back (apply --update re-sends it)
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 0 to update, 0 to re-send, 1 blocked, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
")
        .stderr(r"error[update-refused]: boruta 0.10 refuses this change on update: access_token_ttl 900 is out of range 1..300 (on update boruta also checks a changed access_token_ttl against the authorization-request maximum, 300 (an upstream bug)); only deleting and re-creating the client can set it
  --> manifests/invoices-api.yaml:5:19
  |
5 | access_token_ttl: 900
  |                   ^^^

1 error(s), 0 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
error: the plan has errors (see above): nothing was changed
")
        .run();
    assert!(patches(&server).is_empty());
}

#[test]
fn apply_reads_back_and_fails_a_client_the_server_acknowledged_but_did_not_store() {
    let server = Server::start();
    server.sandbox.add_fault(
        "POST /api/clients strip-field=metadata strip-field=access_token_ttl"
            .parse()
            .unwrap(),
    );
    let ws = workspace(&server, &manifest("https://a.example.com/api", "red"));
    Test::new(&ws)
        .args(&["apply", "manifests", "--auto-approve"])
        .sandbox(&server)
        .status(1)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + invoices-api (2c8d0a4e-6b1f-4e2a-9c3d-5e7f8a9b0c11) will be created  [manifests/invoices-api.yaml:2]
      + name                  = "invoices-api"
      + confidential          = true
      + supported_grant_types = ["client_credentials"]
      + access_token_ttl      = 300
      + authorized_resources  = ["https://a.example.com/api"]
      + metadata              = {"team":"red"}
      + identity_provider     = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Creating 1 client(s), at most 8 at a time:
  + invoices-api (2c8d0a4e-6b1f-4e2a-9c3d-5e7f8a9b0c11) created
boruta generated the secret of 1 client(s). It is not printed: read it with GET /api/clients/<id> (scope clients:manage:all), or run apply with --secrets-out FILE next time.
Read back after apply: 1 client(s) did not converge:
  ✗ invoices-api (2c8d0a4e-6b1f-4e2a-9c3d-5e7f8a9b0c11) failed: boruta acknowledged the write, but the server's record read back after apply still differs from the manifest: `access_token_ttl`

Apply: 0 created, 0 already present, 1 failed, 0 not attempted.
Nothing reported as done is undone. Fix the failures and run apply again: it converges.
"#)
        .stderr(r"error[not-converged]: boruta acknowledged the write, but the server's record read back after apply still differs from the manifest: `access_token_ttl`
  --> manifests/invoices-api.yaml:5:19
  |
5 | access_token_ttl: 300
  |                   ^^^

1 error(s), 0 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    assert_eq!(
        server.count("GET", "/api/clients"),
        2,
        "one list before, one after"
    );
}

#[test]
fn an_identity_provider_change_warns_that_boruta_before_0_10_1_must_restart() {
    let server = Server::start();
    let ws = workspace(&server, &manifest("https://a.example.com/api", "red"));
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    let partners = manifest("https://a.example.com/api", "red")
        .replace(DEFAULT_IDP, "Partners identity provider");
    std::fs::write(ws.manifests().join("invoices-api.yaml"), partners).unwrap();
    let warning = |version: Option<&str>| {
        let mut args = vec!["plan", "manifests", "--update"];
        if let Some(version) = version {
            args.extend(["--boruta-version", version]);
        }
        let out = ws.run(&args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stderr
            .lines()
            .find(|l| l.starts_with("warning[identity-provider-restart]"))
            .map(str::to_string)
    };
    assert_eq!(
        warning(Some("0.10.0")).as_deref(),
        Some("warning[identity-provider-restart]: boruta 0.10 caches the identity provider of `invoices-api` and keeps using the old one after this update until it restarts (fixed in 0.10.1): restart boruta after apply")
    );
    assert!(warning(Some("0.9.2")).is_some());
    assert_eq!(warning(Some("0.10.5")), None);
    assert_eq!(
        warning(None).as_deref(),
        Some("warning[identity-provider-restart]: if this server runs boruta 0.9.0 to 0.10.0, it caches the identity provider of `invoices-api` and keeps using the old one after this update until it restarts (fixed in 0.10.1): restart boruta after apply, or pass --boruta-version with the exact release")
    );
}

/// The id and public key of a seeded global key pair.
fn key_pair(server: &Server, name: &str) -> (String, String) {
    let id = boruta_gitops::sandbox::state::seed_id(name);
    let key = server
        .sandbox
        .with_state(|s| s.key_pairs[&id].public_key.clone());
    (id, key)
}

/// The public key the admin API renders for the client.
fn rendered_public_key(server: &Server) -> String {
    server
        .sandbox
        .with_state(|s| s.render_client(API_ID))
        .expect("the client exists")["public_key"]
        .as_str()
        .unwrap()
        .to_string()
}

/// invoices-api declaring a global key pair and one other write-only field.
fn key_pair_manifest(key_pair_id: &str) -> String {
    format!(
        "id: {API_ID}\nname: invoices-api\nconfidential: true\nsupported_grant_types: [client_credentials]\nkey_pair_id: {key_pair_id}\nmetadata:\n  team: red\nidentity_provider:\n  name: {DEFAULT_IDP}\n"
    )
}

/// The client's lines of a human plan (its header line and the lines under it).
fn client_lines(plan: &Output, server: &Server) -> String {
    let text = body(plan, server);
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap_or_default());
    for line in lines.take_while(|l| l.starts_with("      ")) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn an_unchanged_key_pair_id_is_never_re_sent_and_a_changed_one_is() {
    let server = Server::start();
    let (default_id, default_key) = key_pair(&server, "Default key pair");
    let (second_id, second_key) = key_pair(&server, "Second key pair");
    let ws = workspace(&server, &key_pair_manifest(&default_id));
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    let create: Value = serde_json::from_str(
        &server
            .requests()
            .into_iter()
            .find(|r| r.method == "POST" && r.path == "/api/clients")
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(
        create["client"]["key_pair_id"],
        json!(default_id),
        "sent on create"
    );
    assert_eq!(rendered_public_key(&server), default_key);
    server.sandbox.clear_requests();

    // The client holds the key pair's key: the plan says so, apply --update re-sends the
    // other write-only field and not key_pair_id (boruta would rotate the key).
    let plan = ws.run(&["plan", "manifests", "--update"]);
    ok(&plan);
    assert_eq!(
        client_lines(&plan, &server),
        format!("  ↻ invoices-api ({API_ID}) will re-send its write-only fields (boruta never renders them back: not verifiable)  [manifests/invoices-api.yaml:2]\n      ↻ metadata    = {{\"team\":\"red\"}}   re-sent: boruta never renders it back\n      = key_pair_id   held: the client holds this key pair's key (not sent: boruta would replace it with a random one)\n")
    );
    ok(&ws.run(&["apply", "manifests", "--update", "--auto-approve"]));
    assert_eq!(
        patches(&server),
        [json!({"metadata": {"team": "red"}, "authorized_scopes": []})]
    );
    assert_eq!(rendered_public_key(&server), default_key, "not rotated");
    let drift = ws.run(&["drift", "manifests"]);
    assert_eq!(drift.code, 0, "{}\n{}", drift.stdout, drift.stderr);
    server.sandbox.clear_requests();

    // Git names another key pair: the client does not hold its key, so it is sent.
    std::fs::write(
        ws.manifests().join("invoices-api.yaml"),
        key_pair_manifest(&second_id),
    )
    .unwrap();
    let drift = ws.run(&["drift", "manifests"]);
    assert_eq!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);
    let plan = ws.run(&["plan", "manifests", "--update", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    assert_eq!(
        client_lines(&plan, &server),
        format!("  ~ invoices-api ({API_ID}) will be updated  [manifests/invoices-api.yaml:2]\n      ↻ metadata    = {{\"team\":\"red\"}}   re-sent: boruta never renders it back\n      ~ key_pair_id   sent: the client does not hold this key pair's key (boruta copies the key pair's keys into it)\n")
    );
    let applied = Test::new(&ws)
        .args(&["apply", "manifests", "--update", "--auto-approve"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ~ invoices-api (2c8d0a4e-6b1f-4e2a-9c3d-5e7f8a9b0c11) will be updated  [manifests/invoices-api.yaml:2]
      ↻ metadata    = {"team":"red"}   re-sent: boruta never renders it back
      ~ key_pair_id   sent: the client does not hold this key pair's key (boruta copies the key pair's keys into it)
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 1 to update, 0 to re-send, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Updating 1 client(s), at most 8 at a time:
  ~ invoices-api (2c8d0a4e-6b1f-4e2a-9c3d-5e7f8a9b0c11) updated

Apply: 0 created, 1 updated, 0 already present, 0 failed, 0 not attempted.
"#)
        .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/invoices-api.yaml:2:7
  |
2 | name: invoices-api
  |       ^^^^^^^^^^^^

0 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    ok(&applied);
    assert_eq!(
        patches(&server),
        [json!({"metadata": {"team": "red"}, "key_pair_id": second_id, "authorized_scopes": []})]
    );
    assert_eq!(rendered_public_key(&server), second_key);
    let drift = ws.run(&["drift", "manifests"]);
    assert_eq!(drift.code, 0, "{}\n{}", drift.stdout, drift.stderr);
    server.sandbox.clear_requests();
    ok(&ws.run(&["apply", "manifests", "--update", "--auto-approve"]));
    assert_eq!(
        patches(&server),
        [json!({"metadata": {"team": "red"}, "authorized_scopes": []})]
    );
    assert_eq!(rendered_public_key(&server), second_key);
}

#[test]
fn a_key_pair_id_that_cannot_be_checked_is_sent_only_when_asked() {
    let server = Server::start();
    let (default_id, default_key) = key_pair(&server, "Default key pair");
    let (second_id, _) = key_pair(&server, "Second key pair");
    let ws = workspace(&server, &key_pair_manifest(&second_id));
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    std::fs::write(
        ws.manifests().join("invoices-api.yaml"),
        key_pair_manifest(&default_id),
    )
    .unwrap();
    server
        .sandbox
        .add_fault("GET /api/key-pairs status=503".parse().unwrap());
    server.sandbox.clear_requests();
    let plan = ws.run(&["plan", "manifests", "--update", "--max-retries", "0"]);
    ok(&plan);
    let warning = plan
        .stderr
        .lines()
        .find(|l| l.starts_with("warning[key-pair-unverifiable]"))
        .unwrap_or_default()
        .to_string();
    assert_eq!(warning, format!("warning[key-pair-unverifiable]: whether `invoices-api` holds key pair {default_id}'s key cannot be checked (listing key pairs (GET /api/key-pairs): boruta answered 503 SERVICE_UNAVAILABLE \"injected fault\". the server is overloaded or unavailable; retried 0 time(s); try again later): key_pair_id is not sent, since boruta replaces the key of a client that already holds it with a random one; if it does not hold it, pass --send-key-pair-id invoices-api"));
    assert_eq!(
        client_lines(&plan, &server),
        format!("  ↻ invoices-api ({API_ID}) will re-send its write-only fields (boruta never renders them back: not verifiable)  [manifests/invoices-api.yaml:2]\n      ↻ metadata    = {{\"team\":\"red\"}}   re-sent: boruta never renders it back\n      ? key_pair_id   not sent: whether the client holds this key pair's key cannot be checked\n")
    );
    ok(&ws.run(&[
        "apply",
        "manifests",
        "--update",
        "--auto-approve",
        "--max-retries",
        "0",
    ]));
    assert_eq!(
        patches(&server),
        [json!({"metadata": {"team": "red"}, "authorized_scopes": []})]
    );
    server.sandbox.clear_requests();
    let plan = ws.run(&[
        "plan",
        "manifests",
        "--update",
        "--send-key-pair-id",
        "invoices-api",
        "--max-retries",
        "0",
    ]);
    ok(&plan);
    assert_eq!(
        client_lines(&plan, &server),
        format!("  ~ invoices-api ({API_ID}) will be updated  [manifests/invoices-api.yaml:2]\n      ↻ metadata    = {{\"team\":\"red\"}}   re-sent: boruta never renders it back\n      ~ key_pair_id   sent, as --send-key-pair-id asks (boruta copies the key pair's keys into it)\n")
    );
    ok(&ws.run(&[
        "apply",
        "manifests",
        "--update",
        "--send-key-pair-id",
        "invoices-*",
        "--auto-approve",
        "--max-retries",
        "0",
    ]));
    assert_eq!(
        patches(&server),
        [json!({"metadata": {"team": "red"}, "key_pair_id": default_id, "authorized_scopes": []})]
    );
    assert_eq!(rendered_public_key(&server), default_key);
}

#[test]
fn apply_reads_back_an_update_and_fails_one_the_server_no_longer_holds() {
    let server = Server::start();
    let ws = workspace(&server, &manifest("https://a.example.com/api", "red"));
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    std::fs::write(
        ws.manifests().join("invoices-api.yaml"),
        manifest("https://a.example.com/api", "red")
            .replace("access_token_ttl: 300", "access_token_ttl: 200"),
    )
    .unwrap();
    // The update is acknowledged (its 200 answer shows the new TTL), then lost before the
    // read-back's list (the second GET /api/clients of this run) is answered.
    server.sandbox.clear_requests();
    server
        .sandbox
        .add_fault("GET /api/clients nth=2 delay-ms=1500".parse().unwrap());
    let child = server
        .command(&ws, &["apply", "manifests", "--update", "--auto-approve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(20), "the read-back", || {
        server.count("GET", "/api/clients") >= 2
    });
    assert_eq!(server.count("PATCH", &format!("/api/clients/{API_ID}")), 1);
    server.update(API_ID, json!({"access_token_ttl": 300}));
    let out = child.wait_with_output().unwrap();
    Test::new(&ws)
        .args(&["apply", "manifests", "--update", "--auto-approve"])
        .sandbox(&server)
        .status(1)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ~ invoices-api (2c8d0a4e-6b1f-4e2a-9c3d-5e7f8a9b0c11) will be updated  [manifests/invoices-api.yaml:2]
      ~ access_token_ttl     = 300 -> 200
      ↻ authorized_resources = ["https://a.example.com/api"]   re-sent: boruta never renders it back
      ↻ metadata             = {"team":"red"}   re-sent: boruta never renders it back
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 1 to update, 0 to re-send, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Updating 1 client(s), at most 8 at a time:
  ~ invoices-api (2c8d0a4e-6b1f-4e2a-9c3d-5e7f8a9b0c11) updated
Read back after apply: 1 client(s) did not converge:
  ✗ invoices-api (2c8d0a4e-6b1f-4e2a-9c3d-5e7f8a9b0c11) failed: boruta acknowledged the write, but the server's record read back after apply still differs from the manifest: `access_token_ttl`

Apply: 0 created, 0 updated, 0 already present, 1 failed, 0 not attempted.
Nothing reported as done is undone. Fix the failures and run apply again: it converges.
"#)
        .stderr(r"error[not-converged]: boruta acknowledged the write, but the server's record read back after apply still differs from the manifest: `access_token_ttl`
  --> manifests/invoices-api.yaml:5:19
  |
5 | access_token_ttl: 200
  |                   ^^^

1 error(s), 0 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .check(out.into());
}
