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
