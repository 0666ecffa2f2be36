//! Executes the actions of a plan (creates, updates, deletes): bounded concurrency, retries
//! (in `fetch`), idempotency (a create whose outcome was unknown and then meets "id has
//! already been taken" is verified against the server instead of failing; a delete whose
//! retry meets 404 was done by the lost attempt), and one outcome per object: created,
//! updated, deleted, already present/absent, failed (with the reason), or not attempted.
//!
//! An update is verified, never assumed: the client boruta renders after a `200`, or reads
//! back after a `422` (boruta saves the other fields even when the identity-provider
//! association fails, contract §9.3), is compared with the manifest, and an update that
//! did not fully take is a failure naming the fields that did and did not.
//!
//! Three things stop a run from starting new actions: a failure that would fail every
//! one (authentication, permissions), a server that ignored the requested id (every retry
//! and re-run would then make another copy), and a cancelled run (SIGINT/SIGTERM).
//! Actions in flight always finish, so their outcomes and generated secrets are reported.
//!
//! Only the jobs it is given are performed: the caller decides, from the reviewed plan,
//! which clients are touched.

use crate::fetch::{Connection, Created, Deleted, FetchError, FieldErrors, Updated};
use crate::findings::Code;
use crate::kinds::ObjectKind;
use crate::source::Diagnostic;
use crate::sync::lock;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Maps a boruta 422 field error (field, message) back to the manifest's value.
pub type Locator = std::sync::Arc<dyn Fn(&str, &str) -> crate::source::Location + Send + Sync>;
/// The fields where a server record differs from the manifest (empty: it is the client
/// the manifest describes; ignored fields never count).
pub type Differ = std::sync::Arc<dyn Fn(&Map<String, Value>) -> Vec<String> + Send + Sync>;
/// The step after a client's boruta write (or alone, for [`Work::Deliver`]): its secret
/// delivered to the secret store. Given the secret boruta answered with, if any.
pub type FollowUp = std::sync::Arc<
    dyn Fn(
            Option<secrecy::SecretString>,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = DeliveryResult> + Send>>
        + Send
        + Sync,
>;

/// How a client's secret delivery ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryResult {
    /// `mount/path`.
    pub location: String,
    pub delivered: bool,
    /// The version written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Why it was not delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a job does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// `POST /api/<kind>s`; `generated_secret` when a client manifest declares no secret.
    Create { generated_secret: bool },
    /// `PATCH /api/<kind>s/{id}` changing `fields`, then `regenerate_key_pair` if asked.
    /// `resend_only`: nothing but write-only fields, re-sent as git declares them.
    Update {
        fields: Vec<String>,
        regenerate_key_pair: bool,
        resend_only: bool,
    },
    /// `DELETE /api/<kind>s/{id}`.
    Delete,
    /// Nothing sent to boruta: the job's follow-up re-delivers the client's secret.
    Deliver,
}

/// One action to perform.
pub struct Job {
    pub kind: ObjectKind,
    pub id: String,
    pub name: String,
    pub work: Work,
    /// The request body of a create or an update (contains secrets; never printed).
    pub body: Map<String, Value>,
    pub locate: Locator,
    pub differs: Differ,
    /// Run after a successful boruta write (or alone, for [`Work::Deliver`]).
    pub follow_up: Option<FollowUp>,
}

impl Job {
    /// Scope names this create or update makes boruta create (`{name}` without an id:
    /// the name is unknown on the server).
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
    Updated,
    /// Write-only fields sent again as git declares them (nothing else changed).
    #[serde(rename = "re-sent")]
    Resent,
    Deleted,
    /// It already existed as described (another run created it, or an earlier attempt of
    /// this one whose answer was lost).
    AlreadyPresent,
    /// A client to delete that someone else deleted first.
    AlreadyAbsent,
    /// Nothing written to boruta: the client's secret was delivered to the secret store.
    Delivered,
    Failed,
    NotAttempted,
}

impl Outcome {
    /// True when the server ends as the plan said.
    pub fn converged(self) -> bool {
        !matches!(self, Outcome::Failed | Outcome::NotAttempted)
    }
}

/// What happened to one object.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ObjectResult {
    #[serde(skip_serializing_if = "ObjectKind::is_client")]
    pub kind: ObjectKind,
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
    /// The delivery of the client's secret to the secret store, when this run wrote it
    /// (or tried to).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryResult>,
}

impl ObjectResult {
    /// True when the object ended as planned, its secret's delivery included.
    pub fn converged(&self) -> bool {
        self.outcome.converged() && self.delivery.as_ref().is_none_or(|d| d.delivered)
    }
}

/// Called as each client finishes (progress, secrets file). Called from the async
/// runtime's workers: it must not block (hand the result to a thread).
pub trait Observer: Send + Sync {
    fn finished(&self, result: &ObjectResult, done: usize, total: usize);
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
    results: Mutex<Vec<ObjectResult>>,
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

/// Runs every job with at most `concurrency` in flight. `cancelled` is the connection's
/// cancellation flag: once set, no new job starts.
///
/// Jobs run in phases (`Phase`): scope creates and updates, then clients, then scope
/// deletes; a phase starts only when every job of the earlier ones succeeded.
///
/// Creates and updates that make boruta create the same new scope never run at the same
/// time: boruta would insert that scope twice, and the second request would fail with a
/// 500 (unique index without constraint mapping, contract §13). The first such client is
/// sent in one round, the others in a later one, when the scope exists.
pub async fn apply(
    connection: Arc<Connection>,
    jobs: Vec<Job>,
    concurrency: usize,
    observer: Arc<dyn Observer>,
) -> Vec<ObjectResult> {
    let total = jobs.len();
    let order: Vec<(ObjectKind, String)> = jobs.iter().map(|j| (j.kind, j.id.clone())).collect();
    let run = Arc::new(Run {
        cancelled: connection.cancellation(),
        connection,
        observer,
        results: Mutex::new(Vec::new()),
        stopped: Mutex::new(None),
        total,
    });
    let mut held_back: Vec<(Job, &'static str)> = Vec::new();
    for phase in Phase::split(jobs) {
        let earlier_failed = lock(&run.results).iter().any(|r| !r.outcome.converged());
        if earlier_failed || run.stop_reason().is_some() {
            let reason = if earlier_failed {
                Phase::HELD_BACK
            } else {
                run.not_attempted_reason()
            };
            held_back.extend(phase.into_iter().map(|job| (job, reason)));
            continue;
        }
        let mut pending: Vec<Job> = phase;
        while !pending.is_empty() && run.stop_reason().is_none() {
            let (round, later) = next_round(pending);
            pending = later;
            run_round(&run, round, concurrency).await;
        }
        let reason = run.not_attempted_reason();
        held_back.extend(pending.into_iter().map(|job| (job, reason)));
    }
    let mut finished = std::mem::take(&mut *lock(&run.results));
    for (job, reason) in held_back {
        finished.push(not_attempted(job, reason));
    }
    // Report in plan order, whatever order the creates finished in.
    let rank: std::collections::HashMap<(ObjectKind, &str), usize> = order
        .iter()
        .enumerate()
        .map(|(i, (kind, id))| ((*kind, id.as_str()), i))
        .collect();
    finished.sort_by_key(|r| rank.get(&(r.kind, r.id.as_str())).copied());
    finished
}

/// The order of writes across kinds: objects are written after those they reference and
/// deleted after the objects that referenced them were updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Scope creates and updates: a client may name a scope this run creates or renames.
    Scopes,
    /// Every client write.
    Clients,
    /// Scope deletes: after the clients that dropped them are updated.
    ScopeDeletes,
}

impl Phase {
    const HELD_BACK: &'static str = "not attempted: an earlier step of this apply failed (scopes are written before the clients that name them, and deleted after)";

    fn of(job: &Job) -> Phase {
        match (job.kind, &job.work) {
            (ObjectKind::Scope, Work::Delete) => Phase::ScopeDeletes,
            (ObjectKind::Scope, _) => Phase::Scopes,
            (ObjectKind::Client, _) => Phase::Clients,
        }
    }

    /// The jobs of each phase that has any, in phase order (plan order within one).
    fn split(jobs: Vec<Job>) -> Vec<Vec<Job>> {
        let mut phases: std::collections::BTreeMap<Phase, Vec<Job>> = Default::default();
        for job in jobs {
            phases.entry(Phase::of(&job)).or_default().push(job);
        }
        phases.into_values().collect()
    }
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

fn not_attempted(job: Job, reason: &str) -> ObjectResult {
    ObjectResult {
        kind: job.kind,
        id: job.id,
        name: job.name,
        outcome: Outcome::NotAttempted,
        reason: Some(reason.to_string()),
        diagnostics: Vec::new(),
        secret: None,
        secret_generated: false,
        delivery: None,
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

/// Performs one job; the flag says whether the run must stop starting jobs.
async fn run_job(connection: &Connection, job: &Job) -> (ObjectResult, bool) {
    let result = ObjectResult {
        kind: job.kind,
        id: job.id.clone(),
        name: job.name.clone(),
        outcome: Outcome::Failed,
        reason: None,
        diagnostics: Vec::new(),
        secret: None,
        secret_generated: job.work
            == (Work::Create {
                generated_secret: true,
            }),
        delivery: None,
    };
    let (mut result, stop) = write(connection, job, result).await;
    let written = matches!(
        result.outcome,
        Outcome::Created
            | Outcome::Updated
            | Outcome::Resent
            | Outcome::AlreadyPresent
            | Outcome::Delivered
    );
    if let Some(follow_up) = job.follow_up.as_ref().filter(|_| written) {
        let delivery = follow_up(result.secret.clone()).await;
        if result.outcome == Outcome::Delivered && !delivery.delivered {
            result.outcome = Outcome::Failed;
            result.reason = delivery.reason.clone();
        }
        result.delivery = Some(delivery);
    }
    (result, stop)
}

/// Performs one job's boruta write.
async fn write(connection: &Connection, job: &Job, mut result: ObjectResult) -> Done {
    match &job.work {
        Work::Deliver => {
            result.outcome = Outcome::Delivered;
            (result, false)
        }
        Work::Create { .. } => create(connection, job, result).await,
        Work::Update {
            fields,
            regenerate_key_pair,
            resend_only,
        } => {
            let (mut result, stop) =
                update(connection, job, fields, *regenerate_key_pair, result).await;
            if *resend_only && result.outcome == Outcome::Updated {
                result.outcome = Outcome::Resent;
            }
            (result, stop)
        }
        Work::Delete => delete(connection, job, result).await,
    }
}

/// A job's result, and whether the run must stop starting jobs.
type Done = (ObjectResult, bool);

/// A job ended by a transport or server failure: fatal ones stop the run.
fn failed(mut result: ObjectResult, e: FetchError) -> Done {
    let stop = e.is_fatal();
    result.reason = Some(e.to_string());
    (result, stop)
}

/// The label of an object in request descriptions.
fn label(job: &Job) -> String {
    format!("`{}` ({})", job.name, job.id)
}

/// boruta's 422 field errors as findings at the manifest's values, and one summary line.
fn rejected(job: &Job, errors: &FieldErrors, result: &mut ObjectResult) -> String {
    let mut parts = Vec::new();
    for (field, messages) in errors {
        for message in messages {
            parts.push(format!("{field}: {message}"));
            result.diagnostics.push(Diagnostic::new(
                Code::RejectedByServer,
                format!("boruta rejected `{field}`: {message}"),
                Some((job.locate)(field, message)),
            ));
        }
    }
    parts.join("; ")
}

/// `a`, `b` (or `none`).
fn field_list(fields: &[&String]) -> String {
    if fields.is_empty() {
        return "none".to_string();
    }
    let quoted: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
    quoted.join(", ")
}

/// The update's fields that took and those that did not, given what still differs.
fn took(fields: &[String], differing: &[String]) -> (String, String) {
    let (not, done): (Vec<&String>, Vec<&String>) =
        fields.iter().partition(|f| differing.contains(f));
    (field_list(&done), field_list(&not))
}

/// Performs one update and checks that it took.
async fn update(
    connection: &Connection,
    job: &Job,
    fields: &[String],
    regenerate_key_pair: bool,
    mut result: ObjectResult,
) -> Done {
    let gone = format!(
        "the {} no longer exists on the server (deleted since the plan was read): run plan again",
        job.kind
    );
    let answer = match connection
        .update(job.kind, &job.id, &job.body, &label(job))
        .await
    {
        Ok(answer) => answer,
        Err(e) => return failed(result, e),
    };
    let mut record = match answer {
        Updated::Saved(record) => record,
        Updated::NotFound => {
            result.reason = Some(gone);
            return (result, false);
        }
        Updated::Rejected(errors) => {
            let summary = rejected(job, &errors, &mut result);
            // boruta may have saved the other fields before failing: say which took.
            let after = match connection.show(job.kind, &job.id).await {
                Ok(Some(record)) => {
                    let (done, not) = took(fields, &(job.differs)(&record));
                    format!("read back: changed {done}; not changed {not}")
                }
                Ok(None) => format!("read back: the {} no longer exists", job.kind),
                Err(e) => format!("the {} could not be read back ({e}): check it", job.kind),
            };
            result.reason = Some(format!(
                "boruta refused the update (422): {summary}; {after}"
            ));
            return (result, false);
        }
    };
    if regenerate_key_pair {
        match connection.regenerate_key_pair(&job.id, &label(job)).await {
            Ok(Some(regenerated)) => record = regenerated,
            Ok(None) => {
                result.reason = Some(gone);
                return (result, false);
            }
            Err(e) => {
                result.reason = Some(format!(
                    "updated, but the new key pair was not generated: {e}. Run apply again, or POST /api/clients/{}/regenerate_key_pair",
                    job.id
                ));
                return (result, false);
            }
        }
    }
    let differing = (job.differs)(&record);
    if differing.is_empty() {
        result.outcome = Outcome::Updated;
    } else {
        let (done, not) = took(fields, &differing);
        let others: Vec<&String> = differing.iter().filter(|f| !fields.contains(f)).collect();
        let mut reason = format!(
            "boruta answered 200 but the {} still differs from the manifest: changed {done}; not changed {not}",
            job.kind
        );
        if !others.is_empty() {
            reason.push_str(&format!("; now different: {}", field_list(&others)));
        }
        result.reason = Some(reason);
    }
    (result, false)
}

/// Performs one delete.
async fn delete(connection: &Connection, job: &Job, mut result: ObjectResult) -> Done {
    match connection.delete(job.kind, &job.id, &label(job)).await {
        Ok(Deleted::Deleted) => result.outcome = Outcome::Deleted,
        Ok(Deleted::AlreadyAbsent) => {
            result.outcome = Outcome::AlreadyAbsent;
            result.reason = Some("deleted meanwhile by someone else".into());
        }
        Err(e) => return failed(result, e),
    }
    (result, false)
}

/// A create answered 201: the object asked for, or a server that ignored the requested id
/// (then no more creates start: each would make another copy).
fn created(job: &Job, id: Option<&str>, name: Option<&str>, mut result: ObjectResult) -> Done {
    let same_id = id.is_some_and(|i| i.eq_ignore_ascii_case(&job.id));
    let same_name = name == Some(job.name.as_str());
    if same_id && same_name {
        result.outcome = Outcome::Created;
        return (result, false);
    }
    // The server (or something in between) did not create the client that was asked
    // for: every retry and re-run would create another copy. The stray client is to be
    // deleted, not used: its secret is no secret of a declared client, so it is not kept
    // (neither counted as generated, nor written to --secrets-out or the secret store).
    result.secret = None;
    let got = format!(
        "id {} named {}",
        id.unwrap_or("(none)"),
        name.map_or("(none)".to_string(), |n| format!("`{n}`"))
    );
    let message = format!(
        "the server answered 201 but created {got} instead of id {} named `{}`: it ignored the requested id, so every retry would create another copy. No more creates are started; delete the stray {} and check what sits between boruta-gitops and boruta",
        job.id, job.name, job.kind
    );
    result.diagnostics.push(Diagnostic::new(
        Code::ServerIgnoredId,
        message.clone(),
        Some((job.locate)("id", "")),
    ));
    result.reason = Some(message);
    (result, true)
}

/// A create refused because the id is taken: by the object as the manifest declares it (an
/// earlier attempt of ours, or another run), or by another one.
async fn id_taken(
    connection: &Connection,
    job: &Job,
    after_unknown_outcome: bool,
    mut result: ObjectResult,
) -> Done {
    match connection.show(job.kind, &job.id).await {
        Ok(Some(record)) if (job.differs)(&record).is_empty() => {
            // Our own earlier attempt committed, or another run created the same client.
            result.outcome = if after_unknown_outcome {
                Outcome::Created
            } else {
                Outcome::AlreadyPresent
            };
            result.secret = record
                .get("secret")
                .and_then(Value::as_str)
                .map(|s| secrecy::SecretString::from(s.to_string()));
            if !after_unknown_outcome {
                result.reason =
                    Some("created meanwhile by another run; it matches the manifest".into());
            }
        }
        Ok(Some(_)) => {
            result.reason = Some(format!(
                "id {} is already used by a different {kind} on the server: pin another id, or adopt that {kind}",
                job.id,
                kind = job.kind
            ));
        }
        Ok(None) => {
            result.reason = Some(format!(
                "boruta said id {} is taken, but cannot show it",
                job.id
            ))
        }
        Err(e) => return failed(result, e),
    }
    (result, false)
}

/// Performs one create.
async fn create(connection: &Connection, job: &Job, mut result: ObjectResult) -> Done {
    match connection.create(job.kind, &job.body, &label(job)).await {
        Ok(Created::Created { id, name, secret }) => {
            result.secret = secret;
            return created(job, id.as_deref(), name.as_deref(), result);
        }
        Ok(Created::IdTaken {
            after_unknown_outcome,
        }) => return id_taken(connection, job, after_unknown_outcome, result).await,
        Ok(Created::Rejected(errors)) => {
            let summary = rejected(job, &errors, &mut result);
            result.reason = Some(format!("boruta refused the {} (422): {summary}", job.kind));
        }
        Ok(Created::KeyPairNotFound) => {
            let message = "key pair not found: boruta answered 404 to the create; no global key pair (/api/key-pairs) has this id".to_string();
            result.diagnostics.push(Diagnostic::new(
                Code::KeyPairNotFound,
                message.clone(),
                Some((job.locate)("key_pair_id", "")),
            ));
            result.reason = Some(message);
        }
        Err(e) => return failed(result, e),
    }
    (result, false)
}
