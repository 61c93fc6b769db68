//! Access in SQL: content items (their writes are `ops/access.rs`), the
//! access version and the reads an access decision makes (the configuration, once per version; the
//! member, once per decision).

use std::collections::BTreeMap;

use amsync_core::access::ContentId;
use amsync_core::community::{Community, Membership};
use amsync_core::member::MemberDetails;
use amsync_core::record::{DisabledReason, MemberRecord};
use amsync_core::{CommunityKey, GroupKey, MemberKey};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{self, from_ms, ms};
use super::communities::included_communities;
use super::member_io as io;
use super::{SqliteBackend, SqliteTx};
use crate::access_api::{AccessConfig, AccessFacts, ContentItem, EventLimit};
use crate::backend::{AccessReads, AccessTx};
use crate::error::{Result, StoreError};

const ACCESS_COUNTER: &str = "access";

/// Marks every cached access policy stale. Called in the transaction of
/// each write that changes what a policy is built from.
pub(crate) fn bump_access_version(conn: &Connection) -> Result<()> {
    conn.prepare_cached("UPDATE counters SET value = value + 1 WHERE name = ?1")?.execute([ACCESS_COUNTER])?;
    Ok(())
}

pub(crate) fn access_version(conn: &Connection) -> Result<i64> {
    let v: Option<i64> = conn
        .prepare_cached("SELECT value FROM counters WHERE name = ?1")?
        .query_row([ACCESS_COUNTER], |r| r.get(0))
        .optional()?;
    Ok(v.unwrap_or(0))
}

fn content_groups(conn: &Connection, id: &str) -> Result<Vec<GroupKey>> {
    let mut stmt =
        conn.prepare_cached("SELECT group_key FROM content_groups WHERE content_id = ?1 ORDER BY position")?;
    let rows = stmt.query_map([id], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(codec::key("group", row?)?);
    }
    Ok(out)
}

fn content_item(conn: &Connection, id: &str) -> Result<Option<ContentItem>> {
    let row: Option<(String, Option<String>, i64, i64)> = conn
        .prepare_cached("SELECT id, name, created_at, updated_at FROM content_items WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((id, name, created_at, updated_at)) = row else { return Ok(None) };
    let groups = content_groups(conn, &id)?;
    Ok(Some(ContentItem {
        id: codec::key("content", id)?,
        name,
        groups,
        created_at: from_ms(created_at),
        updated_at: from_ms(updated_at),
    }))
}

fn access_config(conn: &Connection) -> Result<AccessConfig> {
    let version = access_version(conn)?;
    let communities = included_communities(conn)?;

    let mut grants: BTreeMap<String, Vec<GroupKey>> = BTreeMap::new();
    let mut stmt =
        conn.prepare_cached("SELECT community_key, group_key FROM community_grants ORDER BY community_key, position")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        grants.entry(r.get(0)?).or_default().push(codec::key("group", r.get::<_, String>(1)?)?);
    }
    let grants = grants
        .into_iter()
        .map(|(c, g)| Ok((codec::key::<CommunityKey>("community", c)?, g)))
        .collect::<Result<Vec<_>>>()?;

    // Items without groups are known too: they refuse everyone but SuperAdmin.
    let mut content: BTreeMap<String, Vec<GroupKey>> = BTreeMap::new();
    let mut stmt = conn.prepare_cached("SELECT id FROM content_items")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        content.insert(r.get(0)?, Vec::new());
    }
    let mut stmt =
        conn.prepare_cached("SELECT content_id, group_key FROM content_groups ORDER BY content_id, position")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        content.entry(r.get(0)?).or_default().push(codec::key("group", r.get::<_, String>(1)?)?);
    }
    let content = content
        .into_iter()
        .map(|(id, g)| Ok((codec::key::<ContentId>("content", id)?, g)))
        .collect::<Result<Vec<_>>>()?;

    let mut events = Vec::new();
    let mut stmt = conn.prepare_cached("SELECT key, community_key, status FROM events")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        events.push(EventLimit {
            key: codec::key("event", r.get::<_, String>(0)?)?,
            community: r.get::<_, Option<String>>(1)?.map(|c| codec::key("community", c)).transpose()?,
            status: codec::event_status(&r.get::<_, String>(2)?)?,
        });
    }

    let mut is_member_groups = Vec::new();
    let mut stmt =
        conn.prepare_cached("SELECT key FROM security_groups WHERE is_member = 1 AND source = 'ams' ORDER BY key")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        is_member_groups.push(codec::key("group", r.get::<_, String>(0)?)?);
    }
    Ok(AccessConfig { version, communities, grants, content, events, is_member_groups })
}

/// The member as decisions read it: no details beyond key and status, and
/// memberships from their table (no payload to decode).
fn member_for_access(conn: &Connection, key: &str) -> Result<AccessFacts> {
    let version = access_version(conn)?;
    let row: Option<(String, Option<String>, String)> = conn
        .prepare_cached("SELECT status, disabled_reason, ams_status FROM members WHERE key = ?1")?
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((status, reason, ams_status)) = row else { return Ok(AccessFacts { version, member: None }) };
    let member_key: MemberKey = codec::key("member", key.to_string())?;
    let mut details = MemberDetails::empty(member_key);
    details.status = codec::ams_status(&ams_status)?;
    let mut memberships = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT community_key, begin, end, role FROM memberships WHERE member_key = ?1 ORDER BY community_key, begin",
    )?;
    let mut rows = stmt.query([key])?;
    while let Some(r) = rows.next()? {
        let date = |s: String| {
            s.parse().map_err(|_| StoreError::Database(format!("stored membership date {s:?} is not a date")))
        };
        memberships.push(Membership {
            community: Community {
                key: codec::key("community", r.get::<_, String>(0)?)?,
                name: None,
                community_type: None,
                group_type: None,
                group_subtype: None,
            },
            begin: date(r.get(1)?)?,
            end: r.get::<_, Option<String>>(2)?.map(date).transpose()?,
            role: r.get(3)?,
        });
    }
    let record = MemberRecord {
        details,
        status: codec::member_status(&status)?,
        disabled_reason: reason.as_deref().and_then(DisabledReason::parse),
        merged_into: None,
        memberships,
        ams_groups: io::load_ams_groups(conn, key)?,
        local_groups: io::load_local_groups(conn, key)?,
    };
    Ok(AccessFacts { version, member: Some(record) })
}

impl AccessReads for SqliteBackend {
    async fn content_item(&self, id: &ContentId) -> Result<Option<ContentItem>> {
        let id = id.as_str().to_owned();
        self.read_op(move |c| content_item(c, &id)).await
    }

    async fn access_version(&self) -> Result<i64> {
        self.quick_read(access_version).await
    }

    async fn access_config(&self) -> Result<AccessConfig> {
        self.read_op(access_config).await
    }

    async fn member_for_access(&self, key: &MemberKey) -> Result<AccessFacts> {
        let key = key.as_str().to_owned();
        self.quick_read(move |c| member_for_access(c, &key)).await
    }
}

impl AccessTx for SqliteTx {
    async fn bump_access_version(&mut self) -> Result<()> {
        bump_access_version(&self.conn)
    }

    async fn content_item_now(&mut self, id: &ContentId) -> Result<Option<ContentItem>> {
        content_item(&self.conn, id.as_str())
    }

    async fn put_content_row(&mut self, id: &ContentId, name: Option<&str>, at: DateTime<Utc>) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO content_items (id, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
            )?
            .execute(params![id.as_str(), name, ms(at)])?;
        Ok(())
    }

    async fn replace_content_groups(&mut self, id: &ContentId, groups: &[GroupKey]) -> Result<()> {
        let id = id.as_str();
        self.conn.prepare_cached("DELETE FROM content_groups WHERE content_id = ?1")?.execute([id])?;
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO content_groups (content_id, group_folded, group_key, position) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (i, g) in groups.iter().enumerate() {
            insert.execute(params![id, g.folded(), g.as_str(), i as i64])?;
        }
        Ok(())
    }
}
