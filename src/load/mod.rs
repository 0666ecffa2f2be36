//! Reads the manifest directory: finds `*.yaml`/`*.yml` files inside it (`discover`),
//! reads each regular file once and bounded (`read`), parses it into positioned [`Node`]
//! documents (`yaml`), and replaces `${env:NAME}` / `${file:PATH}` values (`substitute`).
//!
//! It owns all filesystem reads of the manifests and nothing else: it does not know what a
//! client is (that is `validate`). Every problem becomes a [`Diagnostic`]; nothing here
//! stops at the first bad file. The manifests come from pull requests: nothing outside the
//! manifest directory (and the `--file-root`s the user names) is ever read.

mod budget;
mod discover;
mod select;
pub mod substitute;
mod waivers;
pub mod yaml;

pub use budget::{Budget, MAX_TOTAL_INPUT_BYTES};
pub use substitute::{is_env_reference, MAX_SUBSTITUTED_FILE_BYTES};
pub use waivers::MARKER as WAIVER_MARKER;
pub use yaml::{MAX_ALIAS_NODES, MAX_DEPTH};

use crate::bounded::{read as read_regular, reason as io_reason, ReadError};
use crate::findings::Code;
use crate::source::{Diagnostic, Location, Node, NodeValue, Severity, SourceMap, Waiver};
pub use discover::display_path;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// How many batches of files each loading thread gets, about (see [`load_each`]).
/// Two: smaller batches' vectors are freed into the allocator's pools rather than given
/// back, and at 100,000 manifests four per thread raised validate's peak memory by 21 MiB
/// and plan's by about 9 (sixteen: plan's by 20), two by nothing measurable.
const BATCHES_PER_THREAD: usize = 2;

/// Manifest files larger than this are refused without being read whole (10,000
/// manifests fit in a few MB).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

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
    /// The `# boruta-gitops:allow` comments of every file.
    pub waivers: Vec<Waiver>,
}

/// Where `${env:NAME}` values come from. Tests and the demo can supply their own. Files
/// are loaded on every core, so it is shared between threads.
pub trait Environment: Sync {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// What a load may read and how it reports unset variables.
pub struct Options<'a> {
    pub env: &'a dyn Environment,
    /// Extra directories `${file:..}` may read from (`--file-root`), for secrets mounted
    /// outside the repository. Values read from them are sensitive.
    pub file_roots: &'a [PathBuf],
    /// `Error` in plan/apply/drift; `Warning` in `validate`, which runs offline.
    pub unset_variable: Severity,
    /// Files not to read (`--exclude`): patterns on paths relative to the directory.
    pub exclude: &'a [String],
    /// What the manifest files and their `${file:..}` values may total (`--max-input-bytes`).
    pub budget: Budget,
    /// The selected environment's variables, for `${var:..}`.
    pub vars: Option<&'a substitute::VarScope<'a>>,
    /// The manifests the selected environment gets (names, `*` globs, ids); empty: all.
    /// Documents of other manifests are dropped before substitution.
    pub select: &'a [String],
}

impl<'a> Options<'a> {
    /// Every root's defaults: no extra root, unset variables are errors.
    pub fn new(env: &'a dyn Environment) -> Self {
        Options {
            env,
            file_roots: &[],
            unset_variable: Severity::Error,
            exclude: &[],
            budget: Budget::default(),
            vars: None,
            select: &[],
        }
    }
}

/// The directories reads are confined to, canonical.
pub struct Roots {
    /// The manifest directory (for a single file: its directory).
    pub manifests: PathBuf,
    pub extra: Vec<PathBuf>,
}

impl Roots {
    /// Reads confined to `dir` alone (tools and tests without `--file-root`).
    pub fn only(dir: &Path) -> std::io::Result<Roots> {
        Ok(Roots {
            manifests: std::fs::canonicalize(dir)?,
            extra: Vec::new(),
        })
    }
}

/// Loads every manifest below `path` (a directory, or a single file).
pub fn load(path: &Path, options: &Options<'_>) -> Loaded {
    let add = |all: &mut Vec<Document>, mut documents: Vec<Document>, _: &[Waiver]| {
        all.append(&mut documents)
    };
    let (mut loaded, parts) = load_each(path, options, &add);
    loaded.documents = parts.into_iter().flatten().collect();
    loaded
}

/// Folds one file's documents, with the file's waivers, into a thread's accumulator.
pub type FoldFile<'a, R> = dyn Fn(&mut R, Vec<Document>, &[Waiver]) + Sync + 'a;

/// Loads every manifest below `path` on every core, handing each file's documents (with
/// the file's waivers) to `each` as soon as the file is read, so that no more than a few
/// files' YAML trees exist at once. `each` folds them into its thread's `R`: nothing is
/// kept per file but what `each` keeps (100,000 files' small vectors were 100 MB). Returns
/// everything else that was read (sources, findings, waivers; `documents` is empty) and
/// the `R` of each batch of files, in file order.
pub fn load_each<R: Send + Default>(
    path: &Path,
    options: &Options<'_>,
    each: &FoldFile<'_, R>,
) -> (Loaded, Vec<R>) {
    let (mut loaded, files, roots) = discover_files(path, options);
    let Some(roots) = roots else {
        return (loaded, Vec::new());
    };
    let part = |files: &[discover::Found]| {
        let (mut all, mut result) = (Loaded::default(), R::default());
        for found in files {
            let mut file = load_file(found, &roots, options);
            let documents = std::mem::take(&mut file.documents);
            each(&mut result, documents, &file.waivers);
            // Not `append`, which rebuilds the whole map: one file at a time is quadratic.
            all.sources.extend(file.sources);
            all.diagnostics.append(&mut file.diagnostics);
            all.waivers.append(&mut file.waivers);
        }
        (all, result)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Files are handed out in batches as threads ask, not split in halves up front: a
    // thread that another process slows down no longer leaves the other one waiting at
    // the end. Batches, not single files, so that their results stay few (each keeps
    // its own vectors until they are joined).
    let batch = files.len().div_ceil(threads * BATCHES_PER_THREAD).max(64);
    let batches: Vec<&[discover::Found]> = files.chunks(batch).collect();
    let parts: Vec<(Loaded, R)> = if batches.len() <= 1 || threads == 1 {
        batches.into_iter().map(part).collect()
    } else {
        let next = AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(files) = batches.get(i) else {
                    return done;
                };
                done.push((i, part(files)));
            }
        };
        let mut done: Vec<_> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        // Back in file order.
        done.sort_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, part)| part).collect()
    };
    let mut results = Vec::with_capacity(parts.len());
    let mut sources = Vec::with_capacity(parts.len() + 1);
    sources.push(std::mem::take(&mut loaded.sources));
    for (mut file, result) in parts {
        sources.push(file.sources);
        loaded.diagnostics.append(&mut file.diagnostics);
        loaded.waivers.append(&mut file.waivers);
        results.push(result);
    }
    // Built once, from keys already in order: `append` per part rebuilds the whole map.
    loaded.sources = sources.into_iter().flatten().collect();
    (loaded, results)
}

/// The files to load, and the roots reads are confined to (`None` when one cannot be
/// resolved; the finding says why).
fn discover_files(
    path: &Path,
    options: &Options<'_>,
) -> (Loaded, Vec<discover::Found>, Option<Roots>) {
    let mut loaded = Loaded::default();
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => {
            loaded.diagnostics.push(Diagnostic::new(
                Code::PathNotFound,
                format!("cannot read {}: {}", path.display(), io_reason(&e)),
                None,
            ));
            return (loaded, Vec::new(), None);
        }
    };
    let single_file = !meta.is_dir();
    let root_dir = if single_file {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    } else {
        path
    };
    let Some(roots) = roots(root_dir, options.file_roots, &mut loaded.diagnostics) else {
        return (loaded, Vec::new(), None);
    };
    let files = if single_file {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        vec![discover::Found {
            display: path.to_path_buf(),
            canonical,
        }]
    } else {
        discover::discover(
            path,
            &roots.manifests,
            options.exclude,
            &mut loaded.diagnostics,
        )
    };
    if files.is_empty() && !crate::source::has_errors(&loaded.diagnostics) {
        loaded.diagnostics.push(Diagnostic::new(
            Code::NoManifests,
            format!("no *.yaml or *.yml files found in {}", path.display()),
            None,
        ));
    }
    (loaded, files, Some(roots))
}

/// The canonical roots, or `None` (with a finding) when one cannot be resolved.
fn roots(manifests: &Path, extra: &[PathBuf], diagnostics: &mut Vec<Diagnostic>) -> Option<Roots> {
    let mut resolve = |path: &Path, what: &str| match std::fs::canonicalize(path) {
        Ok(canonical) if canonical.is_dir() => Some(canonical),
        Ok(_) => {
            diagnostics.push(Diagnostic::new(
                Code::PathNotFound,
                format!("{what} {} is not a directory", path.display()),
                None,
            ));
            None
        }
        Err(e) => {
            diagnostics.push(Diagnostic::new(
                Code::PathNotFound,
                format!("cannot read {what} {}: {}", path.display(), io_reason(&e)),
                None,
            ));
            None
        }
    };
    let manifests = resolve(manifests, "the manifest directory");
    let extra: Vec<Option<PathBuf>> = extra.iter().map(|p| resolve(p, "--file-root")).collect();
    Some(Roots {
        manifests: manifests?,
        extra: extra.into_iter().collect::<Option<Vec<_>>>()?,
    })
}

/// One file, read and parsed.
fn load_file(found: &discover::Found, roots: &Roots, options: &Options<'_>) -> Loaded {
    let mut loaded = Loaded::default();
    let file = display_path(&found.display);
    let over_budget = || {
        let message = options.budget.message("this file");
        let at = Some(Location::file_start(&file));
        Diagnostic::new(Code::InputTooLarge, message, at)
    };
    if options.budget.spent() {
        loaded.diagnostics.push(over_budget());
        return loaded;
    }
    let text = match read_text(&found.canonical, &file, MAX_FILE_BYTES, "a manifest file") {
        Ok(text) if !options.budget.charge(text.len() as u64) => {
            loaded.diagnostics.push(over_budget());
            return loaded;
        }
        Ok(text) => text,
        Err(finding) => {
            loaded.diagnostics.push(finding);
            return loaded;
        }
    };
    let base = found.display.parent().unwrap_or(Path::new("."));
    add_text(&file, &text, base, roots, options, &mut loaded);
    loaded
}

/// The UTF-8 text of a regular file of at most `limit` bytes, or the finding that says why
/// not (at the file's start, or at the first invalid byte).
fn read_text(path: &Path, file: &Arc<str>, limit: u64, what: &str) -> Result<String, Diagnostic> {
    let start = Some(Location::file_start(file));
    let bytes = match read_regular(path, limit) {
        Ok(bytes) => bytes,
        Err(ReadError::NotRegular(kind)) => {
            return Err(Diagnostic::new(
                Code::NotARegularFile,
                format!("this is {kind}, not a regular file: it is not read"),
                start,
            ));
        }
        Err(ReadError::TooLarge { limit, .. }) => {
            return Err(Diagnostic::new(
                Code::FileTooLarge,
                format!("file is larger than {limit} bytes, the limit for {what} (split it)"),
                start,
            ));
        }
        Err(ReadError::Io(e)) => {
            let message = format!("cannot read file: {}", io_reason(&e));
            return Err(Diagnostic::new(Code::UnreadableFile, message, start));
        }
    };
    String::from_utf8(bytes).map_err(|e| {
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
        Diagnostic::new(
            Code::NotUtf8,
            "file is not valid UTF-8 (it must be UTF-8 text)",
            Some(loc),
        )
    })
}

/// A policy file is small: larger is a mistake.
pub const MAX_POLICY_BYTES: u64 = 1024 * 1024;

/// Reads the policy file at `path` into `loaded` (its text, for findings that quote it)
/// and returns its one document. `None`, with a finding, when it cannot be read or
/// parsed. With `root` (the default policy file, which a pull request may add), a path
/// that resolves outside `root` is not read: its findings would quote the target.
pub fn read_policy(path: &Path, root: Option<&Path>, loaded: &mut Loaded) -> Option<Node> {
    let file = display_path(path);
    if let Some(root) = root {
        let inside = match (std::fs::canonicalize(root), std::fs::canonicalize(path)) {
            (Ok(root), Ok(target)) => target.starts_with(root),
            _ => false,
        };
        if !inside {
            loaded.diagnostics.push(Diagnostic::new(Code::SymlinkOutsideRoot,
                "this policy file resolves outside the manifest directory; it is not followed and nothing of its target is read",
                Some(Location::file_start(&file)),
            ));
            return None;
        }
    }
    let text = match read_text(path, &file, MAX_POLICY_BYTES, "a policy file") {
        Ok(text) => text,
        Err(finding) => {
            loaded.diagnostics.push(finding);
            return None;
        }
    };
    loaded
        .sources
        .insert(file.clone(), Arc::from(text.as_str()));
    let (mut docs, error) = yaml::parse_documents(&file, &text);
    if let Some(error) = error {
        loaded.diagnostics.push(error);
        return None;
    }
    if docs.len() != 1 {
        loaded.diagnostics.push(Diagnostic::new(
            Code::InvalidPolicy,
            "a policy file holds exactly one YAML document",
            Some(Location::file_start(&file)),
        ));
        return None;
    }
    docs.pop()
}

/// The documents of `text`, parsed but not substituted, and its waiver comments (no
/// file is read: `export` checks the manifests it writes with it).
pub fn parse_text(file: &Arc<str>, text: &str) -> (Vec<Document>, Vec<Waiver>) {
    let (docs, _) = yaml::parse_documents(file, text);
    let documents = docs
        .into_iter()
        .filter(|d| d.value != NodeValue::Null)
        .map(|root| Document {
            file: file.clone(),
            root,
        })
        .collect();
    (documents, waivers::waivers(file, text))
}

/// Parses the text of one file into `loaded` (`base` resolves `${file:..}`, confined to
/// `roots`). The entry point of the hostile-input property tests, which have no files.
pub fn add_text(
    file: &Arc<str>,
    text: &str,
    base: &Path,
    roots: &Roots,
    options: &Options<'_>,
    loaded: &mut Loaded,
) {
    let file = file.clone();
    let start = Some(Location::file_start(&file));
    let text: Arc<str> = Arc::from(text);
    loaded.sources.insert(file.clone(), text.clone());
    loaded.waivers.extend(waivers::waivers(&file, &text));
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
            .push(Diagnostic::new(Code::EmptyFile, message, start));
    }
    let context = substitute::Context {
        env: options.env,
        roots,
        base,
        unset_variable: options.unset_variable,
        budget: &options.budget,
        vars: options.vars,
    };
    for mut root in docs {
        if !options.select.is_empty() && !select::keep(&mut root, options.select) {
            continue;
        }
        substitute::substitute(&mut root, &context, &mut loaded.diagnostics);
        loaded.documents.push(Document {
            file: file.clone(),
            root,
        });
    }
}
