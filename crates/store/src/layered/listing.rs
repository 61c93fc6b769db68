//! [`ListingStore`] over a backend.

use amsync_core::{MemberKey, Trigger};
use chrono::{DateTime, Utc};

use super::Layered;
use crate::backend::Backend;
use crate::error::Result;
use crate::listing_api::*;
use crate::ops::listing::*;
use crate::types::{RunCounts, RunId};

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
        self.backend.write(StartOwnedRun { kind, at, watermark_before, params, lease: lease.clone() }).await
    }

    async fn renew_run_lease(&self, id: RunId, lease: &RunLease) -> Result<bool> {
        self.backend.write(RenewRunLease { id, lease: lease.clone() }).await
    }

    async fn save_listing_checkpoint(
        &self,
        id: RunId,
        owner: &str,
        checkpoint: &ListingCheckpoint,
        counts: &RunCounts,
    ) -> Result<bool> {
        let op = SaveListingCheckpoint {
            id,
            owner: owner.to_owned(),
            checkpoint: checkpoint.clone(),
            counts: counts.clone(),
        };
        self.backend.write(op).await
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
        let op = AdoptRun {
            id,
            from_owner: from_owner.map(str::to_owned),
            lease: lease.clone(),
            now,
            note: note.to_owned(),
        };
        self.backend.write(op).await
    }

    async fn note_resumed_run(&self, id: RunId, owner: &str, note: &str) -> Result<bool> {
        self.backend.write(NoteResumedRun { id, owner: owner.to_owned(), note: note.to_owned() }).await
    }

    async fn active_keys_not_refreshed_since(&self, since: DateTime<Utc>) -> Result<Vec<MemberKey>> {
        self.backend.active_keys_not_refreshed_since(since).await
    }
}
