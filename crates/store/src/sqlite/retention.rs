//! Pruning by age (`[retention]`) in SQL: one bounded batch of one kind
//! ([`Prunable`]) per call, in the caller's write operation, saying how
//! many rows it deleted. `ops/retention.rs` calls them again, each in a new
//! short operation, until a batch comes back short, so refresh commits
//! interleave with the pruning.
//!
//! History and the change feed are read in id order from their oldest row,
//! without an index by time: ids grow with commit time, so the oldest rows
//! are first, and a batch stops at the first row that is young enough. A
//! pass that finds nothing to do reads one row per table.

use rusqlite::{params, Connection};

use crate::backend::Prunable;
use crate::error::Result;

/// One batch of `what` (see [`crate::backend::EraseTx::prune_batch`]).
pub(crate) fn prune_batch(conn: &Connection, what: Prunable, cutoff: i64, limit: usize) -> Result<u64> {
    match what {
        Prunable::History => history(conn, cutoff, limit),
        Prunable::ChangeFeed => change_feed(conn, cutoff, limit),
        Prunable::Runs => runs(conn, cutoff, limit),
        Prunable::Approvals => approvals(conn, cutoff, limit),
        Prunable::Sessions { idle } => {
            sessions(conn, cutoff, i64::try_from(idle.as_millis()).unwrap_or(i64::MAX), limit)
        }
        Prunable::MobileTokens => mobile_tokens(conn, cutoff, limit),
        Prunable::UsedTokenIds => used_token_ids(conn, cutoff, limit),
    }
}

/// Deletes the leading run of rows older than `cutoff` from a table whose
/// integer key grows with its time column; `keep_newest` spares the row
/// with the highest key.
fn prune_leading(
    conn: &Connection,
    table: &str,
    id: &str,
    cutoff: i64,
    limit: usize,
    keep_newest: bool,
) -> Result<u64> {
    let rows: Vec<(i64, i64)> = conn
        .prepare_cached(&format!("SELECT {id}, at FROM {table} ORDER BY {id} LIMIT ?1"))?
        .query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let Some(last_old) = rows.iter().take_while(|(_, at)| *at < cutoff).map(|(i, _)| *i).last() else {
        return Ok(0);
    };
    let bound = if keep_newest {
        let newest: i64 =
            conn.prepare_cached(&format!("SELECT MAX({id}) FROM {table}"))?.query_row([], |r| r.get(0))?;
        last_old.min(newest - 1)
    } else {
        last_old
    };
    Ok(conn.prepare_cached(&format!("DELETE FROM {table} WHERE {id} <= ?1"))?.execute([bound])? as u64)
}

fn history(conn: &Connection, cutoff: i64, limit: usize) -> Result<u64> {
    prune_leading(conn, "member_history", "id", cutoff, limit, false)
}

/// The newest entry stays, whatever its age (see the first migration's note
/// on sequence reuse).
fn change_feed(conn: &Connection, cutoff: i64, limit: usize) -> Result<u64> {
    prune_leading(conn, "change_feed", "seq", cutoff, limit, true)
}

/// Finished runs only: a run still running has entries or a listing to end.
fn runs(conn: &Connection, cutoff: i64, limit: usize) -> Result<u64> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM runs WHERE id IN (SELECT id FROM runs
               WHERE finished_at IS NOT NULL AND finished_at < ?1 ORDER BY finished_at LIMIT ?2)",
        )?
        .execute(params![cutoff, limit as i64])? as u64)
}

/// Decided approvals (applied, dropped, or rejected with no rejection still
/// standing) decided before `cutoff`, with their held changes. A standing
/// rejection is what keeps the same change from being held again, so an
/// approval that has one stays, however old.
fn approvals(conn: &Connection, cutoff: i64, limit: usize) -> Result<u64> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT a.id FROM approvals a
              WHERE a.status IN ('applied', 'dropped', 'rejected') AND COALESCE(a.decided_at, a.updated_at) < ?1
                AND NOT EXISTS (SELECT 1 FROM held_changes h
                                 WHERE h.approval_id = a.id AND h.status IN ('pending', 'rejected'))
              ORDER BY a.id LIMIT ?2",
        )?
        .query_map(params![cutoff, limit as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut held = conn.prepare_cached("DELETE FROM held_changes WHERE approval_id = ?1")?;
    let mut approval = conn.prepare_cached("DELETE FROM approvals WHERE id = ?1")?;
    for id in &ids {
        held.execute([id])?;
        approval.execute([id])?;
    }
    Ok(ids.len() as u64)
}

/// Sessions past their lifetime, or idle past the idle timeout, before `cutoff`.
fn sessions(conn: &Connection, cutoff: i64, idle: i64, limit: usize) -> Result<u64> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions
               WHERE expires_at <= ?1 OR last_seen_at < ?2 LIMIT ?3)",
        )?
        .execute(params![cutoff, cutoff.saturating_sub(idle), limit as i64])? as u64)
}

fn mobile_tokens(conn: &Connection, cutoff: i64, limit: usize) -> Result<u64> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM mobile_tokens WHERE hash IN (SELECT hash FROM mobile_tokens WHERE expires_at <= ?1 LIMIT ?2)",
        )?
        .execute(params![cutoff, limit as i64])? as u64)
}

fn used_token_ids(conn: &Connection, cutoff: i64, limit: usize) -> Result<u64> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM sso_token_ids WHERE id IN (SELECT id FROM sso_token_ids WHERE expires_at <= ?1 LIMIT ?2)",
        )?
        .execute(params![cutoff, limit as i64])? as u64)
}

/// Keys of members disabled by their source (never by an admin) whose row
/// has not changed since `cutoff`, oldest first (the op removes every row
/// about them, with an `erased` change-feed entry; no tombstone, so the AMS
/// may bring them back).
pub(crate) fn disabled_members(conn: &Connection, cutoff: i64, limit: usize) -> Result<Vec<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT key FROM members WHERE status = 'disabled' AND updated_at < ?1
               AND disabled_reason IS NOT 'admin' ORDER BY updated_at LIMIT ?2",
        )?
        .query_map(params![cutoff, limit as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}
