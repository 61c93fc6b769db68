//! Content items, the access version and the reads an access decision
//! makes, in PostgreSQL (as `sqlite/access.rs`). A decision reads the
//! member and the version in one snapshot.

use std::collections::BTreeMap;

use amsync_core::access::ContentId;
use amsync_core::community::{Community, Membership};
use amsync_core::member::MemberDetails;
use amsync_core::record::{DisabledReason, MemberRecord};
use amsync_core::{CommunityKey, GroupKey, MemberKey};
use chrono::{DateTime, Utc};

use super::codec::{self, get, ts};
use super::communities::included_communities;
use super::members::{load_ams_groups, load_local_groups};
use super::{PgBackend, PgTx};
use crate::access_api::{AccessConfig, AccessFacts, ContentItem, EventLimit};
use crate::backend::{AccessReads, AccessTx};
use crate::error::Result;

pub(crate) async fn access_version(tx: &mut PgTx) -> Result<i64> {
    let row = tx.query_opt("SELECT value FROM counters WHERE name = 'access'", &[]).await?;
    Ok(row.map(|r| get(&r, 0)).transpose()?.unwrap_or(0))
}

async fn content_item(tx: &mut PgTx, id: &str) -> Result<Option<ContentItem>> {
    let Some(r) =
        tx.query_opt("SELECT id, name, created_at, updated_at FROM content_items WHERE id = $1", &[&id]).await?
    else {
        return Ok(None);
    };
    let rows = tx.query("SELECT group_key FROM content_groups WHERE content_id = $1 ORDER BY position", &[&id]).await?;
    let groups = rows.iter().map(|g| codec::key("group", get(g, 0)?)).collect::<Result<Vec<_>>>()?;
    Ok(Some(ContentItem {
        id: codec::key("content", get(&r, 0)?)?,
        name: get(&r, 1)?,
        groups,
        created_at: get(&r, 2)?,
        updated_at: get(&r, 3)?,
    }))
}

async fn access_config(tx: &mut PgTx) -> Result<AccessConfig> {
    let version = access_version(tx).await?;
    let communities = included_communities(tx).await?;

    let mut grants: BTreeMap<String, Vec<GroupKey>> = BTreeMap::new();
    for r in
        &tx.query("SELECT community_key, group_key FROM community_grants ORDER BY community_key, position", &[]).await?
    {
        grants.entry(get(r, 0)?).or_default().push(codec::key("group", get(r, 1)?)?);
    }
    let grants = grants
        .into_iter()
        .map(|(c, g)| Ok((codec::key::<CommunityKey>("community", c)?, g)))
        .collect::<Result<Vec<_>>>()?;

    // Items without groups are known too: they refuse everyone but SuperAdmin.
    let mut content: BTreeMap<String, Vec<GroupKey>> = BTreeMap::new();
    for r in &tx.query("SELECT id FROM content_items", &[]).await? {
        content.insert(get(r, 0)?, Vec::new());
    }
    for r in &tx.query("SELECT content_id, group_key FROM content_groups ORDER BY content_id, position", &[]).await? {
        content.entry(get(r, 0)?).or_default().push(codec::key("group", get(r, 1)?)?);
    }
    let content = content
        .into_iter()
        .map(|(id, g)| Ok((codec::key::<ContentId>("content", id)?, g)))
        .collect::<Result<Vec<_>>>()?;

    let mut events = Vec::new();
    for r in &tx.query("SELECT key, community_key, status FROM events", &[]).await? {
        events.push(EventLimit {
            key: codec::key("event", get(r, 0)?)?,
            community: get::<Option<String>>(r, 1)?.map(|c| codec::key("community", c)).transpose()?,
            status: codec::event_status(&get::<String>(r, 2)?)?,
        });
    }
    let mut is_member_groups = Vec::new();
    for r in &tx.query("SELECT key FROM security_groups WHERE is_member AND source = 'ams' ORDER BY key", &[]).await? {
        is_member_groups.push(codec::key("group", get(r, 0)?)?);
    }
    Ok(AccessConfig { version, communities, grants, content, events, is_member_groups })
}

/// The member as decisions read it: no details beyond key and status, and
/// memberships from their table.
async fn member_for_access(tx: &mut PgTx, key: &str) -> Result<AccessFacts> {
    let version = access_version(tx).await?;
    let Some(r) =
        tx.query_opt("SELECT status, disabled_reason, ams_status FROM members WHERE key = $1", &[&key]).await?
    else {
        return Ok(AccessFacts { version, member: None });
    };
    let (status, reason, ams_status): (String, Option<String>, String) = (get(&r, 0)?, get(&r, 1)?, get(&r, 2)?);
    let mut details = MemberDetails::empty(codec::key::<MemberKey>("member", key.to_string())?);
    details.status = codec::ams_status(&ams_status)?;
    let mut memberships = Vec::new();
    for r in &tx
        .query(
            "SELECT community_key, begin, \"end\", role FROM memberships WHERE member_key = $1
             ORDER BY community_key, begin",
            &[&key],
        )
        .await?
    {
        memberships.push(Membership {
            community: Community {
                key: codec::key("community", get(r, 0)?)?,
                name: None,
                community_type: None,
                group_type: None,
                group_subtype: None,
            },
            begin: get(r, 1)?,
            end: get(r, 2)?,
            role: get(r, 3)?,
        });
    }
    let record = MemberRecord {
        details,
        status: codec::member_status(&status)?,
        disabled_reason: reason.as_deref().and_then(DisabledReason::parse),
        merged_into: None,
        memberships,
        ams_groups: load_ams_groups(tx, key).await?,
        local_groups: load_local_groups(tx, key).await?,
    };
    Ok(AccessFacts { version, member: Some(record) })
}

impl AccessReads for PgBackend {
    async fn content_item(&self, id: &ContentId) -> Result<Option<ContentItem>> {
        let mut tx = self.snapshot().await?;
        let v = content_item(&mut tx, id.as_str()).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn access_version(&self) -> Result<i64> {
        access_version(&mut self.autocommit().await?).await
    }

    async fn access_config(&self) -> Result<AccessConfig> {
        let mut tx = self.snapshot().await?;
        let v = access_config(&mut tx).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn member_for_access(&self, key: &MemberKey) -> Result<AccessFacts> {
        let mut tx = self.snapshot().await?;
        let v = member_for_access(&mut tx, key.as_str()).await?;
        tx.commit().await?;
        Ok(v)
    }
}

impl AccessTx for PgTx {
    async fn bump_access_version(&mut self) -> Result<()> {
        self.exec("UPDATE counters SET value = value + 1 WHERE name = 'access'", &[]).await?;
        Ok(())
    }

    async fn content_item_now(&mut self, id: &ContentId) -> Result<Option<ContentItem>> {
        content_item(self, id.as_str()).await
    }

    async fn put_content_row(&mut self, id: &ContentId, name: Option<&str>, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "INSERT INTO content_items (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
            &[&id.as_str(), &name, &ts(at)],
        )
        .await?;
        Ok(())
    }

    async fn replace_content_groups(&mut self, id: &ContentId, groups: &[GroupKey]) -> Result<()> {
        let id = id.as_str();
        self.exec("DELETE FROM content_groups WHERE content_id = $1", &[&id]).await?;
        for (i, g) in groups.iter().enumerate() {
            self.exec(
                "INSERT INTO content_groups (content_id, group_folded, group_key, position) VALUES ($1, $2, $3, $4)",
                &[&id, &g.folded(), &g.as_str(), &(i as i32)],
            )
            .await?;
        }
        Ok(())
    }
}
