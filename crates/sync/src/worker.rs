//! Queue workers: claim due entries and run Member Refresh on them, at most
//! `workers` at once.

use std::sync::{Arc, Mutex};

use amsync_store::{Claim, CommitOutcome, RefreshCommit};
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;

/// Refreshes whose AMS calls are done and whose commit waits for the store's
/// writer, per worker. A refresh gives its worker slot back once it is done
/// with the AMS: `workers` bounds the load on the AMS, and the writer's
/// queue should not hold fetches back. This bounds the memory such waiting
/// commits hold (a member and its raw answers, a few KiB each).
const COMMITS_PER_WORKER: usize = 4;

/// Claims entries and spawns a refresh per claim until shut down.
///
/// Claiming runs ahead of the refreshes: a claimer task keeps up to
/// `workers` claimed entries waiting for a free slot, so a claim's round
/// trip through the store's writer (queued behind commits) is never on a
/// refresh's path. A waiting claim is under lease and renewed like a running
/// one; it waits at most about one refresh. Claims still waiting at shutdown
/// or when the source pauses go back to the queue with their attempt unused.
pub(crate) async fn run_workers(engine: Arc<Engine>, shutdown: CancellationToken) {
    let workers = engine.settings.workers.max(1);
    let (ahead_tx, mut ahead_rx) = mpsc::channel::<Claim>(workers);
    let claimer = tokio::spawn(claim_ahead(engine.clone(), ahead_tx, shutdown.clone()));
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
        if engine.is_paused() {
            // Claimed just before the pause: back to the queue untouched.
            release(&engine, vec![claim]).await;
            continue;
        }
        let (engine, commit_slots) = (engine.clone(), commit_slots.clone());
        tasks.spawn(async move {
            let _forget = ForgetIfPanicking { engine: engine.clone(), token: claim.token() };
            engine.refresh_claimed(claim, permit, &commit_slots).await;
        });
    }
    ahead_rx.close();
    let claimer = claimer.await;
    let mut waiting = Vec::new();
    while let Ok(c) = ahead_rx.try_recv() {
        waiting.push(c);
    }
    release(&engine, waiting).await;
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

/// Stops renewing the lease of a refresh that panicked, so the rescuer
/// gives its entry back to the queue when the lease expires (instead of
/// the entry staying `running` for as long as the node lives).
struct ForgetIfPanicking {
    engine: Arc<Engine>,
    token: amsync_store::ClaimToken,
}

impl Drop for ForgetIfPanicking {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.engine.inflight.remove(self.token);
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

/// Keeps the buffer of claimed entries full while the queue has due entries.
async fn claim_ahead(engine: Arc<Engine>, ahead: mpsc::Sender<Claim>, shutdown: CancellationToken) {
    loop {
        let room = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = ahead.reserve() => match r {
                Ok(r) => r,
                Err(_) => return,
            },
        };
        if engine.is_paused() {
            drop(room);
            idle(&engine, &shutdown).await;
            continue;
        }
        // The reserved place plus whatever else is free.
        let want = 1 + ahead.capacity();
        let started = std::time::Instant::now();
        let claims = match engine.store.claim(want, &engine.settings.node_id, Utc::now(), engine.settings.lease).await {
            Ok(c) => {
                engine.phases.claim(started.elapsed(), c.len());
                c
            }
            Err(e) => {
                tracing::error!(error = %e, "claiming queue entries failed");
                drop(room);
                idle(&engine, &shutdown).await;
                continue;
            }
        };
        let mut claims = claims.into_iter();
        let Some(first) = claims.next() else {
            drop(room);
            idle(&engine, &shutdown).await;
            continue;
        };
        engine.inflight.insert(&first);
        room.send(first);
        let mut refused = Vec::new();
        for claim in claims {
            engine.inflight.insert(&claim);
            // Only this task sends and it asked for no more than the free
            // room, so a refusal means the workers stopped.
            if let Err(e) = ahead.try_send(claim) {
                refused.push(match e {
                    mpsc::error::TrySendError::Full(c) | mpsc::error::TrySendError::Closed(c) => c,
                });
            }
        }
        release(&engine, refused).await;
    }
}

/// Gives claims that never ran back to the queue, due now, attempts unused.
async fn release(engine: &Engine, claims: Vec<Claim>) {
    if claims.is_empty() {
        return;
    }
    let tokens: Vec<_> = claims.iter().map(Claim::token).collect();
    if let Err(e) = engine.store.release(&tokens, Utc::now()).await {
        // Their leases expire and the rescuer gives them back instead.
        tracing::error!(error = %e, count = tokens.len(), "releasing claims that did not run failed");
    }
    for t in tokens {
        engine.inflight.remove(t);
    }
}

/// Waits until woken (enqueue, resume), the idle poll interval passes, or shutdown.
async fn idle(engine: &Engine, shutdown: &CancellationToken) {
    let woken = engine.wake.notified();
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = woken => {}
        _ = tokio::time::sleep(engine.settings.idle_poll) => {}
    }
}

impl Engine {
    /// Refreshes a claimed member and commits under the claim's fencing
    /// token. `worker` is the slot it fetches under, given back before the
    /// commit for one of `commit_slots`.
    pub(crate) async fn refresh_claimed(
        &self,
        claim: Claim,
        worker: OwnedSemaphorePermit,
        commit_slots: &Arc<Semaphore>,
    ) {
        let token = claim.token();
        let started = std::time::Instant::now();
        let fetch = self.fetch_member(&claim.key).await;
        let fetched = started.elapsed();
        let outcome = self.outcome_for_claim(&claim, fetch).await;
        let commit_slot = commit_slots.clone().acquire_owned().await.expect("commit semaphore is never closed");
        drop(worker);
        let commit = RefreshCommit {
            claim: Some(token),
            key: claim.key.clone(),
            trigger: claim.trigger,
            run_id: claim.run_id,
            at: Utc::now(),
            outcome,
        };
        let committing = std::time::Instant::now();
        self.inflight.committing(token);
        let result = self.store.commit_refresh(commit).await;
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
        self.throughput.record(Utc::now(), 1);
    }
}

/// Refreshes per minute over the last hour.
#[derive(Debug)]
pub(crate) struct Throughput {
    buckets: Mutex<[(i64, u64); 60]>,
}

impl Default for Throughput {
    fn default() -> Self {
        Throughput { buckets: Mutex::new([(0, 0); 60]) }
    }
}

impl Throughput {
    pub fn record(&self, at: DateTime<Utc>, n: u64) {
        let minute = at.timestamp().div_euclid(60);
        let mut b = self.buckets.lock().expect("throughput lock");
        let slot = &mut b[minute.rem_euclid(60) as usize];
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        slot.1 += n;
    }

    /// 60 values, oldest minute first, the current minute last.
    pub fn per_minute(&self, now: DateTime<Utc>) -> Vec<u64> {
        let current = now.timestamp().div_euclid(60);
        let b = self.buckets.lock().expect("throughput lock");
        (0..60)
            .map(|i| {
                let minute = current - 59 + i;
                let slot = b[minute.rem_euclid(60) as usize];
                if slot.0 == minute {
                    slot.1
                } else {
                    0
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_keeps_an_hour_of_minutes() {
        let t = Throughput::default();
        let now: DateTime<Utc> = "2026-11-29T14:00:30Z".parse().unwrap();
        t.record(now, 5);
        t.record(now - chrono::Duration::minutes(2), 3);
        t.record(now - chrono::Duration::minutes(61), 100);
        let m = t.per_minute(now);
        assert_eq!(m.len(), 60);
        assert_eq!(m[59], 5);
        assert_eq!(m[57], 3);
        assert_eq!(m.iter().sum::<u64>(), 8);
    }

    /// A key reported five times waits once (with the highest priority
    /// asked) and costs the AMS one refresh: three calls.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_reported_five_times_is_refreshed_once() {
        use amsync_core::error::Part;
        use amsync_core::Trigger;
        use amsync_store::QueueStore;

        use crate::testing::{key, members, TestEngine};

        let t = TestEngine::start(members(10), 4).await;
        t.full_refresh().await;
        // Hold the workers, report the key five times, then let them go.
        t.engine.pause("test").await.unwrap();
        let now = Utc::now();
        let mut created = 0;
        for trigger in [Trigger::Periodic, Trigger::Webhook, Trigger::Periodic, Trigger::Manual, Trigger::Full] {
            created += t.store.enqueue(&[key("M000005")], trigger, None, now).await.unwrap().created;
        }
        assert_eq!(created, 1, "one waiting entry per key");
        let entries = t.store.list_queue(None, 10, None).await.unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].priority, amsync_core::queue::priority_of(Trigger::Webhook), "priority raised");
        assert_eq!(entries[0].trigger, Trigger::Webhook, "the trigger that gave it its priority");
        t.ams.reset_calls();
        t.engine.resume().await.unwrap();
        t.until("the key's refresh", async || !t.store.is_pending(&key("M000005")).await.unwrap()).await;
        let calls = [Part::Details, Part::Communities, Part::SecurityGroups].map(|p| t.ams.calls(p));
        assert_eq!(calls, [1, 1, 1]);
        assert_eq!(t.ams.calls_for(Part::Details, &key("M000005")), 1);
        t.stop().await;
    }

    /// Workers claim ahead of their free slots. A pause must not let those
    /// waiting claims run, nor cost them an attempt: they go back to the
    /// queue as they were, and a resume refreshes them. The AMS holds the
    /// first two refreshes' calls until the pause is in place, so the test
    /// sees the claims waiting without timing anything.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pause_gives_claims_waiting_for_a_worker_back_unused() {
        use amsync_core::queue::QueueState;
        use amsync_core::{MemberKey, Trigger};
        use amsync_store::QueueStore;

        use crate::testing::{key, members, TestEngine};

        let t = TestEngine::start(members(10), 2).await;
        t.ams.hold();
        let keys: Vec<MemberKey> = (1..=10).map(|i| key(&format!("M{i:06}"))).collect();
        t.store.enqueue(&keys, Trigger::Manual, None, Utc::now()).await.unwrap();
        t.engine.wake_workers();
        // Two refreshing (their three calls each held at the AMS) and two
        // more claimed, waiting for a slot.
        t.until("two refreshes at the AMS", async || t.ams.in_flight() == 6).await;
        t.until("two claims waiting", async || t.store.queue_counts().await.unwrap().running == 4).await;
        t.engine.pause("test").await.unwrap();
        t.ams.release();
        t.until("nothing running", async || t.store.queue_counts().await.unwrap().running == 0).await;
        let entries = t.store.list_queue(None, 20, None).await.unwrap();
        assert_eq!(entries.len(), 8, "only the two refreshes under way when paused finished: {entries:?}");
        for e in &entries {
            assert_eq!((e.state, e.attempts), (QueueState::Queued, 0), "{e:?}");
        }
        t.engine.resume().await.unwrap();
        t.until("all ten refreshed", async || t.store.queue_counts().await.unwrap() == Default::default()).await;
        t.stop().await;
    }
}
