//! A faithful loopback imitation of boruta: the token endpoint and the admin API routes for
//! clients, scopes, identity providers and (read only) key pairs, built from the contract. Users run manifests
//! against it in CI; every integration test of this project runs the real binary against it.
//!
//! It shares `api` (wire types) and `rules` (validation) with the client side, and never
//! imports `fetch`, `diff`, `plan` or `apply`.

mod clients;
mod clock;
mod coerce;
pub mod faults;
mod key_pairs;
mod scopes;
mod seed;
mod server;
pub mod state;
mod token;

pub use faults::{Action, Fault};
pub use server::RecordedRequest;
pub use state::{Bootstrap, State};

use crate::sync::lock;
use server::Shared;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct Config {
    /// Loopback address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Fixed bootstrap credentials (random when absent).
    pub bootstrap_client_id: Option<String>,
    pub bootstrap_client_secret: Option<String>,
    /// Lifetime of the bootstrap client's tokens, in seconds.
    pub token_ttl: i64,
    /// Added before every answer.
    pub latency: Duration,
    pub faults: Vec<Fault>,
    /// Load the state from and save it to this JSON file.
    pub state_file: Option<PathBuf>,
    /// The protected admin-UI client's id.
    pub admin_client_id: String,
    /// Serve HTTPS with this certificate chain and key (PEM files).
    pub tls: Option<TlsFiles>,
    /// The boruta version to imitate.
    pub version: crate::kinds::client::fields::Version,
}

/// PEM files of the sandbox's HTTPS certificate chain and private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub certificate_chain: PathBuf,
    pub private_key: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            bootstrap_client_id: None,
            bootstrap_client_secret: None,
            token_ttl: 86_400,
            latency: Duration::ZERO,
            faults: Vec::new(),
            state_file: None,
            admin_client_id: crate::api::ADMIN_UI_CLIENT_ID.to_string(),
            tls: None,
            version: crate::kinds::client::fields::Version::LATEST_RELEASE,
        }
    }
}

/// The TLS acceptor for `--tls-cert`/`--tls-key` (ring provider, TLS 1.2 and 1.3).
fn tls_acceptor(files: &TlsFiles) -> Result<tokio_rustls::TlsAcceptor, SandboxError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let fail = |what: &std::path::Path, e: &dyn std::fmt::Display| {
        SandboxError::Tls(format!("{}: {e}", what.display()))
    };
    let chain = CertificateDer::pem_file_iter(&files.certificate_chain)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| fail(&files.certificate_chain, &e))?;
    if chain.is_empty() {
        return Err(fail(&files.certificate_chain, &"no PEM certificate in it"));
    }
    let key = PrivateKeyDer::from_pem_file(&files.private_key)
        .map_err(|e| fail(&files.private_key, &e))?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SandboxError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| fail(&files.private_key, &e))?;
    Ok(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)))
}

/// The state a sandbox starts with: the state file's, when there is one, else the seed.
fn initial_state(
    config: &Config,
    base_url: &str,
    bootstrap: &Bootstrap,
) -> Result<State, SandboxError> {
    Ok(match &config.state_file {
        Some(path) if path.exists() => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| SandboxError::StateRead(path.clone(), e))?;
            let mut state: State = serde_json::from_str(&text)
                .map_err(|e| SandboxError::StateParse(path.clone(), e))?;
            // The imitated version is the one asked for now, not the one saved.
            state.version = config.version;
            state.ensure_bootstrap(bootstrap);
            state
        }
        _ => State::seeded(base_url, &config.admin_client_id, bootstrap, config.version),
    })
}

/// Why a sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("refusing to listen on {0}: the sandbox only serves loopback addresses")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {0}")]
    Bind(SocketAddr, #[source] std::io::Error),
    #[error("cannot read the state file {0}")]
    StateRead(PathBuf, #[source] std::io::Error),
    #[error("the state file {0} is not a sandbox state")]
    StateParse(PathBuf, #[source] serde_json::Error),
    #[error("cannot write the state file {0}")]
    StateWrite(PathBuf, #[source] std::io::Error),
    #[error("the sandbox's TLS certificate or key cannot be used: {0}")]
    Tls(String),
    #[error("cannot start the sandbox's runtime")]
    Runtime(#[source] std::io::Error),
}

/// A running sandbox. Dropping it stops the server (and saves the state file).
pub struct Sandbox {
    base_url: String,
    bootstrap: Bootstrap,
    shared: Arc<Shared>,
    shutdown: Arc<Notify>,
    state_file: Option<PathBuf>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sandbox {
    /// Starts a sandbox on its own thread and runtime (for tests, benchmarks and `demo`).
    pub fn start(config: Config) -> Result<Sandbox, SandboxError> {
        if !config.listen.ip().is_loopback() {
            return Err(SandboxError::NotLoopback(config.listen));
        }
        let listener = std::net::TcpListener::bind(config.listen)
            .map_err(|e| SandboxError::Bind(config.listen, e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| SandboxError::Bind(config.listen, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| SandboxError::Bind(config.listen, e))?;
        let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url = format!("{scheme}://{addr}");
        let bootstrap = Bootstrap {
            client_id: config
                .bootstrap_client_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
                .to_ascii_lowercase(),
            client_secret: config
                .bootstrap_client_secret
                .clone()
                .unwrap_or_else(|| state::random_alphanumeric(48)),
            token_ttl: config.token_ttl,
        };
        let state = initial_state(&config, &base_url, &bootstrap)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            faults: Mutex::new(config.faults.clone()),
            latency: config.latency,
            log: Mutex::new(Vec::new()),
            dirty: AtomicBool::new(config.state_file.is_some()),
            started: std::time::Instant::now(),
            clock: clock::Clock::start(),
        });
        let shutdown = Arc::new(Notify::new());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(SandboxError::Runtime)?;
        let (thread_shared, thread_shutdown, state_file) =
            (shared.clone(), shutdown.clone(), config.state_file.clone());
        let thread = std::thread::Builder::new()
            .name("boruta-sandbox".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!("sandbox listener: {e}");
                            return;
                        }
                    };
                    if let Some(path) = state_file {
                        tokio::spawn(save_periodically(thread_shared.clone(), path));
                    }
                    server::serve(listener, thread_shared, thread_shutdown, tls).await;
                });
            })
            .map_err(SandboxError::Runtime)?;
        Ok(Sandbox {
            base_url,
            bootstrap,
            shared,
            shutdown,
            state_file: config.state_file,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`: the admin API is under `/api`, the token endpoint is
    /// `/oauth/token`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.base_url)
    }

    /// The bootstrap client's credentials.
    pub fn bootstrap(&self) -> &Bootstrap {
        &self.bootstrap
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// Adds a fault rule while running.
    pub fn add_fault(&self, fault: Fault) {
        lock(&self.shared.faults).push(fault);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Reads or changes the state directly (tests seed clients this way).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = lock(&self.shared.state);
        let result = f(&mut state);
        // The closure may have changed clients behind the cache's back.
        state.render_cache.clear();
        self.shared.dirty.store(true, Ordering::SeqCst);
        result
    }

    /// Waits until the process is asked to stop (Ctrl-C / SIGTERM), for `boruta-gitops sandbox`.
    pub fn wait_for_signal(&self) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build();
        if let Ok(runtime) = runtime {
            runtime.block_on(async {
                #[cfg(unix)]
                {
                    use tokio::signal::unix::{signal, SignalKind};
                    if let Ok(mut term) = signal(SignalKind::terminate()) {
                        tokio::select! {
                            _ = tokio::signal::ctrl_c() => {}
                            _ = term.recv() => {}
                        }
                        return;
                    }
                }
                let _ = tokio::signal::ctrl_c().await;
            });
        }
    }

    /// Writes the state file now.
    pub fn save(&self) -> Result<(), SandboxError> {
        match &self.state_file {
            Some(path) => save_state(&self.shared, path),
            None => Ok(()),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.shutdown.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Err(e) = self.save() {
            tracing::error!("{e}");
        }
    }
}

fn save_state(shared: &Shared, path: &PathBuf) -> Result<(), SandboxError> {
    if !shared.dirty.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let text = serde_json::to_string(&*lock(&shared.state)).unwrap_or_default();
    let tmp = path.with_extension("tmp");
    // The state holds client secrets: only its owner may read it.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(&tmp)
        .and_then(|mut file| std::io::Write::write_all(&mut file, text.as_bytes()))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| SandboxError::StateWrite(path.clone(), e))
}

/// Saves the state file at most every 200 ms while writes happen, so a killed sandbox loses
/// at most that much, and 10,000 creates do not rewrite the file 10,000 times.
async fn save_periodically(shared: Arc<Shared>, path: PathBuf) {
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Err(e) = save_state(&shared, &path) {
            tracing::error!("{e}");
        }
    }
}
