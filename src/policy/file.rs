//! The policy file (`--policy FILE`, default `.boruta-policy.yaml` in the manifest
//! directory): a `rules:` mapping from a rule code to a severity (`error`, `warning`,
//! `note`, `off`) or to `{severity: ..., waivable: false, <parameter>: ...}`, and a
//! `waivers:` mapping (`require_expiry: true`). What it does not set keeps the catalogue's
//! default. Unknown codes, unknown keys and bad values are `invalid-policy` errors at
//! their line. Every setting that relaxes the built-in defaults is remembered with its
//! place, so that a policy a pull request may have changed can say so. Pure: it reads a
//! parsed YAML tree.

use super::catalogue::{self, Parameter, DEFAULT_GRANT_TYPES};
use crate::findings::Code;
use crate::source::{Diagnostic, Location, Node, NodeValue, Severity};
use std::collections::{HashMap, HashSet};

/// What a policy says of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Severity(Severity),
    Off,
}

/// The built-in `long-lived-access-token.max_ttl`, seconds.
pub const DEFAULT_MAX_TTL: i64 = 3600;

/// A setting less strict than the built-in default, and where the policy file says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relaxation {
    pub at: Location,
    /// The rule (or rule parameter) relaxed.
    pub rule: String,
    /// What the policy says, against the default, e.g. "off, not error".
    pub what: String,
}

/// The policy in force: severities by code, which findings may be waived and how, and
/// the rules' parameters.
#[derive(Debug, Clone)]
pub struct Policy {
    settings: HashMap<Code, Setting>,
    /// Rules a waiver may not accept (`waivable: false`).
    pub unwaivable: HashSet<Code>,
    /// `waivers: {require_expiry: true}`: every waiver needs `until=YYYY-MM-DD`.
    pub require_expiry: bool,
    /// `long-lived-access-token.max_ttl`, seconds.
    pub max_ttl: i64,
    /// `admin-scope-granted.administration_clients`: names or ids.
    pub administration_clients: Vec<String>,
    /// What this policy relaxes compared with the built-in defaults.
    pub relaxations: Vec<Relaxation>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            settings: HashMap::new(),
            unwaivable: HashSet::new(),
            require_expiry: false,
            max_ttl: DEFAULT_MAX_TTL,
            administration_clients: Vec::new(),
            relaxations: Vec::new(),
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
                "a policy file is a mapping with the keys `rules` and `waivers`".into(),
            );
            return (policy, problems);
        };
        for (key, value) in pairs {
            match key.as_str() {
                Some("rules") => policy.read_rules(value, &mut bad),
                Some("waivers") => policy.read_waivers(value, &mut bad),
                _ => bad(
                    key,
                    format!(
                        "unknown key `{}`: a policy file has the keys `rules` and `waivers`",
                        key.key_text()
                    ),
                ),
            }
        }
        (policy, problems)
    }

    fn read_rules(&mut self, node: &Node, bad: &mut dyn FnMut(&Node, String)) {
        let NodeValue::Map(rules) = &node.value else {
            bad(
                node,
                "`rules` maps rule codes to a severity or to {severity: ..., waivable: ..., parameters}"
                    .into(),
            );
            return;
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
            self.read_rule(code, setting, bad);
        }
    }

    fn read_waivers(&mut self, node: &Node, bad: &mut dyn FnMut(&Node, String)) {
        let NodeValue::Map(pairs) = &node.value else {
            bad(
                node,
                "`waivers` is a mapping: {require_expiry: true}".into(),
            );
            return;
        };
        for (key, value) in pairs {
            match (key.key_text().as_str(), &value.value) {
                ("require_expiry", NodeValue::Bool(required)) => self.require_expiry = *required,
                ("require_expiry", _) => bad(value, "`require_expiry` is true or false".into()),
                (other, _) => bad(
                    key,
                    format!("`waivers` has no key `{other}` (it takes: require_expiry)"),
                ),
            }
        }
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
                if name == "waivable" {
                    match &value.value {
                        NodeValue::Bool(false) => {
                            self.unwaivable.insert(code);
                        }
                        NodeValue::Bool(true) => {
                            self.unwaivable.remove(&code);
                        }
                        _ => bad(value, format!("`waivable` of `{code}` is true or false")),
                    }
                    continue;
                }
                match parameters.iter().find(|p| p.key() == name) {
                    Some(parameter) => self.read_parameter(*parameter, value, bad),
                    None => {
                        let known: Vec<&str> = ["severity", "waivable"]
                            .into_iter()
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
        let default = code.severity();
        let weaker = match setting {
            Setting::Off => true,
            Setting::Severity(severity) => severity > default,
        };
        if weaker {
            let now = match setting {
                Setting::Off => "off".to_string(),
                Setting::Severity(severity) => severity.to_string(),
            };
            self.relaxations.push(Relaxation {
                at: node.loc.clone(),
                rule: code.to_string(),
                what: format!("{now}, not {default}"),
            });
        }
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
                if *seconds > DEFAULT_MAX_TTL {
                    self.relaxations.push(Relaxation {
                        at: node.loc.clone(),
                        rule: format!("{}.max_ttl", Code::LongLivedAccessToken),
                        what: format!("{seconds} s, not {DEFAULT_MAX_TTL} s"),
                    });
                }
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
                if !items.is_empty() {
                    self.relaxations.push(Relaxation {
                        at: node.loc.clone(),
                        rule: format!("{}.administration_clients", Code::AdminScopeGranted),
                        what: format!(
                            "{} client(s) may hold boruta's management scopes, not none",
                            items.len()
                        ),
                    });
                }
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
