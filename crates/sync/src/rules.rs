//! Rule runs: community rules re-applied to every member from stored
//! payloads (no AMS call), and the changes held past the removal
//! threshold until an admin decides their approval.

use amsync_core::rules::RuleSet;
use amsync_core::Trigger;
use amsync_store::{Approval, ApprovalDecision, DecisionReport, ReapplySummary, RunCounts, RunId, RunOutcome};
use serde_json::json;

use crate::error::SyncError;
use crate::shared::Shared;

/// What became of a rule change.
#[derive(Debug, Clone)]
pub enum RuleProposal {
    /// Within the threshold: stored and re-applied as run `run_id`.
    Applied { run_id: RunId, summary: ReapplySummary },
    /// Past the threshold: nothing changed; an admin decides the approval.
    Held { approval: Box<Approval> },
}

/// Rule re-applies and their approvals. Stateless.
#[derive(Clone)]
pub(crate) struct RuleRuns {
    shared: Shared,
}

impl RuleRuns {
    pub fn new(shared: Shared) -> RuleRuns {
        RuleRuns { shared }
    }

    /// Re-applies community rules to every member from stored payloads, as a
    /// `rules` run, without calling the AMS.
    pub async fn reapply(&self, rules: &RuleSet) -> Result<(RunId, ReapplySummary), SyncError> {
        let s = &self.shared;
        let params = json!({ "rules": rules.rules });
        let run = s.store.start_owned_run(Trigger::Rules, s.now(), None, params, &s.run_lease()).await?;
        let summary = s.holding_lease(run, self.reapply_in(run, rules)).await?;
        Ok((run, summary))
    }

    /// Re-applies `rules` as the (started) run `run`, and ends it.
    pub async fn reapply_in(&self, run: RunId, rules: &RuleSet) -> Result<ReapplySummary, SyncError> {
        let s = &self.shared;
        match s.store.reapply_rules(rules, Trigger::Rules, Some(run), s.now()).await {
            Ok(summary) => {
                // The store counts refreshed/changed/unchanged on the run as
                // each batch commits; the listing count is the engine's.
                let counts = RunCounts { listed: summary.members, ..Default::default() };
                s.store.add_run_counts(run, &counts).await?;
                s.store.finish_run(run, s.now(), RunOutcome::Succeeded, None).await?;
                Ok(summary)
            }
            Err(e) => {
                let msg = e.to_string();
                s.store.finish_run(run, s.now(), RunOutcome::Failed, Some(msg)).await?;
                Err(e.into())
            }
        }
    }

    /// Stores and re-applies community rules, unless the membership
    /// removals of their dry run would pass the threshold: then nothing
    /// changes and the change is held for an admin's approval.
    pub async fn propose(&self, rules: &RuleSet) -> Result<RuleProposal, SyncError> {
        let store = &self.shared.store;
        let dry_run = store.dry_run_rules(rules).await?;
        if let Some(approval) = store.hold_rule_change_if_over(rules, &dry_run, self.shared.now()).await? {
            return Ok(RuleProposal::Held { approval: Box::new(approval) });
        }
        store.set_community_rules(rules).await?;
        let (run_id, summary) = self.reapply(rules).await?;
        Ok(RuleProposal::Applied { run_id, summary })
    }

    /// Applies or rejects an approval; an applied rule change is re-applied
    /// to every member (returned with its run).
    pub async fn decide(
        &self,
        id: amsync_store::ApprovalId,
        decision: ApprovalDecision,
        actor: &str,
    ) -> Result<(DecisionReport, Option<(RunId, ReapplySummary)>), SyncError> {
        let report = self.shared.store.decide_approval(id, decision, actor, self.shared.now()).await?;
        let reapplied = match &report.rules {
            Some(rules) => Some(self.reapply(rules).await?),
            None => None,
        };
        Ok((report, reapplied))
    }
}
