//! Environments (issue #22): one manifest set, a staging and a production sandbox, each
//! with its own credentials; `${var:..}` rendered per environment, checked offline for
//! every environment, planned for all of them in one document, applied to one, and a
//! saved plan kept to the environment it was made for.

use crate::support::{Output, Server, Test, Workspace, BOOTSTRAP_ID, BOOTSTRAP_SECRET};
use boruta_gitops::sandbox::{Config, Sandbox};

const WEB_ID: &str = "5d1c9e8a-3b2f-4a6d-8c7e-9f0a1b2c3d4e";
const PRODUCTION_CLIENT: &str = "00000000-b007-4000-8000-0000000000aa";
const PRODUCTION_SECRET: &str = "production-bootstrap-secret";

/// A web client whose redirect URI and TTL come from the environment.
const WEB: &str = "id: 5d1c9e8a-3b2f-4a6d-8c7e-9f0a1b2c3d4e
name: web
identity_provider: {name: Default identity provider}
supported_grant_types: [authorization_code, refresh_token]
pkce: true
redirect_uris: [\"https://${var:domain}/callback\"]
access_token_ttl: ${var:web_ttl}
";

/// The production sandbox: its own bootstrap client, which staging's credentials are not.
fn production_server() -> Server {
    let config = Config {
        bootstrap_client_id: Some(PRODUCTION_CLIENT.into()),
        bootstrap_client_secret: Some(PRODUCTION_SECRET.into()),
        ..Config::default()
    };
    Server {
        sandbox: Sandbox::start(config).expect("sandbox"),
    }
}

fn environment(server: &Server, client_id: &str, secret_variable: &str, vars: &str) -> String {
    format!(
        "admin_url: {}\ntoken_url: {}\ncredentials:\n  client_id: {client_id}\n  client_secret: ${{env:{secret_variable}}}\nvars:\n{vars}",
        server.sandbox.base_url(),
        server.sandbox.token_url()
    )
}

/// A workspace with the web manifest and both environments (their secrets in the
/// process environment, as CI provides them).
fn workspace(staging: &Server, production: &Server) -> Workspace {
    Workspace::new()
        .file("web.yaml", WEB)
        .at(
            "environments/staging.yaml",
            environment(
                staging,
                BOOTSTRAP_ID,
                "STAGING_SECRET",
                "  domain: staging.example.com\n  web_ttl: 900\n",
            ),
        )
        .at(
            "environments/production.yaml",
            environment(
                production,
                PRODUCTION_CLIENT,
                "PRODUCTION_SECRET",
                "  domain: example.com\n  web_ttl: 600\n",
            ),
        )
        .env("STAGING_SECRET", BOOTSTRAP_SECRET)
        .env("PRODUCTION_SECRET", PRODUCTION_SECRET)
}

fn ok(out: &Output) {
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

/// The statuses of the token requests a sandbox answered.
fn token_statuses(server: &Server) -> Vec<u16> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/oauth/token")
        .map(|r| r.status)
        .collect()
}

#[test]
fn validate_all_envs_renders_every_manifest_for_every_environment_offline() {
    let ws = Workspace::new()
        .file("web.yaml", WEB)
        .at(
            "environments/staging.yaml",
            "admin_url: https://boruta.staging.example.com\ncredentials:\n  client_id: x\n  client_secret: ${env:UNSET_IN_THIS_TEST}\nvars:\n  domain: staging.example.com\n  web_ttl: 900\n",
        )
        .at(
            "environments/production.yaml",
            "vars:\n  domain: example.com\n  web_ttl: \"600\"\n",
        )
        .at("environments/dev.yaml", "vars:\n  web_ttl: 300\n");
    let out = ws.run(&["validate", "--all-envs", "--format", "json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let found: Vec<(String, String, u64, u64)> = out.json()["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["message"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
                d["col"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "unknown-variable".to_string(),
                "environment `dev`: variable `domain` is not defined in environment `dev` (its variables: web_ttl)".to_string(),
                6,
                17
            ),
            (
                "invalid-type".to_string(),
                "environment `production`: `access_token_ttl` must be an integer, found string `600` (remove the quotes)".to_string(),
                7,
                19
            ),
        ]
    );
    // One environment alone, the same way.
    let dev = ws.run(&["validate", "--env", "dev"]);
    assert_eq!(dev.code, 1);
    assert!(dev.stdout.starts_with("error[unknown-variable]: variable `domain` is not defined in environment `dev` (its variables: web_ttl)\n  --> manifests/web.yaml:6:17\n"), "{}", dev.stdout);
    // Without an environment, a variable is only a warning offline (plan needs one).
    Test::new(&ws)
        .args(&["validate"])
        .stdout(r#"warning[unknown-variable]: `${var:domain}` needs an environment: pass --env NAME (validate --all-envs checks every environment)
  --> manifests/web.yaml:6:17
  |
6 | redirect_uris: ["https://${var:domain}/callback"]
  |                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^

warning[unknown-variable]: `${var:web_ttl}` needs an environment: pass --env NAME (validate --all-envs checks every environment)
  --> manifests/web.yaml:7:19
  |
7 | access_token_ttl: ${var:web_ttl}
  |                   ^^^^^^^^^^^^^^

0 error(s), 2 warning(s), 0 note(s) in 0 client(s) from 1 file(s)
"#)
        .run();
}

#[test]
fn plan_all_envs_plans_each_environment_against_its_own_server_in_one_document() {
    let (staging, production) = (Server::start(), production_server());
    let ws = workspace(&staging, &production);
    Test::new(&ws)
        .args(&["plan", "--all-envs", "--detailed-exitcode"])
        .redact(staging.sandbox.base_url(), "[STAGING]")
        .redact(production.sandbox.base_url(), "[PRODUCTION]")
        .status(2)
        .stdout(r#"== environment production
boruta-gitops plan against [PRODUCTION]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + web (5d1c9e8a-3b2f-4a6d-8c7e-9f0a1b2c3d4e) will be created  [manifests/web.yaml:2]
      + name                  = "web"
      + identity_provider     = "Default identity provider"
      + supported_grant_types = ["authorization_code","refresh_token"]
      + pkce                  = true
      + redirect_uris         = ["https://example.com/callback"]
      + access_token_ttl      = 600
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-0000000000aa) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
== environment staging
boruta-gitops plan against [STAGING]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + web (5d1c9e8a-3b2f-4a6d-8c7e-9f0a1b2c3d4e) will be created  [manifests/web.yaml:2]
      + name                  = "web"
      + identity_provider     = "Default identity provider"
      + supported_grant_types = ["authorization_code","refresh_token"]
      + pkce                  = true
      + redirect_uris         = ["https://staging.example.com/callback"]
      + access_token_ttl      = 900
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"== environment production
== environment staging
")
        .run();
    // Each server was asked for a token with its own credentials only: each accepts only
    // its own bootstrap client, so a credential sent to the wrong server would be a 401.
    assert_eq!(token_statuses(&staging), [200]);
    assert_eq!(token_statuses(&production), [200]);

    let json = ws.run(&["plan", "--all-envs", "--format", "json"]).json();
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["production", "staging"]);
    assert_eq!(json["staging"]["environment"], "staging");
    assert_eq!(json["production"]["summary"]["create"], 1);

    // One comment for both environments.
    Test::new(&ws)
        .args(&["plan", "--all-envs", "--format", "markdown"])
        // A comment's URLs carry a zero-width joiner, so they do not become links.
        .redact(unlinked(staging.sandbox.base_url()), "[STAGING]")
        .redact(unlinked(production.sandbox.base_url()), "[PRODUCTION]")
        .stdout(r#"<!-- boruta-gitops plan -->
### boruta-gitops plan: 2 environment(s)

| environment | server | plan |
|---|---|---|
| <b>production</b> | <code>[PRODUCTION]</code> | Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s). |
| <b>staging</b> | <code>[STAGING]</code> | Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s). |

<details><summary>Environment <b>production</b></summary>

| create | drift | in sync | unmanaged | system | conflict |
|---:|---:|---:|---:|---:|---:|
| 1 | 0 | 0 | 0 | 3 | 0 |

<details><summary><code>+</code> <b>web</b> (create) <code>5d1c9e8a-3b2f-4a6d-8c7e-9f0a1b2c3d4e</code></summary>

<code>manifests/web.yaml:2</code>

```diff
+ name                  = "web"
+ identity_provider     = "Default identity provider"
+ supported_grant_types = ["authorization_code","refresh_token"]
+ pkce                  = true
+ redirect_uris         = ["https://example.com/callback"]
+ access_token_ttl      = 600
```

</details>

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

</details>

<details><summary>Environment <b>staging</b></summary>

| create | drift | in sync | unmanaged | system | conflict |
|---:|---:|---:|---:|---:|---:|
| 1 | 0 | 0 | 0 | 3 | 0 |

<details><summary><code>+</code> <b>web</b> (create) <code>5d1c9e8a-3b2f-4a6d-8c7e-9f0a1b2c3d4e</code></summary>

<code>manifests/web.yaml:2</code>

```diff
+ name                  = "web"
+ identity_provider     = "Default identity provider"
+ supported_grant_types = ["authorization_code","refresh_token"]
+ pkce                  = true
+ redirect_uris         = ["https://staging.example.com/callback"]
+ access_token_ttl      = 900
```

</details>

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

</details>

"#)
        .stderr(r"== environment production
== environment staging
")
        .run();

    // A server that is down fails its environment, not the others: the worst exit code.
    drop(production);
    let out = ws.run(&["plan", "--all-envs", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let json = out.json();
    assert_eq!(json["production"]["status"], "failed");
    assert_eq!(json["staging"]["summary"]["create"], 1);
}

#[test]
fn all_envs_refuses_server_settings_that_would_reach_every_environment() {
    let (staging, production) = (Server::start(), production_server());
    let ws = workspace(&staging, &production).env("BORUTA_CLIENT_ID", BOOTSTRAP_ID);
    Test::new(&ws)
        .args(&["plan", "--all-envs"])
        .status(1)
        .stderr(r"error: --all-envs takes each environment's server and credentials from its own file, so that no credential reaches another environment's server: unset BORUTA_CLIENT_ID
")
        .run();
    assert!(staging.requests().is_empty() && production.requests().is_empty());
}

#[test]
fn apply_goes_to_one_environment_and_a_saved_plan_stays_in_its_environment() {
    let (staging, production) = (Server::start(), production_server());
    let ws = workspace(&staging, &production);
    ok(&ws.run(&["plan", "--env", "staging", "--out", "staging.plan"]));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path().join("staging.plan")).unwrap())
            .unwrap();
    assert_eq!(saved["environment"], "staging");
    production.sandbox.clear_requests();
    Test::new(&ws)
        .args(&["apply", "--plan", "staging.plan", "--env", "production"])
        .status(1)
        .stderr(r"error: the saved plan was made for environment `staging`, not `production`: pass --env staging (nothing was changed)
")
        .run();
    Test::new(&ws)
        .args(&["apply", "--plan", "staging.plan"])
        .status(1)
        .stderr(r"error: the saved plan was made for environment `staging`: pass --env staging (nothing was changed)
")
        .run();
    assert!(production.requests().is_empty(), "{:?}", production.calls());

    ok(&ws.run(&["apply", "--plan", "staging.plan", "--env", "staging"]));
    assert_eq!(staging.ids_named("web"), [WEB_ID]);
    assert!(production.ids_named("web").is_empty());
    let uris = staging
        .sandbox
        .with_state(|s| s.clients[WEB_ID].fields["redirect_uris"].clone());
    assert_eq!(
        uris,
        serde_json::json!(["https://staging.example.com/callback"])
    );
}

#[test]
fn flags_override_the_environment_file_and_select_narrows_its_manifests() {
    let (staging, production) = (Server::start(), production_server());
    let ws = workspace(&staging, &production)
        .file("admin-tool.yaml", "id: 6e2d0f9b-4c3a-4b7e-9d8f-0a1b2c3d4e5f\nname: admin-tool\nidentity_provider: {name: Default identity provider}\nsupported_grant_types: [client_credentials]\nconfidential: true\naccess_token_ttl: 300\n")
        .at(
            "environments/production.yaml",
            environment(&production, PRODUCTION_CLIENT, "PRODUCTION_SECRET", "  domain: example.com\n  web_ttl: 600\nselect: [web]\n"),
        );
    let plan = ws.run(&["plan", "--env", "production", "--format", "json"]);
    ok(&plan);
    let names: Vec<String> = plan.json()["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["web"], "production gets only what its select names");
    // --admin-url and --token-url (or BORUTA_*) win over the file: a third server that
    // knows staging's credentials gets staging's plan, and staging's server nothing.
    let elsewhere = Server::start();
    staging.sandbox.clear_requests();
    let flag = ws.run(&[
        "plan",
        "--env",
        "staging",
        "--admin-url",
        elsewhere.sandbox.base_url(),
        "--token-url",
        &elsewhere.sandbox.token_url(),
        "--format",
        "json",
    ]);
    ok(&flag);
    assert_eq!(flag.json()["admin_url"], elsewhere.sandbox.base_url());
    assert!(staging.requests().is_empty(), "{:?}", staging.calls());
    assert_eq!(elsewhere.count("GET", "/api/clients"), 1);
}

#[test]
fn an_environment_file_is_checked_at_its_values() {
    let ws = Workspace::new()
        .file("web.yaml", WEB)
        .at(
            "environments/leaky.yaml",
            "admin_url: https://boruta.example.com\ncredentials:\n  client_id: x\n  client_secret: hunter2\nvars:\n  domain: example.com\n  web_ttl: 600\n",
        )
        .at("environments/odd.yaml", "admin_url: https://boruta.example.com\nvars:\n  domain: [a, b]\n");
    let out = Test::new(&ws)
        .args(&["plan", "--env", "leaky"])
        .status(1)
        .stderr(r"error: environments/leaky.yaml:4:18: credentials.client_secret must come from `${env:NAME}` or `${file:PATH}`: an environment file is in git
")
        .run();
    assert!(!out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"));
    Test::new(&ws)
        .args(&["validate", "--env", "odd"])
        .status(1)
        .stderr(r"error: environments/odd.yaml:3:11: variable `domain` must be a string, a number or a boolean
")
        .run();
    Test::new(&ws)
        .args(&["plan", "--env", "nope"])
        .status(1)
        .stderr(r"error: no environment `nope`: environments/nope.yaml does not exist (environments in environments: leaky, odd)
")
        .run();
}

/// `url` as a pull-request comment shows it: `http:` and `//` kept apart by a zero-width
/// joiner, so it is not a link.
fn unlinked(url: &str) -> String {
    url.replacen("://", ":\u{200d}//", 1)
}
