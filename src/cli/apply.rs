//! `apply`: confirm, refuse stale saved plans, run the creates, report every client's
//! outcome, and write generated secrets only where asked.

use super::pipeline::{self, compute, print_plan, report_findings, runtime, Computed};
use super::{ApplyArgs, ApplyFormat, PlanFormat};
use crate::apply::{self, ClientResult, Job, Observer, Outcome, Work};
use crate::diff::{Action, Observed};
use crate::error::{Error, Exit};
use crate::kinds::client::fields::FieldId;
use crate::kinds::client::fields::Version;
use crate::kinds::client::ClientSpec;
use crate::kinds::client::SystemIds;
use crate::load::Environment;
use crate::plan::{self, Plan, Stale};
use crate::render::{self, escape::neutral};
use crate::sync::lock;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) fn run_apply(args: &ApplyArgs, env: &dyn Environment) -> Result<Exit, Error> {
    // A saved plan that cannot be read fails before any network traffic. It says where
    // the manifests and the server are, unless the command line does, and what it may do.
    let saved = match &args.plan {
        Some(path) => Some(read_saved_plan(path)?),
        None => None,
    };
    if saved.is_some() && args.converge.any() {
        return Err(Error::Usage(
            "apply --plan performs the saved plan as it was reviewed: --update, --allow-delete and --select are recorded in it, and cannot be given again".into(),
        ));
    }
    let mut manifests = args.manifests.clone();
    let mut connection = args.connection.clone();
    let options = match &saved {
        Some(saved) => {
            manifests
                .dir
                .get_or_insert_with(|| saved.manifests_dir.clone().into());
            connection
                .admin_url
                .get_or_insert_with(|| saved.admin_url.clone());
            saved.options.clone()
        }
        None => args.converge.options(),
    };
    let runtime = runtime()?;
    let computed = match runtime.block_on(compute(
        &manifests,
        &connection,
        env,
        &options,
        crate::plan::Purpose::Apply,
    ))? {
        pipeline::Outcome::Planned(computed) => *computed,
        pipeline::Outcome::Invalid(_) => return Ok(Exit::Failure),
    };
    let human = args.format == ApplyFormat::Human;
    if human {
        print_plan(
            &computed.plan,
            PlanFormat::Human,
            render::plan::Report::Plan,
        )?;
    }
    // One error (a refused update, a delete without --allow-delete) refuses the whole
    // plan: it was reviewed as one unit.
    if crate::source::has_errors(&computed.diff.diagnostics) {
        return refuse(
            args,
            &computed.plan,
            "the plan has errors (see above): nothing was changed",
        );
    }
    if let Some(saved) = &saved {
        if let Some(message) = stale_message(saved, &computed.plan) {
            return refuse(args, &computed.plan, &message);
        }
    }
    // With a saved plan, only what it showed is done (a client deleted on the server
    // since then stays deleted until a new plan shows it).
    let shown = saved.as_ref().unwrap_or(&computed.plan);
    let planned: std::collections::HashSet<&str> = shown
        .clients
        .iter()
        .filter(|c| c.acts())
        .map(|c| c.id.as_str())
        .collect();
    let jobs = jobs(&computed, &planned);
    let counts = Counts::of(&jobs);
    if jobs.is_empty() {
        if human {
            println!("\nNothing to create.");
            let drifted = computed.plan.summary.drift;
            if drifted > 0 {
                println!("{drifted} client(s) drifted from git: `apply --update` would correct them (see the plan above).");
            }
        } else {
            print_report(&computed.plan, &[])?;
        }
        return Ok(Exit::Success);
    }
    // A saved plan is the reviewed plan: applying it is the approval.
    if !args.auto_approve && saved.is_none() {
        if !std::io::stdin().is_terminal() {
            return refuse(
                args,
                &computed.plan,
                "refusing to apply without confirmation: stdin is not a terminal. Review the plan and pass --auto-approve: nothing was changed",
            );
        }
        // After the whole plan, on the plan's own stream (so a pipe keeps them in order),
        // unless that stream is a file nobody reads while typing.
        let prompt = format!(
            "\n{} on {}? Only 'yes' is accepted: ",
            counts.question(),
            computed.plan.admin_url
        );
        prompt_user(&prompt)?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            return refuse(args, &computed.plan, "apply cancelled: nothing was changed");
        }
    }
    let secrets = match &args.secrets_out {
        Some(path) => Some(SecretsFile::create(path)?),
        None => None,
    };
    let total = jobs.len();
    let connection = Arc::new(computed.connection);
    watch_signals(&runtime, connection.cancellation());
    if human {
        println!(
            "\n{}, at most {} at a time:",
            counts.progressive(),
            args.concurrency
        );
    }
    let observer = Arc::new(Progress::start(total, human, secrets)?);
    let results = runtime.block_on(apply::apply(
        connection,
        jobs,
        usize::from(args.concurrency),
        observer.clone(),
    ));
    let secrets_error = observer.finish();
    if let Some(error) = &secrets_error {
        eprintln!("error: {error}");
    }
    let diagnostics: Vec<_> = results.iter().flat_map(|r| r.diagnostics.clone()).collect();
    if !diagnostics.is_empty() {
        report_findings(&computed.prepared, &diagnostics)?;
    }
    if human {
        print_human_report(&results, counts, observer.bar)?;
    } else {
        print_report(&computed.plan, &results)?;
    }
    let all_done = results.iter().all(|r| r.outcome.converged());
    Ok(if all_done && secrets_error.is_none() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// Why a saved plan cannot be applied any more, if it cannot.
fn stale_message(saved: &Plan, fresh: &Plan) -> Option<String> {
    if saved.admin_url != fresh.admin_url {
        return Some(format!(
            "the saved plan was made against {}, not {}: nothing was changed",
            saved.admin_url, fresh.admin_url
        ));
    }
    let stale = plan::staleness(saved, fresh);
    if stale.is_empty() {
        return None;
    }
    let mut lines =
        vec!["the saved plan is stale; nothing was changed. Make a new plan:".to_string()];
    for problem in stale {
        lines.push(match problem {
            Stale::ManifestsChanged => "  - the manifests changed since the plan was made".into(),
            Stale::ServerChanged(name, id, what) => format!("  - client `{name}` ({id}): {what}"),
            Stale::DesiredChanged(name, id) => {
                format!("  - client `{name}` ({id}) is declared differently now")
            }
        });
    }
    Some(lines.join("\n"))
}

/// How many jobs of each kind a run has.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    create: usize,
    update: usize,
    delete: usize,
}

impl Counts {
    fn of(jobs: &[Job]) -> Counts {
        let mut counts = Counts::default();
        for job in jobs {
            match job.work {
                Work::Create { .. } => counts.create += 1,
                Work::Update { .. } => counts.update += 1,
                Work::Delete => counts.delete += 1,
            }
        }
        counts
    }

    /// The kinds present, with `verbs` (base form, -ing form) naming them.
    fn phrase(&self, form: usize) -> String {
        let kinds = [
            (self.create, ["create", "creating"]),
            (self.update, ["update", "updating"]),
            (self.delete, ["delete", "deleting"]),
        ];
        let parts: Vec<String> = kinds
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, verbs)| format!("{} {n}", verbs[form]))
            .collect();
        let text = match parts.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        };
        let mut chars = text.chars();
        match chars.next() {
            Some(first) => format!("{}{} client(s)", first.to_uppercase(), chars.as_str()),
            None => text,
        }
    }

    /// "Create 2 and update 1 client(s)".
    fn question(&self) -> String {
        self.phrase(0)
    }

    /// "Creating 2 and updating 1 client(s)".
    fn progressive(&self) -> String {
        self.phrase(1)
    }
}

/// SIGINT and SIGTERM (a cancelled CI job): the first stops new creates and lets those in
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
        eprintln!("\n{first} received: no new create starts; waiting for the creates in flight (send it again to exit at once)");
        let second = signals.next().await;
        eprintln!("{second} received again: exiting now. Creates in flight have an unknown outcome: run apply again, it converges");
        std::process::exit(Exit::Failure as i32);
    });
}

/// SIGINT and SIGTERM as one stream.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
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

    async fn next(&mut self) -> &'static str {
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

/// Shows the confirmation prompt after everything printed so far.
fn prompt_user(prompt: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.flush()?;
    let stdout_is_file = stdout_is_regular_file();
    if stdout_is_file {
        eprint!("{prompt}");
        std::io::stderr().flush()
    } else {
        write!(stdout, "{prompt}")?;
        stdout.flush()
    }
}

/// True when stdout is redirected to a file (a prompt there would never be seen).
fn stdout_is_regular_file() -> bool {
    #[cfg(unix)]
    {
        std::fs::metadata("/dev/stdout").is_ok_and(|m| m.is_file())
    }
    #[cfg(not(unix))]
    {
        false
    }
}

fn refuse(args: &ApplyArgs, plan: &Plan, message: &str) -> Result<Exit, Error> {
    if args.format == ApplyFormat::Json {
        print_report(plan, &[])?;
    }
    eprintln!("error: {message}");
    Ok(Exit::Failure)
}

fn read_saved_plan(path: &std::path::Path) -> Result<Plan, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Usage(format!(
            "cannot read the saved plan {}: {e}",
            path.display()
        ))
    })?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "{} is not a boruta-gitops plan: {e}",
            path.display()
        ))
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

/// One job per planned action, with what it needs to verify and locate.
fn jobs(computed: &Computed, planned: &std::collections::HashSet<&str>) -> Vec<Job> {
    let observed = Arc::new(Observed {
        clients: Vec::new(),
        scopes: computed.observed.scopes.clone(),
        identity_providers: computed.observed.identity_providers.clone(),
    });
    let system = Arc::new(computed.system.clone());
    let version = computed.version;
    // Joined by identity, never by position.
    let specs: std::collections::HashMap<String, &ClientSpec> = computed
        .prepared
        .validated
        .clients
        .iter()
        .map(|s| (s.id.to_string(), s))
        .collect();
    let mut jobs = Vec::new();
    for planned_client in &computed.plan.clients {
        if !planned_client.acts() || !planned.contains(planned_client.id.as_str()) {
            continue;
        }
        let id = planned_client.id.as_str();
        let (Some(c), Some(desired)) = (
            computed.diff.object(crate::kinds::ObjectKind::Client, id),
            specs.get(id).copied(),
        ) else {
            continue;
        };
        let (work, body) = match (planned_client.action, &c.update) {
            (Action::Create, _) => (
                Work::Create {
                    generated_secret: !desired.declares_secret(),
                },
                c.create_body.clone(),
            ),
            (Action::Update, Some(update)) => (
                Work::Update {
                    fields: c
                        .fields
                        .iter()
                        .filter(|f| !f.ignored)
                        .map(|f| f.field.clone())
                        .chain(update.body.contains_key("secret").then(|| "secret".into()))
                        .collect(),
                    regenerate_key_pair: update.regenerate_key_pair,
                },
                update.body.clone(),
            ),
            (Action::Delete, _) => (Work::Delete, Map::new()),
            _ => continue,
        };
        for value in secret_values(desired) {
            computed.connection.redact(value);
        }
        let desired = Arc::new(desired.clone());
        let (for_locate, for_diff, observed, system) =
            (desired.clone(), desired, observed.clone(), system.clone());
        jobs.push(Job {
            id: c.id.clone(),
            name: c.name.clone(),
            work,
            body,
            locate: Box::new(move |field, message| locate_field(&for_locate, field, message)),
            differs: Box::new(move |record| {
                differing_fields(&for_diff, record, &observed, &system, version)
            }),
        });
    }
    jobs
}

/// Values that must never be printed: the declared secret and every substituted value.
fn secret_values(desired: &ClientSpec) -> Vec<secrecy::SecretString> {
    desired
        .sensitive_texts()
        .into_iter()
        .map(|s| secrecy::SecretString::from(s.to_string()))
        .collect()
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
    let Ok(listed) = crate::kinds::client::ClientRecord::from_map(record) else {
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

/// `--secrets-out`: a new file, mode 0600, one JSON object per line, written as each
/// client is created (a crash loses nothing already written).
struct SecretsFile {
    path: std::path::PathBuf,
    file: std::fs::File,
}

impl SecretsFile {
    fn create(path: &std::path::Path) -> Result<SecretsFile, Error> {
        let file = super::create_private_file(path, "--secrets-out")?;
        Ok(SecretsFile {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Writes the secret of a client this run created (not of one found already present).
    fn write(&mut self, result: &ClientResult) -> std::io::Result<()> {
        let (Some(secret), Outcome::Created) = (&result.secret, result.outcome) else {
            return Ok(());
        };
        let line = json!({"id": result.id, "name": result.name, "secret": secret.expose_secret()});
        writeln!(self.file, "{line}")?;
        self.file.sync_data()
    }
}

/// What the reporting thread keeps while the creates run.
struct Reporting {
    total: usize,
    human: bool,
    bar: bool,
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
        if self.bar {
            let width = 30;
            let filled = done * width / self.total.max(1);
            eprint!(
                "\r[{}{}] {done}/{}",
                "#".repeat(filled),
                " ".repeat(width - filled),
                self.total
            );
            let _ = std::io::stderr().flush();
        } else if self.human {
            println!("  {}", result_line(result));
        }
    }

    fn finish(&self) {
        if self.bar {
            eprintln!();
        }
        if self.generated_without_file > 0 && self.human {
            println!(
                "boruta generated the secret of {} client(s). It is not printed: read it with GET /api/clients/<id> (scope clients:manage:all), or run apply with --secrets-out FILE next time.",
                self.generated_without_file
            );
        }
        if let (Some(file), true) = (&self.secrets, self.human) {
            println!(
                "secrets of the created clients written to {} (mode 0600)",
                file.path.display()
            );
        }
    }
}

/// Progress lines and `--secrets-out` writes happen on their own thread: a slow terminal,
/// a full pipe or an fsync never holds up the runtime that drives the creates.
struct Progress {
    sender: Mutex<Option<std::sync::mpsc::Sender<(ClientResult, usize)>>>,
    thread: Mutex<Option<std::thread::JoinHandle<Reporting>>>,
    bar: bool,
}

impl Progress {
    fn start(total: usize, human: bool, secrets: Option<SecretsFile>) -> Result<Self, Error> {
        let bar = human && total >= 20 && std::io::stderr().is_terminal();
        let mut reporting = Reporting {
            total,
            human,
            bar,
            secrets,
            secrets_error: None,
            generated_without_file: 0,
        };
        let (sender, receiver) = std::sync::mpsc::channel::<(ClientResult, usize)>();
        let thread = std::thread::Builder::new()
            .name("apply-progress".into())
            .spawn(move || {
                for (result, done) in receiver {
                    reporting.record(&result, done);
                }
                reporting
            })?;
        Ok(Progress {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
            bar,
        })
    }

    /// Waits until every result is written; the closing lines, and the secrets-file error
    /// if there was one.
    fn finish(&self) -> Option<String> {
        lock(&self.sender).take();
        let reporting = lock(&self.thread).take()?.join().ok()?;
        reporting.finish();
        reporting.secrets_error
    }
}

impl Observer for Progress {
    fn finished(&self, result: &ClientResult, done: usize, _total: usize) {
        if let Some(sender) = lock(&self.sender).as_ref() {
            let _ = sender.send((result.clone(), done));
        }
    }
}

fn result_line(r: &ClientResult) -> String {
    let (name, id) = (neutral(&r.name), neutral(&r.id));
    let reason = neutral(r.reason.as_deref().unwrap_or(""));
    match r.outcome {
        Outcome::Created => format!("+ {name} ({id}) created"),
        Outcome::Updated => format!("~ {name} ({id}) updated"),
        Outcome::Deleted => format!("- {name} ({id}) deleted"),
        Outcome::AlreadyPresent => format!("= {name} ({id}) already present: {reason}"),
        Outcome::AlreadyAbsent => format!("= {name} ({id}) already absent: {reason}"),
        Outcome::Failed => format!("✗ {name} ({id}) failed: {reason}"),
        Outcome::NotAttempted => format!("· {name} ({id}) not attempted"),
    }
}

/// How many clients ended each way (the JSON report's `summary`).
#[derive(serde::Serialize)]
struct Tally {
    created: usize,
    updated: usize,
    deleted: usize,
    already_present: usize,
    already_absent: usize,
    failed: usize,
    not_attempted: usize,
}

impl Tally {
    fn of(results: &[ClientResult]) -> Tally {
        let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count();
        Tally {
            created: count(Outcome::Created),
            updated: count(Outcome::Updated),
            deleted: count(Outcome::Deleted),
            already_present: count(Outcome::AlreadyPresent),
            already_absent: count(Outcome::AlreadyAbsent),
            failed: count(Outcome::Failed),
            not_attempted: count(Outcome::NotAttempted),
        }
    }
}

/// The closing report; after a progress bar, the clients whose outcome was not the one
/// planned. Kinds the run had no job of are left out of the counts.
fn print_human_report(
    results: &[ClientResult],
    jobs: Counts,
    progress_bar_used: bool,
) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    if progress_bar_used {
        let planned = [Outcome::Created, Outcome::Updated, Outcome::Deleted];
        for r in results.iter().filter(|r| !planned.contains(&r.outcome)) {
            writeln!(out, "  {}", result_line(r))?;
        }
    }
    let c = Tally::of(results);
    let mut parts = vec![format!("{} created", c.created)];
    if jobs.update > 0 {
        parts.push(format!("{} updated", c.updated));
    }
    if jobs.delete > 0 {
        parts.push(format!("{} deleted", c.deleted));
    }
    parts.push(format!("{} already present", c.already_present));
    if jobs.delete > 0 {
        parts.push(format!("{} already absent", c.already_absent));
    }
    parts.push(format!("{} failed", c.failed));
    parts.push(format!("{} not attempted", c.not_attempted));
    writeln!(out, "\nApply: {}.", parts.join(", "))?;
    if c.failed + c.not_attempted > 0 {
        writeln!(out, "Nothing reported as done is undone. Fix the failures and run apply again: it converges.")?;
    }
    Ok(())
}

/// The JSON report: the plan, every client's outcome, and counts.
fn print_report(plan: &Plan, results: &[ClientResult]) -> Result<(), Error> {
    let document = json!({
        "format_version": plan::PLAN_FORMAT_VERSION,
        "plan": plan,
        "results": results,
        "summary": Tally::of(results),
    });
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, &document).map_err(|e| Error::Other(Box::new(e)))?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}
