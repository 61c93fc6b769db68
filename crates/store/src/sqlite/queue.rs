//! The Refresh Queue in SQL (product.md job 2): its single operations and reads.
//!
//! Invariants the schema enforces: at most one waiting (`queued` or
//! `retrying`) entry per key and at most one `running` (partial unique
//! indexes). Claim order is the stored `sort_key`
//! (`amsync_core::queue::sort_key`), so aging is a plain index scan. A claim
//! gets a fencing token from the `fence` counter; every later transition of
//! a running entry checks `(id, fence, state = 'running')`.
//!
//! The single operations (`QueueTx`) run on the writer inside an op's
//! group commit; the lifecycle that strings them together is
//! `ops/queue.rs`. The reads (`QueueReads`) run on the reader pool.

use std::collections::HashMap;

use amsync_core::queue::{QueueState, AGING_STEP};
use amsync_core::{Failure, MemberKey, Trigger};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{self, count, from_json, from_ms, ms, opt_from_ms, to_json};
use super::{SqliteBackend, SqliteTx};
use crate::backend::{EntryRef, KeyEntries, NewWaiting, QueueReads, QueueTx, Running, Waiting, WaitingMerge};
use crate::error::{Result, StoreError};
use crate::types::*;

/// The claim order in SQL, for bulk statements; equal to
/// [`amsync_core::queue::sort_key`] (a unit test checks it).
const SORT_KEY_SQL: &str = "(?1 - priority * ?2)";

fn aging_step_ms() -> i64 {
    AGING_STEP.as_millis() as i64
}

/// The running entry a claim token names, if the claim still holds.
fn running_entry(conn: &Connection, token: ClaimToken) -> Result<Option<Running>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, member_key, priority, attempts, run_id FROM refresh_queue
         WHERE id = ?1 AND fence = ?2 AND state = 'running'",
    )?;
    Ok(stmt
        .query_row(params![token.id, token.fence], |r| {
            Ok(Running { id: r.get(0)?, key: r.get(1)?, priority: r.get(2)?, attempts: r.get(3)?, run_id: r.get(4)? })
        })
        .optional()?)
}

fn waiting_entry(conn: &Connection, key: &str) -> Result<Option<Waiting>> {
    let mut stmt = conn.prepare_cached(WAITING_SQL)?;
    Ok(stmt
        .query_row([key], |r| {
            Ok(Waiting {
                id: r.get(0)?,
                priority: r.get(1)?,
                due: from_ms(r.get(2)?),
                attempts: r.get(3)?,
                run_id: r.get(4)?,
            })
        })
        .optional()?)
}

#[allow(clippy::too_many_arguments)]
fn insert_waiting(
    conn: &Connection,
    key: &str,
    trigger: Trigger,
    priority: i64,
    run_id: Option<i64>,
    due: i64,
    sort_key: i64,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO refresh_queue (member_key, state, priority, trigger, run_id, due_at, sort_key, enqueued_at)
         VALUES (?1, 'queued', ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![key, priority, trigger.as_str(), run_id, due, sort_key, now])?;
    Ok(())
}

/// One statement claims a batch. INDEXED BY: without statistics the planner
/// preferred the by-state index and sorted every waiting entry per claim
/// (measured: claims slowed down linearly with the queue's length).
/// `LIMIT (?5 + 0)`, not `LIMIT ?5`: SQLite plans with the value of a bare
/// LIMIT parameter, so binding one expires the statement and every claim
/// compiled it again (5 % of the writer's time on an initial load).
const CLAIM_SQL: &str =
    "UPDATE refresh_queue SET state = 'running', attempts = attempts + 1, fence = ?1, lease_until = ?2, node = ?3
     WHERE id IN (
        SELECT q.id FROM refresh_queue AS q INDEXED BY refresh_queue_claim
        WHERE q.state IN ('queued', 'retrying') AND q.due_at <= ?4
          AND NOT EXISTS (SELECT 1 FROM refresh_queue r WHERE r.member_key = q.member_key AND r.state = 'running')
        ORDER BY q.sort_key, q.member_key LIMIT (?5 + 0))
     RETURNING id, member_key, trigger, priority, attempts, run_id, sort_key";

/// Looks up a key's waiting entry (also the shape of the unique index).
const WAITING_SQL: &str = "SELECT id, priority, due_at, attempts, run_id FROM refresh_queue
     WHERE member_key = ?1 AND state IN ('queued', 'retrying')";

fn claim(conn: &Connection, limit: usize, node: &str, now: i64, lease_until: i64) -> Result<Vec<Claim>> {
    let fence: i64 = conn
        .prepare_cached("UPDATE counters SET value = value + 1 WHERE name = 'fence' RETURNING value")?
        .query_row([], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(CLAIM_SQL)?;
    let rows = stmt.query_map(params![fence, lease_until, node, now, limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, Option<i64>>(5)?,
            r.get::<_, i64>(6)?,
        ))
    })?;
    let mut claims = Vec::new();
    for row in rows {
        let (id, key, trigger, priority, attempts, run_id, sk) = row?;
        let claim = Claim {
            id,
            fence,
            key: codec::key("member", key)?,
            trigger: codec::trigger(&trigger)?,
            priority,
            attempts: attempts as u32,
            run_id,
            lease_until: from_ms(lease_until),
        };
        claims.push((sk, claim));
    }
    // RETURNING gives rows in no particular order; this is the claim order.
    claims.sort_by(|(a, x), (b, y)| (a, x.key.as_str()).cmp(&(b, y.key.as_str())));
    Ok(claims.into_iter().map(|(_, c)| c).collect())
}

const DEAD_TRANSIENT: &str = "json_extract(last_error, '$.kind') = 'transient'";

fn requeue_dead(conn: &Connection, transient_only: bool, now: i64) -> Result<u64> {
    let filter = if transient_only { format!(" AND {DEAD_TRANSIENT}") } else { String::new() };
    // A key that waits again already: its dead letter folds into that entry.
    let folded = conn
        .prepare_cached(&format!(
            "DELETE FROM refresh_queue AS d WHERE d.state = 'dead'{filter}
               AND EXISTS (SELECT 1 FROM refresh_queue w
                           WHERE w.member_key = d.member_key AND w.state IN ('queued', 'retrying'))"
        ))?
        .execute([])?;
    // A requeued entry is new work outside the run that gave up on it.
    let moved = conn
        .prepare_cached(&format!(
            "UPDATE refresh_queue SET state = 'queued', attempts = 0, due_at = ?1, sort_key = {SORT_KEY_SQL},
                run_id = NULL
             WHERE state = 'dead'{filter}"
        ))?
        .execute(params![now, aging_step_ms()])?;
    Ok((folded + moved) as u64)
}

fn delete_entry(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM refresh_queue WHERE id = ?1")?.execute([id])?;
    Ok(())
}

fn delete_dead_letter(conn: &Connection, key: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM refresh_queue WHERE member_key = ?1 AND state = 'dead'")?.execute([key])?;
    Ok(())
}

impl QueueTx for SqliteTx {
    async fn running_entry(&mut self, token: ClaimToken) -> Result<Option<Running>> {
        running_entry(&self.conn, token)
    }

    async fn waiting_entry(&mut self, key: &str) -> Result<Option<Waiting>> {
        waiting_entry(&self.conn, key)
    }

    async fn waiting_entries(&mut self, keys: &[String]) -> Result<HashMap<String, Waiting>> {
        // A prepared statement per key: no round trip to pay on SQLite.
        let mut out = HashMap::new();
        for key in keys {
            if let Some(w) = waiting_entry(&self.conn, key)? {
                out.insert(key.clone(), w);
            }
        }
        Ok(out)
    }

    async fn enqueue_batch(
        &mut self,
        merges: &[WaitingMerge],
        inserts: &[NewWaiting],
        now: DateTime<Utc>,
    ) -> Result<()> {
        for m in merges {
            self.merge_waiting(m.id, m.priority, m.due, m.sort_key, m.run_id, m.trigger).await?;
        }
        for n in inserts {
            delete_dead_letter(&self.conn, &n.key)?;
            insert_waiting(&self.conn, &n.key, n.trigger, n.priority, n.run_id, ms(n.due), n.sort_key, ms(now))?;
        }
        Ok(())
    }

    async fn insert_waiting(
        &mut self,
        key: &str,
        trigger: Trigger,
        priority: i64,
        run_id: Option<RunId>,
        due: DateTime<Utc>,
        sort_key: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        insert_waiting(&self.conn, key, trigger, priority, run_id, ms(due), sort_key, ms(now))
    }

    async fn merge_waiting(
        &mut self,
        id: i64,
        priority: i64,
        due: DateTime<Utc>,
        sort_key: i64,
        run_id: Option<RunId>,
        trigger: Option<Trigger>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE refresh_queue SET priority = ?2, due_at = ?3, sort_key = ?4, run_id = COALESCE(?5, run_id),
                    trigger = COALESCE(?6, trigger)
                 WHERE id = ?1",
            )?
            .execute(params![id, priority, ms(due), sort_key, run_id, trigger.map(Trigger::as_str)])?;
        Ok(())
    }

    async fn delete_dead_letter(&mut self, key: &str) -> Result<()> {
        delete_dead_letter(&self.conn, key)
    }

    async fn delete_entry(&mut self, id: i64) -> Result<()> {
        delete_entry(&self.conn, id)
    }

    async fn set_retrying(
        &mut self,
        id: i64,
        due: DateTime<Utc>,
        sort_key: i64,
        failure: &Failure,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE refresh_queue SET state = 'retrying', due_at = ?2, sort_key = ?3, fence = NULL,
                    lease_until = NULL, node = NULL, last_error = ?4, last_error_at = ?5
                 WHERE id = ?1",
            )?
            .execute(params![id, ms(due), sort_key, to_json(failure), ms(at)])?;
        Ok(())
    }

    async fn bury(&mut self, id: i64, key: &str, failure: &Failure, at: DateTime<Utc>) -> Result<()> {
        delete_dead_letter(&self.conn, key)?;
        self.conn
            .prepare_cached(
                "UPDATE refresh_queue SET state = 'dead', fence = NULL, lease_until = NULL, node = NULL,
                    last_error = ?2, last_error_at = ?3
                 WHERE id = ?1",
            )?
            .execute(params![id, to_json(failure), ms(at)])?;
        Ok(())
    }

    async fn set_queued(
        &mut self,
        id: i64,
        due: DateTime<Utc>,
        sort_key: i64,
        attempts: i64,
        failure: Option<&Failure>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE refresh_queue SET state = 'queued', due_at = ?2, sort_key = ?3, attempts = ?4, fence = NULL,
                    lease_until = NULL, node = NULL, last_error = COALESCE(?5, last_error),
                    last_error_at = CASE WHEN ?5 IS NULL THEN last_error_at ELSE ?6 END
                 WHERE id = ?1",
            )?
            .execute(params![id, ms(due), sort_key, attempts, failure.map(to_json), ms(at)])?;
        Ok(())
    }

    async fn fold_into_waiting(
        &mut self,
        id: i64,
        priority: i64,
        due: DateTime<Utc>,
        sort_key: i64,
        attempts: i64,
        failure: Option<&Failure>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE refresh_queue SET priority = ?2, due_at = ?3, sort_key = ?4, attempts = ?5,
                    last_error = COALESCE(?6, last_error),
                    last_error_at = CASE WHEN ?6 IS NULL THEN last_error_at ELSE ?7 END,
                    state = CASE WHEN ?6 IS NULL THEN state ELSE 'retrying' END
                 WHERE id = ?1",
            )?
            .execute(params![id, priority, ms(due), sort_key, attempts, failure.map(to_json), ms(at)])?;
        Ok(())
    }

    async fn claim(
        &mut self,
        limit: usize,
        node: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<Claim>> {
        claim(&self.conn, limit, node, ms(now), ms(lease_until))
    }

    async fn renew(&mut self, tokens: &[ClaimToken], lease_until: DateTime<Utc>) -> Result<Vec<bool>> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE refresh_queue SET lease_until = ?3 WHERE id = ?1 AND fence = ?2 AND state = 'running'",
        )?;
        let until = ms(lease_until);
        tokens.iter().map(|t| Ok(stmt.execute(params![t.id, t.fence, until])? == 1)).collect()
    }

    async fn drop_expired_where_waiting(&mut self, now: DateTime<Utc>) -> Result<Vec<Option<RunId>>> {
        let mut stmt = self.conn.prepare_cached(
            "DELETE FROM refresh_queue AS q INDEXED BY refresh_queue_leases
             WHERE q.state = 'running' AND q.lease_until <= ?1
               AND EXISTS (SELECT 1 FROM refresh_queue w
                           WHERE w.member_key = q.member_key AND w.state IN ('queued', 'retrying'))
             RETURNING run_id",
        )?;
        let rows = stmt.query_map([ms(now)], |r| r.get::<_, Option<i64>>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    async fn return_expired(&mut self, now: DateTime<Utc>) -> Result<u64> {
        let sql = format!(
            "UPDATE refresh_queue INDEXED BY refresh_queue_leases
             SET state = 'retrying', due_at = ?1, sort_key = {SORT_KEY_SQL}, fence = NULL, lease_until = NULL,
                node = NULL
             WHERE state = 'running' AND lease_until <= ?1"
        );
        Ok(self.conn.prepare_cached(&sql)?.execute(params![ms(now), aging_step_ms()])? as u64)
    }

    async fn requeue_dead(&mut self, transient_only: bool, now: DateTime<Utc>) -> Result<u64> {
        requeue_dead(&self.conn, transient_only, ms(now))
    }

    async fn key_entries(&mut self, key: &str) -> Result<KeyEntries> {
        let conn = &self.conn;
        let find = |state_sql: &str| -> Result<Option<EntryRef>> {
            Ok(conn
                .prepare_cached(&format!("SELECT id, run_id FROM refresh_queue WHERE member_key = ?1 AND {state_sql}"))?
                .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?)
        };
        Ok(KeyEntries {
            waiting: find("state IN ('queued', 'retrying')")?,
            running: find("state = 'running'")?,
            dead: find("state = 'dead'")?,
        })
    }

    async fn requeue_entry(&mut self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE refresh_queue SET state = 'queued', attempts = 0, due_at = MIN(due_at, ?1),
                    sort_key = MIN(due_at, ?1) - priority * ?2, fence = NULL, lease_until = NULL, node = NULL
                 WHERE id = ?3",
            )?
            .execute(params![ms(now), aging_step_ms(), id])?;
        Ok(())
    }
}

fn entry_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawEntry> {
    Ok(RawEntry {
        id: r.get(0)?,
        key: r.get(1)?,
        state: r.get(2)?,
        trigger: r.get(3)?,
        priority: r.get(4)?,
        attempts: r.get(5)?,
        run_id: r.get(6)?,
        enqueued_at: r.get(7)?,
        due_at: r.get(8)?,
        lease_until: r.get(9)?,
        last_error: r.get(10)?,
        last_error_at: r.get(11)?,
    })
}

struct RawEntry {
    id: i64,
    key: String,
    state: String,
    trigger: String,
    priority: i64,
    attempts: i64,
    run_id: Option<i64>,
    enqueued_at: i64,
    due_at: i64,
    lease_until: Option<i64>,
    last_error: Option<String>,
    last_error_at: Option<i64>,
}

impl RawEntry {
    fn into_entry(self) -> Result<QueueEntry> {
        Ok(QueueEntry {
            id: self.id,
            key: codec::key("member", self.key)?,
            state: codec::queue_state(&self.state)?,
            trigger: codec::trigger(&self.trigger)?,
            priority: self.priority,
            attempts: self.attempts.max(0) as u32,
            run_id: self.run_id,
            enqueued_at: from_ms(self.enqueued_at),
            due_at: from_ms(self.due_at),
            lease_until: opt_from_ms(self.lease_until),
            last_error: self.last_error.as_deref().map(|t| from_json("last error", t)).transpose()?,
            last_error_at: opt_from_ms(self.last_error_at),
        })
    }
}

/// The entries of one state, or all, in id order after `after_id`. Each state
/// reads through its own index (migration 8 keeps the hot path's states out
/// of the by-state one): retrying and dead through that index, running
/// through its partial index (no more than the claims in flight, sorted
/// here), queued straight from the table in id order.
fn list_queue(
    conn: &Connection,
    state: Option<QueueState>,
    limit: usize,
    after_id: Option<i64>,
) -> Result<Vec<QueueEntry>> {
    let after = after_id.unwrap_or(i64::MIN);
    let raw: Vec<RawEntry> = conn
        .prepare_cached(&list_sql(state))?
        .query_map(params![after, limit as i64], entry_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    raw.into_iter().map(RawEntry::into_entry).collect()
}

/// The listing statement of one state (or all): `?1` the id to start after,
/// `?2` the page size. (A partial index serves a query whose WHERE repeats
/// the index's own term.)
fn list_sql(state: Option<QueueState>) -> String {
    const COLUMNS: &str = "id, member_key, state, trigger, priority, attempts, run_id, enqueued_at, due_at,
        lease_until, last_error, last_error_at";
    let source = match state {
        None => "refresh_queue WHERE id > ?1",
        Some(QueueState::Queued) => "refresh_queue WHERE state = 'queued' AND id > ?1",
        Some(QueueState::Running) => {
            "refresh_queue INDEXED BY refresh_queue_one_running WHERE state = 'running' AND id > ?1"
        }
        Some(QueueState::Retrying) => {
            "refresh_queue INDEXED BY refresh_queue_failed_by_state
             WHERE state IN ('retrying', 'dead') AND state = 'retrying' AND id > ?1"
        }
        Some(QueueState::Dead) => {
            "refresh_queue INDEXED BY refresh_queue_failed_by_state
             WHERE state IN ('retrying', 'dead') AND state = 'dead' AND id > ?1"
        }
    };
    format!("SELECT {COLUMNS} FROM {source} ORDER BY id LIMIT ?2")
}

/// Every entry of one key, oldest first (a member's export). One query per
/// state, so each uses its partial index.
pub(crate) fn entries_of(conn: &Connection, key: &str) -> Result<Vec<QueueEntry>> {
    const COLUMNS: &str = "id, member_key, state, trigger, priority, attempts, run_id, enqueued_at, due_at,
        lease_until, last_error, last_error_at";
    let mut raw: Vec<RawEntry> = Vec::new();
    for state in ["state IN ('queued', 'retrying')", "state = 'running'", "state = 'dead'"] {
        let mut stmt =
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM refresh_queue WHERE member_key = ?1 AND {state}"))?;
        for e in stmt.query_map([key], entry_from_row)? {
            raw.push(e?);
        }
    }
    raw.sort_by_key(|e| e.id);
    raw.into_iter().map(RawEntry::into_entry).collect()
}

/// Counts per state, each from an index that holds just that state. Waiting
/// entries are counted in the claim index, which carries their state;
/// running ones are at most the claims in flight.
const COUNT_WAITING_SQL: &str = "SELECT state, COUNT(*) FROM refresh_queue INDEXED BY refresh_queue_claim
     WHERE state IN ('queued', 'retrying') GROUP BY state";
const COUNT_RUNNING_SQL: &str =
    "SELECT COUNT(*) FROM refresh_queue INDEXED BY refresh_queue_one_running WHERE state = 'running'";
// (A partial index serves a query whose WHERE repeats the index's own term.)
const COUNT_DEAD_SQL: &str = "SELECT COUNT(*) FROM refresh_queue INDEXED BY refresh_queue_failed_by_state
     WHERE state IN ('retrying', 'dead') AND state = 'dead'";

fn queue_counts(conn: &Connection) -> Result<QueueCounts> {
    let mut c = QueueCounts::default();
    let one = |sql: &str| -> Result<u64> { Ok(count(conn.prepare_cached(sql)?.query_row([], |r| r.get(0))?)) };
    c.running = one(COUNT_RUNNING_SQL)?;
    c.dead = one(COUNT_DEAD_SQL)?;
    let mut stmt = conn.prepare_cached(COUNT_WAITING_SQL)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (state, n) = row?;
        match codec::queue_state(&state)? {
            QueueState::Queued => c.queued = count(n),
            QueueState::Retrying => c.retrying = count(n),
            other => return Err(StoreError::Database(format!("the claim index holds a {other:?} entry"))),
        }
    }
    c.oldest_waiting_since = conn
        .prepare_cached("SELECT MIN(enqueued_at) FROM refresh_queue WHERE state IN ('queued', 'retrying')")?
        .query_row([], |r| r.get::<_, Option<i64>>(0))?
        .map(from_ms);
    Ok(c)
}

fn is_pending(conn: &Connection, key: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM refresh_queue WHERE member_key = ?1 AND state IN ('queued', 'retrying'))
                 OR EXISTS (SELECT 1 FROM refresh_queue WHERE member_key = ?1 AND state = 'running')",
        )?
        .query_row([key], |r| r.get(0))?)
}

impl QueueReads for SqliteBackend {
    async fn queue_counts(&self) -> Result<QueueCounts> {
        self.read_op(queue_counts).await
    }

    async fn list_queue(
        &self,
        state: Option<QueueState>,
        limit: usize,
        after_id: Option<i64>,
    ) -> Result<Vec<QueueEntry>> {
        self.read_op(move |c| list_queue(c, state, limit, after_id)).await
    }

    async fn is_pending(&self, key: &MemberKey) -> Result<bool> {
        let key = key.as_str().to_owned();
        self.read_op(move |c| is_pending(c, &key)).await
    }
}

#[cfg(test)]
mod tests {
    use amsync_core::queue::sort_key;

    use super::super::query_plan as plan;
    use super::*;

    #[test]
    fn queue_statements_use_their_indexes() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrate::apply(&mut conn).unwrap();
        let claim = plan(&conn, CLAIM_SQL);
        assert!(claim.contains("USING INDEX refresh_queue_claim"), "{claim}");
        assert!(claim.contains("refresh_queue_one_running"), "{claim}");
        assert!(!claim.contains("TEMP B-TREE"), "no sort per claim: {claim}");
        let waiting = plan(&conn, WAITING_SQL);
        assert!(waiting.contains("refresh_queue_one_waiting"), "{waiting}");
        // Counting waiting and dead entries (there may be many) reads indexes only.
        for (sql, index) in [
            (COUNT_WAITING_SQL, "COVERING INDEX refresh_queue_claim"),
            (COUNT_RUNNING_SQL, "INDEX refresh_queue_one_running"),
            (COUNT_DEAD_SQL, "COVERING INDEX refresh_queue_failed_by_state"),
        ] {
            let p = plan(&conn, sql);
            assert!(p.contains(index), "{sql}: {p}");
        }
        // Listing a state starts at the given id instead of reading past the
        // other states (running entries are few, so sorting them is fine).
        for (state, want) in [
            (None, "INTEGER PRIMARY KEY (rowid>?)"),
            (Some(QueueState::Queued), "INTEGER PRIMARY KEY (rowid>?)"),
            (Some(QueueState::Running), "INDEX refresh_queue_one_running"),
            (Some(QueueState::Retrying), "INDEX refresh_queue_failed_by_state (state=? AND id>?)"),
            (Some(QueueState::Dead), "INDEX refresh_queue_failed_by_state (state=? AND id>?)"),
        ] {
            let p = plan(&conn, &list_sql(state));
            assert!(p.contains(want), "{state:?}: {p}");
        }
    }

    #[test]
    fn claims_and_settles_leave_the_failed_index_alone() {
        // Migration 8: the success path (queued -> running -> gone) must not
        // touch an index keyed by id, whose order is unrelated to the keys.
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrate::apply(&mut conn).unwrap();
        let sql: String = conn
            .query_row("SELECT sql FROM sqlite_master WHERE name = 'refresh_queue_failed_by_state'", [], |r| r.get(0))
            .unwrap();
        assert!(sql.contains("WHERE state IN ('retrying', 'dead')"), "{sql}");
        let by_id: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE tbl_name = 'refresh_queue' AND type = 'index' AND sql LIKE '%(state, id)%'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(by_id, vec!["refresh_queue_failed_by_state".to_string()]);
    }

    #[test]
    fn claiming_again_reuses_the_compiled_statement() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrate::apply(&mut conn).unwrap();
        let keys: Vec<String> = (0..20).map(|i| format!("K{i:02}")).collect();
        for k in &keys {
            insert_waiting(&conn, k, Trigger::Full, 1, None, 0, sort_key(0, 1), 0).unwrap();
        }
        for (i, limit) in [1, 3, 2, 5].into_iter().enumerate() {
            assert_eq!(claim(&conn, limit, "n", 10, 1_000 + i as i64).unwrap().len(), limit);
        }
        let stmt = conn.prepare_cached(CLAIM_SQL).unwrap();
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::Run), 4);
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0, "binding the limit must not expire it");
    }

    #[test]
    fn sql_sort_key_matches_core() {
        let conn = Connection::open_in_memory().unwrap();
        for (due, prio) in [(0i64, 1i64), (1_700_000_000_000, 6), (5, 3)] {
            let got: i64 = conn
                .query_row(
                    &format!("SELECT {SORT_KEY_SQL} FROM (SELECT ?3 AS priority)"),
                    params![due, aging_step_ms(), prio],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(got, sort_key(due, prio));
        }
    }
}
