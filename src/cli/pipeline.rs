//! The shared stages of `plan`, `drift` and `apply`: load and validate, connect with the
//! least scopes, read the server once, diff, and build the plan.

use super::{
    style_for_stdout, ConnectionArgs, DriftArgs, ManifestArgs, PlanArgs, PlanFormat, TokenAuthArg,
};
use crate::error::{Error, Exit};
use crate::findings::Code;
use crate::load::Environment;
use crate::render::{self, diagnostics::Counts};
use crate::source::{has_errors, sort_diagnostics};
use crate::validate;
use std::io::{IsTerminal, Write};

/// Manifests loaded and validated, with every finding so far (the loader's and the
/// validator's, moved into one list) and the waiver comments that apply to them.
pub(crate) struct Prepared {
    pub sources: crate::source::SourceMap,
    pub validated: validate::Validated,
    pub diagnostics: Vec<crate::source::Diagnostic>,
    pub waivers: Vec<crate::source::Waiver>,
}

impl Prepared {
    pub(crate) fn new(
        loaded_diagnostics: Vec<crate::source::Diagnostic>,
        sources: crate::source::SourceMap,
        waivers: Vec<crate::source::Waiver>,
        mut validated: validate::Validated,
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
    pub(crate) fn add(&mut self, mut findings: Vec<crate::source::Diagnostic>) {
        crate::policy::waivers::waive(&mut findings, &self.waivers);
        self.diagnostics.append(&mut findings);
    }

    /// The findings that depend on the boruta version and the policy: the version's
    /// field support and defaults, and the security rules, at the policy's severities.
    pub(crate) fn judge(
        &mut self,
        policy: &crate::policy::Policy,
        version: crate::kinds::client::fields::Version,
    ) {
        let clients = &self.validated.clients;
        let mut findings = validate::check_version(clients, version);
        findings.extend(crate::policy::rules::check(clients, policy, version));
        self.add(policy.judge(findings));
    }

    /// Once every manifest finding is in: the waivers that are themselves wrong.
    pub(crate) fn check_waivers(&mut self) {
        let problems = crate::policy::waivers::check(&self.waivers, &self.diagnostics);
        self.diagnostics.extend(problems);
    }
}

/// Findings on stderr, as text with carets (notes are `validate`'s business).
pub(crate) fn report_findings(
    prepared: &Prepared,
    extra: &[crate::source::Diagnostic],
) -> Result<(), Error> {
    let mut findings: Vec<_> = prepared
        .diagnostics
        .iter()
        .chain(extra)
        .filter(|d| d.severity != crate::source::Severity::Note)
        .cloned()
        .collect();
    if findings.is_empty() {
        return Ok(());
    }
    sort_diagnostics(&mut findings);
    let counts = Counts::of(
        &findings,
        prepared.validated.clients.len(),
        prepared.sources.len(),
    );
    let style = super::style_for(std::io::stderr().is_terminal());
    let mut err = std::io::stderr().lock();
    render::diagnostics::human(
        &mut err,
        &findings,
        &prepared.sources,
        &prepared.validated.redacted_lines,
        counts,
        style,
    )?;
    Ok(())
}

/// The tokio runtime of the network commands.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(Box::new(e)))
}

fn read_secret_file(path: &std::path::Path) -> Result<String, Error> {
    let fail = |reason: String| {
        Error::Usage(format!(
            "cannot read --client-secret-file {}: {reason}",
            path.display()
        ))
    };
    // A secret is short: a FIFO or a huge file here is a mistake, not a secret.
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() || meta.len() > 64 * 1024 {
        return Err(fail("it must be a regular file of at most 64 KiB".into()));
    }
    let mut text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

/// The settings every server command needs, present.
pub(crate) fn check_settings(args: &ConnectionArgs) -> Result<(), Error> {
    if args.admin_url.is_none() {
        return Err(Error::Usage(
            "no admin URL: set --admin-url or BORUTA_ADMIN_URL (the listener serving /api)".into(),
        ));
    }
    Ok(())
}

/// Connection settings from flags and environment. Scopes are decided by the caller.
pub(crate) fn connect(
    args: &ConnectionArgs,
    scopes: Vec<String>,
) -> Result<crate::fetch::Connection, Error> {
    use crate::fetch::{Connection, Credentials, Settings, TokenAuth};
    use secrecy::SecretString;
    let secret = match (&args.client_secret_file, &args.client_secret) {
        (Some(path), _) => Some(read_secret_file(path)?),
        (None, Some(secret)) => Some(secret.clone()),
        (None, None) => None,
    };
    let credentials = match (&args.client_id, secret, &args.access_token) {
        (Some(id), Some(secret), _) => Credentials::ClientCredentials {
            client_id: id.clone(),
            secret: SecretString::from(secret),
            auth: match args.token_auth {
                TokenAuthArg::Basic => TokenAuth::Basic,
                TokenAuthArg::Post => TokenAuth::Post,
            },
        },
        (_, _, Some(token)) => Credentials::AccessToken(SecretString::from(token.clone())),
        (Some(_), None, None) => {
            return Err(Error::Usage(
                "BORUTA_CLIENT_ID is set but no secret: set BORUTA_CLIENT_SECRET or --client-secret-file".into(),
            ))
        }
        (None, _, None) => {
            return Err(Error::Usage(
                "no credentials: set BORUTA_CLIENT_ID and BORUTA_CLIENT_SECRET (or --client-secret-file), or BORUTA_ACCESS_TOKEN".into(),
            ))
        }
    };
    check_settings(args)?;
    let admin_url = args.admin_url.clone().unwrap_or_default();
    let settings = Settings {
        admin_url,
        token_url: args.token_url.clone(),
        credentials,
        ca_cert: args.ca_cert.clone(),
        allow_insecure_http: args.allow_insecure_http,
        timeout: std::time::Duration::from_secs(args.timeout.max(1)),
        max_retries: args.max_retries,
        max_response_bytes: args.max_response_bytes,
        proxies: crate::fetch::ProxyEnv::from_process(),
    };
    Ok(Connection::new(settings, scopes)?)
}

/// The least scopes the manifests need.
fn scopes_for(needs: validate::Needs) -> Vec<String> {
    let mut scopes = vec![crate::api::SCOPE_CLIENTS.to_string()];
    if needs.identity_providers {
        scopes.push(crate::api::SCOPE_IDENTITY_PROVIDERS.to_string());
    }
    scopes
}

/// Reads the server: one list of clients, plus scopes / identity providers when needed.
async fn observe(
    connection: &crate::fetch::Connection,
    needs: validate::Needs,
) -> Result<crate::diff::Observed, Error> {
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
    let (clients, scopes, identity_providers) =
        tokio::join!(connection.list_clients(), scopes, identity_providers);
    let (clients, scopes, identity_providers) = (clients?, scopes?, identity_providers?);
    Ok(crate::diff::Observed {
        clients,
        scopes,
        identity_providers,
    })
}

/// Everything `plan`, `drift` and `apply` compute before deciding anything.
pub(crate) struct Computed {
    pub prepared: Prepared,
    pub observed: crate::diff::Observed,
    pub system: crate::kinds::client::SystemIds,
    pub diff: crate::diff::Diff,
    pub plan: crate::plan::Plan,
    pub connection: crate::fetch::Connection,
    /// The boruta version the plan assumed.
    pub version: crate::kinds::client::fields::Version,
}

/// Either a plan, or the findings that prevent one (already printed on stderr).
pub(crate) enum Outcome {
    Planned(Box<Computed>),
    Invalid(Vec<crate::source::Diagnostic>),
}

impl Prepared {
    /// The findings to print and to put in a failure document, sorted.
    fn into_findings(self) -> Vec<crate::source::Diagnostic> {
        let mut findings = self.diagnostics;
        sort_diagnostics(&mut findings);
        findings
    }
}

/// Load, validate, read the server, diff and plan. The findings are printed on stderr as
/// they become final.
pub(crate) async fn compute(
    manifests: &ManifestArgs,
    args: &ConnectionArgs,
    env: &dyn Environment,
    options: &crate::plan::Options,
    purpose: crate::plan::Purpose,
) -> Result<Outcome, Error> {
    let started = std::time::Instant::now();
    // Settings the user forgot are said first, before any manifest finding.
    check_settings(args)?;
    let mut loaded = manifests.load(env, crate::source::Severity::Error);
    let policy = manifests.policy(&mut loaded);
    let sources = loaded.sources;
    if has_errors(&loaded.diagnostics) {
        // Unreadable or malformed files: stop before the network.
        let prepared = Prepared::new(
            loaded.diagnostics,
            sources,
            Vec::new(),
            validate::Validated::default(),
        );
        report_findings(&prepared, &[])?;
        return Ok(Outcome::Invalid(prepared.into_findings()));
    }
    let needs = validate::scan_needs(&loaded.documents);
    let connection = connect(args, scopes_for(needs))?;
    // Validation is CPU work and the server read is mostly waiting: do both at once. The
    // read is discarded when the manifests turn out to be invalid.
    let documents = loaded.documents;
    let waivers = loaded.waivers;
    let for_validation = waivers.clone();
    let validation =
        tokio::task::spawn_blocking(move || validate::validate(documents, &for_validation));
    let observed = observe(&connection, needs).await;
    let validated = validation.await.map_err(|e| Error::Other(Box::new(e)))?;
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "manifests validated and server read"
    );
    let mut prepared = Prepared::new(loaded.diagnostics, sources, waivers, validated);
    if has_errors(&prepared.diagnostics) {
        report_findings(&prepared, &[])?;
        return Ok(Outcome::Invalid(prepared.into_findings()));
    }
    let observed = observed?;
    // What the server's version does not support, or defaults differently, is known now.
    let version = crate::api::choose_version(args.boruta_version, &observed.clients);
    prepared.judge(&policy, version.version);
    if let Some(mismatch) = &version.mismatch {
        prepared.diagnostics.push(crate::source::Diagnostic::new(
            Code::BorutaVersionMismatch,
            mismatch.clone(),
            None,
        ));
    }
    prepared.check_waivers();
    if has_errors(&prepared.diagnostics) {
        report_findings(&prepared, &[])?;
        return Ok(Outcome::Invalid(prepared.into_findings()));
    }
    // Every manifest is judged; only the selected ones are planned.
    select(&mut prepared.validated.clients, &options.select)?;
    let system = crate::kinds::client::SystemIds {
        admin_client_id: args.admin_client_id.clone(),
        self_client_id: args.client_id.clone(),
    };
    let context = crate::kinds::client::compare::Context::new(&observed, &system, version.version);
    let mut diff = crate::diff::compare::<crate::kinds::client::Clients>(
        &prepared.validated.clients,
        &observed.clients,
        &context,
    )
    .map_err(|e| Error::Other(Box::new(e)))?;
    refuse_legacy_creates(&prepared, &mut diff);
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "diff computed");
    let (mut plan, plan_findings) = crate::plan::build(
        &diff,
        &crate::plan::Target {
            admin_url: connection.admin_url(),
            scopes: connection.scopes(),
            version: &version,
            manifests_dir: &manifests.dir().to_string_lossy(),
            options,
            purpose,
        },
        &prepared.sources,
    );
    diff.diagnostics.extend(plan_findings);
    // The document carries every finding: the manifests' and the comparison's.
    let mut findings: Vec<_> = prepared
        .diagnostics
        .iter()
        .chain(&diff.diagnostics)
        .cloned()
        .collect();
    sort_diagnostics(&mut findings);
    plan.diagnostics = findings;
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "plan built");
    report_findings(&prepared, &diff.diagnostics)?;
    Ok(Outcome::Planned(Box::new(Computed {
        prepared,
        observed,
        system,
        diff,
        plan,
        connection,
        version: version.version,
    })))
}

/// `--select`: keeps the manifests a pattern names. A pattern that names none is a mistake
/// (a typo would otherwise plan nothing and succeed).
fn select(clients: &mut Vec<validate::ClientSpec>, patterns: &[String]) -> Result<(), Error> {
    if patterns.is_empty() {
        return Ok(());
    }
    let names = |pattern: &String, c: &validate::ClientSpec| {
        crate::plan::selects(pattern, Some(&c.name), &c.id.to_string())
    };
    if let Some(unmatched) = patterns
        .iter()
        .find(|p| !clients.iter().any(|c| names(p, c)))
    {
        return Err(Error::Usage(format!(
            "--select {}: no manifest has this name or id",
            crate::render::escape::neutral(unmatched)
        )));
    }
    clients.retain(|c| patterns.iter().any(|p| names(p, c)));
    Ok(())
}

/// A waived legacy value is acceptable on an existing client only: a client that holds one
/// and would be created fails the plan (boruta would refuse the create).
fn refuse_legacy_creates(prepared: &Prepared, diff: &mut crate::diff::Diff) {
    let mut refused = Vec::new();
    for desired in &prepared.validated.clients {
        let id = desired.id.to_string();
        let entry = diff.object(crate::kinds::ObjectKind::Client, &id);
        if entry.is_none_or(|e| e.action != crate::diff::Action::Create) {
            continue;
        }
        let found = crate::policy::waivers::legacy_waived_within(
            &prepared.diagnostics,
            &desired.file,
            desired.lines.0 as usize,
            desired.lines.1 as usize,
        );
        if let Some(location) = found {
            refused.push(crate::source::Diagnostic::new(Code::RefusedOnCreate,
                format!(
                    "client `{}` does not exist on the server, and the legacy value waived here is one boruta refuses on create: fix the value, or create the client with a value boruta accepts",
                    desired.name
                ),
                Some(location.clone()),
            ));
        }
    }
    diff.diagnostics.extend(refused);
}

/// Where the full plan is when a comment cannot hold it (the example workflow uploads it).
const FULL_PLAN: &str = "the JSON plan (<code>plan --format json</code>), which the example workflow uploads as the artifact <code>boruta-gitops-plan</code>";

pub(crate) fn print_plan(
    plan: &crate::plan::Plan,
    format: PlanFormat,
    report: render::plan::Report,
) -> Result<(), Error> {
    // Buffered: stdout flushes at every newline, a syscall per line of a large plan.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        PlanFormat::Human => render::plan::human(&mut out, plan, report, style_for_stdout())?,
        PlanFormat::Json => render::plan::json(&mut out, plan)?,
        PlanFormat::Markdown => render::plan::markdown(&mut out, plan, report, FULL_PLAN)?,
    }
    out.flush()?;
    Ok(())
}

/// What a failed `plan`/`drift` prints on stdout: a JSON or Markdown document saying why
/// (the human format has already said it on stderr).
fn print_failure(
    format: PlanFormat,
    report: render::plan::Report,
    error: &str,
    findings: &[crate::source::Diagnostic],
) -> Result<(), Error> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        PlanFormat::Human => {}
        PlanFormat::Json => render::plan::json_failure(&mut out, error, findings)?,
        PlanFormat::Markdown => render::plan::markdown_failure(&mut out, report, error, findings)?,
    }
    out.flush()?;
    Ok(())
}

/// Computes the plan of `plan` or `drift`; when that fails, prints the failure document
/// first. `None`: the manifests are invalid.
fn computed_or_failure(
    manifests: &ManifestArgs,
    connection: &ConnectionArgs,
    env: &dyn Environment,
    options: &crate::plan::Options,
    format: PlanFormat,
    report: render::plan::Report,
) -> Result<Option<Box<Computed>>, Error> {
    let purpose = match report {
        render::plan::Report::Plan => crate::plan::Purpose::Apply,
        render::plan::Report::Drift => crate::plan::Purpose::Report,
    };
    let outcome =
        runtime().and_then(|r| r.block_on(compute(manifests, connection, env, options, purpose)));
    match outcome {
        Ok(Outcome::Planned(computed)) => Ok(Some(computed)),
        Ok(Outcome::Invalid(findings)) => {
            print_failure(format, report, "the manifests have errors", &findings)?;
            Ok(None)
        }
        Err(error) => {
            let text = crate::error::Chain(&error).to_string();
            print_failure(format, report, &text, &[])?;
            Err(error)
        }
    }
}

pub(crate) fn run_plan(args: &PlanArgs, env: &dyn Environment) -> Result<Exit, Error> {
    let report = render::plan::Report::Plan;
    let options = args.converge.options();
    let Some(computed) = computed_or_failure(
        &args.manifests,
        &args.connection,
        env,
        &options,
        args.format,
        report,
    )?
    else {
        return Ok(Exit::Failure);
    };
    print_plan(&computed.plan, args.format, report)?;
    if let Some(path) = &args.out {
        let text =
            serde_json::to_string_pretty(&computed.plan).map_err(|e| Error::Other(Box::new(e)))?;
        std::fs::write(path, text + "\n").map_err(|e| {
            Error::Usage(format!("cannot write the plan to {}: {e}", path.display()))
        })?;
        eprintln!("plan saved to {}", path.display());
    }
    let exit = if has_errors(&computed.diff.diagnostics) {
        Exit::Failure
    } else if args.detailed_exitcode && computed.plan.summary.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    };
    skip_teardown(*computed);
    Ok(exit)
}

/// The process ends right after the report: freeing 10,000 parsed manifests and server
/// records one by one only costs time (about a tenth of a large plan). The connection's
/// secrets are dropped (and so zeroized by secrecy) before the rest is leaked.
fn skip_teardown(computed: Computed) {
    let Computed {
        prepared,
        observed,
        diff,
        plan,
        connection,
        system: _,
        version: _,
    } = computed;
    drop(connection);
    std::mem::forget((prepared, observed, diff, plan));
}

pub(crate) fn run_drift(args: &DriftArgs, env: &dyn Environment) -> Result<Exit, Error> {
    let report = render::plan::Report::Drift;
    let options = crate::plan::Options {
        select: args.select.select.clone(),
        ..Default::default()
    };
    let Some(mut computed) = computed_or_failure(
        &args.manifests,
        &args.connection,
        env,
        &options,
        args.format,
        report,
    )?
    else {
        return Ok(Exit::Failure);
    };
    if args.ignore_unmanaged {
        computed.plan.unmanaged.retain(|u| u.system.is_some());
        computed.plan.summary.unmanaged = 0;
    }
    print_plan(&computed.plan, args.format, report)?;
    let s = computed.plan.summary;
    let exit = if has_errors(&computed.diff.diagnostics) {
        Exit::Failure
    } else if s.drift + s.create + s.delete + s.conflict + s.unmanaged > 0 {
        Exit::Changes
    } else {
        Exit::Success
    };
    skip_teardown(*computed);
    Ok(exit)
}
