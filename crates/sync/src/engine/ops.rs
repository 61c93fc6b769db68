//! The engine's operations for the API, the dashboard and the commands:
//! each hands over to the task that owns it.

use std::sync::Arc;

use amsync_core::rules::RuleSet;
use amsync_core::{MemberKey, Trigger};
use amsync_store::{
    AdminStatusChange, ApprovalDecision, CommitOutcome, DecisionReport, ReapplySummary, Run, RunCounts, RunId,
    RunOutcome,
};

use super::Engine;
use crate::error::SyncError;
use crate::poll::{PollMode, PollReport};
use crate::quarantine::QuarantineMonitor;
use crate::reachability::Reachability;
use crate::recovery::AdoptedRun;
use crate::rules::RuleProposal;

impl Engine {
    /// Paused by an admin, bad credentials or the quarantine (also in the
    /// instant between the quarantine's verdict and its record in the store).
    pub fn is_paused(&self) -> bool {
        self.shared.signals.is_paused()
    }

    /// Quarantined (or about to be recorded so): attempts stop counting and
    /// nobody is disabled.
    pub fn is_quarantined(&self) -> bool {
        self.shared.signals.is_quarantined()
    }

    /// The quarantine's monitor, to report a source's calls to.
    pub fn quarantine_monitor(&self) -> &Arc<QuarantineMonitor> {
        self.shared.signals.quarantine()
    }

    /// Stops polling and refreshing (AMS maintenance, or bad credentials).
    pub async fn pause(&self, reason: &str) -> Result<(), SyncError> {
        self.shared.pause(reason).await
    }

    /// Resumes polling and refreshing (an admin's resume also ends a
    /// quarantine, with an empty window).
    pub async fn resume(&self) -> Result<(), SyncError> {
        self.shared.resume().await
    }

    /// Wakes idle workers (after an enqueue).
    pub fn wake_workers(&self) {
        self.shared.signals.wake_workers();
    }

    /// The last AMS probe (see [`crate::reachability`]).
    pub fn reachability(&self) -> Reachability {
        self.probe.get()
    }

    /// Probes the AMS now and caches the result.
    pub async fn probe_ams(&self) -> Reachability {
        self.probe.probe_now().await
    }

    /// Lists members per `mode`, enqueues them, and (for `Changed`/`Full`)
    /// moves the watermark by the rules. The refreshes themselves are done by
    /// the workers; the run finishes when its last entry settles.
    pub async fn poll_members(&self, mode: PollMode) -> Result<PollReport, SyncError> {
        self.periodic.poll(mode, None).await
    }

    /// Like [`Engine::poll_members`], and sends the run id (or why no run
    /// started) on `started` as soon as the run exists, for callers that
    /// answer before the listing ends.
    pub async fn poll_members_reporting(
        &self,
        mode: PollMode,
        started: tokio::sync::oneshot::Sender<Result<RunId, SyncError>>,
    ) -> Result<PollReport, SyncError> {
        self.periodic.poll(mode, Some(started)).await
    }

    /// One events sync. Returns the run id; a failed listing fails the run
    /// (its error says why), counts in `amsync_polls_total{listing="events"}`
    /// and leaves the watermark.
    pub async fn sync_events(&self) -> Result<RunId, SyncError> {
        self.events.sync().await
    }

    /// Takes over every run whose owner's lease ran out (see
    /// [`crate::recovery`]).
    pub async fn adopt_interrupted_runs(&self) -> Result<Vec<AdoptedRun>, SyncError> {
        self.recovery.adopt().await
    }

    /// Carries an adopted run on to the end of its listing (its refreshes
    /// are then the queue's, as for any run).
    pub async fn resume_adopted(&self, adopted: AdoptedRun) -> Result<(), SyncError> {
        self.recovery.resume(adopted).await
    }

    /// Refreshes one member right now, outside the queue (sign-in of a member
    /// unknown locally or disabled). Returns the commit outcome, or the
    /// source's error when a part failed (nothing is then written but the
    /// error bookkeeping).
    pub async fn refresh_member_now(
        &self,
        key: &MemberKey,
        trigger: Trigger,
        run_id: Option<RunId>,
    ) -> Result<CommitOutcome, SyncError> {
        self.workers.refresh_now(key, trigger, run_id).await
    }

    /// Enqueues keys as one run of `trigger` (manual refresh, webhook, a
    /// community's members…). The run finishes when its entries settle.
    pub async fn refresh_keys(
        &self,
        keys: &[MemberKey],
        trigger: Trigger,
        params: serde_json::Value,
    ) -> Result<RunId, SyncError> {
        let s = &self.shared;
        let now = s.now();
        let run = s.store.start_owned_run(trigger, now, None, params, &s.run_lease()).await?;
        let res = s.store.enqueue(keys, trigger, Some(run), now).await?;
        let counts =
            RunCounts { listed: keys.len() as u64, enqueued: res.created, merged: res.merged, ..Default::default() };
        s.store.add_run_counts(run, &counts).await?;
        s.store.finish_listing(run, s.now(), None, None).await?;
        self.wake_workers();
        Ok(run)
    }

    /// Re-applies community rules to every member from stored payloads, as a
    /// `rules` run, without calling the AMS.
    pub async fn reapply_rules(&self, rules: &RuleSet) -> Result<(RunId, ReapplySummary), SyncError> {
        self.rules.reapply(rules).await
    }

    /// Stores and re-applies community rules, unless the membership
    /// removals of their dry run would pass the threshold: then nothing
    /// changes and the change is held for an admin's approval.
    pub async fn propose_rules(&self, rules: &RuleSet) -> Result<RuleProposal, SyncError> {
        self.rules.propose(rules).await
    }

    /// Applies or rejects an approval; an applied rule change is re-applied
    /// to every member (returned with its run).
    pub async fn decide_approval(
        &self,
        id: amsync_store::ApprovalId,
        decision: ApprovalDecision,
        actor: &str,
    ) -> Result<(DecisionReport, Option<(RunId, ReapplySummary)>), SyncError> {
        self.rules.decide(id, decision, actor).await
    }

    /// An admin disables (`true`) or enables a member (see
    /// `SafetyStore::admin_set_status`); an enabled member is refreshed.
    pub async fn set_member_disabled(
        &self,
        key: &MemberKey,
        disable: bool,
        actor: &str,
    ) -> Result<AdminStatusChange, SyncError> {
        let change = self.shared.store.admin_set_status(key, disable, actor, self.shared.now()).await?;
        if change.changed && !disable {
            self.wake_workers();
        }
        Ok(change)
    }

    /// Waits until `run` has finished (without working the queue), or until
    /// `timeout`. Returns the run as last read.
    pub async fn wait_for_run(
        &self,
        run: RunId,
        timeout: Option<std::time::Duration>,
    ) -> Result<Option<Run>, SyncError> {
        let store = &self.shared.store;
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        loop {
            // Poll the outcome alone; the whole run (with its pending count,
            // which reads every entry of the run) only once at the end.
            let outcome = store.run_outcome(run).await?;
            let done = outcome.is_none_or(|o| o != RunOutcome::Running);
            if done || deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                return Ok(store.get_run(run).await?);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
