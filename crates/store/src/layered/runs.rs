//! [`RunStore`] over a backend: starting and ending runs is `ops/runs.rs`.

use amsync_core::Trigger;
use chrono::{DateTime, Utc};

use super::Layered;
use crate::api::RunStore;
use crate::backend::Backend;
use crate::error::Result;
use crate::ops::runs::{AddRunCounts, FinishListing, FinishRun, StartRun};
use crate::types::*;

#[async_trait::async_trait]
impl<B: Backend> RunStore for Layered<B> {
    async fn start_run(
        &self,
        kind: Trigger,
        at: DateTime<Utc>,
        watermark_before: Option<DateTime<Utc>>,
        params: serde_json::Value,
    ) -> Result<RunId> {
        self.backend.write(StartRun { kind, at, watermark_before, params }).await
    }

    async fn add_run_counts(&self, id: RunId, counts: &RunCounts) -> Result<()> {
        self.backend.write(AddRunCounts { id, counts: counts.clone() }).await
    }

    async fn finish_listing(
        &self,
        id: RunId,
        at: DateTime<Utc>,
        watermark_after: Option<DateTime<Utc>>,
        error: Option<String>,
    ) -> Result<()> {
        self.backend.write(FinishListing { id, at, watermark_after, error }).await
    }

    async fn finish_run(&self, id: RunId, at: DateTime<Utc>, outcome: RunOutcome, error: Option<String>) -> Result<()> {
        self.backend.write(FinishRun { id, at, outcome, error }).await
    }

    async fn get_run(&self, id: RunId) -> Result<Option<Run>> {
        self.backend.get_run(id).await
    }

    async fn run_outcome(&self, id: RunId) -> Result<Option<RunOutcome>> {
        self.backend.run_outcome(id).await
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>> {
        self.backend.list_runs(filter).await
    }
}
