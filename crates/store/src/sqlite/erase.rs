//! Erasing a member's rows and its tombstone in SQL (`EraseTx`; the erase
//! itself is `ops/erase.rs`), and reading tombstones.
//!
//! `member_data.rs` lists every table that holds a member key and what
//! happens to it here; a conformance test holds the schema, that list and
//! this code together.
//!
//! Deleted rows must not survive in the files either: the writer's
//! connection runs with `secure_delete` (freed content is overwritten),
//! and the admin's erase asks the writer to empty the write-ahead log once
//! it has committed (the WAL still holds the pages as they were before;
//! [`EraseTx::forget_deleted_after_commit`]).

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{self, from_ms, ms};
use super::{retention, SqliteTx};
use crate::backend::{EraseTx, MemberDataDeleted, Prunable};
use crate::data_protection::Tombstone;
use crate::error::Result;
use crate::safety_api::ApprovalId;
use crate::types::RunId;

impl EraseTx for SqliteTx {
    async fn is_tombstoned(&mut self, key: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM tombstones WHERE member_key = ?1)")?
            .query_row([key], |r| r.get(0))?)
    }

    async fn tombstone_of(&mut self, key: &str) -> Result<Option<Tombstone>> {
        tombstone(&self.conn, key)
    }

    async fn insert_tombstone(
        &mut self,
        key: &str,
        actor: &str,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO tombstones (member_key, erased_at, actor, reason) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (member_key) DO NOTHING",
            )?
            .execute(params![key, ms(at), actor, reason])?;
        Ok(inserted > 0)
    }

    async fn delete_tombstone(&mut self, key: &str) -> Result<bool> {
        Ok(delete(&self.conn, "DELETE FROM tombstones WHERE member_key = ?1", key)? > 0)
    }

    async fn delete_member_row(&mut self, key: &str) -> Result<u64> {
        delete(&self.conn, "DELETE FROM members WHERE key = ?1", key)
    }

    async fn delete_feed_history(&mut self, key: &str) -> Result<u64> {
        // A scan of the feed, which has no index by member (the admin's
        // erase only). Never the newest entry (see the trait).
        let below: i64 =
            self.conn.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM change_feed")?.query_row([], |r| r.get(0))?;
        Ok(self
            .conn
            .prepare_cached("DELETE FROM change_feed WHERE member_key = ?1 AND seq < ?2 AND kind <> 'erased'")?
            .execute(params![key, below])? as u64)
    }

    async fn delete_member_data(&mut self, key: &str) -> Result<MemberDataDeleted> {
        let conn = &self.conn;
        Ok(MemberDataDeleted {
            memberships: delete(conn, "DELETE FROM memberships WHERE member_key = ?1", key)?,
            groups: delete(conn, "DELETE FROM member_ams_groups WHERE member_key = ?1", key)?
                + delete(conn, "DELETE FROM member_local_groups WHERE member_key = ?1", key)?,
            payloads: delete(conn, "DELETE FROM member_payloads WHERE member_key = ?1", key)?,
            history: delete(conn, "DELETE FROM member_history WHERE member_key = ?1", key)?,
            refresh: delete(conn, "DELETE FROM member_refresh WHERE member_key = ?1", key)?,
            sessions: delete(conn, "DELETE FROM sessions WHERE member = ?1", key)?,
            mobile_tokens: delete(conn, "DELETE FROM mobile_tokens WHERE member = ?1", key)?,
            threshold_ledger: delete(conn, CLEAR_LEDGER_KEY_SQL, key)?,
        })
    }

    async fn delete_queue_entries(&mut self, key: &str) -> Result<Vec<Option<RunId>>> {
        // Each state by its own partial index.
        let mut runs = Vec::new();
        for state in ["state IN ('queued', 'retrying')", "state = 'running'", "state = 'dead'"] {
            let mut stmt = self.conn.prepare_cached(&format!(
                "DELETE FROM refresh_queue WHERE member_key = ?1 AND {state} RETURNING run_id"
            ))?;
            let rows = stmt.query_map([key], |r| r.get::<_, Option<i64>>(0))?;
            for run in rows {
                runs.push(run?);
            }
        }
        Ok(runs)
    }

    async fn delete_held_changes(&mut self, key: &str) -> Result<Vec<ApprovalId>> {
        Ok(self
            .conn
            .prepare_cached(DELETE_HELD_CHANGES_SQL)?
            .query_map([key], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    async fn forget_deleted_after_commit(&mut self) -> Result<()> {
        self.empty_wal_after_commit();
        Ok(())
    }

    async fn prune_batch(&mut self, what: Prunable, cutoff: DateTime<Utc>, limit: usize) -> Result<u64> {
        retention::prune_batch(&self.conn, what, ms(cutoff), limit)
    }

    async fn disabled_members_unchanged_since(&mut self, cutoff: DateTime<Utc>, limit: usize) -> Result<Vec<String>> {
        retention::disabled_members(&self.conn, ms(cutoff), limit)
    }
}

pub(crate) fn tombstone(conn: &Connection, key: &str) -> Result<Option<Tombstone>> {
    let row = conn
        .prepare_cached("SELECT member_key, erased_at, actor, reason FROM tombstones WHERE member_key = ?1")?
        .query_row([key], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    row.map(|(k, at, actor, reason)| {
        Ok(Tombstone { key: codec::key("tombstone", k)?, erased_at: from_ms(at), actor, reason })
    })
    .transpose()
}

pub(crate) fn list(conn: &Connection, limit: usize, after: &str) -> Result<Vec<Tombstone>> {
    let mut stmt = conn.prepare_cached(
        "SELECT member_key, erased_at, actor, reason FROM tombstones WHERE member_key > ?1 ORDER BY member_key LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit as i64], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get(2)?, r.get(3)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (k, at, actor, reason) = row?;
        out.push(Tombstone { key: codec::key("tombstone", k)?, erased_at: from_ms(at), actor, reason });
    }
    Ok(out)
}

fn delete(conn: &Connection, sql: &str, key: &str) -> Result<u64> {
    Ok(conn.prepare_cached(sql)?.execute([key])? as u64)
}

/// By `held_changes_by_member` (migration 11).
const DELETE_HELD_CHANGES_SQL: &str = "DELETE FROM held_changes WHERE member_key = ?1 RETURNING approval_id";

/// By `threshold_ledger_by_member` (migration 11). The counts stay (an erase
/// must not loosen the window); the key goes.
const CLEAR_LEDGER_KEY_SQL: &str = "UPDATE threshold_ledger SET member_key = NULL WHERE member_key = ?1";

#[cfg(test)]
mod tests {
    use super::super::query_plan;
    use super::*;

    #[test]
    fn the_held_changes_and_the_ledger_are_found_by_member() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrate::apply(&mut conn).unwrap();
        let held = query_plan(&conn, DELETE_HELD_CHANGES_SQL);
        assert!(held.contains("INDEX held_changes_by_member (member_key=?)"), "{held}");
        let ledger = query_plan(&conn, CLEAR_LEDGER_KEY_SQL);
        assert!(ledger.contains("INDEX threshold_ledger_by_member (member_key=?)"), "{ledger}");
    }
}
