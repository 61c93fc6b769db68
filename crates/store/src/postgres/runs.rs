//! Runs in PostgreSQL: the single operations of `RunTx` and the reads of
//! `RunReads` (when a run ends is `ops/runs.rs` and `amsync_core::run`).
//!
//! Counters move by `UPDATE … SET n = n + $k`: commits of one run on
//! several nodes add to the same row, and the row lock orders them.

use amsync_core::Trigger;
use chrono::{DateTime, Utc};

use super::codec::{self, count, from_json, get, opt_ts, to_json, ts};
use super::{PgBackend, PgTx};
use crate::backend::{RunEndFacts, RunReads, RunTx};
use crate::error::Result;
use crate::types::*;

fn n(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) async fn add_counts(tx: &mut PgTx, id: i64, c: &RunCounts) -> Result<bool> {
    let changed = tx
        .exec(
            "UPDATE runs SET pages = pages + $2, listed = listed + $3, enqueued = enqueued + $4, merged = merged + $5,
                refreshed = refreshed + $6, created = created + $7, changed = changed + $8,
                unchanged = unchanged + $9, disabled = disabled + $10, failed = failed + $11, dead = dead + $12,
                held = held + $13
             WHERE id = $1",
            &[
                &id,
                &n(c.pages),
                &n(c.listed),
                &n(c.enqueued),
                &n(c.merged),
                &n(c.refreshed),
                &n(c.created),
                &n(c.changed),
                &n(c.unchanged),
                &n(c.disabled),
                &n(c.failed),
                &n(c.dead),
                &n(c.held),
            ],
        )
        .await?;
    Ok(changed == 1)
}

const RUN_COLUMNS: &str =
    "id, kind, started_at, finished_at, outcome, watermark_before, watermark_after, pages, listed,
    enqueued, merged, refreshed, created, changed, unchanged, disabled, failed, dead, error, params::text,
    (SELECT COUNT(*) FROM refresh_queue q WHERE q.run_id = runs.id AND q.state <> 'dead'), held,
    owner, lease_until, resumed_at, resumes, resume_note";

fn run(r: &tokio_postgres::Row) -> Result<Run> {
    let c = |i: usize| -> Result<u64> { Ok(count(get(r, i)?)) };
    let resumed_at: Option<DateTime<Utc>> = get(r, 24)?;
    let resumes: i64 = get(r, 25)?;
    let note: Option<String> = get(r, 26)?;
    Ok(Run {
        id: get(r, 0)?,
        kind: codec::trigger(&get::<String>(r, 1)?)?,
        started_at: get(r, 2)?,
        finished_at: get(r, 3)?,
        outcome: codec::run_outcome(&get::<String>(r, 4)?)?,
        watermark_before: get(r, 5)?,
        watermark_after: get(r, 6)?,
        counts: RunCounts {
            pages: c(7)?,
            listed: c(8)?,
            enqueued: c(9)?,
            merged: c(10)?,
            refreshed: c(11)?,
            created: c(12)?,
            changed: c(13)?,
            unchanged: c(14)?,
            disabled: c(15)?,
            failed: c(16)?,
            dead: c(17)?,
            held: c(21)?,
        },
        pending: c(20)?,
        error: get(r, 18)?,
        params: from_json("run parameters", &get::<String>(r, 19)?)?,
        owner: get(r, 22)?,
        lease_until: get(r, 23)?,
        resumed: resumed_at.map(|at| RunResumed { at, times: count(resumes), note: note.unwrap_or_default() }),
    })
}

pub(crate) async fn get_run(tx: &mut PgTx, id: i64) -> Result<Option<Run>> {
    tx.query_opt(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"), &[&id]).await?.as_ref().map(run).transpose()
}

impl RunTx for PgTx {
    async fn insert_run(
        &mut self,
        kind: Trigger,
        at: DateTime<Utc>,
        watermark_before: Option<DateTime<Utc>>,
        params: &serde_json::Value,
    ) -> Result<RunId> {
        let row = self
            .query_one(
                "INSERT INTO runs (kind, started_at, outcome, watermark_before, params)
                 VALUES ($1, $2, 'running', $3, $4::text::jsonb) RETURNING id",
                &[&kind.as_str(), &ts(at), &opt_ts(watermark_before), &to_json(params)],
            )
            .await?;
        get(&row, 0)
    }

    async fn add_run_counts(&mut self, id: RunId, counts: &RunCounts) -> Result<bool> {
        add_counts(self, id, counts).await
    }

    async fn mark_listing_done(
        &mut self,
        id: RunId,
        watermark_after: Option<DateTime<Utc>>,
        error: Option<&str>,
    ) -> Result<bool> {
        let changed = self
            .exec(
                "UPDATE runs SET listing_done = true, watermark_after = COALESCE($2, watermark_after),
                    error = COALESCE($3, error), lease_until = NULL
                 WHERE id = $1",
                &[&id, &opt_ts(watermark_after), &error],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn end_run(
        &mut self,
        id: RunId,
        at: DateTime<Utc>,
        outcome: RunOutcome,
        error: Option<&str>,
    ) -> Result<bool> {
        let changed = self
            .exec(
                "UPDATE runs SET finished_at = $2, outcome = $3, error = COALESCE($4, error), listing_done = true,
                    lease_until = NULL
                 WHERE id = $1",
                &[&id, &ts(at), &outcome.as_str(), &error],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn run_end_facts(&mut self, id: RunId) -> Result<Option<RunEndFacts>> {
        let row = self
            .query_opt(
                "SELECT listing_done, finished_at IS NOT NULL, dead, enqueued, error IS NOT NULL FROM runs WHERE id = $1",
                &[&id],
            )
            .await?;
        row.map(|r| {
            Ok(RunEndFacts {
                listing_done: get(&r, 0)?,
                finished: get(&r, 1)?,
                dead: count(get(&r, 2)?),
                enqueued: count(get(&r, 3)?),
                listing_error: get(&r, 4)?,
            })
        })
        .transpose()
    }

    async fn has_unsettled_entries(&mut self, id: RunId) -> Result<bool> {
        let row = self
            .query_one("SELECT EXISTS (SELECT 1 FROM refresh_queue WHERE run_id = $1 AND state <> 'dead')", &[&id])
            .await?;
        get(&row, 0)
    }

    async fn close_run(&mut self, id: RunId, at: DateTime<Utc>, outcome: RunOutcome) -> Result<()> {
        self.exec("UPDATE runs SET finished_at = $2, outcome = $3 WHERE id = $1", &[&id, &ts(at), &outcome.as_str()])
            .await?;
        Ok(())
    }
}

impl RunReads for PgBackend {
    async fn get_run(&self, id: RunId) -> Result<Option<Run>> {
        let mut tx = self.autocommit().await?;
        get_run(&mut tx, id).await
    }

    async fn run_outcome(&self, id: RunId) -> Result<Option<RunOutcome>> {
        let mut tx = self.autocommit().await?;
        let row = tx.query_opt("SELECT outcome FROM runs WHERE id = $1", &[&id]).await?;
        row.map(|r| codec::run_outcome(&get::<String>(&r, 0)?)).transpose()
    }

    async fn list_runs(&self, f: &RunFilter) -> Result<Vec<Run>> {
        let mut tx = self.autocommit().await?;
        let rows = tx
            .query(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM runs
                     WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR outcome = $2) AND id < $3
                     ORDER BY id DESC LIMIT $4"
                ),
                &[
                    &f.kind.map(Trigger::as_str),
                    &f.outcome.map(RunOutcome::as_str),
                    &f.before.unwrap_or(i64::MAX),
                    &(f.limit as i64),
                ],
            )
            .await?;
        rows.iter().map(run).collect()
    }
}
