//! Waiting for a condition instead of sleeping: a test polls what it waits for, with a
//! deadline, so it is as fast as the machine allows and fails with a reason when the
//! condition never comes (a fixed sleep is too short on a loaded machine and wasted time
//! on an idle one).

use std::time::{Duration, Instant};

/// How often a condition is checked: short against the waits of the suite (tens of ms to
/// seconds), long enough not to compete for the two cores with what is awaited.
const POLL: Duration = Duration::from_millis(5);

/// Polls `condition` until it holds (true) or `limit` has passed (false).
pub fn poll_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// Polls `condition` until it holds; fails the test, naming `what`, after `limit`.
#[track_caller]
pub fn wait_until(limit: Duration, what: &str, condition: impl FnMut() -> bool) {
    assert!(
        poll_until(limit, condition),
        "waited {limit:?} for {what}, in vain"
    );
}
