//! `serve`'s HTTP endpoints on `--listen`, on plain hyper (as the sandbox): `GET /healthz`,
//! `GET /readyz`, `GET /metrics` and `POST /reconcile`. Request bodies are never read;
//! headers must arrive within 10 seconds; at most 64 connections are open at once (more
//! are closed at once), so a slow or flooding client cannot starve the probes.

use super::control::{Control, Triggered};
use super::metrics::{self, Metrics};
use super::trigger::{Refused, TriggerToken, TOKEN_VARIABLE};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};

/// Connections open at once.
const MAX_CONNECTIONS: usize = 64;
/// The time a client has to send its request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const TEXT: &str = "text/plain; charset=utf-8";

/// What the endpoints answer from.
pub struct Endpoints {
    pub control: Arc<Control>,
    pub metrics: Arc<Metrics>,
    /// `None`: `POST /reconcile` is off.
    pub trigger: Option<TriggerToken>,
}

/// Serves connections until `shutdown` is notified.
pub async fn serve(listener: TcpListener, endpoints: Arc<Endpoints>, shutdown: Arc<Notify>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.notified() => return,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "too many connections: closed");
            continue;
        };
        let endpoints = endpoints.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let answer = answer(&endpoints, &request, peer);
                async move { Ok::<_, Infallible>(answer) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
            drop(slot);
        });
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(TEXT));
    response
}

/// The answer to one request.
fn answer(
    endpoints: &Endpoints,
    request: &Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let (method, path) = (request.method(), request.uri().path());
    let (allowed, allow) = match path {
        "/healthz" | "/readyz" | "/metrics" => (Method::GET, "GET"),
        "/reconcile" => (Method::POST, "POST"),
        _ => return text(StatusCode::NOT_FOUND, "not found: this server answers GET /healthz, GET /readyz, GET /metrics and POST /reconcile\n"),
    };
    if method != allowed {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{path} answers {allow} only\n"),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allow));
        return response;
    }
    match path {
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" if endpoints.control.ready() => text(StatusCode::OK, "ready\n"),
        "/readyz" => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no cycle has succeeded yet\n",
        ),
        "/metrics" => exposition(&endpoints.metrics),
        _ => reconcile(endpoints, request, peer),
    }
}

fn exposition(metrics: &Metrics) -> Response<Full<Bytes>> {
    match metrics.encode() {
        Ok(body) => {
            let mut response = text(StatusCode::OK, body);
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(metrics::CONTENT_TYPE),
            );
            response
        }
        Err(_) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics could not be written\n",
        ),
    }
}

/// `POST /reconcile`: a cycle now (or right after the one running), for a bearer of the
/// trigger token.
fn reconcile(
    endpoints: &Endpoints,
    request: &Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let Some(token) = &endpoints.trigger else {
        return text(
            StatusCode::NOT_FOUND,
            format!("POST /reconcile is off: set {TOKEN_VARIABLE} to turn it on\n"),
        );
    };
    let authorization = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    if let Err(refused) = token.check(authorization) {
        let body = match refused {
            Refused::NoToken => {
                format!("send the trigger token: Authorization: Bearer <{TOKEN_VARIABLE}>\n")
            }
            Refused::WrongToken => "the bearer token is not the trigger token\n".to_string(),
        };
        tracing::warn!(%peer, "POST /reconcile refused: {}", body.trim_end());
        let mut response = text(StatusCode::UNAUTHORIZED, body);
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let (status, body) = match endpoints.control.trigger() {
        Triggered::Starting => (StatusCode::ACCEPTED, "a cycle starts now\n"),
        Triggered::Queued => (
            StatusCode::ACCEPTED,
            "a cycle is running: one more starts when it ends\n",
        ),
        Triggered::AlreadyQueued => (
            StatusCode::ACCEPTED,
            "a cycle is running and one more is already queued: this trigger joins it\n",
        ),
        Triggered::Stopping => (
            StatusCode::SERVICE_UNAVAILABLE,
            "stopping: no cycle starts\n",
        ),
    };
    tracing::info!(%peer, "POST /reconcile: {}", body.trim_end());
    text(status, body)
}
