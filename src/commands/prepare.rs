//! What every command that reads manifests does first: load them (with the policy file),
//! validate them, and judge them against the boruta version and the policy, gathering
//! every finding into one list.

use crate::findings::Code;
use crate::kinds::client::fields::Version;
use crate::load::{self, Environment};
use crate::policy::waivers::{Date, WaiverRules};
use crate::policy::Policy;
use crate::source::{has_errors, sort_diagnostics, Diagnostic, Severity, SourceMap, Waiver};
use crate::validate::{self, Needs, Validated};
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
    /// `--exclude`: files below the directory that are not manifests.
    pub exclude: Vec<String>,
    /// `--max-input-bytes`: what the manifests and their `${file:..}` values may total
    /// (`None`: [`load::MAX_TOTAL_INPUT_BYTES`]).
    pub max_input_bytes: Option<u64>,
    /// `--env`: the environment whose variables and manifest selection apply.
    pub environment: Option<std::sync::Arc<crate::env::EnvFile>>,
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
        let in_directory = root.is_some();
        let Some(root) = load::read_policy(&path, root, loaded) else {
            return Policy::default();
        };
        let (policy, problems) = Policy::parse(&root);
        loaded.diagnostics.extend(problems);
        if in_directory {
            loaded.diagnostics.extend(relaxed(&policy));
        }
        policy
    }

    /// Loads and validates the manifests (each file validated as soon as it is read, on
    /// every core), with the policy in force and what the manifests need of the server.
    /// Unset `${env:..}` variables are reported with `unset`.
    pub fn prepare(&self, env: &dyn Environment, unset: Severity) -> Loaded {
        let mut loaded = load::Loaded::default();
        let policy = self.policy(&mut loaded);
        let scope = self
            .environment
            .as_ref()
            .map(|e| load::substitute::VarScope {
                environment: &e.name,
                vars: &e.vars,
            });
        let options = load::Options {
            env,
            file_roots: &self.file_roots,
            unset_variable: unset,
            exclude: &self.exclude,
            budget: load::Budget::with_limit(
                self.max_input_bytes.unwrap_or(load::MAX_TOTAL_INPUT_BYTES),
            ),
            vars: scope.as_ref(),
            select: self
                .environment
                .as_ref()
                .map_or(&[], |e| e.select.as_slice()),
        };
        let rules = WaiverRules::new(&policy, today());
        let each =
            |(needs, validated): &mut (Needs, Validated), documents: Vec<_>, waivers: &[_]| {
                *needs = needs.or(validate::scan_needs(&documents));
                validate::validate_into(documents, &rules.in_force(waivers), validated);
            };
        let (mut files, parts) = load::load_each(&self.dir, &options, &each);
        loaded.sources.append(&mut files.sources);
        loaded.diagnostics.extend(files.diagnostics);
        let needs = parts
            .iter()
            .fold(Needs::default(), |all, (n, _)| all.or(*n));
        let validated = validate::finish(parts.into_iter().map(|(_, v)| v).collect());
        Loaded {
            loader: loaded.diagnostics,
            sources: loaded.sources,
            waivers: files.waivers,
            validated,
            policy,
            rules,
            needs,
        }
    }
}

/// The day waivers are judged on (UTC).
fn today() -> Date {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date::from_days_since_epoch((seconds / 86_400) as i64)
}

/// A `policy-relaxed` warning for each setting of the in-directory policy file that is
/// less strict than the built-in defaults: that file is part of the pull request, so the
/// review must see what it relaxes (issue #19).
fn relaxed(policy: &Policy) -> Vec<Diagnostic> {
    policy
        .relaxations
        .iter()
        .map(|r| {
            Diagnostic::new(
                Code::PolicyRelaxed,
                format!(
                    "the policy file in the manifest directory relaxes `{}`: {}. A pull request can change this file; pipelines pass the security team's policy with --policy (the Action's `policy` input) from a place the pull request does not control",
                    r.rule, r.what
                ),
                Some(r.at.clone()),
            )
        })
        .collect()
}

/// The manifests, loaded and validated (not yet judged).
pub struct Loaded {
    /// The loader's findings (files, YAML, substitution, the policy file).
    pub loader: Vec<Diagnostic>,
    pub sources: SourceMap,
    pub waivers: Vec<Waiver>,
    pub validated: Validated,
    pub policy: Policy,
    /// What the policy says of waivers, and today.
    pub rules: WaiverRules,
    pub needs: Needs,
}

impl Loaded {
    /// A file could not be read or parsed (the network commands stop there).
    pub fn failed(&self) -> bool {
        has_errors(&self.loader)
    }

    /// Every finding so far, in one list.
    pub fn into_prepared(self) -> (Prepared, Policy, Needs) {
        let prepared = Prepared::new(
            self.loader,
            self.sources,
            self.waivers,
            self.validated,
            self.rules,
        );
        (prepared, self.policy, self.needs)
    }

    /// Only the loader's findings: what stops a run before anything is judged.
    pub fn into_failure(self) -> Prepared {
        let validated = Validated::default();
        Prepared::new(self.loader, self.sources, Vec::new(), validated, self.rules)
    }
}

/// Manifests loaded and validated, with every finding so far (the loader's and the
/// validator's, moved into one list) and the waiver comments that apply to them.
pub struct Prepared {
    pub sources: SourceMap,
    pub validated: Validated,
    pub diagnostics: Vec<Diagnostic>,
    /// Every waiver comment, in force or not.
    pub waivers: Vec<Waiver>,
    /// Those that waive something today.
    in_force: Vec<Waiver>,
    rules: WaiverRules,
}

impl Prepared {
    pub fn new(
        loaded_diagnostics: Vec<Diagnostic>,
        sources: SourceMap,
        waivers: Vec<Waiver>,
        mut validated: Validated,
        rules: WaiverRules,
    ) -> Self {
        let mut diagnostics = loaded_diagnostics;
        diagnostics.append(&mut validated.diagnostics);
        Prepared {
            sources,
            validated,
            diagnostics,
            in_force: rules.in_force(&waivers),
            waivers,
            rules,
        }
    }

    /// Adds findings of a later stage, waived where a waiver in force says so and the
    /// policy lets it.
    pub fn add(&mut self, mut findings: Vec<Diagnostic>) {
        self.waive(&mut findings);
        self.diagnostics.append(&mut findings);
    }

    /// Waives `findings` where a waiver in force says so and the policy lets it.
    fn waive(&self, findings: &mut [Diagnostic]) {
        let unwaivable = &self.rules.unwaivable;
        crate::policy::waivers::waive_except(findings, &self.in_force, unwaivable);
    }

    /// Adds the findings that depend on the boruta version and the policy (see
    /// [`Prepared::judgement`]).
    pub fn judge(&mut self, policy: &Policy, version: Version) {
        let mut findings = self.judgement(policy, version);
        self.diagnostics.append(&mut findings);
    }

    /// The findings that depend on the boruta version and the policy, waived: the
    /// version's field support and defaults, and the security rules, at the policy's
    /// severities. Reads only: `plan` makes them while the server's list arrives, and
    /// keeps them once the list confirms the version.
    pub fn judgement(&self, policy: &Policy, version: Version) -> Vec<Diagnostic> {
        let clients = &self.validated.clients;
        // Both only read the clients: with many, the version's findings are made on
        // another thread beside the rules'.
        let (mut findings, rules) = std::thread::scope(|scope| {
            let version_findings = (clients.len() >= 2_000)
                .then(|| scope.spawn(|| validate::check_version(clients, version)));
            let rules = crate::policy::rules::check(clients, policy, version);
            let version_findings = match version_findings {
                Some(thread) => thread
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
                None => validate::check_version(clients, version),
            };
            (version_findings, rules)
        });
        match findings.is_empty() {
            true => findings = rules,
            false => findings.extend(rules),
        }
        let mut findings = policy.judge(findings);
        self.waive(&mut findings);
        findings
    }

    /// Once every manifest finding is in: the waivers that are themselves wrong.
    pub fn check_waivers(&mut self) {
        let problems = crate::policy::waivers::check(&self.waivers, &self.diagnostics, &self.rules);
        self.diagnostics.extend(problems);
    }

    /// The findings, sorted as users read them.
    pub fn into_findings(self) -> Vec<Diagnostic> {
        let mut findings = self.diagnostics;
        sort_diagnostics(&mut findings);
        findings
    }
}
