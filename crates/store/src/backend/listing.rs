//! Owned runs: their leases, listing checkpoints and adoption.

use std::future::Future;

use amsync_core::{MemberKey, Trigger};
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::listing_api::{ListingCheckpoint, OrphanedRun, RunLease};
use crate::types::{RunCounts, RunId};

/// Single operations on owned runs inside a transaction. (None yet: see
/// [`ListingWritesPhase2`]; phase 2 adds its statements here.)
pub trait ListingTx: Send {}

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

/// Owned-run writes still written inside the backend (see the module doc
/// of [`crate::backend`]).
pub trait ListingWritesPhase2: Send + Sync {
    // seam: phase 2
    fn start_owned_run(
        &self,
        kind: Trigger,
        at: DateTime<Utc>,
        watermark_before: Option<DateTime<Utc>>,
        params: serde_json::Value,
        lease: &RunLease,
    ) -> impl Future<Output = Result<RunId>> + Send;

    // seam: phase 2
    fn renew_run_lease(&self, id: RunId, lease: &RunLease) -> impl Future<Output = Result<bool>> + Send;

    // seam: phase 2 — the counts through RunTx::add_run_counts, the
    // checkpoint conditional on the owner.
    fn save_listing_checkpoint(
        &self,
        id: RunId,
        owner: &str,
        checkpoint: &ListingCheckpoint,
        counts: &RunCounts,
    ) -> impl Future<Output = Result<bool>> + Send;

    // seam: phase 2
    fn adopt_run(
        &self,
        id: RunId,
        from_owner: Option<&str>,
        lease: &RunLease,
        now: DateTime<Utc>,
        note: &str,
    ) -> impl Future<Output = Result<bool>> + Send;

    // seam: phase 2
    fn note_resumed_run(&self, id: RunId, owner: &str, note: &str) -> impl Future<Output = Result<bool>> + Send;
}
