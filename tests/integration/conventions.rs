//! Command-line conventions (issue #12): completions, `--color`, one-line retry
//! warnings, messages for a server that is not boruta and for https spoken to http, and
//! the confirmation prompt after the whole plan.

use crate::fakes::{HttpServer, Response};
#[cfg(unix)]
use crate::support::Terminal;
use crate::support::{Server, Test, Workspace, IDP};
use std::sync::Arc;

fn client() -> String {
    format!("id: 11111111-1111-4111-8111-111111111111\nname: app\nsupported_grant_types: [client_credentials]\n{IDP}")
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_boruta__gitops()"),
        ("zsh", "#compdef boruta-gitops"),
        ("fish", "complete -c boruta-gitops"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = Workspace::new().run(&["completions", shell]);
        assert_eq!(out.code, 0, "{shell}");
        assert!(
            out.stdout.contains(marker),
            "{shell}:\n{}",
            &out.stdout[..out.stdout.len().min(400)]
        );
        assert!(
            out.stdout.contains("drift"),
            "{shell} completes the commands"
        );
    }
}

#[test]
fn color_always_never_and_auto() {
    let ws = Workspace::new().file("app.yaml", client() + "access_token_ttl: 0\n");
    Test::new(&ws)
        .args(&["validate", "manifests", "--color", "always"])
        .status(1)
        .stdout("\u{001b}[1;31merror[ttl-out-of-range]\u{001b}[0m: `access_token_ttl` 0 is out of range 1..86400\n  --> manifests/app.yaml:6:19\n  |\n6 | access_token_ttl: 0\n  |                   \u{001b}[1;31m^\u{001b}[0m\n\n1 error(s), 0 warning(s), 0 note(s) in 0 client(s) from 1 file(s)\n")
        .run();
    let never = ws.run(&["--color", "never", "validate", "manifests"]);
    assert!(!never.stdout.contains('\u{1b}'), "{}", never.stdout);
    // auto: not a terminal here, so no colour.
    let auto = ws.run(&["validate", "manifests"]);
    assert!(!auto.stdout.contains('\u{1b}'));
}

#[test]
fn retry_warnings_are_one_readable_line() {
    let server = Server::start();
    server
        .sandbox
        .add_fault("GET /api/clients nth=1 status=503".parse().unwrap());
    let ws = server.connect(Workspace::new().file("app.yaml", client()));
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .redact_between("retrying in ", " ms", "[MS]")
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + app (11111111-1111-4111-8111-111111111111) will be created  [manifests/app.yaml:2]
      + name                  = "app"
      + supported_grant_types = ["client_credentials"]
      + identity_provider     = "7f6b2a8e-6c1d-4d5e-9f3a-2b1c0d9e8f7a"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning: listing clients (GET /api/clients): HTTP 503; retrying in [MS] ms (attempt 2 of 5)
warning[long-lived-access-token]: access_token_ttl is not declared, and boruta's default is 86400 s, above the policy's maximum of 3600 s: a stolen token stays usable that long (declare a shorter one, or raise max_ttl in the policy)
  --> manifests/app.yaml:2:7
  |
2 | name: app
  |       ^^^

0 error(s), 1 warning(s), 0 note(s) in 1 client(s) from 1 file(s)
")
        .run();
    // RUST_LOG asks for the full log format instead.
    server
        .sandbox
        .add_fault("GET /api/clients nth=1 status=503".parse().unwrap());
    let out = ws.env("RUST_LOG", "warn").run(&["plan", "manifests"]);
    assert!(out.stderr.contains(" WARN "), "{}", out.stderr);
}

#[test]
fn a_server_that_is_not_boruta_is_summarised() {
    let page = "<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>nginx</h1>"
        .to_string()
        + &"x".repeat(5000)
        + "</body></html>";
    let html = HttpServer::start(Arc::new(move |_request| Response {
        status: 404,
        body: page.clone().into_bytes(),
    }));
    let ws = Workspace::new()
        .file("app.yaml", client())
        .env("BORUTA_ADMIN_URL", &html.url)
        .env("BORUTA_ACCESS_TOKEN", "a-token");
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .status(1)
        .stderr(r#"error: listing clients (GET /api/clients): boruta answered 404 an HTML page titled "404 Not Found" (5096 bytes), not boruta's JSON. is --admin-url the admin listener (the one serving /api)?
"#)
        .run();
}

#[test]
fn https_spoken_to_a_plain_http_server_says_so() {
    let server = Server::start();
    let https = server.sandbox.base_url().replace("http://", "https://");
    let ws = server
        .connect(Workspace::new().file("app.yaml", client()))
        .env("BORUTA_ADMIN_URL", &https)
        .env("BORUTA_TOKEN_URL", &format!("{https}/oauth/token"));
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .redact(&https, "[HTTPS-SANDBOX]")
        .status(1)
        .stderr(r"error: requesting a token with scopes `clients:manage:all` from [HTTPS-SANDBOX]/oauth/token failed: TLS: received corrupt message of type InvalidContentType. The server does not seem to speak TLS on this port: if it is a plain http listener, use an http:// URL (loopback only) or the server's https port
")
        .run();
}

#[cfg(unix)]
#[test]
fn the_prompt_comes_after_the_whole_plan_when_stdout_is_piped() {
    let server = Server::start();
    let ws = server.connect(Workspace::new().file("app.yaml", client()));
    let command = format!("{} apply manifests | cat", crate::support::BIN);
    // The terminal gets the workspace's environment, not the caller's: a BORUTA_* or
    // RUST_LOG of whoever runs the suite must not change what the prompt follows.
    let mut terminal = Terminal::spawn(&ws.command(&[]), &command);
    terminal.answer("Create 1 client(s) on", "no\n");
    // The status is the pipeline's, so `cat`'s: the screen is what tells.
    let (_, screen) = terminal.finish();
    let plan_end = screen.find("Plan: 1 to create").expect(&screen);
    let prompt = screen.find("Create 1 client(s) on").expect(&screen);
    assert!(
        plan_end < prompt,
        "the prompt came before the end of the plan:\n{screen}"
    );
}

/// The caller's environment does not reach the terminal: the prompt test above passes
/// when run by someone whose shell sets an environment, an admin URL and a log level
/// (before the terminal was isolated it failed so: `script` inherited BORUTA_GITOPS_ENV,
/// the binary looked for an environment file and exited before any prompt).
#[cfg(unix)]
#[test]
fn the_prompt_test_does_not_depend_on_the_callers_environment() {
    let name = "conventions::the_prompt_comes_after_the_whole_plan_when_stdout_is_piped";
    let run = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--test-threads=1"])
        .env("BORUTA_GITOPS_ENV", "production")
        .env("BORUTA_ADMIN_URL", "http://127.0.0.1:9")
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        stdout
            .lines()
            .find(|l| l.starts_with("test result:"))
            .map(|l| &l[..28]),
        Some("test result: ok. 1 passed; 0"),
        "{stdout}"
    );
}
