//! What the composite action does on GitHub, in Rust so it is tested like the rest
//! (against a fake API on loopback): keep one pull-request comment up to date with the
//! plan, and keep one open issue per drift. Reads GitHub's own variables (`GITHUB_TOKEN`,
//! `GITHUB_REPOSITORY`, `GITHUB_API_URL`, `GITHUB_EVENT_PATH`).

use crate::error::Error;
use crate::fetch::github::{GitHub, Posted};
use crate::fetch::ProxyEnv;
use std::path::Path;

/// A comment or a report is well under 1 MiB (GitHub's limit is 65,536 characters).
const MAX_INPUT_BYTES: u64 = 1024 * 1024;

fn var(name: &str) -> Result<String, Error> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::Usage(format!("{name} is not set (is this a GitHub Actions job?)")))
}

fn read_text(path: &Path, what: &'static str) -> Result<String, Error> {
    crate::bounded::read_text(path, MAX_INPUT_BYTES).map_err(|source| Error::File {
        what,
        path: path.to_path_buf(),
        source,
    })
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
    let path = var("GITHUB_EVENT_PATH")?;
    let event = read_text(Path::new(&path), "GITHUB_EVENT_PATH")?;
    let event: serde_json::Value = serde_json::from_str(&event)
        .map_err(|e| Error::Usage(format!("GITHUB_EVENT_PATH: {e}")))?;
    Ok(event["pull_request"]["number"]
        .as_u64()
        .or_else(|| event["number"].as_u64()))
}

/// What `github comment` did.
pub enum Commented {
    NotAPullRequest,
    Posted(Posted, u64),
}

/// Creates the pull request's plan comment, or updates the one `author` wrote before
/// (found by the hidden marker on the body's first line).
pub fn comment(body_file: &Path, author: &str) -> Result<Commented, Error> {
    let body = read_text(body_file, "the comment")?;
    let marker = body.lines().next().unwrap_or_default().trim().to_string();
    if !(marker.starts_with("<!--") && marker.ends_with("-->")) {
        return Err(Error::Usage(format!(
            "{} does not start with a hidden marker (`<!-- ... -->`): is it `plan --format markdown`'s output?",
            body_file.display()
        )));
    }
    let Some(number) = pull_request_number()? else {
        return Ok(Commented::NotAPullRequest);
    };
    let github = connect()?;
    let posted =
        super::runtime()?.block_on(github.upsert_comment(number, &marker, author, &body))?;
    Ok(Commented::Posted(posted, number))
}

/// What `github drift-issue` did.
pub enum DriftIssue {
    /// drift failed: the issue is left as it is.
    Untouched,
    Updated(u64),
    Opened,
    Closed(u64),
    NoneNeeded,
}

/// Opens (or updates) one issue while the server differs from git, closes it when it
/// matches again; drift's exit code says which. The issue is found by its label, its
/// hidden marker and its author, `author` (the account the token belongs to).
pub fn drift_issue(
    report_file: &Path,
    exit_code: i32,
    label: &str,
    author: &str,
) -> Result<DriftIssue, Error> {
    if exit_code == 1 {
        return Ok(DriftIssue::Untouched);
    }
    let marker = crate::render::plan::marker(crate::render::plan::Report::Drift);
    let github = connect()?;
    super::runtime()?.block_on(async {
        let description = "boruta-gitops: the boruta server no longer matches git";
        github.ensure_label(label, description).await?;
        let open = github.find_issue(label, marker, author).await?;
        Ok(match (exit_code, open) {
            (2, Some(number)) => {
                let report = read_text(report_file, "the drift report")?;
                github.update_issue(number, &report).await?;
                DriftIssue::Updated(number)
            }
            (2, None) => {
                let report = read_text(report_file, "the drift report")?;
                let title = "boruta drift: the server no longer matches git";
                github.create_issue(title, &report, label).await?;
                DriftIssue::Opened
            }
            (_, Some(number)) => {
                let closing = "The server matches git again: closing.";
                github.close_issue(number, closing).await?;
                DriftIssue::Closed(number)
            }
            (_, None) => DriftIssue::NoneNeeded,
        })
    })
}
