//! `apply`: the plan (computed now, or saved and checked for staleness), the jobs it
//! performs, and their execution: bounded concurrency, signals, generated secrets written
//! only where asked. Returns data and reports progress through a [`Reporter`]; the
//! command line renders both and asks for confirmation.

use super::connect::ConnectionOptions;
use super::plan::{compute, Computed, Outcome};
use super::prepare::{Manifests, Prepared};
use crate::apply::{ClientResult, Job, Observer, Outcome as Ended, Work};
use crate::diff::{Action, Observed};
use crate::error::Error;
use crate::kinds::client::fields::{FieldId, Version};
use crate::kinds::client::{ClientRecord, ClientSpec, SystemIds};
use crate::kinds::ObjectKind;
use crate::load::Environment;
use crate::plan::{self, Plan, Purpose, Stale};
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
}

impl Counts {
    fn of(jobs: &[Job]) -> Counts {
        let mut counts = Counts::default();
        for job in jobs {
            match job.work {
                Work::Create { .. } => counts.create += 1,
                Work::Update {
                    resend_only: true, ..
                } => counts.resend += 1,
                Work::Update { .. } => counts.update += 1,
                Work::Delete => counts.delete += 1,
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

/// Why an apply changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The plan has errors (shown above it): it was reviewed as one unit.
    PlanHasErrors,
    /// The saved plan no longer matches the manifests or the server.
    Stale(Vec<Stale>),
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

/// Computes the plan (checking a saved one against it) and the jobs.
pub fn prepare(
    manifests: &Manifests,
    connection: &ConnectionOptions,
    env: &dyn Environment,
    options: &ApplyOptions,
    runtime: &tokio::runtime::Runtime,
) -> Result<Start, Error> {
    // A saved plan that cannot be read, or that names another server or manifest
    // directory than the caller's, fails before any network traffic. It says what the
    // apply may do; where requests go and which manifests are read are the caller's.
    let saved = options
        .saved_plan
        .as_deref()
        .map(read_saved_plan)
        .transpose()?;
    let empty = plan::Options::default();
    if saved.is_some() && options.converge != empty {
        return Err(Error::Usage(
            "apply --plan performs the saved plan as it was reviewed: --update, --allow-delete and --select are recorded in it, and cannot be given again".into(),
        ));
    }
    if let Some(saved) = &saved {
        check_target(saved, manifests, connection)?;
    }
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
    let computed = match outcome {
        Outcome::Planned(computed) => *computed,
        Outcome::Invalid(prepared) => return Ok(Start::Invalid(prepared)),
    };
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
    let planned: HashSet<&str> = shown
        .clients
        .iter()
        .filter(|c| c.acts())
        .map(|c| c.id.as_str())
        .collect();
    let jobs = match refusal {
        Some(_) => Vec::new(),
        None => jobs(&computed, &planned),
    };
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

/// Why a saved plan cannot be applied any more, if it cannot.
fn stale(saved: &Plan, fresh: &Plan) -> Option<Refusal> {
    let problems = plan::staleness(saved, fresh);
    (!problems.is_empty()).then_some(Refusal::Stale(problems))
}

/// One job per planned action, with what it needs to verify and locate.
fn jobs(computed: &Computed, planned: &HashSet<&str>) -> Vec<Job> {
    let observed = Arc::new(Observed {
        clients: Vec::new(),
        scopes: computed.observed.scopes.clone(),
        identity_providers: computed.observed.identity_providers.clone(),
        key_pairs: computed.observed.key_pairs.clone(),
    });
    let system = Arc::new(computed.system.clone());
    let version = computed.version;
    // Joined by identity, never by position.
    let specs: HashMap<String, &ClientSpec> = computed
        .prepared
        .validated
        .clients
        .iter()
        .map(|s| (s.id.to_string(), s))
        .collect();
    let entries = computed.diff.by_identity();
    let mut jobs = Vec::new();
    for planned_client in &computed.plan.clients {
        let id = planned_client.id.as_str();
        if !planned_client.acts() || !planned.contains(id) {
            continue;
        }
        let entry = entries.get(&(ObjectKind::Client, id)).copied();
        let (Some(c), Some(desired)) = (entry, specs.get(id).copied()) else {
            continue;
        };
        let (work, body) = match (planned_client.action, &c.update) {
            (Action::Create, _) => (
                Work::Create {
                    generated_secret: !desired.declares_secret(),
                },
                c.create_body.clone(),
            ),
            (Action::Update | Action::Resend, Some(update)) => (
                Work::Update {
                    fields: c
                        .fields
                        .iter()
                        .filter(|f| !f.ignored)
                        .chain(&c.resend)
                        .map(|f| f.field.clone())
                        .chain(update.body.contains_key("secret").then(|| "secret".into()))
                        .collect(),
                    regenerate_key_pair: update.regenerate_key_pair,
                    resend_only: planned_client.action == Action::Resend,
                },
                update.body.clone(),
            ),
            (Action::Delete, _) => (Work::Delete, Map::new()),
            _ => continue,
        };
        for value in desired.sensitive_texts() {
            computed
                .connection
                .redact(secrecy::SecretString::from(value.to_string()));
        }
        let desired = Arc::new(desired.clone());
        let (for_locate, for_diff, observed, system) =
            (desired.clone(), desired, observed.clone(), system.clone());
        jobs.push(Job {
            id: c.id.clone(),
            name: c.name.clone(),
            work,
            body,
            locate: Arc::new(move |field, message| locate_field(&for_locate, field, message)),
            differs: Arc::new(move |record| {
                differing_fields(&for_diff, record, &observed, &system, version)
            }),
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
        .and_then(|d| d.value.as_array())
        .zip(quoted)
        .and_then(|(items, uri)| items.iter().position(|n| n.as_str() == Some(uri)));
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
    fn finished(&mut self, result: &ClientResult, done: usize, total: usize);
    /// After the last result.
    fn done(&mut self) {}
}

/// What the run did.
pub struct Report {
    pub results: Vec<ClientResult>,
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
        self.results.iter().all(|r| r.outcome.converged())
            && self.secrets_error.is_none()
            && self.read_back_error.is_none()
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
    fn write(&mut self, result: &ClientResult) -> std::io::Result<()> {
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
    fn record(&mut self, result: &ClientResult, done: usize) {
        match self.secrets.as_mut() {
            Some(file) => {
                if let Err(e) = file.write(result) {
                    self.secrets_error
                        .get_or_insert(format!("cannot write {}: {e}", file.path.display()));
                }
            }
            None if result.secret_generated && result.secret.is_some() => {
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
    sender: Mutex<Option<std::sync::mpsc::Sender<(ClientResult, usize)>>>,
    thread: Mutex<Option<std::thread::JoinHandle<Reporting>>>,
}

impl Progress {
    fn start(mut reporting: Reporting) -> Result<Self, Error> {
        let (sender, receiver) = std::sync::mpsc::channel::<(ClientResult, usize)>();
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
    fn finished(&self, result: &ClientResult, done: usize, _total: usize) {
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
    let jobs = std::mem::take(&mut ready.jobs);
    let secrets_file = secrets.as_ref().map(|s| s.path.clone());
    let connection = ready.computed.connection.clone();
    watch_signals(runtime, connection.cancellation());
    let progress = Arc::new(Progress::start(Reporting {
        reporter,
        total: jobs.len(),
        secrets,
        secrets_error: None,
        generated_without_file: 0,
    })?);
    let verify: HashMap<String, Verify> = jobs
        .iter()
        .filter(|j| j.work != Work::Delete)
        .map(|j| (j.id.clone(), (j.differs.clone(), j.locate.clone())))
        .collect();
    let mut results = runtime.block_on(crate::apply::apply(
        connection.clone(),
        jobs,
        concurrency,
        progress.clone(),
    ));
    let read_back_error = runtime.block_on(read_back(&connection, &verify, &mut results));
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
    verify: &HashMap<String, Verify>,
    results: &mut [ClientResult],
) -> Option<String> {
    let written = |r: &ClientResult| {
        matches!(
            r.outcome,
            Ended::Created | Ended::Updated | Ended::Resent | Ended::AlreadyPresent
        ) && verify.contains_key(&r.id)
    };
    if !results.iter().any(written) {
        return None;
    }
    let all = crate::kinds::client::fields::FieldSet::ALL;
    let records = match connection.list_clients(all).await {
        Ok(records) => records,
        Err(e) => return Some(e.to_string()),
    };
    let by_id: HashMap<&str, &ClientRecord> = records.iter().map(|r| (r.id.as_str(), r)).collect();
    for result in results.iter_mut().filter(|r| written(r)) {
        let (differs, locate) = &verify[&result.id];
        let differing = match by_id.get(result.id.as_str()) {
            Some(record) => differs(&record.to_map()),
            None => vec!["(the whole client: it is not on the server)".to_string()],
        };
        if differing.is_empty() {
            continue;
        }
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
