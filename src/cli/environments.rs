//! `plan --all-envs`: every environment of `--env-dir`, each planned against its own server
//! with its own credentials, reported as one document (one pull-request comment), with the
//! worst exit code of them.

use super::run::{planned, print_plan, FULL_PLAN};
use super::{PlanArgs, PlanFormat};
use crate::commands::{self, plan::Computed};
use crate::error::{Chain, Error, Exit};
use crate::load::Environment;
use crate::render::plan::{EnvironmentPlan, Report};
use std::io::Write;

/// What planning one environment gave.
struct Planned {
    name: String,
    computed: Option<Box<Computed>>,
    failure: Option<(String, Vec<crate::source::Diagnostic>)>,
    exit: Exit,
}

/// `plan --all-envs`.
pub(super) fn plan_all(args: &PlanArgs, env: &dyn Environment) -> Result<Exit, Error> {
    let human = args.format == PlanFormat::Human;
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
                None => {
                    eprintln!("== environment {name}");
                    if human {
                        println!("== environment {name}");
                    }
                }
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
    let mut out = std::io::stdout().lock();
    match args.format {
        PlanFormat::Human => {}
        PlanFormat::Json => crate::render::plan::json_environments(&mut out, &outcomes)?,
        PlanFormat::Markdown => crate::render::plan::markdown_environments(
            &mut out,
            Report::Plan,
            &outcomes,
            FULL_PLAN,
        )?,
    }
    out.flush()?;
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
    let human = args.format == PlanFormat::Human;
    // The other formats are one document for every environment, printed at the end.
    let quiet = PlanFormat::Human;
    let failure_of = |outcome: &Result<commands::plan::Outcome, Error>| match outcome {
        Ok(commands::plan::Outcome::Invalid(prepared)) => Some((
            "the manifests have errors".to_string(),
            prepared.diagnostics.clone(),
        )),
        Err(error) => Some((Chain(error).to_string(), Vec::new())),
        Ok(commands::plan::Outcome::Planned(_)) => None,
    };
    let failure = failure_of(&outcome);
    let computed = match planned(outcome, quiet, Report::Plan) {
        Ok(computed) => computed,
        Err(error) => {
            // A server that cannot be reached fails its environment, not the others.
            eprintln!("error: {}", Chain(&error));
            None
        }
    };
    let exit = match &computed {
        Some(computed) => commands::plan::plan_exit(computed, args.detailed_exitcode),
        None => Exit::Failure,
    };
    if let (true, Some(computed)) = (human, &computed) {
        print_plan(&computed.plan, PlanFormat::Human, Report::Plan)?;
    }
    Ok(Planned {
        name,
        computed,
        failure,
        exit,
    })
}
