//! What the engine does for the safety nets (product.md job 10):
//!
//! - the quarantine's transitions: recording the verdict as a pause (so it
//!   survives a restart and other nodes follow), the probe every
//!   `poll_floor`, and leaving by itself after `recover_probes` good probes,
//!   requeueing the dead letters transient errors caused;
//! - the *control call* behind a suspicious 404: when most GetMemberDetails
//!   answers in the window were 404, a 404 is applied only after a member
//!   we hold as active is found by the same AMS; otherwise the entry is
//!   released without using an attempt, so the 404s of a wrong base URL
//!   disable nobody even before the window has seen `min_calls` answers;
//!
//! (Rule changes held past the removal threshold and approvals are
//! `rules.rs`'s; the thresholds themselves are the store's: they are
//! checked inside each refresh's commit.) The quarantine's state is the
//! [`QuarantineMonitor`](crate::QuarantineMonitor)'s, reached through the
//! `Signals`; the upkeep times its probe.

use amsync_ams::DetailsAnswer;
use amsync_core::error::Part;
use amsync_core::{Failure, FailureKind, MemberKey};
use amsync_store::RequeueSelector;

use crate::shared::Shared;

impl Shared {
    /// Records the quarantine's verdict as the source's pause. A pause an
    /// admin or bad credentials made stays as it is (the window is cleared).
    pub async fn enter_quarantine(&self) {
        let quarantine = self.signals.quarantine();
        let Some(reason) = quarantine.reason() else { return };
        match self.store.source_state().await {
            Ok(s) if s.paused && !s.reason.as_deref().is_some_and(crate::status::is_quarantine_reason) => {
                tracing::info!(
                    reason,
                    "the window tripped while the source was paused otherwise; left paused as it was"
                );
                quarantine.reset();
                return;
            }
            Err(e) => tracing::error!(error = %e, "reading the source state failed"),
            Ok(_) => {}
        }
        if let Err(e) = self.pause(&reason).await {
            // The monitor stays tripped, so workers stay stopped here; the
            // record is tried again at the next trip or restart.
            tracing::error!(error = %e, "recording the quarantine failed");
            return;
        }
        quarantine.mark_quarantined(&reason);
        metrics::counter!("amsync_quarantines_total").increment(1);
        tracing::warn!(
            reason,
            poll_floor_s = self.settings.quarantine.poll_floor.as_secs_f64(),
            "source quarantined: workers stop, attempts stop counting, nobody is disabled"
        );
    }

    /// One probe of a quarantined source: `health` must answer, and a member
    /// held as active must be found (a source answering 404 to everyone
    /// stays quarantined). After `recover_probes` good probes in a row the
    /// source leaves the quarantine.
    pub async fn quarantine_probe(&self) {
        let verdict = match self.source.health().await {
            Ok(()) => self.control_call().await,
            Err(e) => Err(e.to_string()),
        };
        match verdict {
            Ok(()) => {
                let n = self.signals.quarantine().good_probe();
                let need = self.settings.quarantine.recover_probes.max(1);
                tracing::info!(good = n, need, "quarantine probe answered");
                if n >= need {
                    self.leave_quarantine().await;
                }
            }
            Err(why) => {
                self.signals.quarantine().bad_probe();
                tracing::info!(error = %amsync_core::escaped(&why), "quarantine probe failed; staying quarantined");
            }
        }
    }

    async fn leave_quarantine(&self) {
        if let Err(e) = self.resume().await {
            tracing::error!(error = %e, "leaving the quarantine failed");
            return;
        }
        let requeued = match self.store.requeue(&RequeueSelector::TransientDead, self.now()).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "requeueing transient dead letters failed");
                0
            }
        };
        tracing::info!(requeued, "the source recovered: quarantine over, transient dead letters requeued");
        self.signals.wake_workers();
    }

    /// GetMemberDetails of a member held as active (not `except`): `Ok`
    /// when the AMS has it, or when no other active member is known.
    async fn control_call_except(&self, except: Option<&MemberKey>) -> Result<(), String> {
        let sample = self.store.sample_active_members(2, rand::random()).await.map_err(|e| e.to_string())?;
        let Some(key) = sample.into_iter().find(|k| Some(k) != except) else { return Ok(()) };
        match self.source.member_details(&key).await {
            Ok(f) => match f.value {
                DetailsAnswer::Found(_) => {
                    self.signals.quarantine().note_details(false);
                    self.signals.quarantine().note_control_ok();
                    Ok(())
                }
                DetailsAnswer::Gone { status, .. } => {
                    self.signals.quarantine().note_details(status == 404);
                    Err(format!("GetMemberDetails answered {status} for {key}, a member held as active"))
                }
            },
            Err(e) => Err(e.to_string()),
        }
    }

    async fn control_call(&self) -> Result<(), String> {
        self.control_call_except(None).await
    }

    /// May a 404/410 of `key` disable it now? `Err` says why not: the
    /// source is quarantined, or most details answers lately were 404 and a
    /// member held as active was not found either.
    pub async fn gone_verdict(&self, key: &MemberKey, status: u16) -> Result<(), String> {
        let quarantine = self.signals.quarantine();
        if quarantine.is_active() {
            return Err("the source is quarantined".into());
        }
        if status != 404 || !quarantine.not_found_share_exceeded() || quarantine.control_fresh() {
            return Ok(());
        }
        match self.control_call_except(Some(key)).await {
            Ok(()) => Ok(()),
            Err(why) => Err(format!("most GetMemberDetails answers were 404 lately, and {why}")),
        }
    }
}

/// The failure recorded for a 404/410 that was not applied.
pub(crate) fn held_gone_failure(status: u16, why: &str) -> Failure {
    Failure {
        kind: FailureKind::Transient,
        part: Part::Details,
        message: format!("GetMemberDetails answered {status}; not applied: {why}"),
        status: Some(status),
        excerpt: None,
        field: None,
    }
}
