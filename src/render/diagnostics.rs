//! Findings as rustc-like text with the source line and a caret under the value, as a
//! stable JSON document, or as GitHub workflow commands that annotate a pull request.

use super::Style;
use crate::escape::{neutral, neutral_line};
use crate::source::{Diagnostic, Severity, SourceMap};
use std::collections::BTreeSet;
use std::io::{self, Write};
use std::sync::Arc;

/// Version of the JSON document `validate --format json` prints.
pub const DIAGNOSTICS_FORMAT_VERSION: u32 = 1;

/// Counts for the summary line.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
    /// Findings a waiver comment waived (counted here only).
    pub waived: usize,
    pub clients: usize,
    /// Scope manifests (`kind: Scope`): absent from JSON when there are none.
    #[serde(skip_serializing_if = "is_zero")]
    pub scopes: usize,
    pub files: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Counts {
    /// The counts of `diagnostics` about `clients` and `scopes` read from `files`.
    pub fn of(diagnostics: &[Diagnostic], (clients, scopes): (usize, usize), files: usize) -> Self {
        let count = |s| {
            diagnostics
                .iter()
                .filter(|d| d.severity == s && d.waived.is_none())
                .count()
        };
        Counts {
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            notes: count(Severity::Note),
            waived: diagnostics.iter().filter(|d| d.waived.is_some()).count(),
            clients,
            scopes,
            files,
        }
    }
}

/// Human text: one block per finding, then a summary line.
pub fn human(
    out: &mut dyn Write,
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    redacted: &BTreeSet<(Arc<str>, usize)>,
    counts: Counts,
    style: Style,
) -> io::Result<()> {
    each(out, diagnostics, sources, redacted, style)?;
    summary(out, counts)
}

/// Each finding with the line it points at, without the summary line.
pub fn each(
    out: &mut dyn Write,
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    redacted: &BTreeSet<(Arc<str>, usize)>,
    style: Style,
) -> io::Result<()> {
    for d in diagnostics {
        let look = super::marks::severity(d.severity);
        let (color, label) = (look.colour, look.label);
        let waived = d
            .waived
            .as_ref()
            .map(|reason| format!(" (waived: {})", neutral(reason)))
            .unwrap_or_default();
        writeln!(
            out,
            "{}{waived}: {}",
            style.paint(color, &format!("{label}[{}]", d.code)),
            neutral(&d.message)
        )?;
        let Some(loc) = &d.location else {
            writeln!(out)?;
            continue;
        };
        writeln!(out, "  --> {}", neutral(&loc.to_string()))?;
        let line_text = sources
            .get(&loc.file)
            .and_then(|text| text.lines().nth(loc.line.saturating_sub(1)));
        if let Some(text) = line_text {
            let gutter = loc.line.to_string();
            let pad = " ".repeat(gutter.len());
            let (shown, col) = if redacted.contains(&(loc.file.clone(), loc.line)) {
                // The line holds a literal secret: show where, never what.
                let indent: String = text.chars().take_while(|c| c.is_whitespace()).collect();
                (
                    format!("{indent}(line not shown: it holds a secret)"),
                    loc.col,
                )
            } else {
                let (shown, col) = window(text, loc.col);
                // Escaping may widen the text before the column: the caret follows it.
                let before: String = shown.chars().take(col.saturating_sub(1)).collect();
                let col = neutral_line(&before).chars().count() + 1;
                (neutral_line(&shown).into_owned(), col)
            };
            writeln!(out, "{pad} |")?;
            writeln!(out, "{gutter} | {shown}")?;
            let caret_pad: String = shown
                .chars()
                .take(col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let carets = "^".repeat(loc.len.max(1));
            writeln!(out, "{pad} | {caret_pad}{}", style.paint(color, &carets))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The line that counts the findings.
fn summary(out: &mut dyn Write, counts: Counts) -> io::Result<()> {
    let waived = if counts.waived > 0 {
        format!(", {} waived", counts.waived)
    } else {
        String::new()
    };
    let scopes = match counts.scopes {
        0 => String::new(),
        n => format!(" and {n} scope(s)"),
    };
    writeln!(
        out,
        "{} error(s), {} warning(s), {} note(s){waived} in {} client(s){scopes} from {} file(s)",
        counts.errors, counts.warnings, counts.notes, counts.clients, counts.files
    )
}

/// Long lines (minified YAML, generated files) are cut to a window around the column.
fn window(text: &str, col: usize) -> (String, usize) {
    const WIDTH: usize = 100;
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= WIDTH * 2 {
        return (text.to_string(), col);
    }
    let start = col
        .saturating_sub(1)
        .saturating_sub(WIDTH / 2)
        .min(chars.len());
    let end = (start + WIDTH).min(chars.len());
    let mut shown = String::from("…");
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push('…');
    }
    (shown, col - start + 1)
}

/// The documented JSON document.
pub fn json(out: &mut dyn Write, diagnostics: &[Diagnostic], counts: Counts) -> io::Result<()> {
    // Serialized straight from the findings: no JSON tree of 10,000 findings is built.
    #[derive(serde::Serialize)]
    struct Document<'a> {
        format_version: u32,
        diagnostics: &'a [Diagnostic],
        summary: Counts,
    }
    let document = Document {
        format_version: DIAGNOSTICS_FORMAT_VERSION,
        diagnostics,
        summary: counts,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

/// GitHub workflow commands (`::error file=..,line=..,col=..,title=CODE::message`).
pub fn github(out: &mut dyn Write, diagnostics: &[Diagnostic]) -> io::Result<()> {
    for d in diagnostics {
        // A waived finding is a notice: it must not fail the check run.
        let level = match &d.waived {
            Some(_) => super::marks::severity(Severity::Note).github,
            None => super::marks::severity(d.severity).github,
        };
        let mut props = Vec::new();
        if let Some(loc) = &d.location {
            props.push(format!("file={}", escape_property(&loc.file)));
            props.push(format!("line={}", loc.line));
            props.push(format!("col={}", loc.col));
        }
        let (title, message) = match &d.waived {
            Some(reason) => (
                format!("{} (waived)", d.code),
                format!("{} (waived: {reason})", d.message),
            ),
            None => (d.code.to_string(), d.message.clone()),
        };
        props.push(format!("title={}", escape_property(&title)));
        writeln!(
            out,
            "::{level} {}::{}",
            props.join(","),
            escape_data(&message)
        )?;
    }
    Ok(())
}

/// Workflow-command data: `%`, CR and LF encoded as GitHub requires, other control and
/// bidi characters neutralised like every text we did not write.
fn escape_data(text: &str) -> String {
    neutral(
        &text
            .replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A"),
    )
    .into_owned()
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}
