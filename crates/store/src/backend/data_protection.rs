//! Data protection: tombstones, export, erase and retention.

use std::future::Future;

use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use crate::data_protection::{EraseReport, EraseRequest, MemberExport, PruneReport, RetentionPolicy, Tombstone};
use crate::error::Result;

/// Single operations of data protection inside a transaction.
pub trait EraseTx: Send {
    /// Whether `key` carries a tombstone (an erased key a refresh must not
    /// bring back).
    fn is_tombstoned(&mut self, key: &str) -> impl Future<Output = Result<bool>> + Send;
}

/// Reads of data protection.
pub trait DataReads: Send + Sync {
    /// Everything held about `key`, in one snapshot.
    fn export_member(&self, key: &MemberKey) -> impl Future<Output = Result<Option<MemberExport>>> + Send;

    fn tombstone(&self, key: &MemberKey) -> impl Future<Output = Result<Option<Tombstone>>> + Send;

    /// Tombstones in key order after `after`, at most `limit` (already bounded).
    fn list_tombstones(
        &self,
        limit: usize,
        after: Option<&MemberKey>,
    ) -> impl Future<Output = Result<Vec<Tombstone>>> + Send;
}

/// Data protection writes still written inside the backend (see the module
/// doc of [`crate::backend`]).
pub trait DataWritesPhase2: Send + Sync {
    // seam: phase 2 — the erase (every table holding a key) to ops/erase.rs;
    // emptying the write-ahead log stays a backend concern (an EraseTx method).
    fn erase_member(&self, erase: &EraseRequest) -> impl Future<Output = Result<EraseReport>> + Send;

    // seam: phase 2
    fn lift_tombstone(&self, key: &MemberKey) -> impl Future<Output = Result<bool>> + Send;

    // seam: phase 2 — retention's batches to ops/retention.rs.
    fn prune(&self, policy: &RetentionPolicy, now: DateTime<Utc>) -> impl Future<Output = Result<PruneReport>> + Send;
}
