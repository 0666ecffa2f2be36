//! Secret delivery and rotation end to end (issue #21): the real binary against the sandbox
//! (boruta) and a real OpenBao dev server (the store). `secret_delivery` validated; a
//! create delivers; plan and drift show a missing or outdated delivery and apply writes it
//! without writing to boruta; a store that is down or a token that may not write stops
//! apply before any boruta write; check-and-set keeps a newer version; `rotate` and its
//! two failure points; and no secret or token in any output, saved plan or log.

use crate::support::{all_findings, Workspace, IDP};

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
        (
            code.to_string(),
            format!("manifests/{file}"),
            line,
            col,
        )
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
