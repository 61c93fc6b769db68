//! The Refresh Queue's single operations and reads (the lifecycle that
//! strings them together is `ops/queue.rs`).
//!
//! What the schema of a backend must enforce: at most one waiting
//! (`queued` or `retrying`) entry per key and at most one `running` entry
//! per key; every transition of a running entry names it by `(id, fence)`.
//! Claim order is `amsync_core::queue::sort_key`, stored with the entry.

use std::future::Future;

use amsync_core::queue::QueueState;
use amsync_core::{Failure, MemberKey, Trigger};
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::types::{Claim, ClaimToken, QueueCounts, QueueEntry, RunId};

/// A running entry whose claim still holds, as a commit or a release finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub id: i64,
    pub key: String,
    pub priority: i64,
    /// Attempts including the running one.
    pub attempts: i64,
    pub run_id: Option<RunId>,
}

/// The waiting entry of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub id: i64,
    pub priority: i64,
    pub due: DateTime<Utc>,
    pub attempts: i64,
    pub run_id: Option<RunId>,
}

/// A waiting entry to add: the fields [`QueueTx::insert_waiting`] takes,
/// one per entry of [`QueueTx::enqueue_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWaiting {
    pub key: String,
    pub trigger: Trigger,
    pub priority: i64,
    pub run_id: Option<RunId>,
    pub due: DateTime<Utc>,
    pub sort_key: i64,
}

/// An enqueue merged into waiting entry `id`: the fields
/// [`QueueTx::merge_waiting`] takes, one per merge of
/// [`QueueTx::enqueue_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingMerge {
    pub id: i64,
    pub priority: i64,
    pub due: DateTime<Utc>,
    pub sort_key: i64,
    pub run_id: Option<RunId>,
    pub trigger: Option<Trigger>,
}

/// An entry of a key: its id and run.
pub type EntryRef = (i64, Option<RunId>);

/// A key's entries, one per group of states (the schema allows no more).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyEntries {
    pub waiting: Option<EntryRef>,
    pub running: Option<EntryRef>,
    pub dead: Option<EntryRef>,
}

/// Single operations of the queue inside a transaction.
pub trait QueueTx: Send {
    /// The running entry `token` names, if its claim still holds (the
    /// entry is running with that fence).
    fn running_entry(&mut self, token: ClaimToken) -> impl Future<Output = Result<Option<Running>>> + Send;

    /// The waiting entry of `key`, if any.
    fn waiting_entry(&mut self, key: &str) -> impl Future<Output = Result<Option<Waiting>>> + Send;

    /// The waiting entries of `keys` (of those that have one), by key: one
    /// read for a whole chunk of an enqueue.
    fn waiting_entries(
        &mut self,
        keys: &[String],
    ) -> impl Future<Output = Result<std::collections::HashMap<String, Waiting>>> + Send;

    /// Applies a chunk of an enqueue that the caller decided: each merge as
    /// [`QueueTx::merge_waiting`] does it; for each new entry, the dead
    /// letter of its key deleted, then the entry inserted as
    /// [`QueueTx::insert_waiting`] does it (the caller made sure none of
    /// their keys waits, and names each key once). A backend may apply a
    /// chunk in a few statements; it decides nothing.
    fn enqueue_batch(
        &mut self,
        merges: &[WaitingMerge],
        inserts: &[NewWaiting],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Inserts a new `queued` entry (the caller made sure none waits).
    #[allow(clippy::too_many_arguments)]
    fn insert_waiting(
        &mut self,
        key: &str,
        trigger: Trigger,
        priority: i64,
        run_id: Option<RunId>,
        due: DateTime<Utc>,
        sort_key: i64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Merges an enqueue into waiting entry `id`: sets its priority, due
    /// time and claim order; `run_id` when given adopts it; `trigger` when
    /// given replaces its trigger. Attempts are kept.
    fn merge_waiting(
        &mut self,
        id: i64,
        priority: i64,
        due: DateTime<Utc>,
        sort_key: i64,
        run_id: Option<RunId>,
        trigger: Option<Trigger>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Deletes the dead letter of `key`, if any.
    fn delete_dead_letter(&mut self, key: &str) -> impl Future<Output = Result<()>> + Send;

    /// Deletes entry `id` (a settled refresh, or an entry folded into another).
    fn delete_entry(&mut self, id: i64) -> impl Future<Output = Result<()>> + Send;

    /// Running entry `id` becomes `retrying`, due at `due`, its claim cleared
    /// and `failure` kept as its last error.
    fn set_retrying(
        &mut self,
        id: i64,
        due: DateTime<Utc>,
        sort_key: i64,
        failure: &Failure,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Running entry `id` becomes the dead letter of `key` (an older dead
    /// letter of the key is deleted), its claim cleared and `failure` kept.
    fn bury(
        &mut self,
        id: i64,
        key: &str,
        failure: &Failure,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Running entry `id` goes back to `queued` at `due` with `attempts`,
    /// its claim cleared; `failure`, when given, is kept as its last error.
    #[allow(clippy::too_many_arguments)]
    fn set_queued(
        &mut self,
        id: i64,
        due: DateTime<Utc>,
        sort_key: i64,
        attempts: i64,
        failure: Option<&Failure>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Sets waiting entry `id` to what a running entry folded into it
    /// leaves: priority, due time, claim order and attempts; with a
    /// `failure`, also its last error and state `retrying`.
    #[allow(clippy::too_many_arguments)]
    fn fold_into_waiting(
        &mut self,
        id: i64,
        priority: i64,
        due: DateTime<Utc>,
        sort_key: i64,
        attempts: i64,
        failure: Option<&Failure>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Claims up to `limit` due waiting entries in claim order (then key
    /// order), never a key already running: each becomes `running` under
    /// one fresh fencing token with a lease until `lease_until`, and counts
    /// an attempt. Returns them in claim order.
    fn claim(
        &mut self,
        limit: usize,
        node: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Claim>>> + Send;

    /// Extends the leases whose claim holds; per token, whether it held.
    fn renew(
        &mut self,
        tokens: &[ClaimToken],
        lease_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<bool>>> + Send;

    /// Deletes the running entries whose lease ran out by `now` and whose
    /// key waits again; returns the run of each.
    fn drop_expired_where_waiting(
        &mut self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Option<RunId>>>> + Send;

    /// The other running entries whose lease ran out by `now` become
    /// `retrying`, due now, claim cleared. Returns how many.
    fn return_expired(&mut self, now: DateTime<Utc>) -> impl Future<Output = Result<u64>> + Send;

    /// Dead letters (only those whose last failure was transient, with
    /// `transient_only`) back to `queued` due now, attempts reset and out
    /// of their run; one whose key waits again is deleted instead. Returns
    /// how many.
    fn requeue_dead(&mut self, transient_only: bool, now: DateTime<Utc>) -> impl Future<Output = Result<u64>> + Send;

    /// The entries of `key`.
    fn key_entries(&mut self, key: &str) -> impl Future<Output = Result<KeyEntries>> + Send;

    /// Entry `id` back to `queued`, due at the earlier of its due time and
    /// `now`, attempts reset, claim cleared (a running entry's worker is
    /// fenced off).
    fn requeue_entry(&mut self, id: i64, now: DateTime<Utc>) -> impl Future<Output = Result<()>> + Send;
}

/// Reads of the queue.
pub trait QueueReads: Send + Sync {
    fn queue_counts(&self) -> impl Future<Output = Result<QueueCounts>> + Send;

    /// Entries in id order after `after_id`, optionally of one state.
    fn list_queue(
        &self,
        state: Option<QueueState>,
        limit: usize,
        after_id: Option<i64>,
    ) -> impl Future<Output = Result<Vec<QueueEntry>>> + Send;

    /// Whether a key has a waiting or running entry.
    fn is_pending(&self, key: &MemberKey) -> impl Future<Output = Result<bool>> + Send;
}
