//! What `apply` says: the confirmation question, one line per client as it finishes (or a
//! progress bar on a terminal), the closing report in text or JSON, why nothing was done,
//! and what a signal does. Every text from the server or a manifest is neutralised.

use super::console::{Console, PlanFormat};
use super::plan::Report as Shown;
use super::Style;
use crate::apply::{ObjectResult, Outcome};
use crate::commands::apply::{Counts, Ready, Refusal, Report};
use crate::commands::Stop;
use crate::error::Error;
use crate::escape::neutral;
use crate::kinds::ObjectKind;
use crate::plan::{self, Plan, Stale};
use std::io::{self, Write};

/// What `apply` is about to carry out: the findings on stderr, and in the human format the
/// plan on stdout.
pub fn planned(ready: &Ready, human: bool, console: Console) -> Result<(), Error> {
    let computed = &ready.computed;
    super::console::findings(&computed.findings(), &computed.prepared, console.stderr)?;
    if human {
        let plan = &computed.plan;
        super::console::plan(plan, PlanFormat::Human, Shown::Plan, console.stdout)?;
    }
    Ok(())
}

/// `apply` wrote nothing: the report (in JSON, without results) on stdout, and why on
/// stderr.
pub fn stopped(plan: &Plan, json_report: bool, stop: &Stop<Refusal>) -> Result<(), Error> {
    if json_report {
        json(&mut io::stdout().lock(), plan, &[])?;
    }
    let why = match stop {
        Stop::Refused(refused) => refusal(refused),
        Stop::NeedsApproval => NEEDS_APPROVAL.to_string(),
        Stop::Cancelled => CANCELLED.to_string(),
    };
    super::console::error(&why);
    Ok(())
}

/// A plan without a job, said in text or as the JSON report without results.
pub fn nothing_done(plan: &Plan, human: bool) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match human {
        true => nothing_to_do(&mut out, plan),
        false => json(&mut out, plan, &[]),
    }
}

/// The confirmation question of `ready`.
pub fn question_for(ready: &Ready) -> String {
    let admin_url = &ready.computed.plan.admin_url;
    question(ready.counts, admin_url, ready.store_written())
}

/// Before the jobs run: what they are (on stdout, in the human format), and how their
/// progress is shown (a bar on a terminal from 20 jobs on).
pub fn starting_run(
    ready: &Ready,
    human: bool,
    concurrency: usize,
    stderr_is_terminal: bool,
) -> io::Result<Progress> {
    if human {
        starting(&mut io::stdout().lock(), ready.counts, concurrency)?;
    }
    let bar = human && ready.jobs.len() >= 20 && stderr_is_terminal;
    Ok(Progress { bar, lines: human })
}

/// After the jobs ran: the notes about secrets, the errors and the findings the writes met
/// on stderr, then the report (text after a `bar`, or JSON) on stdout.
pub fn finished(
    report: &Report,
    ready: &Ready,
    human: bool,
    bar: bool,
    style: Style,
) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    if human {
        secrets_notes(&mut out, report)?;
    }
    if let Some(error) = &report.secrets_error {
        super::console::error(error);
    }
    if let Some(error) = &report.read_back_error {
        super::console::error(&read_back_failed(error));
    }
    // The plan's findings were shown before the run, with their summary when there were
    // any: only what the writes met is added, and the summary is said once.
    let computed = &ready.computed;
    let shown = computed.findings();
    let met = report.findings(&shown);
    match shown.is_empty() {
        true => super::console::findings(&met, &computed.prepared, style)?,
        false => super::console::more_findings(&met, &computed.prepared, style)?,
    }
    let results = &report.results;
    match human {
        true => self::human(&mut out, results, ready.counts, bar)?,
        false => json(&mut out, &ready.computed.plan, results)?,
    }
    Ok(())
}

/// The kinds of job present, with a verb form each (base form, -ing form).
fn phrase(counts: Counts, progressive: bool) -> String {
    let kinds = [
        (counts.create, ["create", "creating"]),
        (counts.update, ["update", "updating"]),
        (
            counts.resend,
            ["re-send", "re-sending the write-only fields of"],
        ),
        (counts.delete, ["delete", "deleting"]),
        (
            counts.deliver,
            ["deliver the secret of", "delivering the secret of"],
        ),
    ];
    let form = usize::from(progressive);
    let parts: Vec<String> = kinds
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, verbs)| format!("{} {n}", verbs[form]))
        .collect();
    let text = match parts.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    };
    let noun = match (counts.scopes, counts.total() - counts.scopes) {
        (0, _) => "client(s)",
        (_, 0) => "scope(s)",
        _ => "object(s) (scopes first)",
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{} {noun}", first.to_uppercase(), chars.as_str()),
        None => text,
    }
}

/// The confirmation question: "Create 2 and update 1 client(s) on URL? ...", naming the
/// secret store when secrets are delivered to it.
pub fn question(counts: Counts, admin_url: &str, store: Option<&str>) -> String {
    let store = store
        .map(|s| format!(" (secrets delivered to {})", neutral(s)))
        .unwrap_or_default();
    format!(
        "\n{} on {}{store}? Only 'yes' is accepted: ",
        phrase(counts, false),
        neutral(admin_url)
    )
}

/// The line before the progress: "Creating 2 and updating 1 client(s), at most 8 at a time:".
pub fn starting(out: &mut dyn Write, counts: Counts, concurrency: usize) -> io::Result<()> {
    writeln!(
        out,
        "\n{}, at most {concurrency} at a time:",
        phrase(counts, true)
    )
}

/// When there is nothing to do.
pub fn nothing_to_do(out: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    if plan.options.update {
        return writeln!(
            out,
            "\nNothing to change: the server matches the manifests."
        );
    }
    writeln!(out, "\nNothing to create.")?;
    let drifted = plan.summary.drift;
    if drifted > 0 {
        writeln!(out, "{drifted} client(s) drifted from git: `apply --update` would correct them (see the plan above).")?;
    }
    Ok(())
}

/// Why nothing was done.
pub fn refusal(refusal: &Refusal) -> String {
    match refusal {
        Refusal::PlanHasErrors => "the plan has errors (see above): nothing was changed".into(),
        Refusal::Stale(problems) => {
            let mut lines =
                vec!["the saved plan is stale; nothing was changed. Make a new plan:".to_string()];
            for problem in problems {
                lines.push(match problem {
                    Stale::ManifestsChanged => {
                        "  - the manifests changed since the plan was made".into()
                    }
                    Stale::ServerChanged(kind, name, id, what) => {
                        format!("  - {kind} `{}` ({}): {what}", neutral(name), neutral(id))
                    }
                    Stale::DesiredChanged(kind, name, id) => format!(
                        "  - {kind} `{}` ({}) is declared differently now",
                        neutral(name),
                        neutral(id)
                    ),
                });
            }
            lines.join("\n")
        }
        Refusal::Store(why) => {
            let lines: Vec<_> = why.lines().map(neutral).collect();
            format!(
                "{}\nnothing was changed: a secret that cannot be delivered must not be created or changed",
                lines.join("\n")
            )
        }
    }
}

/// Without a terminal and without `--auto-approve`.
pub const NEEDS_APPROVAL: &str = "refusing to apply without confirmation: stdin is not a terminal. Review the plan and pass --auto-approve: nothing was changed";
/// An answer other than `yes`.
pub const CANCELLED: &str = "apply cancelled: nothing was changed";

/// One object's outcome.
pub fn result_line(r: &ObjectResult) -> String {
    let id = neutral(&r.id);
    let name = match r.kind {
        ObjectKind::Client => neutral(&r.name).into_owned(),
        kind => format!("{kind} {}", neutral(&r.name)),
    };
    let reason = neutral(r.reason.as_deref().unwrap_or(""));
    let text = match r.outcome {
        Outcome::Created => format!("{name} ({id}) created"),
        Outcome::Updated => format!("{name} ({id}) updated"),
        Outcome::Resent => format!("{name} ({id}) write-only fields re-sent"),
        Outcome::Deleted => format!("{name} ({id}) deleted"),
        Outcome::Delivered => format!("{name} ({id}) secret delivered"),
        Outcome::AlreadyPresent => format!("{name} ({id}) already present: {reason}"),
        Outcome::AlreadyAbsent => format!("{name} ({id}) already absent: {reason}"),
        Outcome::Failed => format!("{name} ({id}) failed: {reason}"),
        Outcome::NotAttempted => format!("{name} ({id}) not attempted"),
    };
    let delivery = r.delivery.as_ref().map(|d| delivery_note(r, d));
    let sign = match &r.delivery {
        Some(d) if !d.delivered => super::lines::Sign::Failed,
        _ => super::marks::outcome(r.outcome),
    };
    format!(
        "{} {text}{}",
        super::marks::sign(sign).glyph,
        delivery.unwrap_or_default()
    )
}

/// What a result line adds about the client's secret delivery.
fn delivery_note(r: &ObjectResult, d: &crate::apply::DeliveryResult) -> String {
    let location = neutral(&d.location);
    match (d.delivered, d.version, r.outcome) {
        (true, version, outcome) => {
            let prefix = match outcome {
                Outcome::Delivered => "",
                _ => "; secret delivered",
            };
            let version = version.map(|v| format!(" (version {v})")).unwrap_or_default();
            format!("{prefix} to {location}{version}")
        }
        // A delivery-only job's failure is its reason already.
        (false, _, Outcome::Failed) => format!(" (delivering to {location})"),
        (false, _, _) => format!(
            "; its secret was NOT delivered to {location}: {}. boruta keeps it readable: the next apply delivers it",
            neutral(d.reason.as_deref().unwrap_or("unknown reason"))
        ),
    }
}

/// One line per client as it finishes, or a progress bar on a terminal (20 jobs or more).
pub struct Progress {
    pub bar: bool,
    pub lines: bool,
}

impl crate::commands::apply::Reporter for Progress {
    fn finished(&mut self, result: &ObjectResult, done: usize, total: usize) {
        if self.bar {
            let width = 30;
            let filled = done * width / total.max(1);
            eprint!(
                "\r[{}{}] {done}/{total}",
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
            let _ = io::stderr().flush();
        } else if self.lines {
            println!("  {}", result_line(result));
        }
    }

    fn done(&mut self) {
        if self.bar {
            eprintln!();
        }
    }
}

/// How many clients ended each way (the JSON report's `summary`).
#[derive(serde::Serialize)]
struct Tally {
    created: usize,
    updated: usize,
    #[serde(rename = "re_sent")]
    resent: usize,
    deleted: usize,
    already_present: usize,
    already_absent: usize,
    failed: usize,
    not_attempted: usize,
    /// Secrets delivered to the secret store (after a create or an update, or alone);
    /// left out with `not_delivered` when the run delivered nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    delivered: Option<usize>,
    /// Deliveries tried that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    not_delivered: Option<usize>,
}

impl Tally {
    fn of(results: &[ObjectResult]) -> Tally {
        let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count();
        let deliveries = |delivered: bool| {
            let ended = |r: &&ObjectResult| r.delivery.as_ref().map(|d| d.delivered);
            results
                .iter()
                .filter(|r| ended(r) == Some(delivered))
                .count()
        };
        let tried = results.iter().any(|r| r.delivery.is_some());
        Tally {
            created: count(Outcome::Created),
            updated: count(Outcome::Updated),
            resent: count(Outcome::Resent),
            deleted: count(Outcome::Deleted),
            already_present: count(Outcome::AlreadyPresent),
            already_absent: count(Outcome::AlreadyAbsent),
            failed: count(Outcome::Failed),
            not_attempted: count(Outcome::NotAttempted),
            delivered: tried.then(|| deliveries(true)),
            not_delivered: tried.then(|| deliveries(false)),
        }
    }
}

/// The notes about generated secrets, after the progress.
pub fn secrets_notes(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    if report.generated_without_file > 0 {
        writeln!(
            out,
            "boruta generated the secret of {} client(s). It is not printed: read it with GET /api/clients/<id> (scope clients:manage:all), or run apply with --secrets-out FILE next time.",
            report.generated_without_file
        )?;
    }
    if let Some(path) = &report.secrets_file {
        writeln!(
            out,
            "secrets of the created clients written to {} (mode 0600)",
            neutral(&path.display().to_string())
        )?;
    }
    Ok(())
}

/// The closing report; after a progress bar, the clients whose outcome was not the one
/// planned. Kinds the run had no job of are left out of the counts.
pub fn human(
    out: &mut dyn Write,
    results: &[ObjectResult],
    jobs: Counts,
    progress_bar_used: bool,
) -> io::Result<()> {
    let unconverged: Vec<&ObjectResult> = results
        .iter()
        .filter(|r| {
            r.diagnostics
                .iter()
                .any(|d| d.code == crate::findings::Code::NotConverged)
        })
        .collect();
    if !unconverged.is_empty() {
        writeln!(
            out,
            "Read back after apply: {} client(s) did not converge:",
            unconverged.len()
        )?;
        for r in &unconverged {
            writeln!(out, "  {}", result_line(r))?;
        }
    }
    if progress_bar_used {
        let planned = [
            Outcome::Created,
            Outcome::Updated,
            Outcome::Resent,
            Outcome::Deleted,
            Outcome::Delivered,
        ];
        for r in results
            .iter()
            .filter(|r| !planned.contains(&r.outcome) || !r.converged())
        {
            writeln!(out, "  {}", result_line(r))?;
        }
    }
    let c = Tally::of(results);
    let mut parts = vec![format!("{} created", c.created)];
    if jobs.update > 0 {
        parts.push(format!("{} updated", c.updated));
    }
    if jobs.resend > 0 {
        parts.push(format!("{} re-sent", c.resent));
    }
    if jobs.delete > 0 {
        parts.push(format!("{} deleted", c.deleted));
    }
    parts.push(format!("{} already present", c.already_present));
    if jobs.delete > 0 {
        parts.push(format!("{} already absent", c.already_absent));
    }
    parts.push(format!("{} failed", c.failed));
    parts.push(format!("{} not attempted", c.not_attempted));
    let (delivered, not_delivered) = (c.delivered.unwrap_or(0), c.not_delivered.unwrap_or(0));
    if c.delivered.is_some() || jobs.deliver > 0 {
        parts.push(format!("{delivered} secret(s) delivered"));
        if not_delivered > 0 {
            parts.push(format!("{not_delivered} not delivered"));
        }
    }
    writeln!(out, "\nApply: {}.", parts.join(", "))?;
    if c.failed + c.not_attempted + not_delivered > 0 {
        writeln!(out, "Nothing reported as done is undone. Fix the failures and run apply again: it converges.")?;
    }
    Ok(())
}

/// The JSON report: the plan, every client's outcome, and counts.
pub fn json(out: &mut dyn Write, plan: &Plan, results: &[ObjectResult]) -> io::Result<()> {
    let document = serde_json::json!({
        "format_version": plan::PLAN_FORMAT_VERSION,
        "plan": plan,
        "results": results,
        "summary": Tally::of(results),
    });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

/// The list read after the writes failed.
pub fn read_back_failed(error: &str) -> String {
    format!(
        "the clients could not be read back after apply ({}): the writes reported above were made, but whether they all took is unknown; run plan to see where the server stands",
        neutral(error)
    )
}

/// The first SIGINT/SIGTERM.
pub fn first_signal(name: &str) {
    eprintln!("\n{name} received: no new request starts (create, update or delete); waiting for those in flight (send it again to exit at once)");
}

/// The second one: the process exits now.
pub fn second_signal(name: &str) {
    eprintln!("{name} received again: exiting now. The requests in flight have an unknown outcome: run apply again, it converges");
}
