//! The total input budget of one load: the manifest files and the `${file:..}` values
//! they substitute, together. Each file is bounded on its own (16 MiB a manifest, 1 MiB a
//! substituted file), but a pull request can add many files, or name one substituted file
//! a hundred thousand times (each value is a copy): without a total, memory is the limit.
//!
//! Shared by the threads that read the files: each charges what it read, and nothing is
//! read once the budget is spent. Which files a spent budget leaves unread depends on the
//! order the threads reach them; that each one is reported does not.

use std::sync::atomic::{AtomicU64, Ordering};

/// The default total: a repository of 10,000 manifests is a few MB.
pub const MAX_TOTAL_INPUT_BYTES: u64 = 256 * 1024 * 1024;

/// Bytes read so far, against a limit.
#[derive(Debug)]
pub struct Budget {
    limit: u64,
    used: AtomicU64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget::with_limit(MAX_TOTAL_INPUT_BYTES)
    }
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn with_limit(limit: u64) -> Self {
        Budget {
            limit,
            used: AtomicU64::new(0),
        }
    }

    /// The limit, in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// True when nothing more may be read.
    pub fn spent(&self) -> bool {
        self.used.load(Ordering::SeqCst) >= self.limit
    }

    /// Counts `bytes` just read; false when they take the total past the limit (they are
    /// then not to be used).
    pub fn charge(&self, bytes: u64) -> bool {
        let before = self.used.fetch_add(bytes, Ordering::SeqCst);
        before.saturating_add(bytes) <= self.limit
    }

    /// The finding's sentence for what the budget left unread.
    pub fn message(&self, what: &str) -> String {
        const MIB: u64 = 1024 * 1024;
        let limit = match self.limit % MIB {
            0 => format!("{} MiB", self.limit / MIB),
            _ => format!("{} bytes", self.limit),
        };
        format!(
            "{what} is not read: the manifest files and the `${{file:..}}` values they substitute reach {limit} together, the total input budget (--max-input-bytes)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_is_spent_once_past_its_limit() {
        let budget = Budget::with_limit(10);
        assert!(budget.charge(6) && !budget.spent());
        assert!(budget.charge(4) && budget.spent());
        assert!(!budget.charge(1));
    }
}
