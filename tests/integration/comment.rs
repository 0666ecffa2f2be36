//! The pull-request comment (`plan --format markdown`, issue #12), snapshot by snapshot: a
//! PEM drift (every line kept), findings, a conflict, a failed plan, and 300 creates
//! (under 60,000 characters).

use crate::support::{Server, Workspace, DEFAULT_IDP};
use serde_json::json;

const ID: &str = "3f0e7a52-5a47-4c8e-9b8f-2d6c1b7e4a10";
const PORTAL: &str = "22222222-2222-4222-8222-222222222222";
const PEM_A: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAAAA\nBBBBBBBB\n-----END PUBLIC KEY-----";
const PEM_B: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAAAA\nCCCCCCCC\n-----END PUBLIC KEY-----";

fn manifest(pem: &str) -> String {
    format!(
        "id: {ID}\nname: api\nsupported_grant_types: [client_credentials]\njwt_public_key: |\n  {}\nidentity_provider:\n  name: {DEFAULT_IDP}\n",
        pem.replace('\n', "\n  ")
    )
}

fn markdown(ws: &Workspace) -> (i32, String) {
    let mut args = vec!["plan", "manifests", "--format", "markdown"];
    if ws.path().join(QUIET).exists() {
        args.extend(["--policy", QUIET]);
    }
    let out = ws.run(&args);
    (out.code, out.stdout)
}

/// The pipeline's policy file, outside the manifest directory.
const QUIET: &str = "quiet-policy.yaml";

/// These snapshots are about the comment's layout: the pipeline's policy turns off the one
/// rule that fires on every fixture here (the omitted access_token_ttl, boruta's default a
/// day).
fn quiet_ttl(ws: Workspace) -> Workspace {
    let policy = "rules:\n  long-lived-access-token: off\n";
    std::fs::write(ws.path().join(QUIET), policy).unwrap();
    ws
}

#[test]
fn a_pem_drift_keeps_every_line() {
    let server = Server::start();
    server.create(json!({"id": ID, "name": "api", "supported_grant_types": ["client_credentials"],
        "jwt_public_key": format!("{PEM_B}\n"), "identity_provider": {"id": server.idp_id(DEFAULT_IDP)}}));
    let ws = server.connect(quiet_ttl(Workspace::new()).file("api.yaml", manifest(PEM_A)));
    let (code, text) = markdown(&ws);
    assert_eq!(code, 0);
    let expected = format!(
        "<!-- boruta-gitops plan -->
### boruta-gitops plan

| create | drift | in sync | unmanaged | system | conflict |
|---:|---:|---:|---:|---:|---:|
| 0 | 1 | 0 | 0 | 3 | 0 |

<details><summary><code>~</code> <b>api</b> (drift) <code>{ID}</code></summary>

<code>manifests/api.yaml:2</code>

```diff
! jwt_public_key:
    -----BEGIN PUBLIC KEY-----
    MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAAAA
-   CCCCCCCC
+   BBBBBBBB
    -----END PUBLIC KEY-----
```

</details>

Plan: 0 to create, 1 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"
    );
    assert_eq!(text, expected);
}

#[test]
fn findings_and_a_conflict() {
    let server = Server::start();
    server.create(json!({"id": PORTAL, "name": "portal", "identity_provider": {"id": server.idp_id(DEFAULT_IDP)}}));
    let ws = server.connect(
        quiet_ttl(Workspace::new())
            .file("portal.yaml", format!("name: portal\nsupported_grant_types: [authorization_code]\npkce: true\nredirect_uris: [\"https://portal.example.com/cb\"]\nidentity_provider:\n  name: {DEFAULT_IDP}\n"))
            .file("orders.yaml", format!("id: 11111111-1111-4111-8111-111111111111\nname: orders\nauthorize_scope: true\nauthorized_scopes:\n  - name: orders:read\nidentity_provider:\n  name: {DEFAULT_IDP}\n")),
    );
    let (code, text) = markdown(&ws);
    assert_eq!(code, 1, "a conflict is an error");
    let derived = boruta_gitops::kinds::client::manifest::derived_client_id("portal");
    let expected = format!("<!-- boruta-gitops plan -->
### boruta-gitops plan

| create | drift | in sync | unmanaged | system | conflict |
|---:|---:|---:|---:|---:|---:|
| 1 | 0 | 0 | 0 | 3 | 1 |

**Findings**: 1 error(s), 2 warning(s)

| | code | where | message |
|---|---|---|---|
| ⚠️ warning | <code>default-grant-types</code> | <code>manifests/orders.yaml:2</code> | &#96;supported\\_grant\\_types&#96; is not declared: boruta 0.10 gives a new client 12 grant type(s) (client\\_credentials, password, authorization\\_code, agent\\_code, refresh\\_token, implicit, revoke, introspect, id\\_token, vp\\_token, preauthorized\\_code, agent\\_credentials), &#96;password&#96; and &#96;implicit&#96; included, and other versions differ (boruta master: client\\_credentials, authorization\\_code). Declare the grants this client needs |
| ⚠️ warning | <code>unknown-scope</code> | <code>manifests/orders.yaml:5</code> | no scope named &#96;orders:read&#96; on the server: boruta will silently create it as a private scope |
| ❌ error | <code>conflict</code> | <code>manifests/portal.yaml:1</code> | the server already has a client named &#96;portal&#96; with id {PORTAL}, and this manifest's derived id {derived} is absent: pin &#96;id: {PORTAL}&#96; to adopt that client (or rename this one) |

<details><summary><code>+</code> <b>orders</b> (create) <code>11111111-1111-4111-8111-111111111111</code></summary>

<code>manifests/orders.yaml:2</code>

```diff
+ name              = \"orders\"
+ authorize_scope   = true
+ authorized_scopes = [\"orders:read\"]
+ identity_provider = \"Default identity provider\"
```

</details>

<details><summary><code>!</code> <b>portal</b> (conflict) <code>{derived}</code></summary>

<code>manifests/portal.yaml:1</code>

The server already has a client with this name under another id, and this manifest has no `id`: its derived id is absent. To adopt the existing client, pin <code>id: {PORTAL}</code> in the manifest; to make a new one, rename it.

</details>

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 1 conflict(s).
");
    assert_eq!(text, expected);
}

#[test]
fn a_failed_plan() {
    let server = Server::start();
    server
        .sandbox
        .add_fault("GET /api/clients status=403".parse().unwrap());
    let ws = server.connect(Workspace::new().file("api.yaml", manifest(PEM_A)));
    let (code, text) = markdown(&ws);
    assert_eq!(code, 1);
    assert_eq!(text, "<!-- boruta-gitops plan -->
### boruta-gitops plan failed

```text
listing clients (GET /api/clients): boruta answered 403. the token lacks `clients:manage:all` (requested: `clients:manage:all identity-providers:manage:all`): give the client `authorize_scope: true` and it in its `authorized_scopes`
```

No plan is shown: fix what is above and push again; this comment is then replaced by the new plan.
");
    let ws = server.connect(Workspace::new().file("api.yaml", "name: [\n"));
    let (code, text) = markdown(&ws);
    assert_eq!(code, 1);
    assert_eq!(text, "<!-- boruta-gitops plan -->
### boruta-gitops plan failed

```text
the manifests have errors
```

**Findings**: 1 error(s), 0 warning(s)

| | code | where | message |
|---|---|---|---|
| ❌ error | <code>yaml-syntax</code> | <code>manifests/api.yaml:2</code> | invalid YAML: while parsing a node, did not find expected node content |

No plan is shown: fix what is above and push again; this comment is then replaced by the new plan.
");
    // The JSON format says it too, on stdout.
    let out = ws.run(&["plan", "manifests", "--format", "json"]);
    assert_eq!(out.code, 1);
    let json = out.json();
    assert_eq!(json["status"], "failed");
    assert_eq!(json["error"], "the manifests have errors");
    assert_eq!(json["diagnostics"][0]["code"], "yaml-syntax");
}

#[test]
fn three_hundred_creates_fit_in_one_comment() {
    let server = Server::start();
    let mut ws = server.connect(Workspace::new());
    for i in 0..300 {
        ws = ws.file(
            &format!("svc-{i:03}.yaml"),
            format!("id: 00000000-0000-4000-8000-{i:012}\nname: service-{i}\nconfidential: true\nredirect_uris: [\"https://service-{i}.example.com/oauth/callback\", \"https://service-{i}.example.com/oauth/silent-renew\"]\nsupported_grant_types: [authorization_code, refresh_token]\naccess_token_ttl: 900\nidentity_provider:\n  name: {DEFAULT_IDP}\n"),
        );
    }
    let (code, text) = markdown(&ws);
    assert_eq!(code, 0);
    assert!(text.len() < 60_000, "{} characters", text.len());
    assert!(text.starts_with("<!-- boruta-gitops plan -->\n### boruta-gitops plan\n\n| create | drift | in sync | unmanaged | system | conflict |\n|---:|---:|---:|---:|---:|---:|\n| 300 | 0 | 0 | 0 | 3 | 0 |\n\nThe plan is too long for one comment: its 300 client(s) are summarised below, without their fields.\n\n| action | client | id | manifest |\n|---|---|---|---|\n| create | service-0 | <code>00000000-0000-4000-8000-000000000000</code> | <code>manifests/svc-000.yaml:2</code> |\n"), "{}", &text[..1000]);
    assert!(text.ends_with("| create | service-299 | <code>00000000-0000-4000-8000-000000000299</code> | <code>manifests/svc-299.yaml:2</code> |\n\nThe full plan: the JSON plan (<code>plan --format json</code>), which the example workflow uploads as the artifact <code>boruta-gitops-plan</code>.\n\nPlan: 300 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).\n"), "{}", &text[text.len() - 600..]);
    // The JSON plan holds every client with its fields.
    let json = ws.run(&["plan", "manifests", "--format", "json"]).json();
    assert_eq!(json["clients"].as_array().unwrap().len(), 300);
    assert_eq!(json["clients"][299]["fields"][1]["field"], "confidential");
}

#[test]
fn a_comment_too_long_even_as_a_table_says_how_many_are_left_out() {
    let server = Server::start();
    let mut ws = server.connect(quiet_ttl(Workspace::new()));
    for i in 0..700 {
        ws = ws.file(
            &format!("svc-{i:03}.yaml"),
            format!("id: 00000000-0000-4000-8000-{i:012}\nname: a-service-with-a-rather-long-name-number-{i}\nsupported_grant_types: [client_credentials]\nidentity_provider:\n  name: {DEFAULT_IDP}\n"),
        );
    }
    let (code, text) = markdown(&ws);
    assert_eq!(code, 0);
    assert!(text.len() < 60_000, "{} characters", text.len());
    let shown = text.matches("| create | a-service").count();
    assert!(shown < 700, "{shown}");
    assert!(
        text.contains(&format!(
            "\n{} more client(s) left out. The full plan: the JSON plan",
            700 - shown
        )),
        "{}",
        &text[text.len() - 600..]
    );
}
