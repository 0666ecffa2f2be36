//! The GitHub workflows and the composite action cannot run here; check that they parse
//! and have what GitHub requires, and that the examples call the commands as documented
//! (issue #6).

use boruta_gitops::load::{load, Options, ProcessEnv};
use boruta_gitops::source::{has_errors, Node, NodeValue};
use std::path::Path;

fn parse(relative: &str) -> Node {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let loaded = load(&path, &Options::new(&ProcessEnv));
    assert!(
        !has_errors(&loaded.diagnostics),
        "{relative}: {:?}",
        loaded.diagnostics
    );
    assert_eq!(loaded.documents.len(), 1, "{relative}");
    loaded.documents.into_iter().next().unwrap().root
}

fn items(node: &Node) -> &[Node] {
    match &node.value {
        NodeValue::Seq(items) => items,
        _ => panic!("expected a list at {}", node.loc),
    }
}

fn keys(node: &Node) -> Vec<String> {
    match &node.value {
        NodeValue::Map(pairs) => pairs.iter().map(|(k, _)| k.key_text()).collect(),
        _ => panic!("expected a mapping at {}", node.loc),
    }
}

/// Every `run` step text, joined, for checking the commands used.
fn check_workflow(relative: &str) -> String {
    let root = parse(relative);
    for key in ["name", "on", "jobs"] {
        assert!(root.get(key).is_some(), "{relative}: missing `{key}`");
    }
    let mut text = String::new();
    let jobs = root.get("jobs").unwrap();
    assert!(!keys(jobs).is_empty(), "{relative}: no job");
    for job in keys(jobs) {
        let job = jobs.get(&job).unwrap();
        assert!(
            job.get("runs-on").and_then(Node::as_str).is_some(),
            "{relative}: a job without runs-on"
        );
        let steps = items(job.get("steps").expect("steps"));
        assert!(!steps.is_empty());
        for step in steps {
            assert!(
                step.get("uses").is_some() || step.get("run").is_some(),
                "{relative}: a step at {} has neither uses nor run",
                step.loc
            );
            for key in ["uses", "run"] {
                if let Some(value) = step.get(key).and_then(Node::as_str) {
                    text.push_str(value);
                    text.push('\n');
                }
            }
            if let Some(with) = step.get("with") {
                for key in keys(with) {
                    text.push_str(&format!(
                        "{key}={}\n",
                        with.get(&key).and_then(Node::as_str).unwrap_or("")
                    ));
                }
            }
        }
    }
    text
}

#[test]
fn project_ci_runs_fmt_clippy_tests_and_docs() {
    let text = check_workflow(".github/workflows/ci.yml");
    for command in [
        "cargo fmt --check",
        "cargo clippy --all-targets -- -D warnings",
        "cargo test",
        "cargo doc --no-deps",
        "actions/cache",
    ] {
        assert!(text.contains(command), "ci.yml lacks `{command}`");
    }
}

#[test]
fn composite_action_is_well_formed() {
    let root = parse("action.yml");
    for key in ["name", "description", "inputs", "runs"] {
        assert!(root.get(key).is_some(), "action.yml: missing `{key}`");
    }
    let inputs = keys(root.get("inputs").unwrap());
    for input in [
        "command",
        "directory",
        "format",
        "admin-url",
        "token-url",
        "client-id",
        "client-secret",
        "args",
    ] {
        assert!(
            inputs.contains(&input.to_string()),
            "action.yml: missing input `{input}`"
        );
    }
    let runs = root.get("runs").unwrap();
    assert_eq!(runs.get("using").and_then(Node::as_str), Some("composite"));
    for step in items(runs.get("steps").unwrap()) {
        if step.get("run").is_some() {
            assert_eq!(
                step.get("shell").and_then(Node::as_str),
                Some("bash"),
                "composite run steps need a shell"
            );
        }
    }
    // Credentials reach the binary through the environment, never the command line.
    let run = items(runs.get("steps").unwrap())
        .iter()
        .find_map(|s| {
            s.get("run")
                .and_then(Node::as_str)
                .filter(|r| r.contains("boruta-gitops \""))
        })
        .unwrap();
    assert!(!run.contains("client-secret") && !run.contains("CLIENT_SECRET"));
}

#[test]
fn pull_request_example_validates_and_updates_one_plan_comment() {
    let text = check_workflow(".github/examples/pull-request.yml");
    assert!(text.contains("command=validate\nformat=github"), "{text}");
    assert!(text.contains("command=plan\nformat=markdown"), "{text}");
    assert!(
        text.contains("<!-- boruta-gitops plan -->") && text.contains("updateComment"),
        "the comment must be updated in place"
    );
}

#[test]
fn apply_example_runs_on_main_with_auto_approve() {
    let root = parse(".github/examples/apply-on-main.yml");
    let branches = root
        .get("on")
        .and_then(|o| o.get("push"))
        .and_then(|p| p.get("branches"))
        .unwrap();
    assert_eq!(items(branches)[0].as_str(), Some("main"));
    let text = check_workflow(".github/examples/apply-on-main.yml");
    assert!(
        text.contains("command=apply") && text.contains("args=--auto-approve"),
        "{text}"
    );
}

#[test]
fn drift_example_runs_on_a_schedule_and_keeps_one_issue() {
    let root = parse(".github/examples/drift.yml");
    assert!(root.get("on").and_then(|o| o.get("schedule")).is_some());
    let text = check_workflow(".github/examples/drift.yml");
    assert!(text.contains("command=drift"), "{text}");
    assert!(
        text.contains("labels: label, state: 'open'") && text.contains("issues.update"),
        "one issue, updated"
    );
}
