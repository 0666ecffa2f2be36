//! The sandbox's HTTP side: one hyper listener for `/oauth/token` and `/api/...`, boruta's
//! order of checks (Accept, authentication, scope, action), the request log, and fault
//! injection down to dropping a connection after committing a write.

use super::faults::{Action, Fault};
use super::state::{Answer, State};
use super::token;
use crate::api::{self, ErrorBody};
use crate::sync::lock;
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Limited};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// Plug's default body limit: larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 8_000_000;

/// One request as the sandbox received it. The `client_secret` form field is redacted;
/// the Authorization header is reduced to its scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// `Basic`, `Bearer`, or another scheme; `None` without the header.
    pub auth_scheme: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
    /// The status answered (0 when the connection was dropped or hung).
    pub status: u16,
    /// Milliseconds since the sandbox started, when the request arrived.
    pub at_ms: u64,
}

impl RecordedRequest {
    /// The body as JSON (`Value::Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// A form field of the body (token requests).
    pub fn form(&self, key: &str) -> Option<String> {
        form_urlencoded::parse(self.body.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }
}

/// State shared by every connection.
pub struct Shared {
    pub state: Mutex<State>,
    pub faults: Mutex<Vec<Fault>>,
    pub latency: Duration,
    pub log: Mutex<Vec<RecordedRequest>>,
    pub dirty: AtomicBool,
    pub started: std::time::Instant,
    pub clock: super::clock::Clock,
}

type ResponseBody = BoxBody<Bytes, std::io::Error>;

/// Accepts connections until `shutdown` is notified.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: Arc<Notify>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!("sandbox accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = shutdown.notified() => return,
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, shared).await,
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => serve_connection(stream, shared).await,
                    Err(e) => tracing::debug!("sandbox TLS handshake failed: {e}"),
                },
            }
        });
    }
}

/// Serves one connection (plain or TLS) until it closes or a fault drops it.
async fn serve_connection<S>(stream: S, shared: Arc<Shared>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    // Firing this drops the connection without an answer (fault injection).
    let kill = Arc::new(Notify::new());
    let service_kill = kill.clone();
    let service = hyper::service::service_fn(move |req| {
        let shared = shared.clone();
        let kill = service_kill.clone();
        async move { Ok::<_, Infallible>(handle(req, shared, kill).await) }
    });
    let io = hyper_util::rt::TokioIo::new(stream);
    let connection = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    tokio::select! {
        result = connection => {
            if let Err(e) = result {
                tracing::debug!("sandbox connection ended: {e}");
            }
        }
        _ = kill.notified() => tracing::debug!("sandbox dropped a connection on purpose"),
    }
}

fn json_response(
    status: u16,
    body: Option<Arc<[Bytes]>>,
    headers: &[(&str, String)],
) -> Response<ResponseBody> {
    cut_off_response(status, body, headers, false)
}

/// [`json_response`], its body cut off half-way when `cut_off` (fault injection).
fn cut_off_response(
    status: u16,
    body: Option<Arc<[Bytes]>>,
    headers: &[(&str, String)],
    cut_off: bool,
) -> Response<ResponseBody> {
    let has_body = body.is_some();
    let body = match cut_off {
        true => Pieces::truncated(body.unwrap_or_default()),
        false => Pieces::whole(body.unwrap_or_default()),
    };
    let mut response = Response::new(body.boxed());
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if has_body {
        response.headers_mut().insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// A body sent piece by piece as it is: a list's first byte leaves at once and its 177 MB
/// of cached renderings are never copied into one. Its length is known up front, so it
/// goes with a Content-Length as boruta's (Phoenix's) does. A body cut off on purpose
/// announces its whole length, sends its first half and fails, so hyper aborts the
/// connection (the client sees a truncated body).
struct Pieces {
    pieces: Arc<[Bytes]>,
    /// The next piece to send.
    next: usize,
    /// The Content-Length.
    announced: u64,
    /// Bytes not sent yet of those it will send.
    remaining: u64,
    truncated: bool,
}

impl Pieces {
    fn whole(pieces: Arc<[Bytes]>) -> Self {
        let len = pieces.iter().map(|piece| piece.len() as u64).sum();
        Pieces {
            pieces,
            next: 0,
            announced: len,
            remaining: len,
            truncated: false,
        }
    }

    /// The first half of `pieces`, then a failure.
    fn truncated(pieces: Arc<[Bytes]>) -> Self {
        let announced = pieces.iter().map(|piece| piece.len() as u64).sum();
        let mut kept = Vec::new();
        let mut left = announced / 2;
        for piece in pieces.iter() {
            if left == 0 {
                break;
            }
            let take = (piece.len() as u64).min(left);
            kept.push(piece.slice(..take as usize));
            left -= take;
        }
        Pieces {
            announced,
            truncated: true,
            ..Pieces::whole(kept.into())
        }
    }
}

impl Body for Pieces {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        let next = this.pieces[this.next..]
            .iter()
            .position(|piece| !piece.is_empty());
        match next.map(|skip| this.next + skip) {
            Some(at) => {
                let piece = this.pieces[at].clone();
                this.next = at + 1;
                this.remaining -= piece.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(piece))))
            }
            None if self.truncated => {
                Poll::Ready(Some(Err(std::io::Error::other("truncated on purpose"))))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0 && !self.truncated
    }

    fn size_hint(&self) -> SizeHint {
        // hyper asks before the first frame, to write the Content-Length.
        SizeHint::with_exact(match self.truncated {
            true => self.announced,
            false => self.remaining,
        })
    }
}

/// A body that never ends.
struct Endless;

impl Body for Endless {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        static CHUNK: [u8; 64 * 1024] = [b' '; 64 * 1024];
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&CHUNK)))))
    }
}

/// A create's body without `client.id`.
fn without_client_fields(body: Bytes, fields: &[String]) -> Bytes {
    match serde_json::from_slice::<Value>(&body) {
        Ok(mut value) => {
            if let Some(Value::Object(client)) = value.get_mut("client") {
                for field in fields {
                    client.remove(field);
                }
            }
            Bytes::from(value.to_string())
        }
        Err(_) => body,
    }
}

async fn never() -> Response<ResponseBody> {
    std::future::pending::<()>().await;
    unreachable!("pending never resolves")
}

/// A request as it arrived: its parts, its body (`None` past [`MAX_BODY_BYTES`]), its place
/// in the request log, and what the fault rules make of it.
struct Arrived {
    method: Method,
    path: String,
    headers: HeaderMap,
    content_type: Option<String>,
    body: Option<Bytes>,
    log_index: usize,
    action: Action,
}

impl Arrived {
    /// Reads the request, finds the fault it fires and records it in the log.
    async fn read(req: Request<Incoming>, shared: &Shared) -> Arrived {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let query = req.uri().query().map(str::to_string);
        let headers = req.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let auth_scheme = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(' ').next().unwrap_or("").to_string());
        let body = Limited::new(req.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .ok()
            .map(|collected| collected.to_bytes());
        let fired: Option<Action> = {
            let faults = lock(&shared.faults);
            faults
                .iter()
                .find_map(|f| f.fire(method.as_str(), &path).cloned())
        };
        let record = RecordedRequest {
            method: method.to_string(),
            path: path.clone(),
            query,
            auth_scheme,
            content_type: content_type.clone(),
            body: body
                .as_ref()
                .map(|b| redact_secret(&String::from_utf8_lossy(b)))
                .unwrap_or_default(),
            status: 0,
            at_ms: shared.started.elapsed().as_millis() as u64,
        };
        let log_index = {
            let mut log = lock(&shared.log);
            log.push(record);
            log.len() - 1
        };
        tracing::debug!(method = %method, path = %path, "sandbox request");
        Arrived {
            method,
            path,
            headers,
            content_type,
            body,
            log_index,
            action: fired.unwrap_or_default(),
        }
    }

    /// Records the status answered. The log may have been cleared meanwhile (tests do):
    /// then there is nothing to update.
    fn set_status(&self, shared: &Shared, status: u16) {
        if let Some(entry) = lock(&shared.log).get_mut(self.log_index) {
            entry.status = status;
        }
    }
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    kill: Arc<Notify>,
) -> Response<ResponseBody> {
    // `--latency-ms` is the time from arrival to answer: the work happens inside it.
    let deadline = std::time::Instant::now() + shared.latency;
    let mut arrived = Arrived::read(req, &shared).await;
    let action = arrived.action.clone();
    if action.expire_tokens {
        lock(&shared.state).expire_tokens();
    }
    if action.drop {
        kill.notify_one();
        return never().await;
    }
    if let Some(ms) = action.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if action.hang {
        return never().await;
    }
    if action.endless_body {
        arrived.set_status(&shared, 200);
        let mut response = Response::new(Endless.boxed());
        response.headers_mut().insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        return response;
    }
    if !action.strip_fields.is_empty() {
        let body = arrived.body.take();
        arrived.body = body.map(|bytes| without_client_fields(bytes, &action.strip_fields));
    }
    if let Some(status) = action.status {
        shared.clock.sleep_until(deadline).await;
        arrived.set_status(&shared, status);
        return injected(&arrived, status);
    }
    let response = answer(&shared, &arrived, deadline);
    shared.clock.sleep_until(deadline).await;
    if action.commit_then_drop {
        kill.notify_one();
        return never().await;
    }
    response
}

/// The answer of a fault rule with a status: the request echoed, or boruta's error body
/// for a 5xx, or no body.
fn injected(arrived: &Arrived, status: u16) -> Response<ResponseBody> {
    let action = &arrived.action;
    let mut extra = Vec::new();
    if let Some(seconds) = action.retry_after {
        extra.push(("retry-after", seconds.to_string()));
    }
    let echoed = action.echo_request.then(|| {
        let pairs: Vec<(String, String)> = arrived
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
            .collect();
        token::echoed_request(&pairs, arrived.body.as_deref().unwrap_or_default())
    });
    let body = echoed.or_else(|| (status >= 500).then(|| {
        let reason = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("error");
        json!({"code": reason.to_ascii_uppercase().replace(' ', "_"), "message": "injected fault"})
    }));
    json_response(
        status,
        body.map(|b| Arc::from([Bytes::from(b.to_string())])),
        &extra,
    )
}

/// The imitation's own answer to a request (a write commits at `deadline`), its body cut
/// off half-way when a fault says so.
fn answer(
    shared: &Shared,
    arrived: &Arrived,
    deadline: std::time::Instant,
) -> Response<ResponseBody> {
    let method = &arrived.method;
    let (answer, extra) = match &arrived.body {
        None => (
            Answer::error(
                413,
                ErrorBody::exception(
                    "REQUEST_ENTITY_TOO_LARGE",
                    "Plug.Parsers.RequestTooLargeError",
                ),
            ),
            Vec::new(),
        ),
        Some(bytes) => route(
            shared,
            &Routed {
                method,
                path: &arrived.path,
                headers: &arrived.headers,
                content_type: arrived.content_type.as_deref(),
                body: bytes,
                commit_at: deadline,
            },
        ),
    };
    arrived.set_status(shared, answer.status);
    let is_write = matches!(
        *method,
        Method::POST | Method::PATCH | Method::PUT | Method::DELETE
    ) && arrived.path.starts_with("/api/")
        && answer.status < 300;
    if is_write {
        shared.dirty.store(true, Ordering::SeqCst);
    }
    let mut headers: Vec<(&str, String)> = extra;
    if let Some(location) = &answer.location {
        headers.push(("location", location.clone()));
    }
    let status = answer.status;
    let body = answer.into_body_pieces();
    cut_off_response(status, body, &headers, arrived.action.truncate)
}

/// Replaces the value of a `client_secret` form field.
fn redact_secret(body: &str) -> String {
    if !body.contains("client_secret=") {
        return body.to_string();
    }
    body.split('&')
        .map(|pair| {
            if pair.starts_with("client_secret=") {
                "client_secret=REDACTED"
            } else {
                pair
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// One request, as routing needs it.
struct Routed<'a> {
    method: &'a Method,
    path: &'a str,
    headers: &'a HeaderMap,
    content_type: Option<&'a str>,
    body: &'a Bytes,
    /// When the answer is sent: a write's transaction commits then.
    commit_at: std::time::Instant,
}

fn route(shared: &Shared, request: &Routed<'_>) -> (Answer, Vec<(&'static str, String)>) {
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    if segments == ["oauth", "token"] {
        return token_endpoint(
            shared,
            request.method,
            request.headers,
            request.content_type,
            request.body,
        );
    }
    if segments.first() != Some(&"api") {
        return (no_route(request.method, request.path), Vec::new());
    }
    (api_request(shared, request, &segments[1..]), Vec::new())
}

fn no_route(method: &Method, path: &str) -> Answer {
    Answer::error(
        404,
        ErrorBody::exception(
            "NOT_FOUND",
            format!("no route found for {method} {path} (BorutaAdminWeb.Router)"),
        ),
    )
}

fn token_endpoint(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
    content_type: Option<&str>,
    body: &Bytes,
) -> (Answer, Vec<(&'static str, String)>) {
    if method == Method::OPTIONS {
        return (
            Answer {
                status: 204,
                body: None,
                pieces: None,
                location: None,
            },
            Vec::new(),
        );
    }
    if method != Method::POST {
        return (no_route(method, "/oauth/token"), Vec::new());
    }
    let mut form: BTreeMap<String, String> = BTreeMap::new();
    if content_type.is_some_and(|c| c.starts_with("application/json")) {
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
            for (k, v) in map {
                form.insert(k, v.as_str().map_or_else(|| v.to_string(), str::to_string));
            }
        }
    } else {
        for (k, v) in form_urlencoded::parse(body) {
            form.insert(k.into_owned(), v.into_owned());
        }
    }
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let (status, json) = token::token(
        &mut lock(&shared.state),
        authorization,
        &form,
        headers.contains_key("dpop"),
    );
    let extra = if status == 200 {
        vec![
            ("pragma", "no-cache".to_string()),
            ("cache-control", "no-store".to_string()),
        ]
    } else {
        Vec::new()
    };
    (Answer::json(status, json), extra)
}

/// Accept values that include JSON.
fn accepts_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get("accept").and_then(|v| v.to_str().ok()) else {
        return true;
    };
    accept.split(',').any(|part| {
        let media = part.split(';').next().unwrap_or("").trim();
        matches!(media, "application/json" | "application/*" | "*/*" | "")
    })
}

/// The token's scopes, following boruta's header rules (§2.1).
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Option<Vec<String>> {
    let mut values = headers.get_all("authorization").iter();
    let value = values.next()?.to_str().ok()?;
    if values.next().is_some() {
        return None;
    }
    let token = &value[value.find("Bearer ")? + "Bearer ".len()..];
    if token.is_empty() {
        return None;
    }
    lock(&shared.state).token_scopes(token)
}

/// An admin API request: refused (unacceptable, unknown, unauthenticated, forbidden) or
/// carried out.
fn api_request(shared: &Shared, request: &Routed<'_>, segments: &[&str]) -> Answer {
    match admit(shared, request, segments) {
        Ok(()) => carry_out(shared, request, segments),
        Err(refused) => refused,
    }
}

/// `POST /api/clients/:id/regenerate_key_pair`.
fn is_regenerate(method: &Method, segments: &[&str]) -> bool {
    segments.first() == Some(&"clients")
        && segments.len() == 3
        && segments[2] == "regenerate_key_pair"
        && method == Method::POST
}

/// Why boruta would refuse an admin API request before its controller runs, if it would.
// The error is the HTTP answer itself; it is built once per refused request.
#[allow(clippy::result_large_err)]
fn admit(shared: &Shared, request: &Routed<'_>, segments: &[&str]) -> Result<(), Answer> {
    let (method, path, headers) = (request.method, request.path, request.headers);
    if !accepts_json(headers) {
        return Err(Answer::error(
            406,
            ErrorBody::exception(
                "NOT_ACCEPTABLE",
                "no supported media type in accept header, expected one of [\"json\"]",
            ),
        ));
    }
    let resource = segments.first().copied().unwrap_or("");
    let regenerate = is_regenerate(method, segments);
    // Of the key-pair routes only the reads are imitated (a reconciler reads key pairs to
    // know whether a client holds one; it never writes them).
    let key_pair_read = resource == "key-pairs" && method == Method::GET;
    let known = (matches!(resource, "clients" | "scopes" | "identity-providers") || key_pair_read)
        && (segments.len() <= 2 || regenerate);
    if !known {
        return Err(no_route(method, path));
    }
    let Some(scopes) = authenticate(shared, headers) else {
        return Err(Answer::error(401, ErrorBody::unauthorized()));
    };
    let has = |s: &str| scopes.iter().any(|g| g == s);
    // Scope reads need any management scope (boruta-server `44c8fa43`, 0.9.0); reading
    // one scope joined them only on master (`scope_controller.ex`: `[:index, :show]`).
    let version = lock(&shared.state).version;
    let any_of_reads = method == Method::GET && (segments.len() == 1 || !version.is_release());
    let allowed = match resource {
        // key_pair_controller.ex: `plug(:authorize, ["clients:manage:all"])`.
        "clients" | "key-pairs" => has(api::SCOPE_CLIENTS),
        "identity-providers" => has(api::SCOPE_IDENTITY_PROVIDERS),
        _ if any_of_reads => api::SCOPE_READERS.iter().any(|s| has(s)),
        _ => has(api::SCOPE_SCOPES),
    };
    match allowed {
        true => Ok(()),
        false => Err(Answer::error(403, ErrorBody::forbidden())),
    }
}

/// What the admitted request does to the state.
fn carry_out(shared: &Shared, request: &Routed<'_>, segments: &[&str]) -> Answer {
    let (method, path) = (request.method, request.path);
    let (content_type, body) = (request.content_type, request.body);
    let resource = segments.first().copied().unwrap_or("");
    let regenerate = is_regenerate(method, segments);
    // The error is the HTTP answer itself; it is built once per failed request.
    #[allow(clippy::result_large_err)]
    let params = || -> Result<Value, Answer> {
        let is_json = content_type.is_some_and(|c| c.starts_with("application/json"));
        if !is_json || body.is_empty() {
            return Ok(json!({})); // not parsed: the envelope is missing
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(value @ Value::Object(_)) => Ok(value),
            Ok(other) => Ok(json!({ "_json": other })),
            Err(_) => Err(Answer::error(400, ErrorBody::bad_request())),
        }
    };
    let mut state = lock(&shared.state);
    let id = segments.get(1).copied();
    match (resource, method.clone(), id) {
        ("clients", Method::GET, None) => state.list_clients(),
        ("clients", Method::POST, None) => match params() {
            Ok(p) => state.create_client_until(&p, request.commit_at),
            Err(answer) => answer,
        },
        ("clients", Method::POST, Some(id)) if regenerate => state.regenerate_key_pair(id),
        ("clients", Method::GET, Some(id)) => match crate::kinds::client::rules::is_uuid(id) {
            true => state.show_client(&id.to_ascii_lowercase()),
            false => super::state::cast_error(id),
        },
        ("clients", Method::PATCH | Method::PUT, Some(id)) => match params() {
            Ok(p) => state.update_client_until(id, &p, request.commit_at),
            Err(answer) => answer,
        },
        ("clients", Method::DELETE, Some(id)) => state.delete_client(id),
        ("scopes", Method::GET, None) => state.list_scopes(),
        ("scopes", Method::POST, None) => match params() {
            Ok(p) => state.create_scope(&p),
            Err(answer) => answer,
        },
        ("scopes", Method::GET, Some(id)) => state.show_scope(id),
        ("scopes", Method::PATCH | Method::PUT, Some(id)) => match params() {
            Ok(p) => state.update_scope(id, &p),
            Err(answer) => answer,
        },
        ("scopes", Method::DELETE, Some(id)) => state.delete_scope(id),
        ("key-pairs", Method::GET, None) => state.list_key_pairs(),
        ("key-pairs", Method::GET, Some(id)) => state.show_key_pair(id),
        ("identity-providers", Method::GET, None) => state.list_identity_providers(),
        ("identity-providers", Method::GET, Some(id)) => state.show_identity_provider(id),
        _ => no_route(method, path),
    }
}
