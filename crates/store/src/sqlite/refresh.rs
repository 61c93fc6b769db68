//! What a refresh commit writes besides the member's own rows
//! (`member_io.rs`): the AMS groups it registers and the communities it
//! upserts, and what it plans with. Single operations only: the commit
//! itself is `ops/refresh.rs`. (`GroupTx` is implemented in `groups.rs`.)
//!
//! Both writes are skipped through the writer's cache (`cache.rs`) when
//! they would change nothing: a group registered already, a community
//! written with the same attributes. Most refreshes of a run touch the
//! same few groups and communities.

use amsync_core::community::Community;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::codec::ms;
use super::SqliteTx;
use crate::backend::{CommunityTx, PlanInputs, SettingsTx};
use crate::error::Result;

impl CommunityTx for SqliteTx {
    async fn upsert_community(&mut self, c: &Community, at: DateTime<Utc>) -> Result<bool> {
        if self.cache.community_current(c) {
            return Ok(false);
        }
        let written = self
            .conn
            .prepare_cached(
                "INSERT INTO communities (key, name, type, group_type, group_subtype, first_seen, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                 ON CONFLICT (key) DO UPDATE SET name = excluded.name, type = excluded.type,
                    group_type = excluded.group_type, group_subtype = excluded.group_subtype,
                    updated_at = excluded.updated_at
                 WHERE name IS NOT excluded.name OR type IS NOT excluded.type
                    OR group_type IS NOT excluded.group_type OR group_subtype IS NOT excluded.group_subtype",
            )?
            .execute(params![c.key.as_str(), c.name, c.community_type, c.group_type, c.group_subtype, ms(at)])?;
        self.cache.note_community(c);
        Ok(written > 0)
    }
}

impl SettingsTx for SqliteTx {
    async fn plan_inputs(&mut self) -> Result<PlanInputs<'_>> {
        let loaded = self.cache.loaded(&self.conn)?;
        Ok(PlanInputs { rules: loaded.rules, local_groups_folded: loaded.local_folded })
    }
}
