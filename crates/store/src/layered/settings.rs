//! [`SettingsStore`] over a backend: its writes are `ops/settings.rs`.

use amsync_core::rules::RuleSet;
use amsync_core::GroupKey;
use chrono::Utc;

use super::Layered;
use crate::api::{GroupInfo, SettingsStore};
use crate::backend::Backend;
use crate::error::Result;
use crate::ops::settings::{SeedSettings, SetCommunityRules};

#[async_trait::async_trait]
impl<B: Backend> SettingsStore for Layered<B> {
    async fn seed_settings(&self, rules: &RuleSet, is_member: &[GroupKey]) -> Result<bool> {
        let op = SeedSettings { rules: rules.clone(), is_member: is_member.to_vec(), at: Utc::now() };
        self.backend.write(op).await
    }

    async fn community_rules(&self) -> Result<RuleSet> {
        self.backend.community_rules().await
    }

    async fn set_community_rules(&self, rules: &RuleSet) -> Result<()> {
        self.backend.write(SetCommunityRules { rules: rules.clone(), at: Utc::now() }).await
    }

    async fn is_member_groups(&self) -> Result<Vec<GroupKey>> {
        self.backend.is_member_groups().await
    }

    async fn security_groups(&self) -> Result<Vec<GroupInfo>> {
        self.backend.security_groups().await
    }
}
