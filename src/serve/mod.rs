//! `serve`: continuous reconciliation, as a small long-running process beside boruta.
//! This module owns the loop (interval, jitter, backoff, triggers), the endpoints
//! (`/healthz`, `/readyz`, `/metrics`, `POST /reconcile`), the metrics, and a safe stop on
//! SIGTERM/SIGINT. Each cycle is the command line's `apply` (see `cycle`): this module
//! owns no reconciliation logic of its own.
//!
//! Two threads: the cycle thread runs cycles one after another on its own tokio runtime
//! (the commands block on theirs); the main thread serves HTTP and watches for signals on
//! another, so a long cycle never delays a probe or a scrape. They share `Control`.
//!
//! A first SIGTERM or SIGINT stops the loop: no cycle starts, the one running stops
//! between writes (requests in flight finish), and the process exits 0 once it has, or
//! after [`STOP_GRACE`] at the latest (Kubernetes waits 30 s before SIGKILL). A second
//! signal exits at once, as `apply` does.

mod control;
mod cycle;
mod http;
mod metrics;
mod schedule;
mod trigger;

pub use cycle::{Chosen, Settings};
pub use schedule::{parse_interval, MAX_INTERVAL, MIN_INTERVAL};
pub use trigger::{trigger_token, TOKEN_VARIABLE};

use control::{Control, Wake};
use cycle::Cycle;
use metrics::Metrics;
use trigger::TriggerToken;

use crate::error::{Error, Exit};
use crate::load::Environment;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The longest a stop waits for the cycle in flight to reach a safe point.
pub const STOP_GRACE: Duration = Duration::from_secs(8);
/// The default `--listen`: loopback only; all interfaces must be asked for.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

/// What `serve` was asked to do.
pub struct Options {
    /// What each cycle applies, and how.
    pub settings: Settings,
    /// Where the endpoints listen.
    pub listen: SocketAddr,
    /// `--interval`: between cycles (±10 %).
    pub interval: Duration,
    /// `BORUTA_GITOPS_TRIGGER_TOKEN`; `None` (or empty) turns `POST /reconcile` off.
    pub trigger_token: Option<SecretString>,
}

/// Runs until SIGTERM or SIGINT; returns [`Exit::Success`] after a clean stop. Fails only
/// when it cannot start (settings missing, the address taken): a failed cycle is counted
/// and retried, never fatal.
pub fn run(options: Options, env: Arc<dyn Environment + Send>) -> Result<Exit, Error> {
    // Settings the user forgot, and an environment that cannot be read, are said now,
    // not once per cycle forever.
    options.settings.targeted(&*env)?.1.check()?;
    let listener = std::net::TcpListener::bind(options.listen)
        .and_then(|l| l.set_nonblocking(true).map(|_| l))
        .map_err(|e| Error::Usage(format!("cannot listen on {}: {e}", options.listen)))?;
    let address = listener.local_addr()?;
    let trigger = options.trigger_token.and_then(TriggerToken::new);
    let control = Arc::new(Control::default());
    let metrics = Arc::new(Metrics::new(options.interval));
    let loop_done = Arc::new(Notify::new());
    let cycles = {
        let (settings, interval) = (options.settings, options.interval);
        let (control, metrics, done) = (control.clone(), metrics.clone(), loop_done.clone());
        std::thread::Builder::new()
            .name("serve-cycles".into())
            .spawn(move || {
                reconcile(&settings, interval, &*env, &control, &metrics);
                done.notify_one();
            })?
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let endpoints = Arc::new(http::Endpoints {
        control: control.clone(),
        metrics,
        trigger,
    });
    let triggers = match endpoints.trigger {
        Some(_) => "POST /reconcile (with the trigger token)",
        None => "POST /reconcile off (no BORUTA_GITOPS_TRIGGER_TOKEN)",
    };
    tracing::info!(
        %address,
        "serving GET /healthz, /readyz, /metrics and {triggers} on http://{address}"
    );
    let finished = runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let shutdown = Arc::new(Notify::new());
        let server = tokio::spawn(http::serve(listener, endpoints, shutdown.clone()));
        let finished = tokio::select! {
            _ = loop_done.notified() => true,
            _ = watch_signals(control.clone()) => {
                // The loop leaves after the cycle in flight reaches a safe point.
                tokio::time::timeout(STOP_GRACE, loop_done.notified()).await.is_ok()
            }
        };
        shutdown.notify_one();
        let _ = server.await;
        Ok::<_, Error>(finished)
    })?;
    if finished {
        let _ = cycles.join();
    } else {
        tracing::warn!(
            "the cycle in flight did not stop within {} s: exiting; a write in flight has an unknown outcome, and the next apply converges",
            STOP_GRACE.as_secs()
        );
    }
    tracing::info!("stopped");
    Ok(Exit::Success)
}

/// Waits for the first SIGTERM or SIGINT and stops the loop; a second one exits at once.
/// Never returns when signals cannot be watched.
async fn watch_signals(control: Arc<Control>) {
    let mut signals = match crate::commands::apply::Signals::new() {
        Ok(signals) => signals,
        Err(e) => {
            tracing::warn!("cannot watch for SIGINT/SIGTERM: {e}");
            return std::future::pending().await;
        }
    };
    let first = signals.next().await;
    tracing::info!("{first} received: stopping after the cycle in flight reaches a safe point (send it again to exit at once)");
    control.stop(first);
    tokio::spawn(async move {
        let second = signals.next().await;
        tracing::warn!("{second} received again: exiting now; a write in flight has an unknown outcome, and the next apply converges");
        std::process::exit(Exit::Failure as i32);
    });
}

/// The cycle thread: a cycle at once, then one per interval (sooner after a failure,
/// at once on a trigger), until a stop.
fn reconcile(
    settings: &Settings,
    interval: Duration,
    env: &dyn Environment,
    control: &Control,
    metrics: &Metrics,
) {
    let runtime = match crate::commands::runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!("cannot start the cycles' runtime: {e}");
            return;
        }
    };
    let (mut number, mut consecutive_errors) = (0u64, 0u32);
    let mut wait = Duration::ZERO;
    loop {
        let wake = control.wait(wait);
        if wake == Wake::Stop {
            break;
        }
        number += 1;
        let cycle = run_cycle(settings, env, control, &runtime);
        crate::memory::release_freed();
        // Readiness and the log first, the metrics last: whoever sees a cycle counted in
        // /metrics then also sees its effect on /readyz and in the log.
        control.ended(cycle.succeeded());
        log(number, wake, &cycle);
        metrics.record(&cycle);
        consecutive_errors = match cycle.succeeded() {
            true => 0,
            false => consecutive_errors.saturating_add(1),
        };
        let draw = rand::random_range(-1.0..=1.0);
        wait = schedule::next_wait(interval, consecutive_errors, draw);
    }
}

/// One cycle; a panic (a bug) fails the cycle, not the process.
fn run_cycle(
    settings: &Settings,
    env: &dyn Environment,
    control: &Control,
    runtime: &tokio::runtime::Runtime,
) -> Cycle {
    let started = std::time::Instant::now();
    let run = std::panic::AssertUnwindSafe(|| cycle::run(settings, env, control, runtime));
    std::panic::catch_unwind(run).unwrap_or_else(|_| Cycle {
        duration: started.elapsed(),
        failure: Some("internal error (a bug; please report it): the cycle panicked".into()),
        ..Cycle::default()
    })
}

/// One log line per cycle, with its counts.
fn log(number: u64, wake: Wake, cycle: &Cycle) {
    use cycle::{WriteAction as A, WriteResult as R};
    let trigger = match wake {
        Wake::Triggered => "trigger",
        _ => "schedule",
    };
    let objects = cycle.objects.unwrap_or_default();
    let (clients, scopes) = (objects.clients, objects.scopes);
    let findings = cycle.findings.unwrap_or_default();
    let created = cycle.count(A::Create, R::Success);
    let updated = cycle.count(A::Update, R::Success);
    let deleted = cycle.count(A::Delete, R::Success);
    let failed = cycle.writes.iter().filter(|w| w.1 == R::Error).count();
    let not_attempted = cycle.writes.len() - created - updated - deleted - failed;
    let ms = cycle.duration.as_millis() as u64;
    macro_rules! cycle_event {
        ($level:ident, $result:expr, $($message:tt)+) => {
            tracing::$level!(
                cycle = number, trigger, result = $result, duration_ms = ms, created, updated,
                deleted, failed, not_attempted, clients_in_sync = clients.in_sync,
                clients_missing = clients.missing, clients_drifted = clients.drifted,
                clients_unmanaged = clients.unmanaged, scopes_in_sync = scopes.in_sync,
                scopes_missing = scopes.missing, scopes_drifted = scopes.drifted,
                scopes_unmanaged = scopes.unmanaged, errors = findings.error,
                warnings = findings.warning, $($message)+
            )
        };
    }
    match (&cycle.failure, cycle.stopped_before_writes) {
        (_, true) => cycle_event!(info, "stopped", "cycle {number} stopped before writing"),
        (Some(reason), _) => cycle_event!(warn, "error", "cycle {number} failed: {reason}"),
        (None, _) => cycle_event!(info, "success", "cycle {number} succeeded"),
    }
    if cycle.generated_secrets > 0 {
        tracing::warn!(
            "boruta generated the secret of {} client(s) created by this cycle; serve does not record it: declare `secret:` (from ${{env:..}} or ${{file:..}}) in the manifests, or read it with GET /api/clients/<id>",
            cycle.generated_secrets
        );
    }
}
