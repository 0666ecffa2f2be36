//! One library function per command, and the one place that knows the order of the
//! stages (load -> validate -> fetch -> diff -> plan -> apply). Each returns data; the
//! command line (`cli`) turns flags into the options here and hands the result to
//! `render`, and `serve` calls the same functions. These functions touch the world (files,
//! the network, signals); the stages they call are pure.

pub mod apply;
mod connect;
pub mod deliver;
pub mod demo;
pub mod environment;
pub mod export;
pub mod github;
pub mod plan;
mod prepare;
pub mod rotate;
pub mod validate;

pub use connect::ConnectionOptions;
pub use prepare::{Manifests, Prepared};

use crate::error::Error;

/// What a command that writes (`apply`, `rotate`) does once it has shown what it would
/// do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next<R> {
    /// Nothing, and the command fails: [`Stop`] says why.
    Stop(Stop<R>),
    /// Nothing, because there is nothing to do: the command succeeds.
    NothingToDo,
    /// Ask the person at the terminal first; anything but `yes` is [`Stop::Cancelled`].
    Confirm,
    /// Go ahead.
    Run,
}

/// Why a command that writes wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop<R> {
    /// What the command found refuses it (`R` says what).
    Refused(R),
    /// Not approved (`--auto-approve`), and no terminal to ask on.
    NeedsApproval,
    /// Asked, and not answered `yes`.
    Cancelled,
}

/// The one order of a write's checks: a refusal first, then an empty run, then the
/// approval (given by `approved`, or asked for on a terminal).
pub fn next<R: Clone>(
    refusal: Option<&R>,
    nothing_to_do: bool,
    approved: bool,
    stdin_is_terminal: bool,
) -> Next<R> {
    match refusal {
        Some(refusal) => Next::Stop(Stop::Refused(refusal.clone())),
        None if nothing_to_do => Next::NothingToDo,
        None if approved => Next::Run,
        None if stdin_is_terminal => Next::Confirm,
        None => Next::Stop(Stop::NeedsApproval),
    }
}

/// The manifest directory when none is given.
pub const DEFAULT_DIR: &str = "manifests";

/// The tokio runtime of the network commands.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(Box::new(e)))
}

/// A new file only its owner can read (mode 0600), for secrets; never overwrites one.
pub fn create_private_file(path: &std::path::Path, flag: &str) -> Result<std::fs::File, Error> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| {
        let reason = if e.kind() == std::io::ErrorKind::AlreadyExists {
            "it already exists; refusing to overwrite".to_string()
        } else {
            e.to_string()
        };
        Error::Usage(format!("cannot create {flag} {}: {reason}", path.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::{next, Next, Stop};

    #[test]
    fn a_write_is_refused_first_then_empty_then_approved_or_asked() {
        let stale = "the saved plan is stale";
        let none: Option<&&str> = None;
        assert_eq!(
            next(Some(&stale), true, true, true),
            Next::Stop(Stop::Refused(stale))
        );
        assert_eq!(next(none, true, false, false), Next::NothingToDo);
        assert_eq!(next(none, false, true, false), Next::Run);
        assert_eq!(next(none, false, false, true), Next::Confirm);
        assert_eq!(
            next(none, false, false, false),
            Next::Stop(Stop::NeedsApproval)
        );
    }
}
