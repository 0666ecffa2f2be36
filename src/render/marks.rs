//! The one table of marks: how each severity and each kind of plan line looks in every
//! medium (terminal, Markdown, GitHub workflow commands, SARIF). A renderer asks here; no
//! renderer keeps its own table.

use super::lines::Sign;
use crate::apply::Outcome;
use crate::diff::Action;
use crate::source::Severity;

/// How a severity looks.
#[derive(Debug, Clone, Copy)]
pub struct SeverityLook {
    /// The word (`error`), as in `error[code]`.
    pub label: &'static str,
    /// ANSI colour of the label.
    pub colour: &'static str,
    /// GitHub's workflow command (`::error`).
    pub github: &'static str,
    /// SARIF's `level`.
    pub sarif: &'static str,
    /// The Markdown comment's findings table.
    pub markdown: &'static str,
}

pub fn severity(severity: Severity) -> SeverityLook {
    match severity {
        Severity::Error => SeverityLook {
            label: "error",
            colour: "1;31",
            github: "error",
            sarif: "error",
            markdown: "❌ error",
        },
        Severity::Warning => SeverityLook {
            label: "warning",
            colour: "1;33",
            github: "warning",
            sarif: "warning",
            markdown: "⚠️ warning",
        },
        Severity::Note => SeverityLook {
            label: "note",
            colour: "1;36",
            github: "notice",
            sarif: "note",
            markdown: "note",
        },
    }
}

/// How a kind of line looks.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    /// The glyph in the terminal.
    pub glyph: &'static str,
    /// The first column of a Markdown `diff` block (which colours `+`, `-` and `!`).
    pub diff: char,
    /// ANSI colour.
    pub colour: &'static str,
}

pub fn sign(sign: Sign) -> Mark {
    let (glyph, diff, colour) = match sign {
        Sign::Add => ("+", '+', "32"),
        Sign::Remove => ("-", '-', "31"),
        Sign::Change => ("~", '!', "33"),
        Sign::Keep => (" ", ' ', "0"),
        Sign::Problem => ("!", '!', "31"),
        Sign::Info => ("?", '#', "36"),
        Sign::System => ("·", '#', "0"),
        Sign::Same => ("=", ' ', "0"),
        Sign::Resend => ("↻", '#', "36"),
        Sign::Failed => ("✗", '!', "31"),
    };
    Mark {
        glyph,
        diff,
        colour,
    }
}

/// The sign and word of an object's action, in a comment's section titles and tables.
pub fn action(action: Action) -> (Sign, &'static str) {
    match action {
        Action::Create => (Sign::Add, "create"),
        Action::Update => (Sign::Change, "update"),
        Action::Delete => (Sign::Remove, "delete"),
        Action::Drift => (Sign::Change, "drift"),
        Action::Conflict => (Sign::Problem, "conflict"),
        Action::InSync => (Sign::Same, "ignored drift"),
        Action::Absent => (Sign::Same, "absent"),
        Action::Resend => (Sign::Resend, "re-send"),
        Action::Blocked => (Sign::Problem, "blocked"),
    }
}

/// The sign of how an object's apply ended.
pub fn outcome(outcome: Outcome) -> Sign {
    match outcome {
        Outcome::Created => Sign::Add,
        Outcome::Updated => Sign::Change,
        Outcome::Resent => Sign::Resend,
        Outcome::Deleted => Sign::Remove,
        Outcome::Delivered => Sign::Add,
        Outcome::AlreadyPresent | Outcome::AlreadyAbsent => Sign::Same,
        Outcome::Failed => Sign::Failed,
        Outcome::NotAttempted => Sign::System,
    }
}
