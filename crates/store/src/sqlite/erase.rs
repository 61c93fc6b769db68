//! Erasing a member and its tombstone (see [`crate::data_protection`]).
//!
//! [`erase_rows`] removes every row about a key on the writer, inside the
//! caller's operation; the admin's erase adds the tombstone, the retention
//! of disabled members does not. `member_data.rs` lists every table that
//! holds a member key and what happens to it here; a conformance test
//! holds the schema, that list and this code together. The `erased`
//! change-feed entry is written *before* the member's older entries are
//! deleted: sequence numbers are `max + 1`, so deleting first could hand
//! out the number of a deleted newest entry again, one a reader may
//! already have passed.
//!
//! seam: phase 2 — the erase and the retention of disabled members are
//! whole operations still written here (they reach `ops/` to end the runs
//! of the queue entries they delete); they move to `ops/erase.rs`.
//!
//! Deleted rows must not survive in the files either: the writer's
//! connection runs with `secure_delete` (freed content is overwritten),
//! and the admin's erase asks the writer to empty the write-ahead log once
//! it has committed (the WAL still holds the pages as they were before).

use amsync_core::diff::ChangeKind;
use amsync_core::MemberKey;
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{self, from_ms};
use super::member_io;
use super::safety::drop_approval_left_with_nothing_pending;
use super::tx::run_now;
use super::SqliteTx;
use crate::backend::EraseTx;
use crate::data_protection::{ErasedRows, Tombstone};
use crate::error::Result;
use crate::ops::runs::maybe_finish_all;

impl EraseTx for SqliteTx {
    async fn is_tombstoned(&mut self, key: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM tombstones WHERE member_key = ?1)")?
            .query_row([key], |r| r.get(0))?)
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

/// Deletes the key's queue entries (each state by its own partial index)
/// and lets the runs they belonged to finish.
fn delete_queue_entries(tx: &mut SqliteTx, key: &str, at: i64) -> Result<u64> {
    let mut runs = Vec::new();
    for state in ["state IN ('queued', 'retrying')", "state = 'running'", "state = 'dead'"] {
        let mut stmt = tx
            .conn
            .prepare_cached(&format!("DELETE FROM refresh_queue WHERE member_key = ?1 AND {state} RETURNING run_id"))?;
        let rows = stmt.query_map([key], |r| r.get::<_, Option<i64>>(0))?;
        for run in rows {
            runs.push(run?);
        }
    }
    let n = runs.len() as u64;
    run_now(maybe_finish_all(tx, runs.into_iter().flatten().collect(), from_ms(at)))?;
    Ok(n)
}

/// By `held_changes_by_member` (migration 11).
const DELETE_HELD_CHANGES_SQL: &str = "DELETE FROM held_changes WHERE member_key = ?1 RETURNING approval_id";

/// By `threshold_ledger_by_member` (migration 11). The counts stay (an erase
/// must not loosen the window); the key goes.
const CLEAR_LEDGER_KEY_SQL: &str = "UPDATE threshold_ledger SET member_key = NULL WHERE member_key = ?1";

/// Deletes the key's held changes, whatever their status, and drops each
/// pending approval that is left with nothing pending (it would otherwise
/// wait for an admin to decide on nothing).
fn delete_held_changes(conn: &Connection, key: &str, at: i64) -> Result<u64> {
    let mut approvals: Vec<i64> = conn
        .prepare_cached(DELETE_HELD_CHANGES_SQL)?
        .query_map([key], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let n = approvals.len() as u64;
    approvals.sort_unstable();
    approvals.dedup();
    for approval in approvals {
        let note = "nothing is left pending: the held changes were of a member since erased";
        if drop_approval_left_with_nothing_pending(conn, approval, note, at)? {
            tracing::info!(approval, "an approval was dropped: its held changes were of an erased member");
        }
    }
    Ok(n)
}

/// Removes every row about `key` (see the module doc); with `feed_history`
/// its older change-feed entries too (a scan of the feed, which has no
/// index by member: the admin's erase only), but never an `erased` entry
/// nor the newest of the feed. Appends the `erased` entry when a member
/// row existed.
pub(crate) fn erase_rows(tx: &mut SqliteTx, key: &str, at: i64, feed_history: bool) -> Result<ErasedRows> {
    let conn = &tx.conn;
    let member = delete(conn, "DELETE FROM members WHERE key = ?1", key)?;
    let mut feed_seq = None;
    if member > 0 {
        member_io::insert_feed(conn, key, ChangeKind::Erased, at)?;
        feed_seq = Some(conn.last_insert_rowid());
    }
    // Never the newest entry of the feed (its number would be handed out
    // again), nor an `erased` entry the site may not have read yet.
    let change_feed = if feed_history {
        let below = match feed_seq {
            Some(seq) => seq,
            None => {
                conn.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM change_feed")?.query_row([], |r| r.get(0))?
            }
        };
        conn.prepare_cached("DELETE FROM change_feed WHERE member_key = ?1 AND seq < ?2 AND kind <> 'erased'")?
            .execute(params![key, below])? as u64
    } else {
        0
    };
    let memberships = delete(conn, "DELETE FROM memberships WHERE member_key = ?1", key)?;
    let groups = delete(conn, "DELETE FROM member_ams_groups WHERE member_key = ?1", key)?
        + delete(conn, "DELETE FROM member_local_groups WHERE member_key = ?1", key)?;
    let payloads = delete(conn, "DELETE FROM member_payloads WHERE member_key = ?1", key)?;
    let history = delete(conn, "DELETE FROM member_history WHERE member_key = ?1", key)?;
    let refresh = delete(conn, "DELETE FROM member_refresh WHERE member_key = ?1", key)?;
    let queue = delete_queue_entries(tx, key, at)?;
    let conn = &tx.conn;
    Ok(ErasedRows {
        member,
        memberships,
        groups,
        payloads,
        history,
        refresh,
        queue,
        sessions: delete(conn, "DELETE FROM sessions WHERE member = ?1", key)?,
        mobile_tokens: delete(conn, "DELETE FROM mobile_tokens WHERE member = ?1", key)?,
        change_feed,
        held_changes: delete_held_changes(conn, key, at)?,
        threshold_ledger: delete(conn, CLEAR_LEDGER_KEY_SQL, key)?,
    })
}

/// The admin's erase: every row, then the tombstone (an earlier one is
/// kept as it was), and the write-ahead log emptied once it commits.
/// Returns what was removed, the tombstone, and whether it was there before.
pub(crate) fn erase(
    tx: &mut SqliteTx,
    key: &MemberKey,
    actor: &str,
    reason: Option<&str>,
    at: i64,
) -> Result<(ErasedRows, Tombstone, bool)> {
    tx.empty_wal_after_commit();
    let k = key.as_str();
    let removed = erase_rows(tx, k, at, true)?;
    let conn = &tx.conn;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO tombstones (member_key, erased_at, actor, reason) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (member_key) DO NOTHING",
        )?
        .execute(params![k, at, actor, reason])?;
    let stone = tombstone(conn, k)?.unwrap_or_else(|| Tombstone {
        key: key.clone(),
        erased_at: from_ms(at),
        actor: actor.to_string(),
        reason: reason.map(str::to_string),
    });
    tracing::info!(member = k, rows = removed.total(), actor, "member erased; its key is tombstoned");
    Ok((removed, stone, inserted == 0))
}

pub(crate) fn lift(conn: &Connection, key: &str) -> Result<bool> {
    let lifted = delete(conn, "DELETE FROM tombstones WHERE member_key = ?1", key)? > 0;
    if lifted {
        tracing::info!(member = key, "tombstone lifted");
    }
    Ok(lifted)
}

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
