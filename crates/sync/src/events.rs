//! The events sync: GetChangedEvents since its own watermark, by the same
//! rules as members; events upserted, cancelled ones kept as cancelled.

use std::sync::Arc;
use std::time::Duration;

use amsync_core::watermark::{next_watermark, PollSummary};
use amsync_core::Trigger;
use amsync_store::{RunCounts, RunFilter, RunId, RunOutcome, WATERMARK_EVENTS};
use chrono::Utc;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::error::SyncError;

impl Engine {
    /// One events sync. Returns the run id; a failed listing fails the run
    /// and leaves the watermark.
    pub async fn sync_events(&self) -> Result<RunId, SyncError> {
        if self.is_paused() {
            return Err(SyncError::Paused("the source is paused; resume it first".into()));
        }
        let store = &self.store;
        let before = store.watermark(WATERMARK_EVENTS).await?;
        let started_at = Utc::now();
        let params = json!({ "since": before.map(amsync_core::watermark::since_param) });
        let run = store.start_run(Trigger::Events, started_at, before, params).await?;
        let mut cursor: Option<String> = None;
        let mut first_as_of = None;
        let mut records = 0u64;
        let mut pages = 0u64;
        let mut totals = amsync_store::UpsertCounts::default();
        let result: Result<(), SyncError> = async {
            loop {
                if pages >= self.settings.max_pages {
                    return Err(SyncError::Listing(format!("more than {} pages of events", self.settings.max_pages)));
                }
                let page = self.page_with_retries(|| self.source.changed_events(before, cursor.as_deref())).await?;
                pages += 1;
                if pages == 1 {
                    first_as_of = page.as_of;
                }
                for r in &page.rejected {
                    tracing::warn!(run_id = run, error = %amsync_core::escaped(&r), "event refused");
                }
                records += page.events.len() as u64 + page.rejected.len() as u64;
                let counts = store.upsert_events(&page.events, Utc::now()).await?;
                totals.created += counts.created;
                totals.updated += counts.updated;
                totals.unchanged += counts.unchanged;
                let rc = RunCounts {
                    pages: 1,
                    listed: page.events.len() as u64,
                    refreshed: page.events.len() as u64,
                    created: counts.created,
                    changed: counts.updated,
                    unchanged: counts.unchanged,
                    failed: page.rejected.len() as u64,
                    ..Default::default()
                };
                store.add_run_counts(run, &rc).await?;
                match page.next_cursor {
                    Some(c) if !c.is_empty() && Some(&c) != cursor.as_ref() => cursor = Some(c),
                    Some(c) if !c.is_empty() => {
                        return Err(SyncError::Listing(format!("the AMS repeated cursor {c:?}")))
                    }
                    _ => return Ok(()),
                }
            }
        }
        .await;
        match result {
            Ok(()) => {
                let summary = PollSummary { started_at, first_as_of, complete: true, records };
                let mut after = before;
                if let Some(wm) = next_watermark(before, &summary, self.settings.overlap) {
                    after = Some(store.advance_watermark(WATERMARK_EVENTS, wm).await?);
                }
                store.finish_listing(run, Utc::now(), after, None).await?;
                tracing::info!(
                    run_id = run,
                    created = totals.created,
                    updated = totals.updated,
                    "events sync finished"
                );
            }
            Err(e) => {
                tracing::warn!(run_id = run, error = %amsync_core::escaped(&e), "events sync failed; the watermark stays");
                store.finish_run(run, Utc::now(), RunOutcome::Failed, Some(e.to_string())).await?;
            }
        }
        Ok(run)
    }
}

/// Runs events syncs on their schedule until shut down.
pub(crate) async fn run_scheduler(engine: Arc<Engine>, shutdown: CancellationToken) {
    let mut last = engine
        .store
        .list_runs(&RunFilter { kind: Some(Trigger::Events), limit: 1, ..Default::default() })
        .await
        .ok()
        .and_then(|r| r.first().map(|r| r.started_at));
    loop {
        let now = Utc::now();
        let next = engine.settings.events.next_after(last, now);
        engine.schedule_state.lock().expect("schedule lock").next_events = Some(next);
        let wait = (next - now).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        last = Some(Utc::now());
        if engine.is_paused() {
            continue;
        }
        if let Err(e) = engine.sync_events().await {
            tracing::error!(error = %amsync_core::escaped(&e), "events sync failed");
        }
    }
}
