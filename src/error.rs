//! The one error type `main` sees: each stage's failure, printed once with its cause chain,
//! and the exit-code table.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success; no changes / in sync |
//! | 1 | error (invalid manifests, server or network failure, refused apply, partial apply) |
//! | 2 | changes present (`plan --detailed-exitcode`) or drift found (`drift`) |

use crate::escape::neutral;
use std::fmt;

/// Exit codes, named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    Failure = 1,
    Changes = 2,
}

impl Exit {
    /// The worse of two exit codes (several environments' plans are one run): an error
    /// over changes over success.
    pub fn worst(self, other: Exit) -> Exit {
        match (self, other) {
            (Exit::Failure, _) | (_, Exit::Failure) => Exit::Failure,
            (Exit::Changes, _) | (_, Exit::Changes) => Exit::Changes,
            _ => Exit::Success,
        }
    }
}

/// A fatal error: the command could not do its job. Findings about manifests are not
/// errors of this kind; they are reported as diagnostics and end in `Exit::Failure`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line or the configuration is wrong (the text says what to do).
    #[error("{0}")]
    Usage(String),
    /// A file the command was given cannot be read.
    #[error("cannot read {what} {}", path.display())]
    File {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: crate::bounded::ReadError,
    },
    /// A file the command writes cannot be written.
    #[error("cannot write {what} {}", path.display())]
    Write {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file was given that is not what the command expects (a saved plan that is not
    /// one).
    #[error("{what} {} is not {expected}", path.display())]
    Format {
        what: &'static str,
        path: std::path::PathBuf,
        expected: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    #[error(transparent)]
    Fetch(#[from] crate::fetch::FetchError),
    #[error(transparent)]
    Sandbox(#[from] crate::sandbox::SandboxError),
    #[error(transparent)]
    Diff(#[from] crate::diff::DiffError),
    /// An environment file is missing or wrong (the text points at its values).
    #[error(transparent)]
    Environment(#[from] crate::env::EnvError),
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    pub fn exit(&self) -> Exit {
        Exit::Failure
    }
}

/// Prints an error and its causes, one per line, each neutralised (they quote server
/// texts and manifest values); the causes of an error that words them itself are not
/// repeated.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |e: &dyn std::error::Error| neutral(&e.to_string()).into_owned();
        write!(f, "{}", shown(self.0))?;
        let mut current = self.0;
        while let Some(cause) = current.source().filter(|_| !states_its_cause(current)) {
            write!(f, "\n  caused by: {}", shown(cause))?;
            current = cause;
        }
        Ok(())
    }
}

/// Whether `error`'s own message already says what its causes say: a
/// [`FetchError`](crate::fetch::FetchError) words its cause itself (the transport, I/O or JSON error,
/// without secrets), so the causes it keeps are not printed again.
fn states_its_cause(error: &(dyn std::error::Error + 'static)) -> bool {
    use crate::fetch::FetchError;
    match error.downcast_ref::<Error>() {
        Some(Error::Fetch(_)) => true,
        Some(Error::Other(inner)) => inner.is::<FetchError>(),
        _ => error.is::<FetchError>(),
    }
}
