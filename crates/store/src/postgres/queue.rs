//! The Refresh Queue in PostgreSQL: the single operations of `QueueTx` and
//! the reads of `QueueReads` (the lifecycle is `ops/queue.rs`).
//!
//! For many nodes:
//! - a claim locks the entries it takes `FOR UPDATE SKIP LOCKED`, so nodes
//!   claiming at once take different entries instead of waiting on each
//!   other (and the partial unique index keeps one running entry per key
//!   whatever happens);
//! - a claim's fencing token comes from the `refresh_queue_fence` sequence:
//!   unique across nodes without a shared counter row;
//! - every later step of a running entry names it by `(id, fence)`: the
//!   commit's check locks the entry (`FOR UPDATE`), so a rescue or another
//!   node's claim of the same entry waits for the commit or fails it, and a
//!   node that stalled past its lease finds its token gone and writes
//!   nothing.
//!
//! Times are timestamptz; the claim order `sort_key` stays unix
//! milliseconds (`amsync_core::queue::sort_key`), computed in SQL from the
//! milliseconds the caller passes where a statement moves many entries.

use std::collections::HashMap;

use amsync_core::queue::{QueueState, AGING_STEP};
use amsync_core::{Failure, MemberKey, Trigger};
use chrono::{DateTime, Utc};

use super::codec::{self, from_json, get, ms, to_json, ts};
use super::{PgBackend, PgTx};
use crate::backend::{EntryRef, KeyEntries, NewWaiting, QueueReads, QueueTx, Running, Waiting, WaitingMerge};
use crate::error::{Result, StoreError};
use crate::types::*;

fn aging_step_ms() -> i64 {
    AGING_STEP.as_millis() as i64
}

const CLAIM_SQL: &str = "WITH picked AS (
        SELECT q.id FROM refresh_queue q
        WHERE q.state IN ('queued', 'retrying') AND q.due_at <= $4
          AND NOT EXISTS (SELECT 1 FROM refresh_queue r WHERE r.member_key = q.member_key AND r.state = 'running')
        ORDER BY q.sort_key, q.member_key
        LIMIT $5
        FOR UPDATE SKIP LOCKED)
     UPDATE refresh_queue AS e
     SET state = 'running', attempts = e.attempts + 1, fence = $1, lease_until = $2, node = $3
     FROM picked WHERE e.id = picked.id
     RETURNING e.id, e.member_key, e.trigger, e.priority, e.attempts, e.run_id, e.sort_key";

impl QueueTx for PgTx {
    async fn running_entry(&mut self, token: ClaimToken) -> Result<Option<Running>> {
        let row = self
            .query_opt(
                "SELECT id, member_key, priority, attempts, run_id FROM refresh_queue
                 WHERE id = $1 AND fence = $2 AND state = 'running' FOR UPDATE",
                &[&token.id, &token.fence],
            )
            .await?;
        row.map(|r| {
            Ok(Running {
                id: get(&r, 0)?,
                key: get(&r, 1)?,
                priority: get(&r, 2)?,
                attempts: get(&r, 3)?,
                run_id: get(&r, 4)?,
            })
        })
        .transpose()
    }

    async fn waiting_entry(&mut self, key: &str) -> Result<Option<Waiting>> {
        let row = self
            .query_opt(
                "SELECT id, priority, due_at, attempts, run_id FROM refresh_queue
                 WHERE member_key = $1 AND state IN ('queued', 'retrying')",
                &[&key],
            )
            .await?;
        row.map(|r| {
            Ok(Waiting {
                id: get(&r, 0)?,
                priority: get(&r, 1)?,
                due: get(&r, 2)?,
                attempts: get(&r, 3)?,
                run_id: get(&r, 4)?,
            })
        })
        .transpose()
    }

    async fn waiting_entries(&mut self, keys: &[String]) -> Result<HashMap<String, Waiting>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = self
            .query(
                "SELECT member_key, id, priority, due_at, attempts, run_id FROM refresh_queue
                 WHERE member_key = ANY($1::text[]) AND state IN ('queued', 'retrying')",
                &[&keys],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let w = Waiting {
                    id: get(r, 1)?,
                    priority: get(r, 2)?,
                    due: get(r, 3)?,
                    attempts: get(r, 4)?,
                    run_id: get(r, 5)?,
                };
                Ok((get(r, 0)?, w))
            })
            .collect()
    }

    /// Three statements for a whole chunk (the merges, the dead letters,
    /// the new entries), each over arrays the caller's decisions fill: a
    /// round trip per statement is what PostgreSQL makes costly.
    async fn enqueue_batch(
        &mut self,
        merges: &[WaitingMerge],
        inserts: &[NewWaiting],
        now: DateTime<Utc>,
    ) -> Result<()> {
        if !merges.is_empty() {
            let ids: Vec<i64> = merges.iter().map(|m| m.id).collect();
            let priorities: Vec<i64> = merges.iter().map(|m| m.priority).collect();
            let dues: Vec<DateTime<Utc>> = merges.iter().map(|m| ts(m.due)).collect();
            let sort_keys: Vec<i64> = merges.iter().map(|m| m.sort_key).collect();
            let runs: Vec<Option<RunId>> = merges.iter().map(|m| m.run_id).collect();
            let triggers: Vec<Option<&str>> = merges.iter().map(|m| m.trigger.map(Trigger::as_str)).collect();
            self.exec(
                "UPDATE refresh_queue AS e SET priority = t.priority, due_at = t.due_at, sort_key = t.sort_key,
                    run_id = COALESCE(t.run_id, e.run_id), trigger = COALESCE(t.trigger, e.trigger)
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::text[])
                    AS t(id, priority, due_at, sort_key, run_id, trigger)
                 WHERE e.id = t.id",
                &[&ids, &priorities, &dues, &sort_keys, &runs, &triggers],
            )
            .await?;
        }
        if inserts.is_empty() {
            return Ok(());
        }
        let keys: Vec<&str> = inserts.iter().map(|n| n.key.as_str()).collect();
        self.exec("DELETE FROM refresh_queue WHERE member_key = ANY($1::text[]) AND state = 'dead'", &[&keys]).await?;
        let priorities: Vec<i64> = inserts.iter().map(|n| n.priority).collect();
        let triggers: Vec<&str> = inserts.iter().map(|n| n.trigger.as_str()).collect();
        let runs: Vec<Option<RunId>> = inserts.iter().map(|n| n.run_id).collect();
        let dues: Vec<DateTime<Utc>> = inserts.iter().map(|n| ts(n.due)).collect();
        let sort_keys: Vec<i64> = inserts.iter().map(|n| n.sort_key).collect();
        self.exec(
            "INSERT INTO refresh_queue (member_key, state, priority, trigger, run_id, due_at, sort_key, enqueued_at)
             SELECT t.member_key, 'queued', t.priority, t.trigger, t.run_id, t.due_at, t.sort_key, $7
             FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::timestamptz[], $6::bigint[])
                AS t(member_key, priority, trigger, run_id, due_at, sort_key)",
            &[&keys, &priorities, &triggers, &runs, &dues, &sort_keys, &ts(now)],
        )
        .await?;
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
        self.exec(
            "INSERT INTO refresh_queue (member_key, state, priority, trigger, run_id, due_at, sort_key, enqueued_at)
             VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7)",
            &[&key, &priority, &trigger.as_str(), &run_id, &ts(due), &sort_key, &ts(now)],
        )
        .await?;
        Ok(())
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
        self.exec(
            "UPDATE refresh_queue SET priority = $2, due_at = $3, sort_key = $4, run_id = COALESCE($5, run_id),
                trigger = COALESCE($6, trigger)
             WHERE id = $1",
            &[&id, &priority, &ts(due), &sort_key, &run_id, &trigger.map(Trigger::as_str)],
        )
        .await?;
        Ok(())
    }

    async fn delete_dead_letter(&mut self, key: &str) -> Result<()> {
        self.exec("DELETE FROM refresh_queue WHERE member_key = $1 AND state = 'dead'", &[&key]).await?;
        Ok(())
    }

    async fn delete_entry(&mut self, id: i64) -> Result<()> {
        self.exec("DELETE FROM refresh_queue WHERE id = $1", &[&id]).await?;
        Ok(())
    }

    async fn set_retrying(
        &mut self,
        id: i64,
        due: DateTime<Utc>,
        sort_key: i64,
        failure: &Failure,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "UPDATE refresh_queue SET state = 'retrying', due_at = $2, sort_key = $3, fence = NULL,
                lease_until = NULL, node = NULL, last_error = $4::text::jsonb, last_error_at = $5
             WHERE id = $1",
            &[&id, &ts(due), &sort_key, &to_json(failure), &ts(at)],
        )
        .await?;
        Ok(())
    }

    async fn bury(&mut self, id: i64, key: &str, failure: &Failure, at: DateTime<Utc>) -> Result<()> {
        self.delete_dead_letter(key).await?;
        self.exec(
            "UPDATE refresh_queue SET state = 'dead', fence = NULL, lease_until = NULL, node = NULL,
                last_error = $2::text::jsonb, last_error_at = $3
             WHERE id = $1",
            &[&id, &to_json(failure), &ts(at)],
        )
        .await?;
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
        self.exec(
            "UPDATE refresh_queue SET state = 'queued', due_at = $2, sort_key = $3, attempts = $4, fence = NULL,
                lease_until = NULL, node = NULL, last_error = COALESCE($5::text::jsonb, last_error),
                last_error_at = CASE WHEN $5::text IS NULL THEN last_error_at ELSE $6 END
             WHERE id = $1",
            &[&id, &ts(due), &sort_key, &attempts, &failure.map(to_json), &ts(at)],
        )
        .await?;
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
        self.exec(
            "UPDATE refresh_queue SET priority = $2, due_at = $3, sort_key = $4, attempts = $5,
                last_error = COALESCE($6::text::jsonb, last_error),
                last_error_at = CASE WHEN $6::text IS NULL THEN last_error_at ELSE $7 END,
                state = CASE WHEN $6::text IS NULL THEN state ELSE 'retrying' END
             WHERE id = $1",
            &[&id, &priority, &ts(due), &sort_key, &attempts, &failure.map(to_json), &ts(at)],
        )
        .await?;
        Ok(())
    }

    async fn claim(
        &mut self,
        limit: usize,
        node: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<Claim>> {
        let fence: i64 = get(&self.query_one("SELECT nextval('refresh_queue_fence')", &[]).await?, 0)?;
        let lease_until = ts(lease_until);
        let rows = self.query(CLAIM_SQL, &[&fence, &lease_until, &node, &ts(now), &(limit as i64)]).await?;
        let mut claims = Vec::with_capacity(rows.len());
        for r in &rows {
            let attempts: i64 = get(r, 4)?;
            let sk: i64 = get(r, 6)?;
            let claim = Claim {
                id: get(r, 0)?,
                fence,
                key: codec::key("member", get(r, 1)?)?,
                trigger: codec::trigger(&get::<String>(r, 2)?)?,
                priority: get(r, 3)?,
                attempts: attempts.max(0) as u32,
                run_id: get(r, 5)?,
                lease_until,
            };
            claims.push((sk, claim));
        }
        // RETURNING gives rows in no particular order; this is the claim order.
        claims.sort_by(|(a, x), (b, y)| (a, x.key.as_str()).cmp(&(b, y.key.as_str())));
        Ok(claims.into_iter().map(|(_, c)| c).collect())
    }

    async fn renew(&mut self, tokens: &[ClaimToken], lease_until: DateTime<Utc>) -> Result<Vec<bool>> {
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = tokens.iter().map(|t| t.id).collect();
        let fences: Vec<i64> = tokens.iter().map(|t| t.fence).collect();
        let rows = self
            .query(
                "UPDATE refresh_queue AS e SET lease_until = $3
                 FROM UNNEST($1::bigint[], $2::bigint[]) AS t(id, fence)
                 WHERE e.id = t.id AND e.fence = t.fence AND e.state = 'running'
                 RETURNING e.id, e.fence",
                &[&ids, &fences, &ts(lease_until)],
            )
            .await?;
        let held: std::collections::HashSet<(i64, i64)> =
            rows.iter().map(|r| Ok((get(r, 0)?, get(r, 1)?))).collect::<Result<_>>()?;
        Ok(tokens.iter().map(|t| held.contains(&(t.id, t.fence))).collect())
    }

    async fn drop_expired_where_waiting(&mut self, now: DateTime<Utc>) -> Result<Vec<Option<RunId>>> {
        let rows = self
            .query(
                "DELETE FROM refresh_queue AS q
                 WHERE q.state = 'running' AND q.lease_until <= $1
                   AND EXISTS (SELECT 1 FROM refresh_queue w
                               WHERE w.member_key = q.member_key AND w.state IN ('queued', 'retrying'))
                 RETURNING q.run_id",
                &[&ts(now)],
            )
            .await?;
        rows.iter().map(|r| get(r, 0)).collect()
    }

    async fn return_expired(&mut self, now: DateTime<Utc>) -> Result<u64> {
        self.exec(
            "UPDATE refresh_queue
             SET state = 'retrying', due_at = $1, sort_key = $2 - priority * $3, fence = NULL, lease_until = NULL,
                node = NULL
             WHERE state = 'running' AND lease_until <= $1",
            &[&ts(now), &ms(now), &aging_step_ms()],
        )
        .await
    }

    async fn requeue_dead(&mut self, transient_only: bool, now: DateTime<Utc>) -> Result<u64> {
        // A key that waits again already: its dead letter folds into that entry.
        let folded = self
            .exec(
                "DELETE FROM refresh_queue AS d WHERE d.state = 'dead'
                   AND (NOT $1 OR d.last_error->>'kind' = 'transient')
                   AND EXISTS (SELECT 1 FROM refresh_queue w
                               WHERE w.member_key = d.member_key AND w.state IN ('queued', 'retrying'))",
                &[&transient_only],
            )
            .await?;
        // A requeued entry is new work outside the run that gave up on it.
        let moved = self
            .exec(
                "UPDATE refresh_queue SET state = 'queued', attempts = 0, due_at = $2, sort_key = $3 - priority * $4,
                    run_id = NULL
                 WHERE state = 'dead' AND (NOT $1 OR last_error->>'kind' = 'transient')",
                &[&transient_only, &ts(now), &ms(now), &aging_step_ms()],
            )
            .await?;
        Ok(folded + moved)
    }

    async fn key_entries(&mut self, key: &str) -> Result<KeyEntries> {
        let rows = self
            .query("SELECT id, run_id, state FROM refresh_queue WHERE member_key = $1 ORDER BY id", &[&key])
            .await?;
        let mut out = KeyEntries::default();
        for r in &rows {
            let entry: EntryRef = (get(r, 0)?, get(r, 1)?);
            let slot = match get::<String>(r, 2)?.as_str() {
                "queued" | "retrying" => &mut out.waiting,
                "running" => &mut out.running,
                "dead" => &mut out.dead,
                other => return Err(StoreError::Database(format!("stored queue state {other:?} is not known"))),
            };
            *slot = Some(entry);
        }
        Ok(out)
    }

    async fn requeue_entry(&mut self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE refresh_queue SET state = 'queued', attempts = 0, due_at = LEAST(due_at, $1),
                sort_key = (CAST(EXTRACT(EPOCH FROM LEAST(due_at, $1)) * 1000 AS bigint)) - priority * $2,
                fence = NULL, lease_until = NULL, node = NULL
             WHERE id = $3",
            &[&ts(now), &aging_step_ms(), &id],
        )
        .await?;
        Ok(())
    }
}

const COLUMNS: &str = "id, member_key, state, trigger, priority, attempts, run_id, enqueued_at, due_at,
    lease_until, last_error::text, last_error_at";

fn entry(r: &tokio_postgres::Row) -> Result<QueueEntry> {
    let attempts: i64 = get(r, 5)?;
    let last_error: Option<String> = get(r, 10)?;
    Ok(QueueEntry {
        id: get(r, 0)?,
        key: codec::key("member", get(r, 1)?)?,
        state: codec::queue_state(&get::<String>(r, 2)?)?,
        trigger: codec::trigger(&get::<String>(r, 3)?)?,
        priority: get(r, 4)?,
        attempts: attempts.max(0) as u32,
        run_id: get(r, 6)?,
        enqueued_at: get(r, 7)?,
        due_at: get(r, 8)?,
        lease_until: get(r, 9)?,
        last_error: last_error.as_deref().map(|t| from_json("last error", t)).transpose()?,
        last_error_at: get(r, 11)?,
    })
}

/// Every entry of one key, oldest first (a member's export).
pub(crate) async fn entries_of(tx: &mut PgTx, key: &str) -> Result<Vec<QueueEntry>> {
    let rows =
        tx.query(&format!("SELECT {COLUMNS} FROM refresh_queue WHERE member_key = $1 ORDER BY id"), &[&key]).await?;
    rows.iter().map(entry).collect()
}

impl QueueReads for PgBackend {
    async fn queue_counts(&self) -> Result<QueueCounts> {
        let mut tx = self.autocommit().await?;
        let row = tx
            .query_one(
                "SELECT COUNT(*) FILTER (WHERE state = 'queued'), COUNT(*) FILTER (WHERE state = 'running'),
                    COUNT(*) FILTER (WHERE state = 'retrying'), COUNT(*) FILTER (WHERE state = 'dead'),
                    MIN(enqueued_at) FILTER (WHERE state IN ('queued', 'retrying'))
                 FROM refresh_queue",
                &[],
            )
            .await?;
        Ok(QueueCounts {
            queued: codec::count(get(&row, 0)?),
            running: codec::count(get(&row, 1)?),
            retrying: codec::count(get(&row, 2)?),
            dead: codec::count(get(&row, 3)?),
            oldest_waiting_since: get(&row, 4)?,
        })
    }

    async fn list_queue(
        &self,
        state: Option<QueueState>,
        limit: usize,
        after_id: Option<i64>,
    ) -> Result<Vec<QueueEntry>> {
        let mut tx = self.autocommit().await?;
        let after = after_id.unwrap_or(i64::MIN);
        let state = state.map(|s| s.as_str());
        let rows = tx
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM refresh_queue WHERE id > $1 AND ($2::text IS NULL OR state = $2)
                     ORDER BY id LIMIT $3"
                ),
                &[&after, &state, &(limit as i64)],
            )
            .await?;
        rows.iter().map(entry).collect()
    }

    async fn is_pending(&self, key: &MemberKey) -> Result<bool> {
        let mut tx = self.autocommit().await?;
        let row = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM refresh_queue WHERE member_key = $1 AND state <> 'dead')",
                &[&key.as_str()],
            )
            .await?;
        get(&row, 0)
    }
}
