//! `apply`: the plan (computed now, or saved and checked for staleness), the jobs it
//! performs, and their execution: bounded concurrency, signals, generated secrets written
//! only where asked. Returns data and reports progress through a [`Reporter`]; the
//! command line renders both and asks for confirmation.

use super::connect::ConnectionOptions;
use super::plan::{compute, Computed, Outcome};
use super::prepare::{Manifests, Prepared};
use crate::apply::{Differ, Job, Locator, ObjectResult, Observer, Outcome as Ended, Work};
use crate::diff::{Action, ObjectDiff, Observed};
use crate::error::Error;
use crate::kinds::client::fields::{FieldId, Version};
use crate::kinds::client::{ClientRecord, ClientSpec, SystemIds};
use crate::kinds::scope::ScopeSpec;
use crate::kinds::ObjectKind;
use crate::load::Environment;
use crate::plan::{self, Plan, PlannedObject, Purpose, Stale};
use crate::sync::lock;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A saved plan is a few MB at most (it holds digests, not manifests).
const MAX_SAVED_PLAN_BYTES: u64 = 64 * 1024 * 1024;

/// What `apply` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// `--plan FILE`: apply this saved plan.
    pub saved_plan: Option<PathBuf>,
    /// `--update`, `--allow-delete`, `--select` (refused together with a saved plan).
    pub converge: plan::Options,
}

/// How many jobs of each kind a run has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub resend: usize,
    pub delete: usize,
    /// Secrets re-delivered to the secret store, with nothing written to boruta.
    pub deliver: usize,
    /// Of all those, the scope jobs.
    pub scopes: usize,
}

impl Counts {
    /// Every job.
    pub fn total(&self) -> usize {
        self.create + self.update + self.resend + self.delete + self.deliver
    }

    fn of(jobs: &[Job]) -> Counts {
        let mut counts = Counts::default();
        for job in jobs {
            counts.scopes += usize::from(job.kind == ObjectKind::Scope);
            match job.work {
                Work::Create { .. } => counts.create += 1,
                Work::Update {
                    resend_only: true, ..
                } => counts.resend += 1,
                Work::Update { .. } => counts.update += 1,
                Work::Delete => counts.delete += 1,
                Work::Deliver => counts.deliver += 1,
            }
        }
        counts
    }
}

/// An apply that is ready to run, or why it will not.
pub struct Ready {
    pub computed: Computed,
    /// Why nothing will be done (errors in the plan, a stale saved plan), if so.
    pub refusal: Option<Refusal>,
    pub jobs: Vec<Job>,
    pub counts: Counts,
    /// A saved plan is the reviewed plan: applying it is the approval.
    pub from_saved_plan: bool,
}

impl Ready {
    /// What `apply` does next: refuse, say there is nothing to do, or run the jobs once
    /// approved (by `--auto-approve`, by a saved plan, or on the terminal).
    pub fn next(&self, auto_approve: bool, stdin_is_terminal: bool) -> super::Next<Refusal> {
        let approved = auto_approve || self.from_saved_plan;
        let nothing_to_do = self.jobs.is_empty();
        super::next(
            self.refusal.as_ref(),
            nothing_to_do,
            approved,
            stdin_is_terminal,
        )
    }

    /// The secret store the run writes to, if it delivers a secret (the confirmation
    /// question names it).
    pub fn store_written(&self) -> Option<&str> {
        let delivers = self.jobs.iter().any(|j| j.follow_up.is_some());
        self.computed
            .deliveries
            .store_address()
            .filter(|_| delivers)
    }
}

/// Why an apply changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The plan has errors (shown above it): it was reviewed as one unit.
    PlanHasErrors,
    /// The saved plan no longer matches the manifests or the server.
    Stale(Vec<Stale>),
    /// The secret store would refuse a delivery the run must write (checked before any
    /// boruta write): why, naming the store and the paths.
    Store(String),
}

/// The first half of `apply`: the plan, and the jobs it performs.
pub enum Start {
    Invalid(Box<Prepared>),
    Ready(Box<Ready>),
}

fn read_saved_plan(path: &Path) -> Result<Plan, Error> {
    let text =
        crate::bounded::read_text(path, MAX_SAVED_PLAN_BYTES).map_err(|source| Error::File {
            what: "the saved plan",
            path: path.to_path_buf(),
            source,
        })?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| Error::Format {
        what: "the saved plan",
        path: path.to_path_buf(),
        expected: "a boruta-gitops plan",
        source: Box::new(e),
    })?;
    if plan.format_version != plan::PLAN_FORMAT_VERSION {
        return Err(Error::Usage(format!(
            "{} has plan format {}, this boruta-gitops reads format {}",
            path.display(),
            plan.format_version,
            plan::PLAN_FORMAT_VERSION
        )));
    }
    Ok(plan)
}

/// The saved plan of `--plan`, if any, read and checked. A saved plan that cannot be read,
/// or that names another server or manifest directory than the caller's, fails before any
/// network traffic. It says what the apply may do; where requests go and which manifests
/// are read are the caller's.
fn saved_plan(
    manifests: &Manifests,
    connection: &ConnectionOptions,
    options: &ApplyOptions,
) -> Result<Option<Plan>, Error> {
    let Some(path) = options.saved_plan.as_deref() else {
        return Ok(None);
    };
    let saved = read_saved_plan(path)?;
    let now = manifests.environment.as_ref().map(|e| e.name.as_str());
    check_environment(saved.environment.as_deref(), now)?;
    if options.converge != plan::Options::default() {
        return Err(Error::Usage(
            "apply --plan performs the saved plan as it was reviewed: --update, --allow-delete and --select are recorded in it, and cannot be given again".into(),
        ));
    }
    check_target(&saved, manifests, connection)?;
    Ok(Some(saved))
}

/// Computes the plan (checking a saved one against it) and the jobs.
pub fn prepare(
    manifests: &Manifests,
    connection: &ConnectionOptions,
    env: &dyn Environment,
    options: &ApplyOptions,
    runtime: &tokio::runtime::Runtime,
) -> Result<Start, Error> {
    let saved = saved_plan(manifests, connection, options)?;
    let converge = match &saved {
        Some(saved) => saved.options.clone(),
        None => options.converge.clone(),
    };
    let outcome = runtime.block_on(compute(
        manifests,
        connection,
        env,
        &converge,
        Purpose::Apply,
    ))?;
    let mut computed = match outcome {
        Outcome::Planned(computed) => *computed,
        Outcome::Invalid(prepared) => return Ok(Start::Invalid(prepared)),
    };
    if computed.plan.scopes_requested.as_slice() != computed.connection.scopes() {
        // The writes need a scope the reads did not (scopes:manage:all): a token of its
        // own, requested only now that the plan shows scope writes.
        computed.connection = Arc::new(connection.connect(computed.plan.scopes_requested.clone())?);
    }
    let refusal = if computed.refused() {
        Some(Refusal::PlanHasErrors)
    } else {
        saved
            .as_ref()
            .and_then(|saved| stale(saved, &computed.plan))
    };
    // With a saved plan, only what it showed is done (a client deleted on the server
    // since then stays deleted until a new plan shows it).
    let shown = saved.as_ref().unwrap_or(&computed.plan);
    let planned: HashSet<(ObjectKind, &str)> = shown
        .objects()
        .filter(|c| c.acts())
        .map(|c| (c.kind, c.id.as_str()))
        .collect();
    let mut jobs = match refusal {
        Some(_) => Vec::new(),
        None => jobs(&computed, &planned),
    };
    let refusal = match refusal {
        Some(refusal) => Some(refusal),
        None => runtime
            .block_on(check_deliveries(&computed, &jobs))
            .err()
            .map(Refusal::Store),
    };
    if refusal.is_some() {
        jobs.clear();
    }
    let counts = Counts::of(&jobs);
    Ok(Start::Ready(Box::new(Ready {
        computed,
        refusal,
        jobs,
        counts,
        from_saved_plan: saved.is_some(),
    })))
}

/// Refuses a saved plan that names another server than the configured one (or any
/// server when none is configured), or another manifest directory than the caller's: a
/// plan file is unsigned, and whoever can edit a CI artifact must not choose where the
/// admin token goes nor which files are read (issue #19).
fn check_target(
    saved: &Plan,
    manifests: &Manifests,
    connection: &ConnectionOptions,
) -> Result<(), Error> {
    let named = crate::escape::neutral(&saved.admin_url);
    let Some(configured) = &connection.admin_url else {
        return Err(Error::Usage(format!(
            "the saved plan names the server {named}, and no server is configured: set --admin-url or BORUTA_ADMIN_URL to the server this apply may change (a plan file never chooses where credentials go)"
        )));
    };
    let configured = crate::fetch::admin_base(configured);
    if crate::fetch::admin_base(&saved.admin_url) != configured {
        return Err(Error::Usage(format!(
            "the saved plan names the server {named}, not the configured {}: nothing was requested, nothing changed; make a new plan against the configured server",
            crate::escape::neutral(&configured)
        )));
    }
    let lexical = |path: &Path| -> Vec<std::ffi::OsString> {
        path.components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .map(|c| c.as_os_str().to_os_string())
            .collect()
    };
    if lexical(Path::new(&saved.manifests_dir)) != lexical(&manifests.dir) {
        return Err(Error::Usage(format!(
            "the saved plan was made from the manifests in {}, and this apply reads {}: give the directory the plan was made from as DIR, or make a new plan",
            crate::escape::neutral(&saved.manifests_dir),
            manifests.dir.display()
        )));
    }
    Ok(())
}

/// Before any boruta write: the secret store answers, and its token may write every
/// delivery the jobs make (issue #21).
async fn check_deliveries(computed: &Computed, jobs: &[Job]) -> Result<(), String> {
    let delivering: Vec<&str> = jobs
        .iter()
        .filter(|j| j.follow_up.is_some())
        .map(|j| j.id.as_str())
        .collect();
    computed.deliveries.check_writable(&delivering).await
}

/// A saved plan is applied to the environment it was made for, and only there (before
/// anything is sent: another environment's server must not see its requests).
fn check_environment(saved: Option<&str>, now: Option<&str>) -> Result<(), Error> {
    let why = match (saved, now) {
        (a, b) if a == b => return Ok(()),
        (Some(a), Some(b)) => format!("was made for environment `{a}`, not `{b}`: pass --env {a}"),
        (Some(a), None) => format!("was made for environment `{a}`: pass --env {a}"),
        (None, Some(b)) => format!("was made without an environment, not for `{b}`: drop --env"),
        (None, None) => return Ok(()),
    };
    Err(Error::Usage(format!(
        "the saved plan {why} (nothing was changed)"
    )))
}

/// Why a saved plan cannot be applied any more, if it cannot.
fn stale(saved: &Plan, fresh: &Plan) -> Option<Refusal> {
    let problems = plan::staleness(saved, fresh);
    (!problems.is_empty()).then_some(Refusal::Stale(problems))
}

/// What the jobs of clients share to check what they wrote: the scopes and identity
/// providers their references resolve against, the system clients, the version.
struct ClientChecks {
    observed: Arc<Observed>,
    system: Arc<SystemIds>,
    version: Version,
}

impl ClientChecks {
    fn new(computed: &Computed) -> Self {
        ClientChecks {
            observed: Arc::new(Observed {
                clients: Vec::new(),
                scopes: computed.scope_view.clone(),
                identity_providers: computed.observed.identity_providers.clone(),
                key_pairs: computed.observed.key_pairs.clone(),
            }),
            system: Arc::new(computed.system.clone()),
            version: computed.version,
        }
    }

    /// Where a client's field is, and how its server record differs from it.
    fn of(&self, desired: &ClientSpec) -> (Locator, Differ) {
        let desired = Arc::new(desired.clone());
        let (for_locate, observed, system) =
            (desired.clone(), self.observed.clone(), self.system.clone());
        let version = self.version;
        (
            Arc::new(move |field, message| locate_field(&for_locate, field, message)),
            Arc::new(move |record| differing_fields(&desired, record, &observed, &system, version)),
        )
    }
}

/// Where a scope's field is, and how its server record differs from it.
fn scope_checks(desired: &ScopeSpec) -> (Locator, Differ) {
    let desired = Arc::new(desired.clone());
    let for_locate = desired.clone();
    (
        Arc::new(move |field, _| for_locate.locate(field)),
        Arc::new(move |record| crate::kinds::scope::compare::differing_fields(&desired, record)),
    )
}

/// What a planned action does, and the body it sends.
fn work_of(
    planned: &PlannedObject,
    entry: &ObjectDiff,
    generated_secret: bool,
) -> Option<(Work, Map<String, Value>)> {
    Some(match (planned.action, &entry.update) {
        (Action::Create, _) => (Work::Create { generated_secret }, entry.create_body.clone()),
        (Action::Update | Action::Resend, Some(update)) => (
            Work::Update {
                fields: entry
                    .fields
                    .iter()
                    .filter(|f| !f.ignored)
                    .chain(&entry.resend)
                    .map(|f| f.field.clone())
                    .chain(update.body.contains_key("secret").then(|| "secret".into()))
                    .collect(),
                regenerate_key_pair: update.regenerate_key_pair,
                resend_only: planned.action == Action::Resend,
            },
            update.body.clone(),
        ),
        (Action::Delete, _) => (Work::Delete, Map::new()),
        // Nothing to write to boruta: only the secret's delivery (the job's follow-up).
        _ if planned.delivery_pending() => (Work::Deliver, Map::new()),
        _ => return None,
    })
}

/// One job per planned action, with what it needs to verify and locate.
fn jobs(computed: &Computed, planned: &HashSet<(ObjectKind, &str)>) -> Vec<Job> {
    let checks = ClientChecks::new(computed);
    let validated = &computed.prepared.validated;
    // Joined by identity, never by position.
    let clients: HashMap<String, &ClientSpec> = validated
        .clients
        .iter()
        .map(|s| (s.id.to_string(), s))
        .collect();
    let scopes: HashMap<String, &ScopeSpec> = validated
        .scopes
        .iter()
        .map(|s| (s.id.to_string(), s))
        .collect();
    let entries = computed.diff.by_identity();
    let mut jobs = Vec::new();
    for object in computed.plan.objects() {
        let id = object.id.as_str();
        if !object.acts() || !planned.contains(&(object.kind, id)) {
            continue;
        }
        let Some(entry) = entries.get(&(object.kind, id)).copied() else {
            continue;
        };
        let (work, (locate, differs), follow_up) = match object.kind {
            ObjectKind::Client => {
                let Some(desired) = clients.get(id).copied() else {
                    continue;
                };
                for value in desired.sensitive_texts() {
                    computed
                        .connection
                        .redact(secrecy::SecretString::from(value.to_string()));
                }
                let declared = super::deliver::declared_secret(desired);
                (
                    work_of(object, entry, !desired.declares_secret()),
                    checks.of(desired),
                    computed.deliveries.follow_up(id, declared),
                )
            }
            ObjectKind::Scope => {
                let Some(desired) = scopes.get(id).copied() else {
                    continue;
                };
                (work_of(object, entry, false), scope_checks(desired), None)
            }
        };
        let Some((work, body)) = work else { continue };
        jobs.push(Job {
            kind: object.kind,
            id: entry.id.clone(),
            name: entry.name.clone(),
            body,
            locate,
            differs,
            follow_up: follow_up.filter(|_| work != Work::Delete),
            work,
        });
    }
    jobs
}

/// Where a boruta field error points in the manifest.
fn locate_field(desired: &ClientSpec, field: &str, message: &str) -> crate::source::Location {
    let subject = match field {
        "private_key" => FieldId::KeyPairType.name(),
        "identity_provider_id" | "client_id" => FieldId::IdentityProvider.name(),
        other => other,
    };
    // List errors quote the element: "`<uri>` is invalid".
    let quoted = message
        .strip_prefix('`')
        .and_then(|m| m.strip_suffix("` is invalid"));
    let element = FieldId::parse(subject)
        .and_then(|f| desired.get(f))
        .zip(quoted)
        .and_then(|(d, uri)| d.value.strings().position(|n| n == uri));
    let part = element.map(|i| format!("/{i}")).unwrap_or_default();
    desired.locate_member(subject, &part)
}

/// The fields where the server's record differs from the manifest (ignored fields never
/// count); empty when it is the client the manifest describes.
fn differing_fields(
    desired: &ClientSpec,
    record: &Map<String, Value>,
    observed: &Observed,
    system: &SystemIds,
    version: Version,
) -> Vec<String> {
    let unreadable = || vec!["(the whole record: it cannot be read)".to_string()];
    let Ok(listed) = ClientRecord::from_map(record) else {
        return unreadable();
    };
    let entry =
        crate::kinds::client::compare::compare_record(desired, &listed, observed, system, version);
    if entry.action == Action::InSync {
        return Vec::new();
    }
    let mut fields: Vec<String> = entry
        .fields
        .iter()
        .filter(|f| !f.ignored)
        .map(|f| f.field.clone())
        .collect();
    if entry.secret == Some(crate::diff::SecretState::Changed) {
        fields.push("secret".into());
    }
    if fields.is_empty() {
        return unreadable();
    }
    fields
}

/// Told as each client finishes, from a thread of its own (it may block on a terminal).
pub trait Reporter: Send {
    fn finished(&mut self, result: &ObjectResult, done: usize, total: usize);
    /// After the last result.
    fn done(&mut self) {}
}

/// What the run did.
pub struct Report {
    pub results: Vec<ObjectResult>,
    /// The list after the writes could not be read (the writes were made).
    pub read_back_error: Option<String>,
    /// `--secrets-out` could not be written (after the clients were created).
    pub secrets_error: Option<String>,
    /// Clients whose generated secret was not written anywhere (no `--secrets-out`).
    pub generated_without_file: usize,
    /// Where the created clients' secrets were written.
    pub secrets_file: Option<PathBuf>,
}

impl Report {
    /// True when every client ended as planned and every secret was written.
    pub fn converged(&self) -> bool {
        self.results.iter().all(ObjectResult::converged)
            && self.secrets_error.is_none()
            && self.read_back_error.is_none()
    }

    /// The findings the writes met (boruta refusing a value), notes excepted, that were
    /// not already shown before the run (`shown`, the plan's): each finding is said once.
    pub fn findings(&self, shown: &[crate::source::Diagnostic]) -> Vec<crate::source::Diagnostic> {
        let met = self.results.iter().flat_map(|r| &r.diagnostics);
        let mut new = super::plan::shown(met);
        new.dedup();
        new.retain(|d| !shown.contains(d));
        new
    }
}

/// `--secrets-out`: a new file, mode 0600, one JSON object per line, written as each
/// client is created (a crash loses nothing already written).
pub struct SecretsFile {
    path: PathBuf,
    file: std::fs::File,
}

impl SecretsFile {
    /// Creates the file (refusing to overwrite one).
    pub fn create(path: &Path) -> Result<SecretsFile, Error> {
        let file = super::create_private_file(path, "--secrets-out")?;
        Ok(SecretsFile {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Writes the secret of a client this run created (not of one found already present).
    fn write(&mut self, result: &ObjectResult) -> std::io::Result<()> {
        let (Some(secret), Ended::Created) = (&result.secret, result.outcome) else {
            return Ok(());
        };
        let line = json!({"id": result.id, "name": result.name, "secret": secret.expose_secret()});
        writeln!(self.file, "{line}")?;
        self.file.sync_data()
    }
}

/// What the reporting thread keeps while the jobs run.
struct Reporting {
    reporter: Box<dyn Reporter>,
    total: usize,
    secrets: Option<SecretsFile>,
    secrets_error: Option<String>,
    generated_without_file: usize,
}

impl Reporting {
    fn record(&mut self, result: &ObjectResult, done: usize) {
        match self.secrets.as_mut() {
            Some(file) => {
                if let Err(e) = file.write(result) {
                    self.secrets_error
                        .get_or_insert(format!("cannot write {}: {e}", file.path.display()));
                }
            }
            // A generated secret delivered to the secret store is where it belongs.
            None if result.secret_generated
                && result.secret.is_some()
                && !result.delivery.as_ref().is_some_and(|d| d.delivered) =>
            {
                self.generated_without_file += 1;
            }
            None => {}
        }
        self.reporter.finished(result, done, self.total);
    }
}

/// Progress and `--secrets-out` writes happen on their own thread: a slow terminal, a full
/// pipe or an fsync never holds up the runtime that drives the requests.
struct Progress {
    sender: Mutex<Option<std::sync::mpsc::Sender<(ObjectResult, usize)>>>,
    thread: Mutex<Option<std::thread::JoinHandle<Reporting>>>,
}

impl Progress {
    fn start(mut reporting: Reporting) -> Result<Self, Error> {
        let (sender, receiver) = std::sync::mpsc::channel::<(ObjectResult, usize)>();
        let thread = std::thread::Builder::new()
            .name("apply-progress".into())
            .spawn(move || {
                for (result, done) in receiver {
                    reporting.record(&result, done);
                }
                reporting
            })
            .map_err(|e| Error::Other(Box::new(e)))?;
        Ok(Progress {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Waits until every result is reported.
    fn finish(&self) -> Option<Reporting> {
        lock(&self.sender).take();
        lock(&self.thread).take()?.join().ok()
    }
}

impl Observer for Progress {
    fn finished(&self, result: &ObjectResult, done: usize, _total: usize) {
        if let Some(sender) = lock(&self.sender).as_ref() {
            let _ = sender.send((result.clone(), done));
        }
    }
}

/// Performs the jobs: at most `concurrency` requests at once; SIGINT/SIGTERM stop new
/// ones (a second signal exits at once).
pub fn execute(
    ready: &mut Ready,
    concurrency: usize,
    secrets: Option<SecretsFile>,
    reporter: Box<dyn Reporter>,
    runtime: &tokio::runtime::Runtime,
) -> Result<Report, Error> {
    watch_signals(runtime, ready.computed.connection.cancellation());
    execute_unwatched(ready, concurrency, secrets, reporter, runtime)
}

/// [`execute`] without its signal watcher, for a caller that owns the signals (`serve`)
/// and stops new requests itself through the connection's cancellation flag.
pub fn execute_unwatched(
    ready: &mut Ready,
    concurrency: usize,
    secrets: Option<SecretsFile>,
    reporter: Box<dyn Reporter>,
    runtime: &tokio::runtime::Runtime,
) -> Result<Report, Error> {
    let jobs = std::mem::take(&mut ready.jobs);
    let secrets_file = secrets.as_ref().map(|s| s.path.clone());
    let connection = ready.computed.connection.clone();
    let progress = Arc::new(Progress::start(Reporting {
        reporter,
        total: jobs.len(),
        secrets,
        secrets_error: None,
        generated_without_file: 0,
    })?);
    let verify: HashMap<(ObjectKind, String), Verify> = jobs
        .iter()
        .filter(|j| j.work != Work::Delete)
        .map(|j| {
            (
                (j.kind, j.id.clone()),
                (j.differs.clone(), j.locate.clone()),
            )
        })
        .collect();
    let mut results = runtime.block_on(crate::apply::apply(
        connection.clone(),
        jobs,
        concurrency,
        progress.clone(),
    ));
    let writes_done = std::time::Instant::now();
    let read_back_error = runtime.block_on(read_back(&connection, &verify, &mut results));
    tracing::debug!(
        ms = writes_done.elapsed().as_millis() as u64,
        "read back after apply"
    );
    let mut reporting = progress.finish();
    if let Some(reporting) = reporting.as_mut() {
        reporting.reporter.done();
    }
    Ok(Report {
        results,
        read_back_error,
        secrets_error: reporting.as_ref().and_then(|r| r.secrets_error.clone()),
        generated_without_file: reporting.map_or(0, |r| r.generated_without_file),
        secrets_file,
    })
}

/// After the writes, the server is listed once more and every client written is compared
/// with git on every field boruta renders: an answer can acknowledge what was not stored
/// (a proxy that strips a member, a server that drops it). A client that did not converge
/// fails, naming the fields; the error of the read itself is returned.
/// How a written client is checked, and where a field of it is in its manifest.
type Verify = (crate::apply::Differ, crate::apply::Locator);

async fn read_back(
    connection: &crate::fetch::Connection,
    verify: &HashMap<(ObjectKind, String), Verify>,
    results: &mut [ObjectResult],
) -> Option<String> {
    let written = |r: &ObjectResult| {
        matches!(
            r.outcome,
            Ended::Created | Ended::Updated | Ended::Resent | Ended::AlreadyPresent
        ) && verify.contains_key(&(r.kind, r.id.clone()))
    };
    let mut records: HashMap<(ObjectKind, String), Map<String, Value>> = HashMap::new();
    let written_clients: std::collections::HashSet<&str> = results
        .iter()
        .filter(|r| r.kind == ObjectKind::Client && written(r))
        .map(|r| r.id.as_str())
        .collect();
    for kind in ObjectKind::ALL {
        if !results.iter().any(|r| r.kind == kind && written(r)) {
            continue;
        }
        let listed = match kind {
            // Only the clients this run wrote are compared (and converted).
            ObjectKind::Client => connection
                .list_clients(crate::kinds::client::fields::FieldSet::ALL)
                .await
                .map(|list| {
                    list.iter()
                        .filter(|r| written_clients.contains(r.id.as_str()))
                        .map(|r| (r.id.clone(), r.to_map()))
                        .collect()
                }),
            ObjectKind::Scope => connection.list_scopes().await.map(|list| {
                let id = |s: &Map<String, Value>| {
                    s.get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                list.into_iter().map(|s| (id(&s), s)).collect::<Vec<_>>()
            }),
        };
        match listed {
            Ok(list) => records.extend(list.into_iter().map(|(id, r)| ((kind, id), r))),
            Err(e) => return Some(e.to_string()),
        }
    }
    let checked = differing_after_apply(results, verify, &records, written);
    for (index, differing) in checked {
        let result = &mut results[index];
        let (_, locate) = &verify[&(result.kind, result.id.clone())];
        let fields: Vec<String> = differing.iter().map(|f| format!("`{f}`")).collect();
        let message = format!(
            "boruta acknowledged the write, but the server's record read back after apply still differs from the manifest: {}",
            fields.join(", ")
        );
        let at = locate(&differing[0], "");
        result.diagnostics.push(crate::source::Diagnostic::new(
            crate::findings::Code::NotConverged,
            message.clone(),
            Some(at),
        ));
        result.outcome = Ended::Failed;
        result.reason = Some(message);
    }
    None
}

/// The results (by index) whose written object differs from its manifest in the records
/// read back, with the differing fields. The comparisons are independent and cost about
/// as much as the list itself for 1,000 clients, so they run on every core.
fn differing_after_apply(
    results: &[ObjectResult],
    verify: &HashMap<(ObjectKind, String), Verify>,
    records: &HashMap<(ObjectKind, String), Map<String, Value>>,
    written: impl Fn(&ObjectResult) -> bool + Sync,
) -> Vec<(usize, Vec<String>)> {
    let check = |(index, result): (usize, &ObjectResult)| {
        let key = (result.kind, result.id.clone());
        let differing = match records.get(&key) {
            Some(record) => (verify[&key].0)(record),
            None => vec![format!(
                "(the whole {}: it is not on the server)",
                result.kind
            )],
        };
        (!differing.is_empty()).then_some((index, differing))
    };
    let indexed: Vec<(usize, &ObjectResult)> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| written(r))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if indexed.len() < 64 || threads == 1 {
        return indexed.into_iter().filter_map(check).collect();
    }
    let chunk = indexed.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = indexed
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().copied().filter_map(check).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    })
}

/// SIGINT and SIGTERM (a cancelled CI job): the first stops new requests and lets those in
/// flight finish, so their outcomes and secrets are reported; a second exits at once.
fn watch_signals(runtime: &tokio::runtime::Runtime, cancelled: Arc<AtomicBool>) {
    runtime.spawn(async move {
        let mut signals = match Signals::new() {
            Ok(signals) => signals,
            Err(e) => {
                tracing::warn!("cannot watch for SIGINT/SIGTERM: {e}");
                return;
            }
        };
        let first = signals.next().await;
        cancelled.store(true, Ordering::SeqCst);
        crate::render::apply::first_signal(first);
        let second = signals.next().await;
        crate::render::apply::second_signal(second);
        std::process::exit(crate::error::Exit::Failure as i32);
    });
}

/// SIGINT and SIGTERM as one stream.
pub struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// The next signal's name.
    pub async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
