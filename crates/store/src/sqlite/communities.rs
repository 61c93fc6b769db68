//! Communities in SQL: the reads (the communities the rules include; every
//! community seen is stored, excluded ones are hidden here, not deleted, so
//! a rule change brings them back; member counts for a day; grants) and
//! `CommunityTx`: the upsert a refresh commit makes and the grants an
//! admin sets (`ops/communities.rs`).
//!
//! The upsert is skipped through the writer's cache (`cache.rs`) when it
//! would change nothing (a community written with the same attributes):
//! most refreshes of a run touch the same few communities.

use std::collections::HashMap;

use amsync_core::community::Community;
use amsync_core::rules::RuleSet;
use amsync_core::{CommunityKey, GroupKey};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::cache::read_rules;
use super::codec::{self, count, ms};
use super::{SqliteBackend, SqliteTx};
use crate::access_api::CommunitySummary;
use crate::backend::{CommunityReads, CommunityTx};
use crate::error::Result;

const COLUMNS: &str = "key, name, type, group_type, group_subtype";

fn community_row(r: &Row<'_>) -> rusqlite::Result<(String, [Option<String>; 4])> {
    Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]))
}

fn to_community(
    (key, [name, community_type, group_type, group_subtype]): (String, [Option<String>; 4]),
) -> Result<Community> {
    Ok(Community { key: codec::key("community", key)?, name, community_type, group_type, group_subtype })
}

/// Every stored community the current rules include, by key.
pub(crate) fn included_communities(conn: &Connection) -> Result<Vec<Community>> {
    let rules = read_rules(conn)?;
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM communities ORDER BY key"))?;
    let rows = stmt.query_map([], community_row)?;
    let mut out = Vec::new();
    for row in rows {
        let c = to_community(row?)?;
        if rules.includes(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

fn included_community(conn: &Connection, rules: &RuleSet, key: &str) -> Result<Option<Community>> {
    let row = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM communities WHERE key = ?1"))?
        .query_row([key], community_row)
        .optional()?;
    Ok(row.map(to_community).transpose()?.filter(|c| rules.includes(c)))
}

fn list(conn: &Connection, day: NaiveDate) -> Result<Vec<CommunitySummary>> {
    let communities = included_communities(conn)?;
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT ms.community_key, COUNT(DISTINCT ms.member_key)
         FROM memberships ms JOIN members m ON m.key = ms.member_key
         WHERE m.status = 'active' AND ms.begin <= ?1 AND (ms.end IS NULL OR ms.end >= ?1)
         GROUP BY ms.community_key",
    )?;
    let rows = stmt.query_map([day.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (k, n) = row?;
        counts.insert(k, count(n));
    }
    Ok(communities
        .into_iter()
        .map(|c| {
            let current_members = counts.get(c.key.as_str()).copied().unwrap_or(0);
            CommunitySummary { community: c, current_members }
        })
        .collect())
}

pub(crate) fn grants(conn: &Connection, community: &str) -> Result<Vec<GroupKey>> {
    let mut stmt =
        conn.prepare_cached("SELECT group_key FROM community_grants WHERE community_key = ?1 ORDER BY position")?;
    let rows = stmt.query_map([community], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(codec::key("group", row?)?);
    }
    Ok(out)
}

impl CommunityReads for SqliteBackend {
    async fn list_communities(&self, day: NaiveDate) -> Result<Vec<CommunitySummary>> {
        self.read_op(move |c| list(c, day)).await
    }

    async fn community(&self, key: &CommunityKey) -> Result<Option<Community>> {
        let key = key.as_str().to_owned();
        self.read_op(move |c| included_community(c, &read_rules(c)?, &key)).await
    }

    async fn community_grants(&self, key: &CommunityKey) -> Result<Vec<GroupKey>> {
        let key = key.as_str().to_owned();
        self.read_op(move |c| grants(c, &key)).await
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

    async fn stored_community(&mut self, key: &str) -> Result<Option<Community>> {
        let row = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM communities WHERE key = ?1"))?
            .query_row([key], community_row)
            .optional()?;
        row.map(to_community).transpose()
    }

    async fn replace_community_grants(&mut self, community: &str, groups: &[GroupKey]) -> Result<()> {
        let conn = &self.conn;
        conn.prepare_cached("DELETE FROM community_grants WHERE community_key = ?1")?.execute([community])?;
        let mut insert = conn.prepare_cached(
            "INSERT INTO community_grants (community_key, group_folded, group_key, position) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (i, g) in groups.iter().enumerate() {
            insert.execute(params![community, g.folded(), g.as_str(), i as i64])?;
        }
        Ok(())
    }
}
