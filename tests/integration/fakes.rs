//! Loopback stand-ins for what CI talks to besides boruta: a static file server (a
//! release's assets, for install.sh and the action) and GitHub's REST API (comments,
//! labels, issues), recording every request.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// One request as a fake received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// With the query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(status: u16, body: Value) -> Response {
        Response {
            status,
            body: body.to_string().into_bytes(),
        }
    }
}

type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// A blocking HTTP/1.1 server on loopback: one request per connection.
pub struct HttpServer {
    pub url: String,
    pub log: Arc<Mutex<Vec<Request>>>,
}

impl HttpServer {
    pub fn start(handler: Handler) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let recorded = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (handler, recorded) = (handler.clone(), recorded.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &handler, &recorded);
                });
            }
        });
        HttpServer { url, log }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }
}

fn serve(
    stream: std::net::TcpStream,
    handler: &Handler,
    log: &Mutex<Vec<Request>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let request = Request {
        method,
        target,
        headers,
        body,
    };
    let response = handler(&request);
    log.lock().unwrap().push(request);
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        response.status,
        response.body.len()
    )?;
    stream.write_all(&response.body)?;
    stream.flush()
}

/// Serves the files below `root` (GET only).
pub fn static_files(root: PathBuf) -> HttpServer {
    HttpServer::start(Arc::new(move |request: &Request| {
        let relative = request.path().trim_start_matches('/');
        let path = root.join(relative);
        let inside = !relative.split('/').any(|s| s == "..");
        match (request.method.as_str(), inside, std::fs::read(&path)) {
            ("GET", true, Ok(body)) => Response { status: 200, body },
            _ => Response {
                status: 404,
                body: b"not found".to_vec(),
            },
        }
    }))
}

/// What the fake GitHub holds.
#[derive(Debug, Default)]
pub struct GitHubState {
    /// (id, issue number, author, body)
    pub comments: Vec<(u64, u64, String, String)>,
    pub labels: Vec<String>,
    /// number -> (title, body, labels, state)
    pub issues: BTreeMap<u64, (String, String, Vec<String>, String)>,
    /// number -> the login of the issue's author (the token's owner for issues the tool
    /// opened; a test plants others').
    pub issue_authors: BTreeMap<u64, String>,
    next_id: u64,
}

pub const GITHUB_TOKEN: &str = "ghs_fake_token_of_the_job";
pub const REPOSITORY: &str = "acme/identity";

/// GitHub's REST API, as much of it as the action uses, for `acme/identity`.
pub struct FakeGitHub {
    pub server: HttpServer,
    pub state: Arc<Mutex<GitHubState>>,
}

impl FakeGitHub {
    pub fn start() -> FakeGitHub {
        let state = Arc::new(Mutex::new(GitHubState {
            next_id: 100,
            ..GitHubState::default()
        }));
        let shared = state.clone();
        let server = HttpServer::start(Arc::new(move |request: &Request| {
            if request.header("authorization") != Some(&format!("Bearer {GITHUB_TOKEN}")) {
                return Response::json(401, json!({"message": "Bad credentials"}));
            }
            route(&mut shared.lock().unwrap(), request)
        }));
        FakeGitHub { server, state }
    }

    pub fn url(&self) -> &str {
        &self.server.url
    }
}

fn route(state: &mut GitHubState, request: &Request) -> Response {
    let prefix = format!("/repos/{REPOSITORY}");
    let Some(path) = request.path().strip_prefix(&prefix) else {
        return Response::json(404, json!({"message": "Not Found"}));
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let page = request
        .target
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("page="))
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(1);
    let body = request.json();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["issues", number, "comments"]) => {
            let number: u64 = number.parse().unwrap_or(0);
            let items: Vec<Value> = if page == 1 {
                state
                    .comments
                    .iter()
                    .filter(|c| c.1 == number)
                    .map(|c| json!({"id": c.0, "body": c.3, "user": {"login": c.2}}))
                    .collect()
            } else {
                Vec::new()
            };
            Response::json(200, Value::Array(items))
        }
        ("POST", ["issues", number, "comments"]) => {
            state.next_id += 1;
            let id = state.next_id;
            let number: u64 = number.parse().unwrap_or(0);
            let text = body["body"].as_str().unwrap_or("").to_string();
            state
                .comments
                .push((id, number, "github-actions[bot]".into(), text));
            Response::json(201, json!({"id": id}))
        }
        ("PATCH", ["issues", "comments", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            match state.comments.iter_mut().find(|c| c.0 == id) {
                Some(comment) => {
                    comment.3 = body["body"].as_str().unwrap_or("").to_string();
                    Response::json(200, json!({"id": id}))
                }
                None => Response::json(404, json!({"message": "Not Found"})),
            }
        }
        ("GET", ["labels", name]) => {
            if state.labels.iter().any(|l| l == name) {
                Response::json(200, json!({"name": name}))
            } else {
                Response::json(404, json!({"message": "Not Found"}))
            }
        }
        ("POST", ["labels"]) => {
            state
                .labels
                .push(body["name"].as_str().unwrap_or("").to_string());
            Response::json(201, body)
        }
        ("GET", ["issues"]) => {
            let items: Vec<Value> = if page == 1 {
                state
                    .issues
                    .iter()
                    .filter(|(_, i)| i.3 == "open")
                    .map(|(n, i)| {
                        let author = state.issue_authors.get(n).map_or("ghost", String::as_str);
                        json!({"number": n, "title": i.0, "body": i.1, "labels": i.2, "user": {"login": author}})
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Response::json(200, Value::Array(items))
        }
        ("POST", ["issues"]) => {
            let number = state.issues.len() as u64 + 1;
            state
                .issue_authors
                .insert(number, "github-actions[bot]".into());
            let labels = body["labels"]
                .as_array()
                .map(|l| {
                    l.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            state.issues.insert(
                number,
                (
                    body["title"].as_str().unwrap_or("").to_string(),
                    body["body"].as_str().unwrap_or("").to_string(),
                    labels,
                    "open".to_string(),
                ),
            );
            Response::json(201, json!({"number": number}))
        }
        ("PATCH", ["issues", number]) => {
            let number: u64 = number.parse().unwrap_or(0);
            match state.issues.get_mut(&number) {
                Some(issue) => {
                    if let Some(text) = body["body"].as_str() {
                        issue.1 = text.to_string();
                    }
                    if let Some(state) = body["state"].as_str() {
                        issue.3 = state.to_string();
                    }
                    Response::json(200, json!({"number": number}))
                }
                None => Response::json(404, json!({"message": "Not Found"})),
            }
        }
        _ => Response::json(404, json!({"message": "Not Found"})),
    }
}
