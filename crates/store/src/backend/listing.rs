//! Owned runs: their leases, listing checkpoints and adoption.

use std::future::Future;

use amsync_core::{MemberKey, Trigger};
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::listing_api::{ListingCheckpoint, OrphanedRun, RunLease};
use crate::types::RunId;

/// Where a run's listing stands, as adopting it reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingHold {
    /// The run is running and its listing is not over.
    pub listing_open: bool,
    pub owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
}

/// Single operations on owned runs inside a transaction.
///
/// The writes of a run's listing are compare-and-sets: each holds only
/// while `owner` holds the listing (the run running, its listing not over,
/// its owner `owner`), in the one statement that writes, so a process that
/// lost the run changes nothing. Whether a run may be adopted is
/// `amsync_core::run::may_adopt`, decided in `ops/listing.rs`.
pub trait ListingTx: Send {
    /// Inserts a running run held by `lease.owner` until `lease.until`.
    fn insert_owned_run(
        &mut self,
        kind: Trigger,
        at: DateTime<Utc>,
        watermark_before: Option<DateTime<Utc>>,
        params: &serde_json::Value,
        lease: &RunLease,
    ) -> impl Future<Output = Result<RunId>> + Send;

    /// The lease of run `id`, if there is such a run.
    fn listing_hold(&mut self, id: RunId) -> impl Future<Output = Result<Option<ListingHold>>> + Send;

    /// Sets the lease's end while `lease.owner` holds the listing.
    fn extend_lease(&mut self, id: RunId, lease: &RunLease) -> impl Future<Output = Result<bool>> + Send;

    /// Saves the checkpoint while `owner` holds the listing.
    fn put_checkpoint(
        &mut self,
        id: RunId,
        owner: &str,
        checkpoint: &ListingCheckpoint,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Hands the listing to `lease.owner` (noting when and why) while
    /// `from_owner` holds it with the lease end `seen_until` the caller
    /// read: one compare-and-set, so of several adopters one wins.
    fn take_over_listing(
        &mut self,
        id: RunId,
        from_owner: Option<&str>,
        seen_until: Option<DateTime<Utc>>,
        lease: &RunLease,
        at: DateTime<Utc>,
        note: &str,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Replaces the resume note while `owner` holds the listing.
    fn put_resume_note(&mut self, id: RunId, owner: &str, note: &str) -> impl Future<Output = Result<bool>> + Send;
}

/// Reads of owned runs.
pub trait ListingReads: Send + Sync {
    /// Running runs whose listing is not over and whose lease ran out
    /// before `now`, oldest first.
    fn orphaned_runs(&self, now: DateTime<Utc>) -> impl Future<Output = Result<Vec<OrphanedRun>>> + Send;

    /// Active members not refreshed since `since`, in key order.
    fn active_keys_not_refreshed_since(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<MemberKey>>> + Send;
}
