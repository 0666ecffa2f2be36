//! The command line: clap types, and the one place that knows the order of the stages
//! (load -> validate -> fetch -> diff -> plan -> apply -> render). Owns the tokio runtime.

use crate::error::{Error, Exit};
use crate::load::{self, ProcessEnv};
use crate::render::{self, diagnostics::Counts, Format, Style};
use crate::schema::{self, SchemaKind};
use crate::source::{has_errors, sort_diagnostics};
use crate::validate;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "boruta-gitops",
    version,
    about = "Manage the OAuth clients of a boruta server from YAML manifests in git."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests offline: JSON Schema, boruta's own rules, unique names and ids.
    Validate(ValidateArgs),
    /// Print the JSON Schema of the manifest format.
    Schema(SchemaArgs),
    /// Run a loopback imitation of boruta (token endpoint + admin API) for CI and demos.
    Sandbox(SandboxArgs),
    /// Compare the manifests with the server and show what `apply` would create.
    Plan(PlanArgs),
    /// For scheduled jobs: exit 2 when the server no longer matches git.
    Drift(DriftArgs),
}

#[derive(Debug, clap::Args)]
pub struct ConnectionArgs {
    /// Base URL of boruta's admin API (the listener serving /api).
    #[arg(long, env = "BORUTA_ADMIN_URL")]
    pub admin_url: String,
    /// boruta's OAuth token endpoint (served by the OAuth listener, not the admin one).
    #[arg(long, env = "BORUTA_TOKEN_URL")]
    pub token_url: Option<String>,
    /// Client id for the client_credentials grant.
    #[arg(long, env = "BORUTA_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Client secret (prefer the environment variable or --client-secret-file).
    #[arg(long = "client-secret", env = "BORUTA_CLIENT_SECRET", hide_env_values = true, hide = true)]
    pub client_secret: Option<String>,
    /// Read the client secret from this file (one trailing newline is ignored).
    #[arg(long)]
    pub client_secret_file: Option<PathBuf>,
    /// A pre-issued access token instead of client credentials.
    #[arg(long = "access-token", env = "BORUTA_ACCESS_TOKEN", hide_env_values = true, hide = true)]
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
    /// Id of boruta's protected admin-UI client (a system client).
    #[arg(long, env = "BORUTA_ADMIN_OAUTH_CLIENT_ID", default_value = crate::api::ADMIN_UI_CLIENT_ID)]
    pub admin_client_id: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TokenAuthArg {
    /// client_secret_basic
    Basic,
    /// client_secret_post
    Post,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
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
    /// Directory of manifests (searched recursively) or a single file.
    #[arg(default_value = "manifests")]
    pub dir: PathBuf,
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// Exit 0 when there is nothing to create, 2 when apply would create clients, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan (JSON, no secrets) for `apply --plan`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, clap::Args)]
pub struct DriftArgs {
    /// Directory of manifests (searched recursively) or a single file.
    #[arg(default_value = "manifests")]
    pub dir: PathBuf,
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// Do not count unmanaged clients as drift.
    #[arg(long)]
    pub ignore_unmanaged: bool,
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
}

fn parse_fault(text: &str) -> Result<crate::sandbox::Fault, String> {
    text.parse()
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Directory of manifests (searched recursively) or a single file.
    #[arg(default_value = "manifests")]
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FindingsFormat::Human)]
    pub format: FindingsFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FindingsFormat {
    /// Source line with a caret under the value.
    Human,
    /// A stable JSON document (see the README).
    Json,
    /// GitHub workflow commands: annotations on the pull request's diff.
    Github,
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Which schema.
    #[arg(long, value_enum, default_value_t = SchemaChoice::Client)]
    pub kind: SchemaChoice,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaChoice {
    /// One client per YAML document.
    Client,
    /// boruta's configuration-file form.
    Configuration,
}

/// Human output is coloured only on a terminal and never when NO_COLOR is set.
fn style_for_stdout() -> Style {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Style {
        color: !no_color && std::io::stdout().is_terminal(),
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<Exit, Error> {
    match cli.command {
        Command::Validate(args) => run_validate(&args),
        Command::Sandbox(args) => run_sandbox(args),
        Command::Plan(args) => run_plan(&args),
        Command::Drift(args) => run_drift(&args),
        Command::Schema(args) => {
            let kind = match args.kind {
                SchemaChoice::Client => SchemaKind::Client,
                SchemaChoice::Configuration => SchemaKind::Configuration,
            };
            std::io::stdout()
                .lock()
                .write_all(schema::generate_text(kind).as_bytes())?;
            Ok(Exit::Success)
        }
    }
}

fn run_validate(args: &ValidateArgs) -> Result<Exit, Error> {
    let loaded = load::load(&args.dir, &ProcessEnv);
    let validated = validate::validate(loaded.documents);
    let mut diagnostics = loaded.diagnostics;
    diagnostics.extend(validated.diagnostics);
    sort_diagnostics(&mut diagnostics);
    let counts = Counts::of(&diagnostics, validated.clients.len(), loaded.sources.len());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let format = match args.format {
        FindingsFormat::Human => Format::Human,
        FindingsFormat::Json => Format::Json,
        FindingsFormat::Github => Format::Github,
    };
    match format {
        Format::Json => render::diagnostics::json(&mut out, &diagnostics, counts)?,
        Format::Github => render::diagnostics::github(&mut out, &diagnostics)?,
        _ => render::diagnostics::human(
            &mut out,
            &diagnostics,
            &loaded.sources,
            &validated.redacted_lines,
            counts,
            style_for_stdout(),
        )?,
    }
    out.flush()?;
    Ok(if has_errors(&diagnostics) {
        Exit::Failure
    } else {
        Exit::Success
    })
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
    };
    let sandbox = Sandbox::start(config).map_err(|e| Error::Other(Box::new(e)))?;
    let mut out = std::io::stdout().lock();
    // The first line is the base URL alone, flushed at once, so scripts can read it.
    writeln!(out, "{}", sandbox.base_url())?;
    out.flush()?;
    let bootstrap = sandbox.bootstrap();
    writeln!(out, "BORUTA_ADMIN_URL={}", sandbox.base_url())?;
    writeln!(out, "BORUTA_TOKEN_URL={}", sandbox.token_url())?;
    writeln!(out, "BORUTA_CLIENT_ID={}", bootstrap.client_id)?;
    // The sandbox's own throwaway credential: printing it is what makes it usable.
    writeln!(out, "BORUTA_CLIENT_SECRET={}", bootstrap.client_secret)?;
    out.flush()?;
    drop(out);
    eprintln!("sandbox listening; Ctrl-C to stop");
    sandbox.wait_for_signal();
    drop(sandbox);
    Ok(Exit::Success)
}

/// Manifests loaded and validated, with every finding so far.
struct Prepared {
    sources: crate::source::SourceMap,
    validated: validate::Validated,
    diagnostics: Vec<crate::source::Diagnostic>,
}

fn prepare(dir: &std::path::Path) -> Prepared {
    let loaded = load::load(dir, &ProcessEnv);
    let validated = validate::validate(loaded.documents);
    let mut diagnostics = loaded.diagnostics;
    diagnostics.extend(validated.diagnostics.iter().cloned());
    Prepared {
        sources: loaded.sources,
        validated,
        diagnostics,
    }
}

/// Findings on stderr, as text with carets (notes are `validate`'s business).
fn report_findings(prepared: &Prepared, extra: &[crate::source::Diagnostic]) -> Result<(), Error> {
    let mut findings: Vec<_> = prepared
        .diagnostics
        .iter()
        .chain(extra)
        .filter(|d| d.severity != crate::source::Severity::Note)
        .cloned()
        .collect();
    if findings.is_empty() {
        return Ok(());
    }
    sort_diagnostics(&mut findings);
    let counts = Counts::of(&findings, prepared.validated.clients.len(), prepared.sources.len());
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let style = Style {
        color: !no_color && std::io::stderr().is_terminal(),
    };
    let mut err = std::io::stderr().lock();
    render::diagnostics::human(&mut err, &findings, &prepared.sources, &prepared.validated.redacted_lines, counts, style)?;
    Ok(())
}

/// The tokio runtime of the network commands.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(Box::new(e)))
}

fn read_secret_file(path: &std::path::Path) -> Result<String, Error> {
    let mut text = std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("cannot read --client-secret-file {}: {e}", path.display())))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

/// Connection settings from flags and environment. Scopes are decided by the caller.
fn connect(args: &ConnectionArgs, scopes: Vec<String>) -> Result<crate::fetch::Connection, Error> {
    use crate::fetch::{Connection, Credentials, Settings, TokenAuth};
    use secrecy::SecretString;
    let secret = match (&args.client_secret_file, &args.client_secret) {
        (Some(path), _) => Some(read_secret_file(path)?),
        (None, Some(secret)) => Some(secret.clone()),
        (None, None) => None,
    };
    let credentials = match (&args.client_id, secret, &args.access_token) {
        (Some(id), Some(secret), _) => Credentials::ClientCredentials {
            client_id: id.clone(),
            secret: SecretString::from(secret),
            auth: match args.token_auth {
                TokenAuthArg::Basic => TokenAuth::Basic,
                TokenAuthArg::Post => TokenAuth::Post,
            },
        },
        (_, _, Some(token)) => Credentials::AccessToken(SecretString::from(token.clone())),
        (Some(_), None, None) => {
            return Err(Error::Usage(
                "BORUTA_CLIENT_ID is set but no secret: set BORUTA_CLIENT_SECRET or --client-secret-file".into(),
            ))
        }
        (None, _, None) => {
            return Err(Error::Usage(
                "no credentials: set BORUTA_CLIENT_ID and BORUTA_CLIENT_SECRET (or --client-secret-file), or BORUTA_ACCESS_TOKEN".into(),
            ))
        }
    };
    let settings = Settings {
        admin_url: args.admin_url.clone(),
        token_url: args.token_url.clone(),
        credentials,
        ca_cert: args.ca_cert.clone(),
        allow_insecure_http: args.allow_insecure_http,
        timeout: std::time::Duration::from_secs(args.timeout.max(1)),
        max_retries: args.max_retries,
    };
    Ok(Connection::new(settings, scopes)?)
}

/// The least scopes the manifests need.
fn scopes_for(desired: &[validate::Desired]) -> Vec<String> {
    let mut scopes = vec![crate::api::SCOPE_CLIENTS.to_string()];
    if crate::diff::needs_identity_providers(desired) {
        scopes.push(crate::api::SCOPE_IDENTITY_PROVIDERS.to_string());
    }
    scopes
}

/// Reads the server (one list of clients, plus scopes / identity providers when needed).
async fn observe(connection: &crate::fetch::Connection, desired: &[validate::Desired]) -> Result<crate::diff::Observed, Error> {
    let clients = connection.list_clients().await?;
    let scopes = if crate::diff::needs_scopes(desired) {
        Some(connection.list_scopes().await?)
    } else {
        None
    };
    let identity_providers = if crate::diff::needs_identity_providers(desired) {
        Some(connection.list_identity_providers().await?)
    } else {
        None
    };
    Ok(crate::diff::Observed {
        clients,
        scopes,
        identity_providers,
    })
}

/// Everything `plan`, `drift` and `apply` compute before deciding anything.
struct Computed {
    prepared: Prepared,
    diff: crate::diff::Diff,
    plan: crate::plan::Plan,
    connection: crate::fetch::Connection,
}

/// Load, validate, read the server, diff and plan. `Ok(None)` when the manifests are invalid
/// (their findings are already printed).
async fn compute(dir: &std::path::Path, args: &ConnectionArgs) -> Result<Option<Computed>, Error> {
    let prepared = prepare(dir);
    if has_errors(&prepared.diagnostics) {
        report_findings(&prepared, &[])?;
        return Ok(None);
    }
    let connection = connect(args, scopes_for(&prepared.validated.clients))?;
    let observed = observe(&connection, &prepared.validated.clients).await?;
    let system = crate::diff::SystemIds {
        admin_client_id: args.admin_client_id.clone(),
        self_client_id: args.client_id.clone(),
    };
    let diff = crate::diff::diff(&prepared.validated.clients, &observed, &system);
    let plan = crate::plan::build(&diff, connection.admin_url(), connection.scopes(), &prepared.sources);
    report_findings(&prepared, &diff.diagnostics)?;
    Ok(Some(Computed {
        prepared,
        diff,
        plan,
        connection,
    }))
}

fn print_plan(plan: &crate::plan::Plan, format: PlanFormat, report: render::plan::Report) -> Result<(), Error> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        PlanFormat::Human => render::plan::human(&mut out, plan, report, style_for_stdout())?,
        PlanFormat::Json => render::plan::json(&mut out, plan)?,
        PlanFormat::Markdown => render::plan::markdown(&mut out, plan, report)?,
    }
    out.flush()?;
    Ok(())
}

fn run_plan(args: &PlanArgs) -> Result<Exit, Error> {
    let Some(computed) = runtime()?.block_on(compute(&args.dir, &args.connection))? else {
        return Ok(Exit::Failure);
    };
    print_plan(&computed.plan, args.format, render::plan::Report::Plan)?;
    if let Some(path) = &args.out {
        let text = serde_json::to_string_pretty(&computed.plan).map_err(|e| Error::Other(Box::new(e)))?;
        std::fs::write(path, text + "\n").map_err(|e| Error::Usage(format!("cannot write the plan to {}: {e}", path.display())))?;
        eprintln!("plan saved to {}", path.display());
    }
    if has_errors(&computed.diff.diagnostics) {
        return Ok(Exit::Failure);
    }
    Ok(if args.detailed_exitcode && computed.plan.summary.has_creates() { Exit::Changes } else { Exit::Success })
}

fn run_drift(args: &DriftArgs) -> Result<Exit, Error> {
    let Some(computed) = runtime()?.block_on(compute(&args.dir, &args.connection))? else {
        return Ok(Exit::Failure);
    };
    let mut plan = computed.plan;
    if args.ignore_unmanaged {
        plan.unmanaged.retain(|u| u.system.is_some());
        plan.summary.unmanaged = 0;
    }
    print_plan(&plan, args.format, render::plan::Report::Drift)?;
    if has_errors(&computed.diff.diagnostics) {
        return Ok(Exit::Failure);
    }
    let s = plan.summary;
    let drifted = s.drift + s.create + s.conflict + s.unmanaged > 0;
    Ok(if drifted { Exit::Changes } else { Exit::Success })
}
