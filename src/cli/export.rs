//! `export`: read the server once and write one manifest per client.

use super::pipeline::{connect, runtime};
use super::ExportArgs;
use crate::error::{Error, Exit};
use crate::kinds::client::SystemIds;
use crate::render::escape::neutral;
use secrecy::ExposeSecret;
use std::io::Write;

pub(crate) fn run_export(args: &ExportArgs) -> Result<Exit, Error> {
    let connection = connect(
        &args.connection,
        vec![crate::api::SCOPE_CLIENTS.to_string()],
    )?;
    let listed = runtime()?.block_on(connection.list_clients())?;
    let system = SystemIds {
        admin_client_id: args.connection.admin_client_id.clone(),
        self_client_id: args.connection.client_id.clone(),
    };
    let version = crate::api::choose_version(args.connection.boruta_version, &listed);
    if let Some(mismatch) = &version.mismatch {
        eprintln!("warning[boruta-version-mismatch]: {mismatch}");
    }
    let is_system = |id: &str| {
        listed
            .iter()
            .any(|c| c.id == id && system.kind_of(c).is_some())
    };
    let selected = |client: &crate::kinds::client::ClientRecord| {
        args.select.is_empty()
            || args
                .select
                .iter()
                .any(|s| crate::plan::selects(s, client.name.as_deref(), &client.id))
    };
    let mut skipped_system = 0;
    let clients: Vec<_> = listed
        .iter()
        .filter(|c| selected(c))
        .filter(|c| {
            let keep = args.include_system || !is_system(&c.id);
            skipped_system += usize::from(!keep);
            keep
        })
        .map(crate::kinds::client::ClientRecord::to_map)
        .collect();
    for selector in &args.select {
        let found = listed
            .iter()
            .any(|c| crate::plan::selects(selector, c.name.as_deref(), &c.id));
        if !found {
            return Err(Error::Usage(format!(
                "--select {selector}: no client with this name or id on the server"
            )));
        }
    }
    let export = crate::export::export(&clients, version.version);
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Error::Usage(format!("cannot create {}: {e}", args.out.display())))?;
    if !args.force {
        let existing: Vec<String> = export
            .files
            .iter()
            .filter(|f| args.out.join(&f.file_name).exists())
            .map(|f| f.file_name.clone())
            .collect();
        if !existing.is_empty() {
            return Err(Error::Usage(format!(
                "{} already holds {}: refusing to overwrite (use --force, or export to an empty directory)",
                args.out.display(),
                existing.join(", ")
            )));
        }
    }
    if let Some(path) = &args.with_secrets_to {
        write_secrets(path, &export.secrets)?;
    }
    for file in &export.files {
        std::fs::write(args.out.join(&file.file_name), &file.content)?;
    }
    let mut out = std::io::stdout().lock();
    for file in &export.files {
        let path = args.out.join(&file.file_name);
        writeln!(out, "wrote {}", neutral(&path.display().to_string()))?;
    }
    for note in &export.notes {
        writeln!(out, "note: {}", neutral(note))?;
    }
    if skipped_system > 0 {
        writeln!(out, "skipped {skipped_system} system client(s) (admin UI, public client, this tool's own); --include-system exports them")?;
    }
    let variables: Vec<&str> = export.secrets.iter().map(|(v, _)| v.as_str()).collect();
    if !variables.is_empty() {
        let source = match &args.with_secrets_to {
            Some(path) => format!("their values are in {}", path.display()),
            None => "--with-secrets-to FILE writes their values for a migration".to_string(),
        };
        writeln!(
            out,
            "the manifests read their secrets from {} environment variable(s): {} ({source})",
            variables.len(),
            variables.join(", ")
        )?;
    }
    writeln!(out, "exported {} client(s)", export.files.len())?;
    Ok(Exit::Success)
}

/// `VAR='secret'` lines in a new file with mode 0600 (`set -a; . FILE` loads them).
fn write_secrets(
    path: &std::path::Path,
    secrets: &[(String, secrecy::SecretString)],
) -> Result<(), Error> {
    let mut file = super::create_private_file(path, "--with-secrets-to")?;
    for (variable, secret) in secrets {
        let quoted = secret.expose_secret().replace('\'', "'\\''");
        writeln!(file, "{variable}='{quoted}'")?;
    }
    file.sync_all()?;
    Ok(())
}
