//! Queue workers: claim due entries and run Member Refresh on them, at most
//! `workers` at once.
//!
//! `WorkerPool` is the task. It owns what the workers hold and count: the
//! claims in flight (whose leases the upkeep renews through
//! `WorkerPool::renew_leases`), the throughput and the phase times shown
//! in the status. Claims, leases and retry due times are read from the
//! engine's clock.

mod claims;
mod throughput;

use std::sync::Arc;

use amsync_core::{MemberKey, Trigger};
use amsync_store::{Claim, CommitOutcome, RefreshCommit, RunId};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

pub(crate) use claims::Inflight;
pub(crate) use throughput::Throughput;

use crate::error::SyncError;
use crate::refresh::MemberRefresh;
use crate::shared::Shared;
use crate::timing::{PhaseAverages, PhaseTimes};

/// Refreshes whose AMS calls are done and whose commit waits for the store's
/// writer, per worker. A refresh gives its worker slot back once it is done
/// with the AMS: `workers` bounds the load on the AMS, and the writer's
/// queue should not hold fetches back. This bounds the memory such waiting
/// commits hold (a member and its raw answers, a few KiB each).
const COMMITS_PER_WORKER: usize = 4;

/// The workers (see the module).
pub(crate) struct WorkerPool {
    shared: Shared,
    refresh: MemberRefresh,
    inflight: Inflight,
    throughput: Throughput,
    phases: PhaseTimes,
}

impl WorkerPool {
    pub fn new(shared: Shared) -> WorkerPool {
        WorkerPool {
            refresh: MemberRefresh::new(shared.clone()),
            shared,
            inflight: Inflight::default(),
            throughput: Throughput::default(),
            phases: PhaseTimes::default(),
        }
    }

    /// Claims held by this node (waiting for a slot or refreshing).
    pub fn inflight(&self) -> usize {
        self.inflight.len()
    }

    /// Refreshes per minute over the last hour, oldest first.
    pub fn per_minute(&self) -> Vec<u64> {
        self.throughput.per_minute(self.shared.now())
    }

    pub fn phases(&self) -> PhaseAverages {
        self.phases.averages()
    }

    /// Refreshes one member right now, outside the queue (see
    /// `MemberRefresh::now`); counted in the throughput.
    pub async fn refresh_now(
        &self,
        key: &MemberKey,
        trigger: Trigger,
        run_id: Option<RunId>,
    ) -> Result<CommitOutcome, SyncError> {
        self.refresh.now(key, trigger, run_id, &self.throughput).await
    }

    /// Claims entries and spawns a refresh per claim until shut down.
    ///
    /// Claiming runs ahead of the refreshes: a claimer task keeps up to
    /// `workers` claimed entries waiting for a free slot, so a claim's round
    /// trip through the store's writer (queued behind commits) is never on a
    /// refresh's path. A waiting claim is under lease and renewed like a
    /// running one; it waits at most about one refresh. Claims still waiting
    /// at shutdown or when the source pauses go back to the queue with their
    /// attempt unused.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let workers = self.shared.settings.workers.max(1);
        let (ahead_tx, mut ahead_rx) = mpsc::channel::<Claim>(workers);
        let claimer = tokio::spawn(self.clone().claim_ahead(ahead_tx, shutdown.clone()));
        let slots = Arc::new(Semaphore::new(workers));
        let commit_slots = Arc::new(Semaphore::new(workers * COMMITS_PER_WORKER));
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            while let Some(done) = tasks.try_join_next() {
                log_panicked_refresh(done);
            }
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break,
                p = slots.clone().acquire_owned() => p.expect("worker semaphore is never closed"),
            };
            let claim = tokio::select! {
                _ = shutdown.cancelled() => break,
                c = ahead_rx.recv() => match c {
                    Some(c) => c,
                    None => break,
                },
            };
            if self.shared.signals.is_paused() {
                // Claimed just before the pause: back to the queue untouched.
                self.release(vec![claim]).await;
                continue;
            }
            let (pool, commit_slots) = (self.clone(), commit_slots.clone());
            tasks.spawn(async move {
                let _forget = ForgetIfPanicking { pool: pool.clone(), token: claim.token() };
                pool.refresh_claimed(claim, permit, &commit_slots).await;
            });
        }
        ahead_rx.close();
        let claimer = claimer.await;
        let mut waiting = Vec::new();
        while let Ok(c) = ahead_rx.try_recv() {
            waiting.push(c);
        }
        self.release(waiting).await;
        // Let refreshes in flight finish; their leases cover them if we are killed.
        while let Some(done) = tasks.join_next().await {
            log_panicked_refresh(done);
        }
        // A claimer that panicked ends the workers with its panic, so that the
        // supervisor restarts both (the workers stopped when its channel closed).
        if let Err(e) = claimer {
            if e.is_panic() && !shutdown.is_cancelled() {
                std::panic::resume_unwind(e.into_panic());
            }
            tracing::error!(error = %e, "the claimer task failed");
        }
    }

    /// Refreshes a claimed member and commits under the claim's fencing
    /// token. `worker` is the slot it fetches under, given back before the
    /// commit for one of `commit_slots`.
    async fn refresh_claimed(&self, claim: Claim, worker: OwnedSemaphorePermit, commit_slots: &Arc<Semaphore>) {
        let token = claim.token();
        let started = std::time::Instant::now();
        let fetch = self.refresh.fetch(&claim.key).await;
        let fetched = started.elapsed();
        let outcome = self.refresh.outcome_for_claim(&claim, fetch).await;
        let commit_slot = commit_slots.clone().acquire_owned().await.expect("commit semaphore is never closed");
        drop(worker);
        let commit = RefreshCommit {
            claim: Some(token),
            key: claim.key.clone(),
            trigger: claim.trigger,
            run_id: claim.run_id,
            at: self.shared.now(),
            outcome,
        };
        let committing = std::time::Instant::now();
        self.inflight.committing(token);
        let result = self.shared.store.commit_refresh(commit).await;
        self.phases.refresh(fetched, committing.elapsed());
        self.inflight.remove(token);
        drop(commit_slot);
        let label = match &result {
            Ok(CommitOutcome::Applied { kind, fields, .. }) => {
                if *fields == 0 && *kind == amsync_core::diff::ChangeKind::Changed {
                    "unchanged"
                } else {
                    kind.as_str()
                }
            }
            Ok(CommitOutcome::UnknownGone) => "unknown_gone",
            Ok(CommitOutcome::FailureRecorded) => "failed",
            Ok(CommitOutcome::Fenced) => "fenced",
            Ok(CommitOutcome::Tombstoned) => "tombstoned",
            Err(_) => "store_error",
        };
        if let Err(e) = &result {
            // The entry stays `running` until its lease expires; the rescuer
            // then gives it back to the queue.
            tracing::error!(key = %claim.key, error = %amsync_core::escaped(&e), "committing a member refresh failed");
        }
        if let Ok(CommitOutcome::Applied { group_errors, .. }) = &result {
            for g in group_errors {
                tracing::warn!(key = %claim.key, error = %amsync_core::escaped(&g), "AMS group refused");
            }
        }
        metrics::counter!("amsync_refreshes_total", "outcome" => label, "trigger" => claim.trigger.as_str())
            .increment(1);
        self.throughput.record(self.shared.now(), 1);
    }
}

/// Stops renewing the lease of a refresh that panicked, so the rescuer
/// gives its entry back to the queue when the lease expires (instead of
/// the entry staying `running` for as long as the node lives).
struct ForgetIfPanicking {
    pool: Arc<WorkerPool>,
    token: amsync_store::ClaimToken,
}

impl Drop for ForgetIfPanicking {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.pool.inflight.remove(self.token);
        }
    }
}

fn log_panicked_refresh(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done {
        if e.is_panic() {
            tracing::error!(error = %e, "a member refresh panicked; its entry returns to the queue when its lease expires");
        }
    }
}

#[cfg(test)]
mod tests;
