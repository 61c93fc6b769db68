//! The events sync: GetChangedEvents since its own watermark, by the same
//! rules as members and through the same listing loop (`listing.rs`: page
//! retries, `ams.max_pages`, the repeated-cursor check, refused entries,
//! a checkpoint saved with every page); events upserted, cancelled ones
//! kept as cancelled.

use std::sync::Arc;
use std::time::Duration;

use amsync_core::watermark::next_watermark;
use amsync_core::Trigger;
use amsync_store::{ListingCheckpoint, RunFilter, RunId, RunOutcome, UpsertCounts, WATERMARK_EVENTS};
use chrono::{DateTime, Utc};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::error::SyncError;
use crate::listing::Listing;

impl Engine {
    /// One events sync. Returns the run id; a failed listing fails the run
    /// (its error says why), counts in `amsync_polls_total{listing="events"}`
    /// and leaves the watermark.
    pub async fn sync_events(&self) -> Result<RunId, SyncError> {
        if self.is_paused() {
            return Err(SyncError::Paused("the source is paused; resume it first".into()));
        }
        let before = self.store.watermark(WATERMARK_EVENTS).await?;
        let started_at = Utc::now();
        let params = json!({ "since": before.map(amsync_core::watermark::since_param) });
        let run = self.store.start_owned_run(Trigger::Events, started_at, before, params, &self.run_lease()).await?;
        self.holding_lease(run, self.list_events(run, before, started_at, ListingCheckpoint::default())).await?;
        Ok(run)
    }

    /// Lists events since `since` for `run` from `checkpoint` (a resumed
    /// run's last saved page, or the first), upserting each page, and ends
    /// the run. A listing error fails the run and is returned as `Ok`, like
    /// the member poll's; an error recording it is an `Err`.
    pub(crate) async fn list_events(
        &self,
        run: RunId,
        since: Option<DateTime<Utc>>,
        started_at: DateTime<Utc>,
        checkpoint: ListingCheckpoint,
    ) -> Result<(), SyncError> {
        let store = &self.store;
        let mut listing = Listing::new(self, run, "events", checkpoint);
        let mut totals = UpsertCounts::default();
        let listed: Result<(), SyncError> = async {
            loop {
                let source = self.source.clone();
                let next = listing
                    .next(move |cursor: Option<String>| {
                        let source = source.clone();
                        async move { source.changed_events(since, cursor.as_deref()).await }
                    })
                    .await;
                let Some(page) = next? else { return Ok(()) };
                let counts = store.upsert_events(&page.events, Utc::now()).await?;
                totals.created += counts.created;
                totals.updated += counts.updated;
                totals.unchanged += counts.unchanged;
                let rc = listing.counts_mut();
                rc.listed += page.events.len() as u64;
                rc.refreshed += page.events.len() as u64;
                rc.created += counts.created;
                rc.changed += counts.updated;
                rc.unchanged += counts.unchanged;
                // Upserted: the page is durable, so is the position after it.
                listing.save().await?;
            }
        }
        .await;
        match listed {
            Ok(()) => {
                self.still_holds(run).await?;
                let summary = listing.summary(started_at, true);
                let mut after = since;
                let current = store.watermark(WATERMARK_EVENTS).await?;
                if let Some(wm) = next_watermark(current, &summary, self.settings.overlap) {
                    after = Some(store.advance_watermark(WATERMARK_EVENTS, wm).await?);
                }
                store.finish_listing(run, Utc::now(), after, listing.refusals()).await?;
                tracing::info!(
                    run_id = run,
                    created = totals.created,
                    updated = totals.updated,
                    "events sync finished"
                );
                metrics::counter!("amsync_polls_total", "listing" => "events", "outcome" => "ok").increment(1);
            }
            Err(e @ SyncError::LeaseLost(_)) => {
                tracing::warn!(run_id = run, error = %e, "events listing stopped: another process resumed it");
            }
            Err(e) => {
                let msg = e.to_string();
                tracing::warn!(run_id = run, error = %amsync_core::escaped(&msg), "events sync failed; the watermark stays");
                store.finish_run(run, Utc::now(), RunOutcome::Failed, Some(msg)).await?;
                metrics::counter!("amsync_polls_total", "listing" => "events", "outcome" => "failed").increment(1);
            }
        }
        Ok(())
    }
}

/// Runs events syncs on their schedule until shut down.
pub(crate) async fn run_scheduler(engine: Arc<Engine>, shutdown: CancellationToken) {
    let last = match engine
        .store
        .list_runs(&RunFilter { kind: Some(Trigger::Events), limit: 1, ..Default::default() })
        .await
    {
        Ok(runs) => runs.first().map(|r| r.started_at),
        Err(e) => {
            tracing::error!(error = %e, "could not read the last events run; syncing events now");
            None
        }
    };
    let mut last = last;
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
            tracing::info!("events sync skipped: the source is paused");
            continue;
        }
        if let Err(e) = engine.sync_events().await {
            tracing::error!(error = %amsync_core::escaped(&e), "events sync failed");
        }
    }
}
