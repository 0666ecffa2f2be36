//! `plan` and `drift` (and the first half of `apply`): load and validate the manifests,
//! connect with the least scopes, read the server once (while validating), compare, and
//! build the plan. Returns data; the command line renders it.

use super::connect::ConnectionOptions;
use super::prepare::{Manifests, Prepared};
use crate::diff::{Diff, Observed};
use crate::error::{Error, Exit};
use crate::fetch::FirstRecord;
use crate::findings::Code;
use crate::kinds::client::fields::{FieldId, FieldSet, Version};
use crate::kinds::client::{Clients, SystemIds};
use crate::kinds::scope::{ScopeSpec, Scopes};
use crate::kinds::ObjectKind;
use crate::load::Environment;
use crate::plan::{Options, Plan, Purpose, Target};
use crate::source::{has_errors, sort_diagnostics, Diagnostic, Severity};
use crate::validate;
use serde_json::{Map, Value};

/// Everything `plan`, `drift` and `apply` compute before deciding anything.
pub struct Computed {
    /// The manifests. Their findings are moved into `plan.diagnostics` (100,000 findings
    /// are not copied): read them there.
    pub prepared: Prepared,
    pub observed: Observed,
    pub system: SystemIds,
    pub diff: Diff,
    pub plan: Plan,
    pub connection: std::sync::Arc<crate::fetch::Connection>,
    /// The boruta version the plan assumed.
    pub version: Version,
    /// The scopes as clients see them once the plan's scope writes are made.
    pub scope_view: Option<Vec<Map<String, Value>>>,
    /// The secret store and what the plan found at each delivery path.
    pub deliveries: super::deliver::Deliveries,
}

impl Computed {
    /// True when the plan has an error (a refused update, a delete without
    /// `--allow-delete`, a conflict, ...): `apply` refuses it whole.
    pub fn refused(&self) -> bool {
        has_errors(&self.diff.diagnostics)
    }

    /// The findings a person reads on stderr: the manifests' and the comparison's, notes
    /// excepted (those are `validate`'s business). The plan holds them all, sorted.
    pub fn findings(&self) -> Vec<Diagnostic> {
        self.plan
            .diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Note)
            .cloned()
            .collect()
    }
}

/// Findings for stderr: every one but notes, sorted.
pub fn shown<'a>(findings: impl Iterator<Item = &'a Diagnostic>) -> Vec<Diagnostic> {
    let mut shown: Vec<Diagnostic> = findings
        .filter(|d| d.severity != Severity::Note)
        .cloned()
        .collect();
    sort_diagnostics(&mut shown);
    shown
}

/// Either a plan, or the manifests' findings that prevent one.
pub enum Outcome {
    Planned(Box<Computed>),
    Invalid(Box<Prepared>),
}

/// The least scopes the manifests need.
fn scopes_for(needs: validate::Needs) -> Vec<String> {
    let mut scopes = vec![ObjectKind::Client.write_scope().to_string()];
    if needs.identity_providers {
        scopes.push(crate::api::SCOPE_IDENTITY_PROVIDERS.to_string());
    }
    scopes
}

/// Reads the server: one list of clients, plus scopes / identity providers when needed.
async fn observe(
    connection: &crate::fetch::Connection,
    needs: validate::Needs,
    wanted: FieldSet,
    first: FirstRecord,
) -> Result<Observed, Error> {
    // The three reads are independent: send them together.
    let scopes = async {
        match needs.scopes {
            true => connection.list_scopes().await.map(Some),
            false => Ok(None),
        }
    };
    let identity_providers = async {
        match needs.identity_providers {
            true => connection.list_identity_providers().await.map(Some),
            false => Ok(None),
        }
    };
    // A server without the key pairs a check needs is no reason to stop: what it cannot
    // check is not sent, and said.
    let key_pairs = async {
        match needs.key_pairs {
            true => Some(connection.list_key_pairs().await.map_err(|e| e.to_string())),
            false => None,
        }
    };
    let (clients, scopes, identity_providers, key_pairs) = tokio::join!(
        connection.list_clients_telling(wanted, first),
        scopes,
        identity_providers,
        key_pairs
    );
    Ok(Observed {
        clients: clients?,
        scopes: scopes?,
        identity_providers: identity_providers?,
        key_pairs,
    })
}

/// What the comparison reads of the server's clients: every field a manifest declares,
/// and what updates and system clients need besides.
fn wanted(clients: &[validate::ClientSpec], needs: validate::Needs) -> FieldSet {
    let mut always = FieldSet::of(&[
        FieldId::IdentityProvider,
        FieldId::AuthorizedScopes,
        FieldId::KeyPairType,
        FieldId::PublicClientId,
    ]);
    if needs.key_pairs {
        // Whether a client holds its key pair's key is told by its public key.
        always = always.with(FieldId::PublicKey);
    }
    if clients.iter().any(|c| c.secret_delivery.is_some()) {
        // A delivery is compared with the secret the server holds.
        always = always.with(FieldId::Secret);
    }
    clients
        .iter()
        .flat_map(|c| c.fields.iter())
        .fold(always, |set, d| set.with(d.field))
}

/// Logs, at debug level, how long each stage of a plan took and the memory it left resident:
/// the figures BENCHMARKS.md quotes come from here.
struct Stages(std::time::Instant);

impl Stages {
    fn start() -> Self {
        Stages(std::time::Instant::now())
    }

    fn done(&self, stage: &'static str) {
        let ms = self.0.elapsed().as_millis() as u64;
        tracing::debug!(ms, rss_mib = rss_mib(), "{stage}");
    }
}

/// The resident memory, in MiB (0 where /proc is absent).
fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?.to_string();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb / 1024)
}

/// Load, validate, read the server, compare and plan.
pub async fn compute(
    manifests: &Manifests,
    options: &ConnectionOptions,
    env: &dyn Environment,
    plan_options: &Options,
    purpose: Purpose,
) -> Result<Outcome, Error> {
    let stages = Stages::start();
    // Settings the user forgot are said first, before any manifest finding.
    options.check()?;
    let (loaded, http) = tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            // The HTTP client is built while the manifests load: it sends nothing (nothing
            // is sent before they are valid), and reading the system's roots takes ms.
            let http = scope.spawn(|| options.http_client());
            let loaded = manifests.prepare(env, Severity::Error);
            let http = http.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (loaded, http)
        })
    });
    if loaded.failed() {
        // Unreadable or malformed files: what the loader found, before the network.
        return Ok(Outcome::Invalid(Box::new(loaded.into_failure())));
    }
    let (mut prepared, policy, needs) = loaded.into_prepared();
    stages.done("validated");
    if has_errors(&prepared.diagnostics) {
        return Ok(Outcome::Invalid(Box::new(prepared)));
    }
    // The store's settings are read now, from the environment (none when no manifest
    // declares a delivery).
    let store = super::deliver::store_for(&prepared.validated.clients, env);
    let connection = std::sync::Arc::new(options.connect_with(scopes_for(needs), http)?);
    let told = options.boruta_version;
    let (observed, version, digest) =
        read_and_judge(&mut prepared, &policy, &connection, needs, told, &stages).await?;
    prepared.check_waivers();
    if has_errors(&prepared.diagnostics) {
        return Ok(Outcome::Invalid(Box::new(prepared)));
    }
    // Every manifest is judged; only the selected ones are planned.
    select(&mut prepared.validated, &plan_options.select)?;
    let system = options.system_ids();
    let (mut diff, scope_view) = compare_all(
        &prepared.validated,
        &observed,
        &system,
        version.version,
        plan_options,
    )?;
    stages.done("compared");
    refuse_legacy_creates(&prepared, &mut diff);
    let target = Target {
        admin_url: connection.admin_url(),
        environment: manifests.environment.as_ref().map(|e| e.name.as_str()),
        scopes: connection.scopes(),
        version: &version,
        manifests_dir: &manifests.dir.to_string_lossy(),
        manifests_digest: digest,
        options: plan_options,
        purpose,
    };
    let (mut plan, plan_findings) = crate::plan::build(&diff, &target);
    diff.diagnostics.extend(plan_findings);
    let survey = super::deliver::Survey {
        clients: &prepared.validated.clients,
        diff: &diff,
        observed: &observed,
        store,
        token_endpoint: options.token_url.clone(),
    };
    let (deliveries, delivery_findings) = super::deliver::survey(survey, &mut plan).await;
    diff.diagnostics.extend(delivery_findings);
    stages.done("deliveries read");
    finish_plan(&mut plan, &mut prepared, &diff);
    stages.done("plan built");
    Ok(Outcome::Planned(Box::new(Computed {
        prepared,
        observed,
        system,
        diff,
        plan,
        connection,
        version: version.version,
        scope_view,
        deliveries,
    })))
}

/// Reads the server and, meanwhile, what needs only the manifests: their digest, and
/// their judging for the version `--boruta-version` gives or the first record read
/// shows (judged again when the whole list says otherwise). Returns what the server
/// holds, the version chosen (its mismatch with `told` added as a warning) and the
/// manifests' digest.
async fn read_and_judge(
    prepared: &mut Prepared,
    policy: &crate::policy::Policy,
    connection: &std::sync::Arc<crate::fetch::Connection>,
    needs: validate::Needs,
    told: Option<crate::kinds::client::fields::Named>,
    stages: &Stages,
) -> Result<(Observed, crate::api::VersionChoice, String), Error> {
    let (first, first_record) = FirstRecord::channel();
    let read = read_server(connection, needs, &prepared.validated.clients, first);
    let digest = tokio::task::block_in_place(|| crate::plan::manifests_digest(&prepared.sources));
    let early = early_version(told, first_record).await.map(|version| {
        let findings = tokio::task::block_in_place(|| prepared.judgement(policy, version));
        (version, findings)
    });
    stages.done("judged");
    let observed = joined(read).await?;
    stages.done("server read");
    // What the server's version does not support, or defaults differently, is known now.
    let version = crate::api::choose_version(told, &observed.clients);
    let mut findings = match early {
        Some((early, findings)) if early == version.version => findings,
        // Another record said otherwise: judged again for the version the list shows.
        _ => prepared.judgement(policy, version.version),
    };
    prepared.diagnostics.append(&mut findings);
    if let Some(mismatch) = &version.mismatch {
        let warning = Diagnostic::new(Code::BorutaVersionMismatch, mismatch.clone(), None);
        prepared.diagnostics.push(warning);
    }
    Ok((observed, version, digest))
}

/// The server read, started on the runtime's threads so that the caller goes on with
/// what needs only the manifests. Nothing is sent before the manifests are valid: the
/// connection's scopes and the fields read are the manifests' (least privilege).
fn read_server(
    connection: &std::sync::Arc<crate::fetch::Connection>,
    needs: validate::Needs,
    clients: &[validate::ClientSpec],
    first: FirstRecord,
) -> tokio::task::JoinHandle<Result<Observed, Error>> {
    let wanted = wanted(clients, needs);
    let connection = connection.clone();
    tokio::spawn(async move { observe(&connection, needs, wanted, first).await })
}

/// The version to judge the manifests for while the list of clients arrives:
/// `--boruta-version` when given (whatever the server renders), else what the first
/// record read shows (`None` when there is none; the whole list confirms it).
async fn early_version(
    told: Option<crate::kinds::client::fields::Named>,
    first_record: tokio::sync::oneshot::Receiver<crate::kinds::client::ClientRecord>,
) -> Option<Version> {
    if told.is_some() {
        return Some(crate::api::choose_version(told, &[]).version);
    }
    let record = first_record.await.ok()?;
    Some(crate::api::choose_version(None, &[record]).version)
}

/// The outcome of [`read_server`]: its error as it was, its panic as a panic.
async fn joined(read: tokio::task::JoinHandle<Result<Observed, Error>>) -> Result<Observed, Error> {
    match read.await {
        Ok(observed) => observed,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(Error::Other(Box::new(e))),
    }
}

/// The plan's last touches: the scope write scope when it writes scopes, and every
/// finding (the manifests', moved, and the comparison's) in the document.
fn finish_plan(plan: &mut Plan, prepared: &mut Prepared, diff: &Diff) {
    if plan.writes(ObjectKind::Scope) {
        // Least privilege: scope writes need their own scope, asked for only now.
        plan.scopes_requested
            .push(ObjectKind::Scope.write_scope().to_string());
    }
    let mut findings = std::mem::take(&mut prepared.diagnostics);
    findings.extend(diff.diagnostics.iter().cloned());
    sort_diagnostics(&mut findings);
    plan.diagnostics = findings;
}

/// `--select`: keeps the manifests a pattern names. A pattern that names none is a mistake
/// (a typo would otherwise plan nothing and succeed).
fn select(validated: &mut validate::Validated, patterns: &[String]) -> Result<(), Error> {
    if patterns.is_empty() {
        return Ok(());
    }
    let names = |pattern: &String, name: &str, id: uuid::Uuid| {
        crate::plan::selects(pattern, Some(name), &id.to_string())
    };
    let client = |p: &String, c: &validate::ClientSpec| names(p, &c.name, c.id);
    let scope = |p: &String, s: &ScopeSpec| names(p, &s.name, s.id);
    let matches_any = |p: &String| {
        validated.clients.iter().any(|c| client(p, c))
            || validated.scopes.iter().any(|s| scope(p, s))
    };
    if let Some(unmatched) = patterns.iter().find(|p| !matches_any(p)) {
        return Err(Error::Usage(format!(
            "--select {}: no manifest has this name or id",
            crate::escape::neutral(unmatched)
        )));
    }
    validated
        .clients
        .retain(|c| patterns.iter().any(|p| client(p, c)));
    validated
        .scopes
        .retain(|s| patterns.iter().any(|p| scope(p, s)));
    Ok(())
}

/// Compares every kind with the server, scopes first: a client's `authorized_scopes`
/// resolve against the scopes as they will be once the scope writes are made. Returns the
/// diff and that view of the scopes.
fn compare_all(
    validated: &validate::Validated,
    observed: &Observed,
    system: &SystemIds,
    version: Version,
    options: &Options,
) -> Result<(Diff, ScopeView), Error> {
    let mut diff = Diff::default();
    if let Some(server_scopes) = observed.scopes.as_deref() {
        let context =
            crate::kinds::scope::compare::Context::new(&observed.clients, &validated.scopes);
        let mut scopes =
            crate::diff::compare::<Scopes>(&validated.scopes, server_scopes, &context)?;
        let manages_scopes = !validated.scopes.is_empty();
        crate::kinds::scope::compare::keep_unmanaged(&mut scopes.unmanaged, manages_scopes);
        diff.extend(scopes);
    }
    let view = crate::kinds::scope::compare::view(observed.scopes.as_deref(), &validated.scopes);
    let mut context = crate::kinds::client::compare::Context::new(observed, system, version)
        .with_scopes(view.as_deref());
    context.send_key_pair_id = &options.send_key_pair_id;
    diff.extend(crate::diff::compare::<Clients>(
        &validated.clients,
        &observed.clients,
        &context,
    )?);
    Ok((diff, view))
}

/// The scopes as clients see them once a plan's scope writes are made.
type ScopeView = Option<Vec<Map<String, Value>>>;

/// A waived legacy value is acceptable on an existing client only: a client that holds one
/// and would be created fails the plan (boruta would refuse the create).
fn refuse_legacy_creates(prepared: &Prepared, diff: &mut Diff) {
    // The waived legacy findings, looked for once (usually none: nothing to refuse).
    let waived: Vec<Diagnostic> = prepared
        .diagnostics
        .iter()
        .filter(|d| d.waived.is_some())
        .filter(|d| {
            let Some(at) = &d.location else { return false };
            let line = at.line;
            let one = std::slice::from_ref(*d);
            crate::policy::waivers::legacy_waived_within(one, &at.file, line, line).is_some()
        })
        .cloned()
        .collect();
    if waived.is_empty() {
        return;
    }
    let (mut refused, mut refused_ids) = (Vec::new(), Vec::new());
    let entries = diff.by_identity();
    for desired in &prepared.validated.clients {
        let id = desired.id.to_string();
        let entry = entries.get(&(ObjectKind::Client, id.as_str()));
        if entry.is_none_or(|e| e.action != crate::diff::Action::Create) {
            continue;
        }
        let found = crate::policy::waivers::legacy_waived_within(
            &waived,
            &desired.file,
            desired.lines.0 as usize,
            desired.lines.1 as usize,
        );
        if let Some(location) = found {
            refused_ids.push(id.clone());
            refused.push(Diagnostic::new(
                Code::RefusedOnCreate,
                format!(
                    "client `{}` does not exist on the server, and the legacy value waived here is one boruta refuses on create: fix the value, or create the client with a value boruta accepts",
                    desired.name
                ),
                Some(location.clone()),
            ));
        }
    }
    drop(entries);
    let blocked: std::collections::HashSet<&str> = refused_ids.iter().map(String::as_str).collect();
    for entry in diff
        .objects
        .iter_mut()
        .filter(|e| blocked.contains(e.id.as_str()))
    {
        entry.blocked = true;
    }
    diff.diagnostics.extend(refused);
}

/// `plan`: the plan of `apply` with the same options.
pub fn plan(
    manifests: &Manifests,
    connection: &ConnectionOptions,
    env: &dyn Environment,
    options: &Options,
) -> Result<Outcome, Error> {
    super::runtime()?.block_on(compute(manifests, connection, env, options, Purpose::Apply))
}

/// Told an environment's name before it is planned (`None`) and its outcome after.
pub type EachEnvironment<'a> =
    dyn FnMut(&str, Option<Result<Outcome, Error>>) -> Result<(), Error> + 'a;

/// `plan --all-envs`: every environment of `env_dir` planned against its own server with
/// its own credentials (flags and `BORUTA_*` variables that set a server or a credential
/// are refused, so that no credential reaches another environment's server). `each` is
/// told each environment's name before it is planned (`start`) and its outcome after.
pub fn plan_environments(
    manifests: &Manifests,
    connection: &ConnectionOptions,
    env_dir: &std::path::Path,
    env: &dyn Environment,
    options: &Options,
    each: &mut EachEnvironment<'_>,
) -> Result<(), Error> {
    let set = connection.overrides();
    if !set.is_empty() {
        return Err(Error::Usage(format!(
            "--all-envs takes each environment's server and credentials from its own file, so that no credential reaches another environment's server: unset {}",
            set.join(", ")
        )));
    }
    let environments = crate::env::load_all(env_dir, env, crate::env::Use::Connect)?;
    for environment in environments {
        let name = environment.name.clone();
        let connection = connection.clone().with_environment(&environment);
        let mut manifests = manifests.clone();
        manifests.environment = Some(std::sync::Arc::new(environment));
        each(&name, None)?;
        each(&name, Some(plan(&manifests, &connection, env, options)))?;
    }
    Ok(())
}

/// `plan`'s exit code: 1 when the plan has errors, 2 (with `--detailed-exitcode`) when
/// apply would change something.
pub fn plan_exit(computed: &Computed, detailed_exitcode: bool) -> Exit {
    if computed.refused() {
        Exit::Failure
    } else if detailed_exitcode && computed.plan.summary.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    }
}

/// `drift`: the same comparison as a report (nothing is refused); unmanaged clients do not
/// count with `ignore_unmanaged`.
pub fn drift(
    manifests: &Manifests,
    connection: &ConnectionOptions,
    env: &dyn Environment,
    select: &[String],
    ignore_unmanaged: bool,
) -> Result<Outcome, Error> {
    let options = Options {
        select: select.to_vec(),
        ..Default::default()
    };
    let outcome = super::runtime()?.block_on(compute(
        manifests,
        connection,
        env,
        &options,
        Purpose::Report,
    ))?;
    Ok(match outcome {
        Outcome::Planned(mut computed) if ignore_unmanaged => {
            computed.plan.unmanaged.retain(|u| u.system.is_some());
            computed.plan.summary.unmanaged = 0;
            Outcome::Planned(computed)
        }
        other => other,
    })
}

/// `drift`'s exit code: 1 on errors, 2 when the server differs from git (a missing or
/// outdated secret delivery included).
pub fn drift_exit(computed: &Computed) -> Exit {
    let s = computed.plan.summary;
    if computed.refused() {
        Exit::Failure
    } else if s.drift + s.create + s.delete + s.conflict + s.unmanaged + s.deliver > 0 {
        Exit::Changes
    } else {
        Exit::Success
    }
}

/// Writes the plan for `apply --plan` (JSON, no secrets).
pub fn save(plan: &Plan, path: &std::path::Path) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(plan).map_err(|e| Error::Other(Box::new(e)))?;
    std::fs::write(path, text + "\n").map_err(|source| Error::Write {
        what: "the plan to",
        path: path.to_path_buf(),
        source,
    })
}

/// The process ends right after the report: freeing 100,000 typed manifests and server
/// records one by one only costs time. The connection's secrets are dropped (and so
/// zeroized by secrecy) before the rest is leaked.
pub fn skip_teardown(computed: Computed) {
    let Computed {
        prepared,
        observed,
        diff,
        plan,
        connection,
        ..
    } = computed;
    drop(connection);
    std::mem::forget((prepared, observed, diff, plan));
}
