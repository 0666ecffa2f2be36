//! Reads the manifest directory: finds `*.yaml`/`*.yml` files in sorted order, parses each
//! into positioned [`Node`] documents, and replaces `${env:NAME}` / `${file:PATH}` values.
//!
//! It owns all filesystem reads of the manifests and nothing else: it does not know what a
//! client is (that is `validate`). Every problem becomes a [`Diagnostic`]; nothing here
//! stops at the first bad file.

mod yaml;

pub use yaml::{MAX_ALIAS_NODES, MAX_DEPTH};

use crate::source::{Diagnostic, Location, Node, NodeValue, SourceMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Files larger than this are refused before parsing (10,000 manifests fit in a few MB).
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// One YAML document of one file.
#[derive(Debug, Clone)]
pub struct Document {
    pub file: Arc<str>,
    pub root: Node,
}

/// Everything read from the manifest directory.
#[derive(Debug, Default)]
pub struct Loaded {
    pub documents: Vec<Document>,
    /// File texts by display path, for renderers and for the manifest digest.
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
}

/// Where `${env:NAME}` values come from. Tests and the demo can supply their own.
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// Loads every manifest below `path` (a directory, or a single file).
pub fn load(path: &Path, env: &dyn Environment) -> Loaded {
    let mut loaded = Loaded::default();
    let files = match find_manifest_files(path) {
        Ok(files) => files,
        Err(diagnostic) => {
            loaded.diagnostics.push(diagnostic);
            return loaded;
        }
    };
    if files.is_empty() {
        loaded.diagnostics.push(Diagnostic::error(
            "no-manifests",
            format!("no *.yaml or *.yml files found in {}", path.display()),
            None,
        ));
    }
    for file in files {
        load_file(&file, env, &mut loaded);
    }
    loaded
}

fn display_path(path: &Path) -> Arc<str> {
    let text = path.to_string_lossy();
    Arc::from(text.strip_prefix("./").unwrap_or(&text))
}

fn find_manifest_files(root: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let meta = std::fs::metadata(root).map_err(|e| {
        Diagnostic::error(
            "path-not-found",
            format!("cannot read {}: {}", root.display(), io_reason(&e)),
            None,
        )
    })?;
    if meta.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            Diagnostic::error(
                "path-not-found",
                format!("cannot read directory {}: {}", dir.display(), io_reason(&e)),
                None,
            )
        })?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // Hidden entries (.git, editor swap files) are never manifests.
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let is_dir = kind.is_dir() || (kind.is_symlink() && path.is_dir());
            if is_dir {
                pending.push(path);
            } else if name.ends_with(".yaml") || name.ends_with(".yml") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn load_file(path: &Path, env: &dyn Environment, loaded: &mut Loaded) {
    let file = display_path(path);
    let start = Some(Location::file_start(&file));
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > MAX_FILE_BYTES => {
            loaded.diagnostics.push(Diagnostic::error(
                "file-too-large",
                format!(
                    "file is {} bytes; manifest files larger than {} bytes are refused (split it)",
                    meta.len(),
                    MAX_FILE_BYTES
                ),
                start,
            ));
            return;
        }
        _ => {}
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            let message = format!("cannot read file: {}", io_reason(&e));
            loaded
                .diagnostics
                .push(Diagnostic::error("unreadable-file", message, start));
            return;
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let valid = String::from_utf8_lossy(valid);
            let line = valid.matches('\n').count() + 1;
            let col = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let loc = Location {
                file: file.clone(),
                line,
                col,
                len: 1,
            };
            let message = "file is not valid UTF-8 (manifests must be UTF-8 text)";
            loaded
                .diagnostics
                .push(Diagnostic::error("not-utf8", message, Some(loc)));
            return;
        }
    };
    let base = path.parent().unwrap_or(Path::new("."));
    add_text(&file, &text, base, env, loaded);
}

/// Parses the text of one file into `loaded` (`base` resolves `${file:..}`). The entry
/// point of the hostile-input property tests, which have no files.
pub fn add_text(
    file: &Arc<str>,
    text: &str,
    base: &Path,
    env: &dyn Environment,
    loaded: &mut Loaded,
) {
    let file = file.clone();
    let start = Some(Location::file_start(&file));
    let text: Arc<str> = Arc::from(text);
    loaded.sources.insert(file.clone(), text.clone());
    let (docs, error) = yaml::parse_documents(&file, &text);
    if let Some(error) = error {
        loaded.diagnostics.push(error);
    }
    let docs: Vec<Node> = docs
        .into_iter()
        .filter(|d| d.value != NodeValue::Null)
        .collect();
    if docs.is_empty()
        && !loaded
            .diagnostics
            .iter()
            .any(|d| d.location.as_ref().is_some_and(|l| l.file == file))
    {
        let message = "file holds no YAML document (it is empty or only comments)";
        loaded
            .diagnostics
            .push(Diagnostic::error("empty-file", message, start));
    }
    for mut root in docs {
        substitute(&mut root, base, env, &mut loaded.diagnostics);
        loaded.documents.push(Document {
            file: file.clone(),
            root,
        });
    }
}

/// Replaces whole-scalar `${env:NAME}` and `${file:PATH}` strings, marking them sensitive.
fn substitute(
    node: &mut Node,
    base: &Path,
    env: &dyn Environment,
    diagnostics: &mut Vec<Diagnostic>,
) {
    match &mut node.value {
        NodeValue::Seq(items) => {
            for item in items {
                substitute(item, base, env, diagnostics);
            }
        }
        NodeValue::Map(pairs) => {
            for (_, value) in pairs {
                substitute(value, base, env, diagnostics);
            }
        }
        NodeValue::Str(text) => {
            let Some(reference) = Reference::parse(text) else {
                if text.contains("${env:") || text.contains("${file:") {
                    diagnostics.push(Diagnostic::warning(
                        "partial-substitution",
                        "`${env:..}` and `${file:..}` are only replaced when they are the whole value; this one is kept as literal text",
                        Some(node.loc.clone()),
                    ));
                }
                return;
            };
            let resolved = match &reference {
                Reference::Env(name) => env.var(name).ok_or_else(|| {
                    Diagnostic::error(
                        "unset-variable",
                        format!("environment variable {name} is not set"),
                        Some(node.loc.clone()),
                    )
                }),
                Reference::File(rel) => {
                    let path = base.join(rel);
                    std::fs::read_to_string(&path)
                        .map(|mut content| {
                            // A file written by `echo` or an editor ends with one newline that is
                            // not part of the value.
                            if content.ends_with('\n') {
                                content.pop();
                                if content.ends_with('\r') {
                                    content.pop();
                                }
                            }
                            content
                        })
                        .map_err(|e| {
                            let reason = if e.kind() == std::io::ErrorKind::InvalidData {
                                "not UTF-8 text".to_string()
                            } else {
                                io_reason(&e)
                            };
                            Diagnostic::error(
                                "unreadable-file",
                                format!("cannot read {}: {reason}", path.display()),
                                Some(node.loc.clone()),
                            )
                        })
                }
            };
            match resolved {
                Ok(value) => {
                    *text = value;
                    node.sensitive = true;
                }
                Err(diagnostic) => {
                    diagnostics.push(diagnostic);
                    // Keep the value sensitive-marked so nothing downstream quotes it.
                    node.sensitive = true;
                }
            }
        }
        _ => {}
    }
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
