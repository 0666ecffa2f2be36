//! Finding the manifest files inside the manifest root, and nothing outside it.
//!
//! The walk looks at symbolic links itself instead of letting the file system follow
//! them: a link whose target resolves outside the root is reported at the link's own path
//! (`symlink-outside-root`) and nothing of the target is read, so `zz.yaml ->
//! /proc/self/environ` cannot make a pull request print the CI job's environment. Links
//! that stay inside are followed, but every directory is walked once and every file read
//! once (by canonical path), so link loops and fan-outs end at once with one finding.

use crate::bounded::reason as io_reason;
use crate::findings::Code;
use crate::source::{Diagnostic, Location};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One manifest file: the path as the user sees it, and where it really is.
#[derive(Debug, Clone)]
pub struct Found {
    pub display: PathBuf,
    pub canonical: PathBuf,
}

/// The path as shown in findings: relative paths stay relative, `/`-separated.
pub fn display_path(path: &Path) -> Arc<str> {
    let text = path.to_string_lossy();
    Arc::from(text.strip_prefix("./").unwrap_or(&text))
}

fn is_manifest_name(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

fn at(path: &Path) -> Option<Location> {
    Some(Location::file_start(&display_path(path)))
}

/// Every `*.yaml` / `*.yml` below `dir` (whose canonical form is `root`), sorted by the
/// displayed path, each real file once.
pub fn discover(dir: &Path, root: &Path, diagnostics: &mut Vec<Diagnostic>) -> Vec<Found> {
    let mut visited: HashSet<PathBuf> = HashSet::from([root.to_path_buf()]);
    let mut pending = vec![(dir.to_path_buf(), root.to_path_buf())];
    let mut found = Vec::new();
    let mut loops: Vec<PathBuf> = Vec::new();
    while let Some((shown_dir, real_dir)) = pending.pop() {
        let entries = match std::fs::read_dir(&real_dir) {
            Ok(entries) => entries,
            Err(e) => {
                diagnostics.push(Diagnostic::new(
                    Code::UnreadableFile,
                    format!(
                        "cannot read directory {}: {}",
                        display_path(&shown_dir),
                        io_reason(&e)
                    ),
                    None,
                ));
                continue;
            }
        };
        let mut names: Vec<_> = entries.flatten().map(|e| e.file_name()).collect();
        names.sort();
        for name in names {
            let text = name.to_string_lossy();
            // Hidden entries (.git, editor swap files) are never manifests.
            if text.starts_with('.') {
                continue;
            }
            let shown = shown_dir.join(&name);
            let real = real_dir.join(&name);
            let Ok(meta) = std::fs::symlink_metadata(&real) else {
                continue;
            };
            let wanted = is_manifest_name(&text);
            if !meta.file_type().is_symlink() {
                if meta.is_dir() {
                    if visited.insert(real.clone()) {
                        pending.push((shown, real));
                    }
                } else if wanted {
                    found.push(Found {
                        display: shown,
                        canonical: real,
                    });
                }
                continue;
            }
            let target = match std::fs::canonicalize(&real) {
                Ok(target) => target,
                Err(e) => {
                    if wanted {
                        diagnostics.push(Diagnostic::new(
                            Code::UnreadableFile,
                            format!("cannot read this symbolic link's target: {}", io_reason(&e)),
                            at(&shown),
                        ));
                    }
                    continue;
                }
            };
            if !target.starts_with(root) {
                // Only the link's own path is named: its target may itself be a secret.
                if wanted || target.is_dir() {
                    diagnostics.push(Diagnostic::new(Code::SymlinkOutsideRoot,
                        "this symbolic link points outside the manifest directory; it is not followed and nothing of its target is read",
                        at(&shown),
                    ));
                }
                continue;
            }
            if target.is_dir() {
                if visited.insert(target.clone()) {
                    pending.push((shown, target));
                } else {
                    loops.push(shown);
                }
            } else if wanted {
                found.push(Found {
                    display: shown,
                    canonical: target,
                });
            }
        }
    }
    if let Some(first) = loops.first() {
        let shown: Vec<String> = loops
            .iter()
            .take(5)
            .map(|l| display_path(l).to_string())
            .collect();
        let more = if loops.len() > 5 { ", ..." } else { "" };
        diagnostics.push(Diagnostic::new(Code::SymlinkLoop,
            format!(
                "{} symbolic link(s) lead to a directory already read and are not followed: {}{more}",
                loops.len(),
                shown.join(", ")
            ),
            at(first),
        ));
    }
    found.sort_by(|a, b| a.display.cmp(&b.display));
    let mut seen = HashSet::new();
    found.retain(|f| seen.insert(f.canonical.clone()));
    found
}
