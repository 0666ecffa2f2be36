//! Renderers: findings and plans as text for humans, JSON for machines, GitHub workflow
//! commands and Markdown for pull requests, SARIF for code scanning. Every renderer writes to a writer it is given
//! (tests render into a `Vec<u8>`), and none ever sees a secret value: the stages before
//! them hand over digests and references only. Pure: no filesystem, no network.

pub mod apply;
pub mod console;
pub mod demo;
pub mod diagnostics;
pub mod export;
pub mod github;
pub mod lines;
pub mod marks;
pub mod markdown;
pub mod plan;
pub mod rotate;
pub mod sandbox;
pub mod sarif;

/// Colours for human output. The command line decides (`--color`, the terminal,
/// `NO_COLOR`); renderers never look.
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
