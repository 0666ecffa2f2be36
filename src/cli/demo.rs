//! `demo`: the main job end to end on a built-in sandbox, each step the command a user
//! types, run with its flags: a validation finding (on a copy with a mistake), a clean
//! validate, plan, apply, plan again (nothing left), someone editing a client in the admin
//! UI, drift catching it, and (with `--update`) apply putting it back. The scratch files
//! and the edit are `commands::demo`'s; what each step says is `render::demo`'s.

use super::{
    run as command, ApplyArgs, ApplyFormat, ConnectionArgs, ConvergeArgs, DemoArgs, DriftArgs,
    EnvArgs, FindingsFormat, ManifestArgs, PlanArgs, PlanFormat, SelectArgs, TokenAuthArg,
    ValidateArgs,
};
use crate::commands::demo::{admin_ui_edit, DemoEnv, Scratch};
use crate::error::{Error, Exit};
use crate::render;
use crate::sandbox::{Config, Sandbox};
use std::path::{Path, PathBuf};

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

/// `demo`.
pub(crate) fn run(args: &DemoArgs) -> Result<Exit, Error> {
    let scratch = Scratch::new()?;
    let dir = scratch.manifests(&args.dir)?;
    let sandbox = Sandbox::start(Config::default())?;
    let commands = Commands {
        env: DemoEnv::new(),
        connection: connection(&sandbox),
        dir: dir.clone(),
    };
    let mistaken = scratch.with_a_mistake()?;
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
        demo.not_edited();
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
