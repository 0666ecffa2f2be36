//! A small builder: a temporary directory of manifests + arguments -> exit code, stdout,
//! stderr of the real binary. [`Test`] runs it and asserts all three exactly;
//! [`wait_until`] replaces sleeps; [`Terminal`] runs it on a pseudo-terminal.

#![allow(dead_code)]

mod exact;
#[cfg(unix)]
mod terminal;
mod wait;

pub use exact::Test;
#[cfg(unix)]
pub use terminal::Terminal;
pub use wait::{poll_until, wait_until};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_boruta-gitops");

/// The binary with an environment cleared of what the developer's or CI's shell may hold:
/// `BORUTA_*` settings, `RUST_LOG`, and proxy variables. A test then sees only what it sets.
pub fn binary() -> Command {
    let mut cmd = Command::new(BIN);
    isolate(&mut cmd);
    cmd
}

/// Removes from `cmd`'s environment what a developer's or CI's shell may hold
/// (`BORUTA_*`, `RUST_LOG`, `NO_COLOR`, proxy variables).
pub fn isolate(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().to_string();
        let upper = key.to_ascii_uppercase();
        if upper.starts_with("BORUTA_")
            || upper == "RUST_LOG"
            || upper == "NO_COLOR"
            || matches!(
                upper.as_str(),
                "HTTP_PROXY" | "HTTPS_PROXY" | "ALL_PROXY" | "NO_PROXY"
            )
        {
            cmd.env_remove(&key);
        }
    }
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Output {
    fn from(out: std::process::Output) -> Output {
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Output {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// A temporary workspace with a `manifests/` directory.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    envs: Vec<(String, String)>,
}

impl Workspace {
    pub fn new() -> Self {
        Workspace {
            dir: tempfile::tempdir().expect("tempdir"),
            envs: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `manifests/<name>` (parents created).
    pub fn file(self, name: &str, content: impl AsRef<[u8]>) -> Self {
        let path = self.manifests().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    /// Writes `<path>` relative to the workspace (parents created): environment files,
    /// policies, anything outside `manifests/`.
    pub fn at(self, path: &str, content: impl AsRef<[u8]>) -> Self {
        let path = self.dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    pub fn manifests(&self) -> PathBuf {
        self.dir.path().join("manifests")
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Runs the binary, killing it after `limit` (a regression that hangs fails the test
    /// instead of hanging the suite); also returns how long it took.
    pub fn run_within(
        &self,
        args: &[&str],
        limit: std::time::Duration,
    ) -> (Output, std::time::Duration) {
        let mut cmd = self.command(args);
        let started = std::time::Instant::now();
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run binary");
        // Drain the pipes on threads so a chatty child cannot block on a full pipe.
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut stdout, &mut text).ok();
            text
        });
        let err = std::thread::spawn(move || {
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut stderr, &mut text).ok();
            text
        });
        let mut status = None;
        if !poll_until(limit, || {
            status = child.try_wait().expect("wait");
            status.is_some()
        }) {
            let _ = child.kill();
            let _ = child.wait();
        }
        let elapsed = started.elapsed();
        let output = Output {
            code: status.and_then(|s| s.code()).unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.join().unwrap()).into_owned(),
            stderr: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
        };
        assert!(
            status.is_some(),
            "{args:?} still running after {limit:?}; killed.\n{}\n{}",
            output.stdout,
            output.stderr
        );
        (output, elapsed)
    }

    /// The binary in the workspace directory, with the workspace's environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = binary();
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs the binary in the workspace directory.
    pub fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().expect("run binary");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// (code, file, line, col) of every finding of `validate --format json`, in output order,
/// except the two about fields most fixtures leave out: `default-grant-types`
/// (`supported_grant_types`) and `long-lived-access-token` for an omitted
/// `access_token_ttl` (boruta's default is a day). The tests of those findings read them
/// with [`all_findings`].
pub fn findings(output: &Output) -> Vec<(String, String, u64, u64)> {
    let omitted_ttl = |d: &serde_json::Value| {
        d["code"] == "long-lived-access-token"
            && d["message"]
                .as_str()
                .is_some_and(|m| m.contains("access_token_ttl is not declared"))
    };
    output.json()["diagnostics"]
        .as_array()
        .expect("diagnostics array")
        .iter()
        .filter(|d| d["code"] != "default-grant-types" && !omitted_ttl(d))
        .map(finding_of)
        .collect()
}

fn finding_of(d: &serde_json::Value) -> (String, String, u64, u64) {
    (
        d["code"].as_str().unwrap_or_default().to_string(),
        d["file"].as_str().unwrap_or_default().to_string(),
        d["line"].as_u64().unwrap_or(0),
        d["col"].as_u64().unwrap_or(0),
    )
}

/// (code, file, line, col) of every finding of `validate --format json`, in output order.
pub fn all_findings(output: &Output) -> Vec<(String, String, u64, u64)> {
    output.json()["diagnostics"]
        .as_array()
        .expect("diagnostics array")
        .iter()
        .map(finding_of)
        .collect()
}

pub const IDP: &str = "identity_provider:\n  id: 7f6b2a8e-6c1d-4d5e-9f3a-2b1c0d9e8f7a\n";

/// A sandbox for the binary under test, with fixed bootstrap credentials.
pub struct Server {
    pub sandbox: boruta_gitops::sandbox::Sandbox,
}

pub const BOOTSTRAP_ID: &str = "00000000-b007-4000-8000-000000000001";
pub const BOOTSTRAP_SECRET: &str = "bootstrap-secret-value";
pub const DEFAULT_IDP: &str = "Default identity provider";

impl Server {
    pub fn start() -> Server {
        Self::start_with(boruta_gitops::sandbox::Config::default())
    }

    pub fn start_with(config: boruta_gitops::sandbox::Config) -> Server {
        let config = boruta_gitops::sandbox::Config {
            bootstrap_client_id: Some(BOOTSTRAP_ID.into()),
            bootstrap_client_secret: Some(BOOTSTRAP_SECRET.into()),
            ..config
        };
        Server {
            sandbox: boruta_gitops::sandbox::Sandbox::start(config).expect("sandbox"),
        }
    }

    /// The connection environment of the binary.
    pub fn connect(&self, ws: Workspace) -> Workspace {
        ws.env("BORUTA_ADMIN_URL", self.sandbox.base_url())
            .env("BORUTA_TOKEN_URL", &self.sandbox.token_url())
            .env("BORUTA_CLIENT_ID", BOOTSTRAP_ID)
            .env("BORUTA_CLIENT_SECRET", BOOTSTRAP_SECRET)
    }

    pub fn requests(&self) -> Vec<boruta_gitops::sandbox::RecordedRequest> {
        self.sandbox.requests()
    }

    /// (method, path) of every admin API and token request, in order.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.requests()
            .into_iter()
            .map(|r| (r.method, r.path))
            .collect()
    }

    /// How many `METHOD PATH` requests the sandbox received.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.calls()
            .iter()
            .filter(|(m, p)| m == method && p == path)
            .count()
    }

    pub fn idp_id(&self, name: &str) -> String {
        boruta_gitops::sandbox::state::seed_id(name)
    }

    /// Creates a client directly (the same code path as POST /api/clients).
    pub fn create(&self, client: serde_json::Value) -> serde_json::Value {
        let answer = self
            .sandbox
            .with_state(|s| s.create_client(&serde_json::json!({ "client": client })));
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        answer.body.unwrap()["data"].clone()
    }

    /// Updates a client directly (the same code path as PATCH).
    pub fn update(&self, id: &str, client: serde_json::Value) {
        let answer = self
            .sandbox
            .with_state(|s| s.update_client(id, &serde_json::json!({ "client": client })));
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }

    /// Ids of the clients named `name` on the server, sorted (a duplicate shows up here
    /// whatever id it got).
    pub fn ids_named(&self, name: &str) -> Vec<String> {
        let mut ids: Vec<String> = self.sandbox.with_state(|s| {
            s.clients
                .iter()
                .filter(|(_, c)| c.fields.get("name").and_then(|n| n.as_str()) == Some(name))
                .map(|(id, _)| id.clone())
                .collect()
        });
        ids.sort();
        ids
    }

    /// Names of the clients on the server, with repetitions.
    pub fn client_names(&self) -> Vec<String> {
        self.sandbox.with_state(|s| {
            s.clients
                .values()
                .filter_map(|c| {
                    c.fields
                        .get("name")
                        .and_then(|n| n.as_str())
                        .map(str::to_string)
                })
                .collect()
        })
    }

    /// The binary, in `ws`, connected to this sandbox, for tests that run it in the
    /// background (concurrent applies, SIGKILL).
    pub fn command(&self, ws: &Workspace, args: &[&str]) -> std::process::Command {
        let mut cmd = binary();
        cmd.args(args)
            .current_dir(ws.path())
            .envs([
                ("BORUTA_ADMIN_URL", self.sandbox.base_url().to_string()),
                ("BORUTA_TOKEN_URL", self.sandbox.token_url()),
                ("BORUTA_CLIENT_ID", BOOTSTRAP_ID.to_string()),
                ("BORUTA_CLIENT_SECRET", BOOTSTRAP_SECRET.to_string()),
            ])
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// Replaces the base URL (random port) in output, for snapshots.
    pub fn scrub(&self, text: &str) -> String {
        text.replace(self.sandbox.base_url(), "http://SANDBOX")
    }
}
