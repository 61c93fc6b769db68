//! The claims side of the workers: claiming ahead of free slots, giving
//! back claims that never ran, the claims held by this node, and the
//! renewal of their leases (timed by the upkeep, dated by the clock).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use amsync_store::{Claim, ClaimToken};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::WorkerPool;

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

impl WorkerPool {
    /// Keeps the buffer of claimed entries full while the queue has due entries.
    pub(super) async fn claim_ahead(self: Arc<Self>, ahead: mpsc::Sender<Claim>, shutdown: CancellationToken) {
        let s = &self.shared;
        loop {
            let room = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = ahead.reserve() => match r {
                    Ok(r) => r,
                    Err(_) => return,
                },
            };
            if s.signals.is_paused() {
                drop(room);
                self.idle(&shutdown).await;
                continue;
            }
            // The reserved place plus whatever else is free.
            let want = 1 + ahead.capacity();
            let started = std::time::Instant::now();
            let claims = match s.store.claim(want, &s.settings.node_id, s.now(), s.settings.lease).await {
                Ok(c) => {
                    self.phases.claim(started.elapsed(), c.len());
                    c
                }
                Err(e) => {
                    tracing::error!(error = %e, "claiming queue entries failed");
                    drop(room);
                    self.idle(&shutdown).await;
                    continue;
                }
            };
            let mut claims = claims.into_iter();
            let Some(first) = claims.next() else {
                drop(room);
                self.idle(&shutdown).await;
                continue;
            };
            self.inflight.insert(&first);
            room.send(first);
            let mut refused = Vec::new();
            for claim in claims {
                self.inflight.insert(&claim);
                // Only this task sends and it asked for no more than the free
                // room, so a refusal means the workers stopped.
                if let Err(e) = ahead.try_send(claim) {
                    refused.push(match e {
                        mpsc::error::TrySendError::Full(c) | mpsc::error::TrySendError::Closed(c) => c,
                    });
                }
            }
            self.release(refused).await;
        }
    }

    /// Gives claims that never ran back to the queue, due now, attempts unused.
    pub(super) async fn release(&self, claims: Vec<Claim>) {
        if claims.is_empty() {
            return;
        }
        let tokens: Vec<_> = claims.iter().map(Claim::token).collect();
        if let Err(e) = self.shared.store.release(&tokens, self.shared.now()).await {
            // Their leases expire and the rescuer gives them back instead.
            tracing::error!(error = %e, count = tokens.len(), "releasing claims that did not run failed");
        }
        for t in tokens {
            self.inflight.remove(t);
        }
    }

    /// Waits until woken (enqueue, resume), the idle poll interval passes, or shutdown.
    async fn idle(&self, shutdown: &CancellationToken) {
        let woken = self.shared.signals.woken();
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = woken => {}
            _ = tokio::time::sleep(self.shared.settings.idle_poll) => {}
        }
    }

    /// Renews the leases of the claims this node holds (called by the
    /// upkeep every third of the lease).
    pub async fn renew_leases(&self) {
        let tokens = self.inflight.tokens();
        if tokens.is_empty() {
            return;
        }
        let s = &self.shared;
        match s.store.renew(&tokens, s.now(), s.settings.lease).await {
            Ok(held) => {
                // A refresh that committed while the renewal ran has no lease
                // left to renew; only claims not yet committing were lost.
                let lost =
                    tokens.iter().zip(&held).filter(|(t, h)| !**h && self.inflight.holds_uncommitted(**t)).count();
                if lost > 0 {
                    tracing::warn!(lost, "claims lost their lease; their refreshes will not commit");
                }
            }
            Err(e) => tracing::error!(error = %e, "renewing leases failed"),
        }
    }
}
