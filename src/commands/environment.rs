//! What a command takes from the environment it runs for (`--env`, `--all-envs`): the
//! environment's server, credentials and variables for the commands that connect, and its
//! boruta version (unless `--boruta-version` says otherwise) for `validate`.

use super::validate::{self, ValidateOptions, Validation};
use super::{ConnectionOptions, Manifests};
use crate::env::EnvFile;
use crate::load::Environment;
use std::sync::Arc;

/// The manifests and the connection of a command run for `chosen` (if an environment was
/// chosen): what the caller left unset comes from its file.
pub fn targeted(
    mut manifests: Manifests,
    mut connection: ConnectionOptions,
    chosen: Option<Arc<EnvFile>>,
) -> (Manifests, ConnectionOptions) {
    if let Some(chosen) = chosen {
        connection = connection.with_environment(&chosen);
        manifests.environment = Some(chosen);
    }
    (manifests, connection)
}

/// Which environments `validate` renders the manifests for.
pub enum Offline {
    /// One environment, or none.
    One(Option<Arc<EnvFile>>),
    /// Every environment of the directory (`--all-envs`).
    All(Vec<EnvFile>),
}

/// `validate` for the environments chosen: for one, judged for its boruta version unless
/// `options` names one.
pub fn validate(
    mut manifests: Manifests,
    mut options: ValidateOptions,
    env: &dyn Environment,
    environments: Offline,
) -> Validation {
    match environments {
        Offline::All(all) => validate::validate_environments(&manifests, options, env, all),
        Offline::One(chosen) => {
            let version = chosen.as_ref().and_then(|e| e.boruta_version);
            options.boruta_version = options.boruta_version.or(version.map(|n| n.version));
            manifests.environment = chosen;
            validate::validate(&manifests, options, env)
        }
    }
}
