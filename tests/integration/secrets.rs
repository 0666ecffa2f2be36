//! Secret hygiene (issues #4, #5, #6): with `RUST_LOG=trace`, canary values in a manifest
//! secret, in substituted values and in the credentials appear in no stdout, stderr, log
//! line or saved plan; only in a `--secrets-out` file.

use crate::support::{Output, Server, Workspace, DEFAULT_IDP};
use boruta_gitops::sandbox::Config;

const LITERAL: &str = "canary-literal-secret-4f1c";
const ENV_VALUE: &str = "canary-env-secret-9b2d";
const FILE_VALUE: &str = "canary-file-value-77aa";
const CREDENTIAL: &str = "canary-credential-secret-c3e8";

fn workspace(server: &Server) -> Workspace {
    let ws = Workspace::new()
        .file("literal.yaml", format!("id: 00000000-0000-4000-8000-00000000c001\nname: literal\nsecret: {LITERAL}\nidentity_provider:\n  name: {DEFAULT_IDP}\n"))
        .file(
            "substituted.yaml",
            format!("id: 00000000-0000-4000-8000-00000000c002\nname: substituted\nsecret: ${{env:CANARY_SECRET}}\njwt_public_key: ${{file:../mounted/key.txt}}\nidentity_provider:\n  name: {DEFAULT_IDP}\n"),
        )
        .file("generated.yaml", format!("id: 00000000-0000-4000-8000-00000000c003\nname: generated\nidentity_provider:\n  name: {DEFAULT_IDP}\n"))
        .env("CANARY_SECRET", ENV_VALUE)
        // A file from a --file-root outside the manifest directory is sensitive.
        .env("BORUTA_FILE_ROOTS", "mounted")
        .env("RUST_LOG", "trace");
    server.connect(ws).env("BORUTA_CLIENT_SECRET", CREDENTIAL)
}

fn assert_clean(what: &str, out: &Output, tokens: &[String]) {
    for text in [&out.stdout, &out.stderr] {
        for canary in [LITERAL, ENV_VALUE, FILE_VALUE, CREDENTIAL] {
            assert!(!text.contains(canary), "{what}: `{canary}` leaked:\n{text}");
        }
        for token in tokens {
            assert!(
                !text.contains(token.as_str()),
                "{what}: an access token leaked"
            );
        }
    }
}

#[test]
fn no_command_prints_a_secret_at_trace_level() {
    let server = Server::start_with(Config {
        bootstrap_client_secret: Some(CREDENTIAL.into()),
        ..Config::default()
    });
    // start_with fixes the bootstrap secret for every test; this one needs the canary.
    server.sandbox.with_state(|s| {
        let id = crate::support::BOOTSTRAP_ID;
        s.clients
            .get_mut(id)
            .unwrap()
            .fields
            .insert("secret".into(), CREDENTIAL.into());
    });
    let ws = workspace(&server);
    std::fs::create_dir_all(ws.path().join("mounted")).unwrap();
    std::fs::write(ws.path().join("mounted/key.txt"), FILE_VALUE).unwrap();
    let mut outputs = Vec::new();
    for args in [
        vec!["validate", "manifests"],
        vec!["validate", "manifests", "--format", "json"],
        vec!["validate", "manifests", "--format", "github"],
        vec!["plan", "manifests"],
        vec![
            "plan",
            "manifests",
            "--format",
            "json",
            "--out",
            "plan.json",
        ],
        vec![
            "plan",
            "manifests",
            "--format",
            "markdown",
            "--token-auth",
            "post",
        ],
        vec!["apply", "manifests"],
        vec![
            "apply",
            "manifests",
            "--plan",
            "plan.json",
            "--auto-approve",
            "--secrets-out",
            "secrets.jsonl",
        ],
        vec!["apply", "manifests", "--auto-approve", "--format", "json"],
        vec!["drift", "manifests"],
        vec!["drift", "manifests", "--format", "json"],
        vec!["drift", "manifests", "--format", "markdown"],
    ] {
        let out = ws.run(&args);
        assert!(
            out.stderr.contains("TRACE") || out.stderr.contains("DEBUG") || args[0] == "validate",
            "{args:?} should log at trace:\n{}",
            out.stderr
        );
        outputs.push((args.join(" "), out));
    }
    // The server rotates the secrets by hand; drift then reports "(sensitive) changed".
    server.update(
        "00000000-0000-4000-8000-00000000c001",
        serde_json::json!({"secret": "rotated"}),
    );
    let drift = ws.run(&["drift", "manifests"]);
    assert!(
        drift.stdout.contains("~ secret = (sensitive) changed"),
        "{}",
        drift.stdout
    );
    outputs.push(("drift after rotation".into(), drift));
    let tokens: Vec<String> = server
        .sandbox
        .with_state(|s| s.tokens.keys().cloned().collect());
    assert!(!tokens.is_empty());
    for (what, out) in &outputs {
        assert_clean(what, out, &tokens);
    }
    let plan = std::fs::read_to_string(ws.path().join("plan.json")).unwrap();
    for canary in [LITERAL, ENV_VALUE, FILE_VALUE, CREDENTIAL] {
        assert!(!plan.contains(canary), "saved plan leaked {canary}");
    }
    // Only the secrets file holds secrets: the declared ones and the generated one.
    let secrets = std::fs::read_to_string(ws.path().join("secrets.jsonl")).unwrap();
    assert!(secrets.contains(LITERAL) && secrets.contains(ENV_VALUE));
    assert_eq!(secrets.lines().count(), 3);
}
