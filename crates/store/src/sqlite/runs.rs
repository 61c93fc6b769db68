//! Runs in SQL: their single operations (`RunTx`) and reads (`RunReads`).
//! When a run ends, and as what, is decided in `ops/runs.rs` and
//! `amsync_core::run`.

use amsync_core::Trigger;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{self, count, from_json, from_ms, opt_from_ms};
use super::codec::{ms, to_json};
use super::{SqliteBackend, SqliteTx};
use crate::backend::{RunEndFacts, RunReads, RunTx};
use crate::error::Result;
use crate::types::*;

/// Adds to a run's counters.
pub(crate) fn add_counts(conn: &Connection, id: i64, c: &RunCounts) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE runs SET pages = pages + ?2, listed = listed + ?3, enqueued = enqueued + ?4, merged = merged + ?5,
                refreshed = refreshed + ?6, created = created + ?7, changed = changed + ?8,
                unchanged = unchanged + ?9, disabled = disabled + ?10, failed = failed + ?11, dead = dead + ?12,
                held = held + ?13
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            c.pages as i64,
            c.listed as i64,
            c.enqueued as i64,
            c.merged as i64,
            c.refreshed as i64,
            c.created as i64,
            c.changed as i64,
            c.unchanged as i64,
            c.disabled as i64,
            c.failed as i64,
            c.dead as i64,
            c.held as i64
        ])?;
    Ok(n == 1)
}

const RUN_COLUMNS: &str =
    "id, kind, started_at, finished_at, outcome, watermark_before, watermark_after, pages, listed,
    enqueued, merged, refreshed, created, changed, unchanged, disabled, failed, dead, error, params,
    (SELECT COUNT(*) FROM refresh_queue q WHERE q.run_id = runs.id AND q.state <> 'dead'), held,
    owner, lease_until, resumed_at, resumes, resume_note";

struct RawRun {
    id: i64,
    kind: String,
    started_at: i64,
    finished_at: Option<i64>,
    outcome: String,
    watermark_before: Option<i64>,
    watermark_after: Option<i64>,
    counts: [i64; 11],
    error: Option<String>,
    params: String,
    pending: i64,
    held: i64,
    owner: Option<String>,
    lease_until: Option<i64>,
    resumed_at: Option<i64>,
    resumes: i64,
    resume_note: Option<String>,
}

fn raw_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRun> {
    let mut counts = [0i64; 11];
    for (i, c) in counts.iter_mut().enumerate() {
        *c = r.get(7 + i)?;
    }
    Ok(RawRun {
        id: r.get(0)?,
        kind: r.get(1)?,
        started_at: r.get(2)?,
        finished_at: r.get(3)?,
        outcome: r.get(4)?,
        watermark_before: r.get(5)?,
        watermark_after: r.get(6)?,
        counts,
        error: r.get(18)?,
        params: r.get(19)?,
        pending: r.get(20)?,
        held: r.get(21)?,
        owner: r.get(22)?,
        lease_until: r.get(23)?,
        resumed_at: r.get(24)?,
        resumes: r.get(25)?,
        resume_note: r.get(26)?,
    })
}

impl RawRun {
    fn into_run(self) -> Result<Run> {
        let [pages, listed, enqueued, merged, refreshed, created, changed, unchanged, disabled, failed, dead] =
            self.counts.map(count);
        Ok(Run {
            id: self.id,
            kind: codec::trigger(&self.kind)?,
            started_at: from_ms(self.started_at),
            finished_at: opt_from_ms(self.finished_at),
            outcome: codec::run_outcome(&self.outcome)?,
            watermark_before: opt_from_ms(self.watermark_before),
            watermark_after: opt_from_ms(self.watermark_after),
            counts: RunCounts {
                pages,
                listed,
                enqueued,
                merged,
                refreshed,
                created,
                changed,
                unchanged,
                disabled,
                failed,
                dead,
                held: count(self.held),
            },
            pending: count(self.pending),
            error: self.error,
            params: from_json("run parameters", &self.params)?,
            owner: self.owner,
            lease_until: opt_from_ms(self.lease_until),
            resumed: self.resumed_at.map(|at| RunResumed {
                at: from_ms(at),
                times: count(self.resumes),
                note: self.resume_note.unwrap_or_default(),
            }),
        })
    }
}

pub(crate) fn get_run(conn: &Connection, id: i64) -> Result<Option<Run>> {
    conn.prepare_cached(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"))?
        .query_row([id], raw_run)
        .optional()?
        .map(RawRun::into_run)
        .transpose()
}

fn list_runs(conn: &Connection, f: &RunFilter) -> Result<Vec<Run>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RUN_COLUMNS} FROM runs
         WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR outcome = ?2) AND id < ?3
         ORDER BY id DESC LIMIT ?4"
    ))?;
    let rows = stmt.query_map(
        params![
            f.kind.map(Trigger::as_str),
            f.outcome.map(RunOutcome::as_str),
            f.before.unwrap_or(i64::MAX),
            f.limit as i64
        ],
        raw_run,
    )?;
    let raw: Vec<RawRun> = rows.collect::<rusqlite::Result<_>>()?;
    raw.into_iter().map(RawRun::into_run).collect()
}

impl RunTx for SqliteTx {
    async fn insert_run(
        &mut self,
        kind: Trigger,
        at: DateTime<Utc>,
        watermark_before: Option<DateTime<Utc>>,
        params: &serde_json::Value,
    ) -> Result<RunId> {
        Ok(self
            .conn
            .prepare_cached(
                "INSERT INTO runs (kind, started_at, outcome, watermark_before, params)
                 VALUES (?1, ?2, 'running', ?3, ?4) RETURNING id",
            )?
            .query_row(params![kind.as_str(), ms(at), watermark_before.map(ms), to_json(params)], |r| r.get(0))?)
    }

    async fn add_run_counts(&mut self, id: RunId, counts: &RunCounts) -> Result<bool> {
        add_counts(&self.conn, id, counts)
    }

    async fn mark_listing_done(
        &mut self,
        id: RunId,
        watermark_after: Option<DateTime<Utc>>,
        error: Option<&str>,
    ) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE runs SET listing_done = 1, watermark_after = COALESCE(?2, watermark_after),
                    error = COALESCE(?3, error), lease_until = NULL
                 WHERE id = ?1",
            )?
            .execute(params![id, watermark_after.map(ms), error])?;
        Ok(n > 0)
    }

    async fn end_run(
        &mut self,
        id: RunId,
        at: DateTime<Utc>,
        outcome: RunOutcome,
        error: Option<&str>,
    ) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE runs SET finished_at = ?2, outcome = ?3, error = COALESCE(?4, error), listing_done = 1,
                    lease_until = NULL
                 WHERE id = ?1",
            )?
            .execute(params![id, ms(at), outcome.as_str(), error])?;
        Ok(n > 0)
    }

    async fn run_end_facts(&mut self, id: RunId) -> Result<Option<RunEndFacts>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT listing_done, finished_at IS NOT NULL, dead, enqueued, error IS NOT NULL FROM runs WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(RunEndFacts {
                    listing_done: r.get(0)?,
                    finished: r.get(1)?,
                    dead: count(r.get(2)?),
                    enqueued: count(r.get(3)?),
                    listing_error: r.get(4)?,
                })
            })
            .optional()?)
    }

    async fn has_unsettled_entries(&mut self, id: RunId) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM refresh_queue WHERE run_id = ?1 AND state <> 'dead')")?
            .query_row([id], |r| r.get(0))?)
    }

    async fn close_run(&mut self, id: RunId, at: DateTime<Utc>, outcome: RunOutcome) -> Result<()> {
        self.conn.prepare_cached("UPDATE runs SET finished_at = ?2, outcome = ?3 WHERE id = ?1")?.execute(params![
            id,
            ms(at),
            outcome.as_str()
        ])?;
        Ok(())
    }
}

impl RunReads for SqliteBackend {
    async fn get_run(&self, id: RunId) -> Result<Option<Run>> {
        self.read_op(move |c| get_run(c, id)).await
    }

    async fn run_outcome(&self, id: RunId) -> Result<Option<RunOutcome>> {
        self.quick_read(move |c| {
            let outcome: Option<String> =
                c.prepare_cached("SELECT outcome FROM runs WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()?;
            outcome.map(|o| codec::run_outcome(&o)).transpose()
        })
        .await
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>> {
        let filter = filter.clone();
        self.read_op(move |c| list_runs(c, &filter)).await
    }
}
