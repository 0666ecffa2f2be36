//! `${env:NAME}` and `${file:PATH}` values, replaced after parsing (a whole scalar, never
//! text, so a multi-line PEM cannot break the YAML), and an environment's `${var:NAME}`:
//! a whole scalar takes the variable's type (`access_token_ttl: ${var:web_ttl}` is an
//! integer), and inside a longer string it is replaced as text
//! (`https://${var:domain}/callback`). Variables are in git, so their values are printed.
//!
//! Where a value comes from decides whether it may be printed (README, "Security model"):
//! environment values and files read from a `--file-root` outside the manifest directory
//! are sensitive; a file inside the manifest directory is as public as the manifest that
//! names it (a public key PEM that reviewers should see). A `${file:}` that resolves
//! outside every root is refused before anything is read.

use super::{Environment, Roots};
use crate::bounded::{read as read_regular, reason as io_reason, ReadError};
use crate::findings::Code;
use crate::source::{Diagnostic, Location, Node, NodeValue, Origin, Severity};
use std::path::Path;

/// A `${file:..}` target larger than this is refused (keys and certificates are a few KB).
pub const MAX_SUBSTITUTED_FILE_BYTES: u64 = 1024 * 1024;

/// What the substitution of one document needs.
pub struct Context<'a> {
    pub env: &'a dyn Environment,
    pub roots: &'a Roots,
    /// The directory `${file:..}` paths are relative to (the manifest's own).
    pub base: &'a Path,
    /// How an unset `${env:..}` is reported (and a `${var:..}` without environment).
    pub unset_variable: Severity,
    /// Every value read from a file is charged to it (each reference is a copy).
    pub budget: &'a super::Budget,
    /// The selected environment's variables (`--env`); `None`: no environment.
    pub vars: Option<&'a VarScope<'a>>,
}

/// The variables `${var:NAME}` reads, and the environment they belong to (for messages).
pub struct VarScope<'a> {
    pub environment: &'a str,
    pub vars: &'a crate::env::Vars,
}

/// The opening of a variable reference.
const VAR_OPEN: &str = "${var:";

/// Replaces whole-scalar references below `node`.
pub fn substitute(node: &mut Node, context: &Context<'_>, diagnostics: &mut Vec<Diagnostic>) {
    match &mut node.value {
        NodeValue::Seq(items) => {
            for item in items {
                substitute(item, context, diagnostics);
            }
        }
        NodeValue::Map(pairs) => {
            for (_, value) in pairs {
                substitute(value, context, diagnostics);
            }
        }
        // Every reference starts with `${`: most scalars have no `$` at all, and one byte
        // search settles them (three substring searches per scalar were a tenth of
        // loading).
        NodeValue::Str(text) if !may_reference(text) => {}
        NodeValue::Str(text) if text.contains(VAR_OPEN) => {
            substitute_vars(node, context, diagnostics);
        }
        NodeValue::Str(text) => {
            let Some(reference) = Reference::parse(text) else {
                if text.contains("${env:") || text.contains("${file:") {
                    diagnostics.push(Diagnostic::new(Code::PartialSubstitution,
                        "`${env:..}` and `${file:..}` are only replaced when they are the whole value; this one is kept as literal text",
                        Some(node.loc.clone()),
                    ));
                }
                return;
            };
            let loc = &node.loc;
            let resolved = match reference {
                Reference::Env(name) => resolve_env(name, loc, context),
                Reference::File(path) => resolve_file(path, loc, context),
            };
            match resolved {
                Ok((value, origin)) => {
                    *text = value;
                    node.origin = origin;
                }
                Err(diagnostic) => {
                    diagnostics.push(diagnostic);
                    // Nothing downstream may quote or judge a value that was not resolved.
                    node.origin = Origin::Unresolved;
                }
            }
        }
        _ => {}
    }
}

/// True when `text` holds `${`, which every reference (whole or partial) starts with.
fn may_reference(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'$', bytes).any(|at| bytes.get(at + 1) == Some(&b'{'))
}

/// Replaces the `${var:..}` references of a string node: a whole-value reference by the
/// variable's value and type, others as text. An unknown variable, or one without an
/// environment, leaves the node unresolved (nothing judges or prints it).
fn substitute_vars(node: &mut Node, context: &Context<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let NodeValue::Str(text) = &node.value else {
        return;
    };
    let mut out = String::new();
    let mut rest = text.as_str();
    let mut whole: Option<&serde_json::Value> = None;
    let mut failed = false;
    while let Some(start) = rest.find(VAR_OPEN) {
        let after = &rest[start + VAR_OPEN.len()..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        out.push_str(&rest[..start]);
        match lookup(name, context) {
            Ok(value) => {
                if rest.len() == VAR_OPEN.len() + end + 1 && out.is_empty() && start == 0 {
                    whole = Some(value);
                }
                match value {
                    serde_json::Value::String(s) => out.push_str(s),
                    other => out.push_str(&other.to_string()),
                }
            }
            Err(message) => {
                let severity = match context.vars {
                    Some(_) => Severity::Error,
                    None => context.unset_variable,
                };
                diagnostics.push(
                    Diagnostic::new(Code::UnknownVariable, message, Some(node.loc.clone()))
                        .with_severity(severity),
                );
                failed = true;
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if failed {
        node.origin = Origin::Unresolved;
        return;
    }
    node.value = match whole {
        Some(serde_json::Value::Bool(b)) => NodeValue::Bool(*b),
        Some(serde_json::Value::Number(n)) => match n.as_i64() {
            Some(i) => NodeValue::Int(i),
            None => NodeValue::Float(n.as_f64().unwrap_or_default()),
        },
        _ => NodeValue::Str(out),
    };
}

/// The value of variable `name`, or why there is none.
fn lookup<'a>(name: &str, context: &Context<'a>) -> Result<&'a serde_json::Value, String> {
    let Some(scope) = context.vars else {
        return Err(format!("`${{var:{name}}}` needs an environment: pass --env NAME (validate --all-envs checks every environment)"));
    };
    scope.vars.get(name).ok_or_else(|| {
        let known: Vec<&str> = scope.vars.keys().map(String::as_str).collect();
        format!(
            "variable `{name}` is not defined in environment `{}` (its variables: {})",
            scope.environment,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )
    })
}

fn resolve_env(
    name: &str,
    loc: &Location,
    context: &Context<'_>,
) -> Result<(String, Origin), Diagnostic> {
    match context.env.var(name) {
        Some(value) => Ok((value, Origin::Env)),
        None => {
            let message = if context.unset_variable == Severity::Error {
                format!("environment variable {name} is not set")
            } else {
                format!("environment variable {name} is not set here; plan, apply and drift will need it")
            };
            Err(
                Diagnostic::new(Code::UnsetVariable, message, Some(loc.clone()))
                    .with_severity(context.unset_variable),
            )
        }
    }
}

fn resolve_file(
    reference: &str,
    loc: &Location,
    context: &Context<'_>,
) -> Result<(String, Origin), Diagnostic> {
    let error = |code: Code, message: String| Diagnostic::new(code, message, Some(loc.clone()));
    let path = context.base.join(reference);
    let shown = path.display();
    let target = std::fs::canonicalize(&path).map_err(|e| {
        error(
            Code::UnreadableFile,
            format!("cannot read {shown}: {}", io_reason(&e)),
        )
    })?;
    let origin = if target.starts_with(&context.roots.manifests) {
        Origin::FileInRoot
    } else if context
        .roots
        .extra
        .iter()
        .any(|root| target.starts_with(root))
    {
        Origin::FileOutsideRoot
    } else {
        return Err(error(
            Code::FileOutsideRoot,
            format!("`${{file:{reference}}}` resolves outside the manifest directory: only files inside it, or inside a --file-root, are read"),
        ));
    };
    let over_budget = || {
        let what = format!("`${{file:{reference}}}`");
        error(Code::InputTooLarge, context.budget.message(&what))
    };
    if context.budget.spent() {
        return Err(over_budget());
    }
    let bytes = read_regular(&target, MAX_SUBSTITUTED_FILE_BYTES).map_err(|e| match e {
        ReadError::NotRegular(kind) => error(
            Code::NotARegularFile,
            format!("cannot read {shown}: it is {kind}, not a regular file"),
        ),
        ReadError::TooLarge { limit, .. } => error(
            Code::FileTooLarge,
            format!("{shown} is larger than {limit} bytes, the limit for a `${{file:..}}` value"),
        ),
        ReadError::Io(e) => error(
            Code::UnreadableFile,
            format!("cannot read {shown}: {}", io_reason(&e)),
        ),
    })?;
    if !context.budget.charge(bytes.len() as u64) {
        return Err(over_budget());
    }
    let mut content = String::from_utf8(bytes).map_err(|_| {
        error(
            Code::UnreadableFile,
            format!("cannot read {shown}: not UTF-8 text"),
        )
    })?;
    // A file written by `echo` or an editor ends with one newline that is not part of
    // the value.
    if content.ends_with('\n') {
        content.pop();
        if content.ends_with('\r') {
            content.pop();
        }
    }
    Ok((content, origin))
}

enum Reference<'a> {
    Env(&'a str),
    File(&'a str),
}

impl<'a> Reference<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let inner = text.strip_prefix("${")?.strip_suffix('}')?;
        if let Some(name) = inner.strip_prefix("env:") {
            let valid =
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            return valid.then_some(Reference::Env(name));
        }
        let path = inner.strip_prefix("file:")?;
        (!path.is_empty()).then_some(Reference::File(path))
    }
}

/// True when `text` is a whole `${env:..}` reference (its line may be shown: the
/// reference is not the secret).
pub fn is_env_reference(text: &str) -> bool {
    matches!(Reference::parse(text), Some(Reference::Env(_)))
}

#[cfg(test)]
mod tests {
    use super::may_reference;

    #[test]
    fn only_text_holding_dollar_brace_may_reference() {
        for text in ["${env:A}", "a${", "$${file:x}", "x $ ${var:y}"] {
            assert!(may_reference(text), "{text}");
        }
        for text in ["", "$", "a$b", "{$}", "$ {env:A}", "price: 5$"] {
            assert!(!may_reference(text), "{text}");
        }
    }
}
