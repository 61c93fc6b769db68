//! Data protection on PostgreSQL: export in one snapshot (`export.rs`);
//! erase, tombstones (`erase.rs`) and pruning (`retention.rs`), whole
//! operations still written here (seam: phase 2).

use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use super::{erase, export, retention, PgBackend};
use crate::backend::{DataReads, DataWritesPhase2};
use crate::data_protection::*;
use crate::error::Result;

impl DataReads for PgBackend {
    async fn export_member(&self, key: &MemberKey) -> Result<Option<MemberExport>> {
        let mut tx = self.snapshot().await?;
        let v = export::export(&mut tx, key).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn tombstone(&self, key: &MemberKey) -> Result<Option<Tombstone>> {
        erase::tombstone(&mut self.autocommit().await?, key.as_str()).await
    }

    async fn list_tombstones(&self, limit: usize, after: Option<&MemberKey>) -> Result<Vec<Tombstone>> {
        let after = after.map(|k| k.as_str()).unwrap_or_default();
        erase::list(&mut self.autocommit().await?, limit, after).await
    }
}

impl DataWritesPhase2 for PgBackend {
    // seam: phase 2
    async fn erase_member(&self, e: &EraseRequest) -> Result<EraseReport> {
        let op = erase::Erase { key: e.key.clone(), actor: e.actor.clone(), reason: e.reason.clone(), at: e.at };
        let (removed, tombstone, already_tombstoned) = self.run(op).await?;
        Ok(EraseReport { removed, tombstone, already_tombstoned })
    }

    // seam: phase 2
    async fn lift_tombstone(&self, key: &MemberKey) -> Result<bool> {
        self.run(erase::Lift(key.as_str().to_owned())).await
    }

    // seam: phase 2
    async fn prune(&self, policy: &RetentionPolicy, now: DateTime<Utc>) -> Result<PruneReport> {
        retention::prune(self, policy, now).await
    }
}
