//! [`ListingStore`] over a backend.

use amsync_core::{MemberKey, Trigger};
use chrono::{DateTime, Utc};

use super::Layered;
use crate::backend::Backend;
use crate::error::Result;
use crate::listing_api::*;
use crate::types::{RunCounts, RunId};

// seam: phase 2 — every write below is still the backend's
// (ListingWritesPhase2): start_owned_run, renew_run_lease,
// save_listing_checkpoint, adopt_run, note_resumed_run.
#[async_trait::async_trait]
impl<B: Backend> ListingStore for Layered<B> {
    async fn start_owned_run(
        &self,
        kind: Trigger,
        at: DateTime<Utc>,
        watermark_before: Option<DateTime<Utc>>,
        params: serde_json::Value,
        lease: &RunLease,
    ) -> Result<RunId> {
        self.backend.start_owned_run(kind, at, watermark_before, params, lease).await
        // seam: phase 2
    }

    async fn renew_run_lease(&self, id: RunId, lease: &RunLease) -> Result<bool> {
        self.backend.renew_run_lease(id, lease).await // seam: phase 2
    }

    async fn save_listing_checkpoint(
        &self,
        id: RunId,
        owner: &str,
        checkpoint: &ListingCheckpoint,
        counts: &RunCounts,
    ) -> Result<bool> {
        self.backend.save_listing_checkpoint(id, owner, checkpoint, counts).await
        // seam: phase 2
    }

    async fn orphaned_runs(&self, now: DateTime<Utc>) -> Result<Vec<OrphanedRun>> {
        self.backend.orphaned_runs(now).await
    }

    async fn adopt_run(
        &self,
        id: RunId,
        from_owner: Option<&str>,
        lease: &RunLease,
        now: DateTime<Utc>,
        note: &str,
    ) -> Result<bool> {
        self.backend.adopt_run(id, from_owner, lease, now, note).await // seam: phase 2
    }

    async fn note_resumed_run(&self, id: RunId, owner: &str, note: &str) -> Result<bool> {
        self.backend.note_resumed_run(id, owner, note).await // seam: phase 2
    }

    async fn active_keys_not_refreshed_since(&self, since: DateTime<Utc>) -> Result<Vec<MemberKey>> {
        self.backend.active_keys_not_refreshed_since(since).await
    }
}
