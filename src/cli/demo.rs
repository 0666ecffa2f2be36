//! `demo`: the main job end to end on a built-in sandbox, each step explained in one line:
//! a validation finding (on a copy with a mistake), a clean validate, plan, apply, plan
//! again (nothing left), someone editing a client in the admin UI, drift catching it, and
//! (with `--update`) apply putting it back. Every temporary file is removed, whatever
//! happens.

use super::{
    apply::run_apply, pipeline, ApplyArgs, ApplyFormat, ConnectionArgs, DemoArgs, DriftArgs,
    ManifestArgs, PlanArgs, PlanFormat, TokenAuthArg,
};
use crate::error::{Error, Exit};
use crate::load::{Environment, ProcessEnv};
use crate::sandbox::{Config, Sandbox};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// The client the demo's admin-UI edit changes, and the URI it adds.
const EDITED: &str = "storefront-spa";
const ADDED_URI: &str = "https://evil.example.net/cb";

/// The process environment, plus demo values for the secrets the examples reference.
struct DemoEnv(BTreeMap<String, String>);

impl Environment for DemoEnv {
    fn var(&self, name: &str) -> Option<String> {
        ProcessEnv.var(name).or_else(|| self.0.get(name).cloned())
    }
}

/// A directory removed when dropped, however the demo ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, Error> {
        let dir = std::env::temp_dir().join(format!(
            "boruta-gitops-demo-{}-{}",
            std::process::id(),
            crate::sandbox::state::random_alphanumeric(8)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The manifests to demonstrate with: `dir`, or the bundled examples written to `scratch`.
fn manifests(dir: &Path, scratch: &Scratch) -> Result<PathBuf, Error> {
    if dir.is_dir() {
        return Ok(dir.to_path_buf());
    }
    let copy = scratch.0.join("manifests");
    std::fs::create_dir_all(&copy)?;
    for (name, text) in BUNDLED {
        std::fs::write(copy.join(name), text)?;
    }
    Ok(copy)
}

/// A copy of the examples in which a redirect URI lost its `//` (boruta refuses it).
fn with_a_mistake(scratch: &Scratch) -> Result<PathBuf, Error> {
    let copy = scratch.0.join("with-a-mistake");
    std::fs::create_dir_all(&copy)?;
    for (name, text) in BUNDLED {
        let text = if name == "storefront-spa.yaml" {
            text.replace(
                "https://shop.example.com/callback",
                "https:shop.example.com/callback",
            )
        } else {
            text.to_string()
        };
        std::fs::write(copy.join(name), text)?;
    }
    Ok(copy)
}

pub(crate) fn run(args: &DemoArgs) -> Result<Exit, Error> {
    let scratch = Scratch::new()?;
    let dir = manifests(&args.dir, &scratch)?;
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
    let connection = ConnectionArgs {
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
        admin_client_id: crate::api::ADMIN_UI_CLIENT_ID.to_string(),
        boruta_version: None,
    };
    let at = |dir: &Path| ManifestArgs {
        dir: Some(dir.to_path_buf()),
        file_roots: Vec::new(),
        policy: None,
    };
    println!(
        "boruta-gitops demo: a sandbox boruta is listening on {}",
        sandbox.base_url()
    );
    println!("manifests: {}\n", dir.display());

    let mut failures = Vec::new();
    let mut n = 0;
    let mut step = |title: &str,
                    why: &str,
                    expected: Exit,
                    run: &mut dyn FnMut() -> Result<Exit, Error>|
     -> Result<(), Error> {
        n += 1;
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
    let validate = |dir: &Path| super::ValidateArgs {
        manifests: at(dir),
        format: super::FindingsFormat::Human,
        require_env: false,
        boruta_version: None,
    };
    let mistaken = with_a_mistake(&scratch)?;
    step(
        "boruta-gitops validate (a copy with a mistake)",
        "Offline: JSON Schema and boruta's own rules; every finding points at file:line:col.",
        Exit::Failure,
        &mut || super::run_validate(&validate(&mistaken), &env),
    )?;
    step(
        "boruta-gitops validate",
        "The examples as they are: no error.",
        Exit::Success,
        &mut || super::run_validate(&validate(&dir), &env),
    )?;
    let plan = || PlanArgs {
        manifests: at(&dir),
        format: PlanFormat::Human,
        detailed_exitcode: true,
        out: None,
        converge: converge(false),
        connection: connection.clone(),
    };
    step(
        "boruta-gitops plan --detailed-exitcode",
        "Reads the server once and shows what apply would create; exit 2 means there are creates.",
        Exit::Changes,
        &mut || pipeline::run_plan(&plan(), &env),
    )?;
    let apply = |update: bool| ApplyArgs {
        manifests: at(&dir),
        plan: None,
        auto_approve: true,
        concurrency: 8,
        secrets_out: None,
        format: ApplyFormat::Human,
        converge: converge(update),
        connection: connection.clone(),
    };
    step(
        "boruta-gitops apply --auto-approve",
        "Creates the missing clients, retrying safely.",
        Exit::Success,
        &mut || run_apply(&apply(false), &env),
    )?;
    step(
        "boruta-gitops plan --detailed-exitcode (again)",
        "A re-run converges: nothing is left to create, so exit 0.",
        Exit::Success,
        &mut || pipeline::run_plan(&plan(), &env),
    )?;
    let edited = admin_ui_edit(&sandbox);
    let drift = DriftArgs {
        manifests: at(&dir),
        format: PlanFormat::Human,
        ignore_unmanaged: false,
        select: super::SelectArgs { select: Vec::new() },
        connection: connection.clone(),
    };
    step(
        "boruta-gitops drift (after an edit in the admin UI)",
        &format!("Someone added {ADDED_URI} to {EDITED}'s redirect URIs by hand; the scheduled check says so: exit 2."),
        Exit::Changes,
        &mut || pipeline::run_drift(&drift, &env),
    )?;
    step(
        "boruta-gitops apply --update --auto-approve",
        "Puts the drifted client back as git declares it: one PATCH with exactly the fields the plan shows (and its scopes, which boruta replaces on every update).",
        Exit::Success,
        &mut || run_apply(&apply(true), &env),
    )?;
    step(
        "boruta-gitops drift (again)",
        "The server matches git again: exit 0.",
        Exit::Success,
        &mut || pipeline::run_drift(&drift, &env),
    )?;
    drop(sandbox);
    if !edited {
        failures.push(format!("the demo could not find {EDITED} to edit"));
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

/// `--update` or nothing; never deletes, never selects.
fn converge(update: bool) -> super::ConvergeArgs {
    super::ConvergeArgs {
        update,
        allow_delete: false,
        select: super::SelectArgs { select: Vec::new() },
    }
}

/// What an administrator does in boruta's UI: adds a redirect URI to a managed client.
fn admin_ui_edit(sandbox: &Sandbox) -> bool {
    sandbox.with_state(|state| {
        let id = state
            .clients
            .iter()
            .find(|(_, c)| c.fields.get("name").and_then(|n| n.as_str()) == Some(EDITED))
            .map(|(id, _)| id.clone());
        let Some(id) = id else { return false };
        let mut uris = state.clients[&id].fields["redirect_uris"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        uris.push(serde_json::Value::String(ADDED_URI.into()));
        let body = serde_json::json!({"client": {"redirect_uris": uris}});
        // Through boruta's own update, as the UI does (its scopes are untouched: it has none).
        state.update_client(&id, &body).status == 200
    })
}
