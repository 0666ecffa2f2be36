//! What a newcomer tripped on (issue #18, item 9): Kubernetes files among the manifests,
//! both kinds of credentials set at once.

use crate::support::{all_findings, Server, Test, Workspace, IDP};

const CLIENT: &str =
    "name: orders\nsupported_grant_types: [client_credentials]\naccess_token_ttl: 900\n";

#[test]
fn a_kubernetes_file_among_the_manifests_is_one_finding_and_can_be_excluded() {
    let ws = Workspace::new()
        .file("orders.yaml", format!("{CLIENT}{IDP}"))
        .file(
            "k8s/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: orders\nspec: {}\n",
        );
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 1);
    let findings: Vec<_> = all_findings(&out)
        .into_iter()
        .filter(|f| f.0 != "derived-id")
        .collect();
    assert_eq!(
        findings,
        [(
            "foreign-document".into(),
            "manifests/k8s/deployment.yaml".into(),
            1,
            1
        )]
    );
    Test::new(&ws)
        .args(&["validate", "manifests"])
        .status(1)
        .stdout(r"error[foreign-document]: this document has `apiVersion: apps/v1`: it is not a boruta-gitops manifest (a Kubernetes or kustomize file?); keep it out with --exclude
  --> manifests/k8s/deployment.yaml:1:1
  |
1 | apiVersion: apps/v1
  | ^^^^^^^^^^

note[derived-id]: no `id`: the id 93cdc073-07a9-54d1-b0bb-74c201576b7f is derived from the name; pin it with `id: 93cdc073-07a9-54d1-b0bb-74c201576b7f` so a rename cannot create a new client
  --> manifests/orders.yaml:1:1
  |
1 | name: orders
  | ^^^^

1 error(s), 0 warning(s), 1 note(s) in 1 client(s) from 2 file(s)
")
        .run();
    Test::new(&ws)
        .args(&["validate", "manifests", "--exclude", "k8s/*"])
        .stdout(r"note[derived-id]: no `id`: the id 93cdc073-07a9-54d1-b0bb-74c201576b7f is derived from the name; pin it with `id: 93cdc073-07a9-54d1-b0bb-74c201576b7f` so a rename cannot create a new client
  --> manifests/orders.yaml:1:1
  |
1 | name: orders
  | ^^^^

0 error(s), 0 warning(s), 1 note(s) in 1 client(s) from 1 file(s)
")
        .run();
}

#[test]
fn an_access_token_set_with_client_credentials_is_said_to_be_ignored() {
    let server = Server::start();
    let ws = server
        .connect(Workspace::new().file("orders.yaml", format!("{CLIENT}{IDP}")))
        .env("BORUTA_ACCESS_TOKEN", "an-old-token-nobody-uses");
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + orders (93cdc073-07a9-54d1-b0bb-74c201576b7f) will be created  [manifests/orders.yaml:1]
      + name                  = "orders"
      + supported_grant_types = ["client_credentials"]
      + access_token_ttl      = 900
      + identity_provider     = "7f6b2a8e-6c1d-4d5e-9f3a-2b1c0d9e8f7a"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning: both client credentials (BORUTA_CLIENT_ID and a secret) and BORUTA_ACCESS_TOKEN are set: the client credentials are used, the access token is ignored
")
        .run();
    assert_eq!(server.count("POST", "/oauth/token"), 1);
}
