//! Runs that survive the death of the process running them.
//!
//! A run is started *owned*: one process (`node-id#instance`) holds its
//! listing under a lease that it renews every third of it. As the listing
//! goes, the owner saves a [`ListingCheckpoint`] (the cursor of the next
//! page) together with the counts of what it enqueued, in one transaction.
//! When the owner dies (kill -9, a lost node) its lease runs out; any
//! process then finds the run among the [orphaned runs] and *adopts* it (a
//! compare-and-set on the old owner and the lapsed lease, so one process
//! wins), and resumes the listing after the last saved page, or restarts
//! it. The new owner's saves fence the old one out: a save or renewal by
//! a process that no longer owns the run changes nothing and says so.
//!
//! [orphaned runs]: ListingStore::orphaned_runs

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use amsync_core::{MemberKey, Trigger};

use crate::error::Result;
use crate::types::{Run, RunCounts, RunId};

/// Who holds a run's listing, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLease {
    /// `node-id#instance`: unique per process, so a restarted process with
    /// the same node id (a container's pid 1) is another owner.
    pub owner: String,
    pub until: DateTime<Utc>,
}

/// Where a listing stands, saved with the counts of each batch it enqueued:
/// a resumed listing asks for `cursor` next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingCheckpoint {
    /// The cursor of the next page; `None` before the first page.
    pub cursor: Option<String>,
    /// The last page is listed and what it held is saved; what is left is
    /// the run's end (watermark, reconciliation).
    pub ended: bool,
    /// Pages since the listing (re)started from its first page
    /// (`ams.max_pages` bounds these).
    pub pages: u64,
    /// Records listed since then, duplicates included (the watermark rules'
    /// count).
    pub records: u64,
    /// The first page's `as_of` (it sets the next watermark).
    pub first_as_of: Option<DateTime<Utc>>,
    /// Listing entries refused (they break the contract) since then.
    pub refused: u64,
    /// The first refusal's reason, named in the run's error.
    pub first_refused: Option<String>,
}

/// A run whose owner stopped renewing its lease.
#[derive(Debug, Clone, PartialEq)]
pub struct OrphanedRun {
    pub run: Run,
    /// The last saved checkpoint (none when the owner saved none).
    pub checkpoint: Option<ListingCheckpoint>,
}

/// Owned runs, their checkpoints and their adoption (see the module).
#[async_trait::async_trait]
pub trait ListingStore: Send + Sync {
    /// Starts a run held by `lease.owner` until `lease.until`.
    async fn start_owned_run(
        &self,
        kind: Trigger,
        at: DateTime<Utc>,
        watermark_before: Option<DateTime<Utc>>,
        params: serde_json::Value,
        lease: &RunLease,
    ) -> Result<RunId>;

    /// Extends the lease to `lease.until` while `lease.owner` still holds the
    /// run's listing. `false`: another process adopted it, or the listing
    /// is over.
    async fn renew_run_lease(&self, id: RunId, lease: &RunLease) -> Result<bool>;

    /// Adds `counts` to the run and saves `checkpoint`, in one transaction,
    /// while `owner` holds the listing. `false` (nothing written): another
    /// process adopted it, or the listing is over.
    async fn save_listing_checkpoint(
        &self,
        id: RunId,
        owner: &str,
        checkpoint: &ListingCheckpoint,
        counts: &RunCounts,
    ) -> Result<bool>;

    /// Running runs whose listing is not over and whose lease ran out
    /// before `now`, oldest first. (Runs started with
    /// [`RunStore::start_run`](crate::RunStore::start_run) have no owner
    /// and are never orphaned.)
    async fn orphaned_runs(&self, now: DateTime<Utc>) -> Result<Vec<OrphanedRun>>;

    /// Takes an orphaned run over: only while it is still held by
    /// `from_owner` with a lease that ran out before `now`, so of several
    /// processes adopting at once exactly one gets `true`. Records when and
    /// `note` (what happened, for a person).
    async fn adopt_run(
        &self,
        id: RunId,
        from_owner: Option<&str>,
        lease: &RunLease,
        now: DateTime<Utc>,
        note: &str,
    ) -> Result<bool>;

    /// Replaces the note of a run `owner` adopted (a resume that had to
    /// restart from the first page says so). `false` when not its owner.
    async fn note_resumed_run(&self, id: RunId, owner: &str, note: &str) -> Result<bool>;

    /// Active members not refreshed since `since`, in key order: what a
    /// complete listing resumed after a crash still has to check (the keys
    /// listed before the crash are unknown, but each of them was enqueued
    /// and is refreshed since the run started, or still waits).
    async fn active_keys_not_refreshed_since(&self, since: DateTime<Utc>) -> Result<Vec<MemberKey>>;
}
