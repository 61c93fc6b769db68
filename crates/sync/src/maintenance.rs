//! Background upkeep: lease renewal for refreshes in flight, the rescuer of
//! expired leases, this node's heartbeat, following the paused state other
//! nodes or the API set, probing a source paused for bad credentials, and
//! the quarantine: recording its verdict, probing every `poll_floor`; and
//! the look for runs a dead process left (`recovery.rs`), at start and with
//! every heartbeat.
//!
//! `Upkeep` is the task. It owns no state of its own: it times the
//! others' (the workers' claims, the recovery's look, the quarantine's
//! probe). Its cadences are tokio timers; the times it writes (leases,
//! heartbeats, rescues) are the clock's.

use std::sync::Arc;
use std::time::Duration;

use amsync_store::NodeInfo;
use tokio_util::sync::CancellationToken;

use crate::quarantine::QuarantineState;
use crate::recovery::Recovery;
use crate::shared::Shared;
use crate::supervise::Supervisor;
use crate::worker::WorkerPool;

/// The upkeep task (see the module).
pub(crate) struct Upkeep {
    shared: Shared,
    workers: Arc<WorkerPool>,
    recovery: Arc<Recovery>,
    supervisor: Arc<Supervisor>,
}

impl Upkeep {
    pub fn new(
        shared: Shared,
        workers: Arc<WorkerPool>,
        recovery: Arc<Recovery>,
        supervisor: Arc<Supervisor>,
    ) -> Upkeep {
        Upkeep { shared, workers, recovery, supervisor }
    }

    /// Runs the upkeep loops until shut down; `adopts`: also takes over the
    /// runs a dead process left.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken, adopts: bool) {
        let s = &self.shared.settings;
        let quarantine = self.shared.signals.quarantine().clone();
        let mut renew = tokio::time::interval((s.lease / 3).max(Duration::from_millis(50)));
        let mut rescue = tokio::time::interval(s.rescue_interval);
        let mut heartbeat = tokio::time::interval(s.heartbeat_interval);
        let mut adopt = tokio::time::interval(s.heartbeat_interval);
        let mut probe = tokio::time::interval(s.probe_interval);
        let floor = s.quarantine.poll_floor.max(Duration::from_millis(10));
        let mut quarantine_probe = tokio::time::interval_at(tokio::time::Instant::now() + floor, floor);
        for t in [&mut renew, &mut rescue, &mut heartbeat, &mut adopt, &mut probe, &mut quarantine_probe] {
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        // A quarantine recorded before this node started (or by another node).
        if quarantine.state() == QuarantineState::Tripped {
            self.shared.enter_quarantine().await;
        }
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = renew.tick() => self.workers.renew_leases().await,
                _ = rescue.tick() => self.rescue_expired().await,
                _ = heartbeat.tick() => self.beat().await,
                _ = adopt.tick(), if adopts => self.recovery.resume_interrupted_runs(&shutdown).await,
                _ = probe.tick() => self.probe_if_paused().await,
                _ = quarantine.tripped() => self.shared.enter_quarantine().await,
                _ = quarantine_probe.tick() => {
                    if quarantine.state() == QuarantineState::Quarantined {
                        self.shared.quarantine_probe().await;
                    }
                }
            }
        }
    }

    async fn rescue_expired(&self) {
        match self.shared.store.rescue_expired(self.shared.now()).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(count = n, "queue entries with expired leases returned to the queue");
                self.shared.signals.wake_workers();
            }
            Err(e) => tracing::error!(error = %e, "rescuing expired leases failed"),
        }
    }

    async fn beat(&self) {
        let s = &self.shared;
        let mut node = NodeInfo::new(s.settings.node_id.clone(), s.settings.role.clone(), s.now());
        // So that `amsync status`, in another process, sees them too.
        node.task_restarts = self.supervisor.restarts();
        if let Err(e) = s.store.heartbeat(&node).await {
            tracing::error!(error = %e, "writing the heartbeat failed");
        }
        // Follow a pause, quarantine or resume made by the API or another node.
        match s.store.source_state().await {
            Ok(state) => {
                let was = s.signals.follow(&state);
                if was && !state.paused {
                    s.signals.wake_workers();
                }
            }
            Err(e) => tracing::error!(error = %e, "reading the source state failed"),
        }
    }

    /// A source paused because the AMS refused our credentials resumes by
    /// itself once an authenticated call succeeds again; a pause an admin
    /// asked for does not.
    async fn probe_if_paused(&self) {
        let s = &self.shared;
        if !s.signals.is_paused() {
            return;
        }
        let state = match s.store.source_state().await {
            Ok(state) => state,
            Err(_) => return,
        };
        let auto = state.reason.as_deref().is_some_and(|r| r.starts_with("unauthorized"));
        if !auto {
            return;
        }
        // Not the health check: many AMSs answer it without authentication, so
        // it would resume a source whose credentials are still refused (and the
        // next refresh would pause it again). A listing of nothing since now is
        // authenticated and costs the AMS next to nothing.
        match s.source.changed_members(Some(s.now()), None).await.map(drop) {
            Ok(()) => {
                tracing::info!("the AMS accepts our credentials again; resuming");
                if let Err(e) = s.resume().await {
                    tracing::error!(error = %e, "resuming failed");
                }
            }
            Err(e) => tracing::info!(error = %amsync_core::escaped(&e), "the source is still refused; staying paused"),
        }
    }
}
