//! TLS (issue #4): verification stays on, `--ca-cert` trusts a private CA, end to end
//! against the sandbox serving HTTPS.

use crate::support::{Server, Workspace, DEFAULT_IDP};
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
    let out = ws.run(&[
        "apply",
        "manifests",
        "--auto-approve",
        "--ca-cert",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Apply: 1 created"));
}
