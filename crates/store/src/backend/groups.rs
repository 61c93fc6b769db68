//! Security groups: registering the AMS groups refreshes see, and the
//! groups an admin changes. What an admin may change, and whose IsMember
//! a designation flips (`amsync_core::group::is_member`), is decided in
//! `ops/groups.rs`.

use std::future::Future;

use amsync_core::{GroupKey, GroupSource, MemberKey, SecurityGroupRef};
use chrono::{DateTime, Utc};

use crate::error::Result;

/// A registered group, found by its folded key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGroup {
    /// The key as registered (its first spelling).
    pub key: GroupKey,
    pub source: GroupSource,
    pub is_member: bool,
}

/// Single operations on security groups inside a transaction. A backend
/// that caches what groups exist drops or updates its cache in each write.
pub trait GroupTx: Send {
    /// Registers an AMS group a refresh carries, unless registered already
    /// (a group registered ahead by an admin gets its `first_seen`).
    /// Returns whether it was new to the backend (a backend may remember
    /// the groups it registered and skip the statement).
    fn register_ams_group(
        &mut self,
        group: &SecurityGroupRef,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// The group whose folded key is `folded`.
    fn find_group(&mut self, folded: &str) -> impl Future<Output = Result<Option<StoredGroup>>> + Send;

    /// The AMS groups designated "counts as IsMember".
    fn designated_groups(&mut self) -> impl Future<Output = Result<Vec<GroupKey>>> + Send;

    /// Active members holding an AMS group whose folded key is in `folded`,
    /// each with every AMS group it holds (as members carry them), in
    /// member-key order.
    fn active_holders(&mut self, folded: &[&str])
        -> impl Future<Output = Result<Vec<(MemberKey, Vec<String>)>>> + Send;

    fn set_designation(&mut self, folded: &str, is_member: bool) -> impl Future<Output = Result<()>> + Send;

    fn set_group_name(&mut self, folded: &str, name: &str) -> impl Future<Output = Result<()>> + Send;

    /// Inserts a local group.
    fn insert_local_group(&mut self, key: &GroupKey, name: &str) -> impl Future<Output = Result<()>> + Send;

    /// Inserts an AMS group registered ahead of the first member carrying
    /// it (no `first_seen` yet).
    fn insert_ams_group(
        &mut self,
        key: &GroupKey,
        name: Option<&str>,
        is_member: bool,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Deletes a group's row (`folded`), and the grants and content rows
    /// naming it, so a later group with the same key inherits nothing.
    fn delete_group(&mut self, folded: &str) -> impl Future<Output = Result<()>> + Send;

    /// The members of local group `group` (its registered key).
    fn local_group_members(&mut self, group: &GroupKey) -> impl Future<Output = Result<Vec<MemberKey>>> + Send;

    /// Whether a member with this key is stored.
    fn member_exists(&mut self, key: &MemberKey) -> impl Future<Output = Result<bool>> + Send;

    fn add_local_membership(
        &mut self,
        member: &MemberKey,
        group: &GroupKey,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Removes one member from a local group, or every member (`None`).
    fn remove_local_memberships(
        &mut self,
        group: &GroupKey,
        member: Option<&MemberKey>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Whether the configuration file's local groups were seeded already.
    fn local_groups_seeded(&mut self) -> impl Future<Output = Result<bool>> + Send;

    /// Records that they were.
    fn mark_local_groups_seeded(&mut self, at: DateTime<Utc>) -> impl Future<Output = Result<()>> + Send;
}

/// Reads of security groups.
pub trait GroupReads: Send + Sync {
    /// The members of a local group (SuperAdmin included), by key.
    fn group_members(&self, key: &GroupKey) -> impl Future<Output = Result<Vec<MemberKey>>> + Send;
}
