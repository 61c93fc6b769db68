//! Owned runs: their lease, the listing's checkpoint and adoption (see
//! [`crate::listing_api`]). Each write of a run's listing is one
//! compare-and-set on its owner (`backend/listing.rs`); whether a run may
//! be adopted is `amsync_core::run::may_adopt`.

use amsync_core::run::{may_adopt, HeldListing};
use amsync_core::Trigger;
use chrono::{DateTime, Utc};

use crate::backend::{Tx, WriteOp};
use crate::error::Result;
use crate::listing_api::{ListingCheckpoint, RunLease};
use crate::types::{RunCounts, RunId};

/// [`crate::ListingStore::start_owned_run`].
pub(crate) struct StartOwnedRun {
    pub kind: Trigger,
    pub at: DateTime<Utc>,
    pub watermark_before: Option<DateTime<Utc>>,
    pub params: serde_json::Value,
    pub lease: RunLease,
}

impl WriteOp for StartOwnedRun {
    type Output = RunId;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<RunId> {
        tx.insert_owned_run(self.kind, self.at, self.watermark_before, &self.params, &self.lease).await
    }
}

/// [`crate::ListingStore::renew_run_lease`].
pub(crate) struct RenewRunLease {
    pub id: RunId,
    pub lease: RunLease,
}

impl WriteOp for RenewRunLease {
    type Output = bool;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<bool> {
        tx.extend_lease(self.id, &self.lease).await
    }
}

/// [`crate::ListingStore::save_listing_checkpoint`]: the checkpoint and
/// the batch's counts together, or nothing when `owner` lost the run.
pub(crate) struct SaveListingCheckpoint {
    pub id: RunId,
    pub owner: String,
    pub checkpoint: ListingCheckpoint,
    pub counts: RunCounts,
}

impl WriteOp for SaveListingCheckpoint {
    type Output = bool;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<bool> {
        if !tx.put_checkpoint(self.id, &self.owner, &self.checkpoint).await? {
            return Ok(false);
        }
        tx.add_run_counts(self.id, &self.counts).await
    }
}

/// [`crate::ListingStore::adopt_run`]: decided on the lease as read, and
/// taken by a compare-and-set on it, so of several adopters one wins.
pub(crate) struct AdoptRun {
    pub id: RunId,
    pub from_owner: Option<String>,
    pub lease: RunLease,
    pub now: DateTime<Utc>,
    pub note: String,
}

impl WriteOp for AdoptRun {
    type Output = bool;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<bool> {
        let Some(hold) = tx.listing_hold(self.id).await? else { return Ok(false) };
        let seen = HeldListing {
            listing_open: hold.listing_open,
            owner: hold.owner.as_deref(),
            lease_until: hold.lease_until,
        };
        if !may_adopt(&seen, self.from_owner.as_deref(), self.now) {
            return Ok(false);
        }
        let from = self.from_owner.as_deref();
        tx.take_over_listing(self.id, from, hold.lease_until, &self.lease, self.now, &self.note).await
    }
}

/// [`crate::ListingStore::note_resumed_run`].
pub(crate) struct NoteResumedRun {
    pub id: RunId,
    pub owner: String,
    pub note: String,
}

impl WriteOp for NoteResumedRun {
    type Output = bool;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<bool> {
        tx.put_resume_note(self.id, &self.owner, &self.note).await
    }
}
