//! `Test`: one run of the real binary and what it must print, exactly (in the style of
//! `just`'s tests/test.rs). Unset expectations are strict too: stdout and stderr empty,
//! status 0, so a test says everything a user sees. What genuinely varies from run to run
//! (the sandbox's port, a temporary path, a duration) is replaced by a named placeholder
//! the test asks for ([`Test::redact`], [`Test::redact_between`]); nothing is matched by
//! `contains`. Lines that come in completion order (concurrent creates) are compared
//! sorted, again on request ([`Test::unordered_under`]).
//!
//! ```text
//! Test::new(&ws)
//!     .args(&["plan", "manifests"])
//!     .sandbox(&server)                  // its URL reads [SANDBOX]
//!     .status(1)
//!     .stdout("boruta-gitops plan against [SANDBOX]\n...")
//!     .stderr("error[conflict]: ...\n")
//!     .run();
//! ```
//!
//! Writing the expectations of a new test: run it with `EXACT_DUMP=DIR` (each run's
//! redacted output lands in `DIR/<file>:<line>.json`, and is still asserted), read the
//! output, and paste what is right. Run twice to find what varies.

use super::{Output, Workspace};
use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A run that has not finished by then is killed and the test fails (a regression that
/// hangs fails instead of hanging the suite).
const LIMIT: Duration = Duration::from_secs(60);

/// One run of the binary in a workspace, and its expected output.
#[must_use = "a Test does nothing until .run()"]
pub struct Test<'a> {
    workspace: &'a Workspace,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
    stdout: Expected,
    stderr: String,
    status: i32,
    redactions: Vec<Redaction>,
}

enum Expected {
    Text(String),
    Json(serde_json::Value),
}

/// How a variable part of the output becomes its placeholder.
enum Redaction {
    /// The indented lines right under a line starting with `header`, which come in
    /// completion order (concurrent writes), are sorted.
    Unordered { header: String },
    /// Every occurrence of this exact text.
    Value { value: String, name: String },
    /// On each line, whatever stands between `before` and the next `after`.
    Between {
        before: String,
        after: String,
        name: String,
    },
}

impl<'a> Test<'a> {
    /// The binary in `workspace`'s directory, with its environment (see
    /// [`Workspace::command`]); the workspace's path reads `[WORKSPACE]` in the output.
    pub fn new(workspace: &'a Workspace) -> Self {
        let path = workspace.path().display().to_string();
        Test {
            workspace,
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            stdout: Expected::Text(String::new()),
            stderr: String::new(),
            status: 0,
            redactions: vec![Redaction::Value {
                value: path,
                name: "[WORKSPACE]".into(),
            }],
        }
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn arg(mut self, arg: impl AsRef<str>) -> Self {
        self.args.push(arg.as_ref().to_string());
        self
    }

    /// One more environment variable for this run (after the workspace's).
    pub fn env(mut self, key: &str, value: impl AsRef<str>) -> Self {
        self.env.push((key.into(), value.as_ref().to_string()));
        self
    }

    /// Bytes on stdin (otherwise stdin is empty: /dev/null).
    pub fn stdin(mut self, input: impl AsRef<[u8]>) -> Self {
        self.stdin = Some(input.as_ref().to_vec());
        self
    }

    /// The whole of stdout, after redactions.
    pub fn stdout(mut self, expected: impl AsRef<str>) -> Self {
        self.stdout = Expected::Text(expected.as_ref().to_string());
        self
    }

    /// stdout is one JSON document equal to `expected` (members, order of arrays and
    /// values; redactions apply to the text before it is parsed).
    pub fn stdout_json(mut self, expected: serde_json::Value) -> Self {
        self.stdout = Expected::Json(expected);
        self
    }

    /// The whole of stderr, after redactions.
    pub fn stderr(mut self, expected: impl AsRef<str>) -> Self {
        self.stderr = expected.as_ref().to_string();
        self
    }

    /// The exit status (0 unless said).
    pub fn status(mut self, code: i32) -> Self {
        self.status = code;
        self
    }

    /// Every occurrence of `value` in stdout and stderr reads `name` (e.g. `[ID]`).
    pub fn redact(mut self, value: impl AsRef<str>, name: &str) -> Self {
        self.redactions.push(Redaction::Value {
            value: value.as_ref().to_string(),
            name: name.into(),
        });
        self
    }

    /// On every line, the text between `before` and the next `after` reads `name`: for a
    /// duration (`"retrying in "`, `" ms"`, `"[MS]"`).
    pub fn redact_between(mut self, before: &str, after: &str, name: &str) -> Self {
        self.redactions.push(Redaction::Between {
            before: before.into(),
            after: after.into(),
            name: name.into(),
        });
        self
    }

    /// The indented lines (two spaces) right under the line starting with `header` are
    /// compared sorted: concurrent creates report in the order they complete.
    pub fn unordered_under(mut self, header: &str) -> Self {
        self.redactions.push(Redaction::Unordered {
            header: header.into(),
        });
        self
    }

    /// The sandbox's base URL (random port) reads `[SANDBOX]`.
    pub fn sandbox(self, server: &super::Server) -> Self {
        self.redact(server.sandbox.base_url(), "[SANDBOX]")
    }

    /// Runs the binary and asserts status, stdout and stderr; returns the output (as
    /// printed, before redactions) for further checks of files or the server.
    #[track_caller]
    pub fn run(self) -> Output {
        let output = self.spawn();
        self.check(output)
    }

    /// Asserts the expectations on the output of a run made otherwise (a child spawned in
    /// the background, signalled or raced); returns it.
    #[track_caller]
    pub fn check(self, output: Output) -> Output {
        let stdout = redact(&output.stdout, &self.redactions);
        let stderr = redact(&output.stderr, &self.redactions);
        if let Some(dir) = std::env::var_os("EXACT_DUMP") {
            dump(dir.as_ref(), output.code, &stdout, &stderr);
        }
        let mut failures = Vec::new();
        if output.code != self.status {
            failures.push(format!(
                "status: expected {}, got {}",
                self.status, output.code
            ));
        }
        if let Some(failure) = compare("stdout", &self.stdout, &stdout) {
            failures.push(failure);
        }
        if let Some(failure) = compare("stderr", &Expected::Text(self.stderr.clone()), &stderr) {
            failures.push(failure);
        }
        assert!(
            failures.is_empty(),
            "boruta-gitops {}\n{}\n--- stdout (redacted) ---\n{stdout}\n--- stderr (redacted) ---\n{stderr}",
            self.args.join(" "),
            failures.join("\n")
        );
        output
    }

    fn spawn(&self) -> Output {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let mut cmd = self.workspace.command(&args);
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run binary");
        if let Some(input) = self.stdin.clone() {
            let mut pipe = child.stdin.take().unwrap();
            // A thread, so a child that does not read its stdin cannot block the test.
            std::thread::spawn(move || pipe.write_all(&input));
        }
        let stdout = drain(child.stdout.take().unwrap());
        let stderr = drain(child.stderr.take().unwrap());
        let started = Instant::now();
        let exited = super::poll_until(LIMIT, || child.try_wait().expect("wait").is_some());
        if !exited {
            let _ = child.kill();
        }
        let status = child.wait().expect("wait");
        let output = Output {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout.join().unwrap()).into_owned(),
            stderr: String::from_utf8_lossy(&stderr.join().unwrap()).into_owned(),
        };
        assert!(
            exited,
            "{args:?} still running after {:?}; killed.\n{}\n{}",
            started.elapsed(),
            output.stdout,
            output.stderr
        );
        output
    }
}

/// With `EXACT_DUMP=DIR`, what each run printed (redacted) is written to
/// `DIR/<file>:<line>.json`, named by the caller's `.run()`: a person writing a new test
/// reads there what to expect, and checks it by eye before pasting it in. The run is
/// asserted all the same, so the variable never turns a test into one that cannot fail.
#[track_caller]
fn dump(dir: &std::path::Path, code: i32, stdout: &str, stderr: &str) {
    let caller = std::panic::Location::caller();
    let name = format!("{}:{}.json", caller.file().replace('/', "_"), caller.line());
    let record = serde_json::json!({
        "file": caller.file(), "line": caller.line(),
        "status": code, "stdout": stdout, "stderr": stderr,
    });
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), record.to_string()).unwrap();
}

/// Reads a pipe to its end on a thread, so a chatty child never blocks on a full pipe.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        pipe.read_to_end(&mut bytes).ok();
        bytes
    })
}

fn redact(text: &str, redactions: &[Redaction]) -> String {
    let mut text = text.to_string();
    for redaction in redactions {
        text = match redaction {
            Redaction::Value { value, name } if !value.is_empty() => text.replace(value, name),
            Redaction::Value { .. } => text,
            Redaction::Unordered { header } => sort_under(&text, header),
            Redaction::Between {
                before,
                after,
                name,
            } => text
                .split_inclusive('\n')
                .map(|line| redact_line(line, before, after, name))
                .collect(),
        };
    }
    text
}

fn sort_under(text: &str, header: &str) -> String {
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut at = 0;
    while let Some(found) = lines[at..].iter().position(|l| l.starts_with(header)) {
        let start = at + found + 1;
        let length = lines[start..]
            .iter()
            .take_while(|l| l.starts_with("  "))
            .count();
        lines[start..start + length].sort_unstable();
        at = start + length;
    }
    lines.concat()
}

fn redact_line(line: &str, before: &str, after: &str, name: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find(before) {
        let value_start = start + before.len();
        let Some(length) = rest[value_start..].find(after) else {
            break;
        };
        out.push_str(&rest[..value_start]);
        out.push_str(name);
        rest = &rest[value_start + length..];
        out.push_str(&rest[..after.len()]);
        rest = &rest[after.len()..];
    }
    out.push_str(rest);
    out
}

/// `None` when `actual` is what was expected; otherwise what differs, as a line diff.
fn compare(stream: &str, expected: &Expected, actual: &str) -> Option<String> {
    match expected {
        Expected::Text(expected) if expected == actual => None,
        Expected::Text(expected) => Some(diff(stream, expected, actual)),
        Expected::Json(expected) => match serde_json::from_str::<serde_json::Value>(actual) {
            Ok(value) if &value == expected => None,
            Ok(value) => Some(diff(
                stream,
                &serde_json::to_string_pretty(expected).unwrap(),
                &serde_json::to_string_pretty(&value).unwrap(),
            )),
            Err(e) => Some(format!("{stream}: not JSON ({e})")),
        },
    }
}

/// A unified diff, expected (-) against actual (+), with line ends made visible.
fn diff(stream: &str, expected: &str, actual: &str) -> String {
    let diff = similar::TextDiff::from_lines(expected, actual);
    let mut text = format!("{stream} differs (- expected, + actual):\n");
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => ' ',
        };
        let line = change.value();
        match line.strip_suffix('\n') {
            Some(line) => text.push_str(&format!("{sign}{line}\n")),
            None => text.push_str(&format!("{sign}{line}⏎ (no newline at end)\n")),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_between_replaces_each_value_on_a_line() {
        let redactions = [Redaction::Between {
            before: "in ".into(),
            after: " ms".into(),
            name: "[MS]".into(),
        }];
        assert_eq!(
            redact("retry in 12 ms, then in 345 ms\nin x\n", &redactions),
            "retry in [MS] ms, then in [MS] ms\nin x\n"
        );
    }

    #[test]
    fn lines_under_a_header_are_sorted() {
        let redactions = [Redaction::Unordered {
            header: "Creating".into(),
        }];
        assert_eq!(
            redact(
                "Creating 2:\n  + b\n  + a\nDone\n  + d\n  + c\n",
                &redactions
            ),
            "Creating 2:\n  + a\n  + b\nDone\n  + d\n  + c\n"
        );
    }

    #[test]
    fn what_a_test_does_not_expect_fails_it() {
        let ws = Workspace::new();
        // No stdout expected: the version line is a difference, shown as a diff.
        let unexpected = std::panic::catch_unwind(|| {
            Test::new(&ws).args(&["--version"]).run();
        });
        let message = *unexpected.unwrap_err().downcast::<String>().unwrap();
        assert_eq!(
            message,
            "boruta-gitops --version\nstdout differs (- expected, + actual):\n+boruta-gitops 0.1.0\n\n--- stdout (redacted) ---\nboruta-gitops 0.1.0\n\n--- stderr (redacted) ---\n"
        );
        Test::new(&ws)
            .args(&["--version"])
            .stdout("boruta-gitops 0.1.0\n")
            .run();
    }

    #[test]
    fn the_environment_given_reaches_the_binary() {
        let ws = Workspace::new().file("a.yaml", format!("name: a\n{}", super::super::IDP));
        Test::new(&ws)
            .args(&["plan", "manifests"])
            .env("BORUTA_ADMIN_URL", "http://127.0.0.1:9")
            .status(1)
            .stderr("error: no credentials: set BORUTA_CLIENT_ID and BORUTA_CLIENT_SECRET (or --client-secret-file), or BORUTA_ACCESS_TOKEN\n")
            .run();
    }

    #[test]
    fn a_difference_is_shown_line_by_line() {
        assert_eq!(
            compare("stdout", &Expected::Text("a\nb\n".into()), "a\nc"),
            Some(
                "stdout differs (- expected, + actual):\n a\n-b\n+c⏎ (no newline at end)\n".into()
            )
        );
        assert_eq!(
            compare("stdout", &Expected::Text("a\n".into()), "a\n"),
            None
        );
    }
}
