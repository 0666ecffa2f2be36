//! Markdown pieces shared by the comment renderers: escaping for GitHub's Markdown (text
//! we did not write must not become links, emphasis, HTML or a closed code fence, nor a
//! mention, an autolink or an issue reference), code fences that their content cannot
//! close, and the findings table.

use crate::escape::neutral;
use crate::plan::Plan;
use crate::source::{Diagnostic, Severity};

/// Breaks what GitHub turns into a mention, a link or a reference, outside code: it
/// follows `@` (a person or team mention, an e-mail autolink), the `:` of `://` (a URL
/// autolink of any scheme), `www` before `.` (a `www.` autolink) and `#` before a digit
/// (an issue reference) with it. Invisible, so the text still reads the same (issue #19).
const JOINER: char = '\u{200d}';

/// Text for inline Markdown or HTML: neutralised, with every character that Markdown or
/// HTML would interpret escaped, and no mention, autolink or issue reference left live
/// (see `JOINER`). Every manifest- or server-controlled value goes through it.
pub fn md(text: &str) -> String {
    let neutral = neutral(text);
    let chars: Vec<char> = neutral.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let breaks = match c {
            '@' => next.is_some_and(|n| !n.is_whitespace()),
            ':' => chars.get(i + 1..i + 3) == Some(&['/', '/'][..]),
            '#' => next.is_some_and(|n| n.is_ascii_digit()),
            'w' | 'W' => {
                next == Some('.')
                    && i >= 2
                    && chars[i - 2..i].iter().all(|w| w.eq_ignore_ascii_case(&'w'))
                    && !(i >= 3 && chars[i - 3].is_alphanumeric())
            }
            _ => false,
        };
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => out.push_str("&#96;"),
            '|' | '*' | '_' | '[' | ']' | '\\' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        if breaks {
            out.push(JOINER);
        }
    }
    out
}

/// A fenced code block whose fence is longer than any backtick run in `lines`, so no
/// line can close it (CommonMark).
pub fn fence(info: &str, lines: &[String]) -> String {
    let longest = lines
        .iter()
        .flat_map(|l| l.split(|c| c != '`'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    let ticks = "`".repeat((longest + 1).max(3));
    let mut out = format!("{ticks}{info}\n");
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&ticks);
    out.push('\n');
    out
}

/// A warning at the top of a comment when the policy in force is the manifest
/// directory's own and relaxes built-in rules (`policy-relaxed` findings): the reviewer
/// must see it before the plan, since the pull request under review may be what relaxed
/// them. Empty otherwise.
pub fn policy_banner(diagnostics: &[Diagnostic]) -> String {
    let relaxed = diagnostics
        .iter()
        .filter(|d| d.code == crate::findings::Code::PolicyRelaxed)
        .count();
    if relaxed == 0 {
        return String::new();
    }
    format!(
        "> [!WARNING]\n> **The policy file in the manifest directory relaxes {relaxed} built-in rule setting(s)** (the <code>policy-relaxed</code> findings below say which): a pull request can change that file. Review it with the manifests, or have the pipeline pass the security team's policy (<code>--policy</code>).\n\n"
    )
}

/// The errors and warnings (waived ones marked) as tables, or nothing: boruta's and the
/// tool's findings first, then the security review (the policy rules' findings, each code
/// linked to the RFC section it comes from).
pub fn findings(diagnostics: &[Diagnostic]) -> String {
    let (review, other): (Vec<&Diagnostic>, Vec<&Diagnostic>) = diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Note)
        .partition(|d| crate::policy::catalogue::rule(d.code).is_some());
    let mut text = table("**Findings**", &other);
    text.push_str(&table("**Security review** (OAuth best practice)", &review));
    text
}

fn table(title: &str, shown: &[&Diagnostic]) -> String {
    if shown.is_empty() {
        return String::new();
    }
    let count = |s| {
        shown
            .iter()
            .filter(|d| d.severity == s && d.waived.is_none())
            .count()
    };
    let mut text = format!(
        "{title}: {} error(s), {} warning(s)\n\n| | code | where | message |\n|---|---|---|---|\n",
        count(Severity::Error),
        count(Severity::Warning)
    );
    for d in shown {
        let level = match &d.waived {
            Some(_) => "waived",
            None => super::marks::severity(d.severity).markdown,
        };
        let place = d
            .location
            .as_ref()
            .map(|l| format!("<code>{}:{}</code>", md(&l.file), l.line))
            .unwrap_or_default();
        let reason = d
            .waived
            .as_ref()
            .map(|r| format!(" (waived: {})", md(r)))
            .unwrap_or_default();
        let code = match crate::policy::catalogue::rule(d.code) {
            Some(rule) => format!("<a href=\"{}\"><code>{}</code></a>", rule.url, d.code),
            None => format!("<code>{}</code>", d.code),
        };
        text.push_str(&format!(
            "| {level} | {code} | {place} | {}{reason} |\n",
            md(&d.message)
        ));
    }
    text.push('\n');
    text
}

/// The clients whose write-only fields `apply --update` re-sends, and nothing else, in one
/// collapsed list.
pub fn resent(plan: &Plan) -> String {
    let resent: Vec<_> = plan
        .clients
        .iter()
        .filter(|c| c.action == crate::diff::Action::Resend)
        .collect();
    if resent.is_empty() {
        return String::new();
    }
    let mut text = format!(
        "<details><summary>apply --update re-sends the write-only fields of {} client(s): boruta never renders them back, so git's values are sent, not compared</summary>\n\n",
        resent.len()
    );
    for c in resent {
        let fields: Vec<String> = c.resend.iter().map(|f| md(&f.field)).collect();
        text.push_str(&format!(
            "- {} <code>{}</code>: {}\n",
            md(&c.name),
            md(&c.id),
            fields.join(", ")
        ));
    }
    text.push_str("\n</details>\n\n");
    text
}

/// The unmanaged clients and scopes, collapsed.
pub fn unmanaged(plan: &Plan) -> String {
    let unmanaged: Vec<_> = plan
        .unmanaged
        .iter()
        .filter(|u| u.system.is_none())
        .collect();
    if unmanaged.is_empty() {
        return String::new();
    }
    let scopes = unmanaged.iter().any(|u| !u.kind.is_client());
    let mut text = format!(
        "<details><summary>{} unmanaged {}</summary>\n\n",
        unmanaged.len(),
        if scopes { "object(s)" } else { "client(s)" }
    );
    for u in unmanaged {
        let noun = if u.kind.is_client() { "" } else { "scope " };
        text.push_str(&format!(
            "- {noun}{} <code>{}</code>\n",
            md(u.name.as_deref().unwrap_or("(no name)")),
            md(&u.id)
        ));
    }
    text.push_str("\n</details>\n\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_outlasts_its_content() {
        let block = fence("diff", &["+ name = \"```\"".to_string()]);
        assert!(block.starts_with("````diff\n"), "{block}");
        assert!(block.ends_with("\n````\n"), "{block}");
        assert_eq!(
            md("[x](javascript:1) <b>_*"),
            "\\[x\\](javascript:1) &lt;b&gt;\\_\\*"
        );
    }

    #[test]
    fn mentions_links_and_references_stay_text() {
        let z = JOINER;
        assert_eq!(
            md("ping @octo-org/admins, mail a@b.example, see https://evil.example/x"),
            format!("ping @{z}octo-org/admins, mail a@{z}b.example, see https:{z}//evil.example/x")
        );
        assert_eq!(
            md("WWW.evil.example and #12 and ftp://x"),
            format!("WWW{z}.evil.example and \\#{z}12 and ftp:{z}//x")
        );
        // Nothing to break: unchanged.
        assert_eq!(
            md("a @ b, awww. and time 10:30 # x"),
            "a @ b, awww. and time 10:30 \\# x"
        );
    }
}
