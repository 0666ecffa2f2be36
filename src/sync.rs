//! The one mutex helper every stage uses. Imports nothing from the crate.

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex even if a previous holder panicked: every guarded value here (request
/// logs, job queues, secrets to redact, the sandbox's state) is consistent between
/// operations, so a panic elsewhere must not turn into a second one.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
