//! Settings: seeding them from the configuration file once, and changing
//! the community rules. Either marks cached access policies stale (the
//! rules decide which communities decisions know).

use amsync_core::rules::RuleSet;
use amsync_core::GroupKey;
use chrono::{DateTime, Utc};

use crate::backend::{Tx, WriteOp};
use crate::error::Result;

/// [`crate::SettingsStore::seed_settings`]: the configured rules and
/// IsMember designations, unless the settings were seeded before (the API
/// owns them from then on). Returns whether it seeded.
pub(crate) struct SeedSettings {
    pub rules: RuleSet,
    pub is_member: Vec<GroupKey>,
    pub at: DateTime<Utc>,
}

impl WriteOp for SeedSettings {
    type Output = bool;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<bool> {
        if tx.settings_seeded().await? {
            return Ok(false);
        }
        tx.put_community_rules(&self.rules, self.at).await?;
        tx.add_is_member_designations(&self.is_member).await?;
        tx.mark_settings_seeded(self.at).await?;
        tx.bump_access_version().await?;
        tracing::info!("seeded settings from the configuration file");
        Ok(true)
    }
}

/// [`crate::SettingsStore::set_community_rules`].
pub(crate) struct SetCommunityRules {
    pub rules: RuleSet,
    pub at: DateTime<Utc>,
}

impl WriteOp for SetCommunityRules {
    type Output = ();

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<()> {
        tx.put_community_rules(&self.rules, self.at).await?;
        tx.bump_access_version().await
    }
}
