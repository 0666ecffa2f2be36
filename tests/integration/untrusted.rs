//! Untrusted pull requests and hostile servers (issue #10): each point was first a failing
//! reproduction of what the previous main did, and now shows that a hostile manifest set
//! or server can make a run fail, clearly, but never leak, hang, exhaust memory or mislead.

use crate::support::{findings, wait_until, Server, Test, Workspace, DEFAULT_IDP, IDP};
use boruta_gitops::sandbox::Config;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CANARY: &str = "canary-outside-the-root-5e1d";

fn client(extra: &str) -> String {
    format!("id: 11111111-1111-4111-8111-111111111111\nname: app\n{IDP}{extra}")
}

/// A workspace whose manifests hold one valid client, and a secret file outside them.
fn with_outside_file() -> Workspace {
    let ws = Workspace::new().file("app.yaml", client(""));
    std::fs::write(ws.path().join("outside.txt"), format!("TOKEN={CANARY}\n")).unwrap();
    ws
}

fn validate_json(ws: &Workspace, extra: &[&str]) -> crate::support::Output {
    let mut args = vec!["validate", "manifests", "--format", "json"];
    args.extend_from_slice(extra);
    let (out, _) = ws.run_within(&args, Duration::from_secs(20));
    assert!(
        !out.stdout.contains(CANARY) && !out.stderr.contains(CANARY),
        "{out:?}"
    );
    out
}

fn error(code: &str, file: &str, line: u64, col: u64) -> (String, String, u64, u64) {
    (code.to_string(), file.to_string(), line, col)
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_root_are_not_followed() {
    use std::os::unix::fs::symlink;
    let ws = with_outside_file();
    let m = ws.manifests();
    symlink(ws.path().join("outside.txt"), m.join("leak.yaml")).unwrap();
    symlink("/proc/self/environ", m.join("zz.yaml")).unwrap();
    std::fs::create_dir_all(ws.path().join("elsewhere")).unwrap();
    std::fs::write(
        ws.path().join("elsewhere/other.yaml"),
        format!("name: {CANARY}\n"),
    )
    .unwrap();
    symlink(ws.path().join("elsewhere"), m.join("linked-dir")).unwrap();
    let out = validate_json(&ws, &[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        findings(&out),
        vec![
            error("symlink-outside-root", "manifests/leak.yaml", 1, 1),
            error("symlink-outside-root", "manifests/linked-dir", 1, 1),
            error("symlink-outside-root", "manifests/zz.yaml", 1, 1),
        ]
    );
    // The human format quotes nothing of the targets either.
    let human = ws.run(&["validate", "manifests"]);
    assert!(
        !human.stdout.contains(CANARY) && !human.stdout.contains("PATH="),
        "{}",
        human.stdout
    );
}

#[cfg(unix)]
#[test]
fn links_inside_the_root_are_read_once_and_loops_end_at_once() {
    use std::os::unix::fs::symlink;
    let ws = Workspace::new().file("x/app.yaml", client(""));
    let x = ws.manifests().join("x");
    for name in ["a", "b", "c"] {
        symlink(".", x.join(name)).unwrap();
    }
    // The same file under a second name inside the root is not read twice.
    symlink("app.yaml", x.join("again.yaml")).unwrap();
    let started = std::time::Instant::now();
    let out = Test::new(&ws)
        .args(&["validate", "manifests", "--format", "json"])
        .stdout(r#"{
  "format_version": 1,
  "diagnostics": [
    {
      "severity": "warning",
      "code": "symlink-loop",
      "message": "3 symbolic link(s) lead to a directory already read and are not followed: manifests/x/a, manifests/x/b, manifests/x/c",
      "file": "manifests/x/a",
      "line": 1,
      "col": 1
    },
    {
      "severity": "warning",
      "code": "default-grant-types",
      "message": "`supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs",
      "file": "manifests/x/again.yaml",
      "line": 2,
      "col": 7
    },
    {
      "severity": "warning",
      "code": "long-lived-access-token",
      "message": "access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)",
      "file": "manifests/x/again.yaml",
      "line": 2,
      "col": 7
    }
  ],
  "summary": {
    "errors": 0,
    "warnings": 3,
    "notes": 0,
    "waived": 0,
    "clients": 1,
    "files": 1
  }
}
"#)
        .run();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(
        findings(&out),
        vec![error("symlink-loop", "manifests/x/a", 1, 1)]
    );
    assert_eq!(out.json()["summary"]["clients"], 1);
}

#[cfg(unix)]
#[test]
fn only_regular_files_are_read() {
    use std::os::unix::fs::symlink;
    let ws = Workspace::new().file("app.yaml", client(""));
    let fifo = ws.manifests().join("pipe.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    symlink("/dev/zero", ws.manifests().join("zero.yaml")).unwrap();
    let (out, elapsed) = ws.run_within(
        &["validate", "manifests", "--format", "json"],
        Duration::from_secs(20),
    );
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(out.code, 1);
    assert_eq!(
        findings(&out),
        vec![
            error("not-a-regular-file", "manifests/pipe.yaml", 1, 1),
            error("symlink-outside-root", "manifests/zero.yaml", 1, 1),
        ]
    );
}

#[test]
fn an_oversized_manifest_is_refused_without_being_read_whole() {
    let mut big = client("redirect_uris:\n");
    while big.len() <= 16 * 1024 * 1024 {
        big.push_str("  - https://a-very-long-host-name.example.com/callback/path/segment\n");
    }
    let ws = Workspace::new().file("big.yaml", big);
    let out = validate_json(&ws, &[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        findings(&out),
        vec![error("file-too-large", "manifests/big.yaml", 1, 1)]
    );
}

#[test]
fn file_substitution_stays_inside_the_roots() {
    let ws = with_outside_file().file(
        "leak.yaml",
        format!("id: 22222222-2222-4222-8222-222222222222\nname: leak\nsecret: ${{file:../outside.txt}}\n{IDP}"),
    );
    let out = validate_json(&ws, &[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        findings(&out),
        vec![error("file-outside-root", "manifests/leak.yaml", 3, 9)]
    );
    // Named as a root, the directory may be read; its values are sensitive.
    let out = validate_json(&ws, &["--file-root", "."]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let ws = ws.env("BORUTA_FILE_ROOTS", "/nonexistent:.");
    let out = validate_json(&ws, &[]);
    assert_eq!(findings(&out)[0].0, "path-not-found", "{}", out.stdout);
}

#[cfg(unix)]
#[test]
fn file_substitution_reads_only_small_regular_files() {
    let ws = Workspace::new()
        .file("zero.yaml", format!("id: 22222222-2222-4222-8222-222222222222\nname: zero\njwt_public_key: ${{file:/dev/zero}}\n{IDP}"))
        .file("big.yaml", format!("id: 33333333-3333-4333-8333-333333333333\nname: big\njwt_public_key: ${{file:big.pem}}\n{IDP}"))
        .file("big.pem", "x".repeat(1024 * 1024 + 1));
    let (out, elapsed) = ws.run_within(
        &[
            "validate",
            "manifests",
            "--format",
            "json",
            "--file-root",
            "/dev",
        ],
        Duration::from_secs(20),
    );
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(
        findings(&out),
        vec![
            error("file-too-large", "manifests/big.yaml", 3, 17),
            error("not-a-regular-file", "manifests/zero.yaml", 3, 17),
        ]
    );
    let out = validate_json(&ws, &[]);
    assert_eq!(
        findings(&out)[1],
        error("file-outside-root", "manifests/zero.yaml", 3, 17)
    );
}

#[test]
fn duplicate_keys_are_found_at_every_depth_once() {
    let ws = Workspace::new().file(
        "app.yaml",
        "id: 11111111-1111-4111-8111-111111111111\nname: app\nidentity_provider: {id: 7f6b2a8e-6c1d-4d5e-9f3a-2b1c0d9e8f7a, id: 7f6b2a8e-6c1d-4d5e-9f3a-2b1c0d9e8f7b}\nauthorized_scopes:\n  - name: a\n    name: b\n",
    );
    let out = validate_json(&ws, &[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        findings(&out),
        vec![
            error("duplicate-key", "manifests/app.yaml", 3, 63),
            error("duplicate-key", "manifests/app.yaml", 6, 5),
        ]
    );
    let ws = Workspace::new().file(
        "c.yaml",
        format!("version: \"1.0\"\nconfiguration:\n  client:\n    - name: a\n      pkce: true\n      pkce: false\n      {}", IDP.replace('\n', "\n      ")),
    );
    let out = validate_json(&ws, &[]);
    assert_eq!(
        findings(&out),
        vec![error("duplicate-key", "manifests/c.yaml", 6, 7)]
    );
}

#[test]
fn sensitivity_follows_the_origin_of_a_value() {
    let server = Server::start();
    let pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----";
    let ws = server
        .connect(Workspace::new().file(
            "app.yaml",
            format!("id: 11111111-1111-4111-8111-111111111111\nname: app\njwt_public_key: ${{file:keys/app.pub.pem}}\npublic_client_id: ${{env:PUBLIC_ID}}\nidentity_provider:\n  name: {DEFAULT_IDP}\n"),
        ))
        .file("keys/app.pub.pem", format!("{pem}\n"))
        .env("PUBLIC_ID", "env-value-never-shown");
    let out = Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + app (11111111-1111-4111-8111-111111111111) will be created  [manifests/app.yaml:2]
      + name              = "app"
      + jwt_public_key    = <<3 lines>>
          + -----BEGIN PUBLIC KEY-----
          + MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
          + -----END PUBLIC KEY-----
      + public_client_id  = (sensitive)
      + identity_provider = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/app.yaml:2:7
  |
2 | name: app
  |       ^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/app.yaml:2:7
  |
2 | name: app
  |       ^^^

0 error(s), 2 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    // A public key from inside the manifest directory is shown for review.
    assert!(!out.stdout.contains("env-value-never-shown"));
    // An identity cannot come from the environment: it would be printed everywhere.
    let ws = Workspace::new()
        .file("app.yaml", format!("name: ${{env:APP_NAME}}\n{IDP}"))
        .env("APP_NAME", "secret-name");
    let out = validate_json(&ws, &[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        findings(&out),
        vec![error(
            "substitution-not-allowed",
            "manifests/app.yaml",
            1,
            7
        )]
    );
    assert!(!out.stdout.contains("secret-name"));
}

/// A proxy on loopback that records what it receives and answers 502.
struct RecordingProxy {
    url: String,
    received: Arc<Mutex<String>>,
}

impl RecordingProxy {
    fn start() -> RecordingProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(String::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                let mut buf = [0u8; 8192];
                if let Ok(n) = stream.read(&mut buf) {
                    log.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        RecordingProxy { url, received }
    }

    fn received(&self) -> String {
        self.received.lock().unwrap().clone()
    }
}

#[test]
fn loopback_is_reached_directly_whatever_the_proxy_variables_say() {
    let server = Server::start();
    let proxy = RecordingProxy::start();
    let ws = server
        .connect(Workspace::new().file("app.yaml", format!("id: 11111111-1111-4111-8111-111111111111\nname: app\nidentity_provider:\n  name: {DEFAULT_IDP}\n")))
        .env("HTTP_PROXY", &proxy.url)
        .env("HTTPS_PROXY", &proxy.url)
        .env("ALL_PROXY", &proxy.url)
        .env("http_proxy", &proxy.url);
    let out = ws.run(&["plan", "manifests"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(proxy.received(), "", "the proxy must receive nothing");
}

#[test]
fn credentials_cross_a_proxy_only_inside_tls() {
    let proxy = RecordingProxy::start();
    let ws = Workspace::new()
        .file("app.yaml", client(""))
        .env("BORUTA_ADMIN_URL", "https://boruta.invalid")
        .env("BORUTA_TOKEN_URL", "https://boruta.invalid/oauth/token")
        .env("BORUTA_CLIENT_ID", "00000000-b007-4000-8000-000000000001")
        .env("BORUTA_CLIENT_SECRET", "secret-through-the-proxy")
        .env("HTTPS_PROXY", &proxy.url)
        .env("HTTP_PROXY", &proxy.url);
    let (out, _) = ws.run_within(
        &["plan", "manifests", "--max-retries", "0"],
        Duration::from_secs(30),
    );
    assert_eq!(out.code, 1);
    let seen = proxy.received();
    // Only a CONNECT: the credentials would travel inside the TLS tunnel.
    assert!(
        seen.starts_with("CONNECT boruta.invalid:443 HTTP/1.1"),
        "{seen}"
    );
    assert!(
        !seen.to_ascii_lowercase().contains("authorization") && !seen.contains("secret-through"),
        "{seen}"
    );
    // Plain http to such a host is refused before anything is sent, proxy or not.
    let ws = ws
        .env("BORUTA_ADMIN_URL", "http://boruta.invalid")
        .env("BORUTA_TOKEN_URL", "http://boruta.invalid/oauth/token");
    let before = proxy.received().len();
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .status(1)
        .stderr(r"error: --admin-url `http://boruta.invalid` is plain http to a host that is not loopback: credentials would travel in clear text (through any proxy too). Use https, or --allow-insecure-http if you really mean it
")
        .run();
    assert_eq!(proxy.received().len(), before);
}

#[test]
fn an_endless_answer_stops_at_the_limit_with_a_clear_error() {
    let server = Server::start();
    server
        .sandbox
        .add_fault("GET /api/clients endless-body".parse().unwrap());
    let ws = server.connect(Workspace::new().file("app.yaml", client("")));
    Test::new(&ws)
        .args(&["plan", "manifests", "--max-response-bytes", "1048576"])
        .sandbox(&server)
        .status(1)
        .stderr(r"error: listing clients (GET /api/clients): the answer is larger than --max-response-bytes (1048576 bytes); raise the limit if the server really holds that much
")
        .run();
}

/// Manifests that need the clients, the scopes and the identity providers: three
/// concurrent reads wait for the one token.
fn three_reads(server: &Server) -> Workspace {
    server.connect(Workspace::new().file(
        "app.yaml",
        format!("id: 11111111-1111-4111-8111-111111111111\nname: app\nauthorized_scopes:\n  - name: openid\nidentity_provider:\n  name: {DEFAULT_IDP}\n"),
    ))
}

#[test]
fn a_dead_token_endpoint_is_tried_once_per_attempt_for_everyone() {
    let server = Server::start();
    server
        .sandbox
        .add_fault("POST /oauth/token drop".parse().unwrap());
    let ws = three_reads(&server);
    let out = Test::new(&ws)
        .args(&["plan", "manifests", "--max-retries", "2"])
        .sandbox(&server)
        .redact_between("retrying in ", " ms", "[MS]")
        .status(1)
        .stderr(r"warning: requesting a token with scopes `clients:manage:all identity-providers:manage:all` from [SANDBOX]/oauth/token: the server closed the connection before the answer was complete; retrying in [MS] ms (attempt 2 of 3)
warning: requesting a token with scopes `clients:manage:all identity-providers:manage:all` from [SANDBOX]/oauth/token: the server closed the connection before the answer was complete; retrying in [MS] ms (attempt 3 of 3)
error: requesting a token with scopes `clients:manage:all identity-providers:manage:all` from [SANDBOX]/oauth/token failed: the server closed the connection before the answer was complete (after 3 attempt(s))
")
        .run();
    assert_eq!(server.count("POST", "/oauth/token"), 3, "{}", out.stderr);
}

#[test]
fn a_hanging_token_endpoint_costs_one_round_of_retries() {
    let server = Server::start();
    server
        .sandbox
        .add_fault("POST /oauth/token hang".parse().unwrap());
    let ws = three_reads(&server);
    let started = std::time::Instant::now();
    let out = Test::new(&ws)
        .args(&["plan", "manifests", "--timeout", "1", "--max-retries", "2"])
        .sandbox(&server)
        .redact_between("retrying in ", " ms", "[MS]")
        .status(1)
        .stderr(r"warning: requesting a token with scopes `clients:manage:all identity-providers:manage:all` from [SANDBOX]/oauth/token: timed out; retrying in [MS] ms (attempt 2 of 3)
warning: requesting a token with scopes `clients:manage:all identity-providers:manage:all` from [SANDBOX]/oauth/token: timed out; retrying in [MS] ms (attempt 3 of 3)
error: requesting a token with scopes `clients:manage:all identity-providers:manage:all` from [SANDBOX]/oauth/token failed: timed out (after 3 attempt(s))
")
        .run();
    let elapsed = started.elapsed();
    assert_eq!(server.count("POST", "/oauth/token"), 3, "{}", out.stderr);
    // 3 attempts of 1 s plus at most 0.2 + 0.4 s of backoff; loosely bounded.
    assert!(elapsed < Duration::from_secs(8), "took {elapsed:?}");
}

#[test]
fn a_server_that_ignores_the_requested_id_stops_the_run() {
    let server = Server::start();
    server
        .sandbox
        .add_fault("POST /api/clients ignore-id".parse().unwrap());
    let mut ws = server.connect(Workspace::new());
    for i in 0..3 {
        ws = ws.file(
            &format!("svc-{i}.yaml"),
            format!("id: 00000000-0000-4000-8000-{i:012}\nname: svc-{i}\nidentity_provider:\n  name: {DEFAULT_IDP}\n"),
        );
    }
    Test::new(&ws)
        .args(&["apply", "manifests", "--auto-approve", "--concurrency", "1"])
        .sandbox(&server)
        .redact_between("created id ", " named", "[RANDOM-ID]")
        .status(1)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all identity-providers:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + svc-0 (00000000-0000-4000-8000-000000000000) will be created  [manifests/svc-0.yaml:2]
      + name              = "svc-0"
      + identity_provider = "Default identity provider"
  + svc-1 (00000000-0000-4000-8000-000000000001) will be created  [manifests/svc-1.yaml:2]
      + name              = "svc-1"
      + identity_provider = "Default identity provider"
  + svc-2 (00000000-0000-4000-8000-000000000002) will be created  [manifests/svc-2.yaml:2]
      + name              = "svc-2"
      + identity_provider = "Default identity provider"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 3 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).

Creating 3 client(s), at most 1 at a time:
  ✗ svc-0 (00000000-0000-4000-8000-000000000000) failed: the server answered 201 but created id [RANDOM-ID] named `svc-0` instead of id 00000000-0000-4000-8000-000000000000 named `svc-0`: it ignored the requested id, so every retry would create another copy. No more creates are started; delete the stray client and check what sits between boruta-gitops and boruta

Apply: 0 created, 0 already present, 1 failed, 2 not attempted.
Nothing reported as done is undone. Fix the failures and run apply again: it converges.
"#)
        .stderr(r"warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/svc-0.yaml:2:7
  |
2 | name: svc-0
  |       ^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/svc-0.yaml:2:7
  |
2 | name: svc-0
  |       ^^^^^

warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/svc-1.yaml:2:7
  |
2 | name: svc-1
  |       ^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/svc-1.yaml:2:7
  |
2 | name: svc-1
  |       ^^^^^

warning[default-grant-types]: `supported_grant_types` is not declared: boruta 0.10 gives a new client 12 grant type(s) (client_credentials, password, authorization_code, agent_code, refresh_token, implicit, revoke, introspect, id_token, vp_token, preauthorized_code, agent_credentials), `password` and `implicit` included, and other versions differ (boruta master: client_credentials, authorization_code). Declare the grants this client needs
  --> manifests/svc-2.yaml:2:7
  |
2 | name: svc-2
  |       ^^^^^

warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/svc-2.yaml:2:7
  |
2 | name: svc-2
  |       ^^^^^

0 error(s), 6 warning(s), 0 note(s) in 3 client(s) from 3 file(s)
error[server-ignored-id]: the server answered 201 but created id [RANDOM-ID] named `svc-0` instead of id 00000000-0000-4000-8000-000000000000 named `svc-0`: it ignored the requested id, so every retry would create another copy. No more creates are started; delete the stray client and check what sits between boruta-gitops and boruta
  --> manifests/svc-0.yaml:1:5
  |
1 | id: 00000000-0000-4000-8000-000000000000
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^

")
        .run();
    // One stray copy, under an id nobody asked for; not one per client or per retry.
    let stray = server.ids_named("svc-0");
    assert_eq!(stray.len(), 1);
    assert_ne!(stray[0], "00000000-0000-4000-8000-000000000000");
    assert!(server.ids_named("svc-1").is_empty() && server.ids_named("svc-2").is_empty());
}

#[cfg(unix)]
#[test]
fn sigterm_halfway_through_creates_reports_and_keeps_every_secret() {
    let server = Server::start_with(Config {
        latency: Duration::from_millis(20),
        ..Config::default()
    });
    let mut ws = server.connect(Workspace::new());
    for i in 0..200 {
        ws = ws.file(
            &format!("svc-{i:03}.yaml"),
            format!("id: 00000000-0000-4000-8000-{i:012}\nname: svc-{i}\nidentity_provider:\n  name: {DEFAULT_IDP}\n"),
        );
    }
    // Output goes to files: a full pipe must not stall the run while the test waits.
    let stdout_file = std::fs::File::create(ws.path().join("stdout.txt")).unwrap();
    let stderr_file = std::fs::File::create(ws.path().join("stderr.txt")).unwrap();
    let mut child = ws
        .command(&[
            "apply",
            "manifests",
            "--auto-approve",
            "--concurrency",
            "4",
            "--secrets-out",
            "secrets.jsonl",
        ])
        .stdout(stdout_file)
        .stderr(stderr_file)
        .spawn()
        .unwrap();
    let posts = || server.count("POST", "/api/clients");
    wait_until(Duration::from_secs(30), "60 creates", || posts() >= 60);
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let stdout = std::fs::read_to_string(ws.path().join("stdout.txt")).unwrap();
    let stderr = std::fs::read_to_string(ws.path().join("stderr.txt")).unwrap();
    assert_eq!(status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("SIGTERM received: no new request starts (create, update or delete); waiting for those in flight (send it again to exit at once)\n"),
        "{stderr}"
    );
    let created: Vec<String> = server.sandbox.with_state(|s| {
        s.clients
            .iter()
            .filter(|(_, c)| {
                c.fields["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("svc-"))
            })
            .map(|(id, _)| id.clone())
            .collect()
    });
    assert!(
        (60..200).contains(&created.len()),
        "{} created",
        created.len()
    );
    let report = format!(
        "Apply: {} created, 0 already present, 0 failed, {} not attempted.",
        created.len(),
        200 - created.len()
    );
    assert!(stdout.contains(&report), "{report}\n{stdout}");
    // Every created client's secret reached the file, creates in flight included.
    let secrets = std::fs::read_to_string(ws.path().join("secrets.jsonl")).unwrap();
    assert_eq!(secrets.lines().count(), created.len());
    for id in &created {
        let secret = server
            .sandbox
            .with_state(|s| s.clients[id].fields["secret"].as_str().unwrap().to_string());
        assert!(secrets.contains(&secret), "the secret of {id} is missing");
    }
    let again = ws.run(&["apply", "manifests", "--auto-approve"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        ws.run(&["plan", "manifests", "--detailed-exitcode"]).code,
        0
    );
}

const FORGED: &str = "evil\n  + injected (00000000-0000-0000-0000-000000000000) will be created\u{1b}[2J\u{202e}gnp.exe";

/// No raw control character reaches the reader, and no line was forged.
fn assert_unforged(what: &str, text: &str) {
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{202e}'),
        "{what}: raw control:\n{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.trim_start().starts_with("+ injected")),
        "{what}: a forged plan line:\n{text}"
    );
}

fn assert_neutral(what: &str, text: &str) {
    assert_unforged(what, text);
    assert!(
        text.contains("\\u{1b}") && text.contains("\\u{202e}gnp.exe"),
        "{what}: escaped form missing:\n{text}"
    );
}

#[test]
fn server_texts_with_controls_are_neutralised_in_every_format() {
    let server = Server::start();
    server.create(serde_json::json!({
        "id": "99999999-9999-4999-8999-999999999999", "name": FORGED,
        "identity_provider": {"id": server.idp_id(DEFAULT_IDP)}
    }));
    let ws = server.connect(Workspace::new().file("app.yaml", client("")));
    for format in ["human", "markdown"] {
        for command in ["plan", "drift"] {
            let out = ws.run(&[command, "manifests", "--format", format]);
            assert_neutral(&format!("{command} --format {format}"), &out.stdout);
        }
    }
    // JSON stays exact.
    let json = ws.run(&["plan", "manifests", "--format", "json"]).json();
    assert!(json["unmanaged"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["name"] == FORGED));
    // Manifest values quoted in findings, in each findings format.
    let ws = Workspace::new().file(
        "app.yaml",
        client("redirect_uris: [\"https://a.example/cb\\e[2J\\u202e#x\"]\n"),
    );
    let human = Test::new(&ws)
        .args(&["validate", "manifests", "--format", "human"])
        .status(1)
        .stdout(r#"error[invalid-redirect-uri]: redirect URI `https://a.example/cb\u{1b}[2J\u{202e}#x` is invalid: it needs a scheme and a `//` host part, and no `#` fragment
  --> manifests/app.yaml:5:17
  |
5 | redirect_uris: ["https://a.example/cb\e[2J\u202e#x"]
  |                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^

1 error(s), 0 warning(s), 0 note(s) in 0 client(s) from 1 file(s)
"#)
        .run();
    let github = Test::new(&ws)
        .args(&["validate", "manifests", "--format", "github"])
        .status(1)
        .stdout(r"::error file=manifests/app.yaml,line=5,col=17,title=invalid-redirect-uri::redirect URI `https://a.example/cb\u{1b}[2J\u{202e}#x` is invalid: it needs a scheme and a `//` host part, and no `#` fragment
")
        .run();
    for (format, out) in [("human", human), ("github", github)] {
        assert!(
            !out.stdout.contains('\u{1b}') && !out.stdout.contains('\u{202e}'),
            "{format}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn server_values_in_a_drift_are_neutralised_element_by_element_and_line_by_line() {
    // The values a drift shows come from the server: list elements and the lines of a
    // multi-line value are rendered one by one, each through the same neutralisation.
    let server = Server::start();
    let id = "11111111-1111-4111-8111-111111111111";
    let idp = server.idp_id(DEFAULT_IDP);
    server.sandbox.with_state(|s| {
        let serde_json::Value::Object(values) = serde_json::json!({
            "name": "app",
            "redirect_uris": ["https://a.example/cb", "https://b.example/cb\u{1b}[2J\u{202e}gnp.exe"],
            "jwt_public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\u{1b}[2J\u{202e}\n+ injected (0) will be created\n-----END PUBLIC KEY-----\n",
        }) else {
            unreachable!()
        };
        s.insert_raw_client(id, values, Some(idp));
    });
    let manifest = client("redirect_uris: [\"https://a.example/cb\"]\njwt_public_key: |\n  -----BEGIN PUBLIC KEY-----\n  AAAA\n  -----END PUBLIC KEY-----\n");
    let ws = server.connect(Workspace::new().file("app.yaml", manifest));
    for args in [
        ["plan", "--update", "--format", "human"],
        ["plan", "--update", "--format", "markdown"],
        ["drift", "manifests", "--format", "human"],
        ["drift", "manifests", "--format", "markdown"],
    ] {
        let mut args = args.to_vec();
        if args[0] == "plan" {
            args.insert(1, "manifests");
        }
        let out = ws.run(&args);
        let what = args.join(" ");
        assert_unforged(&what, &out.stdout);
        assert!(
            out.stdout.contains("\\u{202e}gnp.exe"),
            "{what}: escaped form missing:\n{}",
            out.stdout
        );
    }
}

#[test]
fn a_hostile_answer_to_an_update_is_neutralised_in_apply_output_after_one_read_back() {
    // A server (or something in between) answers the PATCH with a 422 whose field names
    // and messages would forge report lines and drive the terminal, then a read-back.
    use crate::fakes::{HttpServer, Response};
    const ID: &str = "11111111-1111-4111-8111-111111111111";
    const IDP_ID: &str = "7f6b2a8e-6c1d-4d5e-9f3a-2b1c0d9e8f7a";
    let record = serde_json::json!({
        "id": ID, "name": "app", "pkce": false, "authorized_scopes": [], "supported_grant_types": ["client_credentials"],
        "key_pair_type": {"type": "rsa", "modulus_size": "2048", "exponent_size": "65537"},
        "identity_provider": {"id": IDP_ID, "name": "Default"},
    });
    let hostile = HttpServer::start(Arc::new(move |request| {
        let path = request.path().to_string();
        match (request.method.as_str(), path.as_str()) {
            ("GET", "/api/clients") => Response::json(200, serde_json::json!({"data": [record]})),
            ("GET", "/api/identity-providers") => Response::json(
                200,
                serde_json::json!({"data": [{"id": IDP_ID, "name": "Default"}]}),
            ),
            ("PATCH", _) => Response::json(
                422,
                serde_json::json!({"code": "UNPROCESSABLE_ENTITY", "message": "x", "errors": {
                    "pkce\u{1b}[2J": ["\u{202e}gnp.exe\n  + injected (0) created"]
                }}),
            ),
            ("GET", _) => Response::json(200, serde_json::json!({"data": record})),
            _ => Response::json(404, serde_json::json!({})),
        }
    }));
    let ws = Workspace::new()
        .file(
            "app.yaml",
            client("pkce: true\nsupported_grant_types: [client_credentials]\n"),
        )
        .env("BORUTA_ADMIN_URL", &hostile.url)
        .env("BORUTA_ACCESS_TOKEN", "token-of-the-pipeline-0123456789");
    let out = Test::new(&ws)
        .args(&["apply", "manifests", "--update", "--auto-approve"])
        .redact(&hostile.url, "[HOSTILE]")
        .status(1)
        .stdout(r"boruta-gitops plan against [HOSTILE]
scopes requested: clients:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  ~ app (11111111-1111-4111-8111-111111111111) will be updated  [manifests/app.yaml:2]
      ~ pkce   = false -> true

Plan: 0 to create, 1 to update, 0 to re-send, 0 drifted, 0 in sync, 0 unmanaged (0 system), 0 conflict(s).

Updating 1 client(s), at most 8 at a time:
  ✗ app (11111111-1111-4111-8111-111111111111) failed: boruta refused the update (422): pkce\u{1b}[2J: \u{202e}gnp.exe\n  + injected (0) created; read back: changed none; not changed `pkce`

Apply: 0 created, 0 updated, 0 already present, 1 failed, 0 not attempted.
Nothing reported as done is undone. Fix the failures and run apply again: it converges.
")
        .stderr(r"warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/app.yaml:2:7
  |
2 | name: app
  |       ^^^

0 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
error[rejected-by-server]: boruta rejected `pkce\u{1b}[2J`: \u{202e}gnp.exe\n  + injected (0) created
  --> manifests/app.yaml:2:7
  |
2 | name: app
  |       ^^^

")
        .run();
    assert_unforged("apply stdout", &out.stdout);
    assert_unforged("apply stderr", &out.stderr);
    // The one read-back, and no other write than the PATCH.
    let calls: Vec<(String, String)> = hostile
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.path().to_string()))
        .collect();
    assert_eq!(
        calls.iter().filter(|(m, _)| m != "GET").collect::<Vec<_>>(),
        [&("PATCH".to_string(), format!("/api/clients/{ID}"))]
    );
    assert!(calls.contains(&("GET".to_string(), format!("/api/clients/{ID}"))));
}

#[test]
fn a_hostile_name_in_a_create_answer_is_neutralised_and_stops_the_run() {
    // A server (or something in between) answers the create with another id and a name
    // that would forge report lines and drive the terminal: the run stops after that one
    // create, and the name it reports is shown escaped.
    use crate::fakes::{HttpServer, Response};
    const IDP_ID: &str = "7f6b2a8e-6c1d-4d5e-9f3a-2b1c0d9e8f7a";
    let hostile = HttpServer::start(Arc::new(move |request| {
        let path = request.path().to_string();
        match (request.method.as_str(), path.as_str()) {
            ("GET", "/api/clients") => Response::json(200, serde_json::json!({"data": []})),
            ("GET", "/api/identity-providers") => Response::json(
                200,
                serde_json::json!({"data": [{"id": IDP_ID, "name": "Default"}]}),
            ),
            ("POST", "/api/clients") => Response::json(
                201,
                serde_json::json!({"data": {"id": "99999999-9999-4999-8999-999999999999", "name": FORGED}}),
            ),
            _ => Response::json(404, serde_json::json!({})),
        }
    }));
    let ws = Workspace::new()
        .file(
            "app.yaml",
            client("supported_grant_types: [client_credentials]\n"),
        )
        .file(
            "other.yaml",
            client("supported_grant_types: [client_credentials]\n")
                .replace("name: app", "name: other")
                .replace(
                    "11111111-1111-4111-8111-111111111111",
                    "22222222-2222-4222-8222-222222222222",
                ),
        )
        .env("BORUTA_ADMIN_URL", &hostile.url)
        .env("BORUTA_ACCESS_TOKEN", "token-of-the-pipeline-0123456789");
    let out = ws.run(&["apply", "manifests", "--auto-approve", "--concurrency", "1"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_neutral("apply stdout", &out.stdout);
    assert_neutral("apply stderr", &out.stderr);
    let posts = hostile
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(
        posts, 1,
        "no more creates after the server ignored the requested id"
    );
}
