//! `boruta-gitops github ...`: what the composite action does on GitHub, in Rust so it is
//! tested like the rest (against a fake API on loopback): keep one pull-request comment
//! up to date with the plan, and keep one open issue per drift. Reads GitHub's own
//! variables (`GITHUB_TOKEN`, `GITHUB_REPOSITORY`, `GITHUB_API_URL`, `GITHUB_EVENT_PATH`).

use super::pipeline::runtime;
use crate::error::{Error, Exit};
use crate::fetch::github::{GitHub, Posted};
use crate::fetch::ProxyEnv;
use std::path::{Path, PathBuf};

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
    },
}

fn var(name: &str) -> Result<String, Error> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::Usage(format!("{name} is not set (is this a GitHub Actions job?)")))
}

fn read_text(path: &Path) -> Result<String, Error> {
    let fail = |reason: String| Error::Usage(format!("cannot read {}: {reason}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() || meta.len() > 1024 * 1024 {
        return Err(fail("it must be a regular file of at most 1 MiB".into()));
    }
    std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))
}

fn connect() -> Result<GitHub, Error> {
    let api = std::env::var("GITHUB_API_URL").unwrap_or_else(|_| "https://api.github.com".into());
    let token = secrecy::SecretString::from(var("GITHUB_TOKEN")?);
    Ok(GitHub::new(
        &api,
        token,
        &var("GITHUB_REPOSITORY")?,
        &ProxyEnv::from_process(),
    )?)
}

/// The pull request of the event that started the job.
fn pull_request_number() -> Result<Option<u64>, Error> {
    let event = read_text(Path::new(&var("GITHUB_EVENT_PATH")?))?;
    let event: serde_json::Value = serde_json::from_str(&event)
        .map_err(|e| Error::Usage(format!("GITHUB_EVENT_PATH: {e}")))?;
    Ok(event["pull_request"]["number"]
        .as_u64()
        .or_else(|| event["number"].as_u64()))
}

pub(crate) fn run(command: &GithubCommand) -> Result<Exit, Error> {
    match command {
        GithubCommand::Comment { body_file, author } => {
            let body = read_text(body_file)?;
            let marker = body.lines().next().unwrap_or_default().trim().to_string();
            if !(marker.starts_with("<!--") && marker.ends_with("-->")) {
                return Err(Error::Usage(format!(
                    "{} does not start with a hidden marker (`<!-- ... -->`): is it `plan --format markdown`'s output?",
                    body_file.display()
                )));
            }
            let Some(number) = pull_request_number()? else {
                eprintln!("not a pull request: no comment posted");
                return Ok(Exit::Success);
            };
            let github = connect()?;
            let posted =
                runtime()?.block_on(github.upsert_comment(number, &marker, author, &body))?;
            let verb = match posted {
                Posted::Created => "posted",
                Posted::Updated => "updated",
            };
            eprintln!("plan comment {verb} on #{number}");
            Ok(Exit::Success)
        }
        GithubCommand::DriftIssue {
            report_file,
            exit_code,
            label,
        } => {
            if *exit_code == 1 {
                eprintln!("drift failed (exit 1): the issue is left as it is");
                return Ok(Exit::Success);
            }
            let marker = crate::render::plan::marker(crate::render::plan::Report::Drift);
            let github = connect()?;
            let runtime = runtime()?;
            runtime.block_on(async {
                github
                    .ensure_label(
                        label,
                        "boruta-gitops: the boruta server no longer matches git",
                    )
                    .await?;
                let open = github.find_issue(label, marker).await?;
                match (*exit_code, open) {
                    (2, Some(number)) => {
                        github
                            .update_issue(number, &read_text(report_file)?)
                            .await?;
                        eprintln!("drift issue #{number} updated");
                    }
                    (2, None) => {
                        let title = "boruta drift: the server no longer matches git";
                        github
                            .create_issue(title, &read_text(report_file)?, label)
                            .await?;
                        eprintln!("drift issue opened");
                    }
                    (_, Some(number)) => {
                        github
                            .close_issue(number, "The server matches git again: closing.")
                            .await?;
                        eprintln!("drift issue #{number} closed");
                    }
                    (_, None) => eprintln!("no drift, no open drift issue"),
                }
                Ok::<(), Error>(())
            })?;
            Ok(Exit::Success)
        }
    }
}
