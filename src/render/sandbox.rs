//! What `sandbox` says once it listens: its base URL alone on the first line (flushed at
//! once, for scripts), then the variables that point this tool at it.

use crate::sandbox::state::Bootstrap;
use std::io::{self, Write};

/// The sandbox's addresses and its bootstrap client, on stdout; that it listens, on
/// stderr.
pub fn started(base_url: &str, token_url: &str, bootstrap: &Bootstrap) -> io::Result<()> {
    let mut out = io::stdout().lock();
    // The first line is the base URL alone, flushed at once, so scripts can read it.
    writeln!(out, "{base_url}")?;
    out.flush()?;
    writeln!(out, "BORUTA_ADMIN_URL={base_url}")?;
    writeln!(out, "BORUTA_TOKEN_URL={token_url}")?;
    writeln!(out, "BORUTA_CLIENT_ID={}", bootstrap.client_id)?;
    // The sandbox's own throwaway credential: printing it is what makes it usable.
    writeln!(out, "BORUTA_CLIENT_SECRET={}", bootstrap.client_secret)?;
    out.flush()?;
    drop(out);
    eprintln!("sandbox listening; Ctrl-C to stop");
    Ok(())
}
