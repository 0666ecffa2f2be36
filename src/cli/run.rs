//! Each command as the command line runs it: its flags made into the library's options,
//! one call into `commands`, and the result handed to `render`, on stdout (the product) or
//! stderr (findings, progress).

use super::{
    console, ApplyArgs, ApplyFormat, DriftArgs, ExportArgs, KindChoice, PlanArgs, RotateArgs,
    ServeArgs, ValidateArgs,
};
use crate::commands::apply::{ApplyOptions, SecretsFile, Start};
use crate::commands::{self, Next, Stop};
use crate::error::{Error, Exit};
use crate::load::Environment;
use crate::render::console::PlanFormat;
use crate::render::{self, plan::Report};
use std::io::{BufRead, IsTerminal, Write};

/// The manifests and the connection of a command, with its environment's settings.
fn targeted(
    manifests: &super::ManifestArgs,
    connection: &super::ConnectionArgs,
    environment: &super::EnvArgs,
    env: &dyn Environment,
) -> Result<(commands::Manifests, commands::ConnectionOptions), Error> {
    let chosen = environment.load(env, crate::env::Use::Connect)?;
    let (manifests, connection) = (manifests.manifests(), connection.options());
    Ok(commands::environment::targeted(
        manifests, connection, chosen,
    ))
}

/// Asks `question` (written by `render`) on the terminal and reads the answer: true on
/// `yes`. The question goes to stdout (so a pipe keeps it after what was printed) unless
/// stdout is a file nobody reads while typing, then to stderr.
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

/// `validate`.
pub(crate) fn validate(args: &ValidateArgs, env: &dyn Environment) -> Result<Exit, Error> {
    use commands::environment::Offline;
    let options = commands::validate::ValidateOptions {
        require_env: args.require_env,
        boruta_version: args.boruta_version,
    };
    let offline = crate::env::Use::Offline;
    let environments = match args.all_envs {
        true => Offline::All(crate::env::load_all(
            &args.environment.env_dir,
            env,
            offline,
        )?),
        false => Offline::One(args.environment.load(env, offline)?),
    };
    let manifests = args.manifests.manifests();
    let v = commands::environment::validate(manifests, options, env, environments);
    render::console::validation(&v, args.format.into(), console().stdout)?;
    Ok(if v.failed() {
        Exit::Failure
    } else {
        Exit::Success
    })
}

/// `plan`.
pub(crate) fn plan(args: &PlanArgs, env: &dyn Environment) -> Result<Exit, Error> {
    if args.all_envs {
        return super::environments::plan_all(args, env);
    }
    let (manifests, connection) =
        targeted(&args.manifests, &args.connection, &args.environment, env)?;
    let outcome = commands::plan::plan(&manifests, &connection, env, &args.converge.options());
    let (format, console) = (PlanFormat::from(args.format), console());
    let Some(computed) = render::console::planned(outcome, format, Report::Plan, console.stderr)?
    else {
        return Ok(Exit::Failure);
    };
    render::console::plan(&computed.plan, format, Report::Plan, console.stdout)?;
    tracing::debug!("plan printed");
    if let Some(path) = &args.out {
        commands::plan::save(&computed.plan, path)?;
        render::console::plan_saved(path);
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
    let (format, console) = (PlanFormat::from(args.format), console());
    let Some(computed) = render::console::planned(outcome, format, Report::Drift, console.stderr)?
    else {
        return Ok(Exit::Failure);
    };
    render::console::plan(&computed.plan, format, Report::Drift, console.stdout)?;
    let exit = commands::plan::drift_exit(&computed);
    commands::plan::skip_teardown(*computed);
    Ok(exit)
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
    let console = console();
    let runtime = commands::runtime()?;
    let mut ready =
        match commands::apply::prepare(&manifests, &connection, env, &options, &runtime)? {
            Start::Invalid(prepared) => {
                render::console::invalid(&prepared, console.stderr)?;
                return Ok(Exit::Failure);
            }
            Start::Ready(ready) => ready,
        };
    let human = args.format == ApplyFormat::Human;
    render::apply::planned(&ready, human, console)?;
    let plan = &ready.computed.plan;
    let stop = match ready.next(args.auto_approve, std::io::stdin().is_terminal()) {
        Next::Stop(stop) => Some(stop),
        Next::NothingToDo => {
            render::apply::nothing_done(plan, human)?;
            return Ok(Exit::Success);
        }
        Next::Confirm => (!ask(&render::apply::question_for(&ready))?).then_some(Stop::Cancelled),
        Next::Run => None,
    };
    if let Some(stop) = stop {
        render::apply::stopped(plan, !human, &stop)?;
        return Ok(Exit::Failure);
    }
    let secrets = args.secrets_out.as_deref();
    let secrets = secrets.map(SecretsFile::create).transpose()?;
    let concurrency = usize::from(args.concurrency);
    let stderr_is_terminal = std::io::stderr().is_terminal();
    let progress = render::apply::starting_run(&ready, human, concurrency, stderr_is_terminal)?;
    let bar = progress.bar;
    let report = commands::apply::execute(
        &mut ready,
        concurrency,
        secrets,
        Box::new(progress),
        &runtime,
    )?;
    render::apply::finished(&report, &ready, human, bar, console.stderr)?;
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
    let console = console();
    let runtime = commands::runtime()?;
    let rotation = match rotate::prepare(&manifests, &connection, env, &args.select, &runtime)? {
        Start::Invalid(prepared) => {
            render::console::invalid(&prepared, console.stderr)?;
            return Ok(Exit::Failure);
        }
        Start::Ready(rotation) => rotation,
    };
    render::rotate::planned(&rotation, console.stderr)?;
    let stop = match rotation.next(args.auto_approve, std::io::stdin().is_terminal()) {
        Next::Stop(stop) => Some(stop),
        Next::Confirm => {
            (!ask(&render::rotate::question_for(&rotation))?).then_some(Stop::Cancelled)
        }
        Next::Run | Next::NothingToDo => None,
    };
    if let Some(stop) = stop {
        render::rotate::stopped(&stop);
        return Ok(Exit::Failure);
    }
    let done = rotate::execute(&rotation, &runtime);
    render::rotate::done(&done)?;
    Ok(if rotate::all_rotated(&done) {
        Exit::Success
    } else {
        Exit::Failure
    })
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
    render::export::report(&exported)?;
    Ok(Exit::Success)
}

/// `serve`.
pub(crate) fn serve(args: &ServeArgs) -> Result<Exit, Error> {
    let trigger_token = crate::serve::trigger_token()?;
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
