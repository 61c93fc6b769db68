//! Security groups in PostgreSQL: single operations (`GroupTx`) and reads,
//! as `sqlite/groups.rs`. What an admin's change does (and whose IsMember
//! it flips) is `ops/groups.rs`.
//!
//! SQLite's writer remembers the groups it registered; here another node
//! may register one between two of our transactions, so a registration
//! looks the group up first, in the transaction (a plain read: an
//! `ON CONFLICT DO UPDATE … WHERE` that writes nothing still locks the
//! row). A write that adds, removes or re-designates a group drops what
//! this transaction read for planning a refresh.

use std::collections::{BTreeMap, BTreeSet};

use amsync_core::{GroupKey, GroupSource, MemberKey, SecurityGroupRef};
use chrono::{DateTime, Utc};

use super::codec::{self, get, ts};
use super::{PgBackend, PgTx};
use crate::backend::{GroupReads, GroupTx, StoredGroup};
use crate::error::{Result, StoreError};

const SEEDED_LOCAL_GROUPS: &str = "seeded_local_groups";

/// A row of `security_groups`.
struct GroupRow {
    key: String,
    source: GroupSource,
    is_member: bool,
}

async fn find(tx: &mut PgTx, folded: &str) -> Result<Option<GroupRow>> {
    let row =
        tx.query_opt("SELECT key, source, is_member FROM security_groups WHERE key_folded = $1", &[&folded]).await?;
    row.map(|r| {
        Ok(GroupRow { key: get(&r, 0)?, source: codec::group_source(&get::<String>(&r, 1)?)?, is_member: get(&r, 2)? })
    })
    .transpose()
}

async fn local_members(tx: &mut PgTx, group: &str) -> Result<BTreeSet<String>> {
    let rows = tx.query("SELECT member_key FROM member_local_groups WHERE group_key = $1", &[&group]).await?;
    rows.iter().map(|r| get(r, 0)).collect()
}

impl GroupReads for PgBackend {
    async fn group_members(&self, key: &GroupKey) -> Result<Vec<MemberKey>> {
        let mut tx = self.snapshot().await?;
        let row =
            find(&mut tx, &key.folded()).await?.ok_or_else(|| StoreError::NotFound(format!("security group {key}")))?;
        let members = local_members(&mut tx, &row.key).await?;
        tx.commit().await?;
        members.into_iter().map(|m| codec::key("member", m)).collect()
    }
}

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

    async fn find_group(&mut self, folded: &str) -> Result<Option<StoredGroup>> {
        find(self, folded)
            .await?
            .map(|row| {
                Ok(StoredGroup { key: codec::key("group", row.key)?, source: row.source, is_member: row.is_member })
            })
            .transpose()
    }

    async fn designated_groups(&mut self) -> Result<Vec<GroupKey>> {
        let rows = self.query("SELECT key FROM security_groups WHERE is_member AND source = 'ams'", &[]).await?;
        rows.iter().map(|r| codec::key("group", get(r, 0)?)).collect()
    }

    async fn active_holders(&mut self, folded: &[&str]) -> Result<Vec<(MemberKey, Vec<String>)>> {
        // The spellings members carry (few distinct keys; the index answers).
        let rows = self.query("SELECT DISTINCT group_key FROM member_ams_groups", &[]).await?;
        let spellings: Vec<String> = rows
            .iter()
            .map(|r| get::<String>(r, 0))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|k| folded.contains(&k.to_lowercase().as_str()))
            .collect();
        if spellings.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self
            .query(
                "SELECT g.member_key, g.group_key FROM member_ams_groups g JOIN members m ON m.key = g.member_key
                 WHERE m.status = 'active'
                   AND g.member_key IN (SELECT t.member_key FROM member_ams_groups t WHERE t.group_key = ANY($1))
                 ORDER BY g.member_key",
                &[&spellings],
            )
            .await?;
        let mut held: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &rows {
            held.entry(get(r, 0)?).or_default().push(get(r, 1)?);
        }
        held.into_iter().map(|(member, groups)| Ok((codec::key("member", member)?, groups))).collect()
    }

    async fn set_designation(&mut self, folded: &str, is_member: bool) -> Result<()> {
        self.exec("UPDATE security_groups SET is_member = $2 WHERE key_folded = $1", &[&folded, &is_member]).await?;
        self.plan = None;
        Ok(())
    }

    async fn set_group_name(&mut self, folded: &str, name: &str) -> Result<()> {
        self.exec("UPDATE security_groups SET name = $2 WHERE key_folded = $1", &[&folded, &name]).await?;
        Ok(())
    }

    async fn insert_local_group(&mut self, key: &GroupKey, name: &str) -> Result<()> {
        self.exec(
            "INSERT INTO security_groups (key_folded, key, name, source) VALUES ($1, $2, $3, 'local')",
            &[&key.folded(), &key.as_str(), &name],
        )
        .await?;
        self.plan = None;
        Ok(())
    }

    async fn insert_ams_group(&mut self, key: &GroupKey, name: Option<&str>, is_member: bool) -> Result<()> {
        self.exec(
            "INSERT INTO security_groups (key_folded, key, name, source, is_member) VALUES ($1, $2, $3, 'ams', $4)",
            &[&key.folded(), &key.as_str(), &name, &is_member],
        )
        .await?;
        self.plan = None;
        Ok(())
    }

    async fn delete_group(&mut self, folded: &str) -> Result<()> {
        self.exec("DELETE FROM community_grants WHERE group_folded = $1", &[&folded]).await?;
        self.exec("DELETE FROM content_groups WHERE group_folded = $1", &[&folded]).await?;
        self.exec("DELETE FROM security_groups WHERE key_folded = $1", &[&folded]).await?;
        self.plan = None;
        Ok(())
    }

    async fn local_group_members(&mut self, group: &GroupKey) -> Result<Vec<MemberKey>> {
        local_members(self, group.as_str()).await?.into_iter().map(|m| codec::key("member", m)).collect()
    }

    async fn member_exists(&mut self, key: &MemberKey) -> Result<bool> {
        Ok(self.query_opt("SELECT 1 FROM members WHERE key = $1", &[&key.as_str()]).await?.is_some())
    }

    async fn add_local_membership(&mut self, member: &MemberKey, group: &GroupKey, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "INSERT INTO member_local_groups (member_key, group_key, added_at) VALUES ($1, $2, $3)",
            &[&member.as_str(), &group.as_str(), &ts(at)],
        )
        .await?;
        Ok(())
    }

    async fn remove_local_memberships(&mut self, group: &GroupKey, member: Option<&MemberKey>) -> Result<()> {
        match member {
            Some(m) => {
                self.exec(
                    "DELETE FROM member_local_groups WHERE member_key = $1 AND group_key = $2",
                    &[&m.as_str(), &group.as_str()],
                )
                .await?
            }
            None => self.exec("DELETE FROM member_local_groups WHERE group_key = $1", &[&group.as_str()]).await?,
        };
        Ok(())
    }

    async fn local_groups_seeded(&mut self) -> Result<bool> {
        Ok(self.query_opt("SELECT 1 FROM settings WHERE name = $1", &[&SEEDED_LOCAL_GROUPS]).await?.is_some())
    }

    async fn mark_local_groups_seeded(&mut self, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "INSERT INTO settings (name, value, updated_at) VALUES ($1, 'true', $2)",
            &[&SEEDED_LOCAL_GROUPS, &ts(at)],
        )
        .await?;
        Ok(())
    }
}
