//! Security groups: registering the AMS groups refreshes see, and the
//! groups an admin changes.

use std::future::Future;

use amsync_core::{GroupKey, MemberKey, SecurityGroupRef};
use chrono::{DateTime, Utc};

use crate::access_api::{GroupMembersChanged, GroupUpsert, GroupsChanged, LocalGroupSeed};
use crate::error::Result;

/// Single operations on security groups inside a transaction.
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
}

/// Reads of security groups.
pub trait GroupReads: Send + Sync {
    /// The members of a local group (SuperAdmin included), by key.
    fn group_members(&self, key: &GroupKey) -> impl Future<Output = Result<Vec<MemberKey>>> + Send;
}

/// Group writes still written inside the backend (see the module doc of
/// [`crate::backend`]).
pub trait GroupWritesPhase2: Send + Sync {
    // seam: phase 2 — the upsert and the IsMember flips (already judged by
    // amsync_core::group::is_member) to ops/groups.rs.
    fn upsert_security_groups(
        &self,
        groups: &[GroupUpsert],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<GroupsChanged>> + Send;

    // seam: phase 2
    fn delete_security_group(
        &self,
        key: &GroupKey,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<GroupsChanged>> + Send;

    // seam: phase 2
    fn set_group_members(
        &self,
        key: &GroupKey,
        members: &[MemberKey],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<GroupMembersChanged>> + Send;

    // seam: phase 2
    fn seed_local_groups(&self, groups: &[LocalGroupSeed]) -> impl Future<Output = Result<u64>> + Send;
}
