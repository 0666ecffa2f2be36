//! The plan: what `apply` would do and how the server compares with git, as one
//! serializable document. It is the `--format json` output and the `--out` saved plan.
//! It holds no secret value: secrets appear as `(sensitive) changed/unchanged`, and the
//! saved plan keeps only digests (of the manifests, of each request it would send, and a
//! fingerprint of each server record the plan depends on). Pure: no I/O.
//!
//! The options (`--update`, `--allow-delete`, `--select`) decide the actions: without
//! `--update` a drift is a report, with it an update; a declared-absent client is a
//! delete, which needs `--allow-delete` (without it the plan has an error, and `apply`
//! refuses it whole).

use crate::diff::{self, Action, Diff, FieldChange, SecretState, Unmanaged};
use crate::findings::Code;
use crate::kinds::ObjectKind;
use crate::source::{Diagnostic, SourceMap};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the plan document; bumped on any incompatible change.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// What the plan was asked to do (recorded: `apply --plan` takes them from the plan).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Options {
    /// Drifted clients become updates.
    #[serde(default)]
    pub update: bool,
    /// Declared-absent clients may be deleted.
    #[serde(default)]
    pub allow_delete: bool,
    /// Only these manifests (names, `*` globs, or ids); empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub select: Vec<String>,
    /// Send `key_pair_id` for these clients (names, globs, ids) when the key pairs cannot
    /// be read to check whether they already hold it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub send_key_pair_id: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    pub format_version: u32,
    pub tool_version: String,
    /// The admin API the plan was computed against.
    pub admin_url: String,
    /// The environment (`--env`) it was computed for; `apply --plan` refuses another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
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
    #[serde(default)]
    pub options: Options,
    /// sha256 over the manifest files (paths and contents).
    pub manifests_digest: String,
    pub clients: Vec<PlannedObject>,
    /// Scopes, when git declares some (`kind: Scope`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<PlannedObject>,
    pub unmanaged: Vec<Unmanaged>,
    pub summary: Summary,
    /// Every finding of the run: the manifests' and the comparison's. Not read back from a
    /// saved plan: they are recomputed.
    #[serde(default, skip_deserializing)]
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlannedObject {
    #[serde(default, skip_serializing_if = "ObjectKind::is_client")]
    pub kind: ObjectKind,
    pub id: String,
    pub name: String,
    pub file: String,
    pub line: usize,
    pub action: Action,
    /// For create, update and drift: the fields (all declared ones for a create).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretState>,
    /// Declared write-only fields that boruta never renders back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverifiable: Vec<String>,
    /// For an update or a re-send: the write-only fields it sends, git's values (they
    /// cannot be compared: boruta never renders them back).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resend: Vec<FieldChange>,
    /// For a client declaring `key_pair_id`: whether it holds that key pair's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_pair: Option<crate::diff::KeyPairCheck>,
    /// For a blocked client: what it would have been (create, update, delete, re-send).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<Action>,
    /// For a conflict: the server client that already has this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflicting_id: Option<String>,
    /// For an update that changes `key_pair_type`: `regenerate_key_pair` follows it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub regenerate_key_pair: bool,
    /// For clients the plan touches (not in sync): sha256 of the server's record of this
    /// id, or of its absence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// For a create or an update: sha256 of the request it would send (secrets enter only
    /// the digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_digest: Option<String>,
    /// What else the action does (a scope delete also deletes users' grants of it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// For a client declaring `secret_delivery`: where its secret is delivered, and
    /// whether apply writes it (never the secret, nor its digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryPlan>,
}

/// A client's secret delivery to the secret store, as the plan found it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeliveryPlan {
    /// The KV version 2 mount.
    pub mount: String,
    /// The secret's path under the mount.
    pub path: String,
    pub state: DeliveryState,
    /// What differs (outdated), or why the path cannot be read (unreadable): a few words,
    /// never a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl DeliveryPlan {
    /// `mount/path`, as `vault kv get` names it.
    pub fn location(&self) -> String {
        format!("{}/{}", self.mount, self.path)
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryState {
    /// The client is created by this plan: its secret is written right after the create.
    WithCreate,
    /// The path holds the client's id and the secret boruta holds (compared by digest).
    InSync,
    /// The path holds no secret (never written, or its latest version deleted).
    Missing,
    /// The path holds another secret, another client's id, or lacks a key.
    Outdated,
    /// The path could not be read: an error of the plan.
    Unreadable,
}

impl DeliveryState {
    /// A re-delivery apply makes without writing to boruta (counted as a change).
    pub fn pending(self) -> bool {
        matches!(self, DeliveryState::Missing | DeliveryState::Outdated)
    }

    /// Apply writes the path (after a create, or as a re-delivery).
    pub fn writes(self) -> bool {
        self == DeliveryState::WithCreate || self.pending()
    }
}

impl Plan {
    /// Every planned object, in the order apply writes them: scopes, then clients.
    pub fn objects(&self) -> impl Iterator<Item = &PlannedObject> {
        self.scopes.iter().chain(&self.clients)
    }

    /// True when apply writes objects of `kind`.
    pub fn writes(&self, kind: ObjectKind) -> bool {
        self.objects().any(|o| o.kind == kind && o.acts())
    }
}

impl PlannedObject {
    /// True when `apply` acts on this client (a re-delivery of its secret included).
    pub fn acts(&self) -> bool {
        matches!(
            self.action,
            Action::Create | Action::Update | Action::Delete | Action::Resend
        ) || self.delivery_pending()
    }

    /// True when apply re-delivers this client's secret (a missing or outdated delivery).
    pub fn delivery_pending(&self) -> bool {
        self.delivery.as_ref().is_some_and(|d| d.state.pending())
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    pub create: usize,
    #[serde(default)]
    pub update: usize,
    #[serde(default)]
    pub delete: usize,
    pub drift: usize,
    pub in_sync: usize,
    pub conflict: usize,
    /// Unmanaged clients that are not system clients.
    pub unmanaged: usize,
    pub system: usize,
    /// Clients whose write-only fields an update re-sends, with nothing else to change
    /// (counted apart: not a change for exit codes).
    #[serde(default)]
    pub resend: usize,
    /// Creates, updates, deletes and re-sends that cannot be made.
    #[serde(default)]
    pub blocked: usize,
    /// Existing clients whose secret delivery is missing or outdated: apply writes it to
    /// the secret store (a change; a create's delivery is part of the create). Left out
    /// of the document when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub deliver: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    /// True when `apply` with the plan's options would change something.
    pub fn has_changes(&self) -> bool {
        self.create + self.update + self.delete + self.deliver > 0
    }
}

impl Plan {
    /// Records a client's delivery as a survey of the store found it, and counts a
    /// re-delivery in the summary.
    pub fn set_delivery(&mut self, id: &str, delivery: DeliveryPlan) {
        let Some(client) = self
            .clients
            .iter_mut()
            .find(|c| c.kind == ObjectKind::Client && c.id == id)
        else {
            return;
        };
        if delivery.state.pending() && !client.delivery_pending() {
            self.summary.deliver += 1;
        }
        client.delivery = Some(delivery);
    }

    /// Blocks a client the plan would write but apply will refuse to (its secret delivery
    /// cannot be checked): it is counted as blocked, no longer as its action, as
    /// [`build`] does for the clients the comparison blocks.
    pub fn block(&mut self, id: &str) {
        let writes = [Action::Create, Action::Update, Action::Resend];
        let Some(client) = self
            .clients
            .iter_mut()
            .find(|c| c.kind == ObjectKind::Client && c.id == id && writes.contains(&c.action))
        else {
            return;
        };
        *counter(&mut self.summary, client.action) -= 1;
        count(&mut self.summary, Action::Blocked);
        client.blocked = Some(client.action);
        client.action = Action::Blocked;
        client.resend.clear();
        client.desired_digest = None;
    }
}

/// True when a `--select` pattern names this client: its id (any case), or its name, where
/// `*` matches any run of characters.
pub fn selects(pattern: &str, name: Option<&str>, id: &str) -> bool {
    pattern.eq_ignore_ascii_case(id)
        || name.is_some_and(|name| crate::source::glob_matches(pattern, name))
}

/// Digest of the manifest files, independent of the order they were read in.
/// The files are hashed one after another, never copied into one text (100,000 files are
/// 60 MB).
pub fn manifests_digest(sources: &SourceMap) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (path, content) in sources {
        hasher.update(format!("{}\n{}\n{}\n", path.len(), path, content.len()));
        hasher.update(content.as_bytes());
    }
    diff::hex(&hasher.finalize())
}

/// What a plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `plan` and `apply`: what apply performs. An action the options do not allow (a
    /// delete without `--allow-delete`) is refused, and with it the whole plan.
    Apply,
    /// `drift`: a report. Nothing is refused; a client to delete is counted.
    Report,
}

/// What a plan was computed against, and how.
pub struct Target<'a> {
    pub admin_url: &'a str,
    pub environment: Option<&'a str>,
    pub manifests_dir: &'a str,
    pub scopes: &'a [String],
    pub version: &'a crate::api::VersionChoice,
    /// [`manifests_digest`] of the manifests.
    pub manifests_digest: String,
    pub options: &'a Options,
    pub purpose: Purpose,
}

fn digest_of(body: &serde_json::Map<String, Value>) -> String {
    diff::digest(&diff::canonical(&Value::Object(body.clone())))
}

/// An update that changes a client's identity provider, on a boruta that caches it (0.9.0
/// to 0.10.0) or that may: the change shows only after boruta restarts.
fn identity_provider_restart(
    c: &crate::diff::ObjectDiff,
    version: &crate::api::VersionChoice,
) -> Option<Diagnostic> {
    let field = crate::kinds::client::fields::FieldId::IdentityProvider.name();
    let changes = c.fields.iter().any(|f| f.field == field && !f.ignored);
    let message = match version.identity_provider_cache_defect {
        _ if !changes => return None,
        Some(false) => return None,
        Some(true) => format!("boruta {} caches the identity provider of `{}` and keeps using the old one after this update until it restarts (fixed in 0.10.1): restart boruta after apply", version.version, c.name),
        None => format!("if this server runs boruta 0.9.0 to 0.10.0, it caches the identity provider of `{}` and keeps using the old one after this update until it restarts (fixed in 0.10.1): restart boruta after apply, or pass --boruta-version with the exact release", c.name),
    };
    Some(Diagnostic::new(
        Code::IdentityProviderRestart,
        message,
        Some(c.location.clone()),
    ))
}

/// Counts one client in the summary.
fn count(summary: &mut Summary, action: Action) {
    *counter(summary, action) += 1;
}

/// The summary's count of the clients with this action.
fn counter(summary: &mut Summary, action: Action) -> &mut usize {
    match action {
        Action::Create => &mut summary.create,
        Action::Update => &mut summary.update,
        Action::Delete => &mut summary.delete,
        Action::Drift => &mut summary.drift,
        Action::InSync | Action::Absent => &mut summary.in_sync,
        Action::Conflict => &mut summary.conflict,
        Action::Resend => &mut summary.resend,
        Action::Blocked => &mut summary.blocked,
    }
}

/// One object of the plan: its action under the plan's options (an update or a re-send
/// when `--update` asks, blocked when it cannot be made), with the findings they add.
fn plan_object(
    c: &crate::diff::ObjectDiff,
    target: &Target<'_>,
    findings: &mut Vec<Diagnostic>,
) -> PlannedObject {
    let options = target.options;
    let mut action = match (c.action, &c.update) {
        (Action::Drift, Some(_)) if options.update => Action::Update,
        (Action::InSync, Some(_)) if options.update && !c.resend.is_empty() => Action::Resend,
        (action, _) => action,
    };
    let sends = matches!(action, Action::Update | Action::Resend);
    let update = c.update.as_ref().filter(|_| sends);
    let refusals = update.map_or(&[][..], |u| u.refusals.as_slice());
    findings.extend(refusals.iter().cloned());
    let refused = target.purpose == Purpose::Apply && !options.allow_delete;
    let delete_refused = action == Action::Delete && refused;
    let acts = matches!(
        action,
        Action::Create | Action::Update | Action::Delete | Action::Resend
    );
    let blocked = (acts && (c.blocked || !refusals.is_empty() || delete_refused)).then_some(action);
    if blocked.is_some() {
        action = Action::Blocked;
    }
    if action == Action::Update {
        findings.extend(identity_provider_restart(c, target.version));
    }
    if delete_refused {
        findings.push(Diagnostic::new(Code::DeleteNotAllowed,
            format!(
                "`{}` ({}) is declared `ensure: absent` and exists: deleting it needs --allow-delete, on plan and apply (the whole plan is refused without it)",
                c.name, c.id
            ),
            Some(c.location.clone()),
        ));
    }
    let desired_digest = match action {
        Action::Create => Some(digest_of(&c.create_body)),
        Action::Update | Action::Resend => update.map(|u| digest_of(&u.body)),
        _ => None,
    };
    PlannedObject {
        kind: c.kind,
        id: c.id.clone(),
        name: c.name.clone(),
        file: c.location.file.to_string(),
        line: c.location.line,
        action,
        fields: c.fields.clone(),
        secret: c.secret,
        unverifiable: c.unverifiable.clone(),
        resend: if sends && blocked.is_none() {
            c.resend.clone()
        } else {
            Vec::new()
        },
        key_pair: c.key_pair,
        blocked,
        conflicting_id: c.conflicting_id.clone(),
        regenerate_key_pair: update.is_some_and(|u| u.regenerate_key_pair),
        fingerprint: c.fingerprint.clone(),
        desired_digest,
        notes: c.notes.clone(),
        delivery: None,
    }
}

/// Builds the plan from a diff, and the findings its options add (refused updates, a
/// delete without `--allow-delete`).
pub fn build(diff: &Diff, target: &Target<'_>) -> (Plan, Vec<Diagnostic>) {
    let options = target.options;
    let mut summary = Summary::default();
    let mut findings = Vec::new();
    let (mut clients, mut scopes) = (Vec::with_capacity(diff.objects.len()), Vec::new());
    for c in &diff.objects {
        let planned = plan_object(c, target, &mut findings);
        count(&mut summary, planned.action);
        match c.kind {
            ObjectKind::Scope => scopes.push(planned),
            ObjectKind::Client => clients.push(planned),
        }
    }
    // With --select the plan is partial: the other clients of the server are not its
    // business, system clients excepted (they are context).
    let unmanaged: Vec<Unmanaged> = diff
        .unmanaged
        .iter()
        .filter(|u| options.select.is_empty() || u.system.is_some())
        .cloned()
        .collect();
    for u in &unmanaged {
        if u.system.is_some() {
            summary.system += 1;
        } else {
            summary.unmanaged += 1;
        }
    }
    let plan = Plan {
        format_version: PLAN_FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        admin_url: target.admin_url.to_string(),
        environment: target.environment.map(str::to_string),
        scopes_requested: target.scopes.to_vec(),
        manifests_dir: target.manifests_dir.to_string(),
        boruta_version: target.version.version.to_string(),
        boruta_version_source: target.version.how.clone(),
        options: options.clone(),
        manifests_digest: target.manifests_digest.clone(),
        clients,
        scopes,
        unmanaged,
        summary,
        diagnostics: Vec::new(),
    };
    (plan, findings)
}

#[cfg(test)]
mod tests {
    use super::selects;

    #[test]
    fn select_patterns_match_names_by_glob_and_ids_exactly() {
        let id = "7e4f6bd1-2c2a-4a6e-9a6e-2f1c3d4b5a69";
        let cases = [
            ("billing", "billing", true),
            ("billing", "billing-api", false),
            ("billing-*", "billing-api", true),
            ("billing-*", "billing-", true),
            ("*-api", "billing-api", true),
            ("*-api", "billing-api-v2", false),
            ("b*g-*-v*", "billing-api-v2", true),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("*", "anything", true),
            ("**", "", true),
        ];
        for (pattern, name, expected) in cases {
            assert_eq!(
                selects(pattern, Some(name), id),
                expected,
                "{pattern} ~ {name}"
            );
        }
        assert!(selects(&id.to_uppercase(), Some("x"), id));
        assert!(
            !selects("7e4f6bd1-*", Some("x"), id),
            "ids are never globbed"
        );
        assert!(!selects("*", None, id));
    }
}

/// Why a saved plan can no longer be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    ManifestsChanged,
    /// An object the plan touches changed on the server: (kind, name, id, what changed).
    ServerChanged(ObjectKind, String, String, String),
    /// An object the plan acts on is declared or resolved differently now.
    DesiredChanged(ObjectKind, String, String),
}

/// Compares a saved plan with a fresh one computed from the same manifests and server
/// (with the saved options).
pub fn staleness(saved: &Plan, fresh: &Plan) -> Vec<Stale> {
    let mut problems = Vec::new();
    if saved.manifests_digest != fresh.manifests_digest {
        problems.push(Stale::ManifestsChanged);
    }
    let fresh_by_id: std::collections::HashMap<(ObjectKind, &str), &PlannedObject> = fresh
        .objects()
        .map(|c| ((c.kind, c.id.as_str()), c))
        .collect();
    for planned in saved.objects().filter(|c| c.acts()) {
        let (name, id) = (planned.name.clone(), planned.id.clone());
        match fresh_by_id.get(&(planned.kind, planned.id.as_str())) {
            Some(now) if now.fingerprint != planned.fingerprint => {
                let what = match (planned.action, now.action) {
                    (Action::Create, Action::Create) => "its server record changed",
                    (Action::Create, _) => "it was created on the server after the plan was made",
                    (_, Action::Create | Action::Absent) => {
                        "it was deleted on the server after the plan was made"
                    }
                    _ => "it was changed on the server after the plan was made",
                };
                problems.push(Stale::ServerChanged(
                    planned.kind,
                    name,
                    id,
                    what.to_string(),
                ));
            }
            Some(now)
                if now.desired_digest != planned.desired_digest || now.action != planned.action =>
            {
                problems.push(Stale::DesiredChanged(planned.kind, name, id));
            }
            Some(_) => {}
            None => problems.push(Stale::DesiredChanged(planned.kind, name, id)),
        }
    }
    problems
}
