//! Background upkeep: lease renewal for refreshes in flight, the rescuer of
//! expired leases, this node's heartbeat, following the paused state other
//! nodes or the API set, probing a source paused for bad credentials, and
//! the quarantine: recording its verdict, probing every `poll_floor`; and
//! the look for runs a dead process left (`recovery.rs`), at start and with
//! every heartbeat.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amsync_store::{Claim, ClaimToken, NodeInfo};
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;

/// Claims held by this node: waiting for a worker or refreshing.
#[derive(Debug, Default)]
pub(crate) struct Inflight {
    /// Claim id → its token, and whether its commit was handed to the store.
    claims: Mutex<HashMap<i64, (ClaimToken, bool)>>,
}

impl Inflight {
    pub fn insert(&self, claim: &Claim) {
        self.claims.lock().expect("inflight lock").insert(claim.id, (claim.token(), false));
    }

    /// The claim's commit is on its way: a renewal that finds its entry gone
    /// from now on raced the commit and lost nothing.
    pub fn committing(&self, token: ClaimToken) {
        if let Some(c) = self.claims.lock().expect("inflight lock").get_mut(&token.id) {
            c.1 = true;
        }
    }

    pub fn remove(&self, token: ClaimToken) {
        self.claims.lock().expect("inflight lock").remove(&token.id);
    }

    pub fn tokens(&self) -> Vec<ClaimToken> {
        self.claims.lock().expect("inflight lock").values().map(|c| c.0).collect()
    }

    /// Held and not yet committing.
    pub fn holds_uncommitted(&self, token: ClaimToken) -> bool {
        self.claims.lock().expect("inflight lock").get(&token.id) == Some(&(token, false))
    }

    pub fn len(&self) -> usize {
        self.claims.lock().expect("inflight lock").len()
    }
}

/// Runs the upkeep loops until shut down; `adopts`: also takes over the
/// runs a dead process left.
pub(crate) async fn run(engine: Arc<Engine>, shutdown: CancellationToken, adopts: bool) {
    let s = &engine.settings;
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
    if engine.quarantine.state() == crate::quarantine::QuarantineState::Tripped {
        engine.enter_quarantine().await;
    }
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = renew.tick() => renew_leases(&engine).await,
            _ = rescue.tick() => rescue_expired(&engine).await,
            _ = heartbeat.tick() => beat(&engine).await,
            _ = adopt.tick(), if adopts => engine.resume_interrupted_runs(&shutdown).await,
            _ = probe.tick() => probe_if_paused(&engine).await,
            _ = engine.quarantine.tripped() => engine.enter_quarantine().await,
            _ = quarantine_probe.tick() => {
                if engine.quarantine.state() == crate::quarantine::QuarantineState::Quarantined {
                    engine.quarantine_probe().await;
                }
            }
        }
    }
}

async fn renew_leases(engine: &Engine) {
    let tokens = engine.inflight.tokens();
    if tokens.is_empty() {
        return;
    }
    match engine.store.renew(&tokens, Utc::now(), engine.settings.lease).await {
        Ok(held) => {
            // A refresh that committed while the renewal ran has no lease
            // left to renew; only claims not yet committing were lost.
            let lost = tokens.iter().zip(&held).filter(|(t, h)| !**h && engine.inflight.holds_uncommitted(**t)).count();
            if lost > 0 {
                tracing::warn!(lost, "claims lost their lease; their refreshes will not commit");
            }
        }
        Err(e) => tracing::error!(error = %e, "renewing leases failed"),
    }
}

async fn rescue_expired(engine: &Engine) {
    match engine.store.rescue_expired(Utc::now()).await {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(count = n, "queue entries with expired leases returned to the queue");
            engine.wake_workers();
        }
        Err(e) => tracing::error!(error = %e, "rescuing expired leases failed"),
    }
}

async fn beat(engine: &Engine) {
    let mut node = NodeInfo::new(engine.settings.node_id.clone(), engine.settings.role.clone(), Utc::now());
    // So that `amsync status`, in another process, sees them too.
    node.task_restarts = engine.supervisor.restarts();
    if let Err(e) = engine.store.heartbeat(&node).await {
        tracing::error!(error = %e, "writing the heartbeat failed");
    }
    // Follow a pause, quarantine or resume made by the API or another node.
    match engine.store.source_state().await {
        Ok(state) => {
            let was = engine.follow_state(&state);
            if was && !state.paused {
                engine.wake_workers();
            }
        }
        Err(e) => tracing::error!(error = %e, "reading the source state failed"),
    }
}

/// A source paused because the AMS refused our credentials resumes by itself
/// once an authenticated call succeeds again; a pause an admin asked for
/// does not.
async fn probe_if_paused(engine: &Engine) {
    if !engine.is_paused() {
        return;
    }
    let state = match engine.store.source_state().await {
        Ok(s) => s,
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
    match engine.source.changed_members(Some(chrono::Utc::now()), None).await.map(drop) {
        Ok(()) => {
            tracing::info!("the AMS accepts our credentials again; resuming");
            if let Err(e) = engine.resume().await {
                tracing::error!(error = %e, "resuming failed");
            }
        }
        Err(e) => tracing::info!(error = %amsync_core::escaped(&e), "the source is still refused; staying paused"),
    }
}
