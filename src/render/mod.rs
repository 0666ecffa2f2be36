//! Renderers: findings and plans as text for humans, JSON for machines, GitHub workflow
//! commands and Markdown for pull requests. Every renderer writes to a writer it is given
//! (tests render into a `Vec<u8>`), and none ever sees a secret value: the stages before
//! them hand over digests and references only. Pure: no filesystem, no network.

pub mod diagnostics;
pub mod plan;

/// The output formats of `validate`, `plan` and `drift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Github,
    Markdown,
}

/// Colours for human output (only on a terminal, never with `NO_COLOR`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}
