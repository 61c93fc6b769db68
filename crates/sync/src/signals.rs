//! What the engine's tasks tell each other, and nothing else: whether the
//! source is paused (a mirror of the stored source state, so a worker need
//! not read it per claim), the quarantine's verdict, and the wake-up of
//! idle workers (an enqueue, a resume, a rescue).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use amsync_store::SourceState;
use tokio::sync::futures::Notified;
use tokio::sync::Notify;

use crate::quarantine::{QuarantineMonitor, QuarantineState};

#[derive(Debug)]
pub(crate) struct Signals {
    paused: AtomicBool,
    quarantine: Arc<QuarantineMonitor>,
    wake: Notify,
}

impl Signals {
    pub fn new(quarantine: Arc<QuarantineMonitor>) -> Signals {
        Signals { paused: AtomicBool::new(false), quarantine, wake: Notify::new() }
    }

    /// Paused by an admin, bad credentials or the quarantine (also in the
    /// instant between the quarantine's verdict and its record in the store).
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst) || self.quarantine.is_active()
    }

    /// Quarantined (or about to be recorded so).
    pub fn is_quarantined(&self) -> bool {
        self.quarantine.is_active()
    }

    pub fn quarantine(&self) -> &Arc<QuarantineMonitor> {
        &self.quarantine
    }

    /// Sets the paused mirror; returns what it was.
    pub fn set_paused(&self, paused: bool) -> bool {
        self.paused.swap(paused, Ordering::SeqCst)
    }

    /// Mirrors the stored source state: paused or not, and the quarantine.
    /// Returns whether it was paused before.
    pub fn follow(&self, state: &SourceState) -> bool {
        let was = self.set_paused(state.paused);
        match state.reason.as_deref().filter(|_| state.paused) {
            Some(r) if crate::status::is_quarantine_reason(r) => self.quarantine.mark_quarantined(r),
            _ => {
                if self.quarantine.state() == QuarantineState::Quarantined {
                    // Resumed elsewhere (the API, another node).
                    self.quarantine.reset();
                }
            }
        }
        was
    }

    /// Wakes idle workers.
    pub fn wake_workers(&self) {
        self.wake.notify_waiters();
    }

    /// Resolves at the next `Signals::wake_workers`.
    pub fn woken(&self) -> Notified<'_> {
        self.wake.notified()
    }
}
