//! The GitHub REST API calls the composite action makes (through `boruta-gitops github`):
//! one pull-request comment kept up to date, and one open issue per drift. The token goes
//! only to `GITHUB_API_URL`, over https (or plain http on loopback, for tests), through the
//! same retry loop and body limit as boruta's requests.

use super::error::FetchError;
use super::retry::Sender;
use super::settings::{check_url, client_builder, ProxyEnv};
use crate::escape::percent_encode_segment;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// The largest answer read from GitHub (a page of 100 comments).
const MAX_BODY: u64 = 32 * 1024 * 1024;

/// A repository on a GitHub API.
pub struct GitHub {
    sender: Sender,
    api: String,
    token: SecretString,
    /// `owner/name`.
    repo: String,
}

/// What happened to the comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    Created,
    Updated,
}

impl GitHub {
    pub fn new(
        api_url: &str,
        token: SecretString,
        repo: &str,
        proxies: &ProxyEnv,
    ) -> Result<GitHub, FetchError> {
        let api = check_url("GITHUB_API_URL", api_url.trim_end_matches('/'), false)?;
        if repo.split('/').count() != 2 || repo.chars().any(|c| c.is_whitespace()) {
            return Err(FetchError::Config(format!(
                "GITHUB_REPOSITORY `{repo}` is not owner/name"
            )));
        }
        let http = client_builder(Duration::from_secs(30), proxies)
            .build()
            .map_err(|e| FetchError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(GitHub {
            sender: Sender {
                http,
                max_retries: 2,
                max_body: MAX_BODY,
                cancelled: Arc::new(AtomicBool::new(false)),
                ca_setting: super::retry::CA_FLAG,
            },
            api: api.as_str().trim_end_matches('/').to_string(),
            token,
            repo: repo.to_string(),
        })
    }

    /// One API call; a status outside 2xx (404 excepted, returned as `None`) is an error.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>, FetchError> {
        let url = format!("{}/repos/{}{path}", self.api, self.repo);
        let what = format!("GitHub {method} /repos/{}{path}", self.repo);
        let build = || {
            let request = self
                .sender
                .http
                .request(method.clone(), &url)
                .header("accept", "application/vnd.github+json")
                .header("x-github-api-version", "2022-11-28")
                .bearer_auth(self.token.expose_secret());
            match body {
                Some(body) => request.json(body),
                None => request,
            }
        };
        let answer = self.sender.send(&what, &build).await?;
        match answer.status {
            200..=299 if answer.body.is_empty() => Ok(Some(Value::Null)),
            200..=299 => serde_json::from_slice(&answer.body)
                .map(Some)
                .map_err(|e| FetchError::Decode {
                    what,
                    reason: e.to_string(),
                    source: super::error::cause(e),
                }),
            404 => Ok(None),
            status => Err(FetchError::Server {
                what,
                status,
                detail: String::new(),
                hint: "check the workflow's permissions (pull-requests: write, issues: write) and GITHUB_TOKEN".into(),
            }),
        }
    }

    /// Every item of a paginated list.
    async fn list(&self, path: &str) -> Result<Vec<Value>, FetchError> {
        let mut items = Vec::new();
        for page in 1.. {
            let separator = if path.contains('?') { '&' } else { '?' };
            let paged = format!("{path}{separator}per_page=100&page={page}");
            let batch = self
                .call(reqwest::Method::GET, &paged, None)
                .await?
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default();
            let last = batch.len() < 100;
            items.extend(batch);
            if last || page >= 50 {
                break;
            }
        }
        Ok(items)
    }

    /// A write whose answer is not needed.
    async fn write(
        &self,
        method: reqwest::Method,
        path: &str,
        payload: Value,
    ) -> Result<(), FetchError> {
        self.call(method, path, Some(&payload)).await.map(|_| ())
    }

    /// Creates the comment on issue or pull request `number`, or updates the one that
    /// starts with `marker` and was written by `author`.
    pub async fn upsert_comment(
        &self,
        number: u64,
        marker: &str,
        author: &str,
        body: &str,
    ) -> Result<Posted, FetchError> {
        let comments = self.list(&format!("/issues/{number}/comments")).await?;
        let mine = comments.iter().find(|c| {
            c["body"].as_str().is_some_and(|b| b.starts_with(marker))
                && c["user"]["login"].as_str() == Some(author)
        });
        let payload = json!({ "body": body });
        match mine.and_then(|c| c["id"].as_u64()) {
            Some(id) => {
                let path = format!("/issues/comments/{id}");
                self.write(reqwest::Method::PATCH, &path, payload).await?;
                Ok(Posted::Updated)
            }
            None => {
                let path = format!("/issues/{number}/comments");
                self.write(reqwest::Method::POST, &path, payload).await?;
                Ok(Posted::Created)
            }
        }
    }

    /// Creates `label` unless it exists.
    pub async fn ensure_label(&self, label: &str, description: &str) -> Result<(), FetchError> {
        let path = format!("/labels/{}", percent_encode_segment(label));
        if self
            .call(reqwest::Method::GET, &path, None)
            .await?
            .is_none()
        {
            let payload = json!({"name": label, "color": "d93f0b", "description": description});
            self.write(reqwest::Method::POST, "/labels", payload)
                .await?;
        }
        Ok(())
    }

    /// The open issue labelled `label` whose body starts with `marker` and that `author`
    /// (the token's owner) opened: anyone who may label issues could plant another.
    pub async fn find_issue(
        &self,
        label: &str,
        marker: &str,
        author: &str,
    ) -> Result<Option<u64>, FetchError> {
        let issues = self
            .list(&format!(
                "/issues?state=open&labels={}",
                percent_encode_segment(label)
            ))
            .await?;
        Ok(issues
            .iter()
            .filter(|i| i.get("pull_request").is_none())
            .find(|i| {
                i["body"].as_str().is_some_and(|b| b.starts_with(marker))
                    && i["user"]["login"].as_str() == Some(author)
            })
            .and_then(|i| i["number"].as_u64()))
    }

    pub async fn create_issue(
        &self,
        title: &str,
        body: &str,
        label: &str,
    ) -> Result<(), FetchError> {
        let payload = json!({"title": title, "body": body, "labels": [label]});
        self.write(reqwest::Method::POST, "/issues", payload).await
    }

    pub async fn update_issue(&self, number: u64, body: &str) -> Result<(), FetchError> {
        let path = format!("/issues/{number}");
        self.write(reqwest::Method::PATCH, &path, json!({ "body": body }))
            .await
    }

    /// Comments `comment` on issue `number`, then closes it.
    pub async fn close_issue(&self, number: u64, comment: &str) -> Result<(), FetchError> {
        let comments = format!("/issues/{number}/comments");
        self.write(reqwest::Method::POST, &comments, json!({ "body": comment }))
            .await?;
        let closed = json!({"state": "closed", "state_reason": "completed"});
        self.write(reqwest::Method::PATCH, &format!("/issues/{number}"), closed)
            .await
    }
}
