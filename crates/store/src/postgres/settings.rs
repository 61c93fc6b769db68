//! Settings the config file seeds once (community rules, IsMember
//! designations) and the API changes afterwards, and the security groups,
//! in PostgreSQL: single operations (`SettingsTx`) and reads, as
//! `sqlite/settings.rs`; seeding and changing the rules are
//! `ops/settings.rs`. What a refresh plans with is read once per
//! transaction (`tx.rs`); a write here drops it for the rest of the
//! transaction.

use amsync_core::rules::RuleSet;
use amsync_core::GroupKey;
use chrono::{DateTime, Utc};

use super::codec::{self, get, to_json, ts};
use super::tx::RULES_SETTING;
use super::{PgBackend, PgTx};
use crate::api::GroupInfo;
use crate::backend::{PlanInputs, SettingsReads, SettingsTx};
use crate::error::Result;
use crate::json::from_json;

const SEEDED_SETTING: &str = "seeded";

pub(crate) async fn put_setting(tx: &mut PgTx, name: &str, value: &str, at: DateTime<Utc>) -> Result<()> {
    tx.exec(
        "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        &[&name, &value, &ts(at)],
    )
    .await?;
    Ok(())
}

/// Designates AMS groups as counting for IsMember, registering those no
/// refresh has seen yet (without a `first_seen`). Built-in and local groups
/// cannot be designated.
pub(crate) async fn designate(tx: &mut PgTx, keys: &[GroupKey]) -> Result<()> {
    for k in keys {
        tx.exec(
            "INSERT INTO security_groups AS s (key_folded, key, source, is_member) VALUES ($1, $2, 'ams', true)
             ON CONFLICT (key_folded) DO UPDATE SET is_member = true WHERE s.source = 'ams'",
            &[&k.folded(), &k.as_str()],
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn read_rules(tx: &mut PgTx) -> Result<RuleSet> {
    match tx.query_opt("SELECT value FROM settings WHERE name = $1", &[&RULES_SETTING]).await? {
        Some(r) => from_json("community rules", &get::<String>(&r, 0)?),
        None => Ok(RuleSet::default()),
    }
}

pub(crate) async fn security_groups(tx: &mut PgTx) -> Result<Vec<GroupInfo>> {
    let rows = tx
        .query(
            "SELECT key, name, source, is_member, first_seen FROM security_groups
             ORDER BY CASE source WHEN 'builtin' THEN 0 WHEN 'ams' THEN 1 ELSE 2 END, position, key",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(GroupInfo {
                key: codec::key("group", get(r, 0)?)?,
                name: get(r, 1)?,
                source: codec::group_source(&get::<String>(r, 2)?)?,
                is_member: get(r, 3)?,
                first_seen: get(r, 4)?,
            })
        })
        .collect()
}

impl SettingsReads for PgBackend {
    async fn community_rules(&self) -> Result<RuleSet> {
        read_rules(&mut self.autocommit().await?).await
    }

    async fn is_member_groups(&self) -> Result<Vec<GroupKey>> {
        let mut tx = self.autocommit().await?;
        let rows =
            tx.query("SELECT key FROM security_groups WHERE is_member AND source = 'ams' ORDER BY key", &[]).await?;
        rows.iter().map(|r| codec::key("group", get(r, 0)?)).collect()
    }

    async fn security_groups(&self) -> Result<Vec<GroupInfo>> {
        security_groups(&mut self.autocommit().await?).await
    }
}

impl SettingsTx for PgTx {
    async fn plan_inputs(&mut self) -> Result<PlanInputs<'_>> {
        let loaded = self.plan_cache().await?;
        Ok(PlanInputs { rules: &loaded.rules, local_groups_folded: &loaded.local_folded })
    }

    async fn stored_community_rules(&mut self) -> Result<RuleSet> {
        read_rules(self).await
    }

    async fn put_community_rules(&mut self, rules: &RuleSet, at: DateTime<Utc>) -> Result<()> {
        put_setting(self, RULES_SETTING, &to_json(rules), at).await?;
        // A refresh later in this transaction plans with the new rules.
        self.plan = None;
        Ok(())
    }

    async fn settings_seeded(&mut self) -> Result<bool> {
        Ok(self.query_opt("SELECT 1 FROM settings WHERE name = $1", &[&SEEDED_SETTING]).await?.is_some())
    }

    async fn mark_settings_seeded(&mut self, at: DateTime<Utc>) -> Result<()> {
        put_setting(self, SEEDED_SETTING, "true", at).await
    }

    async fn add_is_member_designations(&mut self, keys: &[GroupKey]) -> Result<()> {
        designate(self, keys).await?;
        self.plan = None;
        Ok(())
    }
}
