//! What `export` says: the files it wrote, its notes, what it skipped, and where the
//! manifests' secrets come from.

use crate::commands::export::Exported;
use crate::escape::neutral;
use std::io::{self, Write};

/// What `export` did: a boruta version that differs from the one asked for, as a warning
/// on stderr; the summary on stdout.
pub fn report(exported: &Exported) -> io::Result<()> {
    if let Some(mismatch) = &exported.version_mismatch {
        eprintln!("warning[boruta-version-mismatch]: {}", neutral(mismatch));
    }
    summary(&mut io::stdout().lock(), exported)
}

/// The files written, the notes, what was skipped and where the secrets come from.
pub fn summary(out: &mut dyn Write, exported: &Exported) -> io::Result<()> {
    for path in &exported.files {
        writeln!(out, "wrote {}", neutral(&path.display().to_string()))?;
    }
    for note in &exported.notes {
        writeln!(out, "note: {}", neutral(note))?;
    }
    if exported.skipped_system > 0 {
        writeln!(out, "skipped {} system client(s) (admin UI, public client, this tool's own); --include-system exports them", exported.skipped_system)?;
    }
    if !exported.variables.is_empty() {
        let source = match &exported.secrets_file {
            Some(path) => format!(
                "their values are in {}",
                neutral(&path.display().to_string())
            ),
            None => "--with-secrets-to FILE writes their values for a migration".to_string(),
        };
        writeln!(
            out,
            "the manifests read their secrets from {} environment variable(s): {} ({source})",
            exported.variables.len(),
            exported.variables.join(", ")
        )?;
    }
    let clients = exported.files.len() - exported.scopes;
    match exported.scopes {
        0 => writeln!(out, "exported {clients} client(s)"),
        scopes => writeln!(out, "exported {clients} client(s) and {scopes} scope(s)"),
    }
}
