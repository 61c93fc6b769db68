//! Watermarks, the source's paused state and node heartbeats in SQL: single
//! operations (`SyncStateTx`) and reads; that a watermark never moves
//! backwards is `ops/sync_state.rs`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::codec::{from_ms, ms, opt_from_ms};
use super::{SqliteBackend, SqliteTx};
use crate::backend::{SyncStateReads, SyncStateTx};
use crate::error::{Result, StoreError};
use crate::types::{NodeInfo, SourceState};

impl SyncStateReads for SqliteBackend {
    async fn watermark(&self, name: &str) -> Result<Option<DateTime<Utc>>> {
        let name = name.to_owned();
        self.read_op(move |c| {
            Ok(c.prepare_cached("SELECT at FROM watermarks WHERE name = ?1")?
                .query_row([&name], |r| r.get::<_, i64>(0))
                .optional()?
                .map(from_ms))
        })
        .await
    }

    async fn source_state(&self) -> Result<SourceState> {
        self.read_op(|c| {
            Ok(c.prepare_cached("SELECT paused, reason, since FROM source_state WHERE id = 1")?
                .query_row([], |r| {
                    Ok(SourceState { paused: r.get(0)?, reason: r.get(1)?, since: opt_from_ms(r.get(2)?) })
                })
                .optional()?
                .unwrap_or(SourceState { paused: false, reason: None, since: None }))
        })
        .await
    }

    async fn live_nodes(&self, now: DateTime<Utc>, ttl: Duration) -> Result<Vec<NodeInfo>> {
        let since = ms(now) - ttl.as_millis().min(i64::MAX as u128) as i64;
        self.read_op(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, role, last_seen, task_restarts FROM nodes WHERE last_seen >= ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([since], |r| {
                let restarts: Option<String> = r.get(3)?;
                Ok(NodeInfo {
                    id: r.get(0)?,
                    role: r.get(1)?,
                    last_seen: from_ms(r.get(2)?),
                    // Written by this code as JSON; an unreadable value
                    // (a newer binary's shape) shows as none, not an error.
                    task_restarts: restarts.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default(),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }
}

impl SyncStateTx for SqliteTx {
    async fn stored_watermark(&mut self, name: &str) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .conn
            .prepare_cached("SELECT at FROM watermarks WHERE name = ?1")?
            .query_row([name], |r| r.get::<_, i64>(0))
            .optional()?
            .map(from_ms))
    }

    async fn put_watermark(&mut self, name: &str, at: DateTime<Utc>) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO watermarks (name, at) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET at = excluded.at",
            )?
            .execute(params![name, ms(at)])?;
        Ok(())
    }

    async fn put_source_state(&mut self, s: &SourceState) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO source_state (id, paused, reason, since) VALUES (1, ?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET paused = excluded.paused, reason = excluded.reason,
                    since = excluded.since",
            )?
            .execute(params![s.paused, s.reason, s.since.map(ms)])?;
        Ok(())
    }

    async fn put_node(&mut self, n: &NodeInfo) -> Result<()> {
        // None when all is well, so a healthy node's row stays as small as before.
        let restarts = (!n.task_restarts.is_empty())
            .then(|| serde_json::to_string(&n.task_restarts))
            .transpose()
            .map_err(|e| StoreError::Invalid(format!("task restarts: {e}")))?;
        self.conn
            .prepare_cached(
                "INSERT INTO nodes (id, role, last_seen, task_restarts) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET role = excluded.role, last_seen = excluded.last_seen,
                    task_restarts = excluded.task_restarts",
            )?
            .execute(params![n.id, n.role, ms(n.last_seen), restarts])?;
        Ok(())
    }
}
