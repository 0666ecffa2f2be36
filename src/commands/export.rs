//! `export`: the server's clients and scopes as manifests, written to a directory
//! (adopting an existing server), with the clients' secrets as environment references
//! and, when asked, their values in a private file for the migration.

use super::connect::ConnectionOptions;
use crate::error::Error;
use crate::kinds::client::ClientRecord;
use crate::kinds::ObjectKind;
use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Which kinds `export` writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExportKind {
    Client,
    Scope,
    #[default]
    All,
}

impl ExportKind {
    fn includes(self, kind: ObjectKind) -> bool {
        match self {
            ExportKind::All => true,
            ExportKind::Client => kind == ObjectKind::Client,
            ExportKind::Scope => kind == ObjectKind::Scope,
        }
    }
}

/// What `export` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    pub out: PathBuf,
    /// Which kinds.
    pub kind: ExportKind,
    /// Only these clients and scopes (names, `*` globs, ids).
    pub select: Vec<String>,
    pub include_system: bool,
    /// Write the secrets to this new file (mode 0600).
    pub with_secrets_to: Option<PathBuf>,
    /// Overwrite manifests that exist.
    pub force: bool,
}

/// What `export` wrote.
pub struct Exported {
    pub files: Vec<PathBuf>,
    /// How many of the files are scopes.
    pub scopes: usize,
    pub notes: Vec<String>,
    pub skipped_system: usize,
    /// The environment variables the manifests read their secrets from.
    pub variables: Vec<String>,
    pub secrets_file: Option<PathBuf>,
    /// `--boruta-version` contradicts what the server renders.
    pub version_mismatch: Option<String>,
}

/// Reads the server once and writes its clients and scopes as manifests.
pub fn export(options: &ExportOptions, connection: &ConnectionOptions) -> Result<Exported, Error> {
    // Reading clients needs clients:manage:all, which reads scopes too (contract §1.3).
    let scopes = vec![crate::api::SCOPE_CLIENTS.to_string()];
    let client = connection.connect(scopes)?;
    let all = crate::kinds::client::fields::FieldSet::ALL;
    let runtime = super::runtime()?;
    let listed = match options.kind.includes(ObjectKind::Client) {
        true => runtime.block_on(client.list_clients(all))?,
        false => Vec::new(),
    };
    let scopes = match options.kind.includes(ObjectKind::Scope) {
        true => runtime.block_on(client.list_scopes())?,
        false => Vec::new(),
    };
    let system = connection.system_ids();
    let version = crate::api::choose_version(connection.boruta_version, &listed);
    let is_system = |c: &ClientRecord| system.kind_of(c).is_some();
    let selected = |name: Option<&str>, id: &str| {
        options.select.is_empty()
            || options
                .select
                .iter()
                .any(|s| crate::plan::selects(s, name, id))
    };
    check_selectors(options, &listed, &scopes)?;
    let chosen: Vec<&ClientRecord> = listed
        .iter()
        .filter(|c| selected(c.name.as_deref(), &c.id))
        .collect();
    let skipped_system = if options.include_system {
        0
    } else {
        chosen.iter().filter(|c| is_system(c)).count()
    };
    let clients: Vec<_> = chosen
        .into_iter()
        .filter(|c| options.include_system || !is_system(c))
        .map(ClientRecord::to_map)
        .collect();
    let mut export = crate::export::export(&clients, version.version);
    let chosen_scopes: Vec<Map<String, Value>> = scopes
        .into_iter()
        .filter(|s| {
            let (name, id) = scope_identity(s);
            selected(Some(name), id)
        })
        .collect();
    let scope_files = crate::export::export_scopes(&chosen_scopes).files;
    let exported_scopes = scope_files.len();
    export.files.extend(scope_files);
    write(options, &export)?;
    Ok(Exported {
        files: export
            .files
            .iter()
            .map(|f| options.out.join(&f.file_name))
            .collect(),
        notes: export.notes,
        scopes: exported_scopes,
        skipped_system,
        variables: export.secrets.iter().map(|(v, _)| v.clone()).collect(),
        secrets_file: options.with_secrets_to.clone(),
        version_mismatch: version.mismatch,
    })
}

/// Every `--select` names a client or a scope on the server.
fn check_selectors(
    options: &ExportOptions,
    listed: &[ClientRecord],
    scopes: &[Map<String, Value>],
) -> Result<(), Error> {
    for selector in &options.select {
        let found = listed
            .iter()
            .any(|c| crate::plan::selects(selector, c.name.as_deref(), &c.id))
            || scopes
                .iter()
                .map(scope_identity)
                .any(|(name, id)| crate::plan::selects(selector, Some(name), id));
        if !found {
            return Err(Error::Usage(format!(
                "--select {}: no {} with this name or id on the server",
                crate::escape::neutral(selector),
                match options.kind {
                    ExportKind::Client => "client",
                    ExportKind::Scope => "scope",
                    ExportKind::All => "client or scope",
                }
            )));
        }
    }
    Ok(())
}

/// A rendered scope's name and id.
fn scope_identity(scope: &Map<String, Value>) -> (&str, &str) {
    let text = |key| scope.get(key).and_then(Value::as_str).unwrap_or_default();
    (text("name"), text("id"))
}

/// Writes the manifests (and the secrets file), refusing to overwrite without `--force`.
fn write(options: &ExportOptions, export: &crate::export::Export) -> Result<(), Error> {
    let out = &options.out;
    std::fs::create_dir_all(out).map_err(|source| Error::Write {
        what: "the export directory",
        path: out.clone(),
        source,
    })?;
    if !options.force {
        let existing: Vec<String> = export
            .files
            .iter()
            .filter(|f| out.join(&f.file_name).exists())
            .map(|f| f.file_name.clone())
            .collect();
        if !existing.is_empty() {
            return Err(Error::Usage(format!(
                "{} already holds {}: refusing to overwrite (use --force, or export to an empty directory)",
                out.display(),
                existing.join(", ")
            )));
        }
    }
    if let Some(path) = &options.with_secrets_to {
        write_secrets(path, &export.secrets)?;
    }
    let scopes_dir = out.join(crate::export::SCOPES_DIR);
    let has_scopes = export
        .files
        .iter()
        .any(|f| Path::new(&f.file_name).starts_with(crate::export::SCOPES_DIR));
    if has_scopes {
        std::fs::create_dir_all(&scopes_dir).map_err(|source| Error::Write {
            what: "the export directory",
            path: scopes_dir,
            source,
        })?;
    }
    for file in &export.files {
        let path = out.join(&file.file_name);
        std::fs::write(&path, &file.content).map_err(|source| Error::Write {
            what: "the manifest",
            path,
            source,
        })?;
    }
    Ok(())
}

/// `VAR='secret'` lines in a new file with mode 0600 (`set -a; . FILE` loads them).
fn write_secrets(path: &Path, secrets: &[(String, secrecy::SecretString)]) -> Result<(), Error> {
    let mut file = super::create_private_file(path, "--with-secrets-to")?;
    let failed = |source| Error::Write {
        what: "--with-secrets-to",
        path: path.to_path_buf(),
        source,
    };
    for (variable, secret) in secrets {
        let quoted = secret.expose_secret().replace('\'', "'\\''");
        writeln!(file, "{variable}='{quoted}'").map_err(failed)?;
    }
    file.sync_all().map_err(failed)
}
