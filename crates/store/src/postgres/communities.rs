//! Communities in PostgreSQL: the communities the rules include (every
//! community seen is stored; excluded ones are hidden here, not deleted, so
//! a rule change brings them back), member counts for a day, and grants.

use std::collections::HashMap;

use amsync_core::community::Community;
use amsync_core::rules::RuleSet;
use amsync_core::{CommunityKey, GroupKey};
use chrono::{DateTime, NaiveDate, Utc};
use tokio_postgres::Row;

use super::codec::{self, count, get, ts};
use super::settings::read_rules;
use super::{PgBackend, PgTx};
use crate::access_api::CommunitySummary;
use crate::backend::{CommunityReads, CommunityTx};
use crate::error::Result;

const COLUMNS: &str = "key, name, type, group_type, group_subtype";

fn community(r: &Row) -> Result<Community> {
    Ok(Community {
        key: codec::key("community", get(r, 0)?)?,
        name: get(r, 1)?,
        community_type: get(r, 2)?,
        group_type: get(r, 3)?,
        group_subtype: get(r, 4)?,
    })
}

/// Every stored community the current rules include, by key.
pub(crate) async fn included_communities(tx: &mut PgTx) -> Result<Vec<Community>> {
    let rules = read_rules(tx).await?;
    let rows = tx.query(&format!("SELECT {COLUMNS} FROM communities ORDER BY key"), &[]).await?;
    let mut out = Vec::new();
    for r in &rows {
        let c = community(r)?;
        if rules.includes(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

async fn included_community(tx: &mut PgTx, rules: &RuleSet, key: &str) -> Result<Option<Community>> {
    let row = tx.query_opt(&format!("SELECT {COLUMNS} FROM communities WHERE key = $1"), &[&key]).await?;
    Ok(row.as_ref().map(community).transpose()?.filter(|c| rules.includes(c)))
}

pub(crate) async fn grants(tx: &mut PgTx, community: &str) -> Result<Vec<GroupKey>> {
    let rows = tx
        .query("SELECT group_key FROM community_grants WHERE community_key = $1 ORDER BY position", &[&community])
        .await?;
    rows.iter().map(|r| codec::key("group", get(r, 0)?)).collect()
}

impl CommunityReads for PgBackend {
    async fn list_communities(&self, day: NaiveDate) -> Result<Vec<CommunitySummary>> {
        let mut tx = self.snapshot().await?;
        let communities = included_communities(&mut tx).await?;
        let rows = tx
            .query(
                "SELECT ms.community_key, COUNT(DISTINCT ms.member_key)
                 FROM memberships ms JOIN members m ON m.key = ms.member_key
                 WHERE m.status = 'active' AND ms.begin <= $1 AND (ms.\"end\" IS NULL OR ms.\"end\" >= $1)
                 GROUP BY ms.community_key",
                &[&day],
            )
            .await?;
        tx.commit().await?;
        let mut counts: HashMap<String, u64> = HashMap::new();
        for r in &rows {
            counts.insert(get(r, 0)?, count(get(r, 1)?));
        }
        Ok(communities
            .into_iter()
            .map(|c| {
                let current_members = counts.get(c.key.as_str()).copied().unwrap_or(0);
                CommunitySummary { community: c, current_members }
            })
            .collect())
    }

    async fn community(&self, key: &CommunityKey) -> Result<Option<Community>> {
        let mut tx = self.snapshot().await?;
        let rules = read_rules(&mut tx).await?;
        let c = included_community(&mut tx, &rules, key.as_str()).await?;
        tx.commit().await?;
        Ok(c)
    }

    async fn community_grants(&self, key: &CommunityKey) -> Result<Vec<GroupKey>> {
        grants(&mut self.autocommit().await?, key.as_str()).await
    }
}

/// SQLite's writer remembers the communities it wrote; here another node
/// may write one between two of our transactions, so it is looked up
/// first, in the transaction, and written only when new or changed. The
/// look-up is a plain read: an `ON CONFLICT DO UPDATE … WHERE` that ends up
/// writing nothing still locks the row, and every commit naming a popular
/// community would then wait for the one before it.
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

    async fn stored_community(&mut self, key: &str) -> Result<Option<Community>> {
        let row = self.query_opt(&format!("SELECT {COLUMNS} FROM communities WHERE key = $1"), &[&key]).await?;
        row.as_ref().map(community).transpose()
    }

    async fn replace_community_grants(&mut self, community: &str, groups: &[GroupKey]) -> Result<()> {
        self.exec("DELETE FROM community_grants WHERE community_key = $1", &[&community]).await?;
        for (i, g) in groups.iter().enumerate() {
            self.exec(
                "INSERT INTO community_grants (community_key, group_folded, group_key, position) VALUES ($1, $2, $3, $4)",
                &[&community, &g.folded(), &g.as_str(), &(i as i32)],
            )
            .await?;
        }
        Ok(())
    }
}
