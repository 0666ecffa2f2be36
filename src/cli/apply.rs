//! `apply`: confirm, refuse stale saved plans, run the creates, report every client's
//! outcome, and write generated secrets only where asked.

use super::pipeline::{compute, print_plan, report_findings, runtime, Computed};
use super::{ApplyArgs, ApplyFormat, PlanFormat};
use crate::apply::{self, ClientResult, Job, Observer, Outcome};
use crate::diff::{self, Action, Observed, SystemIds};
use crate::error::{Error, Exit};
use crate::load::Environment;
use crate::plan::{self, Plan, Stale};
use crate::render;
use crate::source::{Node, NodeValue};
use crate::sync::lock;
use crate::validate::Desired;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex};

pub(crate) fn run_apply(args: &ApplyArgs, env: &dyn Environment) -> Result<Exit, Error> {
    // A saved plan that cannot be read fails before any network traffic.
    let saved = match &args.plan {
        Some(path) => Some(read_saved_plan(path)?),
        None => None,
    };
    let runtime = runtime()?;
    let Some(computed) = runtime.block_on(compute(&args.dir, &args.connection, env))? else {
        return Ok(Exit::Failure);
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
    if !args.auto_approve {
        if !std::io::stdin().is_terminal() {
            return refuse(
                args,
                &computed.plan,
                "refusing to apply without confirmation: stdin is not a terminal. Review the plan and pass --auto-approve: nothing was changed",
            );
        }
        eprint!(
            "\nCreate {} client(s) on {}? Only 'yes' is accepted: ",
            planned_creates.len(),
            computed.plan.admin_url
        );
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
    let observer = Arc::new(Progress::new(total, human, secrets));
    if human {
        println!(
            "\nCreating {total} client(s), at most {} at a time:",
            args.concurrency
        );
    }
    let results = runtime.block_on(apply::apply(
        connection,
        jobs,
        usize::from(args.concurrency),
        observer.clone(),
    ));
    observer.finish();
    if let Some(error) = observer.secrets_error() {
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
    Ok(if all_done && observer.secrets_error().is_none() {
        Exit::Success
    } else {
        Exit::Failure
    })
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
                generated_secret: desired.manifest.secret.is_none(),
                locate: Box::new(move |field, message| locate_field(&for_locate, field, message)),
                matches: Box::new(move |record| {
                    matches_manifest(&for_match, record, &observed, &system)
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
) -> bool {
    let Ok(listed) = crate::api::ListedClient::from_record(record) else {
        return false;
    };
    let one = Observed {
        clients: vec![listed],
        scopes: observed.scopes.clone(),
        identity_providers: observed.identity_providers.clone(),
    };
    let compared = diff::diff(std::slice::from_ref(desired), &one, system);
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

    fn write(&mut self, result: &ClientResult) -> std::io::Result<()> {
        let Some(secret) = &result.secret else {
            return Ok(());
        };
        let line = json!({"id": result.id, "name": result.name, "secret": secret.expose_secret()});
        writeln!(self.file, "{line}")?;
        self.file.sync_data()
    }
}

/// Progress: a bar on a terminal when there are many creates, plain lines otherwise.
struct Progress {
    total: usize,
    human: bool,
    bar: bool,
    secrets: Mutex<Option<SecretsFile>>,
    secrets_error: Mutex<Option<String>>,
    generated_without_file: std::sync::atomic::AtomicUsize,
}

impl Progress {
    fn new(total: usize, human: bool, secrets: Option<SecretsFile>) -> Self {
        Progress {
            total,
            human,
            bar: human && total >= 20 && std::io::stderr().is_terminal(),
            secrets: Mutex::new(secrets),
            secrets_error: Mutex::new(None),
            generated_without_file: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn finish(&self) {
        if self.bar {
            eprintln!();
        }
        let generated = self
            .generated_without_file
            .load(std::sync::atomic::Ordering::SeqCst);
        if generated > 0 && self.human {
            println!(
                "boruta generated the secret of {generated} client(s). It is not printed: read it with GET /api/clients/<id> (scope clients:manage:all), or run apply with --secrets-out FILE next time."
            );
        }
        if let Some(file) = lock(&self.secrets).as_ref() {
            if self.human {
                println!(
                    "secrets of the created clients written to {} (mode 0600)",
                    file.path.display()
                );
            }
        }
    }

    fn secrets_error(&self) -> Option<String> {
        lock(&self.secrets_error).clone()
    }
}

impl Observer for Progress {
    fn finished(&self, result: &ClientResult, done: usize, total: usize) {
        let mut secrets = lock(&self.secrets);
        match secrets.as_mut() {
            Some(file) => {
                if let Err(e) = file.write(result) {
                    *lock(&self.secrets_error) =
                        Some(format!("cannot write {}: {e}", file.path.display()));
                }
            }
            None if result.secret_generated && result.secret.is_some() => {
                self.generated_without_file
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            None => {}
        }
        drop(secrets);
        if self.bar {
            let width = 30;
            let filled = done * width / self.total.max(1);
            eprint!(
                "\r[{}{}] {done}/{total}",
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
            let _ = std::io::stderr().flush();
        } else if self.human {
            println!("  {}", result_line(result));
        }
    }
}

fn result_line(r: &ClientResult) -> String {
    match r.outcome {
        Outcome::Created => format!("+ {} ({}) created", r.name, r.id),
        Outcome::AlreadyPresent => format!(
            "= {} ({}) already present: {}",
            r.name,
            r.id,
            r.reason.as_deref().unwrap_or("")
        ),
        Outcome::Failed => format!(
            "✗ {} ({}) failed: {}",
            r.name,
            r.id,
            r.reason.as_deref().unwrap_or("")
        ),
        Outcome::NotAttempted => format!("- {} ({}) not attempted", r.name, r.id),
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
