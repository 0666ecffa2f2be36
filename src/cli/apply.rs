//! `apply`: confirm, refuse stale saved plans, run the creates, report every client's
//! outcome, and write generated secrets only where asked.

use super::pipeline::{self, compute, print_plan, report_findings, runtime, Computed};
use super::{ApplyArgs, ApplyFormat, PlanFormat};
use crate::apply::{self, ClientResult, Job, Observer, Outcome};
use crate::diff::{self, Action, Observed, SystemIds};
use crate::error::{Error, Exit};
use crate::fields::Version;
use crate::load::Environment;
use crate::plan::{self, Plan, Stale};
use crate::render::{self, escape::neutral};
use crate::source::{Node, NodeValue};
use crate::sync::lock;
use crate::validate::Desired;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) fn run_apply(args: &ApplyArgs, env: &dyn Environment) -> Result<Exit, Error> {
    // A saved plan that cannot be read fails before any network traffic. It says where
    // the manifests and the server are, unless the command line does.
    let saved = match &args.plan {
        Some(path) => Some(read_saved_plan(path)?),
        None => None,
    };
    let mut manifests = args.manifests.clone();
    let mut connection = args.connection.clone();
    if let Some(saved) = &saved {
        manifests
            .dir
            .get_or_insert_with(|| saved.manifests_dir.clone().into());
        connection
            .admin_url
            .get_or_insert_with(|| saved.admin_url.clone());
    }
    let runtime = runtime()?;
    let computed = match runtime.block_on(compute(&manifests, &connection, env))? {
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
    if crate::source::has_errors(&computed.diff.diagnostics) {
        return refuse(
            args,
            &computed.plan,
            "the plan has errors (see above): nothing was changed",
        );
    }
    if let Some(saved) = &saved {
        if saved.admin_url != computed.plan.admin_url {
            let message = format!(
                "the saved plan was made against {}, not {}: nothing was changed",
                saved.admin_url, computed.plan.admin_url
            );
            return refuse(args, &computed.plan, &message);
        }
        let stale = plan::staleness(saved, &computed.plan);
        if !stale.is_empty() {
            let mut lines =
                vec!["the saved plan is stale; nothing was changed. Make a new plan:".to_string()];
            for problem in stale {
                lines.push(match problem {
                    Stale::ManifestsChanged => {
                        "  - the manifests changed since the plan was made".to_string()
                    }
                    Stale::ServerChanged(name, id, what) => {
                        format!("  - client `{name}` ({id}): {what}")
                    }
                    Stale::DesiredChanged(name, id) => {
                        format!("  - client `{name}` ({id}) is declared differently now")
                    }
                });
            }
            return refuse(args, &computed.plan, &lines.join("\n"));
        }
    }
    // With a saved plan, only what it showed is created (a client deleted on the server
    // since then stays deleted until a new plan shows it).
    let shown = saved.as_ref().unwrap_or(&computed.plan);
    let planned_creates: Vec<&str> = shown
        .clients
        .iter()
        .filter(|c| c.action == Action::Create)
        .map(|c| c.id.as_str())
        .collect();
    if planned_creates.is_empty() {
        if human {
            println!("\nNothing to create.");
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
            "\nCreate {} client(s) on {}? Only 'yes' is accepted: ",
            planned_creates.len(),
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
    let jobs = jobs(&computed, &planned_creates);
    let total = jobs.len();
    let connection = Arc::new(computed.connection);
    watch_signals(&runtime, connection.cancellation());
    if human {
        println!(
            "\nCreating {total} client(s), at most {} at a time:",
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
        print_human_report(&results, observer.bar)?;
    } else {
        print_report(&computed.plan, &results)?;
    }
    let all_done = results
        .iter()
        .all(|r| matches!(r.outcome, Outcome::Created | Outcome::AlreadyPresent));
    Ok(if all_done && secrets_error.is_none() {
        Exit::Success
    } else {
        Exit::Failure
    })
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

/// One job per planned create, with what it needs to verify and locate.
fn jobs(computed: &Computed, creates: &[&str]) -> Vec<Job> {
    let observed = Arc::new(Observed {
        clients: Vec::new(),
        scopes: computed.observed.scopes.clone(),
        identity_providers: computed.observed.identity_providers.clone(),
    });
    let system = Arc::new(computed.system.clone());
    let version = computed.version;
    let creates: std::collections::HashSet<&str> = creates.iter().copied().collect();
    // The diff has one entry per desired client, in the same order.
    computed
        .diff
        .clients
        .iter()
        .zip(&computed.prepared.validated.clients)
        .filter(|(c, _)| c.action == Action::Create && creates.contains(c.id.as_str()))
        .map(|(c, desired)| {
            let desired = desired.clone();
            for value in secret_values(&desired) {
                computed.connection.redact(value);
            }
            let desired = Arc::new(desired);
            let (for_locate, for_match, observed, system) = (
                desired.clone(),
                desired.clone(),
                observed.clone(),
                system.clone(),
            );
            Job {
                id: c.id.clone(),
                name: c.name.clone(),
                body: c.create_body.clone(),
                generated_secret: !desired.declares_secret(),
                locate: Box::new(move |field, message| locate_field(&for_locate, field, message)),
                matches: Box::new(move |record| {
                    matches_manifest(&for_match, record, &observed, &system, version)
                }),
            }
        })
        .collect()
}

/// Values that must never be printed: the declared secret and every substituted value.
fn secret_values(desired: &Desired) -> Vec<secrecy::SecretString> {
    let mut texts = Vec::new();
    desired.node.sensitive_texts(&mut texts);
    texts.extend(desired.node.get("secret").and_then(Node::as_str));
    texts
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(|s| secrecy::SecretString::from(s.to_string()))
        .collect()
}

/// Where a boruta field error points in the manifest.
fn locate_field(desired: &Desired, field: &str, message: &str) -> crate::source::Location {
    let subject = match field {
        "private_key" => "key_pair_type",
        "identity_provider_id" | "client_id" => "identity_provider",
        other => other,
    };

    // List errors quote the element: "`<uri>` is invalid".
    if let Some(uri) = message
        .strip_prefix('`')
        .and_then(|m| m.strip_suffix("` is invalid"))
    {
        if let Some(items) = desired.node.get(subject).and_then(|n| match &n.value {
            NodeValue::Seq(items) => Some(items),
            _ => None,
        }) {
            if let Some(i) = items.iter().position(|n| n.as_str() == Some(uri)) {
                return desired.locate(&format!("/{subject}/{i}"));
            }
        }
    }
    desired.locate(&format!("/{subject}"))
}

/// True when the server's record is the client the manifest describes.
fn matches_manifest(
    desired: &Desired,
    record: &Map<String, Value>,
    observed: &Observed,
    system: &SystemIds,
    version: Version,
) -> bool {
    let Ok(listed) = crate::api::ListedClient::from_record(record) else {
        return false;
    };
    let one = Observed {
        clients: vec![listed],
        scopes: observed.scopes.clone(),
        identity_providers: observed.identity_providers.clone(),
    };
    let compared = diff::diff(std::slice::from_ref(desired), &one, system, version);
    compared
        .clients
        .first()
        .is_some_and(|c| c.action == Action::InSync)
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
        Outcome::AlreadyPresent => format!("= {name} ({id}) already present: {reason}"),
        Outcome::Failed => format!("✗ {name} ({id}) failed: {reason}"),
        Outcome::NotAttempted => format!("- {name} ({id}) not attempted"),
    }
}

/// How many clients ended each way (the JSON report's `summary`).
#[derive(serde::Serialize)]
struct Tally {
    created: usize,
    already_present: usize,
    failed: usize,
    not_attempted: usize,
}

impl Tally {
    fn of(results: &[ClientResult]) -> Tally {
        let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count();
        Tally {
            created: count(Outcome::Created),
            already_present: count(Outcome::AlreadyPresent),
            failed: count(Outcome::Failed),
            not_attempted: count(Outcome::NotAttempted),
        }
    }
}

/// The closing report; after a progress bar, the clients that were not simply created.
fn print_human_report(results: &[ClientResult], progress_bar_used: bool) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    if progress_bar_used {
        for r in results.iter().filter(|r| r.outcome != Outcome::Created) {
            writeln!(out, "  {}", result_line(r))?;
        }
    }
    let c = Tally::of(results);
    writeln!(
        out,
        "\nApply: {} created, {} already present, {} failed, {} not attempted.",
        c.created, c.already_present, c.failed, c.not_attempted
    )?;
    if c.failed + c.not_attempted > 0 {
        writeln!(out, "Nothing reported as created is undone. Fix the failures and run apply again: it converges.")?;
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
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &document).map_err(|e| Error::Other(Box::new(e)))?;
    writeln!(out)?;
    Ok(())
}
