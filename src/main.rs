//! The binary: parses the command line, logs to stderr, runs the command, maps the result
//! to the exit-code table of `error.rs`, and prints a fatal error once.
//!
//! Without `RUST_LOG`, only warnings are shown, each as one readable line (`warning:
//! ...`); with it, tracing's full format (time, level, module) at the level asked for.

use boruta_gitops::cli::{self, Cli};
use boruta_gitops::error::{Chain, Exit};
use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;

/// `warning: <message>`, one line, for the warnings a user should see (retries).
struct OneLine;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for OneLine
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = match *event.metadata().level() {
            tracing::Level::ERROR => "error",
            tracing::Level::WARN => "warning",
            _ => "note",
        };
        write!(writer, "{level}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// `serve`'s logs: one line per cycle at info level (the default without `RUST_LOG`), as
/// text or as JSON objects.
fn init_serve_logging(format: cli::LogFormat, ansi: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        cli::LogFormat::Text => builder.with_ansi(ansi).init(),
        cli::LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

fn init_logging(serve: Option<cli::LogFormat>) {
    let ansi = cli::style_for(std::io::stderr().is_terminal()).color;
    if let Some(format) = serve {
        return init_serve_logging(format, ansi);
    }
    match tracing_subscriber::EnvFilter::try_from_default_env() {
        Ok(filter) => tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
            .with_env_filter(filter)
            .init(),
        Err(_) => tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
            .event_format(OneLine)
            .init(),
    }
}

fn main() -> ExitCode {
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
    cli::set_color(cli.color);
    init_logging(match &cli.command {
        cli::Command::Serve(args) => Some(args.log_format),
        _ => None,
    });
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
