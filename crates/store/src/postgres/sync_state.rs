//! Watermarks, the source's paused state and node heartbeats in
//! PostgreSQL: single operations (`SyncStateTx`) and reads, as
//! `sqlite/sync_state.rs`; that a watermark never moves backwards is
//! `ops/sync_state.rs`.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::codec::{get, opt_ts, ts};
use super::{PgBackend, PgTx};
use crate::backend::{SyncStateReads, SyncStateTx};
use crate::error::{Result, StoreError};
use crate::types::{NodeInfo, SourceState};

impl SyncStateReads for PgBackend {
    async fn watermark(&self, name: &str) -> Result<Option<DateTime<Utc>>> {
        let mut tx = self.autocommit().await?;
        let row = tx.query_opt("SELECT at FROM watermarks WHERE name = $1", &[&name]).await?;
        row.map(|r| get(&r, 0)).transpose()
    }

    async fn source_state(&self) -> Result<SourceState> {
        let mut tx = self.autocommit().await?;
        let row = tx.query_opt("SELECT paused, reason, since FROM source_state WHERE id = 1", &[]).await?;
        match row {
            Some(r) => Ok(SourceState { paused: get(&r, 0)?, reason: get(&r, 1)?, since: get(&r, 2)? }),
            None => Ok(SourceState { paused: false, reason: None, since: None }),
        }
    }

    async fn live_nodes(&self, now: DateTime<Utc>, ttl: Duration) -> Result<Vec<NodeInfo>> {
        let since = ts(now) - chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX / 2);
        let mut tx = self.autocommit().await?;
        let rows = tx
            .query(
                "SELECT id, role, last_seen, task_restarts::text FROM nodes WHERE last_seen >= $1 ORDER BY id",
                &[&since],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let restarts: Option<String> = get(r, 3)?;
                Ok(NodeInfo {
                    id: get(r, 0)?,
                    role: get(r, 1)?,
                    last_seen: get(r, 2)?,
                    // An unreadable value (a newer binary's shape) shows as none.
                    task_restarts: restarts.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default(),
                })
            })
            .collect()
    }
}

impl SyncStateTx for PgTx {
    async fn stored_watermark(&mut self, name: &str) -> Result<Option<DateTime<Utc>>> {
        let row = self.query_opt("SELECT at FROM watermarks WHERE name = $1", &[&name]).await?;
        row.map(|r| get(&r, 0)).transpose()
    }

    async fn put_watermark(&mut self, name: &str, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "INSERT INTO watermarks (name, at) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET at = excluded.at",
            &[&name, &ts(at)],
        )
        .await?;
        Ok(())
    }

    async fn put_source_state(&mut self, s: &SourceState) -> Result<()> {
        self.exec(
            "INSERT INTO source_state (id, paused, reason, since) VALUES (1, $1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET paused = excluded.paused, reason = excluded.reason,
                since = excluded.since",
            &[&s.paused, &s.reason, &opt_ts(s.since)],
        )
        .await?;
        Ok(())
    }

    async fn put_node(&mut self, n: &NodeInfo) -> Result<()> {
        // None when all is well, so a healthy node's row stays small.
        let restarts = (!n.task_restarts.is_empty())
            .then(|| serde_json::to_string(&n.task_restarts))
            .transpose()
            .map_err(|e| StoreError::Invalid(format!("task restarts: {e}")))?;
        self.exec(
            "INSERT INTO nodes (id, role, last_seen, task_restarts) VALUES ($1, $2, $3, $4::text::jsonb)
             ON CONFLICT (id) DO UPDATE SET role = excluded.role, last_seen = excluded.last_seen,
                task_restarts = excluded.task_restarts",
            &[&n.id, &n.role, &ts(n.last_seen), &restarts],
        )
        .await?;
        Ok(())
    }
}
