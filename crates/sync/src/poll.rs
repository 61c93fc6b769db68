//! Periodic Refresh and full refresh: list changed members, enqueue them,
//! move the watermark (product.md job 1).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use amsync_ams::SourceError;
use amsync_core::watermark::{next_watermark, PollSummary};
use amsync_core::{MemberKey, Trigger};
use amsync_store::{RunCounts, RunFilter, RunId, RunOutcome, WATERMARK_MEMBERS};
use chrono::{DateTime, Utc};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::error::SyncError;

/// What a poll lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollMode {
    /// Changed since the watermark (the complete listing when there is none yet).
    Changed,
    /// The complete listing; reconciles and sets the watermark.
    Full,
    /// Changed since the given time; never moves the watermark.
    ChangedSince(DateTime<Utc>),
}

/// The outcome of a poll's listing phase.
#[derive(Debug, Clone)]
pub struct PollReport {
    pub run_id: RunId,
    pub complete: bool,
    pub listed: u64,
    pub enqueued: u64,
    pub merged: u64,
    pub reconciled: u64,
    pub watermark_before: Option<DateTime<Utc>>,
    pub watermark_after: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

/// Listed keys gathered before they are enqueued in one go. Enqueuing a
/// listing page by page inserted each page's few hundred keys all over the
/// queue's member-keyed indexes, one transaction per page: on an initial
/// load that dirtied about two index pages per member. Gathered and sorted,
/// the inserts of a batch share pages, and the entries' ids follow key
/// order, which is also the order claims take them in.
///
/// Nothing is lost by waiting: the watermark moves only after the whole
/// listing, so a crash before a batch is enqueued means the next poll lists
/// those members again.
const ENQUEUE_BATCH: usize = 20_000;

#[derive(Default)]
struct ListedBatch {
    keys: Vec<MemberKey>,
    /// The listing's counts since the last enqueue (pages, listed, refused).
    counts: RunCounts,
}

impl Engine {
    /// Lists members per `mode`, enqueues them, and (for `Changed`/`Full`)
    /// moves the watermark by the rules. The refreshes themselves are done by
    /// the workers; the run finishes when its last entry settles.
    pub async fn poll_members(self: &Arc<Self>, mode: PollMode) -> Result<PollReport, SyncError> {
        self.poll_inner(mode, None).await
    }

    /// Like [`Engine::poll_members`], and sends the run id (or why no run
    /// started) on `started` as soon as the run exists, for callers that
    /// answer before the listing ends.
    pub async fn poll_members_reporting(
        self: &Arc<Self>,
        mode: PollMode,
        started: tokio::sync::oneshot::Sender<Result<RunId, SyncError>>,
    ) -> Result<PollReport, SyncError> {
        self.poll_inner(mode, Some(started)).await
    }

    async fn poll_inner(
        self: &Arc<Self>,
        mode: PollMode,
        mut started: Option<tokio::sync::oneshot::Sender<Result<RunId, SyncError>>>,
    ) -> Result<PollReport, SyncError> {
        const PAUSED: &str = "the source is paused; resume it first";
        if self.is_paused() {
            if let Some(tx) = started.take() {
                let _ = tx.send(Err(SyncError::Paused(PAUSED.into())));
            }
            return Err(SyncError::Paused(PAUSED.into()));
        }
        let store = &self.store;
        let wm_before = match store.watermark(WATERMARK_MEMBERS).await {
            Ok(w) => w,
            Err(e) => {
                if let Some(tx) = started.take() {
                    let _ = tx.send(Err(SyncError::Listing(e.to_string())));
                }
                return Err(e.into());
            }
        };
        let (since, trigger) = match mode {
            PollMode::Changed => (wm_before, Trigger::Periodic),
            PollMode::Full => (None, Trigger::Full),
            PollMode::ChangedSince(t) => (Some(t), Trigger::Manual),
        };
        let complete_listing = since.is_none();
        let started_at = Utc::now();
        let params = json!({
            "since": since.map(amsync_core::watermark::since_param),
            "mode": match mode { PollMode::Changed => "changed", PollMode::Full => "full", PollMode::ChangedSince(_) => "changed_since" },
        });
        let run_id = match store.start_run(trigger, started_at, wm_before, params).await {
            Ok(id) => id,
            Err(e) => {
                if let Some(tx) = started.take() {
                    let _ = tx.send(Err(SyncError::Listing(e.to_string())));
                }
                return Err(e.into());
            }
        };
        if let Some(tx) = started.take() {
            let _ = tx.send(Ok(run_id));
        }
        tracing::info!(run_id, trigger = %trigger, since = ?since, "member listing started");

        let mut report = PollReport {
            run_id,
            complete: false,
            listed: 0,
            enqueued: 0,
            merged: 0,
            reconciled: 0,
            watermark_before: wm_before,
            watermark_after: wm_before,
            error: None,
        };
        let mut seen: HashSet<MemberKey> = HashSet::new();
        let mut first_as_of = None;
        let mut cursor: Option<String> = None;
        let mut cursors_seen: HashSet<String> = HashSet::new();
        let mut pages = 0u64;
        // Listing entries that break the contract: counted as failed on the
        // run, the first one named in its error, so an admin sees them.
        let mut refused = 0u64;
        let mut first_refused: Option<String> = None;
        let mut batch = ListedBatch::default();
        let listing: Result<(), SyncError> = async {
            loop {
                if pages >= self.settings.max_pages {
                    return Err(SyncError::Listing(format!(
                        "more than {} pages; stopped to avoid runaway paging",
                        self.settings.max_pages
                    )));
                }
                let page = self.page_with_retries(|| self.source.changed_members(since, cursor.as_deref())).await?;
                pages += 1;
                if pages == 1 {
                    first_as_of = page.as_of;
                }
                for r in &page.rejected {
                    tracing::warn!(run_id, error = %amsync_core::escaped(&r), "entry of the changed-members listing refused");
                    first_refused.get_or_insert_with(|| r.to_string());
                }
                refused += page.rejected.len() as u64;
                let page_listed = page.changed.len() as u64;
                report.listed += page_listed;
                for c in page.changed {
                    if seen.insert(c.key.clone()) {
                        batch.keys.push(c.key);
                    }
                }
                batch.counts.pages += 1;
                batch.counts.listed += page_listed;
                batch.counts.failed += page.rejected.len() as u64;
                let last = page.next_cursor.as_deref().is_none_or(str::is_empty);
                // The first page goes at once so the workers start; later
                // ones are gathered (see ENQUEUE_BATCH).
                if pages == 1 || last || batch.keys.len() >= ENQUEUE_BATCH {
                    self.enqueue_listed(&mut batch, trigger, run_id, started_at, &mut report).await?;
                }
                match page.next_cursor {
                    Some(next) if !next.is_empty() => {
                        if !cursors_seen.insert(next.clone()) {
                            return Err(SyncError::Listing(format!("the AMS repeated cursor {next:?}")));
                        }
                        cursor = Some(next);
                    }
                    _ => return Ok(()),
                }
            }
        }
        .await;
        // What a failed listing gathered before it failed is still refreshed,
        // as when every page was enqueued on arrival.
        let listing = match listing {
            // (Every gathered key came with a page, so pages > 0 covers keys.)
            Err(e) if batch.counts.pages > 0 => {
                self.enqueue_listed(&mut batch, trigger, run_id, started_at, &mut report).await?;
                Err(e)
            }
            other => other,
        };

        match listing {
            Ok(()) => {
                report.complete = true;
                let summary = PollSummary { started_at, first_as_of, complete: true, records: report.listed };
                if !matches!(mode, PollMode::ChangedSince(_)) {
                    if let Some(wm) = next_watermark(wm_before, &summary, self.settings.overlap) {
                        report.watermark_after = Some(store.advance_watermark(WATERMARK_MEMBERS, wm).await?);
                    }
                }
                if complete_listing {
                    report.reconciled = self.reconcile(&seen, trigger, run_id).await?;
                }
                let refusals = first_refused.as_ref().map(|first| {
                    format!("{refused} listing entries refused (they break the contract); the first: {first}")
                });
                store.finish_listing(run_id, Utc::now(), report.watermark_after, refusals).await?;
                tracing::info!(
                    run_id,
                    listed = report.listed,
                    enqueued = report.enqueued,
                    merged = report.merged,
                    reconciled = report.reconciled,
                    watermark = ?report.watermark_after,
                    "member listing finished"
                );
                metrics::counter!("amsync_polls_total", "outcome" => "ok").increment(1);
            }
            Err(e) => {
                let msg = e.to_string();
                tracing::warn!(run_id, error = %amsync_core::escaped(&msg), "member listing failed; the watermark stays");
                store.finish_run(run_id, Utc::now(), RunOutcome::Failed, Some(msg.clone())).await?;
                report.error = Some(msg);
                metrics::counter!("amsync_polls_total", "outcome" => "failed").increment(1);
            }
        }
        Ok(report)
    }

    /// Enqueues a gathered batch in key order and counts it on the run.
    async fn enqueue_listed(
        &self,
        batch: &mut ListedBatch,
        trigger: Trigger,
        run_id: RunId,
        due: DateTime<Utc>,
        report: &mut PollReport,
    ) -> Result<(), SyncError> {
        let mut keys = std::mem::take(&mut batch.keys);
        let mut counts = std::mem::take(&mut batch.counts);
        keys.sort_unstable();
        let res = self.store.enqueue(&keys, trigger, Some(run_id), due).await?;
        report.enqueued += res.created;
        report.merged += res.merged;
        counts.enqueued = res.created;
        counts.merged = res.merged;
        self.store.add_run_counts(run_id, &counts).await?;
        if !keys.is_empty() {
            self.wake_workers();
        }
        Ok(())
    }

    /// After a complete listing: active local members the AMS did not list
    /// are enqueued, so the AMS's 404 disables them (and only that does).
    async fn reconcile(&self, listed: &HashSet<MemberKey>, trigger: Trigger, run_id: RunId) -> Result<u64, SyncError> {
        let active = self.store.active_member_keys().await?;
        let missing: Vec<MemberKey> = active.into_iter().filter(|k| !listed.contains(k)).collect();
        if missing.is_empty() {
            return Ok(0);
        }
        tracing::info!(run_id, count = missing.len(), "active members missing from the complete listing enqueued");
        let res = self.store.enqueue(&missing, trigger, Some(run_id), Utc::now()).await?;
        let counts = RunCounts { enqueued: res.created, merged: res.merged, ..Default::default() };
        self.store.add_run_counts(run_id, &counts).await?;
        self.wake_workers();
        Ok(missing.len() as u64)
    }

    /// One listing page (members or events), retried within the poll with
    /// the queue's backoff; bad credentials pause the source at once.
    pub(crate) async fn page_with_retries<T, F, Fut>(&self, mut call: F) -> Result<T, SyncError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, SourceError>>,
    {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match call().await {
                Ok(page) => return Ok(page),
                Err(e @ SourceError::Unauthorized { .. }) | Err(e @ SourceError::Config { .. }) => {
                    // A quarantine already stopped everything; it keeps its reason.
                    if !self.is_quarantined() {
                        self.pause(&format!("unauthorized: {e}")).await?;
                    }
                    return Err(e.into());
                }
                Err(e) if attempt >= self.settings.page_attempts => return Err(e.into()),
                Err(e) => {
                    let delay = self.backoff(attempt, e.retry_after());
                    tracing::debug!(attempt, error = %amsync_core::escaped(&e), delay_ms = delay.as_millis() as u64, "listing page failed; retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    pub(crate) fn backoff(&self, attempts: u32, retry_after: Option<Duration>) -> Duration {
        let jitter: f64 = rand::random();
        self.settings.retry.backoff(attempts, jitter, retry_after)
    }
}

/// Runs periodic polls on the schedule until shut down.
pub(crate) async fn run_scheduler(engine: Arc<Engine>, shutdown: CancellationToken) {
    let last = match engine
        .store
        .list_runs(&RunFilter { kind: Some(Trigger::Periodic), limit: 1, ..Default::default() })
        .await
    {
        Ok(runs) => runs.first().map(|r| r.started_at),
        Err(e) => {
            tracing::error!(error = %e, "could not read the last periodic run; polling now");
            None
        }
    };
    let mut last = last;
    loop {
        let now = Utc::now();
        let next = engine.settings.periodic.next_after(last, now);
        engine.schedule_state.lock().expect("schedule lock").next_periodic = Some(next);
        let wait = (next - now).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        last = Some(Utc::now());
        if engine.is_paused() {
            tracing::info!("periodic refresh skipped: the source is paused");
            continue;
        }
        if let Err(e) = engine.poll_members(PollMode::Changed).await {
            tracing::error!(error = %amsync_core::escaped(&e), "periodic refresh failed");
        }
    }
}
