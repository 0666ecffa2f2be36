//! Waiver comments, read from the manifest text (the YAML parser drops comments): a
//! `# boruta-gitops:allow CODE[,CODE...] reason` line in the comment block directly above
//! a value covers that value's line and every line indented under it; above the first line
//! of a document, it covers the whole document (the convention of tflint and checkov).

use crate::source::{Location, Waiver};
use std::sync::Arc;

/// The marker that starts a waiver inside a comment.
pub const MARKER: &str = "boruta-gitops:allow";

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

fn is_document_marker(line: &str) -> bool {
    line.starts_with("---") || line.starts_with("...")
}

/// Every waiver comment of one file.
pub fn waivers(file: &Arc<str>, text: &str) -> Vec<Waiver> {
    if !text.contains(MARKER) {
        return Vec::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    // The first content line of the current document has not been seen yet.
    let mut at_document_start = true;
    let mut block: Vec<(usize, &str)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if is_document_marker(line) {
            at_document_start = true;
            block.clear();
            continue;
        }
        if is_comment(line) {
            block.push((i, line));
            continue;
        }
        if line.trim().is_empty() {
            // A blank line separates a comment block from what follows.
            block.clear();
            continue;
        }
        let end = if at_document_start {
            lines[i..]
                .iter()
                .position(|l| is_document_marker(l))
                .map_or(lines.len() - 1, |n| i + n - 1)
        } else {
            let own = indent(line);
            let under = lines[i + 1..]
                .iter()
                .take_while(|l| l.trim().is_empty() || is_comment(l) || indent(l) > own)
                .count();
            i + under
        };
        for (at, comment) in block.drain(..) {
            if let Some(waiver) = parse(file, at, comment, (i + 1, end + 1)) {
                out.push(waiver);
            }
        }
        at_document_start = false;
    }
    out
}

fn parse(file: &Arc<str>, index: usize, line: &str, lines: (usize, usize)) -> Option<Waiver> {
    let start = line.find(MARKER)?;
    let rest = &line[start + MARKER.len()..];
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim();
    let (codes, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    Some(Waiver {
        loc: Location {
            file: file.clone(),
            line: index + 1,
            col: line[..start].chars().count() + 1,
            len: MARKER.len(),
        },
        codes: codes
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect(),
        reason: reason.trim().to_string(),
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covered(text: &str) -> Vec<(Vec<String>, String, (usize, usize))> {
        waivers(&Arc::from("m.yaml"), text)
            .into_iter()
            .map(|w| (w.codes, w.reason, w.lines))
            .collect()
    }

    #[test]
    fn a_waiver_covers_the_value_below_it() {
        let text = "name: a\n# boruta-gitops:allow implicit-grant legacy SPA\nsupported_grant_types:\n  - implicit\n  - authorization_code\npkce: true\n";
        assert_eq!(
            covered(text),
            vec![(
                vec!["implicit-grant".to_string()],
                "legacy SPA".to_string(),
                (3, 5)
            )]
        );
    }

    #[test]
    fn at_the_top_it_covers_the_document() {
        let text = "# boruta-gitops:allow password-grant,implicit-grant migration\nname: a\npkce: true\n---\nname: b\n";
        assert_eq!(
            covered(text),
            vec![(
                vec!["password-grant".to_string(), "implicit-grant".to_string()],
                "migration".to_string(),
                (2, 3)
            )]
        );
    }

    #[test]
    fn list_items_and_missing_reasons() {
        let text = "redirect_uris:\n  # boruta-gitops:allow invalid-redirect-uri\n  - myapp:/cb\n  - https://a/cb\n";
        assert_eq!(
            covered(text),
            vec![(
                vec!["invalid-redirect-uri".to_string()],
                String::new(),
                (3, 3)
            )]
        );
        // A blank line breaks the link to the value.
        assert_eq!(covered("# boruta-gitops:allow x y\n\nname: a\n").len(), 0);
    }
}
