//! Access: content items, the access version and what a decision reads.

use std::future::Future;

use amsync_core::access::ContentId;
use amsync_core::{GroupKey, MemberKey};
use chrono::{DateTime, Utc};

use crate::access_api::{AccessConfig, AccessFacts, ContentItem};
use crate::error::Result;

/// Single operations on access state inside a transaction.
pub trait AccessTx: Send {
    /// Marks every cached access policy stale. Every write that changes
    /// what a policy is built from calls it in the same transaction.
    fn bump_access_version(&mut self) -> impl Future<Output = Result<()>> + Send;

    /// A content item with its groups, as this transaction sees it.
    fn content_item_now(&mut self, id: &ContentId) -> impl Future<Output = Result<Option<ContentItem>>> + Send;

    /// Writes a content item's row (insert, or update keeping `created_at`).
    fn put_content_row(
        &mut self,
        id: &ContentId,
        name: Option<&str>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Replaces a content item's groups (keys as registered), in order.
    fn replace_content_groups(
        &mut self,
        id: &ContentId,
        groups: &[GroupKey],
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Reads an access decision makes, in one snapshot each.
pub trait AccessReads: Send + Sync {
    fn content_item(&self, id: &ContentId) -> impl Future<Output = Result<Option<ContentItem>>> + Send;

    fn access_version(&self) -> impl Future<Output = Result<i64>> + Send;

    fn access_config(&self) -> impl Future<Output = Result<AccessConfig>> + Send;

    /// A member for a decision, and the access version: one snapshot.
    fn member_for_access(&self, key: &MemberKey) -> impl Future<Output = Result<AccessFacts>> + Send;
}
