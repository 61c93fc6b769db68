//! Data protection on SQLite: export on a reader; erase, tombstones and
//! pruning on the writer (whole operations still written here, seam:
//! phase 2; see `erase.rs` and `retention.rs`).

use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use super::codec::ms;
use super::{erase, export, retention, SqliteBackend};
use crate::backend::{DataReads, DataWritesPhase2};
use crate::data_protection::*;
use crate::error::Result;

impl DataReads for SqliteBackend {
    async fn export_member(&self, key: &MemberKey) -> Result<Option<MemberExport>> {
        let key = key.clone();
        self.read_op(move |c| export::export(c, &key)).await
    }

    async fn tombstone(&self, key: &MemberKey) -> Result<Option<Tombstone>> {
        let key = key.as_str().to_owned();
        self.read_op(move |c| erase::tombstone(c, &key)).await
    }

    async fn list_tombstones(&self, limit: usize, after: Option<&MemberKey>) -> Result<Vec<Tombstone>> {
        let after = after.map(|k| k.as_str().to_owned()).unwrap_or_default();
        self.read_op(move |c| erase::list(c, limit, &after)).await
    }
}

impl DataWritesPhase2 for SqliteBackend {
    // seam: phase 2
    async fn erase_member(&self, e: &EraseRequest) -> Result<EraseReport> {
        let (key, actor, reason, at) = (e.key.clone(), e.actor.clone(), e.reason.clone(), ms(e.at));
        let (removed, tombstone, already_tombstoned) =
            self.write_op(move |tx| erase::erase(tx, &key, &actor, reason.as_deref(), at)).await?;
        Ok(EraseReport { removed, tombstone, already_tombstoned })
    }

    // seam: phase 2
    async fn lift_tombstone(&self, key: &MemberKey) -> Result<bool> {
        let key = key.as_str().to_owned();
        self.write_op(move |tx| erase::lift(&tx.conn, &key)).await
    }

    // seam: phase 2
    async fn prune(&self, policy: &RetentionPolicy, now: DateTime<Utc>) -> Result<PruneReport> {
        retention::prune(self, policy, now).await
    }
}
