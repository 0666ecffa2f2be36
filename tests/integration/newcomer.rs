//! What a newcomer tripped on (issue #18, item 9): Kubernetes files among the manifests,
//! both kinds of credentials set at once.

use crate::support::{all_findings, Server, Workspace, IDP};

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
    let human = ws.run(&["validate", "manifests"]);
    assert!(
        human.stdout.starts_with("error[foreign-document]: this document has `apiVersion: apps/v1`: it is not a boruta-gitops manifest (a Kubernetes or kustomize file?); keep it out with --exclude\n  --> manifests/k8s/deployment.yaml:1:1\n"),
        "{}",
        human.stdout
    );
    let excluded = ws.run(&["validate", "manifests", "--exclude", "k8s/*"]);
    assert_eq!(excluded.code, 0, "{}", excluded.stdout);
    assert!(
        excluded.stdout.ends_with("in 1 client(s) from 1 file(s)\n"),
        "{}",
        excluded.stdout
    );
}

#[test]
fn an_access_token_set_with_client_credentials_is_said_to_be_ignored() {
    let server = Server::start();
    let ws = server
        .connect(Workspace::new().file("orders.yaml", format!("{CLIENT}{IDP}")))
        .env("BORUTA_ACCESS_TOKEN", "an-old-token-nobody-uses");
    let out = ws.run(&["plan", "manifests"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr.lines().next(),
        Some("warning: both client credentials (BORUTA_CLIENT_ID and a secret) and BORUTA_ACCESS_TOKEN are set: the client credentials are used, the access token is ignored")
    );
    assert_eq!(server.count("POST", "/oauth/token"), 1);
}
