//! Each command as the command line runs it: its flags made into the library's options,
//! one call into `commands`, and the result handed to `render`, on stdout (the product) or
//! stderr (findings, progress).

use super::{
    style_for, style_for_stdout, ApplyArgs, ApplyFormat, DriftArgs, ExportArgs, FindingsFormat,
    KindChoice, PlanArgs, PlanFormat, RotateArgs, ServeArgs, ValidateArgs,
};
use crate::commands::apply::{ApplyOptions, Ready, SecretsFile, Start};
use crate::commands::plan::{shown, Computed, Outcome};
use crate::commands::{self, Prepared};
use crate::error::{Chain, Error, Exit};
use crate::load::Environment;
use crate::render::{self, diagnostics::Counts, plan::Report};
use crate::source::Diagnostic;
use std::io::{BufRead, IsTerminal, Write};

/// Where the full plan is when a comment cannot hold it (the example workflow uploads it).
pub(super) const FULL_PLAN: &str = "the JSON plan (<code>plan --format json</code>), which the example workflow uploads as the artifact <code>boruta-gitops-plan</code>";

/// The manifests and the connection of a command, with its environment's settings.
fn targeted(
    manifests: &super::ManifestArgs,
    connection: &super::ConnectionArgs,
    environment: &super::EnvArgs,
    env: &dyn Environment,
) -> Result<(commands::Manifests, commands::ConnectionOptions), Error> {
    let (mut manifests, mut connection) = (manifests.manifests(), connection.options());
    if let Some(chosen) = environment.load(env, crate::env::Use::Connect)? {
        connection = connection.with_environment(&chosen);
        manifests.environment = Some(chosen);
    }
    Ok((manifests, connection))
}

/// `validate`.
pub(crate) fn validate(args: &ValidateArgs, env: &dyn Environment) -> Result<Exit, Error> {
    let mut options = commands::validate::ValidateOptions {
        require_env: args.require_env,
        boruta_version: args.boruta_version,
    };
    let mut manifests = args.manifests.manifests();
    let v = if args.all_envs {
        let offline = crate::env::Use::Offline;
        let environments = crate::env::load_all(&args.environment.env_dir, env, offline)?;
        commands::validate::validate_environments(&manifests, options, env, environments)
    } else {
        manifests.environment = args.environment.load(env, crate::env::Use::Offline)?;
        let chosen = manifests
            .environment
            .as_ref()
            .and_then(|e| e.boruta_version);
        options.boruta_version = options.boruta_version.or(chosen.map(|n| n.version));
        commands::validate::validate(&manifests, options, env)
    };
    let counts = Counts::of(&v.diagnostics, v.objects, v.files);
    // Buffered: stdout flushes at every newline, a syscall per line of 10,000 findings.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let findings = &v.diagnostics;
    match args.format {
        FindingsFormat::Json => render::diagnostics::json(&mut out, findings, counts)?,
        FindingsFormat::Github => render::diagnostics::github(&mut out, findings)?,
        FindingsFormat::Sarif => render::sarif::write(&mut out, findings)?,
        FindingsFormat::Human => {
            let style = style_for_stdout();
            let (sources, redacted) = (&v.sources, &v.redacted_lines);
            render::diagnostics::human(&mut out, findings, sources, redacted, counts, style)?
        }
    }
    out.flush()?;
    Ok(if v.failed() {
        Exit::Failure
    } else {
        Exit::Success
    })
}

/// Findings on stderr, as text with carets.
fn report_findings(findings: &[Diagnostic], prepared: &Prepared) -> Result<(), Error> {
    if findings.is_empty() {
        return Ok(());
    }
    let validated = &prepared.validated;
    let objects = (validated.clients.len(), validated.scopes.len());
    let counts = Counts::of(findings, objects, prepared.sources.len());
    let style = style_for(std::io::stderr().is_terminal());
    let redacted = &prepared.validated.redacted_lines;
    let mut err = std::io::stderr().lock();
    render::diagnostics::human(
        &mut err,
        findings,
        &prepared.sources,
        redacted,
        counts,
        style,
    )?;
    Ok(())
}

/// The plan on stdout, in `format`.
pub(super) fn print_plan(
    plan: &crate::plan::Plan,
    format: PlanFormat,
    report: Report,
) -> Result<(), Error> {
    // Buffered: stdout flushes at every newline, a syscall per line of a large plan.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        PlanFormat::Human => render::plan::human(&mut out, plan, report, style_for_stdout())?,
        PlanFormat::Json => render::plan::json(&mut out, plan)?,
        PlanFormat::Markdown => render::plan::markdown(&mut out, plan, report, FULL_PLAN)?,
    }
    out.flush()?;
    Ok(())
}

/// What a failed `plan`/`drift` prints on stdout: a JSON or Markdown document saying why
/// (the human format has already said it on stderr).
fn print_failure(
    format: PlanFormat,
    report: Report,
    error: &str,
    findings: &[Diagnostic],
) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match format {
        PlanFormat::Human => {}
        PlanFormat::Json => render::plan::json_failure(&mut out, error, findings)?,
        PlanFormat::Markdown => render::plan::markdown_failure(&mut out, report, error, findings)?,
    }
    out.flush()?;
    Ok(())
}

/// The computed plan with its findings printed, or (printed) why there is none.
pub(super) fn planned(
    outcome: Result<Outcome, Error>,
    format: PlanFormat,
    report: Report,
) -> Result<Option<Box<Computed>>, Error> {
    match outcome {
        Ok(Outcome::Planned(computed)) => {
            report_findings(&computed.findings(), &computed.prepared)?;
            Ok(Some(computed))
        }
        Ok(Outcome::Invalid(prepared)) => {
            report_findings(&shown(prepared.diagnostics.iter()), &prepared)?;
            let findings = prepared.into_findings();
            print_failure(format, report, "the manifests have errors", &findings)?;
            Ok(None)
        }
        Err(error) => {
            print_failure(format, report, &Chain(&error).to_string(), &[])?;
            Err(error)
        }
    }
}

/// `plan`.
pub(crate) fn plan(args: &PlanArgs, env: &dyn Environment) -> Result<Exit, Error> {
    if args.all_envs {
        return super::environments::plan_all(args, env);
    }
    let (manifests, connection) =
        targeted(&args.manifests, &args.connection, &args.environment, env)?;
    let outcome = commands::plan::plan(&manifests, &connection, env, &args.converge.options());
    let Some(computed) = planned(outcome, args.format, Report::Plan)? else {
        return Ok(Exit::Failure);
    };
    print_plan(&computed.plan, args.format, Report::Plan)?;
    tracing::debug!("plan printed");
    if let Some(path) = &args.out {
        commands::plan::save(&computed.plan, path)?;
        eprintln!("plan saved to {}", path.display());
    }
    let exit = commands::plan::plan_exit(&computed, args.detailed_exitcode);
    commands::plan::skip_teardown(*computed);
    Ok(exit)
}

/// `drift`.
pub(crate) fn drift(args: &DriftArgs, env: &dyn Environment) -> Result<Exit, Error> {
    let (manifests, connection) =
        targeted(&args.manifests, &args.connection, &args.environment, env)?;
    let select = &args.select.select;
    let outcome =
        commands::plan::drift(&manifests, &connection, env, select, args.ignore_unmanaged);
    let Some(computed) = planned(outcome, args.format, Report::Drift)? else {
        return Ok(Exit::Failure);
    };
    print_plan(&computed.plan, args.format, Report::Drift)?;
    let exit = commands::plan::drift_exit(&computed);
    commands::plan::skip_teardown(*computed);
    Ok(exit)
}

/// `apply`'s refusal: the report (in JSON), and why on stderr.
fn refuse(args: &ApplyArgs, plan: &crate::plan::Plan, message: &str) -> Result<Exit, Error> {
    if args.format == ApplyFormat::Json {
        render::apply::json(&mut std::io::stdout().lock(), plan, &[])?;
    }
    eprintln!("error: {message}");
    Ok(Exit::Failure)
}

/// Asks for confirmation on a terminal, after the whole plan.
fn confirmed(ready: &Ready) -> Result<bool, Error> {
    let delivers = ready.jobs.iter().any(|j| j.follow_up.is_some());
    let store = ready
        .computed
        .deliveries
        .store_address()
        .filter(|_| delivers);
    let question = render::apply::question(ready.counts, &ready.computed.plan.admin_url, store);
    ask(&question)
}

/// Asks `question` on a terminal, on stdout (so a pipe keeps it after what was printed)
/// unless stdout is a file nobody reads while typing; true on `yes`.
fn ask(question: &str) -> Result<bool, Error> {
    let mut stdout = std::io::stdout().lock();
    stdout.flush()?;
    #[cfg(unix)]
    let stdout_is_file = std::fs::metadata("/dev/stdout").is_ok_and(|m| m.is_file());
    #[cfg(not(unix))]
    let stdout_is_file = false;
    if stdout_is_file {
        eprint!("{question}");
        std::io::stderr().flush()?;
    } else {
        write!(stdout, "{question}")?;
        stdout.flush()?;
    }
    drop(stdout);
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// `apply`.
pub(crate) fn apply(args: &ApplyArgs, env: &dyn Environment) -> Result<Exit, Error> {
    // With --plan too, the manifests are the caller's DIR (default `manifests`), never the
    // plan file's (issue #19).
    let (manifests, connection) =
        targeted(&args.manifests, &args.connection, &args.environment, env)?;
    let options = ApplyOptions {
        saved_plan: args.plan.clone(),
        converge: args.converge.options(),
    };
    let runtime = commands::runtime()?;
    let mut ready =
        match commands::apply::prepare(&manifests, &connection, env, &options, &runtime)? {
            Start::Invalid(prepared) => {
                report_findings(&shown(prepared.diagnostics.iter()), &prepared)?;
                return Ok(Exit::Failure);
            }
            Start::Ready(ready) => ready,
        };
    report_findings(&ready.computed.findings(), &ready.computed.prepared)?;
    let human = args.format == ApplyFormat::Human;
    let plan = &ready.computed.plan;
    if human {
        print_plan(plan, PlanFormat::Human, Report::Plan)?;
    }
    if let Some(refusal) = &ready.refusal {
        return refuse(args, plan, &render::apply::refusal(refusal));
    }
    if ready.jobs.is_empty() {
        let mut out = std::io::stdout().lock();
        match human {
            true => render::apply::nothing_to_do(&mut out, plan)?,
            false => render::apply::json(&mut out, plan, &[])?,
        }
        return Ok(Exit::Success);
    }
    if !args.auto_approve && !ready.from_saved_plan {
        if !std::io::stdin().is_terminal() {
            return refuse(args, plan, render::apply::NEEDS_APPROVAL);
        }
        if !confirmed(&ready)? {
            return refuse(args, &ready.computed.plan, render::apply::CANCELLED);
        }
    }
    execute(args, &mut ready, &runtime)
}

/// Runs the jobs and reports.
fn execute(
    args: &ApplyArgs,
    ready: &mut Ready,
    runtime: &tokio::runtime::Runtime,
) -> Result<Exit, Error> {
    let human = args.format == ApplyFormat::Human;
    let secrets = args
        .secrets_out
        .as_deref()
        .map(SecretsFile::create)
        .transpose()?;
    let concurrency = usize::from(args.concurrency);
    if human {
        render::apply::starting(&mut std::io::stdout().lock(), ready.counts, concurrency)?;
    }
    let bar = human && ready.jobs.len() >= 20 && std::io::stderr().is_terminal();
    let progress = render::apply::Progress { bar, lines: human };
    let counts = ready.counts;
    let report =
        commands::apply::execute(ready, concurrency, secrets, Box::new(progress), runtime)?;
    let mut out = std::io::stdout().lock();
    if human {
        render::apply::secrets_notes(&mut out, &report)?;
    }
    if let Some(error) = &report.secrets_error {
        eprintln!("error: {error}");
    }
    if let Some(error) = &report.read_back_error {
        eprintln!("error: {}", render::apply::read_back_failed(error));
    }
    let results = &report.results;
    let diagnostics: Vec<_> = results.iter().flat_map(|r| r.diagnostics.clone()).collect();
    if !diagnostics.is_empty() {
        let prepared = &ready.computed.prepared;
        let findings = shown(prepared.diagnostics.iter().chain(&diagnostics));
        report_findings(&findings, prepared)?;
    }
    match human {
        true => render::apply::human(&mut out, results, counts, bar)?,
        false => render::apply::json(&mut out, &ready.computed.plan, results)?,
    }
    Ok(if report.converged() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// `rotate`.
pub(crate) fn rotate(args: &RotateArgs, env: &dyn Environment) -> Result<Exit, Error> {
    use crate::commands::rotate::{self, Start};
    let (manifests, connection) =
        targeted(&args.manifests, &args.connection, &args.environment, env)?;
    let runtime = commands::runtime()?;
    let rotation = match rotate::prepare(&manifests, &connection, env, &args.select, &runtime)? {
        Start::Invalid(prepared) => {
            report_findings(&shown(prepared.diagnostics.iter()), &prepared)?;
            return Ok(Exit::Failure);
        }
        Start::Ready(rotation) => rotation,
    };
    report_findings(&rotation.computed.findings(), &rotation.computed.prepared)?;
    let admin_url = &rotation.computed.plan.admin_url;
    let store = rotation.store_address();
    let mut out = std::io::stdout().lock();
    render::rotate::intro(&mut out, admin_url, store, &rotation.clients)?;
    drop(out);
    if let Some(reasons) = &rotation.refusal {
        eprintln!("error: {}", render::rotate::refusal(reasons));
        return Ok(Exit::Failure);
    }
    if !args.auto_approve {
        if !std::io::stdin().is_terminal() {
            eprintln!("error: {}", render::rotate::NEEDS_APPROVAL);
            return Ok(Exit::Failure);
        }
        let question = render::rotate::question(rotation.clients.len(), admin_url, store);
        if !ask(&question)? {
            eprintln!("error: {}", render::rotate::CANCELLED);
            return Ok(Exit::Failure);
        }
    }
    let done = rotate::execute(&rotation, &runtime);
    render::rotate::report(&mut std::io::stdout().lock(), &done)?;
    let all = done
        .iter()
        .all(|r| matches!(r.ended, rotate::Ended::Rotated { .. }));
    Ok(if all { Exit::Success } else { Exit::Failure })
}

/// `export`.
pub(crate) fn export(args: &ExportArgs, env: &dyn Environment) -> Result<Exit, Error> {
    let options = commands::export::ExportOptions {
        out: args.out.clone(),
        kind: match args.kind {
            KindChoice::Client => commands::export::ExportKind::Client,
            KindChoice::Scope => commands::export::ExportKind::Scope,
            KindChoice::All => commands::export::ExportKind::All,
        },
        select: args.select.clone(),
        include_system: args.include_system,
        with_secrets_to: args.with_secrets_to.clone(),
        force: args.force,
    };
    let mut connection = args.connection.options();
    if let Some(chosen) = args.environment.load(env, crate::env::Use::Connect)? {
        connection = connection.with_environment(&chosen);
    }
    let exported = commands::export::export(&options, &connection)?;
    if let Some(mismatch) = &exported.version_mismatch {
        eprintln!(
            "warning[boruta-version-mismatch]: {}",
            crate::escape::neutral(mismatch)
        );
    }
    render::export::summary(&mut std::io::stdout().lock(), &exported)?;
    Ok(Exit::Success)
}

/// `serve`.
pub(crate) fn serve(args: &ServeArgs) -> Result<Exit, Error> {
    let variable = crate::serve::TOKEN_VARIABLE;
    let trigger_token = match std::env::var(variable) {
        Ok(token) => Some(secrecy::SecretString::from(token)),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(Error::Usage(format!("{variable} is not UTF-8 text")))
        }
    };
    let options = crate::serve::Options {
        settings: crate::serve::Settings {
            manifests: args.manifests.manifests(),
            connection: args.connection.options(),
            environment: args
                .environment
                .env
                .clone()
                .map(|name| crate::serve::Chosen {
                    dir: args.environment.env_dir.clone(),
                    name,
                }),
            converge: args.converge.options(),
            concurrency: usize::from(args.concurrency),
            dry_run: args.dry_run,
        },
        listen: args.listen,
        interval: args.interval,
        trigger_token,
    };
    crate::serve::run(options, std::sync::Arc::new(crate::load::ProcessEnv))
}
