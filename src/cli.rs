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
