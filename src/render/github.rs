//! What `github comment` and `github drift-issue` say they did, on stderr (their stdout
//! stays empty for the workflow).

use crate::commands::github::{Commented, DriftIssue};
use crate::fetch::github::Posted;

/// What became of the plan comment.
pub fn commented(commented: &Commented) {
    match commented {
        Commented::NotAPullRequest => eprintln!("not a pull request: no comment posted"),
        Commented::Posted(Posted::Created, number) => {
            eprintln!("plan comment posted on #{number}")
        }
        Commented::Posted(Posted::Updated, number) => {
            eprintln!("plan comment updated on #{number}")
        }
    }
}

/// What became of the drift issue.
pub fn drift_issue(issue: &DriftIssue) {
    match issue {
        DriftIssue::Untouched => eprintln!("drift failed (exit 1): the issue is left as it is"),
        DriftIssue::Updated(number) => eprintln!("drift issue #{number} updated"),
        DriftIssue::Opened => eprintln!("drift issue opened"),
        DriftIssue::Closed(number) => eprintln!("drift issue #{number} closed"),
        DriftIssue::NoneNeeded => eprintln!("no drift, no open drift issue"),
    }
}
