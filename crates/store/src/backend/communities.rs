//! Communities: the ones refreshes see, and the grants an admin sets
//! (`ops/communities.rs`).

use std::future::Future;

use amsync_core::community::Community;
use amsync_core::{CommunityKey, GroupKey};
use chrono::{DateTime, NaiveDate, Utc};

use crate::access_api::CommunitySummary;
use crate::error::Result;

/// Single operations on communities inside a transaction.
pub trait CommunityTx: Send {
    /// Writes a community the AMS listed when new or when its attributes
    /// differ from the stored ones. Returns whether it wrote (a backend may
    /// remember what it wrote and skip the statement).
    fn upsert_community(
        &mut self,
        community: &Community,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// A stored community, whatever the rules say of it.
    fn stored_community(&mut self, key: &str) -> impl Future<Output = Result<Option<Community>>> + Send;

    /// Replaces the groups granted a community, in the order given (each a
    /// registered group in its registered spelling).
    fn replace_community_grants(&mut self, key: &str, groups: &[GroupKey]) -> impl Future<Output = Result<()>> + Send;
}

/// Reads of communities.
pub trait CommunityReads: Send + Sync {
    /// Every community the rules include, by key, with its member count on `day`.
    fn list_communities(&self, day: NaiveDate) -> impl Future<Output = Result<Vec<CommunitySummary>>> + Send;

    /// A community the rules include; `None` when unknown or excluded.
    fn community(&self, key: &CommunityKey) -> impl Future<Output = Result<Option<Community>>> + Send;

    /// The groups granted access to a community, in the order given.
    fn community_grants(&self, key: &CommunityKey) -> impl Future<Output = Result<Vec<GroupKey>>> + Send;
}
