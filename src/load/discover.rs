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

/// The walk's state: what was found, what was visited, the links that loop.
struct Walk<'a> {
    dir: &'a Path,
    root: &'a Path,
    /// `--exclude` patterns, matched against paths relative to `dir`.
    exclude: &'a [String],
    visited: HashSet<PathBuf>,
    pending: Vec<(PathBuf, PathBuf)>,
    found: Vec<Found>,
    /// Some symbolic link was followed (a file may then be found twice).
    followed_link: bool,
    loops: Vec<PathBuf>,
    diagnostics: &'a mut Vec<Diagnostic>,
}

/// Every `*.yaml` / `*.yml` below `dir` (whose canonical form is `root`) that no
/// `exclude` pattern names, sorted by the displayed path, each real file once.
pub fn discover(
    dir: &Path,
    root: &Path,
    exclude: &[String],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Found> {
    let mut walk = Walk {
        dir,
        root,
        exclude,
        visited: HashSet::from([root.to_path_buf()]),
        pending: vec![(dir.to_path_buf(), root.to_path_buf())],
        found: Vec::new(),
        followed_link: false,
        loops: Vec::new(),
        diagnostics,
    };
    while let Some((shown_dir, real_dir)) = walk.pending.pop() {
        walk.directory(&shown_dir, &real_dir);
    }
    walk.report_loops();
    let mut found = walk.found;
    found.sort_by(|a, b| a.display.cmp(&b.display));
    // Without a link followed, every real directory was walked once: no file twice.
    if walk.followed_link {
        let mut seen = HashSet::new();
        found.retain(|f| seen.insert(f.canonical.clone()));
    }
    found
}

impl Walk<'_> {
    /// True for a manifest's name that no `--exclude` pattern names.
    fn wanted(&self, name: &str, shown: &Path) -> bool {
        if !is_manifest_name(name) {
            return false;
        }
        if self.exclude.is_empty() {
            return true;
        }
        let relative = shown.strip_prefix(self.dir).unwrap_or(shown);
        let relative = relative.to_string_lossy().replace('\\', "/");
        !self
            .exclude
            .iter()
            .any(|pattern| crate::source::glob_matches(pattern, &relative))
    }

    fn directory(&mut self, shown_dir: &Path, real_dir: &Path) {
        let entries = match std::fs::read_dir(real_dir) {
            Ok(entries) => entries,
            Err(e) => {
                self.diagnostics.push(Diagnostic::new(
                    Code::UnreadableFile,
                    format!(
                        "cannot read directory {}: {}",
                        display_path(shown_dir),
                        io_reason(&e)
                    ),
                    None,
                ));
                return;
            }
        };
        // The entry's own type, from the directory listing where the file system gives it
        // (no `lstat` per file: 10,000 of them were most of the walk).
        let mut names: Vec<_> = entries
            .flatten()
            .map(|e| (e.file_name(), e.file_type().ok()))
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, file_type) in names {
            let text = name.to_string_lossy();
            // Hidden entries (.git, editor swap files) are never manifests.
            if !text.starts_with('.') {
                self.entry(
                    &text,
                    file_type,
                    shown_dir.join(&name),
                    real_dir.join(&name),
                );
            }
        }
    }

    fn entry(
        &mut self,
        name: &str,
        file_type: Option<std::fs::FileType>,
        shown: PathBuf,
        real: PathBuf,
    ) {
        let file_type = match file_type {
            Some(t) => t,
            None => match std::fs::symlink_metadata(&real) {
                Ok(meta) => meta.file_type(),
                Err(_) => return,
            },
        };
        let wanted = self.wanted(name, &shown);
        if !file_type.is_symlink() {
            if file_type.is_dir() {
                if self.visited.insert(real.clone()) {
                    self.pending.push((shown, real));
                }
            } else if wanted {
                self.found.push(Found {
                    display: shown,
                    canonical: real,
                });
            }
            return;
        }
        self.link(wanted, shown, &real);
    }

    /// A symbolic link: followed only when it stays inside the root.
    fn link(&mut self, wanted: bool, shown: PathBuf, real: &Path) {
        let target = match std::fs::canonicalize(real) {
            Ok(target) => target,
            Err(e) => {
                if wanted {
                    self.diagnostics.push(Diagnostic::new(
                        Code::UnreadableFile,
                        format!("cannot read this symbolic link's target: {}", io_reason(&e)),
                        at(&shown),
                    ));
                }
                return;
            }
        };
        self.followed_link = true;
        if !target.starts_with(self.root) {
            // Only the link's own path is named: its target may itself be a secret.
            if wanted || target.is_dir() {
                self.diagnostics.push(Diagnostic::new(Code::SymlinkOutsideRoot,
                    "this symbolic link points outside the manifest directory; it is not followed and nothing of its target is read",
                    at(&shown),
                ));
            }
            return;
        }
        if target.is_dir() {
            if self.visited.insert(target.clone()) {
                self.pending.push((shown, target));
            } else {
                self.loops.push(shown);
            }
        } else if wanted {
            self.found.push(Found {
                display: shown,
                canonical: target,
            });
        }
    }

    fn report_loops(&mut self) {
        let Some(first) = self.loops.first() else {
            return;
        };
        let shown: Vec<String> = self
            .loops
            .iter()
            .take(5)
            .map(|l| display_path(l).to_string())
            .collect();
        let more = if self.loops.len() > 5 { ", ..." } else { "" };
        self.diagnostics.push(Diagnostic::new(Code::SymlinkLoop,
            format!(
                "{} symbolic link(s) lead to a directory already read and are not followed: {}{more}",
                self.loops.len(),
                shown.join(", ")
            ),
            at(first),
        ));
    }
}
