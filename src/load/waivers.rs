//! Waiver comments, read from the manifest text (the YAML parser drops comments): a
//! `# boruta-gitops:allow CODE[,CODE...] [until=YYYY-MM-DD] reason` line in the comment
//! block directly above a value covers that value's line and every line indented under
//! it; above the first line of a document, it covers the whole document (the convention
//! of tflint and checkov).
//!
//! One pass over the lines, whatever their shape: a waiver's value ends at the first later
//! line indented no deeper than it (or at the next document), so the waivers still open
//! are kept on a stack of strictly increasing indents, and each line closes those it ends.
//! (Scanning ahead from every value cost 15 s on a 6 MB manifest of ever deeper lines and
//! blank lines, issue #19.)

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

/// A waiver whose last covered line is not known yet.
struct Open {
    waiver: Waiver,
    /// The indent of the value it covers (`None`: the whole document).
    indent: Option<usize>,
}

/// Every waiver comment of one file.
pub fn waivers(file: &Arc<str>, text: &str) -> Vec<Waiver> {
    if !text.contains(MARKER) {
        return Vec::new();
    }
    let mut out = Vec::new();
    // Waivers of values, innermost last (strictly increasing indents), and of documents.
    let mut values: Vec<Open> = Vec::new();
    let mut documents: Vec<Open> = Vec::new();
    let close = |open: &mut Vec<Open>, last: usize, out: &mut Vec<Waiver>| {
        for mut o in open.drain(..) {
            o.waiver.lines.1 = last;
            out.push(o.waiver);
        }
    };
    // The first content line of the current document has not been seen yet.
    let mut at_document_start = true;
    let mut block: Vec<(usize, &str)> = Vec::new();
    let mut count = 0;
    for (i, line) in text.lines().enumerate() {
        count = i + 1;
        if is_document_marker(line) {
            // Ends every value and the document (lines are 1-based: `i` is the line above).
            close(&mut values, i, &mut out);
            close(&mut documents, i, &mut out);
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
        let own = indent(line);
        // From the top of the stack: each waiver is closed once, so the pass stays linear.
        while values.last().is_some_and(|o| o.indent >= Some(own)) {
            if let Some(mut o) = values.pop() {
                o.waiver.lines.1 = i;
                out.push(o.waiver);
            }
        }
        for (at, comment) in block.drain(..) {
            let Some(waiver) = parse(file, at, comment, (i + 1, i + 1)) else {
                continue;
            };
            let (open, indent) = match at_document_start {
                true => (&mut documents, None),
                false => (&mut values, Some(own)),
            };
            open.push(Open { waiver, indent });
        }
        at_document_start = false;
    }
    close(&mut values, count, &mut out);
    close(&mut documents, count, &mut out);
    out.sort_by_key(|w| w.loc.line);
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
    let (until, reason) = expiry(reason);
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
        reason,
        until,
        lines,
    })
}

/// The `until=DATE` word of a waiver's text, wherever it stands, and the reason without
/// it (its words separated by single spaces).
fn expiry(text: &str) -> (Option<String>, String) {
    let mut until = None;
    let mut words = Vec::new();
    for word in text.split_whitespace() {
        match word.strip_prefix("until=") {
            Some(date) if until.is_none() => until = Some(date.to_string()),
            _ => words.push(word),
        }
    }
    (until, words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expiry_is_read_wherever_it_stands() {
        let text = "# boruta-gitops:allow implicit-grant until=2026-03-31 legacy  widget\nname: a\n# boruta-gitops:allow x the widget until=2026-01-01\npkce: true\n";
        let found: Vec<(Option<String>, String)> = waivers(&Arc::from("m.yaml"), text)
            .into_iter()
            .map(|w| (w.until, w.reason))
            .collect();
        assert_eq!(
            found,
            [
                (Some("2026-03-31".into()), "legacy widget".into()),
                (Some("2026-01-01".into()), "the widget".into())
            ]
        );
    }

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
    fn nested_values_end_where_their_indentation_does() {
        let text = "# boruta-gitops:allow a top\nname: x\nouter:\n  # boruta-gitops:allow b outer\n  inner:\n    # boruta-gitops:allow c deep\n    deep: 1\n\n    # comment\n    deeper: 2\n  sibling: 3\n---\n# boruta-gitops:allow d next\nname: y\n";
        assert_eq!(
            covered(text),
            vec![
                (vec!["a".to_string()], "top".to_string(), (2, 11)),
                (vec!["b".to_string()], "outer".to_string(), (5, 10)),
                // Blank and comment lines before the next value count with it.
                (vec!["c".to_string()], "deep".to_string(), (7, 9)),
                (vec!["d".to_string()], "next".to_string(), (14, 14)),
            ]
        );
    }

    /// The scan this module did before issue #19: from every value, ahead to the end of
    /// what it covers. Right, and quadratic; the reference the one pass must agree with.
    fn scanning_ahead(file: &Arc<str>, text: &str) -> Vec<Waiver> {
        let lines: Vec<&str> = text.lines().collect();
        let mut out = Vec::new();
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

    #[test]
    fn the_one_pass_agrees_with_scanning_ahead() {
        let pieces = [
            "# boruta-gitops:allow a r\n",
            "# boruta-gitops:allow b,c r\n",
            "# plain comment\n",
            "\n",
            "   \n",
            "---\n",
            "k: v\n",
            "  k: v\n",
            "    - item\n",
            "      deep: 1\n",
            " odd: 1\n",
            "  # boruta-gitops:allow d r\n",
        ];
        let file: Arc<str> = Arc::from("m.yaml");
        // A deterministic walk through many arrangements (xorshift).
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut covering_several = 0;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..(state % 24) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let found = waivers(&file, &text);
            covering_several +=
                usize::from(found.len() >= 2 && found[0].lines.1 > found[0].lines.0);
            assert_eq!(found, scanning_ahead(&file, &text), "{text:?}");
        }
        assert!(covering_several > 100, "{covering_several}");
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
