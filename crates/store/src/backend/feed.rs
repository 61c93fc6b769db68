//! The change feed: what the community site follows to re-read members.

use std::future::Future;

use amsync_core::diff::ChangeKind;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::types::FeedItem;

/// Single operations on the change feed inside a transaction.
pub trait FeedTx: Send {
    /// Appends an entry. Its sequence number must be greater than every
    /// number a reader can have seen, and sequence order must be commit
    /// order: a reader following `seq > cursor` never skips a commit that
    /// landed late (SQLite: one writer and `max + 1`; PostgreSQL: a
    /// sequence taken under a transaction-level advisory lock held until
    /// commit, see `postgres/feed.rs`). A backend never deletes the newest
    /// entry (on SQLite its number would be handed out again).
    fn append_to_feed(
        &mut self,
        key: &str,
        kind: ChangeKind,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Reads of the change feed.
pub trait FeedReads: Send + Sync {
    /// Entries after sequence number `after`, in sequence order.
    fn changes_after(&self, after: i64, limit: usize) -> impl Future<Output = Result<Vec<FeedItem>>> + Send;
}
