//! Environments: one manifest set, several boruta servers. An environment file
//! (`environments/<name>.yaml`, or under `--env-dir`) names a server, the credentials to
//! reach it (from `${env:..}` or `${file:..}` only: the file is in git), its boruta
//! version, the variables manifests read with `${var:NAME}`, and which manifests the
//! environment gets (`select`).
//!
//! Flags and `BORUTA_*` variables override the file's server settings for one
//! environment; with every environment at once (`--all-envs`) they are refused, so that
//! one environment's credentials never reach another's server.

use crate::findings::Code;
use crate::kinds::client::fields::Named;
use crate::load::{self, Environment};
use crate::source::{Diagnostic, Location, Node, NodeValue, Origin};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where environment files are, unless `--env-dir` says.
pub const DEFAULT_DIR: &str = "environments";

/// An environment file is a few lines.
const MAX_ENVIRONMENT_BYTES: u64 = 256 * 1024;

/// The variables of an environment: name → a scalar (string, number or boolean).
pub type Vars = BTreeMap<String, Value>;

/// One environment, read and checked.
#[derive(Debug, Clone)]
pub struct EnvFile {
    pub name: String,
    pub path: PathBuf,
    pub admin_url: Option<String>,
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub boruta_version: Option<Named>,
    pub vars: Vars,
    /// Which manifests the environment gets (names, `*` globs, ids); empty: all.
    pub select: Vec<String>,
}

/// The file's form (its keys are the interface).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Form {
    admin_url: Option<String>,
    token_url: Option<String>,
    credentials: Option<CredentialsForm>,
    boruta_version: Option<String>,
    #[serde(default)]
    vars: BTreeMap<String, Value>,
    #[serde(default)]
    select: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsForm {
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Why an environment cannot be used: findings at the file's values.
#[derive(Debug, thiserror::Error)]
#[error("{}", render(.0))]
pub struct EnvError(pub Vec<Diagnostic>);

fn render(findings: &[Diagnostic]) -> String {
    let lines: Vec<String> = findings
        .iter()
        .map(|d| match &d.location {
            Some(at) => format!("{at}: {}", d.message),
            None => d.message.clone(),
        })
        .collect();
    lines.join("\n")
}

/// True for a usable environment name: it becomes a file name and a JSON key.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// What an environment is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Reaching its server: its `${env:..}` values must be set.
    Connect,
    /// Rendering manifests offline (`validate`): credentials are not needed, and unset
    /// variables in them are not an error.
    Offline,
}

/// The environment `name` of `dir`.
pub fn load(
    dir: &Path,
    name: &str,
    env: &dyn Environment,
    purpose: Use,
) -> Result<EnvFile, EnvError> {
    if !valid_name(name) {
        let message = format!(
            "--env {}: an environment name is letters, digits, `-` and `_`",
            crate::escape::neutral(name)
        );
        return Err(EnvError(vec![Diagnostic::new(
            Code::InvalidEnvironment,
            message,
            None,
        )]));
    }
    let path = dir.join(format!("{name}.yaml"));
    if !path.exists() {
        let known = names(dir).unwrap_or_default();
        let message = format!(
            "no environment `{name}`: {} does not exist (environments in {}: {})",
            path.display(),
            dir.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
        return Err(EnvError(vec![Diagnostic::new(
            Code::InvalidEnvironment,
            message,
            None,
        )]));
    }
    read(&path, name, env, purpose)
}

/// Every environment of `dir`, in name order.
pub fn load_all(dir: &Path, env: &dyn Environment, purpose: Use) -> Result<Vec<EnvFile>, EnvError> {
    let names = names(dir).map_err(|e| {
        let message = format!(
            "cannot read the environments directory {}: {e} (--env-dir)",
            dir.display()
        );
        EnvError(vec![Diagnostic::new(
            Code::InvalidEnvironment,
            message,
            None,
        )])
    })?;
    if names.is_empty() {
        let message = format!(
            "no environment file (`<name>.yaml`) in {} (--env-dir)",
            dir.display()
        );
        return Err(EnvError(vec![Diagnostic::new(
            Code::InvalidEnvironment,
            message,
            None,
        )]));
    }
    names
        .iter()
        .map(|name| load(dir, name, env, purpose))
        .collect()
}

/// The environment names of `dir` (its `*.yaml` files), sorted.
fn names(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".yaml")
                .map(str::to_string)
        })
        .filter(|n| valid_name(n))
        .collect();
    names.sort();
    Ok(names)
}

/// An environment file that is wrong, said at `at`.
fn invalid(message: String, at: Option<Location>) -> EnvError {
    EnvError(vec![Diagnostic::new(Code::InvalidEnvironment, message, at)])
}

/// The one YAML document of an environment file.
fn document(path: &Path, file: &Arc<str>) -> Result<Node, EnvError> {
    let at_start = || Some(Location::file_start(file));
    let text = crate::bounded::read_text(path, MAX_ENVIRONMENT_BYTES)
        .map_err(|e| invalid(format!("cannot read the environment file: {e}"), at_start()))?;
    let (mut docs, error) = load::yaml::parse_documents(file, &text);
    if let Some(error) = error {
        return Err(EnvError(vec![error]));
    }
    if docs.len() != 1 {
        let message = "an environment file holds exactly one YAML document";
        return Err(invalid(message.to_string(), at_start()));
    }
    Ok(docs.remove(0))
}

/// Substitutes an environment file's `${env:..}` and `${file:..}` values (the files from
/// its directory) and checks where its secret comes from and its variables.
fn substitute(
    root: &mut Node,
    path: &Path,
    file: &Arc<str>,
    env: &dyn Environment,
    purpose: Use,
) -> Result<(), EnvError> {
    let mut findings = Vec::new();
    let base = path.parent().unwrap_or(Path::new("."));
    let roots = load::Roots::only(base).map_err(|e| {
        let message = format!("cannot read the environments directory: {e}");
        invalid(message, Some(Location::file_start(file)))
    })?;
    let budget = load::Budget::default();
    let context = load::substitute::Context {
        env,
        roots: &roots,
        base,
        unset_variable: match purpose {
            Use::Connect => crate::source::Severity::Error,
            Use::Offline => crate::source::Severity::Note,
        },
        vars: None,
        // One environment file, its `${file:..}` values bounded one by one as everywhere.
        budget: &budget,
    };
    load::substitute::substitute(root, &context, &mut findings);
    // Offline, an unset credential is only not needed.
    findings.retain(|d| d.severity == crate::source::Severity::Error);
    check_secret_origin(root, &mut findings);
    check_vars(root, &mut findings);
    match findings.is_empty() {
        true => Ok(()),
        false => Err(EnvError(findings)),
    }
}

/// Reads and checks one environment file.
fn read(path: &Path, name: &str, env: &dyn Environment, purpose: Use) -> Result<EnvFile, EnvError> {
    let file = load::display_path(path);
    let mut root = document(path, &file)?;
    substitute(&mut root, path, &file, env, purpose)?;
    let form: Form = serde_json::from_value(root.to_json()).map_err(|e| {
        let message = format!("not an environment file: {e} (keys: admin_url, token_url, credentials, boruta_version, vars, select)");
        EnvError(vec![Diagnostic::new(Code::InvalidEnvironment, message, Some(root.loc.clone()))])
    })?;
    let boruta_version = match &form.boruta_version {
        Some(text) => Some(text.parse::<Named>().map_err(|e| {
            let at = root.get("boruta_version").map(|n| n.loc.clone());
            EnvError(vec![Diagnostic::new(
                Code::InvalidEnvironment,
                format!("boruta_version: {e}"),
                at,
            )])
        })?),
        None => None,
    };
    let credentials = form.credentials.unwrap_or(CredentialsForm {
        client_id: None,
        client_secret: None,
    });
    Ok(EnvFile {
        name: name.to_string(),
        path: path.to_path_buf(),
        admin_url: form.admin_url,
        token_url: form.token_url,
        client_id: credentials.client_id,
        client_secret: credentials
            .client_secret
            .filter(|_| root_secret_resolved(&root))
            .map(SecretString::from),
        boruta_version,
        vars: form.vars,
        select: form.select,
    })
}

/// True when the client secret (if any) was substituted.
fn root_secret_resolved(root: &Node) -> bool {
    root.at_pointer("/credentials/client_secret")
        .is_none_or(|n| n.origin != Origin::Unresolved)
}

/// An environment file is in git: a client secret written in it is a leaked secret.
fn check_secret_origin(root: &Node, findings: &mut Vec<Diagnostic>) {
    let Some(secret) = root.at_pointer("/credentials/client_secret") else {
        return;
    };
    if secret.origin == Origin::Literal {
        findings.push(Diagnostic::new(
            Code::InvalidEnvironment,
            "credentials.client_secret must come from `${env:NAME}` or `${file:PATH}`: an environment file is in git",
            Some(secret.loc.clone()),
        ));
    }
}

/// Variables are scalars: `${var:NAME}` stands for one value.
fn check_vars(root: &Node, findings: &mut Vec<Diagnostic>) {
    let Some(Node {
        value: NodeValue::Map(pairs),
        ..
    }) = root.get("vars")
    else {
        return;
    };
    for (key, value) in pairs {
        if matches!(
            value.value,
            NodeValue::Seq(_) | NodeValue::Map(_) | NodeValue::Null
        ) {
            findings.push(Diagnostic::new(
                Code::InvalidEnvironment,
                format!(
                    "variable `{}` must be a string, a number or a boolean",
                    key.key_text()
                ),
                Some(value.loc.clone()),
            ));
        }
    }
}
