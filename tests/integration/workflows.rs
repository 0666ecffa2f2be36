//! The workflows and the composite action (issues #6, #12): well formed for GitHub, and
//! each example workflow's shell steps run as GitHub would run them (`runner.rs`): the
//! action installs the binary under test from a release served on loopback, runs against
//! the sandbox, and keeps its comment and issue on a fake GitHub API; the rotate workflow
//! logs in to a real OpenBao with a GitHub OIDC token (issue #21).

use crate::fakes::{FakeGitHub, HttpServer, Request, Response, REPOSITORY};
use crate::install::fake_release;
use crate::openbao::OpenBao;
use crate::runner::{repo, run_job, yaml, Context, JobRun};
use crate::support::{Server, BOOTSTRAP_ID, BOOTSTRAP_SECRET};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The keys GitHub's workflow schema requires, in every workflow file.
fn assert_well_formed(relative: &str) -> Value {
    let workflow = yaml(relative);
    for key in ["name", "on", "jobs"] {
        assert!(workflow.get(key).is_some(), "{relative}: missing `{key}`");
    }
    let jobs = workflow["jobs"].as_object().expect("jobs");
    assert!(!jobs.is_empty(), "{relative}: no job");
    for (name, job) in jobs {
        assert!(
            job.get("runs-on").is_some(),
            "{relative}: job {name} has no runs-on"
        );
        let steps = job["steps"].as_array().expect("steps");
        assert!(!steps.is_empty());
        for step in steps {
            assert!(
                step.get("uses").is_some() != step.get("run").is_some(),
                "{relative}: a step of {name} needs exactly one of uses and run"
            );
        }
    }
    workflow
}

#[test]
fn every_workflow_file_is_well_formed() {
    for file in [
        ".github/workflows/ci.yml",
        ".github/workflows/release.yml",
        ".github/examples/pull-request.yml",
        ".github/examples/apply-on-main.yml",
        ".github/examples/drift.yml",
        ".github/examples/rotate.yml",
    ] {
        assert_well_formed(file);
    }
    let release = yaml(".github/workflows/release.yml");
    let targets: Vec<&str> = release["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "x86_64-unknown-linux-gnu",
            "aarch64-unknown-linux-gnu",
            "x86_64-apple-darwin",
            "aarch64-apple-darwin",
            "x86_64-pc-windows-msvc"
        ]
    );
    assert_eq!(release["on"]["push"]["tags"], json!(["v*"]));
}

#[test]
fn project_ci_runs_fmt_clippy_tests_and_docs() {
    let ci = yaml(".github/workflows/ci.yml");
    let runs: String = ci["jobs"]["test"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s.get("run").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("\n");
    for command in [
        "cargo fmt --check",
        "cargo clippy --all-targets -- -D warnings",
        "cargo test",
        "cargo doc --no-deps",
    ] {
        assert!(runs.contains(command), "ci.yml lacks `{command}`");
    }
}

#[test]
fn the_action_is_well_formed_and_keeps_credentials_off_command_lines() {
    let action = yaml("action.yml");
    for key in ["name", "description", "inputs", "outputs", "runs"] {
        assert!(action.get(key).is_some(), "action.yml: missing `{key}`");
    }
    assert_eq!(action["runs"]["using"], "composite");
    for step in action["runs"]["steps"].as_array().unwrap() {
        if let Some(run) = step.get("run").and_then(Value::as_str) {
            assert_eq!(step["shell"], "bash", "composite run steps need a shell");
            // Inputs reach scripts through `env:`, never pasted into the script, where a
            // crafted input would become shell code.
            assert!(
                !run.contains("${{"),
                "an expression inside a script:\n{run}"
            );
            assert!(!run.contains("client-secret") && !run.contains("--client-secret"));
        }
    }
    for output in ["exit-code", "output-file", "stderr-file"] {
        assert!(action["outputs"].get(output).is_some(), "{output}");
    }
}

/// A workspace with the bundled manifests, the sandbox, a release and a fake GitHub.
struct Stage {
    server: Server,
    github: FakeGitHub,
    release: &'static crate::install::Release,
    workspace: tempfile::TempDir,
}

/// Where the pull-request example checks out the base branch's policy file.
const BASE_POLICY: &str = "boruta-gitops-base/manifests/.boruta-policy.yaml";

/// The security team's policy, as the base branch holds it.
const TEAM_POLICY: &str = "rules:\n  implicit-grant: {severity: error, waivable: false}\n";

const BILLING_SECRET: &str = "billing-secret-of-the-pipeline";
const PORTAL_SECRET: &str = "portal-secret-of-the-pipeline";

impl Stage {
    fn new() -> Stage {
        let workspace = tempfile::tempdir().unwrap();
        let manifests = workspace.path().join("manifests");
        std::fs::create_dir_all(&manifests).unwrap();
        for entry in std::fs::read_dir(repo().join("manifests")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), manifests.join(entry.file_name())).unwrap();
        }
        // What the example's checkout of the base branch's policy gives the job (the
        // runner skips `uses:` steps other than this action's): the security team's policy.
        let base = workspace.path().join(BASE_POLICY);
        std::fs::create_dir_all(base.parent().unwrap()).unwrap();
        std::fs::write(&base, TEAM_POLICY).unwrap();
        Stage {
            server: Server::start(),
            github: FakeGitHub::start(),
            release: fake_release(),
            workspace,
        }
    }

    /// What GitHub gives a job of `event`; without secrets for a fork.
    fn context(&self, event_name: &str, event: Value, with_secrets: bool) -> Context {
        let mut secrets = BTreeMap::new();
        if with_secrets {
            secrets.insert("BORUTA_CLIENT_SECRET".into(), BOOTSTRAP_SECRET.into());
            secrets.insert("BILLING_API_SECRET".into(), BILLING_SECRET.into());
            secrets.insert("PARTNER_PORTAL_SECRET".into(), PORTAL_SECRET.into());
        }
        let vars = BTreeMap::from([
            (
                "BORUTA_ADMIN_URL".to_string(),
                self.server.sandbox.base_url().to_string(),
            ),
            (
                "BORUTA_TOKEN_URL".to_string(),
                self.server.sandbox.token_url(),
            ),
            ("BORUTA_CLIENT_ID".to_string(), BOOTSTRAP_ID.to_string()),
        ]);
        let env = BTreeMap::from([
            (
                "BORUTA_GITOPS_BASE_URL".to_string(),
                self.release.url().to_string(),
            ),
            // The loopback release has no GitHub attestation to verify (install.rs tests
            // that part); a real gh would ask api.github.com.
            ("BORUTA_GITOPS_ATTESTATION".to_string(), "skip".to_string()),
            ("GITHUB_API_URL".to_string(), self.github.url().to_string()),
        ]);
        Context {
            workspace: self.workspace.path().to_path_buf(),
            event_name: event_name.into(),
            event,
            secrets,
            vars,
            env,
        }
    }

    fn pull_request(&self, with_secrets: bool) -> Context {
        let event = json!({"number": 7, "pull_request": {"number": 7, "head": {"repo": {"fork": !with_secrets}}}, "repository": {"full_name": REPOSITORY}});
        self.context("pull_request", event, with_secrets)
    }

    fn comments(&self) -> Vec<(u64, u64, String, String)> {
        self.github.state.lock().unwrap().comments.clone()
    }
}

fn assert_succeeded(run: &JobRun) {
    assert!(!run.failed, "the job failed:\n{}", run.log());
}

#[test]
fn the_pull_request_workflow_validates_plans_and_keeps_one_comment() {
    let stage = Stage::new();
    let run = run_job(
        ".github/examples/pull-request.yml",
        "plan",
        &stage.pull_request(true),
    );
    assert_succeeded(&run);
    // The release binary was installed (not built), validate annotated, the plan posted.
    assert!(
        run.log()
            .contains(&format!("boruta-gitops {} (", crate::install::VERSION)),
        "{}",
        run.log()
    );
    assert!(!run.log().contains("building it"), "{}", run.log());
    let comments = stage.comments();
    assert_eq!(comments.len(), 1, "{}", run.log());
    assert!(
        comments[0]
            .3
            .starts_with("<!-- boruta-gitops plan -->\n### boruta-gitops plan\n"),
        "{}",
        comments[0].3
    );
    assert!(
        comments[0].3.contains("| create | update | re-send | drift | in sync | unmanaged | system | conflict |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n| 3 | 0 | 0 | 0 | 0 | 0 | 3 | 0 |\n"),
        "{}",
        comments[0].3
    );
    assert!(!comments[0].3.contains(BILLING_SECRET) && !run.log().contains(BILLING_SECRET));
    let uploaded: Vec<&str> = run.steps.iter().filter_map(|s| s.uses.as_deref()).collect();
    assert!(
        uploaded.contains(&"actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02"),
        "{uploaded:?}"
    );
    // The security review went to code scanning as SARIF.
    assert!(
        uploaded.contains(
            &"github/codeql-action/upload-sarif@dd903d2e4f5405488e5ef1422510ee31c8b32357"
        ),
        "{uploaded:?}"
    );
    let sarif = run
        .steps
        .iter()
        .find(|s| s.name == "Security review (SARIF)")
        .unwrap();
    assert!(!sarif.skipped && sarif.code == 0, "{}", sarif.output);
    assert!(
        sarif.output.contains("\"version\": \"2.1.0\""),
        "{}",
        sarif.output
    );
    assert!(stage
        .workspace
        .path()
        .join("boruta-gitops-plan.json")
        .exists());
    // A later push updates the same comment instead of adding one.
    let run = run_job(
        ".github/examples/pull-request.yml",
        "plan",
        &stage.pull_request(true),
    );
    assert_succeeded(&run);
    let comments = stage.comments();
    assert_eq!(comments.len(), 1);
    // Nothing was applied: the plan still shows three creates.
    assert!(comments[0].3.contains("| 3 | 0 | 0 | 0 | 0 | 0 | 3 | 0 |"));
}

#[test]
fn a_pull_request_from_a_fork_is_validated_without_secrets() {
    let stage = Stage::new();
    let run = run_job(
        ".github/examples/pull-request.yml",
        "plan",
        &stage.pull_request(false),
    );
    assert_succeeded(&run);
    let validate = &run.steps[2];
    assert!(!validate.skipped);
    assert!(
        validate.output.contains("::warning file=manifests/billing-api.yaml,line=7,col=9,title=unset-variable::environment variable BILLING_API_SECRET is not set here; plan, apply and drift will need it"),
        "{}",
        validate.output
    );
    assert!(run.steps[3].skipped, "no plan without credentials");
    assert!(stage.github.server.requests().is_empty());
    assert!(
        stage.server.requests().is_empty(),
        "no request reached boruta"
    );
}

#[test]
fn a_pull_request_is_judged_by_the_base_branch_policy_not_its_own() {
    let stage = Stage::new();
    // The red team's pull request: an implicit grant, waived by its author, and a policy
    // file in the manifest directory that turns the rule off.
    let manifests = stage.workspace.path().join("manifests");
    std::fs::write(
        manifests.join(".boruta-policy.yaml"),
        "rules:\n  implicit-grant: off\n",
    )
    .unwrap();
    std::fs::write(
        manifests.join("legacy.yaml"),
        "# boruta-gitops:allow implicit-grant trust me\nname: legacy\naccess_token_ttl: 900\npkce: true\nsupported_grant_types: [authorization_code, implicit]\nredirect_uris: [https://legacy.example.com/cb]\nidentity_provider:\n  name: Default identity provider\n",
    )
    .unwrap();
    let run = run_job(
        ".github/examples/pull-request.yml",
        "plan",
        &stage.pull_request(true),
    );
    assert!(run.failed, "{}", run.log());
    let validate = &run.steps[2];
    assert_eq!(validate.name, "Validate (annotations on the diff)");
    let errors: Vec<&str> = validate
        .output
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(
        errors,
        [
            "::error file=manifests/legacy.yaml,line=1,col=3,title=not-waivable::`implicit-grant` cannot be waived: the policy makes it unwaivable (`waivable: false`); fix the value, or ask the policy's owners",
            "::error file=manifests/legacy.yaml,line=5,col=45,title=implicit-grant::the implicit grant returns tokens in the front channel, where they leak: RFC 9700 §2.1.2 says not to use it; use authorization_code with PKCE"
        ],
        "{}",
        validate.output
    );
    // The pull request's own policy file was not even read.
    assert!(
        !validate.output.contains("policy-relaxed"),
        "{}",
        validate.output
    );
}

#[test]
fn a_failed_plan_replaces_the_comment_with_the_reason() {
    let stage = Stage::new();
    let run = run_job(
        ".github/examples/pull-request.yml",
        "plan",
        &stage.pull_request(true),
    );
    assert_succeeded(&run);
    // The pipeline's client loses its management scope: the plan cannot be made.
    stage
        .server
        .sandbox
        .add_fault("GET /api/clients status=403".parse().unwrap());
    let run = run_job(
        ".github/examples/pull-request.yml",
        "plan",
        &stage.pull_request(true),
    );
    assert!(run.failed, "a failed plan fails the job");
    let comments = stage.comments();
    assert_eq!(comments.len(), 1);
    let body = &comments[0].3;
    assert!(
        body.starts_with("<!-- boruta-gitops plan -->\n### boruta-gitops plan failed\n"),
        "{body}"
    );
    assert!(body.contains("boruta answered 403"), "{body}");
    assert!(body.contains("No plan is shown"), "{body}");
}

/// The `args` of the step of `job` in `workflow` that runs the action's `command`.
fn action_args(workflow: &str, job: &str, command: &str) -> String {
    let workflow = yaml(workflow);
    let steps = workflow["jobs"][job]["steps"].as_array().unwrap();
    let step = steps
        .iter()
        .find(|s| s["with"]["command"] == command)
        .unwrap_or_else(|| panic!("no {command} step"));
    step["with"]["args"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_examples_apply_what_the_pull_requests_plan_showed() {
    // The merge applies updates too (issue #18 item 8), and the pull request's plan is made
    // with the same flags, so the comment shows what the merge will do. Deletes stay
    // behind --allow-delete, which neither example passes.
    let apply = action_args(".github/examples/apply-on-main.yml", "apply", "apply");
    let plan = action_args(".github/examples/pull-request.yml", "plan", "plan");
    assert_eq!(apply, "--update --auto-approve");
    assert_eq!(
        plan,
        "--update --detailed-exitcode --out boruta-gitops-plan.json"
    );
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(
        readme.contains(
            "2. **`apply-on-main.yml`**: on push to `main`, `apply --update\n   --auto-approve`"
        ),
        "README's CI section names the example's flags"
    );
    let action = std::fs::read_to_string(repo().join("action.yml")).unwrap();
    assert!(
        action.contains("apply: pass --update"),
        "action.yml documents --update for apply"
    );
}

#[test]
fn the_apply_workflow_applies_on_main() {
    let stage = Stage::new();
    let context = stage.context("push", json!({"ref": "refs/heads/main"}), true);
    let run = run_job(".github/examples/apply-on-main.yml", "apply", &context);
    assert_succeeded(&run);
    for name in ["billing-api", "partner-portal", "storefront-spa"] {
        assert_eq!(
            stage.server.ids_named(name).len(),
            1,
            "{name}\n{}",
            run.log()
        );
    }
    let again = run_job(".github/examples/apply-on-main.yml", "apply", &context);
    assert_succeeded(&again);
    assert!(
        again
            .log()
            .contains("Nothing to change: the server matches the manifests."),
        "{}",
        again.log()
    );
    // A reviewed, merged edit of an existing client lands on the next push.
    let manifest = stage.workspace.path().join("manifests/storefront-spa.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("access_token_ttl: 900", "access_token_ttl: 300"),
    )
    .unwrap();
    let merged = run_job(".github/examples/apply-on-main.yml", "apply", &context);
    assert_succeeded(&merged);
    let id = stage.server.ids_named("storefront-spa").remove(0);
    assert!(
        merged.log().contains(&format!(
            "  ~ storefront-spa ({id}) updated\n\nApply: 0 created, 1 updated, 0 already present, 0 failed, 0 not attempted.\n"
        )),
        "{}",
        merged.log()
    );
    assert!(
        !merged.log().contains("Nothing to create."),
        "{}",
        merged.log()
    );
    let stored = stage
        .server
        .sandbox
        .with_state(|s| s.render_client(&id))
        .unwrap();
    assert_eq!(stored["access_token_ttl"], 300);
}

#[test]
fn the_drift_workflow_keeps_one_issue_while_the_server_differs() {
    let stage = Stage::new();
    let context = stage.context("schedule", json!({"schedule": "17 6 * * *"}), true);
    let apply = stage.context("push", json!({}), true);
    assert_succeeded(&run_job(
        ".github/examples/apply-on-main.yml",
        "apply",
        &apply,
    ));
    let issues = || stage.github.state.lock().unwrap().issues.clone();
    let run = run_job(".github/examples/drift.yml", "drift", &context);
    assert_succeeded(&run);
    assert!(issues().is_empty(), "in sync: no issue");
    assert_eq!(stage.github.state.lock().unwrap().labels, ["boruta-drift"]);
    // Someone adds a redirect URI in the admin UI.
    let id = stage.server.ids_named("storefront-spa").remove(0);
    stage.server.update(
        &id,
        json!({"redirect_uris": ["https://shop.example.com/callback", "https://evil.example.net/cb"]}),
    );
    for _ in 0..2 {
        let run = run_job(".github/examples/drift.yml", "drift", &context);
        assert_succeeded(&run);
        let issues = issues();
        assert_eq!(issues.len(), 1, "one issue, updated\n{}", run.log());
        let (title, body, labels, state) = &issues[&1];
        assert_eq!(title, "boruta drift: the server no longer matches git");
        assert!(body.starts_with("<!-- boruta-gitops drift -->"), "{body}");
        assert!(body.contains("evil.example.net"), "{body}");
        assert_eq!(labels, &["boruta-drift"]);
        assert_eq!(state, "open");
    }
    // Put back: the issue is closed with a comment.
    stage.server.update(
        &id,
        json!({"redirect_uris": ["https://shop.example.com/callback", "http://127.0.0.1:5173/callback"]}),
    );
    let run = run_job(".github/examples/drift.yml", "drift", &context);
    assert_succeeded(&run);
    assert_eq!(issues()[&1].3, "closed", "{}", run.log());
    let comments = stage.comments();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].1, 1);
}

/// What a missing zizmor says: the test needs it, it does not skip.
const ZIZMOR_MISSING: &str = "zizmor not found: run `pip install zizmor` (.ci/run installs it)";

/// zizmor, the GitHub Actions static analyser, finds nothing in the action, this
/// repository's workflows and the example workflows users copy (issue #19, item 9):
/// actions pinned to commit hashes, no persisted checkout credentials, least permissions,
/// no write to `GITHUB_PATH`/`GITHUB_ENV`, no template injection.
#[test]
fn zizmor_finds_nothing_in_the_action_and_the_workflows() {
    let mut examples: Vec<String> = std::fs::read_dir(repo().join(".github/examples"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yml"))
        .map(|name| format!(".github/examples/{name}"))
        .collect();
    examples.sort();
    assert_eq!(examples.len(), 4, "{examples:?}");
    let out = std::process::Command::new("zizmor")
        .current_dir(repo())
        .args([
            "--offline",
            "--format",
            "json",
            "--config",
            ".github/zizmor.yml",
            ".",
        ])
        .args(&examples)
        .output()
        .unwrap_or_else(|e| panic!("{ZIZMOR_MISSING} ({e})"));
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "zizmor printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let shown: Vec<String> = findings
        .iter()
        .filter(|f| f["ignored"] != Value::Bool(true))
        .map(|f| {
            let at = &f["locations"][0];
            format!(
                "{} {} {}:{}",
                f["determinations"]["severity"].as_str().unwrap_or("?"),
                f["ident"].as_str().unwrap_or("?"),
                at["symbolic"]["key"]["Local"]["verbatim_path"]
                    .as_str()
                    .unwrap_or("?"),
                at["concrete"]["location"]["start_point"]["row"]
                    .as_u64()
                    .map_or(0, |r| r + 1)
            )
        })
        .collect();
    assert_eq!(shown, Vec::<String>::new());
}

/// What GitHub gives a job to ask for its OIDC token (`ACTIONS_ID_TOKEN_REQUEST_TOKEN`).
const OIDC_REQUEST_TOKEN: &str = "oidc-request-token-of-the-job";
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The store's side of GitHub OIDC, as README's "Delivering secrets" sets it up: the JWT
/// auth method trusting GitHub's issuer, a delivery policy, and the role
/// `boruta-gitops-apply` bound to the repository's main branch and to `audience`. GitHub's
/// signing key is played by a transit key of the same store (ES256). Returns the token
/// GitHub would issue to a job on main of this repository, for `audience`.
fn trust_github_oidc(bao: &OpenBao, audience: &str) -> String {
    bao.bao(&["secrets", "enable", "transit"], None);
    bao.bao(
        &["write", "-f", "transit/keys/github", "type=ecdsa-p256"],
        None,
    );
    let key: Value =
        serde_json::from_str(&bao.bao(&["read", "-format=json", "transit/keys/github"], None))
            .unwrap();
    let public_key = key["data"]["keys"]["1"]["public_key"].as_str().unwrap();
    bao.bao(&["auth", "enable", "jwt"], None);
    bao.bao(
        &[
            "write",
            "auth/jwt/config",
            &format!("jwt_validation_pubkeys={public_key}"),
            &format!("bound_issuer={GITHUB_ISSUER}"),
        ],
        None,
    );
    bao.bao(
        &["policy", "write", "boruta-gitops-deliver", "-"],
        Some("path \"secret/data/apps/*\" { capabilities = [\"create\", \"read\", \"update\"] }\n"),
    );
    let role = json!({
        "role_type": "jwt",
        "user_claim": "repository",
        "bound_audiences": [audience],
        "bound_claims": {"repository": REPOSITORY, "ref": "refs/heads/main"},
        "token_policies": ["boruta-gitops-deliver"],
        "token_ttl": "15m",
        "token_max_ttl": "30m"
    });
    bao.bao(
        &["write", "auth/jwt/role/boruta-gitops-apply", "-"],
        Some(&role.to_string()),
    );
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "iss": GITHUB_ISSUER,
        "aud": audience,
        "sub": format!("repo:{REPOSITORY}:ref:refs/heads/main"),
        "repository": REPOSITORY,
        "ref": "refs/heads/main",
        "iat": now,
        "nbf": now,
        "exp": now + 300
    });
    let signing_input = format!(
        "{}.{}",
        b64(br#"{"alg":"ES256","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    );
    let input = base64::engine::general_purpose::STANDARD.encode(&signing_input);
    let signed: Value = serde_json::from_str(&bao.bao(
        &[
            "write",
            "-format=json",
            "transit/sign/github",
            &format!("input={input}"),
            "hash_algorithm=sha2-256",
            "marshaling_algorithm=jws",
        ],
        None,
    ))
    .unwrap();
    let signature = signed["data"]["signature"].as_str().unwrap();
    format!(
        "{signing_input}.{}",
        signature.strip_prefix("vault:v1:").unwrap()
    )
}

/// GitHub's OIDC token endpoint for one job: `jwt` to a request with the job's request
/// token that asks for `audience`, 400/401 otherwise.
fn oidc_endpoint(jwt: String, audience: String) -> HttpServer {
    HttpServer::start(std::sync::Arc::new(move |request: &Request| {
        let url = url::Url::parse(&format!("http://localhost{}", request.target)).unwrap();
        let asked: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let authorized =
            request.header("authorization") == Some(&format!("bearer {OIDC_REQUEST_TOKEN}"));
        let wanted = [
            ("api-version".to_string(), "2.0".to_string()),
            ("audience".to_string(), audience.clone()),
        ];
        match (authorized, asked == wanted) {
            (false, _) => Response::json(401, json!({"message": "Bad credentials"})),
            (true, false) => Response::json(400, json!({"message": format!("{asked:?}")})),
            (true, true) => Response::json(200, json!({"value": jwt})),
        }
    }))
}

#[test]
fn the_rotate_workflow_logs_in_to_the_store_with_github_oidc_and_rotates() {
    let stage = Stage::new();
    let bao = OpenBao::start();
    std::fs::write(
        stage.workspace.path().join("manifests/ledger.yaml"),
        "id: 00000000-0000-4000-8000-00000000ed01\nname: ledger\nconfidential: true\nsupported_grant_types: [client_credentials]\naccess_token_ttl: 900\nidentity_provider: {name: Default identity provider}\nsecret_delivery:\n  vault:\n    path: apps/ledger/oauth\n",
    )
    .unwrap();
    let ledger = "00000000-0000-4000-8000-00000000ed01";
    let held = || {
        stage.server.sandbox.with_state(|s| {
            s.clients[ledger].fields["secret"]
                .as_str()
                .unwrap()
                .to_string()
        })
    };
    let stored = || {
        let out = bao.bao(
            &[
                "kv",
                "get",
                "-format=json",
                "-mount=secret",
                "apps/ledger/oauth",
            ],
            None,
        );
        let kv: Value = serde_json::from_str(&out).unwrap();
        (
            kv["data"]["metadata"]["version"].as_u64().unwrap(),
            kv["data"]["data"]["client_secret"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    };
    // apply-on-main delivers the created client's secret with the store's settings in the
    // step's environment.
    let mut apply = stage.context("push", json!({"ref": "refs/heads/main"}), true);
    apply.env.insert("VAULT_ADDR".into(), bao.address.clone());
    apply
        .env
        .insert("VAULT_TOKEN".into(), bao.root_token.clone());
    assert_succeeded(&run_job(
        ".github/examples/apply-on-main.yml",
        "apply",
        &apply,
    ));
    let created = held();
    assert_eq!(stored(), (1, created.clone()));

    // The rotate workflow has no store token: only what GitHub gives a job.
    let jwt = trust_github_oidc(&bao, &bao.address);
    let oidc = oidc_endpoint(jwt, bao.address.clone());
    let mut context = stage.context(
        "workflow_dispatch",
        json!({"ref": "refs/heads/main", "inputs": {"client": "ledger"}}),
        true,
    );
    context
        .vars
        .insert("VAULT_ADDR".into(), bao.address.clone());
    context.env.insert(
        "ACTIONS_ID_TOKEN_REQUEST_URL".into(),
        format!("{}/token?api-version=2.0", oidc.url),
    );
    context.env.insert(
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(),
        OIDC_REQUEST_TOKEN.into(),
    );
    let run = run_job(".github/examples/rotate.yml", "rotate", &context);
    assert_succeeded(&run);
    assert_eq!(oidc.requests().len(), 1, "{}", run.log());
    let rotated = held();
    assert_ne!(rotated, created);
    assert_eq!(stored(), (2, rotated.clone()));
    let log = run.log();
    assert!(
        log.contains("Rotate: 1 rotated, 0 failed, 0 not attempted.\n"),
        "{log}"
    );
    for secret in [&created, &rotated] {
        assert!(
            !log.contains(secret.as_str()),
            "a secret in the log:\n{log}"
        );
    }
}
