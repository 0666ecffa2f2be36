//! Executes the creates of a plan: bounded concurrency, retries (in `fetch`), idempotency
//! (a create whose outcome was unknown and then meets "id has already been taken" is
//! verified against the server instead of failing), and one outcome per client:
//! created, already present, failed (with the reason), or not attempted.
//!
//! It never sends PATCH, PUT or DELETE: existing clients are not touched.

use crate::fetch::{Connection, Created, FetchError};
use crate::source::Diagnostic;
use crate::sync::lock;
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Maps a boruta 422 field error (field, message) back to the manifest's value.
pub type Locator = Box<dyn Fn(&str, &str) -> crate::source::Location + Send + Sync>;
/// Tells whether a server record is the client the manifest describes.
pub type Matcher = Box<dyn Fn(&Map<String, Value>) -> bool + Send + Sync>;

/// One create to perform.
pub struct Job {
    pub id: String,
    pub name: String,
    /// The request body (contains secrets; never printed).
    pub body: Map<String, Value>,
    /// True when the manifest declares no secret (boruta generates one).
    pub generated_secret: bool,
    pub locate: Locator,
    pub matches: Matcher,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Created,
    /// It already existed as described (another run created it, or an earlier attempt of
    /// this one whose answer was lost).
    AlreadyPresent,
    Failed,
    NotAttempted,
}

/// What happened to one client.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClientResult {
    pub id: String,
    pub name: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
    /// The client's secret as the server holds it, kept only for `--secrets-out`; never
    /// serialized.
    #[serde(skip)]
    pub secret: Option<secrecy::SecretString>,
    /// True when boruta generated the secret (the manifest declares none).
    #[serde(skip)]
    pub secret_generated: bool,
}

/// Called as each client finishes (progress bar, plain lines, secrets file).
pub trait Observer: Send + Sync {
    fn finished(&self, result: &ClientResult, done: usize, total: usize);
}

/// Runs every job with at most `concurrency` creates in flight. A failure that will fail
/// every other create too (authentication, permissions) stops the run: the remaining
/// clients are `not attempted`.
pub async fn apply(
    connection: Arc<Connection>,
    jobs: Vec<Job>,
    concurrency: usize,
    observer: Arc<dyn Observer>,
) -> Vec<ClientResult> {
    let total = jobs.len();
    let order: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
    let queue = Arc::new(Mutex::new(jobs.into_iter().collect::<VecDeque<Job>>()));
    let results = Arc::new(Mutex::new(Vec::<ClientResult>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.clamp(1, total.max(1)) {
        let (queue, results, stop, connection, observer) = (
            queue.clone(),
            results.clone(),
            stop.clone(),
            connection.clone(),
            observer.clone(),
        );
        workers.spawn(async move {
            loop {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let Some(job) = lock(&queue).pop_front() else {
                    return;
                };
                let (result, fatal) = run_job(&connection, &job).await;
                if fatal {
                    stop.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                let done = {
                    let mut results = lock(&results);
                    results.push(result.clone());
                    results.len()
                };
                observer.finished(&result, done, total);
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let mut finished = std::mem::take(&mut *lock(&results));
    for job in lock(&queue).drain(..) {
        finished.push(ClientResult {
            id: job.id,
            name: job.name,
            outcome: Outcome::NotAttempted,
            reason: Some("not attempted: the run stopped after an earlier failure".into()),
            diagnostics: Vec::new(),
            secret: None,
            secret_generated: false,
        });
    }
    // Report in plan order, whatever order the creates finished in.
    let rank: std::collections::HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    finished.sort_by_key(|r| rank.get(r.id.as_str()).copied());
    finished
}

/// Would this error fail every other create as well?
fn is_fatal(error: &FetchError) -> bool {
    matches!(
        error,
        FetchError::Server {
            status: 401 | 403,
            ..
        } | FetchError::Token { .. }
            | FetchError::Config(_)
    )
}

async fn run_job(connection: &Connection, job: &Job) -> (ClientResult, bool) {
    let mut result = ClientResult {
        id: job.id.clone(),
        name: job.name.clone(),
        outcome: Outcome::Failed,
        reason: None,
        diagnostics: Vec::new(),
        secret: None,
        secret_generated: job.generated_secret,
    };
    let secret_of = |record: &Map<String, Value>| {
        record
            .get("secret")
            .and_then(Value::as_str)
            .map(|s| secrecy::SecretString::from(s.to_string()))
    };
    match connection
        .create_client(&job.body, &format!("`{}` ({})", job.name, job.id))
        .await
    {
        Ok(Created::Created { secret }) => {
            result.outcome = Outcome::Created;
            result.secret = secret;
        }
        Ok(Created::IdTaken {
            after_unknown_outcome,
        }) => match connection.show_client(&job.id).await {
            Ok(Some(record)) if (job.matches)(&record) => {
                // Our own earlier attempt committed, or another run created the same client.
                result.outcome = if after_unknown_outcome {
                    Outcome::Created
                } else {
                    Outcome::AlreadyPresent
                };
                result.secret = secret_of(&record);
                if !after_unknown_outcome {
                    result.reason =
                        Some("created meanwhile by another run; it matches the manifest".into());
                }
            }
            Ok(Some(_)) => {
                result.reason = Some(format!(
                    "id {} is already used by a different client on the server: pin another id, or adopt that client",
                    job.id
                ));
            }
            Ok(None) => {
                result.reason = Some(format!(
                    "boruta said id {} is taken, but cannot show it",
                    job.id
                ))
            }
            Err(e) => {
                let fatal = is_fatal(&e);
                result.reason = Some(e.to_string());
                return (result, fatal);
            }
        },
        Ok(Created::Rejected(errors)) => {
            let mut parts = Vec::new();
            for (field, messages) in &errors {
                for message in messages {
                    parts.push(format!("{field}: {message}"));
                    let location = (job.locate)(field, message);
                    result.diagnostics.push(Diagnostic::error(
                        "rejected-by-server",
                        format!("boruta rejected `{field}`: {message}"),
                        Some(location),
                    ));
                }
            }
            result.reason = Some(format!(
                "boruta refused the client (422): {}",
                parts.join("; ")
            ));
        }
        Err(e) => {
            let fatal = is_fatal(&e);
            result.reason = Some(e.to_string());
            return (result, fatal);
        }
    }
    (result, false)
}
