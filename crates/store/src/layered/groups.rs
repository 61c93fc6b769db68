//! [`GroupStore`] over a backend.

use amsync_core::{GroupKey, MemberKey};
use chrono::{DateTime, Utc};

use super::Layered;
use crate::access_api::*;
use crate::backend::Backend;
use crate::error::Result;

// seam: phase 2 — every write below is still the backend's
// (GroupWritesPhase2): upsert_security_groups, delete_security_group,
// set_group_members, seed_local_groups.
#[async_trait::async_trait]
impl<B: Backend> GroupStore for Layered<B> {
    async fn upsert_security_groups(&self, groups: &[GroupUpsert], at: DateTime<Utc>) -> Result<GroupsChanged> {
        self.backend.upsert_security_groups(groups, at).await // seam: phase 2
    }

    async fn delete_security_group(&self, key: &GroupKey, at: DateTime<Utc>) -> Result<GroupsChanged> {
        self.backend.delete_security_group(key, at).await // seam: phase 2
    }

    async fn group_members(&self, key: &GroupKey) -> Result<Vec<MemberKey>> {
        self.backend.group_members(key).await
    }

    async fn set_group_members(
        &self,
        key: &GroupKey,
        members: &[MemberKey],
        at: DateTime<Utc>,
    ) -> Result<GroupMembersChanged> {
        self.backend.set_group_members(key, members, at).await // seam: phase 2
    }

    async fn seed_local_groups(&self, groups: &[LocalGroupSeed]) -> Result<u64> {
        self.backend.seed_local_groups(groups).await // seam: phase 2
    }
}
