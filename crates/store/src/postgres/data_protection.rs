//! Data protection's reads on PostgreSQL: export in one snapshot
//! (`export.rs`), tombstones (`erase.rs`). The erase and the pruning are
//! `ops/erase.rs` and `ops/retention.rs` over `EraseTx` (`erase.rs`,
//! `retention.rs`).

use amsync_core::MemberKey;

use super::{erase, export, PgBackend};
use crate::backend::DataReads;
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
