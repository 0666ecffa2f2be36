//! `demo`: the main job end to end on a built-in sandbox — validate, plan, apply, plan
//! again (nothing left to create), drift — each step explained in one line.

use super::{
    apply::run_apply, pipeline, ApplyArgs, ApplyFormat, ConnectionArgs, DemoArgs, DriftArgs,
    PlanArgs, PlanFormat, TokenAuthArg,
};
use crate::error::{Error, Exit};
use crate::load::{Environment, ProcessEnv};
use crate::sandbox::{Config, Sandbox};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The bundled examples, for when `demo` runs outside the repository.
const BUNDLED: [(&str, &str); 3] = [
    (
        "billing-api.yaml",
        include_str!("../../manifests/billing-api.yaml"),
    ),
    (
        "partner-portal.yml",
        include_str!("../../manifests/partner-portal.yml"),
    ),
    (
        "storefront-spa.yaml",
        include_str!("../../manifests/storefront-spa.yaml"),
    ),
];

/// The process environment, plus demo values for the secrets the examples reference.
struct DemoEnv(BTreeMap<String, String>);

impl Environment for DemoEnv {
    fn var(&self, name: &str) -> Option<String> {
        ProcessEnv.var(name).or_else(|| self.0.get(name).cloned())
    }
}

pub(crate) fn run(args: &DemoArgs) -> Result<Exit, Error> {
    let mut bundled_dir = None;
    let dir: PathBuf = if args.dir.is_dir() {
        args.dir.clone()
    } else {
        let dir = tempfile_dir()?;
        for (name, text) in BUNDLED {
            std::fs::write(dir.join(name), text)?;
        }
        bundled_dir = Some(dir.clone());
        dir
    };
    let sandbox = Sandbox::start(Config::default())?;
    let env = DemoEnv(BTreeMap::from([
        (
            "BILLING_API_SECRET".to_string(),
            crate::sandbox::state::random_alphanumeric(40),
        ),
        (
            "PARTNER_PORTAL_SECRET".to_string(),
            crate::sandbox::state::random_alphanumeric(40),
        ),
    ]));
    let connection = || ConnectionArgs {
        admin_url: Some(sandbox.base_url().to_string()),
        token_url: Some(sandbox.token_url()),
        client_id: Some(sandbox.bootstrap().client_id.clone()),
        client_secret: Some(sandbox.bootstrap().client_secret.clone()),
        client_secret_file: None,
        access_token: None,
        token_auth: TokenAuthArg::Basic,
        ca_cert: None,
        allow_insecure_http: false,
        timeout: 30,
        max_retries: 4,
        max_response_bytes: crate::fetch::DEFAULT_MAX_RESPONSE_BYTES,
        boruta_version: None,
        admin_client_id: crate::api::ADMIN_UI_CLIENT_ID.to_string(),
    };
    println!(
        "boruta-gitops demo: a sandbox boruta is listening on {}",
        sandbox.base_url()
    );
    println!("manifests: {}\n", dir.display());

    let mut failures = Vec::new();
    let mut step = |n: u8,
                    title: &str,
                    why: &str,
                    expected: Exit,
                    run: &mut dyn FnMut() -> Result<Exit, Error>|
     -> Result<(), Error> {
        println!("━━ step {n}: {title}");
        println!("   {why}\n");
        let exit = run()?;
        println!("\n   → exit {} (expected {})\n", exit as u8, expected as u8);
        if exit != expected {
            failures.push(format!(
                "step {n} ({title}) exited {} instead of {}",
                exit as u8, expected as u8
            ));
        }
        Ok(())
    };
    let validate = super::ValidateArgs {
        boruta_version: None,
        require_env: false,
        manifests: super::ManifestArgs {
            dir: Some(dir.clone()),
            file_roots: Vec::new(),
        },
        format: super::FindingsFormat::Human,
    };
    step(
        1,
        "boruta-gitops validate",
        "Offline: JSON Schema and boruta's own rules; every finding points at file:line:col.",
        Exit::Success,
        &mut || super::run_validate(&validate, &env),
    )?;
    let plan = |detailed| PlanArgs {
        manifests: super::ManifestArgs {
            dir: Some(dir.clone()),
            file_roots: Vec::new(),
        },
        format: PlanFormat::Human,
        detailed_exitcode: detailed,
        out: None,
        connection: connection(),
    };
    step(
        2,
        "boruta-gitops plan --detailed-exitcode",
        "Reads the server once and shows what apply would create; exit 2 means there are creates.",
        Exit::Changes,
        &mut || pipeline::run_plan(&plan(true), &env),
    )?;
    let apply = ApplyArgs {
        manifests: super::ManifestArgs {
            dir: Some(dir.clone()),
            file_roots: Vec::new(),
        },
        plan: None,
        auto_approve: true,
        concurrency: 8,
        secrets_out: None,
        format: ApplyFormat::Human,
        connection: connection(),
    };
    step(
        3,
        "boruta-gitops apply --auto-approve",
        "Creates the missing clients (never updates or deletes), retrying safely.",
        Exit::Success,
        &mut || run_apply(&apply, &env),
    )?;
    step(
        4,
        "boruta-gitops plan --detailed-exitcode (again)",
        "A re-run converges: nothing is left to create, so exit 0.",
        Exit::Success,
        &mut || pipeline::run_plan(&plan(true), &env),
    )?;
    let drift = DriftArgs {
        manifests: super::ManifestArgs {
            dir: Some(dir.clone()),
            file_roots: Vec::new(),
        },
        format: PlanFormat::Human,
        ignore_unmanaged: false,
        connection: connection(),
    };
    step(5, "boruta-gitops drift", "The scheduled check: exit 0 while the server matches git, 2 on drift, missing or unmanaged clients.", Exit::Success, &mut || {
        pipeline::run_drift(&drift, &env)
    })?;
    drop(sandbox);
    if let Some(dir) = bundled_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    if failures.is_empty() {
        println!("demo finished: every step behaved as expected.");
        Ok(Exit::Success)
    } else {
        for failure in &failures {
            eprintln!("error: {failure}");
        }
        Ok(Exit::Failure)
    }
}

/// A fresh directory under the system temp dir for the bundled manifests.
fn tempfile_dir() -> Result<PathBuf, Error> {
    let dir = std::env::temp_dir().join(format!("boruta-gitops-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
