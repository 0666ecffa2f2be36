//! The one retry loop every request goes through (token endpoint, reads, writes): timeouts,
//! retries with backoff and jitter (429 with `Retry-After`, 502/503/504, connection
//! errors, timeouts), bounded bodies, and the bookkeeping of "an earlier attempt may have
//! been carried out although its answer was lost", which apply needs to stay idempotent.
//!
//! Written here rather than taken from a retry crate because that bookkeeping, the
//! cancellation check and the body limit belong inside the loop.

use super::error::{cause, FetchError};
use crate::escape::neutral;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What a request finally got.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
    /// An earlier attempt may have been carried out although its answer was lost.
    pub unknown_outcome: bool,
}

/// What a request got: an answer read whole, or a `200` whose body the caller streams.
#[derive(Debug)]
pub enum Reply {
    Whole(Answer),
    Open(reqwest::Response),
}

/// Sends requests with the retry policy.
pub struct Sender {
    pub http: reqwest::Client,
    pub max_retries: u32,
    pub max_body: u64,
    /// Set by a cancelled run (SIGINT/SIGTERM): attempts under way finish, no new one starts.
    pub cancelled: Arc<AtomicBool>,
    /// How the user names a private CA for this server, for TLS failures
    /// ([`CA_FLAG`] for boruta).
    pub ca_setting: &'static str,
}

/// The setting that names boruta's private CA.
pub const CA_FLAG: &str = "--ca-cert";

/// Why a body could not be read whole.
enum BodyError {
    TooLarge,
    Transport(reqwest::Error),
}

/// Reads a body, refusing one larger than `limit` (checked against `Content-Length` first,
/// then as the bytes arrive: an endless body stops at the limit).
async fn read_body(mut response: reqwest::Response, limit: u64) -> Result<Bytes, BodyError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

impl Sender {
    /// Sends the request `build` makes (once per attempt) until it gets an answer worth
    /// returning. A status that is still transient after the last retry is returned, for
    /// the caller to explain; transport failures become [`FetchError::Network`].
    pub async fn send(
        &self,
        what: &str,
        build: &(dyn Fn() -> reqwest::RequestBuilder + Sync),
    ) -> Result<Answer, FetchError> {
        match self.send_keeping(what, build, false).await? {
            Reply::Whole(answer) => Ok(answer),
            // Not asked for: read it whole like any other answer.
            Reply::Open(response) => match read_body(response, self.max_body).await {
                Ok(body) => Ok(Answer {
                    status: 200,
                    body,
                    unknown_outcome: false,
                }),
                Err(BodyError::TooLarge) => Err(FetchError::TooLarge {
                    what: what.to_string(),
                    limit: self.max_body,
                }),
                Err(BodyError::Transport(e)) => Err(answer_broke_off(what, e)),
            },
        }
    }

    /// Like [`Sender::send`], but a `200` is returned with its body unread when
    /// `keep_open` (a list read as it arrives); other answers are read whole.
    pub async fn send_keeping(
        &self,
        what: &str,
        build: &(dyn Fn() -> reqwest::RequestBuilder + Sync),
        keep_open: bool,
    ) -> Result<Reply, FetchError> {
        let mut attempt: u32 = 0;
        let mut unknown_outcome = false;
        loop {
            if attempt > 0 && self.cancelled.load(Ordering::SeqCst) {
                return Err(FetchError::Cancelled {
                    what: what.to_string(),
                });
            }
            let attempts = attempt + 1;
            let last = attempt >= self.max_retries;
            let tried = self.attempt(what, build, keep_open, last, &mut unknown_outcome);
            let (retry_after, reason) = match tried.await {
                Attempt::Done(result) => return result,
                Attempt::Failed { reason, source } if last => {
                    return Err(FetchError::Network {
                        what: what.to_string(),
                        reason: format!("{reason} (after {attempts} attempt(s))"),
                        source: cause(source),
                    })
                }
                Attempt::Failed { reason, .. } => (None, reason),
                Attempt::Transient {
                    retry_after,
                    status,
                } => (retry_after, format!("HTTP {status}")),
            };
            let delay =
                retry_after.map_or_else(|| backoff(attempt), |d| d.min(Duration::from_secs(60)));
            tracing::warn!(
                "{}: {}; retrying in {} ms (attempt {} of {})",
                neutral(what),
                neutral(&reason),
                delay.as_millis(),
                attempts + 1,
                self.max_retries + 1
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// One attempt of [`Sender::send_keeping`]; `unknown_outcome` learns whether it may
    /// have been carried out although its answer was lost.
    async fn attempt(
        &self,
        what: &str,
        build: &(dyn Fn() -> reqwest::RequestBuilder + Sync),
        keep_open: bool,
        last: bool,
        unknown_outcome: &mut bool,
    ) -> Attempt {
        let response = match build().send().await {
            Ok(response) => response,
            Err(e) => {
                if let Some(tls) = tls_failure(&e, self.ca_setting) {
                    // A certificate that does not verify will not verify on a retry either.
                    return Attempt::Done(Err(FetchError::Network {
                        what: what.to_string(),
                        reason: tls,
                        source: cause(e),
                    }));
                }
                // A timeout or a dropped connection may hide a write that was done; a
                // refused connection did nothing.
                *unknown_outcome |= !e.is_connect();
                let reason = describe_transport(&e);
                return Attempt::Failed { reason, source: e };
            }
        };
        let status = response.status().as_u16();
        // A proxy's 502/504 may hide a write that was done; 429 and 503 did nothing.
        *unknown_outcome |= matches!(status, 502 | 504);
        if is_transient(status) && !last {
            let retry_after = retry_after(&response);
            return Attempt::Transient {
                retry_after,
                status,
            };
        }
        if keep_open && status == 200 {
            return Attempt::Done(Ok(Reply::Open(response)));
        }
        match read_body(response, self.max_body).await {
            Ok(body) => Attempt::Done(Ok(Reply::Whole(Answer {
                status,
                body,
                unknown_outcome: *unknown_outcome,
            }))),
            Err(BodyError::TooLarge) => Attempt::Done(Err(FetchError::TooLarge {
                what: what.to_string(),
                limit: self.max_body,
            })),
            Err(BodyError::Transport(e)) => {
                // The status arrived but the body did not: a write may have been done.
                *unknown_outcome = true;
                let reason = reading_the_answer(&e);
                Attempt::Failed { reason, source: e }
            }
        }
    }
}

/// What one attempt of a request gave.
enum Attempt {
    /// The request's end: an answer, or a failure that another attempt would not mend.
    Done(Result<Reply, FetchError>),
    /// The connection failed or the answer was lost: worth another attempt.
    Failed {
        reason: String,
        source: reqwest::Error,
    },
    /// A transient status (see [`is_transient`]), with the server's `Retry-After`.
    Transient {
        retry_after: Option<Duration>,
        status: u16,
    },
}

/// The first error of type `T` in a transport error's chain of causes.
fn cause_of<T: std::error::Error + 'static>(e: &reqwest::Error) -> Option<&T> {
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        if let Some(found) = cause.downcast_ref::<T>() {
            return Some(found);
        }
        // Errors often travel inside (nested) io::Errors, whose `source` skips the error
        // they wrap: unwrap those by hand.
        next = match cause
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => cause.source(),
        };
    }
    None
}

/// The TLS failure behind a transport error, explained, if that is what it is.
fn tls_failure(e: &reqwest::Error, ca_setting: &str) -> Option<String> {
    let tls = cause_of::<rustls::Error>(e)?;
    Some(match tls {
        rustls::Error::InvalidMessage(_) => format!(
            "TLS: {tls}. The server does not seem to speak TLS on this port: if it is a plain http listener, use an http:// URL (loopback only) or the server's https port"
        ),
        _ => format!("TLS: {tls}. If the server uses a private CA, pass it with {ca_setting}"),
    })
}

/// Statuses worth retrying: rate limited, or a gateway/server that is briefly unavailable.
/// The one list: the hints of `error` and `token` ask it too.
pub fn is_transient(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by boruta or common proxies).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The transport failed while an answer's body was being read (whole or streamed).
pub(super) fn answer_broke_off(what: &str, e: reqwest::Error) -> FetchError {
    FetchError::Network {
        what: what.to_string(),
        reason: reading_the_answer(&e),
        source: cause(e),
    }
}

/// Why an answer's body could not be read.
fn reading_the_answer(e: &reqwest::Error) -> String {
    format!("reading the answer: {}", describe_transport(e))
}

fn describe_transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        connect_failure(e)
    } else if cause_of::<hyper::Error>(e).is_some_and(hyper::Error::is_incomplete_message)
        // A body shorter than its Content-Length: hyper says so with an io::Error of this
        // kind ("end of file before message length reached").
        || cause_of::<std::io::Error>(e).is_some_and(|io| io.kind() == std::io::ErrorKind::UnexpectedEof)
    {
        "the server closed the connection before the answer was complete".to_string()
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            text = format!("{text}: {cause}");
            source = cause.source();
        }
        text
    }
}

/// Why a connection was not made: a host name that does not resolve says so (it is not
/// the server refusing), anything else is "could not connect".
fn connect_failure(e: &(dyn std::error::Error + 'static)) -> String {
    let mut lookup = None;
    let mut next = e.source();
    while let Some(cause) = next {
        // hyper-util's connector names the step that failed: "dns error".
        if cause.to_string() == "dns error" {
            let mut deepest = cause;
            while let Some(inner) = deepest.source() {
                deepest = inner;
            }
            lookup = Some(deepest.to_string());
        }
        next = cause.source();
    }
    match lookup {
        Some(reason) => format!(
            "could not connect: the host name does not resolve ({reason}); check the URL's host"
        ),
        None => "could not connect".to_string(),
    }
}

/// Exponential backoff with full jitter: up to 200 ms, 400 ms, 800 ms, ... capped at 10 s.
pub fn backoff(attempt: u32) -> Duration {
    let cap = 200u64.saturating_mul(1u64 << attempt.min(16)).min(10_000);
    Duration::from_millis(rand::random_range(cap / 2..=cap))
}

#[cfg(test)]
mod tests {
    use super::{connect_failure, Sender, CA_FLAG};
    use crate::fetch::FetchError;

    #[test]
    fn a_refused_connection_keeps_its_transport_error() {
        // A loopback port nobody listens on any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let sender = Sender {
            http: crate::fetch::settings::client_builder(
                std::time::Duration::from_secs(5),
                &Default::default(),
            )
            .build()
            .expect("a client"),
            max_retries: 0,
            max_body: 1024,
            cancelled: Default::default(),
            ca_setting: CA_FLAG,
        };
        let url = format!("http://127.0.0.1:{port}/api/clients");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let build = || sender.http.get(&url);
        let error = runtime
            .block_on(sender.send("reading the clients", &build))
            .expect_err("nobody listens");
        assert!(matches!(error, FetchError::Network { .. }), "{error:?}");
        let source = std::error::Error::source(&error).expect("the source is kept");
        assert!(
            source.to_string().starts_with("error sending request"),
            "{source}"
        );
        assert_eq!(
            crate::error::Chain(&error).to_string(),
            "reading the clients failed: could not connect (after 1 attempt(s))"
        );
    }

    /// An error with a cause, as connectors nest them.
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn a_host_name_that_does_not_resolve_is_said_so() {
        let lookup = "failed to lookup address information: Name or service not known";
        let chain = Layer(
            "client error (Connect)",
            Some(Box::new(Layer(
                "client error (Connect)",
                Some(Box::new(Layer(
                    "dns error",
                    Some(Box::new(Layer(
                        "error resolving DNS",
                        Some(Box::new(Layer(lookup, None))),
                    ))),
                ))),
            ))),
        );
        assert_eq!(
            connect_failure(&chain),
            format!("could not connect: the host name does not resolve ({lookup}); check the URL's host")
        );
        let refused = Layer(
            "client error (Connect)",
            Some(Box::new(Layer("Connection refused", None))),
        );
        assert_eq!(connect_failure(&refused), "could not connect");
    }
}
