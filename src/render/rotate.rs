//! What `rotate` says: the clients whose secret it rotates and where each new secret goes,
//! the confirmation question, each rotation's outcome, and why nothing was done. Never a
//! secret: only where it was written and the version number.

use super::Style;
use crate::commands::rotate::{Ended, Rotated, Rotating, Rotation};
use crate::commands::Stop;
use crate::error::Error;
use crate::escape::neutral;
use std::io::{self, Write};

/// What `rotate` is about to do: the findings on stderr, the clients on stdout.
pub fn planned(rotation: &Rotation, style: Style) -> Result<(), Error> {
    let computed = &rotation.computed;
    super::console::findings(&computed.findings(), &computed.prepared, style)?;
    let admin_url = &computed.plan.admin_url;
    let store = rotation.store_address();
    intro(
        &mut io::stdout().lock(),
        admin_url,
        store,
        &rotation.clients,
    )?;
    Ok(())
}

/// The confirmation question of `rotation`.
pub fn question_for(rotation: &Rotation) -> String {
    let admin_url = &rotation.computed.plan.admin_url;
    question(rotation.clients.len(), admin_url, rotation.store_address())
}

/// Why nothing was rotated, on stderr.
pub fn stopped(stop: &Stop<Vec<String>>) {
    let why = match stop {
        Stop::Refused(reasons) => refusal(reasons),
        Stop::NeedsApproval => NEEDS_APPROVAL.to_string(),
        Stop::Cancelled => CANCELLED.to_string(),
    };
    super::console::error(&why);
}

/// Each rotation's outcome, on stdout.
pub fn done(done: &[Rotated]) -> io::Result<()> {
    report(&mut io::stdout().lock(), done)
}

/// The clients and the order of the writes.
pub fn intro(
    out: &mut dyn Write,
    admin_url: &str,
    store: Option<&str>,
    clients: &[Rotating],
) -> io::Result<()> {
    writeln!(out, "boruta-gitops rotate against {}", neutral(admin_url))?;
    if let Some(store) = store {
        writeln!(out, "secret store: {}", neutral(store))?;
    }
    writeln!(out)?;
    for c in clients {
        writeln!(
            out,
            "  ~ {} ({}) new secret: written to {} first, then sent to boruta  [{}]",
            neutral(&c.name),
            neutral(&c.id),
            neutral(&c.location.to_string()),
            neutral(&c.place)
        )?;
    }
    Ok(())
}

/// The confirmation question.
pub fn question(count: usize, admin_url: &str, store: Option<&str>) -> String {
    let store = store
        .map(|s| format!(" and {}", neutral(s)))
        .unwrap_or_default();
    format!(
        "\nRotate the secret of {count} client(s) on {}{store}? Only 'yes' is accepted: ",
        neutral(admin_url)
    )
}

/// Without a terminal and without `--auto-approve`.
pub const NEEDS_APPROVAL: &str = "refusing to rotate without confirmation: stdin is not a terminal. Pass --auto-approve: nothing was changed";
/// An answer other than `yes`.
pub const CANCELLED: &str = "rotate cancelled: nothing was changed";

/// Why nothing was done.
pub fn refusal(reasons: &[String]) -> String {
    let mut lines = vec!["nothing was rotated:".to_string()];
    for reason in reasons {
        for (i, line) in reason.lines().enumerate() {
            let bullet = if i == 0 { "  - " } else { "    " };
            lines.push(format!("{bullet}{}", neutral(line.trim_start())));
        }
    }
    lines.join("\n")
}

/// One rotation's outcome.
pub fn result_line(r: &Rotated) -> String {
    let (name, id) = (neutral(&r.client.name), neutral(&r.client.id));
    let location = neutral(&r.client.location.to_string()).into_owned();
    match &r.ended {
        Ended::Rotated { version } => format!(
            "~ {name} ({id}) rotated: the new secret is {location} version {version}, and boruta holds it"
        ),
        Ended::StoreFailed(reason) => format!(
            "✗ {name} ({id}) not rotated: the secret store refused the new secret ({}); nothing changed, boruta keeps the current one",
            neutral(reason)
        ),
        Ended::BorutaFailed { version, reason } => format!(
            "✗ {name} ({id}) half rotated: {location} version {version} holds a new secret, but boruta did not take it ({}). Applications reading it fail to authenticate until this is repaired: run rotate again (a new secret), or apply (writes boruta's current secret back)",
            neutral(reason)
        ),
        Ended::NotAttempted => {
            format!("· {name} ({id}) not attempted: an earlier rotation failed")
        }
    }
}

/// Every outcome, and the counts.
pub fn report(out: &mut dyn Write, done: &[Rotated]) -> io::Result<()> {
    writeln!(out)?;
    for r in done {
        writeln!(out, "  {}", result_line(r))?;
    }
    let count = |test: fn(&Ended) -> bool| done.iter().filter(|r| test(&r.ended)).count();
    writeln!(
        out,
        "\nRotate: {} rotated, {} failed, {} not attempted.",
        count(|e| matches!(e, Ended::Rotated { .. })),
        count(|e| matches!(e, Ended::StoreFailed(_) | Ended::BorutaFailed { .. })),
        count(|e| *e == Ended::NotAttempted)
    )
}
