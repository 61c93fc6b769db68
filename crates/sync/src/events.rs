//! The events sync: GetChangedEvents since its own watermark, by the same
//! rules as members and through the same listing loop (`listing.rs`: page
//! retries, `ams.max_pages`, the repeated-cursor check, refused entries,
//! a checkpoint saved with every page); events upserted, cancelled ones
//! kept as cancelled.
//!
//! `EventsPoll` is the task: it owns its timetable (when the next events
//! sync is due) and the events watermark's rules.

use std::sync::Arc;

use amsync_core::watermark::next_watermark;
use amsync_core::Trigger;
use amsync_store::{ListingCheckpoint, RunId, RunOutcome, UpsertCounts, WATERMARK_EVENTS};
use chrono::{DateTime, Utc};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::error::SyncError;
use crate::listing::Listing;
use crate::shared::Shared;
use crate::timetable::Timetable;

/// The events sync task (see the module).
pub(crate) struct EventsPoll {
    shared: Shared,
    timetable: Timetable,
}

impl EventsPoll {
    pub fn new(shared: Shared) -> EventsPoll {
        let timetable =
            Timetable::new(Trigger::Events, "events sync", "syncing events", shared.settings.events.clone());
        EventsPoll { shared, timetable }
    }

    /// When the next events sync is due.
    pub fn next_at(&self) -> Option<DateTime<Utc>> {
        self.timetable.next_at()
    }

    /// Runs events syncs on their schedule until shut down.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        self.timetable.run(&self.shared, &shutdown, || self.sync()).await
    }

    /// One events sync. Returns the run id; a failed listing fails the run
    /// (its error says why), counts in `amsync_polls_total{listing="events"}`
    /// and leaves the watermark.
    pub async fn sync(&self) -> Result<RunId, SyncError> {
        let shared = &self.shared;
        if shared.signals.is_paused() {
            return Err(SyncError::Paused("the source is paused; resume it first".into()));
        }
        let before = shared.store.watermark(WATERMARK_EVENTS).await?;
        let started_at = shared.now();
        let params = json!({ "since": before.map(amsync_core::watermark::since_param) });
        let lease = shared.run_lease();
        let run = shared.store.start_owned_run(Trigger::Events, started_at, before, params, &lease).await?;
        shared.holding_lease(run, self.list(run, before, started_at, ListingCheckpoint::default())).await?;
        Ok(run)
    }

    /// Lists events since `since` for `run` from `checkpoint` (a resumed
    /// run's last saved page, or the first), upserting each page, and ends
    /// the run. A listing error fails the run and is returned as `Ok`, like
    /// the member poll's; an error recording it is an `Err`.
    pub async fn list(
        &self,
        run: RunId,
        since: Option<DateTime<Utc>>,
        started_at: DateTime<Utc>,
        checkpoint: ListingCheckpoint,
    ) -> Result<(), SyncError> {
        let store = &self.shared.store;
        let mut listing = Listing::new(&self.shared, run, "events", checkpoint);
        let mut totals = UpsertCounts::default();
        let listed: Result<(), SyncError> = async {
            loop {
                let source = self.shared.source.clone();
                let next = listing
                    .next(move |cursor: Option<String>| {
                        let source = source.clone();
                        async move { source.changed_events(since, cursor.as_deref()).await }
                    })
                    .await;
                let Some(page) = next? else { return Ok(()) };
                let counts = store.upsert_events(&page.events, self.shared.now()).await?;
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
                self.shared.still_holds(run).await?;
                let summary = listing.summary(started_at, true);
                let mut after = since;
                let current = store.watermark(WATERMARK_EVENTS).await?;
                if let Some(wm) = next_watermark(current, &summary, self.shared.settings.overlap) {
                    after = Some(store.advance_watermark(WATERMARK_EVENTS, wm).await?);
                }
                store.finish_listing(run, self.shared.now(), after, listing.refusals()).await?;
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
                store.finish_run(run, self.shared.now(), RunOutcome::Failed, Some(msg)).await?;
                metrics::counter!("amsync_polls_total", "listing" => "events", "outcome" => "failed").increment(1);
            }
        }
        Ok(())
    }
}
