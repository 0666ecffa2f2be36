//! `export` (issue #7): the round trip — seed the sandbox, export, plan with the secret
//! variables set: nothing to create, no drift — plus stable bytes and safe file names.

use crate::support::{Server, Test, Workspace, DEFAULT_IDP};
use serde_json::json;

fn seed(server: &Server) {
    let idp = |name: &str| json!({"id": server.idp_id(name)});
    let openid = boruta_gitops::sandbox::state::seed_id("openid");
    server.create(json!({"name": "minimal", "identity_provider": idp(DEFAULT_IDP)}));
    server.create(json!({
        "name": "everything", "secret": "s3cr3t'with\\\"quotes", "confidential": true, "public_client_id": "https://everything.example",
        "check_public_client_id": true, "redirect_uris": ["https://a.example/cb", "com.example.app://cb"],
        "public_refresh_token": true, "public_revoke": true, "authorize_scope": true, "enforce_tx_code": true, "pkce": true,
        "authorized_scopes": [{"id": openid}, {"name": "email"}, {"name": "custom:scope"}],
        "access_token_ttl": 3600, "authorization_code_ttl": 60, "authorization_request_ttl": 30, "refresh_token_ttl": 7200, "id_token_ttl": 600,
        "key_pair_type": {"type": "ec", "curve": "P-384"}, "id_token_signature_alg": "ES384", "userinfo_signed_response_alg": "ES256",
        "token_endpoint_jwt_auth_alg": "RS256", "token_endpoint_auth_methods": ["client_secret_post"],
        "supported_grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "jwt_public_key": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n",
        "response_mode": "post", "trusted_hosts": ["a.example", "b.example"], "trusted_authorities": "https://authority.example",
        "metadata": {"team": "x"}, "identity_provider": idp("Partners identity provider")
    }));
    server.create(json!({"name": "Billing API (prod) ✓", "key_pair_type": {"type": "rsa", "modulus_size": "4096", "exponent_size": "65537"}, "identity_provider": idp(DEFAULT_IDP)}));
}

fn secrets_env(ws: &Workspace, file: &str) -> Vec<(String, String)> {
    std::fs::read_to_string(ws.path().join(file))
        .unwrap()
        .lines()
        .map(|line| {
            let (k, v) = line.split_once('=').unwrap();
            (k.to_string(), v.trim_matches('\'').replace("'\\''", "'"))
        })
        .collect()
}

#[test]
fn round_trip_exports_an_empty_plan() {
    let server = Server::start();
    seed(&server);
    let ws = server.connect(Workspace::new());
    // The files by name, the variables by name: the same whatever ids the server gave.
    Test::new(&ws)
        .args(&[
            "export",
            "--out",
            "exported",
            "--with-secrets-to",
            "secrets.env",
        ])
        .sandbox(&server)
        .stdout(r"wrote exported/billing-api-prod.yaml
wrote exported/everything.yaml
wrote exported/minimal.yaml
wrote exported/scopes/configuration-manage-all.yaml
wrote exported/scopes/custom-scope.yaml
wrote exported/scopes/email.yaml
wrote exported/scopes/logs-read-all.yaml
wrote exported/scopes/openid.yaml
wrote exported/scopes/profile.yaml
skipped 3 system client(s) (admin UI, public client, this tool's own); --include-system exports them
the manifests read their secrets from 3 environment variable(s): BORUTA_SECRET_BILLING_API_PROD, BORUTA_SECRET_EVERYTHING, BORUTA_SECRET_MINIMAL (their values are in secrets.env)
exported 3 client(s) and 6 scope(s)
")
        .run();
    let mut names: Vec<String> = std::fs::read_dir(ws.path().join("exported"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // The server's unprotected scopes go to `scopes/` (issue #20).
    assert_eq!(
        names,
        [
            "billing-api-prod.yaml",
            "everything.yaml",
            "minimal.yaml",
            "scopes"
        ]
    );
    let everything = std::fs::read_to_string(ws.path().join("exported/everything.yaml")).unwrap();
    assert!(everything.starts_with("# yaml-language-server: $schema="));
    assert!(
        everything.contains("\n# Not exported: boruta never renders agent_token_ttl, authorized_resources, jwks_uri, id_token_kid, logo_uri, metadata, key_pair_id back. Declare the ones this client uses;\n# apply --update then sends them.\nid: "),
        "{everything}"
    );
    assert!(everything.contains("secret: \"${env:BORUTA_SECRET_EVERYTHING}\"\n"));
    assert!(
        !everything.contains("s3cr3t")
            && !everything.contains("\npublic_key:")
            && !everything.contains("\ndid:")
    );
    assert!(
        everything.contains("jwt_public_key: |\n  -----BEGIN PUBLIC KEY-----\n"),
        "{everything}"
    );
    let idp = server.idp_id("Partners identity provider");
    assert!(
        everything.contains("identity_provider:\n  id: ") && everything.contains(&idp),
        "{everything}"
    );
    assert!(
        everything.contains("  name: Partners identity provider\n"),
        "{everything}"
    );
    let minimal = std::fs::read_to_string(ws.path().join("exported/minimal.yaml")).unwrap();
    // Defaults are left out: only the id, the name, the secret and the identity provider,
    // and the grant types, whose default differs between boruta versions (re-created on
    // another server, the client would otherwise allow other grants).
    let fields: Vec<&str> = minimal
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with(' '))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "id",
            "name",
            "secret",
            "identity_provider",
            "supported_grant_types"
        ]
    );
    // With the secret variables set, the written files pass validate and the plan is empty.
    let mut planned = server.connect(Workspace::new());
    for (k, v) in secrets_env(&ws, "secrets.env") {
        planned = planned.env(&k, &v);
    }
    std::fs::rename(ws.path().join("exported"), planned.path().join("manifests")).unwrap();
    let mut check = planned.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(check.json()["summary"]["errors"], 0, "{}", check.stdout);
    check = planned.run(&[
        "plan",
        "manifests",
        "--format",
        "json",
        "--detailed-exitcode",
    ]);
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
    let summary = &check.json()["summary"];
    assert_eq!(summary["create"], 0);
    assert_eq!(summary["drift"], 0, "{}", check.stdout);
    // Three clients, and six scopes: the five built-in ones boruta does not protect, and
    // `custom:scope`, which a client created.
    assert_eq!(summary["in_sync"], 9);
    let secrets_file = ws.path().join("secrets.env");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&secrets_file)
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    Test::new(&ws)
        .args(&[
            "export",
            "--out",
            "again",
            "--with-secrets-to",
            "secrets.env",
        ])
        .sandbox(&server)
        .status(1)
        .stderr(r"error: cannot create --with-secrets-to secrets.env: it already exists; refusing to overwrite
")
        .run();
}

#[test]
fn exporting_twice_gives_identical_bytes() {
    let server = Server::start();
    seed(&server);
    let ws = server.connect(Workspace::new());
    assert_eq!(ws.run(&["export", "--out", "one"]).code, 0);
    assert_eq!(ws.run(&["export", "--out", "two"]).code, 0);
    for name in ["billing-api-prod.yaml", "everything.yaml", "minimal.yaml"] {
        let a = std::fs::read(ws.path().join("one").join(name)).unwrap();
        let b = std::fs::read(ws.path().join("two").join(name)).unwrap();
        assert_eq!(a, b, "{name}");
    }
    let out = ws.run(&["export", "--out", "one"]);
    assert_eq!(
        out.code, 1,
        "existing files are not overwritten without --force"
    );
    assert_eq!(ws.run(&["export", "--out", "one", "--force"]).code, 0);
}

#[test]
fn empty_duplicate_and_symbolic_names_get_unique_valid_files() {
    let server = Server::start();
    let idp = json!({"id": server.idp_id(DEFAULT_IDP)});
    for name in [
        json!(null),
        json!(""),
        json!("dup"),
        json!("dup"),
        json!("???"),
        json!("../../etc/passwd"),
        json!("Ünïcødé / name"),
    ] {
        server.create(json!({"name": name, "identity_provider": idp}));
    }
    let mut ws = server.connect(Workspace::new());
    let out = ws.run(&[
        "export",
        "--out",
        "exported",
        "--kind",
        "client",
        "--with-secrets-to",
        "secrets.env",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let variables = secrets_env(&ws, "secrets.env");
    assert_eq!(variables.len(), 7, "one variable per client: {variables:?}");
    for (k, v) in variables {
        ws = ws.env(&k, &v);
    }
    let mut names: Vec<String> = std::fs::read_dir(ws.path().join("exported"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 7, "{names:?}");
    for name in &names {
        assert!(
            name.ends_with(".yaml")
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
            "{name}"
        );
    }
    assert!(
        names.contains(&"etc-passwd.yaml".to_string())
            && names.contains(&"n-c-d-name.yaml".to_string()),
        "{names:?}"
    );
    // The ids are random, and so some file names: the exact output varies, its order
    // does not (files by name, variables by name).
    let wrote: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("wrote exported/"))
        .collect();
    assert_eq!(wrote, names, "{}", out.stdout);
    let mut sorted_variables: Vec<String> = secrets_env(&ws, "secrets.env")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    sorted_variables.sort();
    let listed = format!(
        "the manifests read their secrets from 7 environment variable(s): {} (their values are in secrets.env)\n",
        sorted_variables.join(", ")
    );
    assert!(out.stdout.contains(&listed), "{}", out.stdout);
    assert!(
        out.stdout.contains("has no name on the server"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("the name `dup` is used by several clients"),
        "{}",
        out.stdout
    );
    let check = ws.run(&["validate", "exported", "--format", "json"]);
    assert_eq!(check.json()["summary"]["errors"], 0, "{}", check.stdout);
}

#[test]
fn select_and_include_system() {
    let server = Server::start();
    seed(&server);
    let ws = server.connect(Workspace::new());
    Test::new(&ws)
        .args(&["export", "--out", "only", "--select", "minimal"])
        .sandbox(&server)
        .stdout(r"wrote only/minimal.yaml
the manifests read their secrets from 1 environment variable(s): BORUTA_SECRET_MINIMAL (--with-secrets-to FILE writes their values for a migration)
exported 1 client(s)
")
        .run();
    // The public client has no identity provider: it cannot be managed, and says so.
    Test::new(&ws)
        .args(&["export", "--out", "all", "--include-system"])
        .sandbox(&server)
        .stdout(r"wrote all/billing-api-prod.yaml
wrote all/boruta-administration-panel.yaml
wrote all/boruta-gitops-sandbox-bootstrap.yaml
wrote all/everything.yaml
wrote all/minimal.yaml
wrote all/scopes/configuration-manage-all.yaml
wrote all/scopes/custom-scope.yaml
wrote all/scopes/email.yaml
wrote all/scopes/logs-read-all.yaml
wrote all/scopes/openid.yaml
wrote all/scopes/profile.yaml
note: skipped `public client` (16f303ac-3b4a-55d6-b1b2-8474213a65f0): it has no identity provider, and boruta refuses to create such a client
the manifests read their secrets from 5 environment variable(s): BORUTA_SECRET_BILLING_API_PROD, BORUTA_SECRET_BORUTA_ADMINISTRATION_PANEL, BORUTA_SECRET_BORUTA_GITOPS_SANDBOX_BOOTSTRAP, BORUTA_SECRET_EVERYTHING, BORUTA_SECRET_MINIMAL (--with-secrets-to FILE writes their values for a migration)
exported 5 client(s) and 6 scope(s)
")
        .run();
    Test::new(&ws)
        .args(&["export", "--out", "none", "--select", "nope"])
        .sandbox(&server)
        .status(1)
        .stderr(
            r"error: --select nope: no client or scope with this name or id on the server
",
        )
        .run();
}
