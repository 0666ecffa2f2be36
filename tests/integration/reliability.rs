//! Reliability (issue #6): a fault matrix against the sandbox, and crash safety. For every
//! fault: a clear message, the right exit code, no duplicate client, and a re-run that
//! converges to an empty plan.

use crate::support::{Output, Server, Workspace, DEFAULT_IDP};
use boruta_gitops::sandbox::Config;

fn manifest(i: usize) -> String {
    format!("id: 00000000-0000-4000-8000-{i:012}\nname: svc-{i}\nidentity_provider:\n  name: {DEFAULT_IDP}\n")
}

fn workspace(server: &Server, count: usize) -> Workspace {
    let mut ws = server.connect(Workspace::new());
    for i in 0..count {
        ws = ws.file(&format!("svc-{i:03}.yaml"), manifest(i));
    }
    ws
}

/// Each `svc-{i}` exists exactly once, under its pinned id (a duplicate under another id,
/// a wrong id or a missing client all fail this).
fn assert_each_once(server: &Server, count: usize) {
    for i in 0..count {
        assert_eq!(
            server.ids_named(&format!("svc-{i}")),
            [format!("00000000-0000-4000-8000-{i:012}")],
            "svc-{i}"
        );
    }
}

/// Applies with the fault, checks the outcome, then clears the fault and converges.
fn matrix_row(fault: &str, extra: &[&str], expected_exit: i32, expected_message: &str) {
    let server = Server::start();
    server.sandbox.add_fault(fault.parse().unwrap());
    let ws = workspace(&server, 3);
    let mut args = vec!["apply", "manifests", "--auto-approve", "--concurrency", "1"];
    args.extend_from_slice(extra);
    let out: Output = ws.run(&args);
    assert_eq!(
        out.code, expected_exit,
        "{fault}:\n{}\n{}",
        out.stdout, out.stderr
    );
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains(expected_message),
        "{fault}: expected `{expected_message}` in:\n{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    server.sandbox.clear_faults();
    let again = ws.run(&["apply", "manifests", "--auto-approve"]);
    assert_eq!(
        again.code, 0,
        "{fault}: re-run:\n{}\n{}",
        again.stdout, again.stderr
    );
    assert_eq!(
        ws.run(&["plan", "manifests", "--detailed-exitcode"]).code,
        0,
        "{fault}: plan after re-run"
    );
    assert_each_once(&server, 3);
}

#[test]
fn token_endpoint_answering_500() {
    matrix_row(
        "POST /oauth/token status=500",
        &[],
        1,
        "the token endpoint answered 500 (HTTP 500). check --token-url and the server's logs",
    );
}

#[test]
fn token_endpoint_answering_slowly() {
    // Slower than the timeout every time: retried, then a clear failure.
    matrix_row(
        "POST /oauth/token delay-ms=1500",
        &["--timeout", "1", "--max-retries", "1"],
        1,
        "failed: timed out (after 2 attempt(s))",
    );
    // Slow once: the retry succeeds.
    matrix_row(
        "POST /oauth/token nth=1 delay-ms=1500",
        &["--timeout", "1"],
        0,
        "Apply: 3 created",
    );
}

#[test]
fn list_answering_429_with_retry_after() {
    matrix_row(
        "GET /api/clients nth=1 status=429 retry-after=1",
        &[],
        0,
        "Apply: 3 created",
    );
}

#[test]
fn list_answering_503_every_time() {
    matrix_row(
        "GET /api/clients status=503",
        &["--max-retries", "1"],
        1,
        "listing clients (GET /api/clients): boruta answered 503",
    );
}

#[test]
fn list_hanging_past_the_timeout() {
    matrix_row(
        "GET /api/clients nth=1 hang",
        &["--timeout", "1"],
        0,
        "Apply: 3 created",
    );
    matrix_row(
        "GET /api/clients hang",
        &["--timeout", "1", "--max-retries", "1"],
        1,
        "listing clients (GET /api/clients) failed: timed out (after 2 attempt(s))",
    );
}

#[test]
fn list_with_a_truncated_body() {
    matrix_row(
        "GET /api/clients nth=1 truncate",
        &[],
        0,
        "Apply: 3 created",
    );
    matrix_row("GET /api/clients truncate", &["--max-retries", "1"], 1, "listing clients (GET /api/clients) failed: the server closed the connection before the answer was complete (after 2 attempt(s))");
}

#[test]
fn creates_answering_429_503_422_hanging_or_dropping() {
    matrix_row(
        "POST /api/clients nth=2 status=429 retry-after=1",
        &[],
        0,
        "Apply: 3 created",
    );
    matrix_row(
        "POST /api/clients nth=2 status=503",
        &[],
        0,
        "Apply: 3 created",
    );
    matrix_row(
        "POST /api/clients nth=2 status=422",
        &[],
        1,
        "Apply: 2 created, 0 already present, 1 failed",
    );
    matrix_row(
        "POST /api/clients nth=2 delay-ms=2500",
        &["--timeout", "1"],
        0,
        "Apply: 3 created",
    );
    matrix_row(
        "POST /api/clients nth=2 commit-then-drop",
        &[],
        0,
        "Apply: 3 created",
    );
    matrix_row(
        "POST /api/clients status=503",
        &["--max-retries", "1"],
        1,
        "failed: creating client `svc-0`",
    );
}

#[test]
fn token_expiring_mid_run() {
    matrix_row(
        "POST /api/clients nth=2 expire-tokens",
        &[],
        0,
        "Apply: 3 created",
    );
}

/// SIGKILL halfway through 200 creates, then a re-run: every client exists exactly once.
#[cfg(unix)]
#[test]
fn apply_killed_halfway_then_rerun() {
    let server = Server::start_with(Config {
        latency: std::time::Duration::from_millis(20),
        ..Config::default()
    });
    let ws = workspace(&server, 200);
    let mut child = server
        .command(
            &ws,
            &["apply", "manifests", "--auto-approve", "--concurrency", "4"],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // 200 creates, 4 at a time, 20 ms each: about one second. Kill once some are done.
    crate::support::wait_until(std::time::Duration::from_secs(20), "60 creates", || {
        let names = server.client_names();
        names.iter().filter(|n| n.starts_with("svc-")).count() >= 60
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let created = server
        .client_names()
        .iter()
        .filter(|n| n.starts_with("svc-"))
        .count();
    assert!(
        (60..200).contains(&created),
        "killed halfway: {created} created"
    );
    let out = ws.run(&["apply", "manifests", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_each_once(&server, 200);
    assert_eq!(
        ws.run(&["plan", "manifests", "--detailed-exitcode"]).code,
        0
    );
}
