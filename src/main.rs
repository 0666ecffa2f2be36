//! The binary: logs to stderr (filtered by `RUST_LOG`), runs the command, maps the result
//! to the exit-code table of `error.rs`, and prints a fatal error once.

use boruta_gitops::cli::{self, Cli};
use boruta_gitops::error::{Chain, Exit};
use boruta_gitops::render::Style;
use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(Style::for_stream(std::io::stderr().is_terminal()).color)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    // clap exits 2 on usage errors, which here means "changes present": a typo in a
    // scheduled `drift` job must not read as drift. Usage errors exit 1.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() {
                Exit::Failure as u8
            } else {
                Exit::Success as u8
            });
        }
    };
    let exit = match cli::run(cli) {
        Ok(exit) => exit,
        Err(boruta_gitops::error::Error::Output(e))
            if e.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Exit::Failure
        }
        Err(error) => {
            eprintln!("error: {}", Chain(&error));
            error.exit()
        }
    };
    ExitCode::from(exit as u8)
}
