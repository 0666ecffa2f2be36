//! One library function per command, and the one place that knows the order of the
//! stages (load -> validate -> fetch -> diff -> plan -> apply). Each returns data; the
//! command line (`cli`) turns flags into the options here and hands the result to
//! `render`, and `serve` calls the same functions. These functions touch the world (files,
//! the network, signals); the stages they call are pure.

pub mod apply;
mod connect;
pub mod deliver;
pub mod export;
pub mod github;
pub mod plan;
mod prepare;
pub mod rotate;
pub mod validate;

pub use connect::ConnectionOptions;
pub use prepare::{Manifests, Prepared};

use crate::error::Error;

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
