//! Runs: their start, counters and end.
//!
//! A run with queue entries ends when its listing is over and its last
//! entry settles (deleted after success, or dead); the op that settles it
//! ends it in the same transaction ([`maybe_finish`]). What it ends as is
//! `amsync_core::run::natural_outcome`.

use amsync_core::run::natural_outcome;
use amsync_core::Trigger;
use chrono::{DateTime, Utc};

use crate::backend::{Tx, WriteOp};
use crate::error::{Result, StoreError};
use crate::types::{RunCounts, RunId, RunOutcome};

fn not_found(id: RunId) -> StoreError {
    StoreError::NotFound(format!("run {id}"))
}

/// Ends a run whose listing is over and whose last entry has settled.
pub(crate) async fn maybe_finish<T: Tx>(tx: &mut T, id: RunId, at: DateTime<Utc>) -> Result<()> {
    let Some(f) = tx.run_end_facts(id).await? else { return Ok(()) };
    if !f.listing_done || f.finished || tx.has_unsettled_entries(id).await? {
        return Ok(());
    }
    let outcome = natural_outcome(f.dead, f.enqueued, f.listing_error);
    tx.close_run(id, at, outcome).await?;
    tracing::info!(run = id, outcome = outcome.as_str(), "run finished");
    Ok(())
}

/// Ends each of `runs` that can end (see [`maybe_finish`]), once each.
pub(crate) async fn maybe_finish_all<T: Tx>(tx: &mut T, mut runs: Vec<RunId>, at: DateTime<Utc>) -> Result<()> {
    runs.sort_unstable();
    runs.dedup();
    for run in runs {
        maybe_finish(tx, run, at).await?;
    }
    Ok(())
}

/// Adds a refresh's outcome to its run's counters. A refresh naming a run
/// that does not exist is logged, not refused (the refresh itself stands).
pub(crate) async fn count_refresh<T: Tx>(tx: &mut T, run_id: Option<RunId>, counts: &RunCounts) -> Result<()> {
    if let Some(run) = run_id {
        if !tx.add_run_counts(run, counts).await? {
            tracing::warn!(run, "a refresh named a run that does not exist; its counters were not kept");
        }
    }
    Ok(())
}

/// [`crate::RunStore::start_run`].
pub(crate) struct StartRun {
    pub kind: Trigger,
    pub at: DateTime<Utc>,
    pub watermark_before: Option<DateTime<Utc>>,
    pub params: serde_json::Value,
}

impl WriteOp for StartRun {
    type Output = RunId;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<RunId> {
        tx.insert_run(self.kind, self.at, self.watermark_before, &self.params).await
    }
}

/// [`crate::RunStore::add_run_counts`].
pub(crate) struct AddRunCounts {
    pub id: RunId,
    pub counts: RunCounts,
}

impl WriteOp for AddRunCounts {
    type Output = ();

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<()> {
        if tx.add_run_counts(self.id, &self.counts).await? {
            Ok(())
        } else {
            Err(not_found(self.id))
        }
    }
}

/// [`crate::RunStore::finish_listing`]: the listing is over; the run ends
/// now if no entry of it is left.
pub(crate) struct FinishListing {
    pub id: RunId,
    pub at: DateTime<Utc>,
    pub watermark_after: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

impl WriteOp for FinishListing {
    type Output = ();

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<()> {
        if !tx.mark_listing_done(self.id, self.watermark_after, self.error.as_deref()).await? {
            return Err(not_found(self.id));
        }
        maybe_finish(tx, self.id, self.at).await
    }
}

/// [`crate::RunStore::finish_run`]: ends a run at once.
pub(crate) struct FinishRun {
    pub id: RunId,
    pub at: DateTime<Utc>,
    pub outcome: RunOutcome,
    pub error: Option<String>,
}

impl WriteOp for FinishRun {
    type Output = ();

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<()> {
        if tx.end_run(self.id, self.at, self.outcome, self.error.as_deref()).await? {
            Ok(())
        } else {
            Err(not_found(self.id))
        }
    }
}
