//! Data protection's reads on SQLite: export and tombstones on a reader
//! (the single operations of the erase and the pruning are `erase.rs` and
//! `retention.rs`).

use amsync_core::MemberKey;

use super::{erase, export, SqliteBackend};
use crate::backend::DataReads;
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
