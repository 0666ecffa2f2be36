//! The README tells the truth (issue #12): its quickstart runs exactly as written, and it
//! documents every finding code the source can emit.

use crate::runner::repo;
use boruta_gitops::findings::{Code, Table};
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
    let mut status = None;
    crate::support::wait_until(Duration::from_secs(60), "the quickstart to end", || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    let status = status.unwrap();
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

/// The README's row of a code in its findings tables, as the `Code` enum describes it.
fn code_row(code: Code) -> String {
    format!("| `{code}` | {} | {} |", code.severity(), code.meaning())
}

/// The codes of the README's findings tables (section "Diagnostics"), in order.
fn documented_codes(readme: &str) -> Vec<String> {
    let start = readme
        .find("\n## Diagnostics")
        .expect("a Diagnostics section");
    let end = start
        + readme[start..]
            .find("\n### Output formats")
            .expect("its end");
    readme[start..end]
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

/// Generated from the enum (as cargo-deny keeps its diagnostics): every code the tool can
/// emit has its row in the README, as the enum says, once; and the README documents no
/// code that does not exist.
#[test]
fn every_finding_code_is_documented_once_as_the_enum_says() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut wrong = Vec::new();
    for code in Code::ALL.iter().filter(|c| c.table() != Table::Security) {
        let row = code_row(*code);
        match readme.matches(&row).count() {
            1 => {}
            n => wrong.push(format!("{row} (found {n} times)")),
        }
    }
    assert!(
        wrong.is_empty(),
        "README's findings tables should hold these rows exactly once:\n{}",
        wrong.join("\n")
    );
    let documented = documented_codes(&readme);
    let unknown: Vec<&String> = documented
        .iter()
        .filter(|c| Code::parse(c).is_none_or(|c| c.table() == Table::Security))
        .collect();
    assert!(
        unknown.is_empty(),
        "README documents codes the tool does not emit: {unknown:?}"
    );
    let expected: Vec<&str> = Code::ALL
        .iter()
        .filter(|c| c.table() != Table::Security)
        .map(|c| c.as_str())
        .collect();
    assert_eq!(
        documented, expected,
        "the README's tables list the codes in the enum's order"
    );
}

/// The README's table of security rules, as the catalogue describes them.
fn rule_rows() -> String {
    boruta_gitops::policy::catalogue::RULES
        .iter()
        .map(|r| {
            format!(
                "| `{}` | {} | {} | {} | [{}]({}) |\n",
                r.code,
                r.code.severity(),
                r.code.meaning(),
                r.rationale,
                r.reference,
                r.url
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

/// The README's promises about convergence (issue #18): the first paragraph says apply
/// updates and deletes; every write-only field of the catalogue is marked so in the field
/// table, whose note says apply --update sends them; the Converging section exists; the
/// versions table has the identity-provider row.
#[test]
fn the_readme_documents_how_every_field_converges() {
    use boruta_gitops::kinds::client::fields::{manifest_fields, Version};
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let intro = readme.split("\n\n").nth(1).unwrap();
    assert!(
        intro.contains("it creates what is missing, puts drifted\nclients and scopes back as git declares them (`--update`, write-only fields included), and\ndeletes what git declares absent (`--allow-delete`)"),
        "{intro}"
    );
    for field in manifest_fields().filter(|f| f.write_only(Version::V0_10)) {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", field.name)))
            .unwrap_or_else(|| panic!("no README row for {}", field.name));
        assert!(row.ends_with("| write-only |"), "{row}");
    }
    assert!(readme.contains("never compared. `apply --update` therefore sends git's value of every declared write-only\nfield"));
    assert!(readme.contains("\n## Converging\n"));
    assert!(readme.contains("| a client's changed identity provider | 0.9.0 to 0.10.0 cache it and keep using the old one until boruta restarts (fixed in 0.10.1, boruta-server ffa4afbb): a plan that changes it warns `identity-provider-restart`; 0.10.1 and later use it at once | used at once |\n"));
}
