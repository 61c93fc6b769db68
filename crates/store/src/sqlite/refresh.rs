//! What a refresh commit writes besides the member's own rows
//! (`member_io.rs`): the AMS groups it registers and the communities it
//! upserts (what it plans with is `settings.rs`). Single operations only: the commit
//! itself is `ops/refresh.rs`.
//!
//! Both writes are skipped through the writer's cache (`cache.rs`) when
//! they would change nothing: a group registered already, a community
//! written with the same attributes. Most refreshes of a run touch the
//! same few groups and communities.

use amsync_core::community::Community;
use amsync_core::SecurityGroupRef;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::codec::ms;
use super::SqliteTx;
use crate::backend::{CommunityTx, GroupTx};
use crate::error::Result;

impl GroupTx for SqliteTx {
    async fn register_ams_group(&mut self, g: &SecurityGroupRef, at: DateTime<Utc>) -> Result<bool> {
        let folded = g.key.folded();
        if self.cache.group_known(&self.conn, &folded)? {
            return Ok(false);
        }
        self.conn
            .prepare_cached(
                "INSERT INTO security_groups (key_folded, key, name, source, first_seen) VALUES (?1, ?2, ?3, 'ams', ?4)
                 ON CONFLICT (key_folded) DO UPDATE SET first_seen = COALESCE(first_seen, excluded.first_seen),
                    name = COALESCE(name, excluded.name)
                 WHERE source = 'ams'",
            )?
            .execute(params![folded, g.key.as_str(), g.name, ms(at)])?;
        self.cache.note_group(folded);
        Ok(true)
    }
}

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
