//! Runs the jobs of the project's workflow files the way GitHub Actions would, as far as
//! their shell steps go: expressions (`${{ inputs.x }}`, `secrets`, `vars`, `env`,
//! `steps.<id>.outputs`, `always()`), `if:` conditions, job and step `env:`, the composite
//! action's own steps with its inputs and outputs, `GITHUB_OUTPUT` / `GITHUB_PATH` /
//! `GITHUB_ENV`, a `workflow_dispatch` event's `inputs`, and the event file. Steps that use other actions (checkout, cache, upload) are recorded and
//! skipped: they are GitHub's.

#![allow(dead_code)]

use boruta_gitops::source::Node;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The repository: workflows, the action, install.sh.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A YAML file of the repository as JSON.
pub fn yaml(relative: &str) -> Value {
    let path = repo().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
    let file: std::sync::Arc<str> = std::sync::Arc::from(relative);
    let (documents, _) = boruta_gitops::load::parse_text(&file, &text);
    assert_eq!(documents.len(), 1, "{relative}");
    to_json(&documents[0].root)
}

fn to_json(node: &Node) -> Value {
    node.to_json()
}

/// What a job runs with.
pub struct Context {
    pub workspace: PathBuf,
    pub event_name: String,
    pub event: Value,
    pub secrets: BTreeMap<String, String>,
    pub vars: BTreeMap<String, String>,
    /// Process environment every step gets (the fake release, the fake API).
    pub env: BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct StepRun {
    pub name: String,
    pub skipped: bool,
    /// For a skipped `uses:` step, what it would have used.
    pub uses: Option<String>,
    pub code: i32,
    pub output: String,
}

#[derive(Debug)]
pub struct JobRun {
    pub steps: Vec<StepRun>,
    pub failed: bool,
    /// The job's RUNNER_TEMP (the installed binary, 50 MB), removed with the run: kept
    /// after each test, these filled the disk.
    _runner_temp: tempfile::TempDir,
}

impl JobRun {
    /// Everything the steps printed.
    pub fn log(&self) -> String {
        self.steps
            .iter()
            .map(|s| {
                format!(
                    "--- {} (exit {}, skipped {})\n{}",
                    s.name, s.code, s.skipped, s.output
                )
            })
            .collect()
    }
}

/// The names an expression can see.
#[derive(Default, Clone)]
struct Scope {
    inputs: Map<String, Value>,
    steps: BTreeMap<String, Map<String, Value>>,
    env: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
    vars: BTreeMap<String, String>,
    github: Map<String, Value>,
    runner: Map<String, Value>,
    failed: bool,
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty() && s != "false" && s != "0",
        Value::Number(n) => n.as_f64() != Some(0.0),
        _ => true,
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A tiny evaluator of GitHub's expression language: `||`, `&&`, `==`, `!=`, `!`,
/// parentheses, 'strings', true/false, `always()`/`success()`/`failure()`, and paths.
struct Parser<'a> {
    text: &'a str,
    scope: &'a Scope,
}

impl Parser<'_> {
    fn skip(&mut self) {
        self.text = self.text.trim_start();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip();
        if self.text.starts_with(token) {
            self.text = &self.text[token.len()..];
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Value {
        let mut left = self.and();
        while self.eat("||") {
            let right = self.and();
            if !truthy(&left) {
                left = right;
            }
        }
        left
    }

    fn and(&mut self) -> Value {
        let mut left = self.comparison();
        while self.eat("&&") {
            let right = self.comparison();
            if truthy(&left) {
                left = right;
            }
        }
        left
    }

    fn comparison(&mut self) -> Value {
        let left = self.unary();
        if self.eat("==") {
            let right = self.unary();
            return Value::Bool(text(&left) == text(&right));
        }
        if self.eat("!=") {
            let right = self.unary();
            return Value::Bool(text(&left) != text(&right));
        }
        left
    }

    fn unary(&mut self) -> Value {
        if self.eat("!") {
            return Value::Bool(!truthy(&self.unary()));
        }
        self.primary()
    }

    fn primary(&mut self) -> Value {
        self.skip();
        if self.eat("(") {
            let value = self.or();
            assert!(self.eat(")"), "missing ) in expression");
            return value;
        }
        if let Some(rest) = self.text.strip_prefix('\'') {
            let end = rest.find('\'').expect("unterminated string");
            self.text = &rest[end + 1..];
            return Value::String(rest[..end].to_string());
        }
        let end = self
            .text
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-')))
            .unwrap_or(self.text.len());
        let word = &self.text[..end];
        self.text = &self.text[end..];
        if self.eat("(") {
            assert!(self.eat(")"), "functions take no argument here");
            return Value::Bool(match word {
                "always" => true,
                "success" => !self.scope.failed,
                "failure" => self.scope.failed,
                "cancelled" => false,
                other => panic!("function {other}() is not imitated"),
            });
        }
        match word {
            "true" => return Value::Bool(true),
            "false" => return Value::Bool(false),
            _ => {}
        }
        let mut parts = word.split('.');
        let root = parts.next().unwrap_or("");
        let rest: Vec<&str> = parts.collect();
        let map_get = |map: &BTreeMap<String, String>| {
            rest.first()
                .and_then(|k| map.get(*k))
                .map_or(Value::Null, |v| Value::String(v.clone()))
        };
        match root {
            "inputs" => self
                .scope
                .inputs
                .get(rest[0])
                .cloned()
                .unwrap_or(Value::Null),
            "secrets" => map_get(&self.scope.secrets),
            "vars" => map_get(&self.scope.vars),
            "env" => map_get(&self.scope.env),
            "steps" => {
                let outputs = self.scope.steps.get(rest[0]);
                match (outputs, rest.get(1), rest.get(2)) {
                    (Some(outputs), Some(&"outputs"), Some(name)) => {
                        outputs.get(*name).cloned().unwrap_or(Value::Null)
                    }
                    _ => Value::Null,
                }
            }
            "github" => self
                .scope
                .github
                .get(rest[0])
                .cloned()
                .unwrap_or(Value::Null),
            "runner" => self
                .scope
                .runner
                .get(rest[0])
                .cloned()
                .unwrap_or(Value::Null),
            other => panic!("expression context `{other}` is not imitated"),
        }
    }
}

fn evaluate(expression: &str, scope: &Scope) -> Value {
    let mut parser = Parser {
        text: expression,
        scope,
    };
    let value = parser.or();
    parser.skip();
    assert!(
        parser.text.is_empty(),
        "cannot read `{expression}` past `{}`",
        parser.text
    );
    value
}

/// A string with its `${{ ... }}` replaced.
fn interpolate(template: &str, scope: &Scope) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("unterminated ${{") + start;
        out.push_str(&text(&evaluate(&rest[start + 3..end], scope)));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// An `if:`: an expression, with or without `${{ }}`; without a status function it means
/// `success() && (...)`.
fn condition(step: &Value, scope: &Scope) -> bool {
    let Some(raw) = step.get("if") else {
        return !scope.failed;
    };
    let expression = text(raw);
    let expression = expression
        .trim()
        .trim_start_matches("${{")
        .trim_end_matches("}}")
        .to_string();
    let status = ["always()", "success()", "failure()", "cancelled()"]
        .iter()
        .any(|f| expression.contains(f));
    let value = truthy(&evaluate(&expression, scope));
    if status {
        value
    } else {
        !scope.failed && value
    }
}

fn env_of(node: Option<&Value>, scope: &Scope) -> BTreeMap<String, String> {
    node.and_then(Value::as_object)
        .map(|env| {
            env.iter()
                .map(|(k, v)| (k.clone(), interpolate(&text(v), scope)))
                .collect()
        })
        .unwrap_or_default()
}

/// The job's process-level state.
struct Runner<'a> {
    context: &'a Context,
    temp: PathBuf,
    path: Vec<PathBuf>,
    event_path: PathBuf,
    counter: usize,
}

impl Runner<'_> {
    /// Runs a `run:` script with bash as GitHub does; returns the exit code, what it
    /// printed, and what it wrote to GITHUB_OUTPUT.
    fn shell(
        &mut self,
        script: &str,
        env: &BTreeMap<String, String>,
        action_path: Option<&Path>,
    ) -> (i32, String, Map<String, Value>) {
        self.counter += 1;
        let file = self.temp.join(format!("step-{}.sh", self.counter));
        std::fs::write(&file, script).unwrap();
        let output_file = self.temp.join(format!("output-{}", self.counter));
        let path_file = self.temp.join(format!("path-{}", self.counter));
        std::fs::write(&output_file, "").unwrap();
        std::fs::write(&path_file, "").unwrap();
        let mut command = std::process::Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&file);
        command.current_dir(&self.context.workspace);
        command.env_clear();
        for key in [
            "HOME",
            "TMPDIR",
            "LANG",
            "USER",
            "CARGO_HOME",
            "RUSTUP_HOME",
        ] {
            if let Ok(value) = std::env::var(key) {
                command.env(key, value);
            }
        }
        let system_path = std::env::var("PATH").unwrap_or_default();
        let mut path: Vec<String> = self
            .path
            .iter()
            .rev()
            .map(|p| p.display().to_string())
            .collect();
        path.push(system_path);
        command.env("PATH", path.join(":"));
        command
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_WORKSPACE", &self.context.workspace)
            .env("GITHUB_EVENT_NAME", &self.context.event_name)
            .env("GITHUB_EVENT_PATH", &self.event_path)
            .env("GITHUB_REPOSITORY", crate::fakes::REPOSITORY)
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_PATH", &path_file)
            .env("GITHUB_ENV", self.temp.join("github-env"))
            .env("GITHUB_STEP_SUMMARY", self.temp.join("summary.md"))
            .env("RUNNER_TEMP", &self.temp)
            .env("RUNNER_OS", "Linux")
            .env("NO_COLOR", "1");
        if let Some(action_path) = action_path {
            command.env("GITHUB_ACTION_PATH", action_path);
        }
        for (k, v) in &self.context.env {
            command.env(k, v);
        }
        for (k, v) in env {
            command.env(k, v);
        }
        let out = command.output().unwrap();
        let mut outputs = Map::new();
        for line in std::fs::read_to_string(&output_file).unwrap().lines() {
            if let Some((k, v)) = line.split_once('=') {
                outputs.insert(k.to_string(), Value::String(v.to_string()));
            }
        }
        for line in std::fs::read_to_string(&path_file).unwrap().lines() {
            self.path.push(PathBuf::from(line));
        }
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), printed, outputs)
    }

    /// This repository's composite action, called with `with` and the caller's `env`.
    fn action(
        &mut self,
        with: &Map<String, Value>,
        caller_env: &BTreeMap<String, String>,
        scope: &Scope,
    ) -> (i32, String, Map<String, Value>) {
        let action = yaml("action.yml");
        let mut local = Scope {
            steps: BTreeMap::new(),
            env: caller_env.clone(),
            ..scope.clone()
        };
        for (name, input) in action["inputs"].as_object().unwrap() {
            let value = match with.get(name) {
                Some(v) => Value::String(text(v)),
                None => Value::String(interpolate(&text(&input["default"]), scope)),
            };
            local.inputs.insert(name.clone(), value);
        }
        local.github.insert(
            "action_path".into(),
            Value::String(repo().display().to_string()),
        );
        let mut log = String::new();
        let mut code = 0;
        for step in action["runs"]["steps"].as_array().unwrap() {
            local.failed = code != 0;
            if !condition(step, &local) {
                continue;
            }
            if step.get("uses").is_some() {
                continue; // the cache: GitHub's
            }
            let mut env = caller_env.clone();
            env.extend(env_of(step.get("env"), &local));
            let script = text(&step["run"]);
            let (status, printed, outputs) = self.shell(&script, &env, Some(&repo()));
            log.push_str(&printed);
            if let Some(id) = step.get("id").and_then(Value::as_str) {
                local.steps.insert(id.to_string(), outputs);
            }
            if status != 0 {
                code = status;
            }
        }
        let outputs = action["outputs"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            Value::String(interpolate(&text(&v["value"]), &local)),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        (code, log, outputs)
    }
}

impl Runner<'_> {
    /// The `NAME=value` lines the steps appended to GITHUB_ENV so far (the multi-line
    /// `NAME<<DELIMITER` form is not used by the project's workflows: it panics).
    fn exported(&self) -> BTreeMap<String, String> {
        let text = std::fs::read_to_string(self.temp.join("github-env")).unwrap_or_default();
        text.lines()
            .map(|line| {
                let (name, value) = line
                    .split_once('=')
                    .unwrap_or_else(|| panic!("GITHUB_ENV line not understood: {line}"));
                (name.to_string(), value.to_string())
            })
            .collect()
    }
}

/// Runs job `job` of the workflow `relative` (a path in the repository).
pub fn run_job(relative: &str, job: &str, context: &Context) -> JobRun {
    let workflow = yaml(relative);
    let job_def = &workflow["jobs"][job];
    assert!(job_def.is_object(), "{relative} has no job {job}");
    let runner_temp = tempfile::tempdir().unwrap();
    let temp = runner_temp.path().to_path_buf();
    let event_path = temp.join("event.json");
    std::fs::write(&event_path, context.event.to_string()).unwrap();
    let mut scope = Scope {
        secrets: context.secrets.clone(),
        vars: context.vars.clone(),
        // A `workflow_dispatch` run's inputs are the `inputs` context of its jobs.
        inputs: context.event["inputs"]
            .as_object()
            .cloned()
            .unwrap_or_default(),
        ..Scope::default()
    };
    scope.github.insert(
        "token".into(),
        Value::String(crate::fakes::GITHUB_TOKEN.into()),
    );
    scope.github.insert(
        "event_name".into(),
        Value::String(context.event_name.clone()),
    );
    scope
        .runner
        .insert("temp".into(), Value::String(temp.display().to_string()));
    scope
        .runner
        .insert("os".into(), Value::String("Linux".into()));
    scope
        .runner
        .insert("arch".into(), Value::String("X64".into()));
    let mut job_env = env_of(workflow.get("env"), &scope);
    job_env.extend(env_of(job_def.get("env"), &scope));
    scope.env = job_env.clone();
    let mut runner = Runner {
        context,
        temp,
        path: Vec::new(),
        event_path,
        counter: 0,
    };
    let mut run = JobRun {
        steps: Vec::new(),
        failed: false,
        _runner_temp: runner_temp,
    };
    for step in job_def["steps"].as_array().unwrap() {
        scope.failed = run.failed;
        let name = step
            .get("name")
            .or_else(|| step.get("uses"))
            .map(text)
            .unwrap_or_default();
        if !condition(step, &scope) {
            run.steps.push(StepRun {
                name,
                skipped: true,
                uses: None,
                code: 0,
                output: String::new(),
            });
            continue;
        }
        let mut env = job_env.clone();
        env.extend(env_of(step.get("env"), &scope));
        let uses = step.get("uses").map(text);
        let (code, output, outputs) = match uses.as_deref() {
            Some(action) if action.starts_with("boruta-gitops/boruta-gitops@") => {
                let with: Map<String, Value> = step
                    .get("with")
                    .and_then(Value::as_object)
                    .map(|w| {
                        w.iter()
                            .map(|(k, v)| (k.clone(), Value::String(interpolate(&text(v), &scope))))
                            .collect()
                    })
                    .unwrap_or_default();
                runner.action(&with, &env, &scope)
            }
            Some(other) => {
                run.steps.push(StepRun {
                    name,
                    skipped: true,
                    uses: Some(other.to_string()),
                    code: 0,
                    output: String::new(),
                });
                continue;
            }
            None => {
                let script = interpolate(&text(&step["run"]), &scope);
                runner.shell(&script, &env, None)
            }
        };
        if let Some(id) = step.get("id").and_then(Value::as_str) {
            scope.steps.insert(id.to_string(), outputs);
        }
        // What a step appends to GITHUB_ENV is in the environment of the steps after it.
        let exported = runner.exported();
        job_env.extend(exported.clone());
        scope.env.extend(exported);
        run.failed |= code != 0;
        run.steps.push(StepRun {
            name,
            skipped: false,
            uses: None,
            code,
            output,
        });
    }
    run
}
