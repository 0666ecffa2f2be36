//! `validate`: the manifests offline, judged for the boruta version given (the latest
//! release by default) and the policy in force. Reads files, nothing else.

use super::prepare::{Manifests, Prepared};
use crate::findings::Code;
use crate::kinds::client::fields::Version;
use crate::load::Environment;
use crate::source::{has_errors, sort_diagnostics, Diagnostic, Location, Severity, SourceMap};
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
    /// Where the valid clients deliver their secrets (`--all-envs` compares environments).
    pub deliveries: Vec<Delivery>,
}

/// A client's `secret_delivery`, once validated.
pub struct Delivery {
    pub location: crate::deliver::Location,
    pub client: String,
    /// The `secret_delivery` key.
    pub at: Location,
}

impl Validation {
    /// True when a finding is an error (the exit code is then 1).
    pub fn failed(&self) -> bool {
        has_errors(&self.diagnostics)
    }
}

/// Validates the manifests. Meant for a command that prints the result and exits: the
/// validated clients are left to the process's exit to free.
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
        mut validated,
        mut diagnostics,
        ..
    } = prepared;
    sort_diagnostics(&mut diagnostics);
    let objects = (validated.clients.len(), validated.scopes.len());
    let deliveries = validated
        .clients
        .iter()
        .filter_map(|client| {
            let delivery = client.secret_delivery.as_ref()?;
            Some(Delivery {
                location: delivery.location.clone(),
                client: client.name.clone(),
                at: client.location(delivery.key),
            })
        })
        .collect();
    // Not freed: the command prints the findings and exits. The clients were built on the
    // loading threads, and freeing them here, on another thread, took 40 ms of 10,000
    // manifests' validate and 0.4 s of 100,000's (measured); the process's exit frees
    // them at no cost. The caller is the command line, once per run (or per environment).
    std::mem::forget(std::mem::take(&mut validated.clients));
    Validation {
        diagnostics,
        files: sources.len(),
        sources,
        redacted_lines: validated.redacted_lines,
        objects,
        deliveries,
    }
}

/// Validates the manifests once per environment (offline: variables and selection only;
/// no server, no credentials). A finding every environment shares is reported once; one
/// that only some environments raise names each of them.
pub fn validate_environments(
    manifests: &Manifests,
    options: ValidateOptions,
    env: &dyn Environment,
    environments: Vec<crate::env::EnvFile>,
) -> Validation {
    let runs: Vec<(String, Validation)> = environments
        .into_iter()
        .map(|environment| {
            let name = environment.name.clone();
            let options = ValidateOptions {
                boruta_version: options
                    .boruta_version
                    .or(environment.boruta_version.map(|n| n.version)),
                ..options
            };
            let mut manifests = manifests.clone();
            manifests.environment = Some(Arc::new(environment));
            (name, validate(&manifests, options, env))
        })
        .collect();
    let shared_paths = shared_delivery_paths(&runs);
    let key = |d: &Diagnostic| (d.code, d.location.clone(), d.message.clone(), d.severity);
    let mut seen: std::collections::HashMap<_, usize> = std::collections::HashMap::new();
    for (_, run) in &runs {
        for d in &run.diagnostics {
            *seen.entry(key(d)).or_default() += 1;
        }
    }
    let mut merged = Validation {
        diagnostics: Vec::new(),
        sources: SourceMap::default(),
        redacted_lines: BTreeSet::new(),
        objects: (0, 0),
        files: 0,
        deliveries: Vec::new(),
    };
    merged.diagnostics.extend(shared_paths);
    let everywhere = runs.len();
    let mut reported = std::collections::HashSet::new();
    for (name, run) in runs {
        for mut d in run.diagnostics {
            let k = key(&d);
            if seen[&k] == everywhere {
                if reported.insert(k) {
                    merged.diagnostics.push(d);
                }
                continue;
            }
            d.message = format!("environment `{name}`: {}", d.message);
            merged.diagnostics.push(d);
        }
        merged.sources.extend(run.sources);
        merged.redacted_lines.extend(run.redacted_lines);
        merged.objects = (
            merged.objects.0.max(run.objects.0),
            merged.objects.1.max(run.objects.1),
        );
        merged.files = merged.files.max(run.files);
    }
    sort_diagnostics(&mut merged.diagnostics);
    merged
}

/// A secret path that clients deliver to in more than one environment. The secret store
/// comes from the job's environment variables, not from the environment file, so whether
/// two environments share a store cannot be known offline: a warning, at the first
/// delivery's key, naming every client and environment.
fn shared_delivery_paths(runs: &[(String, Validation)]) -> Vec<Diagnostic> {
    let mut by_location: std::collections::BTreeMap<_, Vec<(&str, &Delivery)>> =
        std::collections::BTreeMap::new();
    for (environment, run) in runs {
        for delivery in &run.deliveries {
            let at = by_location.entry(&delivery.location).or_default();
            at.push((environment.as_str(), delivery));
        }
    }
    by_location
        .into_iter()
        .filter(|(_, at)| at.iter().any(|(environment, _)| *environment != at[0].0))
        .map(|(location, at)| {
            // Each client once, with its environments: "`billing` in environments
            // `production` and `staging`".
            let mut environments_of: std::collections::BTreeMap<&str, Vec<&str>> =
                std::collections::BTreeMap::new();
            for (environment, d) in &at {
                environments_of.entry(&d.client).or_default().push(environment);
            }
            // A name twice in one environment (a `duplicate-name` error) is said once.
            environments_of.values_mut().for_each(Vec::dedup);
            let who: Vec<String> = environments_of
                .iter()
                .map(|(client, environments)| match environments.as_slice() {
                    [one] => format!("`{client}` in environment `{one}`"),
                    [rest @ .., last] => format!(
                        "`{client}` in environments `{}` and `{last}`",
                        rest.join("`, `")
                    ),
                    [] => format!("`{client}`"),
                })
                .collect();
            Diagnostic::new(
                Code::DeliveryPathInSeveralEnvironments,
                format!(
                    "`{location}` receives the secret of {}: where these environments share a secret store, each one's apply overwrites another's secret; give each environment its own path (`${{var:..}}` in `path`)",
                    who.join(", ")
                ),
                Some(at[0].1.at.clone()),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(environment: &str, deliveries: &[(&str, &str)]) -> (String, Validation) {
        let file: Arc<str> = Arc::from("manifests/a.yaml");
        let deliveries = deliveries
            .iter()
            .map(|(client, path)| Delivery {
                location: crate::deliver::Location::new("secret", path).unwrap(),
                client: client.to_string(),
                at: Location::file_start(&file),
            })
            .collect();
        let validation = Validation {
            diagnostics: Vec::new(),
            sources: SourceMap::default(),
            redacted_lines: BTreeSet::new(),
            objects: (0, 0),
            files: 0,
            deliveries,
        };
        (environment.to_string(), validation)
    }

    #[test]
    fn a_path_is_reported_once_naming_each_client_with_its_environments() {
        let runs = [
            run("dev", &[("a", "apps/shared"), ("c", "apps/dev/c")]),
            run("prod", &[("b", "apps/shared"), ("c", "apps/prod/c")]),
            run("staging", &[("a", "apps/shared")]),
        ];
        let messages: Vec<String> = shared_delivery_paths(&runs)
            .into_iter()
            .map(|d| d.message)
            .collect();
        assert_eq!(
            messages,
            ["`secret/apps/shared` receives the secret of `a` in environments `dev` and `staging`, `b` in environment `prod`: where these environments share a secret store, each one's apply overwrites another's secret; give each environment its own path (`${var:..}` in `path`)"]
        );
    }

    #[test]
    fn a_path_in_one_environment_only_is_not_reported() {
        // Two clients on one path in one environment are `duplicate-delivery-path`'s.
        let runs = [run("dev", &[("a", "apps/x"), ("b", "apps/x")])];
        assert!(shared_delivery_paths(&runs).is_empty());
    }
}
