//! `serve` (issue #23): the real binary reconciling the real sandbox in the background,
//! observed through its endpoints, the sandbox's state and request log, its logs and its
//! exit. Intervals are 1s (the shortest `serve` accepts) and every wait polls with a
//! deadline; no test sleeps to synchronise.

use crate::support::{poll_until, Server, Workspace, BOOTSTRAP_ID, BOOTSTRAP_SECRET, DEFAULT_IDP};
use boruta_gitops::sandbox::Fault;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ID: &str = "00000000-0000-4000-8000-00000000a001";
const SECRET: &str = "serve-test-client-secret-0123456789abcdef";
const TRIGGER: &str = "serve-test-trigger-token-5f1e";
/// The longest any condition is waited for.
const PATIENCE: Duration = Duration::from_secs(30);

/// A client manifest whose secret comes from the environment.
fn manifest(id: &str, name: &str) -> String {
    format!(
        "id: {id}\nname: {name}\nconfidential: true\nsecret: ${{env:SERVE_TEST_SECRET}}\nredirect_uris: [\"https://{name}.example.com/cb\"]\nsupported_grant_types: [client_credentials, authorization_code]\naccess_token_ttl: 3600\nidentity_provider:\n  name: {DEFAULT_IDP}\n"
    )
}

fn workspace() -> Workspace {
    Workspace::new().file("app.yaml", manifest(ID, "app"))
}

/// `serve manifests --listen 127.0.0.1:0 ARGS`, connected to `server` by the `BORUTA_*`
/// variables, the client's secret in the environment.
fn serve_command(server: &Server, ws: &Workspace, args: &[&str]) -> std::process::Command {
    let mut all = vec!["serve", "manifests", "--listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let mut command = server.command(ws, &all);
    command
        .env("SERVE_TEST_SECRET", SECRET)
        .env("NO_COLOR", "1");
    command
}

/// A `serve` running in the background, its stderr collected as it comes.
struct Serving {
    child: Child,
    stderr: Arc<Mutex<String>>,
    address: String,
}

impl Serving {
    /// Starts `serve manifests --listen 127.0.0.1:0 ARGS` and waits for its address.
    fn start(server: &Server, ws: &Workspace, args: &[&str], envs: &[(&str, &str)]) -> Serving {
        let mut command = serve_command(server, ws, args);
        for (key, value) in envs {
            command.env(key, value);
        }
        Serving::spawn(command)
    }

    /// Starts `command` and waits for the address it listens on.
    fn spawn(mut command: std::process::Command) -> Serving {
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("start serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let collected = stderr.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                collected
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let mut serving = Serving {
            child,
            stderr,
            address: String::new(),
        };
        serving.address = serving.wait_for("the listening address", |s| {
            let log = s.log();
            let start = log.find(" on http://")? + " on http://".len();
            let end = start + log[start..].find(|c: char| c.is_whitespace() || c == '"')?;
            Some(log[start..end].to_string())
        });
        serving
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Polls `found` until it returns a value; fails the test after [`PATIENCE`], or
    /// at once if serve exited.
    fn wait_for<T>(&mut self, what: &str, found: impl Fn(&Serving) -> Option<T>) -> T {
        let (mut value, mut exited) = (None, None);
        poll_until(PATIENCE, || {
            value = found(self);
            exited = self.child.try_wait().unwrap();
            value.is_some() || exited.is_some()
        });
        if let Some(value) = value {
            return value;
        }
        if let Some(status) = exited {
            panic!(
                "serve exited ({status}) waiting for {what}:\n{}",
                self.log()
            );
        }
        panic!("waited {PATIENCE:?} for {what}:\n{}", self.log());
    }

    fn until(&mut self, what: &str, condition: impl Fn(&Serving) -> bool) {
        self.wait_for(what, |s| condition(s).then_some(()));
    }

    /// One HTTP/1.1 request; the status and the body.
    fn request(&self, method: &str, path: &str, authorization: Option<&str>) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.address).expect("connect to serve");
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: serve\r\nContent-Length: 0\r\n{auth}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer[9..12].parse().unwrap();
        let body = answer.split_once("\r\n\r\n").unwrap().1.to_string();
        (status, body)
    }

    fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, None)
    }

    fn metrics(&self) -> String {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The value of one sample (`name{labels}` exactly as exposed), if exposed.
    fn metric(&self, sample: &str) -> Option<f64> {
        let metrics = self.metrics();
        let line = metrics
            .lines()
            .find(|l| l.split_once(' ').is_some_and(|(name, _)| name == sample))?;
        line.rsplit_once(' ')?.1.parse().ok()
    }

    fn count(&self, sample: &str) -> u64 {
        self.metric(sample).unwrap_or(0.0) as u64
    }

    /// SIGTERM; the exit code, how long the exit took, and the whole stderr.
    fn terminate(mut self) -> (Option<i32>, Duration, String) {
        let sent = Instant::now();
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) },
            0
        );
        let mut status = None;
        poll_until(PATIENCE, || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        let elapsed = sent.elapsed();
        // The reader thread sees the pipe close when the process is gone.
        poll_until(Duration::from_secs(5), || {
            Arc::strong_count(&self.stderr) == 1
        });
        (status.and_then(|s| s.code()), elapsed, self.log())
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SUCCESSES: &str = "boruta_gitops_reconcile_total{result=\"success\"}";
const ERRORS: &str = "boruta_gitops_reconcile_total{result=\"error\"}";

/// No secret reaches the logs: the bootstrap secret, the client's, the trigger token,
/// nor any access token the sandbox issued.
fn assert_no_secret(server: &Server, log: &str) {
    let tokens: Vec<String> = server
        .sandbox
        .with_state(|s| s.tokens.keys().cloned().collect());
    assert!(!tokens.is_empty());
    for secret in [BOOTSTRAP_SECRET, SECRET, TRIGGER]
        .into_iter()
        .chain(tokens.iter().map(String::as_str))
    {
        assert!(!log.contains(secret), "a secret is in the log:\n{log}");
    }
}

/// Server errors, a refused token and a server that drops every connection each fail
/// the cycle, are counted, and are survived; until a cycle succeeds serve is healthy but
/// not ready; once the server answers, the missing client is created and serve is ready.
#[test]
fn serve_survives_server_errors_then_creates_the_missing_client_and_is_ready() {
    let server = Server::start();
    let failing = "GET /api/clients status=500".parse::<Fault>().unwrap();
    server.sandbox.add_fault(failing);
    let ws = workspace();
    let mut serve = Serving::start(
        &server,
        &ws,
        &["--interval", "1s", "--max-retries", "0"],
        &[],
    );
    assert_eq!(serve.get("/healthz"), (200, "ok\n".into()));
    serve.until("two failed cycles", |s| s.count(ERRORS) >= 2);
    assert_eq!(
        serve.get("/readyz"),
        (503, "not ready: no cycle has succeeded yet\n".into())
    );
    assert_eq!(serve.count(SUCCESSES), 0);
    assert!(serve.log().contains("cycle 1 failed: "), "{}", serve.log());
    for fault in ["POST /oauth/token status=401", "* /api/* drop"] {
        server.sandbox.clear_faults();
        server.sandbox.add_fault(fault.parse().unwrap());
        let errors = serve.count(ERRORS);
        serve.until(fault, |s| s.count(ERRORS) >= errors + 2);
        assert_eq!(serve.get("/healthz").0, 200);
        assert_eq!(serve.get("/readyz").0, 503);
    }
    assert!(server.ids_named("app").is_empty());
    server.sandbox.clear_faults();
    serve.until("a successful cycle", |s| s.count(SUCCESSES) >= 1);
    assert_eq!(serve.get("/readyz"), (200, "ready\n".into()));
    assert_eq!(server.ids_named("app"), [ID]);
    let created = "boruta_gitops_writes_total{action=\"create\",result=\"success\"}";
    assert_eq!(serve.count(created), 1);
    assert_eq!(
        serve.metric("boruta_gitops_clients{state=\"in_sync\"}"),
        Some(1.0)
    );
    assert!(serve.metric("boruta_gitops_last_success_timestamp_seconds") > Some(1.7e9));
    let (code, elapsed, log) = serve.terminate();
    assert_eq!(code, Some(0), "{log}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert!(log.contains("cycle 1 failed: "), "{log}");
    assert!(log.contains(" succeeded"), "{log}");
    assert!(log.contains("SIGTERM received: stopping"), "{log}");
    assert_no_secret(&server, &log);
}

/// DIR is read again every cycle: manifests that do not validate fail the cycle (counted,
/// their findings in the metrics and the log, nothing written, not ready); once git fixes
/// them, the next cycle applies them.
#[test]
fn serve_counts_invalid_manifests_as_errors_and_applies_them_once_fixed() {
    let server = Server::start();
    let broken = manifest(ID, "app").replace("access_token_ttl: 3600", "access_token_ttl: soon");
    let ws = Workspace::new().file("app.yaml", broken);
    let mut serve = Serving::start(&server, &ws, &["--interval", "1s"], &[]);
    serve.until("two failed cycles", |s| s.count(ERRORS) >= 2);
    let errors = "boruta_gitops_findings{severity=\"error\"}";
    assert_eq!(serve.metric(errors), Some(1.0));
    assert_eq!(serve.get("/readyz").0, 503);
    std::fs::write(ws.manifests().join("app.yaml"), manifest(ID, "app")).unwrap();
    serve.until("the fixed manifest applied", |s| s.count(SUCCESSES) >= 1);
    assert_eq!(server.ids_named("app"), [ID]);
    assert_eq!(serve.metric(errors), Some(0.0));
    assert_eq!(serve.get("/readyz").0, 200);
    let (code, _, log) = serve.terminate();
    assert_eq!(code, Some(0), "{log}");
    let first: Vec<String> = log
        .lines()
        .skip(1)
        .take(2)
        .map(|l| untimed(l).to_string())
        .collect();
    assert_eq!(
        first,
        [
            "WARN boruta_gitops::serve::cycle: manifests/app.yaml:7:19: error[invalid-type]: `access_token_ttl` must be an integer, found string `soon`",
            "WARN boruta_gitops::serve: cycle 1 failed: the manifests have 1 error(s): nothing was written cycle=1 trigger=\"schedule\" result=\"error\" duration_ms=_ created=0 updated=0 deleted=0 failed=0 not_attempted=0 clients_in_sync=0 clients_missing=0 clients_drifted=0 clients_unmanaged=0 scopes_in_sync=0 scopes_missing=0 scopes_drifted=0 scopes_unmanaged=0 errors=1 warnings=0",
        ],
        "{log}"
    );
    // The one write is the fixed manifest's create.
    let writes: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/") && r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(writes, ["POST /api/clients"]);
}

/// A text log line without its timestamp, its duration written `_`.
fn untimed(line: &str) -> String {
    let text = line.split_once("Z  ").map_or(line, |(_, rest)| rest);
    let Some(at) = text.find("duration_ms=") else {
        return text.to_string();
    };
    let value = at + "duration_ms=".len();
    let end = value + text[value..].find(' ').unwrap_or(text.len() - value);
    format!("{}_{}", &text[..value], &text[end..])
}

/// With `--update`, a client changed on the server behind git's back is put back; with
/// `--log-format json` every log line is a JSON object, one per cycle with its counts.
#[test]
fn serve_update_puts_drift_back() {
    let server = Server::start();
    let ws = workspace();
    let args = ["--interval", "1s", "--update", "--log-format", "json"];
    let mut serve = Serving::start(&server, &ws, &args, &[]);
    serve.until("the client created", |s| s.count(SUCCESSES) >= 1);
    assert_eq!(server.ids_named("app"), [ID]);
    let changed = serde_json::json!(["https://evil.example.com/cb"]);
    server.update(ID, serde_json::json!({ "redirect_uris": changed }));
    let uris = || {
        server
            .sandbox
            .with_state(|s| s.clients[ID].fields["redirect_uris"].clone())
    };
    assert_eq!(uris(), changed);
    let declared = serde_json::json!(["https://app.example.com/cb"]);
    serve.until("the drift put back", |_| uris() == declared);
    let updated = "boruta_gitops_writes_total{action=\"update\",result=\"success\"}";
    serve.until("the update counted", |s| s.count(updated) == 1);
    assert_eq!(server.count("PATCH", &format!("/api/clients/{ID}")), 1);
    let (code, _, log) = serve.terminate();
    assert_eq!(code, Some(0), "{log}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let cycles: Vec<(u64, u64, u64)> = lines
        .iter()
        .filter(|l| l["result"] == "success")
        .map(|l| {
            let count = |k: &str| l[k].as_u64().unwrap();
            (count("created"), count("updated"), count("clients_in_sync"))
        })
        .collect();
    assert_eq!(cycles[0], (1, 0, 1), "{log}");
    assert!(cycles.contains(&(0, 1, 1)), "{log}");
    assert_eq!(lines.last().unwrap()["message"], "stopped");
    assert_no_secret(&server, &log);
}

/// `--env staging` takes the server, the credentials and the `${var:..}` values from
/// environments/staging.yaml, read again every cycle (as DIR is): a variable changed in
/// git reaches the server at the next cycle. An environment that does not exist stops
/// serve before it listens.
#[test]
fn serve_env_reads_its_environment_every_cycle() {
    let server = Server::start();
    let environment = |domain: &str| {
        format!(
            "admin_url: {}\ntoken_url: {}\ncredentials:\n  client_id: {BOOTSTRAP_ID}\n  client_secret: ${{env:STAGING_SECRET}}\nvars:\n  domain: {domain}\n",
            server.sandbox.base_url(),
            server.sandbox.token_url()
        )
    };
    let app = manifest(ID, "app").replace("app.example.com", "${var:domain}");
    let ws = Workspace::new()
        .file("app.yaml", app)
        .at("environments/staging.yaml", environment("a.example.com"));
    // Only the environment file says where the server is and who connects.
    let command = |args: &[&str]| {
        let mut command = serve_command(&server, &ws, args);
        for flag in ["ADMIN_URL", "TOKEN_URL", "CLIENT_ID", "CLIENT_SECRET"] {
            command.env_remove(format!("BORUTA_{flag}"));
        }
        command.env("STAGING_SECRET", BOOTSTRAP_SECRET);
        command
    };
    let missing = command(&["--env", "production"]).output().unwrap();
    assert_eq!(
        (missing.status.code(), String::from_utf8_lossy(&missing.stderr).as_ref()),
        (
            Some(1),
            "error: no environment `production`: environments/production.yaml does not exist (environments in environments: staging)\n"
        )
    );
    let args = ["--env", "staging", "--update", "--interval", "1s"];
    let mut serve = Serving::spawn(command(&args));
    let uris = || {
        server
            .sandbox
            .with_state(|s| s.clients.get(ID).map(|c| c.fields["redirect_uris"].clone()))
    };
    let at = |domain: &str| Some(serde_json::json!([format!("https://{domain}/cb")]));
    serve.until("the client created for staging", |_| {
        uris() == at("a.example.com")
    });
    let file = ws.path().join("environments/staging.yaml");
    std::fs::write(file, environment("b.example.com")).unwrap();
    serve.until("the changed variable applied", |_| {
        uris() == at("b.example.com")
    });
    let (code, _, log) = serve.terminate();
    assert_eq!(code, Some(0), "{log}");
    assert_no_secret(&server, &log);
}

/// `--dry-run` reads and plans every cycle but never writes, and its metrics show where
/// the server stands: one client and one scope missing, one of each drifted, one of each
/// unmanaged.
#[test]
fn serve_dry_run_writes_nothing_and_the_metrics_show_the_state() {
    let server = Server::start();
    let drifted_id = "00000000-0000-4000-8000-00000000a002";
    const BILLING: &str = "00000000-0000-4000-8000-00000000b001";
    const BY_HAND: &str = "00000000-0000-4000-8000-00000000b002";
    let ws = workspace()
        .file("drifted.yaml", manifest(drifted_id, "drifted"))
        .file(
            "reports.yaml",
            "kind: Scope\nname: reports:read\nlabel: Reports\n",
        )
        .file(
            "billing.yaml",
            format!("kind: Scope\nid: {BILLING}\nname: billing:read\nlabel: Billing\n"),
        );
    let idp = server.idp_id(DEFAULT_IDP);
    for (id, name) in [(BILLING, "billing:read"), (BY_HAND, "by-hand:scope")] {
        let scope = serde_json::json!({"scope": {"id": id, "name": name, "label": "Old"}});
        let answer = server.sandbox.with_state(|s| s.create_scope(&scope));
        assert_eq!(answer.status, 201);
    }
    server.create(serde_json::json!({
        "id": drifted_id, "name": "drifted", "confidential": true, "secret": SECRET,
        "redirect_uris": ["https://elsewhere.example.com/cb"],
        "supported_grant_types": ["client_credentials", "authorization_code"],
        "access_token_ttl": 3600, "identity_provider": {"id": idp},
    }));
    server.create(serde_json::json!({"name": "by-hand", "identity_provider": {"id": idp}}));
    let mut serve = Serving::start(
        &server,
        &ws,
        &[
            "--interval",
            "1s",
            "--dry-run",
            "--update",
            "--allow-delete",
        ],
        &[],
    );
    serve.until("two planned cycles", |s| s.count(SUCCESSES) >= 2);
    assert_eq!(serve.get("/readyz").0, 200);
    let metrics = serve.metrics();
    for (sample, value) in [
        ("boruta_gitops_clients{state=\"in_sync\"}", 0.0),
        ("boruta_gitops_clients{state=\"missing\"}", 1.0),
        ("boruta_gitops_clients{state=\"drifted\"}", 1.0),
        ("boruta_gitops_clients{state=\"unmanaged\"}", 1.0),
        ("boruta_gitops_scopes{state=\"in_sync\"}", 0.0),
        ("boruta_gitops_scopes{state=\"missing\"}", 1.0),
        ("boruta_gitops_scopes{state=\"drifted\"}", 1.0),
        ("boruta_gitops_scopes{state=\"unmanaged\"}", 1.0),
        ("boruta_gitops_findings{severity=\"error\"}", 0.0),
        (
            "boruta_gitops_writes_total{action=\"create\",result=\"success\"}",
            0.0,
        ),
        (
            "boruta_gitops_writes_total{action=\"update\",result=\"success\"}",
            0.0,
        ),
        (ERRORS, 0.0),
    ] {
        assert_eq!(serve.metric(sample), Some(value), "{sample}:\n{metrics}");
    }
    promtool_checks_metrics(&metrics);
    assert_the_rules_name_exposed_metrics(&metrics);
    // The trigger is off without its variable.
    assert_eq!(
        serve.request("POST", "/reconcile", Some(&format!("Bearer {TRIGGER}"))),
        (
            404,
            "POST /reconcile is off: set BORUTA_GITOPS_TRIGGER_TOKEN to turn it on\n".into()
        )
    );
    let (code, _, log) = serve.terminate();
    assert_eq!(code, Some(0), "{log}");
    let writes: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/") && r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(writes, Vec::<String>::new());
    assert!(server.ids_named("app").is_empty());
}

/// `POST /reconcile` needs the trigger token (401 without it or with another); with it, a
/// cycle starts at once, and triggers during a cycle coalesce into exactly one more. Even
/// at RUST_LOG=debug no token reaches the log.
#[test]
fn serve_trigger_authenticates_and_coalesces() {
    let server = Server::start();
    let ws = workspace();
    let mut serve = Serving::start(
        &server,
        &ws,
        &["--interval", "1h"],
        &[
            ("BORUTA_GITOPS_TRIGGER_TOKEN", TRIGGER),
            ("RUST_LOG", "debug"),
        ],
    );
    serve.until("the first cycle", |s| s.count(SUCCESSES) == 1);
    let lists = || server.count("GET", "/api/clients");
    let listed = lists();
    let unauthorized = |body: &str| (401, body.to_string());
    let no_token = "send the trigger token: Authorization: Bearer <BORUTA_GITOPS_TRIGGER_TOKEN>\n";
    assert_eq!(
        serve.request("POST", "/reconcile", None),
        unauthorized(no_token)
    );
    assert_eq!(
        serve.request("POST", "/reconcile", Some(&format!("Basic {TRIGGER}"))),
        unauthorized(no_token)
    );
    let wrong = "the bearer token is not the trigger token\n";
    assert_eq!(
        serve.request("POST", "/reconcile", Some("Bearer not-the-token")),
        unauthorized(wrong)
    );
    assert_eq!(
        serve.request("POST", "/reconcile", Some(&format!("Bearer {TRIGGER}x"))),
        unauthorized(wrong)
    );
    assert_eq!(serve.get("/reconcile").0, 405);
    // Cycles now take a second: their list of clients is answered late.
    let slow = "GET /api/clients delay-ms=1000".parse::<Fault>().unwrap();
    server.sandbox.add_fault(slow);
    let bearer = format!("Bearer {TRIGGER}");
    assert_eq!(
        serve.request("POST", "/reconcile", Some(&bearer)),
        (202, "a cycle starts now\n".into())
    );
    serve.until("the triggered cycle reading the server", |_| {
        lists() == listed + 1
    });
    assert_eq!(
        serve.request("POST", "/reconcile", Some(&bearer)),
        (
            202,
            "a cycle is running: one more starts when it ends\n".into()
        )
    );
    assert_eq!(
        serve.request("POST", "/reconcile", Some(&bearer)),
        (
            202,
            "a cycle is running and one more is already queued: this trigger joins it\n".into()
        )
    );
    serve.until("the coalesced cycle", |s| s.count(SUCCESSES) == 3);
    let (code, _, log) = serve.terminate();
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(lists(), listed + 2, "{log}");
    assert!(log.contains("cycle 3 succeeded"), "{log}");
    assert!(!log.contains("cycle 4"), "{log}");
    assert_no_secret(&server, &log);
}

/// SIGTERM while writes are under way: the writes in flight finish, no new one starts,
/// and serve exits 0 well within 10 seconds. The next `apply` converges.
#[test]
fn serve_sigterm_stops_between_writes_and_exits_zero() {
    let server = Server::start();
    let seeded = server.client_names().len();
    let mut ws = Workspace::new();
    for i in 0..20 {
        let id = format!("00000000-0000-4000-8000-0000000b{i:04}");
        ws = ws.file(&format!("c{i}.yaml"), manifest(&id, &format!("c{i}")));
    }
    let slow = "POST /api/clients delay-ms=300".parse::<Fault>().unwrap();
    server.sandbox.add_fault(slow);
    let mut serve = Serving::start(
        &server,
        &ws,
        &["--interval", "1h", "--concurrency", "2"],
        &[],
    );
    let creates = || server.count("POST", "/api/clients");
    serve.until("the first creates", |_| creates() >= 2);
    let (code, elapsed, log) = serve.terminate();
    assert_eq!(code, Some(0), "{log}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let sent = creates();
    assert!((2..20).contains(&sent), "{sent} creates sent:\n{log}");
    // Every create sent was answered (none cut off), and each made its client.
    let statuses: Vec<u16> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/api/clients")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![201; sent], "{log}");
    assert!(
        log.contains("cycle 1 failed: stopped by SIGTERM between writes"),
        "{log}"
    );
    let finish = server.connect(ws).env("SERVE_TEST_SECRET", SECRET).run(&[
        "apply",
        "manifests",
        "--auto-approve",
    ]);
    assert_eq!(finish.code, 0, "{}\n{}", finish.stdout, finish.stderr);
    assert_eq!(server.client_names().len() - seeded, 20);
}

/// promtool (Debian's `prometheus` package) accepts the exposition; CI installs it.
fn promtool_checks_metrics(metrics: &str) {
    let mut child = promtool(&["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}{}\n{metrics}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every metric deploy/prometheus/rules.yaml names (`boruta_gitops_(a|b)` names two) is
/// one `serve` exposes: a renamed metric cannot leave an alert that never fires.
fn assert_the_rules_name_exposed_metrics(metrics: &str) {
    let path = crate::runner::repo().join("deploy/prometheus/rules.yaml");
    let rules = std::fs::read_to_string(path).unwrap();
    let word = |text: &str| -> String {
        text.chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect()
    };
    let mut names = Vec::new();
    for (at, _) in rules.match_indices("boruta_gitops_") {
        let name = word(&rules[at..]);
        let rest = &rules[at + name.len()..];
        match rest.strip_prefix('(') {
            Some(group) => {
                let group = &group[..group.find(')').unwrap()];
                names.extend(group.split('|').map(|part| format!("{name}{part}")));
            }
            None => names.push(name),
        }
    }
    names.sort();
    names.dedup();
    assert_eq!(
        names,
        [
            "boruta_gitops_clients",
            "boruta_gitops_interval_seconds",
            "boruta_gitops_last_success_timestamp_seconds",
            "boruta_gitops_scopes",
            "boruta_gitops_start_timestamp_seconds",
        ]
    );
    for name in names {
        assert!(
            metrics.contains(&format!("# TYPE {name} ")),
            "{name}:\n{metrics}"
        );
    }
}

/// `promtool`, or a failure saying how to install it (never a skip).
fn promtool(args: &[&str]) -> std::process::Command {
    let found = std::process::Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "promtool not found: install it with `sudo apt-get install prometheus` (Debian, Ubuntu; .ci/run does)"
    );
    let mut command = std::process::Command::new("promtool");
    command.args(args).current_dir(crate::runner::repo());
    command
}

/// The alerting rules are valid, and their unit tests (deploy/prometheus/rules.test.yaml:
/// the alerts fire on no success for three intervals and on drift, and stay quiet
/// otherwise) pass.
#[test]
fn promtool_checks_and_tests_the_alerting_rules() {
    for args in [
        ["check", "rules", "deploy/prometheus/rules.yaml"],
        ["test", "rules", "deploy/prometheus/rules.test.yaml"],
    ] {
        let out = promtool(&args).output().unwrap();
        assert!(
            out.status.success(),
            "promtool {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
