//! The README tells the truth (issue #12): its quickstart runs exactly as written, and it
//! documents every finding code the source can emit.

use crate::runner::repo;
use std::time::Duration;

/// The shell block between `<!-- quickstart -->` and `<!-- /quickstart -->`.
fn quickstart() -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("<!-- quickstart -->")
        .expect("quickstart marker");
    let end = readme
        .find("<!-- /quickstart -->")
        .expect("quickstart end marker");
    let block = &readme[start..end];
    let code = block.split("```sh\n").nth(1).expect("a ```sh block");
    code.split("```").next().unwrap().to_string()
}

#[test]
fn the_quickstart_runs_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    for entry in std::fs::read_dir(repo().join("manifests")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), manifests.join(entry.file_name())).unwrap();
    }
    let script = dir.path().join("quickstart.sh");
    std::fs::write(&script, quickstart()).unwrap();
    let bin_dir = std::path::Path::new(crate::support::BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // The shell, with the environment the binary gets in every test (no BORUTA_*).
    let mut shell = std::process::Command::new("bash");
    shell.args(["-e"]).arg(&script).current_dir(dir.path());
    crate::support::isolate(&mut shell);
    let mut child = shell
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the quickstart hangs"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "{stdout}\n{stderr}");
    for expected in [
        "0 error(s)",
        "Plan: 3 to create, 0 drifted, 0 in sync",
        "Apply: 3 created, 0 already present, 0 failed, 0 not attempted.",
        "Drift: 0 to create, 0 drifted, 3 in sync, 0 unmanaged (3 system), 0 conflict(s).",
    ] {
        assert!(
            stdout.contains(expected),
            "`{expected}` missing:\n{stdout}\n{stderr}"
        );
    }
}

/// Every finding code written in `src/`.
fn codes_in_source() -> std::collections::BTreeSet<String> {
    let mut codes = std::collections::BTreeSet::new();
    let mut pending = vec![repo().join("src")];
    let patterns = [
        "Diagnostic::error(",
        "Diagnostic::warning(",
        "Diagnostic::note(",
        "RuleViolation::on(",
        "invalid_code: ",
        "code: ",
    ];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for pattern in patterns {
                for (at, _) in text.match_indices(pattern) {
                    let rest = &text[at + pattern.len()..];
                    // The code is the first string literal after the call (RuleViolation::on
                    // takes the field first).
                    let literals: Vec<&str> = rest.split('"').collect();
                    let candidates = if pattern == "RuleViolation::on(" {
                        literals.get(3)
                    } else if rest.trim_start().starts_with('"') {
                        literals.get(1)
                    } else {
                        None
                    };
                    if let Some(code) = candidates {
                        if !code.is_empty()
                            && code.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                        {
                            codes.insert(code.to_string());
                        }
                    }
                }
            }
        }
    }
    codes
}

#[test]
fn every_finding_code_is_documented() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let codes = codes_in_source();
    assert!(codes.len() > 50, "the scan found too few codes: {codes:?}");
    let missing: Vec<&String> = codes
        .iter()
        .filter(|code| !readme.contains(&format!("| `{code}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "README's diagnostics tables lack {missing:?}"
    );
}

/// The README's table of security rules, as the catalogue describes them.
fn rule_rows() -> String {
    boruta_gitops::policy::catalogue::RULES
        .iter()
        .map(|r| {
            format!(
                "| `{}` | {} | {} | {} | [{}]({}) |\n",
                r.code, r.severity, r.summary, r.rationale, r.reference, r.url
            )
        })
        .collect()
}

#[test]
fn every_security_rule_is_documented_as_the_catalogue_says() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let rows = rule_rows();
    assert!(
        readme.contains(&rows),
        "README's security rules table differs from the catalogue; it should read:\n{rows}"
    );
}
