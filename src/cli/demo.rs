//! `demo`: the main job end to end on a built-in sandbox, each step explained in one line:
//! a validation finding (on a copy with a mistake), a clean validate, plan, apply, plan
//! again (nothing left), someone editing a client in the admin UI, drift catching it, and
//! (with `--update`) apply putting it back. Every temporary file is removed, whatever
//! happens.

use super::{
    run as command, ApplyArgs, ApplyFormat, ConnectionArgs, ConvergeArgs, DemoArgs, DriftArgs,
    EnvArgs, FindingsFormat, ManifestArgs, PlanArgs, PlanFormat, SelectArgs, TokenAuthArg,
    ValidateArgs,
};
use crate::error::{Error, Exit};
use crate::load::{Environment, ProcessEnv};
use crate::render;
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

use render::demo::{ADDED_URI, EDITED};

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

/// The demo's connection: the sandbox's bootstrap client.
fn connection(sandbox: &Sandbox) -> ConnectionArgs {
    ConnectionArgs {
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
        issuer: None,
    }
}

/// The commands the demo runs, as a user would type them.
struct Commands {
    env: DemoEnv,
    connection: ConnectionArgs,
    dir: PathBuf,
}

/// The demo runs against its own sandbox, not an environment.
fn no_environment() -> EnvArgs {
    EnvArgs {
        env: None,
        env_dir: PathBuf::from(crate::env::DEFAULT_DIR),
    }
}

impl Commands {
    fn at(dir: &Path) -> ManifestArgs {
        ManifestArgs {
            dir: Some(dir.to_path_buf()),
            file_roots: Vec::new(),
            policy: None,
            exclude: Vec::new(),
            max_input_bytes: crate::load::MAX_TOTAL_INPUT_BYTES,
        }
    }

    fn validate(&self, dir: &Path) -> Result<Exit, Error> {
        let args = ValidateArgs {
            manifests: Self::at(dir),
            format: FindingsFormat::Human,
            require_env: false,
            boruta_version: None,
            environment: no_environment(),
            all_envs: false,
        };
        command::validate(&args, &self.env)
    }

    fn plan(&self) -> Result<Exit, Error> {
        let args = PlanArgs {
            manifests: Self::at(&self.dir),
            format: PlanFormat::Human,
            detailed_exitcode: true,
            out: None,
            converge: converge(false),
            environment: no_environment(),
            all_envs: false,
            connection: self.connection.clone(),
        };
        command::plan(&args, &self.env)
    }

    fn apply(&self, update: bool) -> Result<Exit, Error> {
        let args = ApplyArgs {
            manifests: Self::at(&self.dir),
            plan: None,
            auto_approve: true,
            concurrency: 8,
            secrets_out: None,
            format: ApplyFormat::Human,
            converge: converge(update),
            environment: no_environment(),
            connection: self.connection.clone(),
        };
        command::apply(&args, &self.env)
    }

    fn drift(&self) -> Result<Exit, Error> {
        let args = DriftArgs {
            manifests: Self::at(&self.dir),
            format: PlanFormat::Human,
            ignore_unmanaged: false,
            select: SelectArgs { select: Vec::new() },
            environment: no_environment(),
            connection: self.connection.clone(),
        };
        command::drift(&args, &self.env)
    }
}

pub(crate) fn run(args: &DemoArgs) -> Result<Exit, Error> {
    let scratch = Scratch::new()?;
    let dir = manifests(&args.dir, &scratch)?;
    let sandbox = Sandbox::start(Config::default())?;
    let secret = || crate::sandbox::state::random_alphanumeric(40);
    let env = DemoEnv(BTreeMap::from([
        ("BILLING_API_SECRET".to_string(), secret()),
        ("PARTNER_PORTAL_SECRET".to_string(), secret()),
    ]));
    let commands = Commands {
        env,
        connection: connection(&sandbox),
        dir: dir.clone(),
    };
    let mistaken = with_a_mistake(&scratch)?;
    let mut demo = render::demo::Steps::start(sandbox.base_url(), &dir);
    demo.step(Exit::Failure, &mut || commands.validate(&mistaken))?;
    demo.step(Exit::Success, &mut || commands.validate(&dir))?;
    demo.step(Exit::Changes, &mut || commands.plan())?;
    demo.step(Exit::Success, &mut || commands.apply(false))?;
    demo.step(Exit::Success, &mut || commands.plan())?;
    let edited = admin_ui_edit(&sandbox);
    demo.step(Exit::Changes, &mut || commands.drift())?;
    demo.step(Exit::Success, &mut || commands.apply(true))?;
    demo.step(Exit::Success, &mut || commands.drift())?;
    drop(sandbox);
    if !edited {
        demo.fail(format!("the demo could not find {EDITED} to edit"));
    }
    Ok(demo.finish())
}

/// `--update` or nothing; never deletes, never selects.
fn converge(update: bool) -> ConvergeArgs {
    ConvergeArgs {
        update,
        allow_delete: false,
        select: SelectArgs { select: Vec::new() },
        send_key_pair_id: Vec::new(),
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
