//! Renderers: findings and plans as text for humans, JSON for machines, GitHub workflow
//! commands and Markdown for pull requests. Every renderer writes to a writer it is given
//! (tests render into a `Vec<u8>`), and none ever sees a secret value: the stages before
//! them hand over digests and references only. Pure: no filesystem, no network.

pub mod diagnostics;
pub mod escape;
pub mod plan;

/// Colours for human output (only on a terminal, never with `NO_COLOR`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// The style for a stream: colour when it is a terminal, unless `NO_COLOR` is set.
    /// The caller says whether the stream is a terminal; renderers never look.
    pub fn for_stream(is_terminal: bool) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: is_terminal && !no_color,
        }
    }

    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}
