//! [`SettingsStore`] over a backend.

use amsync_core::rules::RuleSet;
use amsync_core::GroupKey;

use super::Layered;
use crate::api::{GroupInfo, SettingsStore};
use crate::backend::Backend;
use crate::error::Result;

#[async_trait::async_trait]
impl<B: Backend> SettingsStore for Layered<B> {
    // seam: phase 2 — still the backend's (SettingsWritesPhase2).
    async fn seed_settings(&self, rules: &RuleSet, is_member: &[GroupKey]) -> Result<bool> {
        self.backend.seed_settings(rules, is_member).await
    }

    async fn community_rules(&self) -> Result<RuleSet> {
        self.backend.community_rules().await
    }

    // seam: phase 2 — still the backend's (SettingsWritesPhase2).
    async fn set_community_rules(&self, rules: &RuleSet) -> Result<()> {
        self.backend.set_community_rules(rules).await
    }

    async fn is_member_groups(&self) -> Result<Vec<GroupKey>> {
        self.backend.is_member_groups().await
    }

    async fn security_groups(&self) -> Result<Vec<GroupInfo>> {
        self.backend.security_groups().await
    }
}
