//! Settings the config file seeds once (community rules, IsMember
//! designations) and the API changes afterwards, and the security groups,
//! in PostgreSQL. Each write bumps the access version in its transaction;
//! there is no cache to drop (`tx.rs` reads the settings per transaction).

use amsync_core::rules::RuleSet;
use amsync_core::GroupKey;
use chrono::{DateTime, Utc};

use super::codec::{self, get, to_json, ts};
use super::tx::RULES_SETTING;
use super::{PgBackend, PgOp, PgTx};
use crate::api::GroupInfo;
use crate::backend::{AccessTx, SettingsReads, SettingsWritesPhase2};
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

// seam: phase 2 — seeding the settings.
struct Seed {
    rules: String,
    is_member: Vec<GroupKey>,
}

impl PgOp for Seed {
    type Output = bool;

    async fn run(&mut self, tx: &mut PgTx) -> Result<bool> {
        if tx.query_opt("SELECT 1 FROM settings WHERE name = $1", &[&SEEDED_SETTING]).await?.is_some() {
            return Ok(false);
        }
        let now = Utc::now();
        put_setting(tx, RULES_SETTING, &self.rules, now).await?;
        designate(tx, &self.is_member).await?;
        put_setting(tx, SEEDED_SETTING, "true", now).await?;
        tx.bump_access_version().await?;
        tracing::info!("seeded settings from the configuration file");
        Ok(true)
    }
}

// seam: phase 2 — replacing the community rules.
struct SetRules {
    rules: String,
}

impl PgOp for SetRules {
    type Output = ();

    async fn run(&mut self, tx: &mut PgTx) -> Result<()> {
        put_setting(tx, RULES_SETTING, &self.rules, Utc::now()).await?;
        // The rules decide which communities decisions know.
        tx.bump_access_version().await
    }
}

impl SettingsWritesPhase2 for PgBackend {
    async fn seed_settings(&self, rules: &RuleSet, is_member: &[GroupKey]) -> Result<bool> {
        self.run(Seed { rules: to_json(rules), is_member: is_member.to_vec() }).await
    }

    async fn set_community_rules(&self, rules: &RuleSet) -> Result<()> {
        self.run(SetRules { rules: to_json(rules) }).await
    }
}
