//! Trust boundaries, round two (issue #19): each attack of the red-team pass, reproduced
//! as the attacker would run it (a pull-request author, someone who can create clients in
//! boruta's admin UI, someone who can edit a CI artifact, a proxy that quotes requests),
//! and what the tool does instead.

use crate::support::{Server, Test, Workspace, BOOTSTRAP_ID, IDP};
use base64::Engine;
use boruta_gitops::sandbox::{Config, Sandbox};

/// A manifest that passes every rule.
fn manifest(name: &str) -> String {
    format!("name: {name}\nconfidential: true\naccess_token_ttl: 900\nsupported_grant_types: [client_credentials]\n{IDP}")
}

// 1. A token endpoint (or a proxy in front of it) that echoes the request.

/// A secret whose URL-encoded and JSON forms differ from it.
const ODD_SECRET: &str = "s3cret with spaces/+&=\"ü\"-0123456789";

/// Every form in which the pipeline's secret travels: raw, inside the Basic value, alone
/// in base64, URL-encoded in a form body, JSON-escaped.
fn credential_forms(id: &str, secret: &str) -> Vec<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let url_safe = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let form: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let json = serde_json::to_string(secret).unwrap();
    vec![
        secret.to_string(),
        b64(&format!("{id}:{secret}")),
        url_safe(&format!("{id}:{secret}")),
        b64(secret),
        form,
        json.trim_matches('"').to_string(),
    ]
}

#[test]
fn a_token_endpoint_echoing_the_request_leaks_no_form_of_the_credentials() {
    let sandbox = Sandbox::start(Config {
        bootstrap_client_id: Some(BOOTSTRAP_ID.into()),
        bootstrap_client_secret: Some(ODD_SECRET.into()),
        ..Config::default()
    })
    .unwrap();
    sandbox.add_fault("POST /oauth/token status=401 echo-request".parse().unwrap());
    let ws = Workspace::new()
        .file("a.yaml", manifest("a"))
        .env("BORUTA_ADMIN_URL", sandbox.base_url())
        .env("BORUTA_TOKEN_URL", &sandbox.token_url())
        .env("BORUTA_CLIENT_ID", BOOTSTRAP_ID)
        .env("BORUTA_CLIENT_SECRET", ODD_SECRET);
    for auth in ["basic", "post"] {
        let out = ws.run(&[
            "plan",
            "manifests",
            "--format",
            "markdown",
            "--token-auth",
            auth,
        ]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        for form in credential_forms(BOOTSTRAP_ID, ODD_SECRET) {
            assert!(
                !out.stdout.contains(&form) && !out.stderr.contains(&form),
                "{auth}: `{form}` leaked:\n{}\n{}",
                out.stdout,
                out.stderr
            );
        }
        // What the proxy quoted, as the tool shows it: the Basic header's value redacted,
        // cut at 200 characters with an ellipsis, in quotes.
        let host = sandbox.base_url().trim_start_matches("http://").to_string();
        let (authorization, length) = match auth {
            "basic" => ("authorization: Basic (redacted); ", 58),
            _ => ("", 173),
        };
        let quoted = format!("request rejected by policy; request headers: accept: application/json; {authorization}content-type: application/x-www-form-urlencoded; user-agent: boruta-gitops/{}; host: {host}; content-length: {length}; request body: grant_type=client_credentials", env!("CARGO_PKG_VERSION"));
        let excerpt: String = quoted.chars().take(199).collect();
        let url = sandbox.token_url();
        assert_eq!(
            out.stderr,
            format!("error: requesting a token with scopes `clients:manage:all` from {url}: the token endpoint answered 401 (access_denied: “{excerpt}…”). check --token-url and the server's logs\n"),
            "{auth}"
        );
    }
}

#[test]
fn an_admin_api_echoing_the_request_leaks_no_bearer_token() {
    let server = Server::start();
    server
        .sandbox
        .add_fault("GET /api/clients status=400 echo-request".parse().unwrap());
    let ws = server.connect(Workspace::new().file("a.yaml", manifest("a")));
    let out = Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .redact(
            server.sandbox.base_url().trim_start_matches("http://"),
            "[HOST]",
        )
        .status(1)
        .stderr(r#"error: listing clients (GET /api/clients): boruta answered 400 REQUEST_REJECTED "request rejected by policy; request headers: accept: application/json; authorization: Bearer (redacted); user-agent: boruta-gitops/0.1.0; host: [HOST]; request body: ". see the server's logs
"#)
        .run();
    let tokens: Vec<String> = server
        .sandbox
        .with_state(|s| s.tokens.keys().cloned().collect());
    assert!(!tokens.is_empty());
    for token in tokens {
        assert!(!out.stderr.contains(&token), "{}", out.stderr);
    }
}

// 3. A saved plan cannot choose where the admin token goes.

/// A workspace planned against `server`, its plan saved in `plan.json` and then edited
/// as someone who can change a CI artifact would: the server it names is `elsewhere`.
fn edited_plan(server: &Server, elsewhere: &str) -> Workspace {
    let ws = server.connect(Workspace::new().file("a.yaml", manifest("a")));
    let out = ws.run(&["plan", "manifests", "--out", "plan.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let path = ws.path().join("plan.json");
    let mut plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    plan["admin_url"] = serde_json::Value::String(elsewhere.to_string());
    std::fs::write(&path, plan.to_string()).unwrap();
    server.sandbox.clear_requests();
    ws
}

#[test]
fn a_saved_plan_naming_another_server_gets_no_token() {
    let server = Server::start();
    let attacker = Server::start();
    let ws = edited_plan(&server, attacker.sandbox.base_url());
    // No admin URL configured: the plan's is not taken.
    let out = ws
        .command(&["apply", "--plan", "plan.json"])
        .env_remove("BORUTA_ADMIN_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: the saved plan names the server {}, and no server is configured: set --admin-url or BORUTA_ADMIN_URL to the server this apply may change (a plan file never chooses where credentials go)\n",
            attacker.sandbox.base_url()
        )
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    // Another server configured: refused, naming both.
    let out = ws.run(&["apply", "--plan", "plan.json"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!(
            "error: the saved plan names the server {}, not the configured {}: nothing was requested, nothing changed; make a new plan against the configured server\n",
            attacker.sandbox.base_url(),
            server.sandbox.base_url()
        )
    );
    assert!(attacker.requests().is_empty(), "{:?}", attacker.calls());
    assert!(
        server.requests().is_empty(),
        "no token request: {:?}",
        server.calls()
    );
}

#[test]
fn a_saved_plan_reads_the_manifests_the_caller_names() {
    let server = Server::start();
    let ws = edited_plan(&server, server.sandbox.base_url());
    let path = ws.path().join("plan.json");
    let mut plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    plan["manifests_dir"] = serde_json::Value::String("/somewhere/else".into());
    std::fs::write(&path, plan.to_string()).unwrap();
    Test::new(&ws)
        .args(&["apply", "--plan", "plan.json"])
        .sandbox(&server)
        .status(1)
        .stderr(r"error: the saved plan was made from the manifests in /somewhere/else, and this apply reads manifests: give the directory the plan was made from as DIR, or make a new plan
")
        .run();
    assert!(server.requests().is_empty(), "{:?}", server.calls());
}

// 5. The drift issue is the one this token wrote, not any issue with the label.

#[test]
fn the_drift_issue_is_only_one_the_token_wrote() {
    use crate::fakes::{FakeGitHub, GITHUB_TOKEN, REPOSITORY};
    let github = FakeGitHub::start();
    // Anyone who may label issues plants one with the marker and the label.
    let planted = "<!-- boruta-gitops drift -->\nAll good here, nothing to see.".to_string();
    {
        let mut state = github.state.lock().unwrap();
        state.labels.push("boruta-drift".into());
        state.issues.insert(
            1,
            (
                "boruta drift: the server no longer matches git".into(),
                planted.clone(),
                vec!["boruta-drift".into()],
                "open".into(),
            ),
        );
        state.issue_authors.insert(1, "mallory".into());
    }
    let report = "<!-- boruta-gitops drift -->\n### boruta-gitops drift\n\nclient `a` drifted\n";
    let ws = Workspace::new()
        .env("GITHUB_TOKEN", GITHUB_TOKEN)
        .env("GITHUB_REPOSITORY", REPOSITORY)
        .env("GITHUB_API_URL", github.url());
    std::fs::write(ws.path().join("drift.md"), report).unwrap();
    let drift = |code: &str| {
        ws.run(&[
            "github",
            "drift-issue",
            "--report-file",
            "drift.md",
            "--exit-code",
            code,
        ])
    };
    let out = drift("2");
    assert_eq!((out.code, out.stderr.as_str()), (0, "drift issue opened\n"));
    let issues = github.state.lock().unwrap().issues.clone();
    assert_eq!(
        issues[&1].1, planted,
        "the planted issue is not the channel"
    );
    assert_eq!(issues[&2].1, report);
    let out = drift("2");
    assert_eq!(out.stderr, "drift issue #2 updated\n");
    // In sync again: the tool's issue is closed; the planted one is left alone.
    let out = drift("0");
    assert_eq!(out.stderr, "drift issue #2 closed\n");
    let state = github.state.lock().unwrap();
    assert_eq!(state.issues[&1].3, "open");
    assert_eq!(state.issues[&2].3, "closed");
    assert!(
        state.comments.iter().all(|c| c.1 == 2),
        "{:?}",
        state.comments
    );
}

// 6. Names cannot mention people or plant links in the pull-request comment.

/// True when GitHub would turn something in `comment` into a mention or a link: an `@`
/// right before a name, or a URL scheme or `www.` outside a code block or span.
fn live_mentions_or_links(comment: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_fence = false;
    for line in comment.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        // Text outside <code>...</code>.
        let mut outside = String::new();
        for (i, part) in line.split("<code>").enumerate() {
            outside.push_str(if i == 0 {
                part
            } else {
                part.split_once("</code>").map_or("", |(_, rest)| rest)
            });
            outside.push(' ');
        }
        let chars: Vec<char> = outside.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            if *c == '@' && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric()) {
                found.push(line.to_string());
            }
        }
        if outside.contains("://") || outside.to_lowercase().contains("www.") {
            found.push(line.to_string());
        }
    }
    found
}

#[test]
fn names_in_the_comment_mention_nobody_and_link_nowhere() {
    let server = Server::start();
    // A client created in boruta's admin UI (unmanaged), and a manifest's name.
    let admin_made = server.create(serde_json::json!({
        "name": "svc @octo-org/admins see https://evil.example/x or www.evil.example",
        "identity_provider": {"id": server.idp_id(crate::support::DEFAULT_IDP)}
    }));
    let ws = server
        .connect(Workspace::new().file("a.yaml", manifest("acc mention @octo-org/security now")));
    let out = Test::new(&ws)
        .args(&["plan", "manifests", "--format", "markdown"])
        .sandbox(&server)
        .redact(admin_made["id"].as_str().unwrap(), "[ID]")
        .stdout(r#"<!-- boruta-gitops plan -->
### boruta-gitops plan

| create | drift | in sync | unmanaged | system | conflict |
|---:|---:|---:|---:|---:|---:|
| 1 | 0 | 0 | 1 | 3 | 0 |

<details><summary><code>+</code> <b>acc mention @‍octo-org/security now</b> (create) <code>efb01ece-e008-5c18-bde5-14c51f40f4d0</code></summary>

<code>manifests/a.yaml:1</code>

```diff
+ name                  = "acc mention @octo-org/security now"
+ confidential          = true
+ access_token_ttl      = 900
+ supported_grant_types = ["client_credentials"]
+ identity_provider     = "7f6b2a8e-6c1d-4d5e-9f3a-2b1c0d9e8f7a"
```

</details>

<details><summary>1 unmanaged client(s)</summary>

- svc @‍octo-org/admins see https:‍//evil.example/x or www‍.evil.example <code>[ID]</code>

</details>

Plan: 1 to create, 0 drifted, 0 in sync, 1 unmanaged (3 system), 0 conflict(s).
"#)
        .run();
    assert_eq!(
        live_mentions_or_links(&out.stdout),
        Vec::<String>::new(),
        "{}",
        out.stdout
    );
    // Still readable (the expected stdout above): the names are all there, the `@` and
    // the URL with a zero-width joiner.
}

// 7. The action's `args` are split into words, never expanded as file names.

#[test]
fn the_actions_args_never_match_file_names() {
    use std::os::unix::fs::PermissionsExt;
    let action = crate::runner::yaml("action.yml");
    let step = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "run")
        .expect("the run step");
    let script = step["run"].as_str().unwrap();
    // A pull request adds a file named like a flag; `args: --select *` must not match it.
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("--allow-delete"), "").unwrap();
    // Where the install step puts the binary, which the run step calls by its path.
    let temp = work.path().join("temp");
    let bin = temp.join("boruta-gitops-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("boruta-gitops");
    std::fs::write(
        &fake,
        "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done\necho\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(work.path())
        .env("PATH", "/usr/bin:/bin")
        .env("RUNNER_TEMP", &temp)
        .env("GITHUB_OUTPUT", temp.join("output"))
        .env("INPUT_COMMAND", "plan")
        .env("INPUT_DIRECTORY", "manifests")
        .env("INPUT_FORMAT", "human")
        .env("INPUT_ARGS", "--select *  --update")
        .env("INPUT_POLICY", "")
        .env("INPUT_COMMENT_ON_PR", "false")
        .env("INPUT_DRIFT_ISSUE", "false")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[plan][manifests][--format][human][--select][*][--update]\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
}

// 4. Hostile input costs linear time, and the manifests have a total budget.

/// The waiver scan's worst case of issue #19, about `megabytes` MB: one waiver above a
/// block scalar whose lines get ever deeper, each followed by blank lines (the old scan
/// went from every line to the end of the block: 15.7 s at 6 MB in a release build).
pub fn deepening_block(megabytes: usize) -> String {
    let mut text = format!("# boruta-gitops:allow implicit-grant hostile input\nname: hostile\n{IDP}metadata:\n  note: |\n");
    let blanks = "\n".repeat(2000);
    let mut depth = 4;
    while text.len() < megabytes * 1_000_000 {
        text.push_str(&" ".repeat(depth));
        text.push_str("x\n");
        text.push_str(&blanks);
        depth += 1;
    }
    text
}

/// At 2 MB the old scan ran for over two minutes in a debug build; one pass takes well
/// under a second.
#[test]
fn the_waiver_scan_is_linear() {
    let ws = Workspace::new().file("hostile.yaml", deepening_block(2));
    let (out, elapsed) = ws.run_within(
        &["validate", "manifests", "--format", "json"],
        std::time::Duration::from_secs(30),
    );
    assert!(
        elapsed < std::time::Duration::from_secs(10),
        "took {elapsed:?}"
    );
    // The waiver is read (and waives nothing here).
    assert!(
        out.stdout.contains("\"code\": \"unused-waiver\""),
        "{}",
        out.stdout
    );
}

/// A manifest of 30,000 unknown keys, each written twice (600 kB): each unknown-field
/// finding looked its key up alone, a linear search of the mapping, so the findings cost
/// quadratic time (8,000 keys took 1.3 s in a release build, 200,000 would take minutes;
/// this one took about a minute in a debug build). Now about 6 s in a debug build, most of
/// it the "did you mean" of each unknown key.
#[test]
fn unknown_fields_cost_linear_time() {
    let mut text = format!("name: hostile\n{IDP}");
    for i in 0..30_000 {
        text.push_str(&format!("k{i}: 1\nk{i}: 2\n"));
    }
    let ws = Workspace::new().file("hostile.yaml", text);
    let (out, elapsed) = ws.run_within(
        &["validate", "manifests", "--format", "json"],
        std::time::Duration::from_secs(40),
    );
    assert!(
        elapsed < std::time::Duration::from_secs(25),
        "took {elapsed:?}"
    );
    let json = out.json();
    let findings = json["diagnostics"].as_array().unwrap();
    let count = |code: &str| findings.iter().filter(|d| d["code"] == code).count();
    assert_eq!(
        (count("unknown-field"), count("duplicate-key")),
        (30_000, 30_000)
    );
    // Each finding is at its own key: the last of the two.
    let last = findings
        .iter()
        .rev()
        .find(|d| d["code"] == "unknown-field")
        .unwrap();
    assert_eq!(
        (last["message"].as_str(), last["line"].as_u64()),
        (Some("unknown field `k29999`"), Some(60_003))
    );
}

#[test]
fn the_manifests_and_their_file_values_share_one_budget() {
    // One 100 kB file named twenty times: each value is a copy, 2 MB in all.
    let mut many = format!("name: many\n{IDP}metadata:\n");
    for i in 0..20 {
        many.push_str(&format!("  k{i}: ${{file:big.pem}}\n"));
    }
    let ws = Workspace::new()
        .file("a.yaml", &many)
        .file("b.yaml", manifest("b"))
        .file("big.pem", "x".repeat(100_000));
    let out = ws.run(&[
        "validate",
        "manifests",
        "--format",
        "json",
        "--max-input-bytes",
        "1000000",
    ]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let over: Vec<(String, u64)> = out.json()["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "input-too-large")
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    // a.yaml and nine values fit in 1,000,000 bytes; the tenth value, the rest and b.yaml
    // are not read.
    let mut expected: Vec<(String, u64)> = (14..=24)
        .map(|line| ("manifests/a.yaml".to_string(), line))
        .collect();
    expected.push(("manifests/b.yaml".to_string(), 1));
    assert_eq!(over, expected);
    let message = out.json()["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["file"] == "manifests/b.yaml")
        .unwrap()["message"]
        .clone();
    assert_eq!(message, "this file is not read: the manifest files and the `${file:..}` values they substitute reach 1000000 bytes together, the total input budget (--max-input-bytes)");
}

// 2. The policy belongs to the security team, not to the pull request.

/// A client with the implicit and password grants, both waived by its author, as the
/// red-team pull request did.
const SELF_WAIVED: &str = "# boruta-gitops:allow implicit-grant,password-grant trust me\nid: 11111111-1111-4111-8111-111111111111\nname: legacy\naccess_token_ttl: 900\npkce: true\nsupported_grant_types: [authorization_code, implicit, password]\nidentity_provider:\n  name: Default identity provider\n";

/// (code, severity, line, waived) of every finding of `validate --format json`.
fn judged(out: &crate::support::Output) -> Vec<(String, String, u64, bool)> {
    out.json()["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["severity"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap_or(0),
                d.get("waived").is_some_and(|w| !w.is_null()),
            )
        })
        .collect()
}

fn finding(code: &str, severity: &str, line: u64, waived: bool) -> (String, String, u64, bool) {
    (code.into(), severity.into(), line, waived)
}

#[test]
fn a_policy_can_make_a_rule_unwaivable() {
    let ws = Workspace::new().file("legacy.yaml", SELF_WAIVED);
    // The author's waiver holds under the built-in policy: every rule is waivable.
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    // The security team's policy, from a place the pull request does not control.
    let policy = ws.path().join("security-policy.yaml");
    std::fs::write(
        &policy,
        "rules:\n  implicit-grant: {severity: error, waivable: false}\n  password-grant:\n    waivable: false\n",
    )
    .unwrap();
    let out = ws.run(&[
        "validate",
        "manifests",
        "--format",
        "json",
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        judged(&out),
        [
            finding("not-waivable", "error", 1, false),
            finding("not-waivable", "error", 1, false),
            finding("implicit-grant", "error", 6, false),
            finding("password-grant", "error", 6, false),
        ]
    );
    assert_eq!(out.json()["diagnostics"][0]["message"], "`implicit-grant` cannot be waived: the policy makes it unwaivable (`waivable: false`); fix the value, or ask the policy's owners");
}

#[test]
fn waivers_expire() {
    let dated = |until: &str| {
        SELF_WAIVED.replace(
            "trust me",
            &format!("until={until} the legacy widget, gone in Q3"),
        )
    };
    // Still in force: waived.
    let ws = Workspace::new().file("legacy.yaml", dated("2999-12-31"));
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(
        out.json()["diagnostics"][0]["waived"],
        "the legacy widget, gone in Q3"
    );
    // Past its date: the findings count again, and the waiver says it expired.
    let ws = Workspace::new().file("legacy.yaml", dated("2020-06-30"));
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        judged(&out),
        [
            finding("waiver-expired", "warning", 1, false),
            finding("implicit-grant", "error", 6, false),
            finding("password-grant", "error", 6, false),
        ]
    );
    assert_eq!(out.json()["diagnostics"][0]["message"], "this waiver of implicit-grant, password-grant expired on 2020-06-30: what it waived counts again; fix the value, or renew the waiver with a later date and a reason");
    // Not a date.
    let ws = Workspace::new().file("legacy.yaml", dated("2026-02-30"));
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    assert_eq!(
        judged(&out)[0],
        finding("invalid-waiver", "error", 1, false)
    );
}

#[test]
fn a_policy_can_require_every_waiver_to_expire() {
    let ws = Workspace::new().file("legacy.yaml", SELF_WAIVED);
    let policy = ws.path().join("security-policy.yaml");
    std::fs::write(&policy, "waivers:\n  require_expiry: true\n").unwrap();
    let policy = policy.to_str().unwrap();
    let out = ws.run(&[
        "validate",
        "manifests",
        "--format",
        "json",
        "--policy",
        policy,
    ]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        judged(&out),
        [
            finding("waiver-without-expiry", "error", 1, false),
            finding("implicit-grant", "error", 6, false),
            finding("password-grant", "error", 6, false),
        ]
    );
    let dated = SELF_WAIVED.replace("trust me", "until=2999-01-01 migration");
    std::fs::write(ws.manifests().join("legacy.yaml"), dated).unwrap();
    let out = ws.run(&[
        "validate",
        "manifests",
        "--format",
        "json",
        "--policy",
        policy,
    ]);
    assert_eq!(out.code, 0, "{}", out.stdout);
}

/// The red team's `.boruta-policy.yaml`, added to the manifest directory.
const RELAXING_POLICY: &str = "rules:\n  implicit-grant: off\n  password-grant: warning\n  long-lived-access-token:\n    max_ttl: 86400\n  admin-scope-granted:\n    administration_clients: [legacy]\n  localhost-redirect-uri: error\n";

#[test]
fn a_policy_in_the_manifest_directory_says_what_it_relaxes() {
    let ws = Workspace::new()
        .file(
            "legacy.yaml",
            SELF_WAIVED.replace(
                "# boruta-gitops:allow implicit-grant,password-grant trust me\n",
                "",
            ),
        )
        .file(".boruta-policy.yaml", RELAXING_POLICY);
    let out = ws.run(&["validate", "manifests", "--format", "json"]);
    let relaxed: Vec<(u64, String)> = out.json()["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "policy-relaxed")
        .map(|d| {
            (
                d["line"].as_u64().unwrap(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let says = |rule: &str, what: &str| {
        format!("the policy file in the manifest directory relaxes `{rule}`: {what}. A pull request can change this file; pipelines pass the security team's policy with --policy (the Action's `policy` input) from a place the pull request does not control")
    };
    assert_eq!(
        relaxed,
        [
            (2, says("implicit-grant", "off, not error")),
            (3, says("password-grant", "warning, not error")),
            (
                5,
                says("long-lived-access-token.max_ttl", "86400 s, not 3600 s")
            ),
            (
                7,
                says(
                    "admin-scope-granted.administration_clients",
                    "1 client(s) may hold boruta's management scopes, not none"
                )
            ),
        ]
    );
    // The pipeline's own policy is not the pull request's: nothing to say.
    let trusted = ws.path().join("trusted.yaml");
    std::fs::write(&trusted, RELAXING_POLICY).unwrap();
    let out = ws.run(&[
        "validate",
        "manifests",
        "--format",
        "json",
        "--policy",
        trusted.to_str().unwrap(),
    ]);
    assert!(!out.stdout.contains("policy-relaxed"), "{}", out.stdout);
}

#[test]
fn the_plan_comment_says_first_that_the_policy_is_relaxed() {
    let server = Server::start();
    let ws = server.connect(Workspace::new().file("a.yaml", manifest("a")).file(
        ".boruta-policy.yaml",
        "rules:\n  implicit-grant: off\n  password-grant: note\n",
    ));
    let out = ws.run(&["plan", "manifests", "--format", "markdown"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("<!-- boruta-gitops plan -->\n### boruta-gitops plan\n\n> [!WARNING]\n> **The policy file in the manifest directory relaxes 2 built-in rule setting(s)** (the <code>policy-relaxed</code> findings below say which): a pull request can change that file. Review it with the manifests, or have the pipeline pass the security team's policy (<code>--policy</code>).\n\n| create |"),
        "{}",
        out.stdout
    );
    // Human and JSON say it too.
    let out = ws.run(&["plan", "manifests", "--format", "json"]);
    let json = out.json();
    let codes: Vec<&str> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "policy-relaxed",
            "policy-relaxed",
            "derived-id",
            "secret-auth-preferred-asymmetric"
        ]
    );
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .sandbox(&server)
        .stdout(r#"boruta-gitops plan against [SANDBOX]
scopes requested: clients:manage:all
boruta version: 0.10 (detected: its clients carry no `trusted_hosts`; 0.9 and 0.10 behave the same)

  + a (41b62bd9-bc94-54a4-ad16-54c5f1443c4d) will be created  [manifests/a.yaml:1]
      + name                  = "a"
      + confidential          = true
      + access_token_ttl      = 900
      + supported_grant_types = ["client_credentials"]
      + identity_provider     = "7f6b2a8e-6c1d-4d5e-9f3a-2b1c0d9e8f7a"
  · Boruta administration panel (6a2f41a3-c54c-fce8-32d2-0324e1c32e20) system client: admin UI client
  · boruta-gitops sandbox bootstrap (00000000-b007-4000-8000-000000000001) system client: the client this run authenticates as
  · public client (16f303ac-3b4a-55d6-b1b2-8474213a65f0) system client: boruta's public client

Plan: 1 to create, 0 drifted, 0 in sync, 0 unmanaged (3 system), 0 conflict(s).
"#)
        .stderr(r"warning[policy-relaxed]: the policy file in the manifest directory relaxes `implicit-grant`: off, not error. A pull request can change this file; pipelines pass the security team's policy with --policy (the Action's `policy` input) from a place the pull request does not control
  --> manifests/.boruta-policy.yaml:2:19
  |
2 |   implicit-grant: off
  |                   ^^^

warning[policy-relaxed]: the policy file in the manifest directory relaxes `password-grant`: note, not error. A pull request can change this file; pipelines pass the security team's policy with --policy (the Action's `policy` input) from a place the pull request does not control
  --> manifests/.boruta-policy.yaml:3:19
  |
3 |   password-grant: note
  |                   ^^^^

0 error(s), 2 warning(s), 0 note(s) in 1 client(s) from 2 file(s)
")
        .run();
}
