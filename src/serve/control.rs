//! What the HTTP side and the signal watcher tell the reconciliation loop, and what the
//! loop tells them back, behind one lock: a stop request, a pending trigger, whether a
//! cycle is running, and how to cancel its writes.
//!
//! Triggers coalesce: a trigger while a cycle runs asks for exactly one more cycle after
//! it, however many arrive (a burst of pushes is one reconciliation of the latest
//! commit). A stop wins over everything: no cycle starts after it, and the one running is
//! cancelled between writes through its connection's cancellation flag (requests in
//! flight finish, so no write is cut in half).

use crate::sync::lock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What a trigger did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Triggered {
    /// No cycle was running: one starts now.
    Starting,
    /// A cycle is running: one more starts when it ends.
    Queued,
    /// One more cycle was already asked for: this trigger joins it.
    AlreadyQueued,
    /// The process is stopping: no cycle starts.
    Stopping,
}

/// Why the loop woke up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The wait ran out: a scheduled cycle.
    Scheduled,
    /// A trigger asked for a cycle.
    Triggered,
    /// Stop: leave the loop.
    Stop,
}

#[derive(Default)]
struct State {
    /// The signal that asked to stop.
    stop: Option<&'static str>,
    pending: bool,
    running: bool,
    /// The running cycle's cancellation flag, once it is writing.
    cancel: Option<Arc<AtomicBool>>,
}

/// Shared by the loop, the HTTP handlers and the signal watcher.
#[derive(Default)]
pub struct Control {
    state: Mutex<State>,
    wake: Condvar,
    ready: AtomicBool,
}

impl Control {
    /// Asks for a cycle now (`POST /reconcile`).
    pub fn trigger(&self) -> Triggered {
        let mut state = lock(&self.state);
        let triggered = match (state.stop, state.running, state.pending) {
            (Some(_), _, _) => Triggered::Stopping,
            (None, _, true) => Triggered::AlreadyQueued,
            (None, true, false) => Triggered::Queued,
            (None, false, false) => Triggered::Starting,
        };
        if state.stop.is_none() {
            state.pending = true;
        }
        drop(state);
        self.wake.notify_all();
        triggered
    }

    /// Asks the loop to stop (SIGTERM, SIGINT): the cycle running stops between writes.
    pub fn stop(&self, signal: &'static str) {
        let mut state = lock(&self.state);
        state.stop.get_or_insert(signal);
        if let Some(cancel) = &state.cancel {
            cancel.store(true, Ordering::SeqCst);
        }
        drop(state);
        self.wake.notify_all();
    }

    /// The signal that asked to stop, once one did.
    pub fn stopped_by(&self) -> Option<&'static str> {
        lock(&self.state).stop
    }

    /// Waits up to `wait` for a trigger or a stop. On [`Wake::Scheduled`] and
    /// [`Wake::Triggered`] a cycle is marked running (and the pending trigger consumed)
    /// under the same lock, so a trigger arriving after this returns queues one more.
    pub fn wait(&self, wait: Duration) -> Wake {
        let deadline = Instant::now() + wait;
        let mut state = lock(&self.state);
        let wake = loop {
            if state.stop.is_some() {
                return Wake::Stop;
            }
            if state.pending {
                break Wake::Triggered;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Wake::Scheduled;
            }
            state = match self.wake.wait_timeout(state, left) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        };
        state.pending = false;
        state.running = true;
        wake
    }

    /// Hands over the running cycle's cancellation flag before its writes. Returns false
    /// (and sets the flag) when a stop came first: the cycle must not write.
    pub fn writing(&self, cancel: Arc<AtomicBool>) -> bool {
        let mut state = lock(&self.state);
        if state.stop.is_some() {
            cancel.store(true, Ordering::SeqCst);
            return false;
        }
        state.cancel = Some(cancel);
        true
    }

    /// The running cycle ended.
    pub fn ended(&self, succeeded: bool) {
        let mut state = lock(&self.state);
        state.running = false;
        state.cancel = None;
        if succeeded {
            self.ready.store(true, Ordering::SeqCst);
        }
    }

    /// True once a cycle has succeeded (`/readyz`).
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_during_a_cycle_coalesce_into_one_more() {
        let control = Control::default();
        assert_eq!(control.wait(Duration::ZERO), Wake::Scheduled);
        assert_eq!(control.trigger(), Triggered::Queued);
        assert_eq!(control.trigger(), Triggered::AlreadyQueued);
        assert_eq!(control.trigger(), Triggered::AlreadyQueued);
        control.ended(true);
        assert_eq!(control.wait(Duration::from_secs(3600)), Wake::Triggered);
        control.ended(true);
        // Nothing more was asked for: the next wait runs out.
        assert_eq!(control.wait(Duration::from_millis(1)), Wake::Scheduled);
    }

    #[test]
    fn a_trigger_between_cycles_starts_one() {
        let control = Control::default();
        assert_eq!(control.trigger(), Triggered::Starting);
        assert_eq!(control.wait(Duration::from_secs(3600)), Wake::Triggered);
    }

    #[test]
    fn a_stop_cancels_the_writes_and_wins_over_triggers() {
        let control = Control::default();
        assert_eq!(control.wait(Duration::ZERO), Wake::Scheduled);
        let cancel = Arc::new(AtomicBool::new(false));
        assert!(control.writing(cancel.clone()));
        control.trigger();
        control.stop("SIGTERM");
        assert!(cancel.load(Ordering::SeqCst));
        control.ended(false);
        assert_eq!(control.trigger(), Triggered::Stopping);
        assert_eq!(control.wait(Duration::from_secs(3600)), Wake::Stop);
        // A cycle that reaches its writes after the stop does not write.
        let late = Arc::new(AtomicBool::new(false));
        assert!(!control.writing(late.clone()));
        assert!(late.load(Ordering::SeqCst));
    }

    #[test]
    fn ready_after_the_first_success_only() {
        let control = Control::default();
        control.ended(false);
        assert!(!control.ready());
        control.ended(true);
        control.ended(false);
        assert!(control.ready());
    }
}
