//! Pruning by age (`[retention]`), in bounded batches on the writer.
//!
//! Each function here deletes at most [`BATCH`] rows (or [`MEMBER_BATCH`]
//! members) in the caller's write operation and says how many it deleted;
//! [`prune`] calls them again, each in a new short operation, until a batch
//! comes back short, so refresh commits interleave with the pruning.
//!
//! History and the change feed are read in id order from their oldest row,
//! without an index by time: ids grow with commit time, so the oldest rows
//! are first, and a batch stops at the first row that is young enough. A
//! pass that finds nothing to do reads one row per table.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

use super::codec::ms;
use super::{erase, SqliteBackend, SqliteTx};
use crate::data_protection::{PruneReport, RetentionPolicy};
use crate::error::Result;

/// Rows one pruning operation deletes at most.
pub(crate) const BATCH: usize = 1000;
/// Disabled members one pruning operation removes at most (each is a dozen
/// small deletes).
pub(crate) const MEMBER_BATCH: usize = 100;

fn cutoff(now: DateTime<Utc>, age: Duration) -> i64 {
    ms(now).saturating_sub(i64::try_from(age.as_millis()).unwrap_or(i64::MAX))
}

/// Deletes the leading run of rows older than `cutoff` from a table whose
/// integer key grows with its time column; `keep_newest` spares the row
/// with the highest key.
fn prune_leading(conn: &Connection, table: &str, id: &str, cutoff: i64, keep_newest: bool) -> Result<u64> {
    let rows: Vec<(i64, i64)> = conn
        .prepare_cached(&format!("SELECT {id}, at FROM {table} ORDER BY {id} LIMIT ?1"))?
        .query_map([BATCH as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
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

pub(crate) fn history(conn: &Connection, cutoff: i64) -> Result<u64> {
    prune_leading(conn, "member_history", "id", cutoff, false)
}

/// The newest entry stays, whatever its age (see the first migration's note
/// on sequence reuse).
pub(crate) fn change_feed(conn: &Connection, cutoff: i64) -> Result<u64> {
    prune_leading(conn, "change_feed", "seq", cutoff, true)
}

/// Finished runs only: a run still running has entries or a listing to end.
pub(crate) fn runs(conn: &Connection, cutoff: i64) -> Result<u64> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM runs WHERE id IN (SELECT id FROM runs
               WHERE finished_at IS NOT NULL AND finished_at < ?1 ORDER BY finished_at LIMIT ?2)",
        )?
        .execute(params![cutoff, BATCH as i64])? as u64)
}

/// Decided approvals (applied, dropped, or rejected with no rejection still
/// standing) decided before `cutoff`, with their held changes. A standing
/// rejection is what keeps the same change from being held again, so an
/// approval that has one stays, however old.
pub(crate) fn approvals(conn: &Connection, cutoff: i64) -> Result<u64> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT a.id FROM approvals a
              WHERE a.status IN ('applied', 'dropped', 'rejected') AND COALESCE(a.decided_at, a.updated_at) < ?1
                AND NOT EXISTS (SELECT 1 FROM held_changes h
                                 WHERE h.approval_id = a.id AND h.status IN ('pending', 'rejected'))
              ORDER BY a.id LIMIT ?2",
        )?
        .query_map(params![cutoff, MEMBER_BATCH as i64], |r| r.get(0))?
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
pub(crate) fn sessions(conn: &Connection, cutoff: i64, idle: i64) -> Result<u64> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions
               WHERE expires_at <= ?1 OR last_seen_at < ?2 LIMIT ?3)",
        )?
        .execute(params![cutoff, cutoff.saturating_sub(idle), BATCH as i64])? as u64)
}

pub(crate) fn mobile_tokens(conn: &Connection, cutoff: i64) -> Result<u64> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM mobile_tokens WHERE hash IN (SELECT hash FROM mobile_tokens WHERE expires_at <= ?1 LIMIT ?2)",
        )?
        .execute(params![cutoff, BATCH as i64])? as u64)
}

pub(crate) fn used_token_ids(conn: &Connection, cutoff: i64) -> Result<u64> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM sso_token_ids WHERE id IN (SELECT id FROM sso_token_ids WHERE expires_at <= ?1 LIMIT ?2)",
        )?
        .execute(params![cutoff, BATCH as i64])? as u64)
}

/// Members disabled by their source (never by an admin) whose row has not
/// changed since `cutoff`: every row about them goes, with an `erased`
/// change-feed entry; no tombstone, so the AMS may bring them back.
pub(crate) fn disabled_members(tx: &mut SqliteTx, cutoff: i64, now: i64) -> Result<u64> {
    let keys: Vec<String> = tx
        .conn
        .prepare_cached(
            "SELECT key FROM members WHERE status = 'disabled' AND updated_at < ?1
               AND disabled_reason IS NOT 'admin' ORDER BY updated_at LIMIT ?2",
        )?
        .query_map(params![cutoff, MEMBER_BATCH as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for key in &keys {
        erase::erase_rows(tx, key, now, false)?;
    }
    if !keys.is_empty() {
        tracing::info!(members = keys.len(), "removed members disabled for longer than retention.disabled_members");
    }
    Ok(keys.len() as u64)
}

/// One kind of pruning: a batch function, its batch size, and where its
/// count goes in the report.
type Step = (fn(&mut SqliteTx, i64, i64, i64) -> Result<u64>, usize, fn(&mut PruneReport) -> &mut u64);

/// Runs every kind of pruning to the end, one bounded batch per write.
pub(crate) async fn prune(store: &SqliteBackend, p: &RetentionPolicy, now: DateTime<Utc>) -> Result<PruneReport> {
    let idle = i64::try_from(p.session_idle_timeout.as_millis()).unwrap_or(i64::MAX);
    let steps: [(i64, Step); 8] = [
        (cutoff(now, p.history), (|t, cut, _, _| history(&t.conn, cut), BATCH, |r| &mut r.history)),
        (cutoff(now, p.change_feed), (|t, cut, _, _| change_feed(&t.conn, cut), BATCH, |r| &mut r.change_feed)),
        (cutoff(now, p.runs), (|t, cut, _, _| runs(&t.conn, cut), BATCH, |r| &mut r.runs)),
        // Decided approvals are kept as long as the runs that held them.
        (cutoff(now, p.runs), (|t, cut, _, _| approvals(&t.conn, cut), MEMBER_BATCH, |r| &mut r.approvals)),
        (cutoff(now, p.sessions), (|t, cut, idle, _| sessions(&t.conn, cut, idle), BATCH, |r| &mut r.sessions)),
        (cutoff(now, p.sessions), (|t, cut, _, _| mobile_tokens(&t.conn, cut), BATCH, |r| &mut r.mobile_tokens)),
        (
            cutoff(now, p.used_token_ids),
            (|t, cut, _, _| used_token_ids(&t.conn, cut), BATCH, |r| &mut r.used_token_ids),
        ),
        (
            cutoff(now, p.disabled_members),
            (|t, cut, _, now| disabled_members(t, cut, now), MEMBER_BATCH, |r| &mut r.disabled_members),
        ),
    ];
    let mut report = PruneReport::default();
    let now_ms = ms(now);
    for (cut, (step, batch, slot)) in steps {
        loop {
            let n = store.write_op(move |tx| step(tx, cut, idle, now_ms)).await?;
            report.batches += 1;
            *slot(&mut report) += n;
            if (n as usize) < batch {
                break;
            }
        }
    }
    Ok(report)
}
