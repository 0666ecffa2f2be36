//! `validate --format sarif`: SARIF 2.1.0 for GitHub code scanning
//! (`github/codeql-action/upload-sarif`). One run; the rules are every security rule
//! (with its help text and RFC link) plus the other codes that occur; each result has a
//! physical location relative to the working directory (the repository root in CI), and a
//! waived finding carries an in-source suppression with its reason.

use crate::findings::Code;
use crate::policy::catalogue::{self, Rule};
use crate::source::{Diagnostic, Severity};
use serde_json::{json, Value};
use std::io::{self, Write};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    super::marks::severity(severity).sarif
}

fn policy_rule(rule: &Rule) -> Value {
    json!({
        "id": rule.code,
        "shortDescription": {"text": strip_backticks(rule.code.meaning())},
        "fullDescription": {"text": strip_backticks(rule.rationale)},
        "helpUri": rule.url,
        "help": {
            "text": format!("{} ({}: {})", strip_backticks(rule.rationale), rule.reference, rule.url),
            "markdown": format!("{} ([{}]({}))", rule.rationale, rule.reference, rule.url),
        },
        "defaultConfiguration": {"level": level(rule.code.severity())},
        "properties": {"tags": ["security", "oauth"]},
    })
}

fn other_rule(code: Code) -> Value {
    json!({
        "id": code.as_str(),
        "shortDescription": {"text": strip_backticks(code.meaning())},
        "helpUri": format!("https://github.com/boruta-gitops/boruta-gitops#{}", code.anchor()),
        "defaultConfiguration": {"level": level(code.severity())},
    })
}

fn strip_backticks(text: &str) -> String {
    text.replace('`', "")
}

/// A relative path as a URI reference (`/`-separated, percent-encoded where needed); an
/// absolute one as a `file://` URI.
fn uri_of(path: &str) -> String {
    let encoded = crate::escape::percent_encode_path(path);
    if path.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

/// The SARIF document of `diagnostics`.
pub fn document(diagnostics: &[Diagnostic]) -> Value {
    let mut rules: Vec<Value> = catalogue::RULES.iter().map(policy_rule).collect();
    let mut ids: Vec<Code> = catalogue::RULES.iter().map(|r| r.code).collect();
    for d in diagnostics {
        if !ids.contains(&d.code) {
            ids.push(d.code);
            rules.push(other_rule(d.code));
        }
    }
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let index = ids.iter().position(|c| *c == d.code).unwrap_or(0);
            let mut result = json!({
                "ruleId": d.code,
                "ruleIndex": index,
                "level": level(d.severity),
                "message": {"text": crate::escape::neutral(&d.message)},
            });
            if let Some(loc) = &d.location {
                result["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri_of(&loc.file)},
                        "region": {
                            "startLine": loc.line,
                            "startColumn": loc.col,
                            "endColumn": loc.col + loc.len.max(1),
                        },
                    },
                }]);
            }
            if let Some(reason) = &d.waived {
                result["suppressions"] = json!([{"kind": "inSource", "justification": reason}]);
            }
            result
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "boruta-gitops",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/boruta-gitops/boruta-gitops",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

pub fn write(out: &mut dyn Write, diagnostics: &[Diagnostic]) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document(diagnostics))?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::uri_of;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri_of("manifests/a b.yaml"), "manifests/a%20b.yaml");
        assert_eq!(uri_of("manifests/é.yaml"), "manifests/%C3%A9.yaml");
        assert_eq!(uri_of("/abs/x.yaml"), "file:///abs/x.yaml");
    }
}
