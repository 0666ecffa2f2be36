//! The command line: clap types, and for each command its flags made into the options of
//! one `commands` function, whose result goes to `render` (`run.rs`). It decides nothing
//! and prints nothing itself: the order of the stages is `commands`', every byte a person
//! reads is `render`'s. It knows the terminal: `--color`, `NO_COLOR`, which stream is one.

use crate::commands::{ConnectionOptions, Manifests};
use crate::error::{Error, Exit};
use crate::kinds::client::fields::Version;
use crate::load::ProcessEnv;
use crate::render::{console::Console, Style};
use crate::schema::{self, SchemaKind};
use clap::{Parser, Subcommand, ValueEnum};

mod demo;
mod environments;
mod github;
mod run;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "boruta-gitops",
    version,
    about = "Manage the OAuth clients of a boruta server from YAML manifests in git."
)]
pub struct Cli {
    /// Colour in human output: auto (on a terminal, unless NO_COLOR is set), always (for
    /// CI logs that render ANSI), never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The run's colour choice (set once, from `--color`, before anything is printed).
static COLOR: std::sync::OnceLock<ColorChoice> = std::sync::OnceLock::new();

/// The style of a stream: `--color`, and for `auto` a terminal without `NO_COLOR`.
pub fn style_for(is_terminal: bool) -> Style {
    let choice = COLOR.get().copied().unwrap_or(ColorChoice::Auto);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Style {
        color: match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && !no_color,
        },
    }
}

/// Takes `--color` into account for every later [`style_for`].
pub fn set_color(choice: ColorChoice) {
    let _ = COLOR.set(choice);
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests offline: JSON Schema, boruta's own rules, unique names and ids.
    Validate(ValidateArgs),
    /// Print the JSON Schema of the manifest format.
    Schema(SchemaArgs),
    /// Run a loopback imitation of boruta (token endpoint + admin API) for CI and demos.
    Sandbox(SandboxArgs),
    /// Compare the manifests with the server and show what `apply` with the same flags would
    /// do: create, and with --update update, with --allow-delete delete.
    Plan(PlanArgs),
    /// For scheduled jobs: exit 2 when the server no longer matches git.
    Drift(DriftArgs),
    /// Do what the plan shows: create missing clients; with --update put drifted ones back
    /// as git declares them; with --allow-delete delete those declared absent.
    Apply(ApplyArgs),
    /// Give clients a new secret: written to their `secret_delivery` in the secret store
    /// first, then sent to boruta.
    #[command(after_help = STORE_HELP)]
    Rotate(RotateArgs),
    /// Run validate, plan, apply, drift and apply --update against a built-in sandbox.
    Demo(DemoArgs),
    /// Write the server's clients as manifests (adopting an existing server).
    Export(ExportArgs),
    /// Reconcile continuously: the `apply` of the same flags every --interval and on
    /// POST /reconcile, with /healthz, /readyz and Prometheus /metrics.
    Serve(ServeArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell) on stdout.
    Completions(CompletionsArgs),
    /// What the GitHub Action does on GitHub: the plan comment, the drift issue.
    #[command(subcommand)]
    Github(github::GithubCommand),
}

/// `serve`. The manifest and connection flags are `apply`'s, so each cycle is the `apply`
/// the same flags would run (`--auto-approve` implied).
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Where /healthz, /readyz, /metrics and POST /reconcile listen. Loopback by default:
    /// serving on every interface (0.0.0.0:9464, in a container) is an explicit choice.
    #[arg(long, value_name = "ADDR:PORT", default_value = crate::serve::DEFAULT_LISTEN)]
    pub listen: std::net::SocketAddr,
    /// Time between cycles (30s, 5m, 1h; at least 1s), moved by up to 10 % at random.
    /// After a failed cycle the next comes sooner: 1s, doubling, up to the interval.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = crate::serve::parse_interval)]
    pub interval: std::time::Duration,
    /// Plan every cycle and record the state in the metrics; never write.
    #[arg(long)]
    pub dry_run: bool,
    /// Requests in flight at once (creates, updates, deletes).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Log format on stderr: text, or json (one object per line, for log pipelines).
    /// Without RUST_LOG, one line per cycle and warnings.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub converge: ConvergeArgs,
    #[command(flatten)]
    pub environment: EnvArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Directory to write the manifests to (created if absent).
    #[arg(long)]
    pub out: PathBuf,
    /// Which objects: clients, scopes (into a `scopes/` folder), or both.
    #[arg(long, value_enum, default_value_t = KindChoice::All)]
    pub kind: KindChoice,
    /// Export only these clients and scopes (name, `*` glob of names, or id; repeatable).
    #[arg(long = "select")]
    pub select: Vec<String>,
    /// Also export the system clients (admin UI, public client, this tool's own client).
    #[arg(long)]
    pub include_system: bool,
    /// Write the clients' secrets to this new file (VAR='secret' lines, mode 0600; refuses
    /// to overwrite), for a migration.
    #[arg(long)]
    pub with_secrets_to: Option<PathBuf>,
    /// Overwrite manifests that already exist in --out.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub environment: EnvArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Apply this saved plan (`plan --out`) to the configured server (--admin-url), from
    /// DIR; refused before any request when the plan names another server or directory,
    /// and when the server or the manifests changed since.
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// Do not ask for confirmation (CI).
    #[arg(long)]
    pub auto_approve: bool,
    /// Requests in flight at once (creates, updates, deletes).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Write `{id, name, secret}` of each client created in this run to this new file
    /// (JSON Lines, mode 0600; refuses to overwrite).
    #[arg(long)]
    pub secrets_out: Option<PathBuf>,
    /// Output format: human (the plan, then each client's outcome), or json (the plan, the
    /// outcomes and their counts as one document).
    #[arg(long, value_enum, default_value_t = ApplyFormat::Human)]
    pub format: ApplyFormat,
    #[command(flatten)]
    pub converge: ConvergeArgs,
    #[command(flatten)]
    pub environment: EnvArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Where `rotate` (and a plan with `secret_delivery`) finds the secret store: the way
/// Vault's own tools do, from the environment only.
const STORE_HELP: &str = "The secret store (Vault or OpenBao, KV version 2) is found the way Vault's own tools find it: VAULT_ADDR (its address), VAULT_TOKEN (a token that may read, create and update the delivery paths), VAULT_CACERT (a private CA), VAULT_NAMESPACE.";

#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// The client whose secret to rotate: its name (`*` matches any characters) or its id
    /// (repeatable). Each must declare `secret_delivery` and no `secret`.
    #[arg(long = "select", value_name = "NAME_OR_ID", required = true)]
    pub select: Vec<String>,
    /// Do not ask for confirmation (CI).
    #[arg(long)]
    pub auto_approve: bool,
    #[command(flatten)]
    pub environment: EnvArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// What a plan may do besides creating: the options recorded in a saved plan.
#[derive(Debug, Clone, clap::Args)]
pub struct ConvergeArgs {
    /// Put drifted clients back as git declares them (one PATCH each).
    #[arg(long)]
    pub update: bool,
    /// Delete the clients declared `lifecycle: {ensure: absent}` that exist.
    #[arg(long)]
    pub allow_delete: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Send `key_pair_id` to this existing client (name, `*` glob, or id; repeatable) when
    /// the key pairs cannot be read to check whether it already holds that key: boruta
    /// replaces the key of a client that holds it with a random one.
    #[arg(long, value_name = "NAME_OR_ID")]
    pub send_key_pair_id: Vec<String>,
}

impl ConvergeArgs {
    pub(crate) fn options(&self) -> crate::plan::Options {
        crate::plan::Options {
            update: self.update,
            allow_delete: self.allow_delete,
            select: self.select.select.clone(),
            send_key_pair_id: self.send_key_pair_id.clone(),
        }
    }
}

impl ManifestArgs {
    /// The manifests, `manifests` when no directory is given.
    pub(crate) fn manifests(&self) -> Manifests {
        Manifests {
            dir: self
                .dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(crate::commands::DEFAULT_DIR)),
            file_roots: self.file_roots.clone(),
            policy: self.policy.clone(),
            exclude: self.exclude.clone(),
            max_input_bytes: Some(self.max_input_bytes),
            environment: None,
        }
    }
}

impl ConnectionArgs {
    pub(crate) fn options(&self) -> ConnectionOptions {
        ConnectionOptions {
            admin_url: self.admin_url.clone(),
            token_url: self.token_url.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            client_secret_file: self.client_secret_file.clone(),
            access_token: self.access_token.clone(),
            token_auth: match self.token_auth {
                TokenAuthArg::Basic => crate::fetch::TokenAuth::Basic,
                TokenAuthArg::Post => crate::fetch::TokenAuth::Post,
            },
            ca_cert: self.ca_cert.clone(),
            allow_insecure_http: self.allow_insecure_http,
            timeout: self.timeout,
            max_retries: self.max_retries,
            max_response_bytes: self.max_response_bytes,
            admin_client_id: self.admin_client_id.clone(),
            boruta_version: self.boruta_version,
            issuer: self.issuer.clone(),
        }
    }
}

/// Which environment (server, credentials, variables) a command runs for.
#[derive(Debug, Clone, clap::Args)]
pub struct EnvArgs {
    /// The environment: `--env-dir`/NAME.yaml names its server, credentials, boruta
    /// version, `${var:..}` values and manifests. Flags and BORUTA_* variables override it.
    #[arg(long = "env", value_name = "NAME", env = "BORUTA_GITOPS_ENV")]
    pub env: Option<String>,
    /// Where the environment files are.
    #[arg(long, value_name = "DIR", default_value = crate::env::DEFAULT_DIR)]
    pub env_dir: PathBuf,
}

impl EnvArgs {
    /// The environment chosen, read and checked.
    pub(crate) fn load(
        &self,
        env: &dyn crate::load::Environment,
        purpose: crate::env::Use,
    ) -> Result<Option<std::sync::Arc<crate::env::EnvFile>>, Error> {
        let Some(name) = &self.env else {
            return Ok(None);
        };
        let file = crate::env::load(&self.env_dir, name, env, purpose)?;
        Ok(Some(std::sync::Arc::new(file)))
    }
}

/// Targeting: only some manifests.
#[derive(Debug, Clone, clap::Args)]
pub struct SelectArgs {
    /// Only this manifest: its name (`*` matches any characters) or its id (repeatable).
    /// The others are neither created, updated nor reported; unmanaged clients are not
    /// reported either.
    #[arg(long = "select", value_name = "NAME_OR_ID")]
    pub select: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApplyFormat {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Manifests to demonstrate with (the bundled examples when the directory is absent).
    #[arg(long, default_value = "manifests")]
    pub dir: PathBuf,
}

/// Where the manifests are, and where `${file:..}` may read.
#[derive(Debug, Clone, clap::Args)]
pub struct ManifestArgs {
    /// Directory of manifests (searched recursively) or a single file [default: manifests]
    pub dir: Option<PathBuf>,
    /// Another directory `${file:..}` values may be read from (repeatable), e.g. secrets
    /// mounted by Kubernetes or a CI secret store; values read from it are sensitive.
    /// Without it, only files inside DIR are read.
    #[arg(long = "file-root", env = "BORUTA_FILE_ROOTS", value_delimiter = ':')]
    pub file_roots: Vec<PathBuf>,
    /// The policy file setting the security rules' severities and parameters [default:
    /// .boruta-policy.yaml in DIR, when present]
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Files below DIR that are not manifests (Kubernetes or kustomize files, say): a
    /// pattern on the path relative to DIR, where `*` matches any characters, `/` included
    /// (repeatable; `--exclude 'k8s/*'`).
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// The most bytes read from the manifest files and the `${file:..}` values they
    /// substitute, together; past it, files and values are not read (`input-too-large`).
    #[arg(long, value_name = "BYTES", default_value_t = crate::load::MAX_TOTAL_INPUT_BYTES)]
    pub max_input_bytes: u64,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// Base URL of boruta's admin API (the listener serving /api)
    #[arg(long, env = "BORUTA_ADMIN_URL")]
    pub admin_url: Option<String>,
    /// boruta's OAuth token endpoint (served by the OAuth listener, not the admin one).
    #[arg(long, env = "BORUTA_TOKEN_URL")]
    pub token_url: Option<String>,
    /// Client id for the client_credentials grant.
    #[arg(long, env = "BORUTA_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Client secret. Prefer the environment variable or --client-secret-file: a flag's
    /// value is visible to every user of the machine (`ps`).
    #[arg(
        long = "client-secret",
        env = "BORUTA_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,
    /// Read the client secret from this file (one trailing newline is ignored).
    #[arg(long)]
    pub client_secret_file: Option<PathBuf>,
    /// A pre-issued access token instead of client credentials (cannot be renewed; prefer
    /// the environment variable).
    #[arg(
        long = "access-token",
        env = "BORUTA_ACCESS_TOKEN",
        hide_env_values = true
    )]
    pub access_token: Option<String>,
    /// How to authenticate at the token endpoint.
    #[arg(long, value_enum, default_value_t = TokenAuthArg::Basic)]
    pub token_auth: TokenAuthArg,
    /// PEM file of a private CA to trust (TLS verification stays on).
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
    /// Allow credentials over plain http to a host that is not loopback.
    #[arg(long)]
    pub allow_insecure_http: bool,
    /// Timeout of each HTTP request, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Retries of a request after a 429, 502, 503, 504, connection error or timeout.
    #[arg(long, default_value_t = 4)]
    pub max_retries: u32,
    /// The largest answer read from the server, in bytes (the list of 100,000 clients is
    /// about 180 MB).
    #[arg(long, default_value_t = crate::fetch::DEFAULT_MAX_RESPONSE_BYTES)]
    pub max_response_bytes: u64,
    /// Id of boruta's protected admin-UI client (a system client).
    #[arg(long, env = "BORUTA_ADMIN_OAUTH_CLIENT_ID", default_value = crate::api::ADMIN_UI_CLIENT_ID)]
    pub admin_client_id: String,
    /// The boruta version of the server: 0.9, 0.10 (or a release, e.g. 0.10.5) or master.
    /// Default: found out from the clients the server renders (master renders
    /// `trusted_hosts`, releases do not).
    #[arg(long, env = "BORUTA_VERSION", value_parser = parse_named)]
    pub boruta_version: Option<crate::kinds::client::fields::Named>,
    /// boruta's OAuth issuer (BORUTA_OAUTH_BASE_URL on the server), which tells its public
    /// client. Default: --token-url without `/oauth/token`.
    #[arg(long, env = "BORUTA_ISSUER")]
    pub issuer: Option<String>,
}

fn parse_version(text: &str) -> Result<Version, String> {
    text.parse()
}

fn parse_named(text: &str) -> Result<crate::kinds::client::fields::Named, String> {
    text.parse()
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TokenAuthArg {
    /// client_secret_basic
    Basic,
    /// client_secret_post
    Post,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PlanFormat {
    /// Terraform-like text.
    Human,
    /// The versioned JSON plan document.
    Json,
    /// Markdown for a pull-request comment.
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// Exit 0 when apply (with the same flags) would change nothing, 2 when it would, 1 on
    /// error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan (JSON, no secrets) for `apply --plan`.
    #[arg(long, conflicts_with = "all_envs")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub converge: ConvergeArgs,
    #[command(flatten)]
    pub environment: EnvArgs,
    /// Plan every environment of --env-dir, each against its own server with its own
    /// credentials: one document (one pull-request comment), the worst exit code.
    #[arg(long, conflicts_with = "env")]
    pub all_envs: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, clap::Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// Do not count unmanaged clients as drift.
    #[arg(long)]
    pub ignore_unmanaged: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub environment: EnvArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Loopback address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: std::net::SocketAddr,
    /// Fixed id of the bootstrap client that can obtain the management scopes.
    #[arg(long, env = "BORUTA_SANDBOX_CLIENT_ID")]
    pub bootstrap_client_id: Option<uuid::Uuid>,
    /// Fixed secret of the bootstrap client.
    #[arg(long, env = "BORUTA_SANDBOX_CLIENT_SECRET", hide_env_values = true)]
    pub bootstrap_client_secret: Option<String>,
    /// Lifetime in seconds of the bootstrap client's access tokens.
    #[arg(long, default_value_t = 86_400, value_parser = clap::value_parser!(i64).range(1..=86_400))]
    pub token_ttl: i64,
    /// Delay added before every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Fault rule `METHOD PATH [nth=N] [times=K] ACTION...` (repeatable; see the README).
    #[arg(long = "fault", value_parser = parse_fault)]
    pub faults: Vec<crate::sandbox::Fault>,
    /// Load the state from this JSON file and save it there (created if absent).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Id of the protected admin-UI client.
    #[arg(long, env = "BORUTA_ADMIN_OAUTH_CLIENT_ID", default_value = crate::api::ADMIN_UI_CLIENT_ID)]
    pub admin_client_id: uuid::Uuid,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The boruta version to imitate: 0.9, 0.10 or master.
    #[arg(long, env = "BORUTA_VERSION", value_parser = parse_version, default_value = "0.10")]
    pub boruta_version: Version,
}

fn parse_fault(text: &str) -> Result<crate::sandbox::Fault, String> {
    text.parse()
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Make an unset `${env:..}` variable an error (by default it is a warning: validate
    /// runs offline, where the secrets plan and apply need are usually absent).
    #[arg(long)]
    pub require_env: bool,
    /// The boruta version to validate for: 0.9, 0.10 or master (offline, the latest
    /// release, 0.10, is assumed).
    #[arg(long, env = "BORUTA_VERSION", value_parser = parse_version)]
    pub boruta_version: Option<Version>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FindingsFormat::Human)]
    pub format: FindingsFormat,
    #[command(flatten)]
    pub environment: EnvArgs,
    /// Render every manifest for every environment of --env-dir (offline: no server, no
    /// credentials); each finding names its environment.
    #[arg(long, conflicts_with = "env")]
    pub all_envs: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FindingsFormat {
    /// Source line with a caret under the value.
    Human,
    /// A stable JSON document (see the README).
    Json,
    /// GitHub workflow commands: annotations on the pull request's diff.
    Github,
    /// SARIF 2.1.0, for GitHub code scanning (upload-sarif).
    Sarif,
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Which schema.
    #[arg(long, value_enum, default_value_t = SchemaChoice::Client)]
    pub kind: SchemaChoice,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindChoice {
    Client,
    Scope,
    All,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaChoice {
    /// One client per YAML document.
    Client,
    /// One scope per YAML document (`kind: Scope`).
    Scope,
    /// boruta's configuration-file form.
    Configuration,
}

/// The style of each stream, for `render`.
pub(crate) fn console() -> Console {
    Console {
        stdout: style_for(std::io::stdout().is_terminal()),
        stderr: style_for(std::io::stderr().is_terminal()),
    }
}

impl From<PlanFormat> for crate::render::console::PlanFormat {
    fn from(format: PlanFormat) -> Self {
        match format {
            PlanFormat::Human => Self::Human,
            PlanFormat::Json => Self::Json,
            PlanFormat::Markdown => Self::Markdown,
        }
    }
}

impl From<FindingsFormat> for crate::render::console::FindingsFormat {
    fn from(format: FindingsFormat) -> Self {
        match format {
            FindingsFormat::Human => Self::Human,
            FindingsFormat::Json => Self::Json,
            FindingsFormat::Github => Self::Github,
            FindingsFormat::Sarif => Self::Sarif,
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<Exit, Error> {
    match cli.command {
        Command::Validate(args) => run::validate(&args, &ProcessEnv),
        Command::Sandbox(args) => run_sandbox(args),
        Command::Plan(args) => run::plan(&args, &ProcessEnv),
        Command::Drift(args) => run::drift(&args, &ProcessEnv),
        Command::Apply(args) => run::apply(&args, &ProcessEnv),
        Command::Rotate(args) => run::rotate(&args, &ProcessEnv),
        Command::Demo(args) => demo::run(&args),
        Command::Export(args) => run::export(&args, &ProcessEnv),
        Command::Serve(args) => run::serve(&args),
        Command::Github(command) => github::run(&command),
        Command::Completions(args) => {
            let shell = match args.shell {
                Shell::Bash => clap_complete::Shell::Bash,
                Shell::Zsh => clap_complete::Shell::Zsh,
                Shell::Fish => clap_complete::Shell::Fish,
                Shell::Powershell => clap_complete::Shell::PowerShell,
            };
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "boruta-gitops", &mut std::io::stdout());
            Ok(Exit::Success)
        }
        Command::Schema(args) => {
            let kind = match args.kind {
                SchemaChoice::Client => SchemaKind::Client,
                SchemaChoice::Scope => SchemaKind::Scope,
                SchemaChoice::Configuration => SchemaKind::Configuration,
            };
            crate::render::console::document(&schema::generate_text(kind))?;
            Ok(Exit::Success)
        }
    }
}

fn run_sandbox(args: SandboxArgs) -> Result<Exit, Error> {
    use crate::sandbox::{Config, Sandbox};
    let config = Config {
        listen: args.listen,
        bootstrap_client_id: args.bootstrap_client_id.map(|id| id.to_string()),
        bootstrap_client_secret: args.bootstrap_client_secret,
        token_ttl: args.token_ttl,
        latency: std::time::Duration::from_millis(args.latency_ms),
        faults: args.faults,
        state_file: args.state,
        admin_client_id: args.admin_client_id.to_string(),
        version: args.boruta_version,
        tls: args
            .tls_cert
            .zip(args.tls_key)
            .map(
                |(certificate_chain, private_key)| crate::sandbox::TlsFiles {
                    certificate_chain,
                    private_key,
                },
            ),
    };
    let sandbox = Sandbox::start(config)?;
    let base_url = sandbox.base_url();
    crate::render::sandbox::started(base_url, &sandbox.token_url(), sandbox.bootstrap())?;
    sandbox.wait_for_signal();
    drop(sandbox);
    Ok(Exit::Success)
}
