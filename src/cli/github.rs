//! `boruta-gitops github ...`: the flags of what the composite action does on GitHub
//! (`commands::github`); what it says it did is `render::github`'s.

use crate::error::{Error, Exit};
use crate::render;
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum GithubCommand {
    /// Create the pull request's plan comment, or update the one this tool wrote before
    /// (found by the hidden marker on its first line and by its author).
    Comment {
        /// The comment (`plan --format markdown`'s output).
        #[arg(long)]
        body_file: PathBuf,
        /// Who wrote the earlier comment: the account GITHUB_TOKEN belongs to.
        #[arg(long, default_value = "github-actions[bot]")]
        author: String,
    },
    /// After `drift --format markdown`: open (or update) one issue while the server
    /// differs from git, and close it when it matches again.
    DriftIssue {
        /// The drift report.
        #[arg(long)]
        report_file: PathBuf,
        /// drift's exit code: 2 drift, 0 in sync (1, an error, changes nothing).
        #[arg(long)]
        exit_code: i32,
        /// The label of drift issues (created if absent).
        #[arg(long, default_value = "boruta-drift")]
        label: String,
        /// Who opened the drift issue: the account GITHUB_TOKEN belongs to (an issue with
        /// the label and marker by anyone else is not the drift issue).
        #[arg(long, default_value = "github-actions[bot]")]
        author: String,
    },
}

pub(crate) fn run(command: &GithubCommand) -> Result<Exit, Error> {
    use crate::commands::github;
    match command {
        GithubCommand::Comment { body_file, author } => {
            render::github::commented(&github::comment(body_file, author)?)
        }
        GithubCommand::DriftIssue {
            report_file,
            exit_code,
            label,
            author,
        } => render::github::drift_issue(&github::drift_issue(
            report_file,
            *exit_code,
            label,
            author,
        )?),
    }
    Ok(Exit::Success)
}
