//! The policy file (`--policy FILE`, default `.boruta-policy.yaml` in the manifest
//! directory): a `rules:` mapping from a rule code to a severity (`error`, `warning`,
//! `note`, `off`) or to `{severity: ..., <parameter>: ...}`. What it does not set keeps the
//! catalogue's default. Unknown codes, unknown parameters and bad values are
//! `invalid-policy` errors at their line. Pure: it reads a parsed YAML tree.

use super::catalogue::{self, Parameter, DEFAULT_GRANT_TYPES};
use crate::findings::Code;
use crate::source::{Diagnostic, Node, NodeValue, Severity};
use std::collections::HashMap;

/// What a policy says of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Severity(Severity),
    Off,
}

/// The policy in force: severities by code, and the rules' parameters.
#[derive(Debug, Clone)]
pub struct Policy {
    settings: HashMap<Code, Setting>,
    /// `long-lived-access-token.max_ttl`, seconds.
    pub max_ttl: i64,
    /// `admin-scope-granted.administration_clients`: names or ids.
    pub administration_clients: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            settings: HashMap::new(),
            max_ttl: 3600,
            administration_clients: Vec::new(),
        }
    }
}

/// True when a policy file may set the severity of `code`.
fn configurable(text: &str) -> Option<Code> {
    let code = Code::parse(text)?;
    (catalogue::rule(code).is_some() || code == DEFAULT_GRANT_TYPES).then_some(code)
}

impl Policy {
    /// False when the policy turns `code` off (its check need not even run).
    pub fn enabled(&self, code: Code) -> bool {
        self.settings.get(&code) != Some(&Setting::Off)
    }

    /// Applies the policy's severities to findings: a rule turned off is dropped, a rule
    /// given a severity gets it. Other findings pass unchanged.
    pub fn judge(&self, findings: Vec<Diagnostic>) -> Vec<Diagnostic> {
        if self.settings.is_empty() {
            return findings;
        }
        findings
            .into_iter()
            .filter_map(|mut d| match self.settings.get(&d.code) {
                Some(Setting::Off) => None,
                Some(Setting::Severity(severity)) => {
                    d.severity = *severity;
                    Some(d)
                }
                None => Some(d),
            })
            .collect()
    }

    /// Reads a policy file's document, with a finding at every value it cannot use (the
    /// rest of the file still applies).
    pub fn parse(root: &Node) -> (Policy, Vec<Diagnostic>) {
        let mut policy = Policy::default();
        let mut problems = Vec::new();
        let mut bad = |node: &Node, message: String| {
            problems.push(Diagnostic::new(
                Code::InvalidPolicy,
                message,
                Some(node.loc.clone()),
            ));
        };
        let NodeValue::Map(pairs) = &root.value else {
            bad(
                root,
                "a policy file is a mapping with one key, `rules`".into(),
            );
            return (policy, problems);
        };
        for (key, value) in pairs {
            if key.as_str() != Some("rules") {
                bad(
                    key,
                    format!(
                        "unknown key `{}`: a policy file has one key, `rules`",
                        key.key_text()
                    ),
                );
                continue;
            }
            let NodeValue::Map(rules) = &value.value else {
                bad(
                    value,
                    "`rules` maps rule codes to a severity or to {severity: ..., parameters}"
                        .into(),
                );
                continue;
            };
            for (code_node, setting) in rules {
                let text = code_node.key_text();
                let Some(code) = configurable(&text) else {
                    bad(
                        code_node,
                        format!("unknown rule `{text}` (the rules are listed in the README, section Security rules)"),
                    );
                    continue;
                };
                policy.read_rule(code, setting, &mut bad);
            }
        }
        (policy, problems)
    }

    fn read_rule(&mut self, code: Code, node: &Node, bad: &mut dyn FnMut(&Node, String)) {
        if let NodeValue::Map(pairs) = &node.value {
            let parameters = catalogue::rule(code).map_or(&[][..], |r| r.parameters);
            for (key, value) in pairs {
                let name = key.key_text();
                if name == "severity" {
                    self.read_severity(code, value, bad);
                    continue;
                }
                match parameters.iter().find(|p| p.key() == name) {
                    Some(parameter) => self.read_parameter(*parameter, value, bad),
                    None => {
                        let known: Vec<&str> = std::iter::once("severity")
                            .chain(parameters.iter().map(|p| p.key()))
                            .collect();
                        bad(
                            key,
                            format!(
                                "`{code}` has no parameter `{name}` (it takes: {})",
                                known.join(", ")
                            ),
                        );
                    }
                }
            }
        } else {
            self.read_severity(code, node, bad);
        }
    }

    fn read_severity(&mut self, code: Code, node: &Node, bad: &mut dyn FnMut(&Node, String)) {
        let setting = match node.as_str() {
            Some("error") => Setting::Severity(Severity::Error),
            Some("warning") => Setting::Severity(Severity::Warning),
            Some("note") => Setting::Severity(Severity::Note),
            Some("off") => Setting::Off,
            _ => {
                bad(
                    node,
                    format!("the severity of `{code}` is one of error, warning, note, off"),
                );
                return;
            }
        };
        self.settings.insert(code, setting);
    }

    fn read_parameter(
        &mut self,
        parameter: Parameter,
        node: &Node,
        bad: &mut dyn FnMut(&Node, String),
    ) {
        match (parameter, &node.value) {
            (Parameter::MaxTtl, NodeValue::Int(seconds)) if *seconds > 0 => {
                self.max_ttl = *seconds;
            }
            (Parameter::MaxTtl, _) => {
                bad(node, "`max_ttl` is a number of seconds, above 0".into());
            }
            (Parameter::AdministrationClients, NodeValue::Seq(items))
                if items.iter().all(|i| i.as_str().is_some()) =>
            {
                self.administration_clients = items
                    .iter()
                    .filter_map(Node::as_str)
                    .map(str::to_string)
                    .collect();
            }
            (Parameter::AdministrationClients, _) => {
                bad(
                    node,
                    "`administration_clients` is a list of client names or ids".into(),
                );
            }
        }
    }
}
