//! The groups granted a community: set by an admin, for a community the
//! rules include, each group a registered one (see
//! [`resolve_groups`](super::groups::resolve_groups)).

use amsync_core::{CommunityKey, GroupKey};

use super::groups::resolve_groups;
use crate::backend::{Tx, WriteOp};
use crate::error::{Result, StoreError};

/// [`crate::CommunityStore::set_community_grants`]: replaces the grants;
/// access policies are marked stale. Returns the groups as stored.
pub(crate) struct SetCommunityGrants {
    pub key: CommunityKey,
    pub groups: Vec<GroupKey>,
}

impl WriteOp for SetCommunityGrants {
    type Output = Vec<GroupKey>;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<Vec<GroupKey>> {
        let community = self.key.as_str();
        let rules = tx.stored_community_rules().await?;
        let included = tx.stored_community(community).await?.is_some_and(|c| rules.includes(&c));
        if !included {
            return Err(StoreError::NotFound(format!("community {community}")));
        }
        let groups = resolve_groups(tx, &self.groups).await?;
        tx.replace_community_grants(community, &groups).await?;
        tx.bump_access_version().await?;
        tracing::info!(community, groups = groups.len(), "community grants replaced");
        Ok(groups)
    }
}
