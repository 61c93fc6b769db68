//! The Refresh Queue's lifecycle (product.md job 2), written once over the
//! backends' single operations (`backend/queue.rs`); the scheduling rules
//! are `amsync_core::queue`.
//!
//! ```text
//!   enqueue ──► queued ──claim──► running ──settle──► (deleted)
//!                 ▲                  │ retry
//!                 │  give back       ├──────────────► retrying ──due──► (claimable)
//!                 └──────────────────┤ bury
//!                                    ├──────────────► dead ──requeue──► queued
//!                                    │ lease expired (rescue)
//!                                    └──────────────► retrying
//! ```
//!
//! A running entry that goes back to waiting while its key already waits
//! again folds into that entry. Whenever an entry leaves a run (settled,
//! buried, folded into another run's entry, adopted by another run,
//! deleted), the run may have ended: [`super::runs::maybe_finish`].

use std::collections::HashSet;

use amsync_core::queue::{priority_of, sort_key};
use amsync_core::{Failure, Trigger};
use chrono::{DateTime, Utc};

use super::runs::{maybe_finish, maybe_finish_all};
use crate::backend::{NewWaiting, Running, Tx, Waiting, WaitingMerge, WriteOp};
use crate::error::Result;
use crate::types::{Claim, ClaimToken, EnqueueResult, RunId};

fn claim_order(due: DateTime<Utc>, priority: i64) -> i64 {
    sort_key(due.timestamp_millis(), priority)
}

/// Adds the waiting entry of `key`, or merges into the one it has: the
/// higher priority, the earlier due time, its attempts kept, adopted by
/// `run_id`; a dead letter of the key is replaced. Returns the run whose
/// entry `run_id` adopted, if any (it may now have ended).
pub(crate) async fn enqueue_one<T: Tx>(
    tx: &mut T,
    key: &str,
    trigger: Trigger,
    run_id: Option<RunId>,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<RunId>> {
    if let Some(w) = tx.waiting_entry(key).await? {
        let (m, displaced_run) = merge_into(&w, trigger, run_id, due);
        tx.merge_waiting(m.id, m.priority, m.due, m.sort_key, m.run_id, m.trigger).await?;
        return Ok(displaced_run);
    }
    let n = new_waiting(key, trigger, run_id, due);
    tx.delete_dead_letter(key).await?;
    tx.insert_waiting(key, n.trigger, n.priority, n.run_id, n.due, n.sort_key, now).await?;
    Ok(None)
}

/// What an enqueue does to the waiting entry `w` of its key: the higher
/// priority (and its trigger), the earlier due time, adopted by `run_id`;
/// and the run it takes the entry from, if any.
fn merge_into(
    w: &Waiting,
    trigger: Trigger,
    run_id: Option<RunId>,
    due: DateTime<Utc>,
) -> (WaitingMerge, Option<RunId>) {
    let priority = priority_of(trigger);
    let p = w.priority.max(priority);
    let d = w.due.min(due);
    let takes_trigger = (priority > w.priority).then_some(trigger);
    let merge =
        WaitingMerge { id: w.id, priority: p, due: d, sort_key: claim_order(d, p), run_id, trigger: takes_trigger };
    let displaced_run = match (w.run_id, run_id) {
        (Some(old), Some(new)) if old != new => Some(old),
        _ => None,
    };
    (merge, displaced_run)
}

/// The entry an enqueue adds for a key that has none waiting.
fn new_waiting(key: &str, trigger: Trigger, run_id: Option<RunId>, due: DateTime<Utc>) -> NewWaiting {
    let priority = priority_of(trigger);
    NewWaiting { key: key.to_owned(), trigger, priority, run_id, due, sort_key: claim_order(due, priority) }
}

/// A refresh that succeeded: its entry is done.
pub(crate) async fn settle<T: Tx>(tx: &mut T, e: &Running, at: DateTime<Utc>) -> Result<()> {
    tx.delete_entry(e.id).await?;
    if let Some(run) = e.run_id {
        maybe_finish(tx, run, at).await?;
    }
    Ok(())
}

/// A failed attempt, to be tried again at `due`.
pub(crate) async fn retry<T: Tx>(
    tx: &mut T,
    e: &Running,
    due: DateTime<Utc>,
    failure: &Failure,
    at: DateTime<Utc>,
) -> Result<()> {
    if let Some(w) = tx.waiting_entry(&e.key).await? {
        return fold_into_waiting(tx, e, &w, due, e.attempts, Some(failure), at).await;
    }
    tx.set_retrying(e.id, due, claim_order(due, e.priority), failure, at).await
}

/// A failed attempt with nothing left to try: to the dead letters (one per key).
pub(crate) async fn bury<T: Tx>(tx: &mut T, e: &Running, failure: &Failure, at: DateTime<Utc>) -> Result<()> {
    tx.bury(e.id, &e.key, failure, at).await?;
    if let Some(run) = e.run_id {
        maybe_finish(tx, run, at).await?;
    }
    Ok(())
}

/// Back to `queued` at `due`, the claim's attempt given back (the source
/// was paused or quarantined).
pub(crate) async fn give_back<T: Tx>(
    tx: &mut T,
    e: &Running,
    due: DateTime<Utc>,
    failure: Option<&Failure>,
    at: DateTime<Utc>,
) -> Result<()> {
    let attempts = (e.attempts - 1).max(0);
    if let Some(w) = tx.waiting_entry(&e.key).await? {
        return fold_into_waiting(tx, e, &w, due, attempts, failure, at).await;
    }
    tx.set_queued(e.id, due, claim_order(due, e.priority), attempts, failure, at).await
}

/// Folds a running entry that goes back to waiting into its key's waiting
/// entry: the higher priority, the higher attempt count, and the later due
/// time (a backoff or a pause still applies).
async fn fold_into_waiting<T: Tx>(
    tx: &mut T,
    e: &Running,
    w: &Waiting,
    due: DateTime<Utc>,
    attempts: i64,
    failure: Option<&Failure>,
    at: DateTime<Utc>,
) -> Result<()> {
    tx.delete_entry(e.id).await?;
    let p = w.priority.max(e.priority);
    let d = w.due.max(due);
    tx.fold_into_waiting(w.id, p, d, claim_order(d, p), w.attempts.max(attempts), failure, at).await?;
    if let Some(run) = e.run_id.filter(|r| Some(*r) != w.run_id) {
        maybe_finish(tx, run, at).await?;
    }
    Ok(())
}

/// [`crate::QueueStore::enqueue`], one chunk of keys.
pub(crate) struct Enqueue {
    pub keys: Vec<String>,
    pub trigger: Trigger,
    pub run_id: Option<RunId>,
    pub due: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

impl WriteOp for Enqueue {
    type Output = EnqueueResult;

    /// One read of the chunk's waiting entries, the decisions here, one
    /// [`crate::backend::QueueTx::enqueue_batch`] to apply them: the same
    /// outcome as [`enqueue_one`] key after key, in a few statements.
    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<EnqueueResult> {
        let mut out = EnqueueResult::default();
        let waiting = tx.waiting_entries(&self.keys).await?;
        let mut seen = HashSet::new();
        let (mut merges, mut inserts, mut displaced) = (Vec::new(), Vec::new(), Vec::new());
        for key in &self.keys {
            if !seen.insert(key.as_str()) {
                // Named again in this chunk: it merges into the entry its
                // first mention left, with the same trigger, run and due
                // time, which changes nothing.
                out.merged += 1;
                continue;
            }
            match waiting.get(key) {
                Some(w) => {
                    let (m, displaced_run) = merge_into(w, self.trigger, self.run_id, self.due);
                    merges.push(m);
                    displaced.extend(displaced_run);
                    out.merged += 1;
                }
                None => {
                    inserts.push(new_waiting(key, self.trigger, self.run_id, self.due));
                    out.created += 1;
                }
            }
        }
        tx.enqueue_batch(&merges, &inserts, self.now).await?;
        maybe_finish_all(tx, displaced, self.now).await?;
        Ok(out)
    }
}

/// [`crate::QueueStore::claim`].
pub(crate) struct ClaimDue {
    pub limit: usize,
    pub node: String,
    pub now: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
}

impl WriteOp for ClaimDue {
    type Output = Vec<Claim>;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<Vec<Claim>> {
        if self.limit == 0 {
            return Ok(Vec::new());
        }
        tx.claim(self.limit, &self.node, self.now, self.lease_until).await
    }
}

/// [`crate::QueueStore::renew`].
pub(crate) struct Renew {
    pub tokens: Vec<ClaimToken>,
    pub lease_until: DateTime<Utc>,
}

impl WriteOp for Renew {
    type Output = Vec<bool>;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<Vec<bool>> {
        tx.renew(&self.tokens, self.lease_until).await
    }
}

/// [`crate::QueueStore::rescue_expired`]: an expired entry whose key waits
/// again is dropped, the others go back to `retrying`.
pub(crate) struct RescueExpired {
    pub now: DateTime<Utc>,
}

impl WriteOp for RescueExpired {
    type Output = u64;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<u64> {
        let dropped = tx.drop_expired_where_waiting(self.now).await?;
        let moved = tx.return_expired(self.now).await?;
        let n = dropped.len() as u64 + moved;
        maybe_finish_all(tx, dropped.into_iter().flatten().collect(), self.now).await?;
        if n > 0 {
            tracing::info!(entries = n, "rescued queue entries whose lease expired");
        }
        Ok(n)
    }
}

/// [`crate::QueueStore::release`]: claims whose refresh did not run go
/// back, their attempt unused; claims that no longer hold are left alone.
pub(crate) struct Release {
    pub tokens: Vec<ClaimToken>,
    pub due: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

impl WriteOp for Release {
    type Output = u64;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<u64> {
        let mut n = 0;
        for token in &self.tokens {
            if let Some(e) = tx.running_entry(*token).await? {
                give_back(tx, &e, self.due, None, self.now).await?;
                n += 1;
            }
        }
        Ok(n)
    }
}

/// [`crate::QueueStore::requeue`] of the dead letters.
pub(crate) struct RequeueDead {
    pub transient_only: bool,
    pub now: DateTime<Utc>,
}

impl WriteOp for RequeueDead {
    type Output = u64;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<u64> {
        tx.requeue_dead(self.transient_only, self.now).await
    }
}

/// [`crate::QueueStore::requeue`] of given keys: each key keeps one entry
/// (its waiting one, else its running one, else its dead letter), back to
/// `queued` now with its attempts reset; its other entries go, and their
/// runs may end. A running entry requeued is fenced: its worker's commit
/// will not apply.
pub(crate) struct RequeueKeys {
    pub keys: Vec<String>,
    pub now: DateTime<Utc>,
}

impl WriteOp for RequeueKeys {
    type Output = u64;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<u64> {
        let mut n = 0;
        for key in &self.keys {
            let found = tx.key_entries(key).await?;
            let mut entries = [found.waiting, found.running, found.dead].into_iter().flatten();
            let Some((survivor, _)) = entries.next() else { continue };
            let mut runs = Vec::new();
            for (id, run) in entries {
                tx.delete_entry(id).await?;
                runs.extend(run);
            }
            tx.requeue_entry(survivor, self.now).await?;
            for run in runs {
                maybe_finish(tx, run, self.now).await?;
            }
            n += 1;
        }
        Ok(n)
    }
}
