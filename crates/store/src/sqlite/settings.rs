//! Settings the config file seeds once (community rules, IsMember
//! designations) and the API changes afterwards, and the security groups.
//! Single operations (`SettingsTx`) and reads; seeding and changing the
//! rules are `ops/settings.rs`. A write here drops the writer's cache so
//! the next refresh plans with it.

use amsync_core::rules::RuleSet;
use amsync_core::GroupKey;
use rusqlite::{params, Connection, OptionalExtension};

use chrono::{DateTime, Utc};

use super::cache::{read_rules, RULES_SETTING};
use super::codec::{self, ms, opt_from_ms, to_json};
use super::{SqliteBackend, SqliteTx};
use crate::api::GroupInfo;
use crate::backend::{PlanInputs, SettingsReads, SettingsTx};
use crate::error::Result;

const SEEDED_SETTING: &str = "seeded";

pub(crate) fn put_setting(conn: &Connection, name: &str, value: &str, at: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO settings (name, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )?
    .execute(params![name, value, at])?;
    Ok(())
}

/// Designates AMS groups as counting for IsMember, registering those no
/// refresh has seen yet (without a `first_seen`). Built-in and local groups
/// cannot be designated.
fn designate(conn: &Connection, keys: &[GroupKey]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO security_groups (key_folded, key, source, is_member) VALUES (?1, ?2, 'ams', 1)
         ON CONFLICT (key_folded) DO UPDATE SET is_member = 1 WHERE source = 'ams'",
    )?;
    for k in keys {
        stmt.execute(params![k.folded(), k.as_str()])?;
    }
    Ok(())
}

fn security_groups(conn: &Connection) -> Result<Vec<GroupInfo>> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, name, source, is_member, first_seen FROM security_groups
         ORDER BY CASE source WHEN 'builtin' THEN 0 WHEN 'ams' THEN 1 ELSE 2 END, position, key",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, bool>(3)?,
            r.get::<_, Option<i64>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, name, source, is_member, first_seen) = row?;
        out.push(GroupInfo {
            key: codec::key("group", key)?,
            name,
            source: codec::group_source(&source)?,
            is_member,
            first_seen: opt_from_ms(first_seen),
        });
    }
    Ok(out)
}

impl SettingsReads for SqliteBackend {
    async fn community_rules(&self) -> Result<RuleSet> {
        self.read_op(read_rules).await
    }

    async fn is_member_groups(&self) -> Result<Vec<GroupKey>> {
        self.read_op(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT key FROM security_groups WHERE is_member = 1 AND source = 'ams' ORDER BY key",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for row in rows {
                out.push(codec::key("group", row?)?);
            }
            Ok(out)
        })
        .await
    }

    async fn security_groups(&self) -> Result<Vec<GroupInfo>> {
        self.read_op(security_groups).await
    }
}

impl SettingsTx for SqliteTx {
    async fn plan_inputs(&mut self) -> Result<PlanInputs<'_>> {
        let loaded = self.cache.loaded(&self.conn)?;
        Ok(PlanInputs { rules: loaded.rules, local_groups_folded: loaded.local_folded })
    }

    async fn stored_community_rules(&mut self) -> Result<RuleSet> {
        read_rules(&self.conn)
    }

    async fn put_community_rules(&mut self, rules: &RuleSet, at: DateTime<Utc>) -> Result<()> {
        put_setting(&self.conn, RULES_SETTING, &to_json(rules), ms(at))?;
        self.cache.invalidate();
        Ok(())
    }

    async fn settings_seeded(&mut self) -> Result<bool> {
        let seeded: Option<i64> = self
            .conn
            .prepare_cached("SELECT 1 FROM settings WHERE name = ?1")?
            .query_row([SEEDED_SETTING], |r| r.get(0))
            .optional()?;
        Ok(seeded.is_some())
    }

    async fn mark_settings_seeded(&mut self, at: DateTime<Utc>) -> Result<()> {
        put_setting(&self.conn, SEEDED_SETTING, "true", ms(at))
    }

    async fn add_is_member_designations(&mut self, keys: &[GroupKey]) -> Result<()> {
        designate(&self.conn, keys)?;
        // A group registered here has no `first_seen`: the cache's notion
        // of the registered groups is read again.
        self.cache.invalidate();
        Ok(())
    }
}
