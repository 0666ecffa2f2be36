//! `validate`: the manifests offline, judged for the boruta version given (the latest
//! release by default) and the policy in force. Reads files, nothing else.

use super::prepare::{Manifests, Prepared};
use crate::kinds::client::fields::Version;
use crate::load::Environment;
use crate::source::{has_errors, sort_diagnostics, Diagnostic, Severity, SourceMap};
use std::collections::BTreeSet;
use std::sync::Arc;

/// How `validate` judges.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateOptions {
    /// An unset `${env:..}` is an error (by default a warning: validate runs offline).
    pub require_env: bool,
    /// The boruta version to judge for (default: the latest release).
    pub boruta_version: Option<Version>,
}

/// What `validate` found.
pub struct Validation {
    /// Every finding, sorted.
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
    /// Source lines that hold a literal secret: never quoted.
    pub redacted_lines: BTreeSet<(Arc<str>, usize)>,
    /// How many clients and scopes were validated.
    pub objects: (usize, usize),
    pub files: usize,
}

impl Validation {
    /// True when a finding is an error (the exit code is then 1).
    pub fn failed(&self) -> bool {
        has_errors(&self.diagnostics)
    }
}

/// Validates the manifests.
pub fn validate(
    manifests: &Manifests,
    options: ValidateOptions,
    env: &dyn Environment,
) -> Validation {
    let unset = if options.require_env {
        Severity::Error
    } else {
        Severity::Warning
    };
    let (mut prepared, policy, _) = manifests.prepare(env, unset).into_prepared();
    let version = options.boruta_version.unwrap_or(Version::LATEST_RELEASE);
    prepared.judge(&policy, version);
    prepared.check_waivers();
    let Prepared {
        sources,
        validated,
        mut diagnostics,
        ..
    } = prepared;
    sort_diagnostics(&mut diagnostics);
    Validation {
        diagnostics,
        files: sources.len(),
        sources,
        redacted_lines: validated.redacted_lines,
        objects: (validated.clients.len(), validated.scopes.len()),
    }
}
