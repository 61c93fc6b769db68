//! Periodic Refresh and full refresh: list changed members, enqueue them,
//! move the watermark (product.md job 1).
//!
//! `PeriodicPoll` is the task: it owns its timetable (when the next
//! periodic poll is due) and the member watermark's rules; "refresh now"
//! (a full or `--changed-since` poll) and the recovery of a dead process's
//! listing go through it too.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use amsync_core::watermark::next_watermark;
use amsync_core::{MemberKey, Trigger};
use amsync_store::{ListingCheckpoint, RunCounts, RunId, RunOutcome, WATERMARK_MEMBERS};
use chrono::{DateTime, Utc};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::error::SyncError;
use crate::listing::Listing;
use crate::shared::Shared;
use crate::timetable::Timetable;

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

/// The member listing task (see the module).
pub(crate) struct PeriodicPoll {
    shared: Shared,
    timetable: Timetable,
}

impl PeriodicPoll {
    pub fn new(shared: Shared) -> PeriodicPoll {
        let timetable =
            Timetable::new(Trigger::Periodic, "periodic refresh", "polling", shared.settings.periodic.clone());
        PeriodicPoll { shared, timetable }
    }

    /// When the next periodic poll is due.
    pub fn next_at(&self) -> Option<DateTime<Utc>> {
        self.timetable.next_at()
    }

    /// Runs periodic polls on the schedule until shut down.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        self.timetable.run(&self.shared, &shutdown, || self.poll(PollMode::Changed, None)).await
    }

    /// Lists members per `mode`, enqueues them, and (for `Changed`/`Full`)
    /// moves the watermark by the rules. The refreshes themselves are done by
    /// the workers; the run finishes when its last entry settles. The run id
    /// (or why no run started) goes to `started` as soon as the run exists,
    /// for callers that answer before the listing ends.
    pub async fn poll(
        &self,
        mode: PollMode,
        mut started: Option<tokio::sync::oneshot::Sender<Result<RunId, SyncError>>>,
    ) -> Result<PollReport, SyncError> {
        const PAUSED: &str = "the source is paused; resume it first";
        if self.shared.signals.is_paused() {
            if let Some(tx) = started.take() {
                let _ = tx.send(Err(SyncError::Paused(PAUSED.into())));
            }
            return Err(SyncError::Paused(PAUSED.into()));
        }
        let store = &self.shared.store;
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
        let started_at = self.shared.now();
        let params = json!({
            "since": since.map(amsync_core::watermark::since_param),
            "mode": match mode { PollMode::Changed => "changed", PollMode::Full => "full", PollMode::ChangedSince(_) => "changed_since" },
        });
        let run_id = match store.start_owned_run(trigger, started_at, wm_before, params, &self.shared.run_lease()).await
        {
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
        self.shared.holding_lease(run_id, self.list(&plan, ListingCheckpoint::default())).await
    }

    /// Lists members for `plan` from `checkpoint` (a resumed run's last
    /// saved page, or the first page), enqueues them batch by batch and
    /// ends the run's listing.
    pub async fn list(&self, plan: &MemberListing, checkpoint: ListingCheckpoint) -> Result<PollReport, SyncError> {
        let store = &self.shared.store;
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
        let mut listing = Listing::new(&self.shared, run_id, "members", checkpoint);
        let mut seen: HashSet<MemberKey> = HashSet::new();
        let mut batch = ListedBatch::default();
        let mut pages_here = 0u64;
        let listed: Result<(), SyncError> = async {
            loop {
                let (source, since) = (self.shared.source.clone(), plan.since);
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
                self.shared.still_holds(run_id).await?;
                report.complete = true;
                if plan.moves_watermark {
                    let summary = listing.summary(plan.started_at, true);
                    if let Some(wm) = next_watermark(wm_before, &summary, self.shared.settings.overlap) {
                        report.watermark_after = Some(store.advance_watermark(WATERMARK_MEMBERS, wm).await?);
                    }
                }
                if plan.since.is_none() {
                    // Resumed after saved pages: the keys listed before them
                    // are not known here, only that each was enqueued.
                    let refreshed_since = listing.continues_saved_pages().then_some(plan.started_at);
                    report.reconciled = self.reconcile(&seen, plan.trigger, run_id, refreshed_since).await?;
                }
                store.finish_listing(run_id, self.shared.now(), report.watermark_after, listing.refusals()).await?;
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
                store.finish_run(run_id, self.shared.now(), RunOutcome::Failed, Some(msg.clone())).await?;
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
        let res = self.shared.store.enqueue(&keys, plan.trigger, Some(plan.run_id), plan.started_at).await?;
        report.enqueued += res.created;
        report.merged += res.merged;
        let counts = listing.counts_mut();
        counts.enqueued += res.created;
        counts.merged += res.merged;
        if !keys.is_empty() {
            self.shared.signals.wake_workers();
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
            Some(t) => self.shared.store.active_keys_not_refreshed_since(t).await?,
            None => self.shared.store.active_member_keys().await?,
        };
        let missing: Vec<MemberKey> = active.into_iter().filter(|k| !listed.contains(k)).collect();
        if missing.is_empty() {
            return Ok(0);
        }
        tracing::info!(run_id, count = missing.len(), "active members missing from the complete listing enqueued");
        let store = &self.shared.store;
        let res = store.enqueue(&missing, trigger, Some(run_id), self.shared.now()).await?;
        let counts = RunCounts { enqueued: res.created, merged: res.merged, ..Default::default() };
        store.add_run_counts(run_id, &counts).await?;
        self.shared.signals.wake_workers();
        Ok(missing.len() as u64)
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
