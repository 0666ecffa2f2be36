//! What every command that reads manifests does first: load them (with the policy file),
//! validate them, and judge them against the boruta version and the policy, gathering
//! every finding into one list.

use crate::kinds::client::fields::Version;
use crate::load::{self, Environment};
use crate::policy::Policy;
use crate::source::{sort_diagnostics, Diagnostic, Severity, SourceMap, Waiver};
use crate::validate::{self, Validated};
use std::path::PathBuf;

/// Where the manifests are, where `${file:..}` may read, and which policy file applies.
#[derive(Debug, Clone, Default)]
pub struct Manifests {
    /// A directory (searched recursively) or a single file.
    pub dir: PathBuf,
    /// Other directories `${file:..}` may read from (`--file-root`).
    pub file_roots: Vec<PathBuf>,
    /// `--policy FILE`; without it, `DIR/.boruta-policy.yaml` when present.
    pub policy: Option<PathBuf>,
}

impl Manifests {
    /// The policy in force: `--policy`, else `DIR/.boruta-policy.yaml` when present, else
    /// the rules' defaults. Its text and findings go into `loaded`.
    pub fn policy(&self, loaded: &mut load::Loaded) -> Policy {
        let (path, root) = match &self.policy {
            // Named on the command line: the pipeline's choice, read wherever it is.
            Some(path) => (path.clone(), None),
            None => {
                let default = self.dir.join(".boruta-policy.yaml");
                if std::fs::symlink_metadata(&default).is_err() {
                    return Policy::default();
                }
                (default, Some(self.dir.as_path()))
            }
        };
        let Some(root) = load::read_policy(&path, root, loaded) else {
            return Policy::default();
        };
        let (policy, problems) = Policy::parse(&root);
        loaded.diagnostics.extend(problems);
        policy
    }

    /// Loads the manifests; unset `${env:..}` variables are reported with `unset`.
    pub fn load(&self, env: &dyn Environment, unset: Severity) -> load::Loaded {
        load::load(
            &self.dir,
            &load::Options {
                env,
                file_roots: &self.file_roots,
                unset_variable: unset,
            },
        )
    }
}

/// Manifests loaded and validated, with every finding so far (the loader's and the
/// validator's, moved into one list) and the waiver comments that apply to them.
pub struct Prepared {
    pub sources: SourceMap,
    pub validated: Validated,
    pub diagnostics: Vec<Diagnostic>,
    pub waivers: Vec<Waiver>,
}

impl Prepared {
    pub fn new(
        loaded_diagnostics: Vec<Diagnostic>,
        sources: SourceMap,
        waivers: Vec<Waiver>,
        mut validated: Validated,
    ) -> Self {
        let mut diagnostics = loaded_diagnostics;
        diagnostics.append(&mut validated.diagnostics);
        Prepared {
            sources,
            validated,
            diagnostics,
            waivers,
        }
    }

    /// Adds findings of a later stage, waived where a waiver says so.
    pub fn add(&mut self, mut findings: Vec<Diagnostic>) {
        crate::policy::waivers::waive(&mut findings, &self.waivers);
        self.diagnostics.append(&mut findings);
    }

    /// The findings that depend on the boruta version and the policy: the version's
    /// field support and defaults, and the security rules, at the policy's severities.
    pub fn judge(&mut self, policy: &Policy, version: Version) {
        let clients = &self.validated.clients;
        let mut findings = validate::check_version(clients, version);
        findings.extend(crate::policy::rules::check(clients, policy, version));
        self.add(policy.judge(findings));
    }

    /// Once every manifest finding is in: the waivers that are themselves wrong.
    pub fn check_waivers(&mut self) {
        let problems = crate::policy::waivers::check(&self.waivers, &self.diagnostics);
        self.diagnostics.extend(problems);
    }

    /// The findings, sorted as users read them.
    pub fn into_findings(self) -> Vec<Diagnostic> {
        let mut findings = self.diagnostics;
        sort_diagnostics(&mut findings);
        findings
    }
}
