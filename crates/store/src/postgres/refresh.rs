//! The remaining single operations a refresh commit uses, one impl per
//! aspect (groups, communities, settings, access, sign-ins, erasure), and
//! the aspects with no single operation yet.
//!
//! SQLite's writer remembers the groups it registered and the communities
//! it wrote; here another node may write them between two of our
//! transactions, so each is looked up first, in the transaction, and
//! written only when new or changed. The look-up is a plain read: an
//! `ON CONFLICT DO UPDATE … WHERE` that ends up writing nothing still locks
//! the row, and every commit naming a popular community would then wait
//! for the one before it.

use amsync_core::community::Community;
use amsync_core::SecurityGroupRef;
use chrono::{DateTime, Utc};

use super::codec::{get, ts};
use super::PgTx;
use crate::auth_api::RevokedAuth;
use crate::backend::{
    AccessTx, AuditTx, AuthTx, CommunityTx, EraseTx, EventTx, GroupTx, ListingTx, PlanInputs, SettingsTx, SyncStateTx,
};
use crate::error::Result;

impl GroupTx for PgTx {
    async fn register_ams_group(&mut self, g: &SecurityGroupRef, at: DateTime<Utc>) -> Result<bool> {
        let folded = g.key.folded();
        let known = self
            .query_opt(
                "SELECT 1 FROM security_groups WHERE key_folded = $1 AND (source <> 'ams' OR first_seen IS NOT NULL)",
                &[&folded],
            )
            .await?;
        if known.is_some() {
            return Ok(false);
        }
        let written = self
            .exec(
                "INSERT INTO security_groups AS s (key_folded, key, name, source, first_seen) VALUES ($1, $2, $3, 'ams', $4)
                 ON CONFLICT (key_folded) DO UPDATE SET first_seen = COALESCE(s.first_seen, excluded.first_seen),
                    name = COALESCE(s.name, excluded.name)
                 WHERE s.source = 'ams'",
                &[&folded, &g.key.as_str(), &g.name, &ts(at)],
            )
            .await?;
        Ok(written > 0)
    }
}

impl CommunityTx for PgTx {
    async fn upsert_community(&mut self, c: &Community, at: DateTime<Utc>) -> Result<bool> {
        let stored = self
            .query_opt(
                "SELECT name, type, group_type, group_subtype FROM communities WHERE key = $1",
                &[&c.key.as_str()],
            )
            .await?;
        if let Some(r) = &stored {
            let same = get::<Option<String>>(r, 0)? == c.name
                && get::<Option<String>>(r, 1)? == c.community_type
                && get::<Option<String>>(r, 2)? == c.group_type
                && get::<Option<String>>(r, 3)? == c.group_subtype;
            if same {
                return Ok(false);
            }
        }
        let written = self
            .exec(
                "INSERT INTO communities AS c (key, name, type, group_type, group_subtype, first_seen, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6)
                 ON CONFLICT (key) DO UPDATE SET name = excluded.name, type = excluded.type,
                    group_type = excluded.group_type, group_subtype = excluded.group_subtype,
                    updated_at = excluded.updated_at
                 WHERE c.name IS DISTINCT FROM excluded.name OR c.type IS DISTINCT FROM excluded.type
                    OR c.group_type IS DISTINCT FROM excluded.group_type
                    OR c.group_subtype IS DISTINCT FROM excluded.group_subtype",
                &[&c.key.as_str(), &c.name, &c.community_type, &c.group_type, &c.group_subtype, &ts(at)],
            )
            .await?;
        Ok(written > 0)
    }
}

impl SettingsTx for PgTx {
    async fn plan_inputs(&mut self) -> Result<PlanInputs<'_>> {
        let loaded = self.plan_cache().await?;
        Ok(PlanInputs { rules: &loaded.rules, local_groups_folded: &loaded.local_folded })
    }
}

impl AccessTx for PgTx {
    async fn bump_access_version(&mut self) -> Result<()> {
        self.exec("UPDATE counters SET value = value + 1 WHERE name = 'access'", &[]).await?;
        Ok(())
    }
}

impl AuthTx for PgTx {
    async fn revoke_member_auth(&mut self, key: &str) -> Result<RevokedAuth> {
        let sessions = self.exec("DELETE FROM sessions WHERE member = $1", &[&key]).await?;
        let tokens = self.exec("DELETE FROM mobile_tokens WHERE member = $1", &[&key]).await?;
        Ok(RevokedAuth { sessions, tokens })
    }
}

impl EraseTx for PgTx {
    async fn is_tombstoned(&mut self, key: &str) -> Result<bool> {
        let row = self.query_one("SELECT EXISTS (SELECT 1 FROM tombstones WHERE member_key = $1)", &[&key]).await?;
        get(&row, 0)
    }
}

impl EventTx for PgTx {}
impl SyncStateTx for PgTx {}
impl AuditTx for PgTx {}
impl ListingTx for PgTx {}
