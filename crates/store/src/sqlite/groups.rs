//! Security groups in SQL: single operations (`GroupTx`) and reads. What an
//! admin's change does (and whose IsMember it flips) is `ops/groups.rs`.
//!
//! Every write that adds, removes or re-designates a group drops the
//! writer's cache, so the next refresh screens AMS groups against the
//! current built-in and local keys.

use std::collections::{BTreeMap, BTreeSet};

use amsync_core::group::IsMemberGroups;
use amsync_core::{GroupKey, GroupSource, MemberKey, SecurityGroupRef};
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::codec::{self, ms};
use super::writer::SqliteTx;
use super::SqliteBackend;
use crate::backend::{GroupReads, GroupTx, StoredGroup};
use crate::error::{Result, StoreError};

const SEEDED_LOCAL_GROUPS: &str = "seeded_local_groups";

/// A row of `security_groups`.
struct GroupRow {
    key: String,
    source: GroupSource,
    is_member: bool,
}

fn find(conn: &Connection, folded: &str) -> Result<Option<GroupRow>> {
    let row: Option<(String, String, bool)> = conn
        .prepare_cached("SELECT key, source, is_member FROM security_groups WHERE key_folded = ?1")?
        .query_row([folded], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    row.map(|(key, source, is_member)| Ok(GroupRow { key, source: codec::group_source(&source)?, is_member }))
        .transpose()
}

/// The AMS groups designated "counts as IsMember".
pub(crate) fn designated(conn: &Connection) -> Result<IsMemberGroups> {
    let mut stmt = conn.prepare_cached("SELECT key FROM security_groups WHERE is_member = 1 AND source = 'ams'")?;
    let keys = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .map(|k| codec::key::<GroupKey>("group", k?))
        .collect::<Result<Vec<_>>>()?;
    Ok(IsMemberGroups::new(&keys))
}

fn local_members(conn: &Connection, group: &str) -> Result<BTreeSet<String>> {
    let mut stmt = conn.prepare_cached("SELECT member_key FROM member_local_groups WHERE group_key = ?1")?;
    let rows = stmt.query_map([group], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl GroupReads for SqliteBackend {
    async fn group_members(&self, key: &GroupKey) -> Result<Vec<MemberKey>> {
        let key = key.clone();
        self.read_op(move |c| {
            let row = find(c, &key.folded())?.ok_or_else(|| StoreError::NotFound(format!("security group {key}")))?;
            local_members(c, &row.key)?.into_iter().map(|m| codec::key("member", m)).collect()
        })
        .await
    }
}

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

    async fn find_group(&mut self, folded: &str) -> Result<Option<StoredGroup>> {
        find(&self.conn, folded)?
            .map(|row| {
                Ok(StoredGroup { key: codec::key("group", row.key)?, source: row.source, is_member: row.is_member })
            })
            .transpose()
    }

    async fn designated_groups(&mut self) -> Result<Vec<GroupKey>> {
        let mut stmt =
            self.conn.prepare_cached("SELECT key FROM security_groups WHERE is_member = 1 AND source = 'ams'")?;
        let keys = stmt.query_map([], |r| r.get::<_, String>(0))?.map(|k| codec::key("group", k?)).collect();
        keys
    }

    async fn active_holders(&mut self, folded: &[&str]) -> Result<Vec<(MemberKey, Vec<String>)>> {
        let conn = &self.conn;
        // The spellings members carry (few distinct keys; the index answers).
        let mut stmt = conn.prepare_cached("SELECT DISTINCT group_key FROM member_ams_groups")?;
        let spellings: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .filter(|k| folded.contains(&k.to_lowercase().as_str()))
            .collect();
        if spellings.is_empty() {
            return Ok(Vec::new());
        }
        let marks = (1..=spellings.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT g.member_key, g.group_key FROM member_ams_groups g JOIN members m ON m.key = g.member_key
             WHERE m.status = 'active'
               AND g.member_key IN (SELECT t.member_key FROM member_ams_groups t WHERE t.group_key IN ({marks}))
             ORDER BY g.member_key"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(spellings.into_iter().map(Value::Text)), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut held: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in rows {
            let (member, group) = row?;
            held.entry(member).or_default().push(group);
        }
        held.into_iter().map(|(member, groups)| Ok((codec::key("member", member)?, groups))).collect()
    }

    async fn set_designation(&mut self, folded: &str, is_member: bool) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE security_groups SET is_member = ?2 WHERE key_folded = ?1")?
            .execute(params![folded, is_member])?;
        self.cache.invalidate();
        Ok(())
    }

    async fn set_group_name(&mut self, folded: &str, name: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE security_groups SET name = ?2 WHERE key_folded = ?1")?
            .execute(params![folded, name])?;
        Ok(())
    }

    async fn insert_local_group(&mut self, key: &GroupKey, name: &str) -> Result<()> {
        self.conn
            .prepare_cached("INSERT INTO security_groups (key_folded, key, name, source) VALUES (?1, ?2, ?3, 'local')")?
            .execute(params![key.folded(), key.as_str(), name])?;
        self.cache.invalidate();
        Ok(())
    }

    async fn insert_ams_group(&mut self, key: &GroupKey, name: Option<&str>, is_member: bool) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO security_groups (key_folded, key, name, source, is_member) VALUES (?1, ?2, ?3, 'ams', ?4)",
            )?
            .execute(params![key.folded(), key.as_str(), name, is_member])?;
        self.cache.invalidate();
        Ok(())
    }

    async fn delete_group(&mut self, folded: &str) -> Result<()> {
        let conn = &self.conn;
        conn.prepare_cached("DELETE FROM community_grants WHERE group_folded = ?1")?.execute([folded])?;
        conn.prepare_cached("DELETE FROM content_groups WHERE group_folded = ?1")?.execute([folded])?;
        conn.prepare_cached("DELETE FROM security_groups WHERE key_folded = ?1")?.execute([folded])?;
        self.cache.invalidate();
        Ok(())
    }

    async fn local_group_members(&mut self, group: &GroupKey) -> Result<Vec<MemberKey>> {
        local_members(&self.conn, group.as_str())?.into_iter().map(|m| codec::key("member", m)).collect()
    }

    async fn member_exists(&mut self, key: &MemberKey) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM members WHERE key = ?1")?
            .query_row([key.as_str()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    async fn add_local_membership(&mut self, member: &MemberKey, group: &GroupKey, at: DateTime<Utc>) -> Result<()> {
        self.conn
            .prepare_cached("INSERT INTO member_local_groups (member_key, group_key, added_at) VALUES (?1, ?2, ?3)")?
            .execute(params![member.as_str(), group.as_str(), ms(at)])?;
        Ok(())
    }

    async fn remove_local_memberships(&mut self, group: &GroupKey, member: Option<&MemberKey>) -> Result<()> {
        match member {
            Some(m) => self
                .conn
                .prepare_cached("DELETE FROM member_local_groups WHERE member_key = ?1 AND group_key = ?2")?
                .execute(params![m.as_str(), group.as_str()])?,
            None => self
                .conn
                .prepare_cached("DELETE FROM member_local_groups WHERE group_key = ?1")?
                .execute([group.as_str()])?,
        };
        Ok(())
    }

    async fn local_groups_seeded(&mut self) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM settings WHERE name = ?1")?
            .query_row([SEEDED_LOCAL_GROUPS], |_| Ok(()))
            .optional()?
            .is_some())
    }

    async fn mark_local_groups_seeded(&mut self, at: DateTime<Utc>) -> Result<()> {
        self.conn
            .prepare_cached("INSERT INTO settings (name, value, updated_at) VALUES (?1, 'true', ?2)")?
            .execute(params![SEEDED_LOCAL_GROUPS, ms(at)])?;
        Ok(())
    }
}
