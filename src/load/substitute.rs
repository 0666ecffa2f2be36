//! `${env:NAME}` and `${file:PATH}` values, replaced after parsing (a whole scalar, never
//! text, so a multi-line PEM cannot break the YAML).
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
    /// How an unset `${env:..}` is reported.
    pub unset_variable: Severity,
    /// Every value read from a file is charged to it (each reference is a copy).
    pub budget: &'a super::Budget,
}

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
