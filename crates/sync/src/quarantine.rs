//! The quarantine of a failing source (product.md job 10): a sliding window
//! of AMS call outcomes, and the verdict that stops the workers before an
//! outage does damage.
//!
//! The window is fed from two sides: the source's [`CallObserver`] hook
//! reports every call and whether it failed (the AMS factory,
//! `amsync_ams::build`, wraps every kind of source in `amsync_ams::Observed`
//! reporting to it), and the engine reports each answer of
//! GetMemberDetails, since only it knows a 404 apart (to the source a 404
//! on details is an answer, not a failure). The source is quarantined when
//! at least `min_calls` calls were made within `window` and more than
//! `failure_share` of them failed, or when at least `min_calls` details
//! answers were seen and more than that share of them were 404: a wrong
//! base URL is not a mass deletion.
//!
//! The verdict is taken on the caller's thread, at once: from that instant
//! [`QuarantineMonitor::is_active`] is true, so a refresh finishing a
//! moment later already gives its attempt back and disables nobody. The
//! engine then records the pause in the store (so it survives a restart
//! and other nodes follow), probes every `poll_floor`, and leaves the
//! quarantine after `recover_probes` good probes in a row.

use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use amsync_ams::CallObserver;
use amsync_core::error::Part;
use amsync_core::safety::format_duration;
use amsync_core::FailureKind;
use serde::Serialize;
use tokio::sync::Notify;

/// `[quarantine]`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineSettings {
    /// Share of failed calls (or of GetMemberDetails 404s) beyond which the
    /// source is quarantined.
    pub failure_share: f64,
    /// Fewest calls (or details answers) in the window before it is judged.
    pub min_calls: u64,
    pub window: Duration,
    /// Probe interval while quarantined.
    pub poll_floor: Duration,
    /// Good probes in a row that end the quarantine.
    pub recover_probes: u32,
}

impl Default for QuarantineSettings {
    fn default() -> Self {
        QuarantineSettings {
            failure_share: 0.8,
            min_calls: 50,
            window: Duration::from_secs(300),
            poll_floor: Duration::from_secs(3600),
            recover_probes: 3,
        }
    }
}

/// What the window holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WindowCounts {
    /// AMS calls that ended (every method).
    pub calls: u64,
    pub failed: u64,
    /// GetMemberDetails answers seen by the engine.
    pub details: u64,
    /// Of those, how many were 404.
    pub not_found: u64,
}

impl WindowCounts {
    fn add(&mut self, o: &WindowCounts) {
        self.calls += o.calls;
        self.failed += o.failed;
        self.details += o.details;
        self.not_found += o.not_found;
    }
}

/// Buckets the window is cut into; the window slides a bucket at a time.
const BUCKETS: u64 = 60;

/// Counts per time slot, for the last [`BUCKETS`] slots.
#[derive(Debug)]
struct CallWindow {
    origin: Instant,
    width: Duration,
    /// (slot number, counts) per bucket.
    buckets: Mutex<Vec<(u64, WindowCounts)>>,
}

impl CallWindow {
    fn new(window: Duration) -> CallWindow {
        let width = (window / BUCKETS as u32).max(Duration::from_millis(1));
        CallWindow {
            origin: Instant::now(),
            width,
            buckets: Mutex::new(vec![(u64::MAX, WindowCounts::default()); BUCKETS as usize]),
        }
    }

    fn slot(&self, at: Instant) -> u64 {
        (at.saturating_duration_since(self.origin).as_nanos() / self.width.as_nanos()) as u64
    }

    fn record(&self, at: Instant, f: impl FnOnce(&mut WindowCounts)) -> WindowCounts {
        let slot = self.slot(at);
        let mut b = self.buckets.lock().expect("call window lock");
        let cell = &mut b[(slot % BUCKETS) as usize];
        if cell.0 != slot {
            *cell = (slot, WindowCounts::default());
        }
        f(&mut cell.1);
        sum(&b, slot)
    }

    fn counts(&self, at: Instant) -> WindowCounts {
        let slot = self.slot(at);
        sum(&self.buckets.lock().expect("call window lock"), slot)
    }

    fn clear(&self) {
        let mut b = self.buckets.lock().expect("call window lock");
        b.iter_mut().for_each(|c| *c = (u64::MAX, WindowCounts::default()));
    }
}

fn sum(buckets: &[(u64, WindowCounts)], slot: u64) -> WindowCounts {
    let mut out = WindowCounts::default();
    for (s, c) in buckets {
        if *s <= slot && slot - *s < BUCKETS {
            out.add(c);
        }
    }
    out
}

/// Where the quarantine stands on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineState {
    /// Calls flow.
    Clear,
    /// The window just tripped; the engine is recording the pause.
    Tripped,
    /// Recorded in the store; probing until the source recovers.
    Quarantined,
}

/// The quarantine's part of `/api/v1/sync/status`.
#[derive(Debug, Clone, Serialize)]
pub struct QuarantineStatus {
    pub state: QuarantineState,
    pub reason: Option<String>,
    /// What the window holds now.
    pub window: WindowCounts,
    pub window_seconds: f64,
    pub failure_share: f64,
    pub min_calls: u64,
    pub poll_floor_seconds: f64,
    /// Good probes in a row so far, and how many end the quarantine.
    pub good_probes: u32,
    pub recover_probes: u32,
}

/// The window and the verdict (see the module doc). Share it between the
/// source (the factory's `Observed` decorator) and the engine (`Engine::with_monitor`).
#[derive(Debug)]
pub struct QuarantineMonitor {
    settings: QuarantineSettings,
    window: CallWindow,
    state: AtomicU8,
    reason: Mutex<Option<String>>,
    tripped: Notify,
    good_probes: AtomicU32,
    /// When a control call last found a known member (see
    /// `Engine::gone_verdict`).
    control_ok: Mutex<Option<Instant>>,
}

const CLEAR: u8 = 0;
const TRIPPED: u8 = 1;
const QUARANTINED: u8 = 2;

impl QuarantineMonitor {
    pub fn new(settings: QuarantineSettings) -> std::sync::Arc<QuarantineMonitor> {
        std::sync::Arc::new(QuarantineMonitor {
            window: CallWindow::new(settings.window),
            settings,
            state: AtomicU8::new(CLEAR),
            reason: Mutex::new(None),
            tripped: Notify::new(),
            good_probes: AtomicU32::new(0),
            control_ok: Mutex::new(None),
        })
    }

    pub fn settings(&self) -> &QuarantineSettings {
        &self.settings
    }

    /// Quarantined, or about to be recorded as such.
    pub fn is_active(&self) -> bool {
        self.state.load(Ordering::SeqCst) != CLEAR
    }

    pub fn state(&self) -> QuarantineState {
        match self.state.load(Ordering::SeqCst) {
            CLEAR => QuarantineState::Clear,
            TRIPPED => QuarantineState::Tripped,
            _ => QuarantineState::Quarantined,
        }
    }

    pub fn reason(&self) -> Option<String> {
        self.reason.lock().expect("quarantine reason lock").clone()
    }

    pub fn counts(&self) -> WindowCounts {
        self.window.counts(Instant::now())
    }

    pub fn status(&self) -> QuarantineStatus {
        QuarantineStatus {
            state: self.state(),
            reason: self.reason(),
            window: self.counts(),
            window_seconds: self.settings.window.as_secs_f64(),
            failure_share: self.settings.failure_share,
            min_calls: self.settings.min_calls,
            poll_floor_seconds: self.settings.poll_floor.as_secs_f64(),
            good_probes: self.good_probes.load(Ordering::SeqCst),
            recover_probes: self.settings.recover_probes,
        }
    }

    /// The engine's tally of GetMemberDetails answers (`not_found`: a 404).
    pub fn note_details(&self, not_found: bool) {
        let c = self.window.record(Instant::now(), |c| {
            c.details += 1;
            c.not_found += u64::from(not_found);
        });
        self.judge(&c);
    }

    /// Whether more than `failure_share` of the details answers in the
    /// window were 404, however few they were.
    pub fn not_found_share_exceeded(&self) -> bool {
        let c = self.counts();
        c.details > 0 && c.not_found as f64 > self.settings.failure_share * c.details as f64
    }

    /// The verdict on the window, when it trips.
    pub fn verdict(&self, c: &WindowCounts) -> Option<String> {
        let s = &self.settings;
        let window = format_duration(s.window);
        if c.calls >= s.min_calls && c.failed as f64 > s.failure_share * c.calls as f64 {
            return Some(format!(
                "quarantine: {} of {} AMS calls failed in the last {window} (more than {}%)",
                c.failed,
                c.calls,
                (s.failure_share * 100.0).round()
            ));
        }
        if c.details >= s.min_calls && c.not_found as f64 > s.failure_share * c.details as f64 {
            return Some(format!(
                "quarantine: GetMemberDetails answered 404 to {} of {} calls in the last {window}; a wrong base URL \
                 is not a mass deletion",
                c.not_found, c.details
            ));
        }
        None
    }

    fn judge(&self, c: &WindowCounts) {
        if self.state.load(Ordering::SeqCst) != CLEAR {
            return;
        }
        let Some(reason) = self.verdict(c) else { return };
        if self.state.compare_exchange(CLEAR, TRIPPED, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            *self.reason.lock().expect("quarantine reason lock") = Some(reason);
            self.good_probes.store(0, Ordering::SeqCst);
            self.tripped.notify_one();
        }
    }

    /// Resolves when the window trips (the engine then records the pause).
    pub async fn tripped(&self) {
        self.tripped.notified().await
    }

    /// The pause is recorded (by this node or another): probing starts.
    pub fn mark_quarantined(&self, reason: &str) {
        if self.state.swap(QUARANTINED, Ordering::SeqCst) != QUARANTINED {
            *self.reason.lock().expect("quarantine reason lock") = Some(reason.to_string());
            self.good_probes.store(0, Ordering::SeqCst);
        }
    }

    /// Back to clear with an empty window (recovered, or an admin resumed).
    pub fn reset(&self) {
        self.window.clear();
        *self.reason.lock().expect("quarantine reason lock") = None;
        *self.control_ok.lock().expect("control lock") = None;
        self.good_probes.store(0, Ordering::SeqCst);
        self.state.store(CLEAR, Ordering::SeqCst);
    }

    /// A good probe; returns how many in a row.
    pub(crate) fn good_probe(&self) -> u32 {
        self.good_probes.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub(crate) fn bad_probe(&self) {
        self.good_probes.store(0, Ordering::SeqCst);
    }

    /// Whether a control call found a known member recently enough to
    /// vouch for the 404s that follow (a tenth of the window, at most 30 s).
    pub(crate) fn control_fresh(&self) -> bool {
        let ttl = (self.settings.window / 10).min(Duration::from_secs(30));
        self.control_ok.lock().expect("control lock").is_some_and(|t| t.elapsed() < ttl)
    }

    pub(crate) fn note_control_ok(&self) {
        *self.control_ok.lock().expect("control lock") = Some(Instant::now());
    }
}

impl CallObserver for QuarantineMonitor {
    fn on_call(&self, _method: Part, outcome: Result<(), FailureKind>, _latency: Duration) {
        let c = self.window.record(Instant::now(), |c| {
            c.calls += 1;
            c.failed += u64::from(outcome.is_err());
        });
        self.judge(&c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(min_calls: u64) -> QuarantineSettings {
        QuarantineSettings { min_calls, window: Duration::from_secs(60), ..QuarantineSettings::default() }
    }

    fn call(m: &QuarantineMonitor, ok: bool) {
        let outcome = if ok { Ok(()) } else { Err(FailureKind::Transient) };
        m.on_call(Part::Details, outcome, Duration::ZERO);
    }

    #[test]
    fn trips_past_the_share_once_enough_calls_were_made() {
        let m = QuarantineMonitor::new(settings(10));
        for _ in 0..9 {
            call(&m, false);
        }
        assert!(!m.is_active(), "fewer than min_calls are not judged");
        call(&m, false);
        assert_eq!(m.state(), QuarantineState::Tripped);
        assert_eq!(m.reason().unwrap(), "quarantine: 10 of 10 AMS calls failed in the last 1m (more than 80%)");
        m.mark_quarantined("quarantine: x");
        assert_eq!(m.state(), QuarantineState::Quarantined);
        m.reset();
        assert_eq!((m.state(), m.counts()), (QuarantineState::Clear, WindowCounts::default()));
    }

    #[test]
    fn a_share_at_the_limit_does_not_trip() {
        let m = QuarantineMonitor::new(settings(10));
        for i in 0..100 {
            call(&m, i % 5 == 0);
        }
        assert!(!m.is_active(), "80 % failing is not more than 80 %");
        assert_eq!(m.counts(), WindowCounts { calls: 100, failed: 80, details: 0, not_found: 0 });
    }

    #[test]
    fn details_answering_404_trip_it_too() {
        let m = QuarantineMonitor::new(settings(5));
        m.note_details(false);
        assert!(!m.not_found_share_exceeded());
        for _ in 0..4 {
            m.note_details(true);
            call(&m, true);
        }
        assert!(!m.not_found_share_exceeded(), "4 of 5 is not more than 80 %");
        m.note_details(true);
        assert!(m.not_found_share_exceeded());
        assert!(m.is_active());
        assert!(m.reason().unwrap().contains("404 to 5 of 6 calls"), "{:?}", m.reason());
    }

    #[test]
    fn old_calls_slide_out_of_the_window() {
        let w = CallWindow::new(Duration::from_millis(600));
        let t = w.origin;
        w.record(t, |c| c.calls += 5);
        w.record(t + Duration::from_millis(300), |c| c.calls += 1);
        assert_eq!(w.counts(t + Duration::from_millis(590)).calls, 6);
        assert_eq!(w.counts(t + Duration::from_millis(650)).calls, 1, "the first slot left the window");
        assert_eq!(w.counts(t + Duration::from_millis(2000)).calls, 0);
    }
}
