//! [`GroupStore`] over a backend.

use amsync_core::{GroupKey, MemberKey};
use chrono::{DateTime, Utc};

use super::Layered;
use crate::access_api::*;
use crate::backend::Backend;
use crate::error::Result;
use crate::ops::groups::*;

#[async_trait::async_trait]
impl<B: Backend> GroupStore for Layered<B> {
    async fn upsert_security_groups(&self, groups: &[GroupUpsert], at: DateTime<Utc>) -> Result<GroupsChanged> {
        self.backend.write(UpsertSecurityGroups { groups: groups.to_vec(), at }).await
    }

    async fn delete_security_group(&self, key: &GroupKey, at: DateTime<Utc>) -> Result<GroupsChanged> {
        self.backend.write(DeleteSecurityGroup { key: key.clone(), at }).await
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
        self.backend.write(SetGroupMembers { key: key.clone(), members: members.to_vec(), at }).await
    }

    async fn seed_local_groups(&self, groups: &[LocalGroupSeed]) -> Result<u64> {
        self.backend.write(SeedLocalGroups { groups: groups.to_vec(), at: Utc::now() }).await
    }
}
