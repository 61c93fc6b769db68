//! The capability traits of access (product.md jobs 5-7): communities as
//! the site sees them and the groups granted access to them
//! ([`CommunityStore`]); security groups administered by an admin
//! ([`GroupStore`]); content items, and what an access decision reads
//! ([`AccessStore`]).
//!
//! **Invariant:** every write that changes what an access policy is built
//! from bumps the access version in the same transaction, so a node's cached
//! policy is known stale by the next read of [`AccessStore::member_for_access`]
//! or [`AccessStore::access_version`] — on this node or another.

use amsync_core::access::{AccessPolicy, ContentId};
use amsync_core::community::Community;
use amsync_core::record::MemberRecord;
use amsync_core::{CommunityKey, EventKey, EventStatus, GroupKey, GroupSource, MemberKey};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A community as the site lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommunitySummary {
    #[serde(flatten)]
    pub community: Community,
    /// Active members with a membership current on the day asked about.
    pub current_members: u64,
}

/// Communities as the site sees them (those the community rules include)
/// and the security groups granted access to each.
#[async_trait::async_trait]
pub trait CommunityStore: Send + Sync {
    /// Every community the rules include, by key, with its member count on `day`.
    async fn list_communities(&self, day: NaiveDate) -> Result<Vec<CommunitySummary>>;

    /// A community the rules include; `None` when unknown or excluded.
    async fn community(&self, key: &CommunityKey) -> Result<Option<Community>>;

    /// The groups granted access to a community, in the order they were given.
    async fn community_grants(&self, key: &CommunityKey) -> Result<Vec<GroupKey>>;

    /// Replaces the groups granted access to a community (Public and
    /// Authenticated included, deliberately). Refuses a community that is
    /// unknown or excluded (`NotFound`) and a group that is not known
    /// (`Invalid`, naming it). Returns the groups as stored (registered
    /// spelling, duplicates dropped).
    async fn set_community_grants(&self, key: &CommunityKey, groups: &[GroupKey]) -> Result<Vec<GroupKey>>;
}

/// One group of a `PUT /security-groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupUpsert {
    pub key: GroupKey,
    /// `None`: the group's present source, or `ams` for a new key (an AMS
    /// group registered ahead of the first member carrying it).
    pub source: Option<GroupSource>,
    pub name: Option<String>,
    /// "Counts as IsMember"; AMS groups only.
    pub is_member: Option<bool>,
}

/// What a change to security groups did to members.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupsChanged {
    /// Active members whose effective groups changed (IsMember gained or
    /// lost, a local group removed); each got a change-feed entry.
    pub affected_members: u64,
}

/// What replacing a local group's members did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMembersChanged {
    pub members: u64,
    pub added: u64,
    pub removed: u64,
}

/// A local group the configuration file seeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalGroupSeed {
    pub key: GroupKey,
    pub name: String,
}

/// Security groups as an admin changes them. Built-in groups cannot be
/// changed or deleted; AMS groups can be designated "counts as IsMember"
/// (and renamed) but not deleted; local groups are created, renamed,
/// given members and deleted here, and never touched by a refresh.
#[async_trait::async_trait]
pub trait GroupStore: Send + Sync {
    /// Upserts the groups listed, all or nothing. A local group cannot take
    /// the key of an AMS group already seen, nor a built-in's
    /// (case-insensitive; `Conflict`). A designation change gives every
    /// active member whose IsMember flips a change-feed entry.
    async fn upsert_security_groups(&self, groups: &[GroupUpsert], at: DateTime<Utc>) -> Result<GroupsChanged>;

    /// Deletes a local group with its memberships, grants and content
    /// references. A built-in or AMS group is refused (`Conflict`), an
    /// unknown one is `NotFound`.
    async fn delete_security_group(&self, key: &GroupKey, at: DateTime<Utc>) -> Result<GroupsChanged>;

    /// The members of a local group (SuperAdmin included), by key.
    async fn group_members(&self, key: &GroupKey) -> Result<Vec<MemberKey>>;

    /// Replaces the members of a local group (SuperAdmin included). Members
    /// must be known (`Invalid` names the unknown ones). Each member added
    /// or removed gets a history entry (trigger `admin`) and a feed entry.
    async fn set_group_members(
        &self,
        key: &GroupKey,
        members: &[MemberKey],
        at: DateTime<Utc>,
    ) -> Result<GroupMembersChanged>;

    /// Creates the local groups of the configuration file, once: the first
    /// start that knows local groups seeds them, later starts change
    /// nothing (the database is authoritative). A key taken by a built-in
    /// or AMS group is skipped with a warning. Returns how many were created.
    async fn seed_local_groups(&self, groups: &[LocalGroupSeed]) -> Result<u64>;
}

/// A content or navigation item and the groups that may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentItem {
    pub id: ContentId,
    pub name: Option<String>,
    pub groups: Vec<GroupKey>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How an event is limited, as an access policy needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLimit {
    pub key: EventKey,
    pub community: Option<CommunityKey>,
    pub status: EventStatus,
}

/// Everything an access policy is built from, read in one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessConfig {
    /// The access version this configuration was read at.
    pub version: i64,
    /// The communities the rules include.
    pub communities: Vec<Community>,
    pub grants: Vec<(CommunityKey, Vec<GroupKey>)>,
    pub content: Vec<(ContentId, Vec<GroupKey>)>,
    pub events: Vec<EventLimit>,
    /// AMS groups designated "counts as IsMember".
    pub is_member_groups: Vec<GroupKey>,
}

impl AccessConfig {
    /// The policy decisions read.
    pub fn policy(&self) -> AccessPolicy {
        let mut b = AccessPolicy::builder();
        for c in &self.communities {
            b = b.community(c.clone());
        }
        for (c, groups) in &self.grants {
            b = b.grants(c.clone(), groups.iter().cloned());
        }
        for (id, groups) in &self.content {
            b = b.content(id.clone(), groups.iter().cloned());
        }
        for e in &self.events {
            b = b.event(e.key.clone(), e.community.clone(), e.status);
        }
        b.build()
    }
}

/// A member as an access decision reads it, with the access version read
/// in the same snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessFacts {
    pub version: i64,
    /// `None` for an unknown member. The record holds what decisions use:
    /// key, status, memberships (the community's key only), AMS and local
    /// groups; the other details are empty.
    pub member: Option<MemberRecord>,
}

/// Content items and what access decisions read.
#[async_trait::async_trait]
pub trait AccessStore: Send + Sync {
    async fn content_item(&self, id: &ContentId) -> Result<Option<ContentItem>>;

    /// Creates or replaces a content item; groups must be known (`Invalid`
    /// names the others). Returns the item as stored and whether it is new.
    async fn put_content_item(
        &self,
        id: &ContentId,
        name: Option<&str>,
        groups: &[GroupKey],
        at: DateTime<Utc>,
    ) -> Result<(ContentItem, bool)>;

    /// The version of the access configuration.
    async fn access_version(&self) -> Result<i64>;

    /// The access configuration, in one snapshot.
    async fn access_config(&self) -> Result<AccessConfig>;

    /// A member for a decision, and the access version: one snapshot.
    async fn member_for_access(&self, key: &MemberKey) -> Result<AccessFacts>;
}
