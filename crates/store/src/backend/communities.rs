//! Communities: the ones refreshes see, and the grants an admin sets.

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

/// Community writes still written inside the backend (see the module doc
/// of [`crate::backend`]).
pub trait CommunityWritesPhase2: Send + Sync {
    // seam: phase 2
    fn set_community_grants(
        &self,
        key: &CommunityKey,
        groups: &[GroupKey],
    ) -> impl Future<Output = Result<Vec<GroupKey>>> + Send;
}
