//! Executes the creates of a plan: bounded concurrency, retries (in `fetch`), idempotency
//! (a create whose outcome was unknown and then meets "id has already been taken" is
//! verified against the server instead of failing), and one outcome per client:
//! created, already present, failed (with the reason), or not attempted.
//!
//! Three things stop a run from starting new creates: a failure that would fail every
//! create (authentication, permissions), a server that ignored the requested id (every
//! retry and re-run would then make another copy), and a cancelled run (SIGINT/SIGTERM).
//! Creates in flight always finish, so their outcomes and generated secrets are reported.
//!
//! It never sends PATCH, PUT or DELETE: existing clients are not touched.

use crate::fetch::{Connection, Created, FetchError};
use crate::source::Diagnostic;
use crate::sync::lock;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
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

impl Job {
    /// Scope names this create makes boruta create (`{name}` without an id: the name is
    /// unknown on the server).
    fn new_scope_names(&self) -> BTreeSet<String> {
        self.body
            .get("authorized_scopes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|s| s.get("id").is_none())
            .filter_map(|s| s.get("name").and_then(Value::as_str).map(str::to_string))
            .collect()
    }
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

/// Called as each client finishes (progress, secrets file). Called from the async
/// runtime's workers: it must not block (hand the result to a thread).
pub trait Observer: Send + Sync {
    fn finished(&self, result: &ClientResult, done: usize, total: usize);
}

/// Why a run stopped starting creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Failure,
    Cancelled,
}

/// Shared by the workers of one run.
struct Run {
    connection: Arc<Connection>,
    observer: Arc<dyn Observer>,
    results: Mutex<Vec<ClientResult>>,
    stopped: Mutex<Option<Stop>>,
    cancelled: Arc<AtomicBool>,
    total: usize,
}

impl Run {
    fn stop_reason(&self) -> Option<Stop> {
        if self.cancelled.load(Ordering::SeqCst) {
            return Some(Stop::Cancelled);
        }
        *lock(&self.stopped)
    }

    fn not_attempted_reason(&self) -> &'static str {
        match self.stop_reason() {
            Some(Stop::Cancelled) => "not attempted: the run was cancelled",
            _ => "not attempted: the run stopped after an earlier failure",
        }
    }
}

/// Runs every job with at most `concurrency` creates in flight. `cancelled` is the
/// connection's cancellation flag: once set, no new create starts.
///
/// Creates that make boruta create the same new scope never run at the same time: boruta
/// would insert that scope twice, and the second create would fail with a 500 (unique
/// index without constraint mapping, contract §13). The first such client is created in
/// one round, the others in a later one, when the scope exists.
pub async fn apply(
    connection: Arc<Connection>,
    jobs: Vec<Job>,
    concurrency: usize,
    observer: Arc<dyn Observer>,
) -> Vec<ClientResult> {
    let total = jobs.len();
    let order: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
    let run = Arc::new(Run {
        cancelled: connection.cancellation(),
        connection,
        observer,
        results: Mutex::new(Vec::new()),
        stopped: Mutex::new(None),
        total,
    });
    let mut pending: Vec<Job> = jobs;
    while !pending.is_empty() && run.stop_reason().is_none() {
        let (round, later) = next_round(pending);
        pending = later;
        run_round(&run, round, concurrency).await;
    }
    let mut finished = std::mem::take(&mut *lock(&run.results));
    for job in pending {
        finished.push(not_attempted(job, run.not_attempted_reason()));
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

/// The jobs that may run together now, and the rest: a job introducing a new scope name
/// waits when an earlier job of this round introduces the same name.
fn next_round(jobs: Vec<Job>) -> (Vec<Job>, Vec<Job>) {
    let mut claimed = BTreeSet::new();
    let (mut now, mut later) = (Vec::new(), Vec::new());
    for job in jobs {
        let names = job.new_scope_names();
        if names.iter().any(|n| claimed.contains(n)) {
            later.push(job);
        } else {
            claimed.extend(names);
            now.push(job);
        }
    }
    (now, later)
}

fn not_attempted(job: Job, reason: &str) -> ClientResult {
    ClientResult {
        id: job.id,
        name: job.name,
        outcome: Outcome::NotAttempted,
        reason: Some(reason.to_string()),
        diagnostics: Vec::new(),
        secret: None,
        secret_generated: false,
    }
}

async fn run_round(run: &Arc<Run>, jobs: Vec<Job>, concurrency: usize) {
    let workers_wanted = concurrency.clamp(1, jobs.len().max(1));
    let queue = Arc::new(Mutex::new(jobs.into_iter().collect::<VecDeque<Job>>()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..workers_wanted {
        let (queue, run) = (queue.clone(), run.clone());
        workers.spawn(async move {
            loop {
                if run.stop_reason().is_some() {
                    return;
                }
                let Some(job) = lock(&queue).pop_front() else {
                    return;
                };
                let (result, stop) = run_job(&run.connection, &job).await;
                if stop {
                    lock(&run.stopped).get_or_insert(Stop::Failure);
                }
                let done = {
                    let mut results = lock(&run.results);
                    results.push(result.clone());
                    results.len()
                };
                run.observer.finished(&result, done, run.total);
            }
        });
    }
    while workers.join_next().await.is_some() {}
    // Jobs never taken (the run stopped) are reported as such.
    let left: Vec<Job> = lock(&queue).drain(..).collect();
    let mut results = lock(&run.results);
    for job in left {
        results.push(not_attempted(job, run.not_attempted_reason()));
    }
}

/// Performs one create; the flag says whether the run must stop starting creates.
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
    let failed = |mut result: ClientResult, e: FetchError| {
        let stop = e.is_fatal();
        result.reason = Some(e.to_string());
        (result, stop)
    };
    match connection
        .create_client(&job.body, &format!("`{}` ({})", job.name, job.id))
        .await
    {
        Ok(Created::Created { id, name, secret }) => {
            let same_id = id
                .as_deref()
                .is_some_and(|i| i.eq_ignore_ascii_case(&job.id));
            let same_name = name.as_deref() == Some(job.name.as_str());
            result.secret = secret;
            if same_id && same_name {
                result.outcome = Outcome::Created;
            } else {
                // The server (or something in between) did not create the client that was
                // asked for: every retry and re-run would create another copy.
                let got = format!(
                    "id {} named {}",
                    id.as_deref().unwrap_or("(none)"),
                    name.as_deref()
                        .map_or("(none)".to_string(), |n| format!("`{n}`"))
                );
                let message = format!(
                    "the server answered 201 but created {got} instead of id {} named `{}`: it ignored the requested id, so every retry would create another copy. No more creates are started; delete the stray client and check what sits between boruta-gitops and boruta",
                    job.id, job.name
                );
                result.diagnostics.push(Diagnostic::error(
                    "server-ignored-id",
                    message.clone(),
                    Some((job.locate)("id", "")),
                ));
                result.reason = Some(message);
                return (result, true);
            }
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
            Err(e) => return failed(result, e),
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
        Ok(Created::KeyPairNotFound) => {
            let message = "key pair not found: boruta answered 404 to the create; no global key pair (/api/key-pairs) has this id".to_string();
            result.diagnostics.push(Diagnostic::error(
                "key-pair-not-found",
                message.clone(),
                Some((job.locate)("key_pair_id", "")),
            ));
            result.reason = Some(message);
        }
        Err(e) => return failed(result, e),
    }
    (result, false)
}
