//! Runs: single operations on a run's row (its start, counters and end)
//! and the reads of runs. When a run ends, and as what, is `ops/runs.rs`
//! and `amsync_core::run`.

use std::future::Future;

use amsync_core::Trigger;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::types::{Run, RunCounts, RunFilter, RunId, RunOutcome};

/// What deciding whether a run has ended needs of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunEndFacts {
    /// The listing phase is over.
    pub listing_done: bool,
    /// The run has an outcome already.
    pub finished: bool,
    pub dead: u64,
    pub enqueued: u64,
    /// The listing reported an error.
    pub listing_error: bool,
}

/// Single operations on runs inside a transaction.
pub trait RunTx: Send {
    /// Inserts a running run no process owns.
    fn insert_run(
        &mut self,
        kind: Trigger,
        at: DateTime<Utc>,
        watermark_before: Option<DateTime<Utc>>,
        params: &serde_json::Value,
    ) -> impl Future<Output = Result<RunId>> + Send;

    /// Adds to a run's counters; false when there is no such run.
    fn add_run_counts(&mut self, id: RunId, counts: &RunCounts) -> impl Future<Output = Result<bool>> + Send;

    /// Marks the listing phase over (its lease dropped), keeping the given
    /// watermark and error; false when there is no such run.
    fn mark_listing_done(
        &mut self,
        id: RunId,
        watermark_after: Option<DateTime<Utc>>,
        error: Option<&str>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Ends a run now with `outcome` (and `error`, kept if none), its
    /// listing over; false when there is no such run.
    fn end_run(
        &mut self,
        id: RunId,
        at: DateTime<Utc>,
        outcome: RunOutcome,
        error: Option<&str>,
    ) -> impl Future<Output = Result<bool>> + Send;

    fn run_end_facts(&mut self, id: RunId) -> impl Future<Output = Result<Option<RunEndFacts>>> + Send;

    /// Whether the run has queue entries not settled (dead letters are settled).
    fn has_unsettled_entries(&mut self, id: RunId) -> impl Future<Output = Result<bool>> + Send;

    /// Records the outcome of a run that ran to its end.
    fn close_run(
        &mut self,
        id: RunId,
        at: DateTime<Utc>,
        outcome: RunOutcome,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Reads of runs.
pub trait RunReads: Send + Sync {
    fn get_run(&self, id: RunId) -> impl Future<Output = Result<Option<Run>>> + Send;

    /// Only the outcome (cheaper than `get_run`, whose pending count reads
    /// every entry of the run).
    fn run_outcome(&self, id: RunId) -> impl Future<Output = Result<Option<RunOutcome>>> + Send;

    /// Newest first.
    fn list_runs(&self, filter: &RunFilter) -> impl Future<Output = Result<Vec<Run>>> + Send;
}
