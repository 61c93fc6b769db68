//! Periodic Refresh and full refresh: list changed members, enqueue them,
//! move the watermark (product.md job 1).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use amsync_ams::SourceError;
use amsync_core::watermark::next_watermark;
use amsync_core::{MemberKey, Trigger};
use amsync_store::{ListingCheckpoint, RunCounts, RunFilter, RunId, RunOutcome, WATERMARK_MEMBERS};
use chrono::{DateTime, Utc};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::error::SyncError;
use crate::listing::Listing;

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
/// Each enqueued batch saves the listing's checkpoint (the cursor of the
/// next page) with its counts, so a crash loses at most the batch being
/// gathered: the process that resumes the run lists again from the last
/// saved page (the queue's de-duplication makes listing a key twice safe).
const ENQUEUE_BATCH: usize = 20_000;

/// A batch is enqueued (and the listing's progress saved) at the latest this
/// long after its first page, so a slow AMS loses no more than this much
/// listing to a crash.
const ENQUEUE_AT_LEAST_EVERY: Duration = Duration::from_secs(10);

#[derive(Default)]
struct ListedBatch {
    keys: Vec<MemberKey>,
    /// When the batch's first page arrived.
    since: Option<std::time::Instant>,
}

/// What a member listing lists and what its end does: for a new run, or for
/// one taken over from a process that died.
#[derive(Debug, Clone)]
pub(crate) struct MemberListing {
    pub run_id: RunId,
    pub trigger: Trigger,
    /// `None`: the complete listing (it reconciles).
    pub since: Option<DateTime<Utc>>,
    /// Changed and full polls move the watermark; `--changed-since` does not.
    pub moves_watermark: bool,
    pub started_at: DateTime<Utc>,
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
        let started_at = Utc::now();
        let params = json!({
            "since": since.map(amsync_core::watermark::since_param),
            "mode": match mode { PollMode::Changed => "changed", PollMode::Full => "full", PollMode::ChangedSince(_) => "changed_since" },
        });
        let run_id = match store.start_owned_run(trigger, started_at, wm_before, params, &self.run_lease()).await {
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
        let plan = MemberListing {
            run_id,
            trigger,
            since,
            moves_watermark: !matches!(mode, PollMode::ChangedSince(_)),
            started_at,
        };
        self.holding_lease(run_id, self.list_members(&plan, ListingCheckpoint::default())).await
    }

    /// Lists members for `plan` from `checkpoint` (a resumed run's last
    /// saved page, or the first page), enqueues them batch by batch and
    /// ends the run's listing.
    pub(crate) async fn list_members(
        &self,
        plan: &MemberListing,
        checkpoint: ListingCheckpoint,
    ) -> Result<PollReport, SyncError> {
        let store = &self.store;
        let run_id = plan.run_id;
        let wm_before = store.watermark(WATERMARK_MEMBERS).await?;
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
        let mut listing = Listing::new(self, run_id, "members", checkpoint);
        let mut seen: HashSet<MemberKey> = HashSet::new();
        let mut batch = ListedBatch::default();
        let mut pages_here = 0u64;
        let listed: Result<(), SyncError> = async {
            loop {
                let (source, since) = (self.source.clone(), plan.since);
                let next = listing
                    .next(move |cursor: Option<String>| {
                        let source = source.clone();
                        async move { source.changed_members(since, cursor.as_deref()).await }
                    })
                    .await;
                let Some(page) = next? else { return Ok(()) };
                pages_here += 1;
                report.listed += page.changed.len() as u64;
                listing.counts_mut().listed += page.changed.len() as u64;
                for c in page.changed {
                    if seen.insert(c.key.clone()) {
                        batch.keys.push(c.key);
                    }
                }
                let since = *batch.since.get_or_insert_with(std::time::Instant::now);
                // The first page goes at once so the workers start; later
                // ones are gathered (see ENQUEUE_BATCH).
                if pages_here == 1
                    || listing.ended()
                    || batch.keys.len() >= ENQUEUE_BATCH
                    || since.elapsed() >= ENQUEUE_AT_LEAST_EVERY
                {
                    self.enqueue_listed(&mut listing, &mut batch, plan, &mut report).await?;
                }
            }
        }
        .await;

        match listed {
            Ok(()) => {
                self.still_holds(run_id).await?;
                report.complete = true;
                if plan.moves_watermark {
                    let summary = listing.summary(plan.started_at, true);
                    if let Some(wm) = next_watermark(wm_before, &summary, self.settings.overlap) {
                        report.watermark_after = Some(store.advance_watermark(WATERMARK_MEMBERS, wm).await?);
                    }
                }
                if plan.since.is_none() {
                    // Resumed after saved pages: the keys listed before them
                    // are not known here, only that each was enqueued.
                    let refreshed_since = listing.continues_saved_pages().then_some(plan.started_at);
                    report.reconciled = self.reconcile(&seen, plan.trigger, run_id, refreshed_since).await?;
                }
                store.finish_listing(run_id, Utc::now(), report.watermark_after, listing.refusals()).await?;
                tracing::info!(
                    run_id,
                    listed = report.listed,
                    enqueued = report.enqueued,
                    merged = report.merged,
                    reconciled = report.reconciled,
                    watermark = ?report.watermark_after,
                    "member listing finished"
                );
                metrics::counter!("amsync_polls_total", "listing" => "members", "outcome" => "ok").increment(1);
            }
            Err(e @ SyncError::LeaseLost(_)) => {
                tracing::warn!(run_id, error = %e, "member listing stopped: another process resumed it");
                report.error = Some(e.to_string());
            }
            Err(e) => {
                // What a failed listing gathered before it failed is still
                // refreshed, as when every page was enqueued on arrival.
                if listing.counts_mut().pages > 0 {
                    self.enqueue_listed(&mut listing, &mut batch, plan, &mut report).await?;
                }
                let msg = e.to_string();
                tracing::warn!(run_id, error = %amsync_core::escaped(&msg), "member listing failed; the watermark stays");
                store.finish_run(run_id, Utc::now(), RunOutcome::Failed, Some(msg.clone())).await?;
                report.error = Some(msg);
                metrics::counter!("amsync_polls_total", "listing" => "members", "outcome" => "failed").increment(1);
            }
        }
        Ok(report)
    }

    /// Enqueues a gathered batch in key order, then saves the listing's
    /// position with the batch's counts.
    async fn enqueue_listed(
        &self,
        listing: &mut Listing<'_>,
        batch: &mut ListedBatch,
        plan: &MemberListing,
        report: &mut PollReport,
    ) -> Result<(), SyncError> {
        let mut keys = std::mem::take(&mut batch.keys);
        batch.since = None;
        keys.sort_unstable();
        let res = self.store.enqueue(&keys, plan.trigger, Some(plan.run_id), plan.started_at).await?;
        report.enqueued += res.created;
        report.merged += res.merged;
        let counts = listing.counts_mut();
        counts.enqueued += res.created;
        counts.merged += res.merged;
        if !keys.is_empty() {
            self.wake_workers();
        }
        listing.save().await
    }

    /// After a complete listing: active local members the AMS did not list
    /// are enqueued, so the AMS's 404 disables them (and only that does).
    ///
    /// A listing resumed after a crash did not see the pages listed before
    /// it (`refreshed_since`: the run's start): each key of those pages was
    /// enqueued, so a member refreshed since the run started was found in
    /// the AMS like a listed one, and only the others are enqueued (those
    /// still waiting merge with their entries).
    async fn reconcile(
        &self,
        listed: &HashSet<MemberKey>,
        trigger: Trigger,
        run_id: RunId,
        refreshed_since: Option<DateTime<Utc>>,
    ) -> Result<u64, SyncError> {
        let active = match refreshed_since {
            Some(t) => self.store.active_keys_not_refreshed_since(t).await?,
            None => self.store.active_member_keys().await?,
        };
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

#[cfg(test)]
mod tests {
    use amsync_core::record::{DisabledReason, MemberStatus};
    use amsync_store::MemberStore;

    use crate::testing::{key, members, TestEngine};

    /// A complete listing is how amsync notices a deletion the AMS does not
    /// report: the member it no longer lists is refreshed, answers 404 and
    /// is disabled.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn full_refresh_disables_a_member_the_ams_no_longer_lists() {
        let t = TestEngine::start(members(30), 4).await;
        t.full_refresh().await;
        t.ams.change(|d| d.members.retain(|m| m.key().as_str() != "M000020"));
        let (report, run) = t.full_refresh().await;
        assert_eq!(report.reconciled, 1, "{report:?}");
        assert_eq!(run.counts.disabled, 1, "{run:?}");
        let gone = t.store.get_member(&key("M000020")).await.unwrap().unwrap().record;
        assert_eq!((gone.status, gone.disabled_reason), (MemberStatus::Disabled, Some(DisabledReason::AmsNotFound)));
        t.stop().await;
    }
}
