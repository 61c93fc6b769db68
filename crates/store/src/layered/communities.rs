//! [`CommunityStore`] over a backend: the grants are `ops/communities.rs`.

use amsync_core::community::Community;
use amsync_core::{CommunityKey, GroupKey};
use chrono::NaiveDate;

use super::Layered;
use crate::access_api::*;
use crate::backend::Backend;
use crate::error::Result;
use crate::ops::communities::SetCommunityGrants;

#[async_trait::async_trait]
impl<B: Backend> CommunityStore for Layered<B> {
    async fn list_communities(&self, day: NaiveDate) -> Result<Vec<CommunitySummary>> {
        self.backend.list_communities(day).await
    }

    async fn community(&self, key: &CommunityKey) -> Result<Option<Community>> {
        self.backend.community(key).await
    }

    async fn community_grants(&self, key: &CommunityKey) -> Result<Vec<GroupKey>> {
        self.backend.community_grants(key).await
    }

    async fn set_community_grants(&self, key: &CommunityKey, groups: &[GroupKey]) -> Result<Vec<GroupKey>> {
        self.backend.write(SetCommunityGrants { key: key.clone(), groups: groups.to_vec() }).await
    }
}
