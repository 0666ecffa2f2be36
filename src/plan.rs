//! The plan: what `apply` would do and how the server compares with git, as one
//! serializable document. It is the `--format json` output and the `--out` saved plan.
//! It holds no secret value: secrets appear as `(sensitive) changed/unchanged`, and the
//! saved plan keeps only digests (of the manifests, of each desired client, and a
//! fingerprint of each server record the plan depends on). Pure: no I/O.

use crate::diff::{self, Action, Diff, FieldChange, SecretState, Unmanaged};
use crate::source::{Diagnostic, SourceMap};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the plan document; bumped on any incompatible change.
pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    pub format_version: u32,
    pub tool_version: String,
    /// The admin API the plan was computed against.
    pub admin_url: String,
    /// The scopes requested for the token.
    pub scopes_requested: Vec<String>,
    /// The manifest directory the plan was made from (`apply --plan` reads it again).
    #[serde(default)]
    pub manifests_dir: String,
    /// The boruta version the plan assumed (`0.9`, `0.10`, `master`), and why.
    #[serde(default)]
    pub boruta_version: String,
    #[serde(default)]
    pub boruta_version_source: String,
    /// sha256 over the manifest files (paths and contents).
    pub manifests_digest: String,
    pub clients: Vec<PlannedClient>,
    pub unmanaged: Vec<Unmanaged>,
    pub summary: Summary,
    /// Every finding of the run: the manifests' and the comparison's. Not read back from a
    /// saved plan: they are recomputed.
    #[serde(default, skip_deserializing)]
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlannedClient {
    pub id: String,
    pub name: String,
    pub file: String,
    pub line: usize,
    pub action: Action,
    /// For create and drift: the fields (all declared ones for a create).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretState>,
    /// Declared write-only fields that boruta never renders back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverifiable: Vec<String>,
    /// For a conflict: the server client that already has this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflicting_id: Option<String>,
    /// For clients the plan touches (not in sync): sha256 of the server's record of this
    /// id, or of its absence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// For a create: sha256 of the request it would send (secrets enter only the digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_digest: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    pub create: usize,
    pub drift: usize,
    pub in_sync: usize,
    pub conflict: usize,
    /// Unmanaged clients that are not system clients.
    pub unmanaged: usize,
    pub system: usize,
}

impl Summary {
    /// True when `apply` would change something.
    pub fn has_creates(&self) -> bool {
        self.create > 0
    }
}

/// Digest of the manifest files, independent of the order they were read in.
pub fn manifests_digest(sources: &SourceMap) -> String {
    let mut text = String::new();
    for (path, content) in sources {
        text.push_str(&format!("{}\n{}\n{}\n", path.len(), path, content.len()));
        text.push_str(content);
    }
    diff::digest(&text)
}

/// What a plan was computed against.
pub struct Target<'a> {
    pub admin_url: &'a str,
    pub manifests_dir: &'a str,
    pub scopes: &'a [String],
    pub version: &'a crate::api::VersionChoice,
}

/// Builds the plan from a diff.
pub fn build(diff: &Diff, target: &Target<'_>, sources: &SourceMap) -> Plan {
    let mut summary = Summary::default();
    let clients = diff
        .clients
        .iter()
        .map(|c| {
            match c.action {
                Action::Create => summary.create += 1,
                Action::Drift => summary.drift += 1,
                Action::InSync => summary.in_sync += 1,
                Action::Conflict => summary.conflict += 1,
            }
            PlannedClient {
                id: c.id.clone(),
                name: c.name.clone(),
                file: c.location.file.to_string(),
                line: c.location.line,
                action: c.action,
                fields: c.fields.clone(),
                secret: c.secret,
                unverifiable: c.unverifiable.clone(),
                conflicting_id: c.conflicting_id.clone(),
                fingerprint: c.fingerprint.clone(),
                desired_digest: (c.action == Action::Create)
                    .then(|| diff::digest(&diff::canonical(&Value::Object(c.create_body.clone())))),
            }
        })
        .collect();
    for u in &diff.unmanaged {
        if u.system.is_some() {
            summary.system += 1;
        } else {
            summary.unmanaged += 1;
        }
    }
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        admin_url: target.admin_url.to_string(),
        manifests_dir: target.manifests_dir.to_string(),
        scopes_requested: target.scopes.to_vec(),
        boruta_version: target.version.version.to_string(),
        boruta_version_source: target.version.how.clone(),
        manifests_digest: manifests_digest(sources),
        clients,
        unmanaged: diff.unmanaged.clone(),
        summary,
        diagnostics: diff.diagnostics.clone(),
    }
}

/// Why a saved plan can no longer be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    ManifestsChanged,
    /// A client the plan touches changed on the server: (name, id, what changed).
    ServerChanged(String, String, String),
    /// A client the plan would create now differs in git.
    DesiredChanged(String, String),
}

/// Compares a saved plan with a fresh one computed from the same manifests and server.
pub fn staleness(saved: &Plan, fresh: &Plan) -> Vec<Stale> {
    let mut problems = Vec::new();
    if saved.manifests_digest != fresh.manifests_digest {
        problems.push(Stale::ManifestsChanged);
    }
    for planned in saved.clients.iter().filter(|c| c.action == Action::Create) {
        match fresh.clients.iter().find(|c| c.id == planned.id) {
            Some(now) if now.fingerprint != planned.fingerprint => {
                let what = if now.action == Action::Create {
                    "its server record changed".to_string()
                } else {
                    "it was created on the server after the plan was made".to_string()
                };
                problems.push(Stale::ServerChanged(
                    planned.name.clone(),
                    planned.id.clone(),
                    what,
                ));
            }
            Some(now) if now.desired_digest != planned.desired_digest => {
                problems.push(Stale::DesiredChanged(
                    planned.name.clone(),
                    planned.id.clone(),
                ));
            }
            Some(_) => {}
            None => problems.push(Stale::DesiredChanged(
                planned.name.clone(),
                planned.id.clone(),
            )),
        }
    }
    problems
}
