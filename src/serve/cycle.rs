//! One reconciliation cycle: exactly the `apply --auto-approve` of the command line, through
//! the same library calls (`commands::apply::prepare`, then `execute` without its own
//! signal watcher: `serve` owns the signals), with the same least-privilege token and the
//! same refusals. `--dry-run` stops after the plan. Nothing here decides what to write;
//! this module only reads the plan and the outcomes to say how the cycle went: its result,
//! the state of each object kind after it, its findings by severity and its writes.

use super::control::Control;
use crate::apply::{ObjectResult, Outcome};
use crate::commands::apply::{self, ApplyOptions, Ready, Reporter, Start};
use crate::commands::{ConnectionOptions, Manifests};
use crate::diff::Action;
use crate::error::Chain;
use crate::error::Error;
use crate::kinds::ObjectKind;
use crate::load::Environment;
use crate::plan::{Plan, PlannedObject};
use crate::source::{Diagnostic, Severity};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What every cycle does: `apply`'s inputs and options.
#[derive(Clone)]
pub struct Settings {
    /// The manifests, before the environment's selection and variables.
    pub manifests: Manifests,
    /// The flags' and `BORUTA_*` connection settings (they override the environment's).
    pub connection: ConnectionOptions,
    /// `--env NAME`, read again every cycle (as DIR is).
    pub environment: Option<Chosen>,
    /// `--update`, `--allow-delete`, `--select`, `--send-key-pair-id`.
    pub converge: crate::plan::Options,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Plan and record, never write.
    pub dry_run: bool,
}

/// `--env NAME` and `--env-dir DIR`.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub dir: PathBuf,
    pub name: String,
}

impl Settings {
    /// One cycle's manifests and connection: the environment file, when one is chosen, is
    /// read again (a git-sync sidecar may have changed it), as `apply --env` reads it.
    pub fn targeted(&self, env: &dyn Environment) -> Result<(Manifests, ConnectionOptions), Error> {
        let (mut manifests, mut connection) = (self.manifests.clone(), self.connection.clone());
        if let Some(chosen) = &self.environment {
            let purpose = crate::env::Use::Connect;
            let file = crate::env::load(&chosen.dir, &chosen.name, env, purpose)?;
            connection = connection.with_environment(&file);
            manifests.environment = Some(Arc::new(file));
        }
        Ok((manifests, connection))
    }
}

/// How many objects of one kind are in each state after a cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct States {
    pub in_sync: usize,
    /// Declared, not on the server (a create to make, or one that failed or was blocked).
    pub missing: usize,
    /// On the server, but not as declared (a drift, an update or delete not made).
    pub drifted: usize,
    /// On the server, not declared, not a system object.
    pub unmanaged: usize,
}

/// The state of every kind after a cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Objects {
    pub clients: States,
    pub scopes: States,
}

/// Findings of a cycle by severity (a waived finding counts as a note: it never fails).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Findings {
    pub error: usize,
    pub warning: usize,
    pub note: usize,
}

/// What a write was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteAction {
    Create,
    /// An update, or a re-send of write-only fields.
    Update,
    Delete,
}

/// How a write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteResult {
    /// The object ends as planned (written, or found already so).
    Success,
    Error,
    /// Not sent (an earlier failure, or a stop).
    NotAttempted,
}

/// How a cycle went.
#[derive(Debug, Default)]
pub struct Cycle {
    pub duration: Duration,
    /// Why the cycle failed (printable: escaped, no secret); `None` on success.
    pub failure: Option<String>,
    /// A stop (SIGTERM, SIGINT) came before the writes: nothing was written.
    pub stopped_before_writes: bool,
    /// The state after the cycle, when a plan was computed.
    pub objects: Option<Objects>,
    /// When the manifests were read.
    pub findings: Option<Findings>,
    /// Each write and how it ended.
    pub writes: Vec<(WriteAction, WriteResult)>,
    /// Clients created with a secret boruta generated (no `secret:` declared).
    pub generated_secrets: usize,
}

impl Cycle {
    pub fn succeeded(&self) -> bool {
        self.failure.is_none() && !self.stopped_before_writes
    }

    /// How many writes ended `result`.
    pub fn count(&self, action: WriteAction, result: WriteResult) -> usize {
        self.writes
            .iter()
            .filter(|w| **w == (action, result))
            .count()
    }
}

/// Outcomes are counted from the report; nothing is printed while the jobs run.
struct Silent;

impl Reporter for Silent {
    fn finished(&mut self, _result: &ObjectResult, _done: usize, _total: usize) {}
}

/// Runs one cycle on `runtime` (the cycle thread's own).
pub fn run(
    settings: &Settings,
    env: &dyn Environment,
    control: &Control,
    runtime: &tokio::runtime::Runtime,
) -> Cycle {
    let started = Instant::now();
    let options = ApplyOptions {
        saved_plan: None,
        converge: settings.converge.clone(),
    };
    let prepared = settings.targeted(env).and_then(|(manifests, connection)| {
        apply::prepare(&manifests, &connection, env, &options, runtime)
    });
    let mut cycle = match prepared {
        Err(error) => Cycle {
            failure: Some(crate::escape::neutral(&Chain(&error).to_string()).into_owned()),
            ..Cycle::default()
        },
        Ok(Start::Invalid(prepared)) => {
            log_errors(&prepared.diagnostics);
            let findings = findings(&prepared.diagnostics);
            Cycle {
                failure: Some(format!(
                    "the manifests have {} error(s): nothing was written",
                    findings.error
                )),
                findings: Some(findings),
                ..Cycle::default()
            }
        }
        Ok(Start::Ready(mut ready)) => planned(settings, control, &mut ready, runtime),
    };
    cycle.duration = started.elapsed();
    cycle
}

/// The plan's cycle: refused, planned only, or written.
fn planned(
    settings: &Settings,
    control: &Control,
    ready: &mut Ready,
    runtime: &tokio::runtime::Runtime,
) -> Cycle {
    let plan = &ready.computed.plan;
    let mut cycle = Cycle {
        findings: Some(findings(&plan.diagnostics)),
        objects: Some(objects(plan, &[])),
        ..Cycle::default()
    };
    if let Some(refusal) = &ready.refusal {
        log_errors(&plan.diagnostics);
        cycle.failure = Some(crate::render::apply::refusal(refusal));
        return cycle;
    }
    if settings.dry_run || ready.jobs.is_empty() {
        return cycle;
    }
    if !control.writing(ready.computed.connection.cancellation()) {
        cycle.stopped_before_writes = true;
        return cycle;
    }
    let report = match apply::execute_unwatched(
        ready,
        settings.concurrency,
        None,
        Box::new(Silent),
        runtime,
    ) {
        Ok(report) => report,
        Err(error) => {
            cycle.failure = Some(crate::escape::neutral(&Chain(&error).to_string()).into_owned());
            return cycle;
        }
    };
    let plan = &ready.computed.plan;
    cycle.objects = Some(objects(plan, &report.results));
    cycle.writes = writes(plan, &report.results);
    cycle.generated_secrets = report.generated_without_file;
    for result in report.results.iter().filter(|r| !r.outcome.converged()) {
        tracing::warn!("{}", crate::render::apply::result_line(result));
    }
    let stopped_by = control.stopped_by();
    if let (Some(signal), false) = (stopped_by, report.converged()) {
        let not_attempted = report
            .results
            .iter()
            .filter(|r| r.outcome == Outcome::NotAttempted)
            .count();
        cycle.failure = Some(format!(
            "stopped by {signal} between writes: {not_attempted} of {} write(s) not attempted (the next run makes them)",
            report.results.len()
        ));
    } else if let Some(error) = &report.read_back_error {
        cycle.failure = Some(crate::render::apply::read_back_failed(error));
    } else if !report.converged() {
        let failed = report
            .results
            .iter()
            .filter(|r| !r.outcome.converged())
            .count();
        cycle.failure = Some(format!(
            "{failed} of {} write(s) did not take",
            report.results.len()
        ));
    }
    cycle
}

/// The errors that failed a cycle, one log line each (`file:line:col code: message`).
fn log_errors(diagnostics: &[Diagnostic]) {
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error && d.waived.is_none());
    for d in errors {
        let at = d
            .location
            .as_ref()
            .map(|l| format!("{}:{}:{}: ", crate::escape::neutral(&l.file), l.line, l.col))
            .unwrap_or_default();
        let message = crate::escape::neutral(&d.message);
        tracing::warn!("{at}error[{}]: {message}", d.code);
    }
}

/// Findings by severity; waived ones count as notes.
pub fn findings(diagnostics: &[Diagnostic]) -> Findings {
    let mut counts = Findings::default();
    for d in diagnostics {
        let severity = match d.waived {
            Some(_) => Severity::Note,
            None => d.severity,
        };
        match severity {
            Severity::Error => counts.error += 1,
            Severity::Warning => counts.warning += 1,
            Severity::Note => counts.note += 1,
        }
    }
    counts
}

/// One of the states of [`States`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    InSync,
    Missing,
    Drifted,
}

/// The state a planned object is in before any write (a blocked one: that of the action
/// it could not make).
fn planned_state(object: &PlannedObject) -> State {
    let action = match (object.action, object.blocked) {
        (Action::Blocked, Some(blocked)) => blocked,
        (action, _) => action,
    };
    match action {
        Action::InSync | Action::Absent | Action::Resend => State::InSync,
        Action::Create | Action::Conflict => State::Missing,
        Action::Update | Action::Drift | Action::Delete | Action::Blocked => State::Drifted,
    }
}

/// The state of every object after the writes in `results` (an object whose write
/// converged is in sync).
pub fn objects(plan: &Plan, results: &[ObjectResult]) -> Objects {
    let converged: std::collections::HashSet<(ObjectKind, &str)> = results
        .iter()
        .filter(|r| r.outcome.converged())
        .map(|r| (r.kind, r.id.as_str()))
        .collect();
    let mut objects = Objects::default();
    for object in plan.objects() {
        let states = states_of(&mut objects, object.kind);
        let state = match converged.contains(&(object.kind, object.id.as_str())) {
            true => State::InSync,
            false => planned_state(object),
        };
        *match state {
            State::InSync => &mut states.in_sync,
            State::Missing => &mut states.missing,
            State::Drifted => &mut states.drifted,
        } += 1;
    }
    for unmanaged in plan.unmanaged.iter().filter(|u| u.system.is_none()) {
        states_of(&mut objects, unmanaged.kind).unmanaged += 1;
    }
    objects
}

fn states_of(objects: &mut Objects, kind: ObjectKind) -> &mut States {
    match kind {
        ObjectKind::Client => &mut objects.clients,
        ObjectKind::Scope => &mut objects.scopes,
    }
}

/// Each write to boruta (as the plan planned it) and how it ended. A secret delivered to
/// the secret store without a boruta write (a client in sync) is not one.
fn writes(plan: &Plan, results: &[ObjectResult]) -> Vec<(WriteAction, WriteResult)> {
    let planned: HashMap<(ObjectKind, &str), Action> = plan
        .objects()
        .map(|o| ((o.kind, o.id.as_str()), o.action))
        .collect();
    results
        .iter()
        .filter_map(|r| {
            let action = match planned.get(&(r.kind, r.id.as_str()))? {
                Action::Create => WriteAction::Create,
                Action::Delete => WriteAction::Delete,
                Action::Update | Action::Resend => WriteAction::Update,
                _ => return None,
            };
            let result = match r.outcome {
                Outcome::Failed => WriteResult::Error,
                Outcome::NotAttempted => WriteResult::NotAttempted,
                _ => WriteResult::Success,
            };
            Some((action, result))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan() -> Plan {
        let object = |id: &str, action: &str| json!({"id": id, "name": id, "file": "m.yaml", "line": 1, "action": action});
        let mut blocked = object("blocked-create", "blocked");
        blocked["blocked"] = json!("create");
        serde_json::from_value(json!({
            "format_version": 1, "tool_version": "0", "admin_url": "http://x",
            "scopes_requested": [], "manifests_digest": "", "summary": {
                "create": 0, "drift": 0, "in_sync": 0, "conflict": 0, "unmanaged": 0, "system": 0
            },
            "clients": [
                object("in-sync", "in-sync"), object("absent", "absent"),
                object("resend", "resend"), object("created", "create"),
                object("create-failed", "create"), object("conflict", "conflict"),
                object("drift", "drift"), object("update", "update"),
                object("delete", "delete"), blocked,
            ],
            "scopes": [{"kind": "scope", "id": "s", "name": "s", "file": "s.yaml", "line": 1, "action": "create"}],
            "unmanaged": [
                {"id": "by-hand", "name": "by-hand"},
                {"id": "admin", "name": "admin", "system": "admin-ui"},
                {"kind": "scope", "id": "old", "name": "old"},
            ],
        }))
        .unwrap()
    }

    fn result(id: &str, outcome: Outcome) -> ObjectResult {
        ObjectResult {
            kind: ObjectKind::Client,
            id: id.into(),
            name: id.into(),
            outcome,
            reason: None,
            diagnostics: Vec::new(),
            secret: None,
            secret_generated: false,
            delivery: None,
        }
    }

    #[test]
    fn each_object_is_counted_in_its_state_after_the_writes() {
        let plan = plan();
        let before = objects(&plan, &[]);
        let states = |in_sync, missing, drifted, unmanaged| States {
            in_sync,
            missing,
            drifted,
            unmanaged,
        };
        assert_eq!(before.clients, states(3, 4, 3, 1));
        assert_eq!(before.scopes, states(0, 1, 0, 1));
        let results = [
            result("created", Outcome::Created),
            result("create-failed", Outcome::Failed),
            result("update", Outcome::Updated),
            result("delete", Outcome::NotAttempted),
            result("in-sync", Outcome::Delivered),
        ];
        assert_eq!(objects(&plan, &results).clients, states(5, 3, 2, 1));
        assert_eq!(
            writes(&plan, &results),
            [
                (WriteAction::Create, WriteResult::Success),
                (WriteAction::Create, WriteResult::Error),
                (WriteAction::Update, WriteResult::Success),
                (WriteAction::Delete, WriteResult::NotAttempted),
            ]
        );
    }
}
