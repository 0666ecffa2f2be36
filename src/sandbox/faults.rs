//! Fault and latency injection: rules that make chosen requests fail, stall or lose their
//! connection, so the client's retries and recovery can be tested and benchmarked.
//!
//! Syntax (one rule per `--fault`): `METHOD PATH [nth=N] [times=K] ACTION...`
//! where PATH is exact or ends with `*` (prefix), and ACTION is one or more of
//! `status=CODE`, `retry-after=SECONDS`, `delay-ms=MS`, `hang`, `drop`,
//! `commit-then-drop`, `truncate`, `endless-body`, `ignore-id`, `strip-field=NAME`,
//! `expire-tokens`, `echo-request` (with `status=`). Without
//! `nth`/`times` a rule fires on every matching request.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a fired rule does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Action {
    /// Answer this status instead of handling the request (nothing is committed).
    pub status: Option<u16>,
    /// Add `Retry-After` to the injected status.
    pub retry_after: Option<u64>,
    /// Wait this long before answering.
    pub delay_ms: Option<u64>,
    /// Never answer (until the client gives up).
    pub hang: bool,
    /// Close the connection without handling the request.
    pub drop: bool,
    /// Handle the request (commit), then close the connection without answering.
    pub commit_then_drop: bool,
    /// Handle the request, then send only half of the response body.
    pub truncate: bool,
    /// Answer 200 with a body that never ends (a hostile server or a broken proxy).
    pub endless_body: bool,
    /// Members removed from a write's `client` before handling it, as a proxy that
    /// rewrites requests would: `ignore-id` (the server then picks a random id), or
    /// `strip-field=NAME` (boruta answers 200 with that field unchanged).
    pub strip_fields: Vec<String>,
    /// Expire every issued access token, then handle the request normally.
    pub expire_tokens: bool,
    /// With `status`: quote the request's headers and body back in the error answer, as a
    /// proxy or web application firewall in front of boruta may (issue #19).
    pub echo_request: bool,
}

/// One rule.
#[derive(Debug)]
pub struct Fault {
    pub method: String,
    pub path: String,
    pub nth: Option<u64>,
    pub times: Option<u64>,
    pub action: Action,
    seen: AtomicU64,
}

impl Clone for Fault {
    fn clone(&self) -> Self {
        Fault {
            method: self.method.clone(),
            path: self.path.clone(),
            nth: self.nth,
            times: self.times,
            action: self.action.clone(),
            seen: AtomicU64::new(self.seen.load(Ordering::SeqCst)),
        }
    }
}

impl Fault {
    pub fn new(method: &str, path: &str, action: Action) -> Self {
        Fault {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            nth: None,
            times: None,
            action,
            seen: AtomicU64::new(0),
        }
    }

    /// Only the `n`th matching request (1-based).
    pub fn nth(mut self, n: u64) -> Self {
        self.nth = Some(n);
        self
    }

    /// Only the first `k` matching requests.
    pub fn times(mut self, k: u64) -> Self {
        self.times = Some(k);
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        let method_ok = self.method == "*" || self.method == method;
        let path_ok = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => self.path == path,
        };
        method_ok && path_ok
    }

    /// Counts the request if it matches; returns the action when the rule fires.
    pub fn fire(&self, method: &str, path: &str) -> Option<&Action> {
        if !self.matches(method, path) {
            return None;
        }
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        let fires = match (self.nth, self.times) {
            (Some(nth), _) => n == nth,
            (None, Some(times)) => n <= times,
            (None, None) => true,
        };
        fires.then_some(&self.action)
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut words = text.split_whitespace();
        let (Some(method), Some(path)) = (words.next(), words.next()) else {
            return Err(format!("fault `{text}`: expected `METHOD PATH ACTION...`"));
        };
        let mut fault = Fault::new(method, path, Action::default());
        let mut has_action = false;
        for word in words {
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("fault `{text}`: `{word}` needs a number"))
            };
            match key {
                "nth" => fault.nth = Some(number()?),
                "times" => fault.times = Some(number()?),
                "status" => {
                    let code = number()?;
                    if !(100..=599).contains(&code) {
                        return Err(format!(
                            "fault `{text}`: status {code} is not an HTTP status"
                        ));
                    }
                    fault.action.status = Some(code as u16);
                    has_action = true;
                }
                "retry-after" => fault.action.retry_after = Some(number()?),
                "delay-ms" => {
                    fault.action.delay_ms = Some(number()?);
                    has_action = true;
                }
                "hang" => fault.action.hang = true,
                "drop" => fault.action.drop = true,
                "commit-then-drop" => fault.action.commit_then_drop = true,
                "truncate" => fault.action.truncate = true,
                "endless-body" => fault.action.endless_body = true,
                "ignore-id" => fault.action.strip_fields.push("id".into()),
                "strip-field" if !value.is_empty() => {
                    fault.action.strip_fields.push(value.to_string());
                    has_action = true;
                }
                "expire-tokens" => fault.action.expire_tokens = true,
                "echo-request" => fault.action.echo_request = true,
                _ => return Err(format!("fault `{text}`: unknown word `{word}`")),
            }
            has_action |= matches!(
                key,
                "hang"
                    | "drop"
                    | "commit-then-drop"
                    | "truncate"
                    | "endless-body"
                    | "ignore-id"
                    | "expire-tokens"
            );
        }
        if !has_action {
            return Err(format!("fault `{text}`: no action (status=, delay-ms=, hang, drop, commit-then-drop, truncate, endless-body, ignore-id, strip-field=, expire-tokens)"));
        }
        if fault.action.retry_after.is_some() && fault.action.status.is_none() {
            return Err(format!("fault `{text}`: retry-after needs status="));
        }
        if fault.action.echo_request && fault.action.status.is_none() {
            return Err(format!("fault `{text}`: echo-request needs status="));
        }
        Ok(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_fires_on_the_nth_match() {
        let fault: Fault = "POST /api/clients nth=2 status=503".parse().unwrap();
        assert!(fault.fire("POST", "/api/clients").is_none());
        assert_eq!(
            fault.fire("POST", "/api/clients").unwrap().status,
            Some(503)
        );
        assert!(fault.fire("POST", "/api/clients").is_none());
        assert!(fault.fire("GET", "/api/clients").is_none());
    }

    #[test]
    fn prefix_paths_and_errors() {
        let fault: Fault = "* /api/* times=1 drop".parse().unwrap();
        assert!(fault.fire("GET", "/api/clients/x").unwrap().drop);
        assert!(fault.fire("GET", "/api/clients/x").is_none());
        assert!("POST /x".parse::<Fault>().is_err());
        assert!("POST /x status=abc".parse::<Fault>().is_err());
        assert!("POST /x retry-after=2".parse::<Fault>().is_err());
        assert!("POST /x echo-request".parse::<Fault>().is_err());
        let echo: Fault = "POST /oauth/token status=401 echo-request".parse().unwrap();
        assert!(echo.action.echo_request);
    }
}
