//! Communities in PostgreSQL: the communities the rules include (every
//! community seen is stored; excluded ones are hidden here, not deleted, so
//! a rule change brings them back), member counts for a day, and grants.

use std::collections::HashMap;

use amsync_core::community::Community;
use amsync_core::rules::RuleSet;
use amsync_core::{CommunityKey, GroupKey};
use chrono::NaiveDate;
use tokio_postgres::Row;

use super::codec::{self, count, get};
use super::groups::resolve_groups;
use super::settings::read_rules;
use super::{PgBackend, PgOp, PgTx};
use crate::access_api::CommunitySummary;
use crate::backend::{AccessTx, CommunityReads, CommunityWritesPhase2};
use crate::error::{Result, StoreError};

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

// seam: phase 2 — replacing a community's grants.
struct SetGrants {
    community: String,
    groups: Vec<GroupKey>,
}

impl PgOp for SetGrants {
    type Output = Vec<GroupKey>;

    async fn run(&mut self, tx: &mut PgTx) -> Result<Vec<GroupKey>> {
        let community = self.community.as_str();
        let rules = read_rules(tx).await?;
        if included_community(tx, &rules, community).await?.is_none() {
            return Err(StoreError::NotFound(format!("community {community}")));
        }
        let groups = resolve_groups(tx, &self.groups).await?;
        tx.exec("DELETE FROM community_grants WHERE community_key = $1", &[&community]).await?;
        for (i, g) in groups.iter().enumerate() {
            tx.exec(
                "INSERT INTO community_grants (community_key, group_folded, group_key, position) VALUES ($1, $2, $3, $4)",
                &[&community, &g.folded(), &g.as_str(), &(i as i32)],
            )
            .await?;
        }
        tx.bump_access_version().await?;
        tracing::info!(community, groups = groups.len(), "community grants replaced");
        Ok(groups)
    }
}

impl CommunityWritesPhase2 for PgBackend {
    async fn set_community_grants(&self, key: &CommunityKey, groups: &[GroupKey]) -> Result<Vec<GroupKey>> {
        self.run(SetGrants { community: key.as_str().to_owned(), groups: groups.to_vec() }).await
    }
}
