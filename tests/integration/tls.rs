//! TLS (issue #4): verification stays on, `--ca-cert` trusts a private CA, end to end
//! against the sandbox serving HTTPS.

use crate::support::{Server, Test, Workspace, DEFAULT_IDP};
use boruta_gitops::sandbox::{Config, TlsFiles};

fn https_server() -> Server {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    Server::start_with(Config {
        tls: Some(TlsFiles {
            certificate_chain: dir.join("server.pem"),
            private_key: dir.join("server.key"),
        }),
        ..Config::default()
    })
}

fn workspace(server: &Server) -> Workspace {
    server.connect(Workspace::new().file(
        "a.yaml",
        format!("name: a\nidentity_provider:\n  name: {DEFAULT_IDP}\n"),
    ))
}

#[test]
fn a_private_ca_is_trusted_only_when_given() {
    let server = https_server();
    assert!(server.sandbox.base_url().starts_with("https://127.0.0.1:"));
    let ws = workspace(&server);
    let out = ws.run(&["plan", "manifests"]);
    assert_eq!(out.code, 1, "an unknown CA must be refused: {}", out.stdout);
    // Refused at once (a certificate does not verify better on a retry), saying why.
    assert!(
        out.stderr.ends_with("/oauth/token failed: TLS: invalid peer certificate: UnknownIssuer. If the server uses a private CA, pass it with --ca-cert\n"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("retrying"), "{}", out.stderr);
    let ca = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/ca.pem");
    let out = ws.run(&["plan", "manifests", "--ca-cert", ca.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    Test::new(&ws)
        .args(&[
            "apply",
            "manifests",
            "--auto-approve",
            "--ca-cert",
            ca.to_str().unwrap(),
        ])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + a (41b62bd9-bc94-54a4-ad16-54c5f1443c4d) will be created  [manifests/a.yaml:1]
      + name              = "a"
      + identity_provider = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Creating 1 client(s), at most 8 at a time:
  + a (41b62bd9-bc94-54a4-ad16-54c5f1443c4d) created
boruta generated the secret of 1 client(s). It is not printed: read it with GET /api/clients/<id> (scope clients:manage:all), or run apply with --secrets-out FILE next time.

Apply: 1 created, 0 already present, 0 failed, 0 not attempted.
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
}
