//! `plan --all-envs`: every environment of `--env-dir`, each planned against its own server
//! with its own credentials, reported as one document (one pull-request comment), with the
//! worst exit code of them.

use super::{console, PlanArgs, PlanFormat};
use crate::commands::{self, plan::Computed};
use crate::error::{Error, Exit};
use crate::load::Environment;
use crate::render::console::{self as shown, PlanFormat as Format};
use crate::render::plan::{EnvironmentPlan, Report};

/// What planning one environment gave.
struct Planned {
    name: String,
    computed: Option<Box<Computed>>,
    failure: Option<(String, Vec<crate::source::Diagnostic>)>,
    exit: Exit,
}

/// `plan --all-envs`.
pub(super) fn plan_all(args: &PlanArgs, env: &dyn Environment) -> Result<Exit, Error> {
    let format = Format::from(args.format);
    let mut results = Vec::new();
    commands::plan::plan_environments(
        &args.manifests.manifests(),
        &args.connection.options(),
        &args.environment.env_dir,
        env,
        &args.converge.options(),
        &mut |name, outcome| {
            match outcome {
                // The findings (stderr) and the human plan (stdout) of each environment
                // say which.
                None => shown::environment_heading(name, format),
                Some(outcome) => results.push(one(name.to_string(), outcome, args)?),
            }
            Ok(())
        },
    )?;
    let outcomes: Vec<(String, EnvironmentPlan<'_>)> = results
        .iter()
        .map(|r| {
            let outcome = match (&r.computed, &r.failure) {
                (Some(computed), _) => EnvironmentPlan::Planned(&computed.plan),
                (None, failure) => {
                    let (error, findings) = failure.clone().unwrap_or_default();
                    EnvironmentPlan::Failed { error, findings }
                }
            };
            (r.name.clone(), outcome)
        })
        .collect();
    shown::environments(&outcomes, format)?;
    Ok(results
        .iter()
        .map(|r| r.exit)
        .fold(Exit::Success, Exit::worst))
}

/// One environment's plan: printed at once in the human format, kept for the others.
fn one(
    name: String,
    outcome: Result<commands::plan::Outcome, Error>,
    args: &PlanArgs,
) -> Result<Planned, Error> {
    let console = console();
    let failure = shown::environment_failure(&outcome);
    // The other formats are one document for every environment, printed at the end.
    let quiet = Format::Human;
    let computed = match shown::planned(outcome, quiet, Report::Plan, console.stderr) {
        Ok(computed) => computed,
        Err(error) => {
            // A server that cannot be reached fails its environment, not the others.
            shown::environment_error(&error);
            None
        }
    };
    let exit = match &computed {
        Some(computed) => commands::plan::plan_exit(computed, args.detailed_exitcode),
        None => Exit::Failure,
    };
    if let (PlanFormat::Human, Some(computed)) = (args.format, &computed) {
        shown::plan(&computed.plan, Format::Human, Report::Plan, console.stdout)?;
    }
    Ok(Planned {
        name,
        computed,
        failure,
        exit,
    })
}
