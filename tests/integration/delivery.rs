//! Secret delivery and rotation end to end (issue #21): the real binary against the sandbox
//! (boruta) and a real OpenBao dev server (the store). `secret_delivery` validated; a
//! create delivers; plan and drift show a missing or outdated delivery and apply writes it
//! without writing to boruta; a store that is down or a token that may not write stops
//! apply before any boruta write; check-and-set keeps a newer version; `rotate` and its
//! two failure points; and no secret or token in any output, saved plan or log.

use crate::openbao::{free_port, runtime, OpenBao};
use crate::support::{
    all_findings, Output, Server, Test, Workspace, BOOTSTRAP_ID, BOOTSTRAP_SECRET, DEFAULT_IDP, IDP,
};
use boruta_gitops::deliver::Location;
use secrecy::ExposeSecret;

/// A confidential client delivering to `path` (mount `secret`), `extra` appended.
fn delivering(name: &str, path: &str, extra: &str) -> String {
    format!(
        "name: {name}\nconfidential: true\nsupported_grant_types: [client_credentials]\naccess_token_ttl: 900\n{IDP}secret_delivery:\n  vault:\n    path: {path}\n{extra}"
    )
}

#[test]
fn secret_delivery_is_validated_at_its_key_and_values() {
    let public = "name: web\nsupported_grant_types: [client_credentials]\naccess_token_ttl: 900\nsecret_delivery:\n  vault: {path: apps/web}\n";
    let ws = Workspace::new()
        .file("a-public.yaml", format!("{public}{IDP}"))
        .file("b-bad-path.yaml", delivering("bad-path", "apps/../sys", ""))
        .file(
            "c-bad-mount.yaml",
            delivering("bad-mount", "apps/x", "    mount: secret/\n"),
        )
        .file("d-first.yaml", delivering("first", "apps/shared", ""))
        .file("e-second.yaml", delivering("second", "apps/shared", ""))
        .file(
            "f-from-env.yaml",
            delivering("from-env", "${env:DELIVERY_PATH}", ""),
        )
        .env("DELIVERY_PATH", "apps/env");
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let found: Vec<_> = all_findings(&out)
        .into_iter()
        .filter(|(code, ..)| {
            !matches!(
                code.as_str(),
                "derived-id" | "secret-auth-preferred-asymmetric"
            )
        })
        .collect();
    let at = |code: &str, file: &str, line: u64, col: u64| {
        (code.to_string(), format!("manifests/{file}"), line, col)
    };
    assert_eq!(
        found,
        [
            at("secret-delivery-not-confidential", "a-public.yaml", 4, 1),
            at("invalid-value", "b-bad-path.yaml", 9, 11),
            at("invalid-value", "c-bad-mount.yaml", 10, 12),
            at("duplicate-delivery-path", "e-second.yaml", 7, 1),
            at("substitution-not-allowed", "f-from-env.yaml", 9, 11),
        ]
    );
    let messages: Vec<String> = out.json()["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "invalid-value" || d["code"] == "duplicate-delivery-path")
        .map(|d| d["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        messages,
        [
            "the secret_delivery path has an empty, `.` or `..` segment",
            "the secret_delivery mount must not start or end with `/`",
            "`secret/apps/shared` is also the secret_delivery of `first` at manifests/d-first.yaml:7:1: each apply would overwrite the other's secret; give each client its own path",
        ]
    );
}

const BILLING_ID: &str = "00000000-0000-4000-8000-0000000d0001";
const SHIPPING_ID: &str = "00000000-0000-4000-8000-0000000d0002";
const PLAIN_ID: &str = "00000000-0000-4000-8000-0000000d0003";
/// The secret the `shipping` manifest declares (from the environment).
const DECLARED: &str = "declared-shipping-secret-5e1a";

/// `billing`: boruta generates its secret; delivered to `secret/apps/billing`.
fn billing() -> String {
    format!(
        "id: {BILLING_ID}\nname: billing\nconfidential: true\nsupported_grant_types: [client_credentials]\naccess_token_ttl: 900\nidentity_provider:\n  name: {DEFAULT_IDP}\nsecret_delivery:\n  vault:\n    path: apps/billing\n"
    )
}

/// `shipping`: its secret is declared in git (`${env:SHIPPING_SECRET}`).
fn shipping() -> String {
    format!(
        "id: {SHIPPING_ID}\nname: shipping\nconfidential: true\nsecret: ${{env:SHIPPING_SECRET}}\nsupported_grant_types: [client_credentials]\naccess_token_ttl: 900\nidentity_provider:\n  name: {DEFAULT_IDP}\nsecret_delivery:\n  vault:\n    path: apps/shipping\n    mount: secret\n"
    )
}

/// `plain`: confidential, no delivery.
fn plain() -> String {
    format!(
        "id: {PLAIN_ID}\nname: plain\nconfidential: true\nsupported_grant_types: [client_credentials]\naccess_token_ttl: 900\nidentity_provider:\n  name: {DEFAULT_IDP}\n"
    )
}

/// The sandbox (boruta) and a real OpenBao (the store).
struct Stack {
    server: Server,
    bao: OpenBao,
}

impl Stack {
    fn start() -> Stack {
        Stack {
            server: Server::start(),
            bao: OpenBao::start(),
        }
    }

    /// `ws` connected to both, the store with `token`.
    fn connect(&self, ws: Workspace, token: &str) -> Workspace {
        self.server
            .connect(ws)
            .env("VAULT_ADDR", &self.bao.address)
            .env("VAULT_TOKEN", token)
            .env("SHIPPING_SECRET", DECLARED)
    }

    /// A workspace of `files`, connected with the root token.
    fn workspace(&self, files: &[(&str, String)]) -> Workspace {
        let ws = files
            .iter()
            .fold(Workspace::new(), |ws, (name, text)| ws.file(name, text));
        self.connect(ws, &self.bao.root_token.clone())
    }

    /// The latest version at `secret/<path>`: (version, client_id, client_secret), the
    /// data `None` when that version is deleted; `None` when never written.
    fn stored(&self, path: &str) -> Option<(u64, Option<(String, String)>)> {
        let location = Location::new("secret", path).unwrap();
        let store = self.bao.client(&self.bao.root_token);
        let current = runtime().block_on(store.read(&location)).unwrap()?;
        let data = current.data.map(|d| {
            (
                d.client_id.unwrap_or_default(),
                d.client_secret
                    .map(|s| s.expose_secret().to_string())
                    .unwrap_or_default(),
            )
        });
        Some((current.version, data))
    }

    /// The secret boruta holds for `id`.
    fn boruta_secret(&self, id: &str) -> String {
        self.server.sandbox.with_state(|s| {
            s.clients[id].fields["secret"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
    }

    /// Every write to boruta's admin API the sandbox received (method, path).
    fn boruta_writes(&self) -> Vec<(String, String)> {
        self.server
            .calls()
            .into_iter()
            .filter(|(m, p)| m != "GET" && p.starts_with("/api/"))
            .collect()
    }

    /// Output with the sandbox's and the store's random ports replaced.
    fn scrub(&self, text: &str) -> String {
        self.server
            .scrub(text)
            .replace(&self.bao.address, "http://STORE")
    }
}

/// The lines of a human plan between its header block and the system clients.
fn changes(stack: &Stack, plan: &Output) -> String {
    let text = stack.scrub(&plan.stdout);
    let start = text.find("\n\n").expect("a header") + 2;
    text[start..]
        .lines()
        .filter(|l| !l.trim_start().starts_with('·'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// What apply printed after the plan.
fn after_plan(stack: &Stack, apply: &Output) -> String {
    let text = stack.scrub(&apply.stdout);
    let start = text.find("conflict(s).\n").expect("a plan") + "conflict(s).\n".len();
    text[start..].to_string()
}

fn ok(out: &Output) {
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

#[test]
fn a_create_delivers_the_generated_and_the_declared_secret() {
    let stack = Stack::start();
    let ws = stack.workspace(&[("billing.yaml", billing()), ("shipping.yaml", shipping())]);
    let plan = ws.run(&["plan", "manifests", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    assert_eq!(
        changes(&stack, &plan),
        format!(
            "  + billing ({BILLING_ID}) will be created  [manifests/billing.yaml:2]
      + name                  = \"billing\"
      + confidential          = true
      + supported_grant_types = [\"client_credentials\"]
      + access_token_ttl      = 900
      + identity_provider     = \"{DEFAULT_IDP}\"
      + secret_delivery       = secret/apps/billing   written after the create
  + shipping ({SHIPPING_ID}) will be created  [manifests/shipping.yaml:2]
      + name                  = \"shipping\"
      + confidential          = true
      + supported_grant_types = [\"client_credentials\"]
      + access_token_ttl      = 900
      + identity_provider     = \"{DEFAULT_IDP}\"
      + secret                = (sensitive)
      + secret_delivery       = secret/apps/shipping   written after the create

Plan: 2 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"
        )
    );
    let apply = ws.run(&[
        "apply",
        "manifests",
        "--auto-approve",
        "--concurrency",
        "1",
        "--secrets-out",
        "created.jsonl",
    ]);
    ok(&apply);
    assert_eq!(
        after_plan(&stack, &apply),
        format!(
            "
Creating 2 client(s), at most 1 at a time:
  + billing ({BILLING_ID}) created; secret delivered to secret/apps/billing (version 1)
  + shipping ({SHIPPING_ID}) created; secret delivered to secret/apps/shipping (version 1)
secrets of the created clients written to created.jsonl (mode 0600)

Apply: 2 created, 0 already present, 0 failed, 0 not attempted, 2 secret(s) delivered.
"
        )
    );
    // `secret_delivery` is boruta-gitops's own key: never sent to boruta.
    let posted: Vec<String> = stack
        .server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/api/clients")
        .map(|r| r.body)
        .collect();
    assert_eq!(posted.len(), 2);
    for body in &posted {
        assert!(
            !body.contains("secret_delivery") && !body.contains("apps/"),
            "{body}"
        );
    }
    let generated = stack.boruta_secret(BILLING_ID);
    assert_eq!(generated.len(), 86);
    assert_eq!(
        stack.stored("apps/billing"),
        Some((1, Some((BILLING_ID.to_string(), generated.clone()))))
    );
    assert_eq!(
        stack.stored("apps/shipping"),
        Some((1, Some((SHIPPING_ID.to_string(), DECLARED.to_string()))))
    );
    // The token endpoint is delivered with them.
    let kv = stack.bao.bao(
        &["kv", "get", "-format=json", "-mount=secret", "apps/billing"],
        None,
    );
    let kv: serde_json::Value = serde_json::from_str(&kv).unwrap();
    assert_eq!(
        kv["data"]["data"]["token_endpoint"],
        stack.server.sandbox.token_url()
    );
    // --secrets-out keeps working.
    let lines = std::fs::read_to_string(ws.path().join("created.jsonl")).unwrap();
    assert!(lines.contains(&generated), "{lines}");
    let again = ws.run(&["plan", "manifests", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
}

#[test]
fn a_deleted_delivery_is_shown_in_every_format_and_redelivered_without_a_boruta_write() {
    let stack = Stack::start();
    let ws = stack.workspace(&[("billing.yaml", billing())]);
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    // Someone deletes the latest version: nothing to read, version 1 still the `cas`.
    stack
        .bao
        .bao(&["kv", "delete", "-mount=secret", "apps/billing"], None);
    assert_eq!(stack.stored("apps/billing"), Some((1, None)));

    let plan = ws.run(&[
        "plan",
        "manifests",
        "--detailed-exitcode",
        "--out",
        "saved.json",
    ]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    assert_eq!(
        changes(&stack, &plan),
        format!("  + billing ({BILLING_ID}) will have its secret delivered  [manifests/billing.yaml:2]
      + secret_delivery = secret/apps/billing   not delivered yet (the path holds no secret): apply writes it

Plan: 0 to create, 1 to deliver, 0 drifted, 1 in sync, 0 unmanaged (3 system), 0 conflict(s).
")
    );
    let json = ws.run(&["plan", "manifests", "--format", "json"]).json();
    assert_eq!(
        json["clients"][0]["delivery"],
        serde_json::json!({
            "mount": "secret",
            "path": "apps/billing",
            "state": "missing",
            "detail": "not delivered yet (the path holds no secret)"
        })
    );
    assert_eq!(json["clients"][0]["action"], "in-sync");
    assert_eq!(json["summary"]["deliver"], 1);
    let markdown = ws.run(&["plan", "manifests", "--format", "markdown"]);
    let markdown = stack.scrub(&markdown.stdout);
    let section = format!("<details><summary><code>+</code> <b>billing</b> (deliver) <code>{BILLING_ID}</code></summary>\n\n<code>manifests/billing.yaml:2</code>\n\n```diff\n+ secret_delivery = secret/apps/billing   not delivered yet (the path holds no secret): apply writes it\n```\n\n</details>\n");
    assert!(markdown.contains(&section), "{markdown}");
    assert!(
        markdown.contains("| create | deliver | drift | in sync | unmanaged | system | conflict |\n|---:|---:|---:|---:|---:|---:|---:|\n| 0 | 1 | 0 | 1 | 0 | 3 | 0 |\n"),
        "{markdown}"
    );
    let drift = ws.run(&["drift", "manifests"]);
    assert_eq!(drift.code, 2, "{}", drift.stderr);
    assert_eq!(
        changes(&stack, &drift),
        format!("  + billing ({BILLING_ID}) is in sync, but its secret is not delivered as declared  [manifests/billing.yaml:2]
      + secret_delivery = secret/apps/billing   not delivered yet (the path holds no secret): apply writes it

Drift: 0 to create, 1 to deliver, 0 drifted, 1 in sync, 0 unmanaged (3 system), 0 conflict(s).
")
    );

    // The saved plan is the approval; apply writes the delivery and nothing to boruta.
    stack.server.sandbox.clear_requests();
    let apply = ws.run(&["apply", "--plan", "saved.json"]);
    ok(&apply);
    assert_eq!(
        after_plan(&stack, &apply),
        format!(
            "
Delivering the secret of 1 client(s), at most 8 at a time:
  + billing ({BILLING_ID}) secret delivered to secret/apps/billing (version 2)

Apply: 0 created, 0 already present, 0 failed, 0 not attempted, 1 secret(s) delivered.
"
        )
    );
    assert_eq!(stack.boruta_writes(), Vec::<(String, String)>::new());
    let secret = stack.boruta_secret(BILLING_ID);
    assert_eq!(
        stack.stored("apps/billing"),
        Some((2, Some((BILLING_ID.to_string(), secret))))
    );
    let again = ws.run(&["drift", "manifests"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
}

#[test]
fn an_outdated_delivery_is_rewritten_with_the_server_secret() {
    let stack = Stack::start();
    let ws = stack.workspace(&[("billing.yaml", billing())]);
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    stack.bao.bao(
        &[
            "kv",
            "put",
            "-mount=secret",
            "apps/billing",
            &format!("client_id={BILLING_ID}"),
            "client_secret=an-old-secret",
        ],
        None,
    );
    let plan = ws.run(&["plan", "manifests", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    assert_eq!(
        changes(&stack, &plan),
        format!("  + billing ({BILLING_ID}) will have its secret delivered  [manifests/billing.yaml:2]
      + secret_delivery = secret/apps/billing   outdated (the path holds another secret than the server's): apply writes it

Plan: 0 to create, 1 to deliver, 0 drifted, 1 in sync, 0 unmanaged (3 system), 0 conflict(s).
")
    );
    stack.server.sandbox.clear_requests();
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    assert_eq!(stack.boruta_writes(), Vec::<(String, String)>::new());
    let secret = stack.boruta_secret(BILLING_ID);
    assert_eq!(
        stack.stored("apps/billing"),
        Some((3, Some((BILLING_ID.to_string(), secret))))
    );
}

#[test]
fn a_store_that_is_down_fails_plan_and_stops_apply_before_any_boruta_write() {
    let server = Server::start();
    let ws = server
        .connect(Workspace::new().file("billing.yaml", billing()))
        .env("VAULT_ADDR", &format!("http://127.0.0.1:{}", free_port()))
        .env("VAULT_TOKEN", "a-token-for-a-store-that-is-down");
    let plan = ws.run(&["plan", "manifests", "--format", "json"]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    // apply refuses the create: the plan says it is blocked, and why.
    let document = plan.json();
    let client = &document["clients"][0];
    assert_eq!(
        (
            &client["action"],
            &client["blocked"],
            &client["delivery"]["state"]
        ),
        (
            &serde_json::json!("blocked"),
            &serde_json::json!("create"),
            &serde_json::json!("unreadable")
        )
    );
    assert_eq!(
        (
            &document["summary"]["create"],
            &document["summary"]["blocked"]
        ),
        (&serde_json::json!(0), &serde_json::json!(1))
    );
    Test::new(&ws)
        .args(&["apply", "manifests", "--auto-approve"])
        .sandbox(&server)
        .redact(ws_var(&ws, "VAULT_ADDR"), "[STORE]")
        .redact_between("retrying in ", " ms", "[MS]")
        .status(1)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ! billing (00000000-0000-4000-8000-0000000d0001) is blocked: it cannot be created as declared (see the errors)  [manifests/billing.yaml:2]
      ! secret_delivery = secret/apps/billing   cannot be checked: checking the mount `secret` (GET /v1/sys/internal/ui/mounts/secret): the secret store at [STORE] did not answer: could not connect (after 3 attempt(s)). Is the store running, and is VAULT_ADDR its address?
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 1 blocked, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning: checking the mount `secret` (GET /v1/sys/internal/ui/mounts/secret): could not connect; retrying in [MS] ms (attempt 2 of 3)
warning: checking the mount `secret` (GET /v1/sys/internal/ui/mounts/secret): could not connect; retrying in [MS] ms (attempt 3 of 3)
error[delivery-unreadable]: the secret delivery of `billing` to secret/apps/billing cannot be checked: checking the mount `secret` (GET /v1/sys/internal/ui/mounts/secret): the secret store at [STORE] did not answer: could not connect (after 3 attempt(s)). Is the store running, and is VAULT_ADDR its address?
  --> manifests/billing.yaml:8:1
  |
8 | secret_delivery:
  | ^^^^^^^^^^^^^^^

1 error(s), 0 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
error: the plan has errors (see above): nothing was changed
")
        .run();
    assert!(server.ids_named("billing").is_empty());
    assert_eq!(server.count("POST", "/api/clients"), 0);
    // Without VAULT_ADDR, the same: plan says what to set.
    let unset = server.connect(Workspace::new().file("billing.yaml", billing()));
    // What stderr says of the unreadable store, in every format.
    let unreadable = r"error[delivery-unreadable]: the secret delivery of `billing` to secret/apps/billing cannot be checked: VAULT_ADDR is not set: set it to the secret store's address (https://vault.example.com:8200) to deliver client secrets
  --> manifests/billing.yaml:8:1
  |
8 | secret_delivery:
  | ^^^^^^^^^^^^^^^

1 error(s), 0 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
";
    Test::new(&unset)
        .args(&["drift", "manifests"])
        .sandbox(&server)
        .status(1)
        .stdout(r#"boruta-gitops drift check against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ! billing (00000000-0000-4000-8000-0000000d0001) is blocked: it cannot be created as declared (see the errors)  [manifests/billing.yaml:2]
      ! secret_delivery = secret/apps/billing   cannot be checked: VAULT_ADDR is not set: set it to the secret store's address (https://vault.example.com:8200) to deliver client secrets
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Drift: 0 to create, 1 blocked, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(unreadable)
        .run();
    // A pull request's comment says it too.
    Test::new(&unset)
        .args(&["plan", "manifests", "--format", "markdown"])
        .sandbox(&server)
        .status(1)
        // (the markdown keeps a URL from becoming a link with a zero-width joiner)
        .stdout(format!(r#"<!-- boruta-gitops plan -->
### boruta-gitops plan

| create | blocked | drift | in sync | unmanaged | system | conflict |
|---:|---:|---:|---:|---:|---:|---:|
| 0 | 1 | 0 | 0 | 0 | 3 | 0 |

**Findings**: 1 error(s), 0 warning(s)

| | code | where | message |
|---|---|---|---|
| ❌ error | <code>delivery-unreadable</code> | <code>manifests/billing.yaml:8</code> | the secret delivery of &#96;billing&#96; to secret/apps/billing cannot be checked: VAULT\_ADDR is not set: set it to the secret store's address (https:{zwj}//vault.example.com:8200) to deliver client secrets |

<details><summary><code>!</code> <b>billing</b> (blocked) <code>00000000-0000-4000-8000-0000000d0001</code></summary>

<code>manifests/billing.yaml:2</code>

```diff
! secret_delivery = secret/apps/billing   cannot be checked: VAULT_ADDR is not set: set it to the secret store's address (https://vault.example.com:8200) to deliver client secrets
```

</details>

Plan: 0 to create, 1 blocked, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#, zwj = '\u{200d}'))
        .stderr(unreadable)
        .run();
    // An existing client to update: the update is blocked too (apply refuses it), its
    // changes and the delivery's reason shown.
    server.create(serde_json::json!({
        "id": BILLING_ID, "name": "billing", "confidential": true,
        "supported_grant_types": ["client_credentials", "refresh_token"], "access_token_ttl": 900,
        "identity_provider": {"id": server.idp_id(DEFAULT_IDP)}
    }));
    Test::new(&unset)
        .args(&["plan", "manifests", "--update"])
        .sandbox(&server)
        .status(1)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ! billing (00000000-0000-4000-8000-0000000d0001) is blocked: it cannot be updated as declared (see the errors)  [manifests/billing.yaml:2]
      ~ supported_grant_types:
          - "refresh_token"
      ! secret_delivery       = secret/apps/billing   cannot be checked: VAULT_ADDR is not set: set it to the secret store's address (https://vault.example.com:8200) to deliver client secrets
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 0 to create, 0 to update, 0 to re-send, 1 blocked, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(unreadable)
        .run();
}

/// The value `ws` sets for `name` (for a message that quotes it).
fn ws_var(ws: &Workspace, name: &str) -> String {
    let cmd = ws.command(&[]);
    cmd.get_envs()
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v)
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap()
}

#[test]
fn a_token_that_may_not_write_stops_apply_naming_the_path_and_creates_nothing() {
    let stack = Stack::start();
    let read_only = stack.bao.token_with_policy(
        "read-only",
        "path \"secret/data/*\" { capabilities = [\"read\"] }\n",
    );
    let ws = stack.connect(Workspace::new().file("billing.yaml", billing()), &read_only);
    // plan only reads: a read-only token is enough for it.
    let plan = ws.run(&["plan", "manifests", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    let apply = ws.run(&["apply", "manifests", "--auto-approve"]);
    assert_eq!(apply.code, 1, "{}", apply.stdout);
    assert_eq!(
        stack.scrub(&apply.stderr),
        "error: the secret store at http://STORE would refuse 1 delivery write(s):
  - VAULT_TOKEN may not write secret/apps/billing: grant `create` on `secret/data/apps/billing` in the token's policy (it has: read)
nothing was changed: a secret that cannot be delivered must not be created or changed
"
    );
    assert!(stack.server.ids_named("billing").is_empty());
    assert_eq!(stack.boruta_writes(), Vec::<(String, String)>::new());
    assert_eq!(stack.stored("apps/billing"), None);
}

/// A token its capabilities say may write `secret/data/apps/*`, whose writes the store
/// refuses all the same (a policy that denies the `data` parameter).
fn writes_refused(bao: &OpenBao) -> String {
    bao.token_with_policy(
        "refused",
        "path \"secret/data/apps/*\" {\n  capabilities = [\"create\", \"read\", \"update\"]\n  denied_parameters = { \"data\" = [] }\n}\n",
    )
}

#[test]
fn a_delivery_that_fails_after_a_create_exits_1_and_the_next_apply_delivers_it() {
    let stack = Stack::start();
    let refused = writes_refused(&stack.bao);
    let ws = stack.connect(Workspace::new().file("billing.yaml", billing()), &refused);
    let apply = ws.run(&["apply", "manifests", "--auto-approve"]);
    assert_eq!(apply.code, 1, "{}", apply.stderr);
    assert_eq!(
        after_plan(&stack, &apply),
        format!("
Creating 1 client(s), at most 8 at a time:
  ✗ billing ({BILLING_ID}) created; its secret was NOT delivered to secret/apps/billing: writing secret/apps/billing (POST /v1/secret/data/apps/billing): the secret store at http://STORE answered 403: \"1 error occurred: * permission denied\". VAULT_TOKEN is unknown or expired, or its policies do not grant `create` on `secret/data/apps/billing`. boruta keeps it readable: the next apply delivers it
boruta generated the secret of 1 client(s). It is not printed: read it with GET /api/clients/<id> (scope clients:manage:all), or run apply with --secrets-out FILE next time.

Apply: 1 created, 0 already present, 0 failed, 0 not attempted, 0 secret(s) delivered, 1 not delivered.
Nothing reported as done is undone. Fix the failures and run apply again: it converges.
")
    );
    assert_eq!(stack.server.ids_named("billing"), [BILLING_ID]);
    // With a token that may write, the next apply delivers it, without a boruta write.
    let ws = stack.connect(
        Workspace::new().file("billing.yaml", billing()),
        &stack.bao.root_token.clone(),
    );
    stack.server.sandbox.clear_requests();
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    assert_eq!(stack.boruta_writes(), Vec::<(String, String)>::new());
    let secret = stack.boruta_secret(BILLING_ID);
    assert_eq!(
        stack.stored("apps/billing"),
        Some((1, Some((BILLING_ID.to_string(), secret))))
    );
}

#[test]
fn check_and_set_never_replaces_a_version_written_during_apply() {
    let stack = Stack::start();
    let ws = stack.workspace(&[("billing.yaml", billing())]);
    // The create is slow: another writer gets to the path between the plan and the write.
    stack
        .server
        .sandbox
        .add_fault("POST /api/clients delay-ms=1500".parse().unwrap());
    let root = stack.bao.root_token.clone();
    let apply = stack
        .server
        .command(&ws, &["apply", "manifests", "--auto-approve"])
        .env("VAULT_ADDR", &stack.bao.address)
        .env("VAULT_TOKEN", &root)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::support::wait_until(std::time::Duration::from_secs(20), "the create", || {
        stack.server.count("POST", "/api/clients") > 0
    });
    stack.bao.bao(
        &[
            "kv",
            "put",
            "-mount=secret",
            "apps/billing",
            "client_id=written-by-another-run",
            "client_secret=newer",
        ],
        None,
    );
    let out = apply.wait_with_output().unwrap();
    let stdout = stack.scrub(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let line = format!("  ✗ billing ({BILLING_ID}) created; its secret was NOT delivered to secret/apps/billing: writing secret/apps/billing to the secret store at http://STORE: refused by check-and-set: its latest version is no longer 0 (0: none), another writer got there first. Run again: the newer version is read and compared first. boruta keeps it readable: the next apply delivers it\n");
    assert!(stdout.contains(&line), "{stdout}");
    // The newer version stays the latest.
    assert_eq!(
        stack.stored("apps/billing"),
        Some((
            1,
            Some(("written-by-another-run".to_string(), "newer".to_string()))
        ))
    );
}

#[test]
fn rotate_writes_the_store_first_and_a_failed_patch_is_repaired_by_a_rerun() {
    let stack = Stack::start();
    let ws = stack.workspace(&[("billing.yaml", billing())]);
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    let first = stack.boruta_secret(BILLING_ID);
    // boruta fails the PATCH once: the store already holds the new secret.
    stack.server.sandbox.add_fault(
        format!("PATCH /api/clients/{BILLING_ID} nth=1 status=500")
            .parse()
            .unwrap(),
    );
    let rotate = ws.run(&[
        "rotate",
        "manifests",
        "--select",
        "billing",
        "--auto-approve",
    ]);
    assert_eq!(rotate.code, 1, "{}", rotate.stderr);
    let text = stack.scrub(&rotate.stdout);
    assert!(text.starts_with(&format!("boruta-gitops rotate against http://SANDBOX
secret store: http://STORE

  ~ billing ({BILLING_ID}) new secret: written to secret/apps/billing first, then sent to boruta  [manifests/billing.yaml:2]

  ✗ billing ({BILLING_ID}) half rotated: secret/apps/billing version 2 holds a new secret, but boruta did not take it (updating client `billing` ({BILLING_ID}): ")), "{text}");
    assert!(text.ends_with("Applications reading it fail to authenticate until this is repaired: run rotate again (a new secret), or apply (writes boruta's current secret back)

Rotate: 0 rotated, 1 failed, 0 not attempted.
"), "{text}");
    assert_eq!(stack.boruta_secret(BILLING_ID), first);
    let (version, data) = stack.stored("apps/billing").unwrap();
    let half = data.unwrap().1;
    assert_eq!((version, half.len()), (2, 86));
    assert_ne!(half, first);
    // plan shows the mismatch until it is repaired.
    let plan = ws.run(&["plan", "manifests", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    assert_eq!(
        changes(&stack, &plan),
        format!("  + billing ({BILLING_ID}) will have its secret delivered  [manifests/billing.yaml:2]
      + secret_delivery = secret/apps/billing   outdated (the path holds another secret than the server's): apply writes it

Plan: 0 to create, 1 to deliver, 0 drifted, 1 in sync, 0 unmanaged (3 system), 0 conflict(s).
")
    );
    // A re-run repairs it: a newer secret in the store (version 3), then in boruta.
    let again = ws.run(&[
        "rotate",
        "manifests",
        "--select",
        "billing",
        "--auto-approve",
    ]);
    ok(&again);
    assert!(
        stack.scrub(&again.stdout).ends_with(&format!("
  ~ billing ({BILLING_ID}) rotated: the new secret is secret/apps/billing version 3, and boruta holds it

Rotate: 1 rotated, 0 failed, 0 not attempted.
")),
        "{}",
        again.stdout
    );
    let now = stack.boruta_secret(BILLING_ID);
    assert!(now != first && now != half);
    assert_eq!(
        stack.stored("apps/billing"),
        Some((3, Some((BILLING_ID.to_string(), now))))
    );
    let plan = ws.run(&["plan", "manifests", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
}

#[test]
fn rotate_leaves_boruta_untouched_when_the_store_refuses_the_new_secret() {
    let stack = Stack::start();
    ok(&stack.workspace(&[("billing.yaml", billing())]).run(&[
        "apply",
        "manifests",
        "--auto-approve",
    ]));
    let first = stack.boruta_secret(BILLING_ID);
    // A token whose policy does not grant `update`: refused before anything is written.
    let read_only = stack.bao.token_with_policy(
        "read-only",
        "path \"secret/data/*\" { capabilities = [\"read\"] }\n",
    );
    let ws = stack.connect(Workspace::new().file("billing.yaml", billing()), &read_only);
    stack.server.sandbox.clear_requests();
    let rotate = ws.run(&[
        "rotate",
        "manifests",
        "--select",
        "billing",
        "--auto-approve",
    ]);
    assert_eq!(rotate.code, 1, "{}", rotate.stdout);
    assert_eq!(
        stack.scrub(&rotate.stderr),
        "error: nothing was rotated:
  - the secret store at http://STORE would refuse 1 delivery write(s):
    - VAULT_TOKEN may not write secret/apps/billing: grant `update` on `secret/data/apps/billing` in the token's policy (it has: read)
"
    );
    assert_eq!(stack.boruta_writes(), Vec::<(String, String)>::new());
    assert_eq!(
        stack.stored("apps/billing"),
        Some((1, Some((BILLING_ID.to_string(), first.clone()))))
    );
    let refused = writes_refused(&stack.bao);
    let ws = stack.connect(Workspace::new().file("billing.yaml", billing()), &refused);
    stack.server.sandbox.clear_requests();
    let rotate = ws.run(&[
        "rotate",
        "manifests",
        "--select",
        "billing",
        "--auto-approve",
    ]);
    assert_eq!(rotate.code, 1, "{}", rotate.stderr);
    assert!(stack.scrub(&rotate.stdout).ends_with(&format!("
  ✗ billing ({BILLING_ID}) not rotated: the secret store refused the new secret (writing secret/apps/billing (POST /v1/secret/data/apps/billing): the secret store at http://STORE answered 403: \"1 error occurred: * permission denied\". VAULT_TOKEN is unknown or expired, or its policies do not grant `update` on `secret/data/apps/billing`); nothing changed, boruta keeps the current one

Rotate: 0 rotated, 1 failed, 0 not attempted.
")), "{}", rotate.stdout);
    assert_eq!(stack.boruta_writes(), Vec::<(String, String)>::new());
    assert_eq!(stack.boruta_secret(BILLING_ID), first);
    assert_eq!(
        stack.stored("apps/billing"),
        Some((1, Some((BILLING_ID.to_string(), first))))
    );
}

#[test]
fn rotate_refuses_a_secret_declared_in_git_and_a_client_without_delivery() {
    let stack = Stack::start();
    let ws = stack.workspace(&[("shipping.yaml", shipping()), ("plain.yaml", plain())]);
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    stack.server.sandbox.clear_requests();
    let rotate = ws.run(&[
        "rotate",
        "manifests",
        "--select",
        "shipping",
        "--select",
        "plain",
        "--auto-approve",
    ]);
    assert_eq!(rotate.code, 1, "{}", rotate.stdout);
    assert_eq!(
        rotate.stderr,
        format!("error: nothing was rotated:
  - `plain` ({PLAIN_ID}): it declares no `secret_delivery`: a new secret would reach no application (declare one, then rotate)
  - `shipping` ({SHIPPING_ID}): its secret is declared in git (`secret:`), so it is git's to change: change the value it reads and run apply --update
")
    );
    assert_eq!(stack.boruta_writes(), Vec::<(String, String)>::new());
    assert_eq!(
        stack.stored("apps/shipping"),
        Some((1, Some((SHIPPING_ID.to_string(), DECLARED.to_string()))))
    );
    // Without --auto-approve and without a terminal, nothing happens either.
    let billing_ws = stack.workspace(&[("billing.yaml", billing())]);
    ok(&billing_ws.run(&["apply", "manifests", "--auto-approve"]));
    let unapproved = billing_ws.run(&["rotate", "manifests", "--select", "billing"]);
    assert_eq!(unapproved.code, 1);
    assert_eq!(
        unapproved.stderr,
        "error: refusing to rotate without confirmation: stdin is not a terminal. Pass --auto-approve: nothing was changed\n"
    );
}

#[test]
fn no_secret_and_no_vault_token_in_any_output_saved_plan_or_log() {
    let stack = Stack::start();
    let ws = stack
        .workspace(&[("billing.yaml", billing()), ("shipping.yaml", shipping())])
        .env("RUST_LOG", "trace");
    let mut outputs: Vec<(String, Output)> = Vec::new();
    let mut run = |label: &str, args: &[&str]| {
        let out = ws.run(args);
        assert!(out.code <= 2, "{label}: {}\n{}", out.stdout, out.stderr);
        outputs.push((label.to_string(), out));
    };
    run(
        "validate sarif",
        &["validate", "manifests", "--format", "sarif"],
    );
    run("plan", &["plan", "manifests", "--out", "saved.json"]);
    run("plan json", &["plan", "manifests", "--format", "json"]);
    run(
        "plan markdown",
        &["plan", "manifests", "--format", "markdown"],
    );
    run(
        "apply",
        &["apply", "--plan", "saved.json", "--format", "json"],
    );
    let created = stack.boruta_secret(BILLING_ID);
    stack
        .bao
        .bao(&["kv", "delete", "-mount=secret", "apps/billing"], None);
    run("drift", &["drift", "manifests", "--format", "json"]);
    run("plan again", &["plan", "manifests", "--out", "again.json"]);
    run("re-deliver", &["apply", "manifests", "--auto-approve"]);
    run(
        "rotate",
        &[
            "rotate",
            "manifests",
            "--select",
            "billing",
            "--auto-approve",
        ],
    );
    let rotated = stack.boruta_secret(BILLING_ID);
    assert_ne!(created, rotated);
    assert_eq!(
        stack.stored("apps/billing"),
        Some((3, Some((BILLING_ID.to_string(), rotated.clone()))))
    );
    // The store's traffic is in the log (and the secrets are not).
    let rotate_log = &outputs.last().unwrap().1.stderr;
    assert!(rotate_log.contains("secret store answered"), "{rotate_log}");
    let saved =
        ["saved.json", "again.json"].map(|f| std::fs::read_to_string(ws.path().join(f)).unwrap());
    let secrets = [
        ("the declared secret", DECLARED),
        ("the generated secret", created.as_str()),
        ("the rotated secret", rotated.as_str()),
        ("VAULT_TOKEN", stack.bao.root_token.as_str()),
    ];
    for (label, out) in &outputs {
        // validate is offline: it logs nothing; every other command talks to both.
        let logged = label.starts_with("validate") || out.stderr.contains("TRACE");
        assert!(logged, "{label}: not at trace level");
        for (what, value) in secrets {
            assert!(!out.stdout.contains(value), "{label}: {what} on stdout");
            assert!(!out.stderr.contains(value), "{label}: {what} on stderr");
        }
    }
    for text in &saved {
        for (what, value) in secrets {
            assert!(!text.contains(value), "{what} in a saved plan");
        }
    }
}

#[test]
fn an_update_that_changes_a_declared_secret_delivers_the_new_one() {
    let stack = Stack::start();
    let ws = stack.workspace(&[("shipping.yaml", shipping())]);
    ok(&ws.run(&["apply", "manifests", "--auto-approve"]));
    let ws = ws.env("SHIPPING_SECRET", "a-new-declared-secret-77c0");
    // Without --update boruta keeps its secret, and so does the store: only drift.
    let plan = ws.run(&["plan", "manifests"]);
    ok(&plan);
    assert_eq!(
        changes(&stack, &plan),
        format!("  ~ shipping ({SHIPPING_ID}) has drifted (apply --update would correct it)  [manifests/shipping.yaml:2]
      ~ secret          = (sensitive) changed
      = secret_delivery = secret/apps/shipping   delivered

Plan: 0 to create, 1 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
")
    );
    // With it, the store is compared with the secret the update sends.
    let update = ws.run(&["plan", "manifests", "--update"]);
    ok(&update);
    assert_eq!(
        changes(&stack, &update),
        format!("  ~ shipping ({SHIPPING_ID}) will be updated  [manifests/shipping.yaml:2]
      ~ secret          = (sensitive) will change
      + secret_delivery = secret/apps/shipping   outdated (the path holds another secret than the server's): apply writes it

Plan: 0 to create, 1 to update, 0 to re-send, 1 to deliver, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
")
    );
    let apply = ws.run(&["apply", "manifests", "--update", "--auto-approve"]);
    ok(&apply);
    assert_eq!(
        after_plan(&stack, &apply),
        format!(
            "
Updating 1 client(s), at most 8 at a time:
  ~ shipping ({SHIPPING_ID}) updated; secret delivered to secret/apps/shipping (version 2)

Apply: 0 created, 1 updated, 0 already present, 0 failed, 0 not attempted, 1 secret(s) delivered.
"
        )
    );
    assert_eq!(
        stack.boruta_secret(SHIPPING_ID),
        "a-new-declared-secret-77c0"
    );
    assert_eq!(
        stack.stored("apps/shipping"),
        Some((
            2,
            Some((
                SHIPPING_ID.to_string(),
                "a-new-declared-secret-77c0".to_string()
            ))
        ))
    );
}

/// An environment file for `server` whose `stage` variable is `stage`.
fn stage_environment(server: &Server, stage: &str) -> String {
    format!(
        "admin_url: {}\ntoken_url: {}\ncredentials:\n  client_id: {BOOTSTRAP_ID}\n  client_secret: ${{env:STAGE_SECRET}}\nvars:\n  stage: {stage}\n",
        server.sandbox.base_url(),
        server.sandbox.token_url()
    )
}

#[test]
fn each_environment_delivers_to_its_own_path_and_rotates_there() {
    let (staging, production) = (Server::start(), Server::start());
    let bao = OpenBao::start();
    let manifest = billing().replace("path: apps/billing", "path: apps/${var:stage}/billing");
    let ws = Workspace::new()
        .file("billing.yaml", manifest)
        .at(
            "environments/staging.yaml",
            stage_environment(&staging, "staging"),
        )
        .at(
            "environments/production.yaml",
            stage_environment(&production, "production"),
        )
        .env("STAGE_SECRET", BOOTSTRAP_SECRET)
        .env("VAULT_ADDR", &bao.address)
        .env("VAULT_TOKEN", &bao.root_token);
    ok(&ws.run(&["validate", "--all-envs"]));
    let plan = ws.run(&["plan", "--all-envs", "--format", "json"]);
    ok(&plan);
    let plan = plan.json();
    for stage in ["production", "staging"] {
        assert_eq!(
            plan[stage]["clients"][0]["delivery"],
            serde_json::json!({"mount": "secret", "path": format!("apps/{stage}/billing"), "state": "with-create"}),
            "{stage}"
        );
    }
    let stored = |path: &str| {
        let location = Location::new("secret", path).unwrap();
        let current = runtime()
            .block_on(bao.client(&bao.root_token).read(&location))
            .unwrap();
        current.map(|c| {
            let data = c.data.unwrap();
            (
                c.version,
                data.client_secret.unwrap().expose_secret().to_string(),
            )
        })
    };
    let held = |server: &Server| {
        server.sandbox.with_state(|s| {
            s.clients[BILLING_ID].fields["secret"]
                .as_str()
                .unwrap()
                .to_string()
        })
    };
    ok(&ws.run(&["apply", "--env", "staging", "--auto-approve"]));
    assert_eq!(stored("apps/staging/billing"), Some((1, held(&staging))));
    assert_eq!(stored("apps/production/billing"), None);
    assert!(production.ids_named("billing").is_empty());

    let rotate = ws.run(&[
        "rotate",
        "--env",
        "staging",
        "--select",
        "billing",
        "--auto-approve",
    ]);
    ok(&rotate);
    assert_eq!(stored("apps/staging/billing"), Some((2, held(&staging))));
    ok(&ws.run(&["apply", "--env", "production", "--auto-approve"]));
    assert_eq!(
        stored("apps/production/billing"),
        Some((1, held(&production)))
    );
    assert_ne!(held(&production), held(&staging));
    let settled = ws.run(&["plan", "--all-envs", "--detailed-exitcode"]);
    assert_eq!(settled.code, 0, "{}\n{}", settled.stdout, settled.stderr);
}

/// The note every generated `billing` gets (it authenticates with a secret only).
const NOTE: &str = "note[secret-auth-preferred-asymmetric]: this confidential client authenticates with a shared secret only: prefer private_key_jwt (RFC 9700 §2.5)
  --> manifests/billing.yaml:2:7
  |
2 | name: billing
  |       ^^^^^^^

";

/// An offline environment file with the `stage` variable (validate needs no server).
fn offline_environment(stage: &str) -> String {
    format!("vars:\n  stage: {stage}\n")
}

#[test]
fn a_path_several_environments_deliver_to_is_a_warning_at_its_key() {
    let ws = Workspace::new()
        .file("billing.yaml", billing())
        .at("environments/staging.yaml", offline_environment("staging"))
        .at(
            "environments/production.yaml",
            offline_environment("production"),
        );
    Test::new(&ws)
        .args(&["validate", "--all-envs"])
        .stdout(format!("{NOTE}warning[delivery-path-in-several-environments]: `secret/apps/billing` receives the secret of `billing` in environments `production` and `staging`: where these environments share a secret store, each one's apply overwrites another's secret; give each environment its own path (`${{var:..}}` in `path`)
  --> manifests/billing.yaml:8:1
  |
8 | secret_delivery:
  | ^^^^^^^^^^^^^^^

0 error(s), 1 warning(s), 1 note(s) in 1 client(s) from 1 file(s)
"))
        .run();
    // A path of its own per environment: nothing to say.
    let own = billing().replace("path: apps/billing", "path: apps/${var:stage}/billing");
    let ws = ws.file("billing.yaml", own);
    Test::new(&ws)
        .args(&["validate", "--all-envs"])
        .stdout(format!(
            "{NOTE}0 error(s), 0 warning(s), 1 note(s) in 1 client(s) from 1 file(s)\n"
        ))
        .run();
}
