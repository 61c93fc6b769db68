//! Held changes after the commit path held them (see `safety.rs`): an
//! admin's decision on an approval, where applying re-validates each held
//! change against the member's current state first, and holding a rule
//! change whose removals would pass the threshold.

use std::collections::HashSet;

use amsync_core::community::Membership;
use amsync_core::diff::{plan_gone, replan};
use amsync_core::member::AmsStatus;
use amsync_core::record::{DisabledReason, MemberStatus};
use amsync_core::rules::RuleSet;
use amsync_core::safety::{Thresholds, Verdict};
use amsync_core::Trigger;
use chrono::{DateTime, Utc};

use super::refresh::record_change;
use super::safety::{ledger_add, usage};
use crate::backend::{ApprovalState, ChangeOrigin, LedgerKind, Tx, WriteOp};
use crate::error::{Result, StoreError};
use crate::safety_api::{ApprovalDecision, ApprovalId, DecisionReport, HoldKind, HoldSignal, HoldStatus};
use crate::types::ReapplySummary;

/// [`crate::SafetyStore::decide_approval`].
pub(crate) struct DecideApproval {
    pub id: ApprovalId,
    pub decision: ApprovalDecision,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub limits: Thresholds,
}

impl WriteOp for DecideApproval {
    type Output = DecisionReport;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<DecisionReport> {
        let (id, decision, actor, at) = (self.id, self.decision, self.actor.as_str(), self.at);
        let approval = tx.approval_state(id).await?.ok_or_else(|| StoreError::NotFound(format!("approval {id}")))?;
        if approval.status != HoldStatus::Pending {
            return Err(StoreError::Conflict(format!("approval {id} is {} already", approval.status.as_str())));
        }
        let mut report =
            DecisionReport { id, status: HoldStatus::Pending, applied: 0, rejected: 0, dropped: 0, rules: None };
        if approval.kind == HoldKind::RuleChange {
            return decide_rule_change(tx, id, decision, actor, at, approval, report).await;
        }
        for item in tx.pending_held_changes(id).await? {
            let outcome = match decision {
                ApprovalDecision::Reject => Ok(HoldStatus::Rejected),
                ApprovalDecision::Apply => release(tx, &self.limits, &item.key, &item.signal, at).await?,
            };
            let (status, note) = match outcome {
                Ok(s) => (s, None),
                Err(why) => (HoldStatus::Dropped, Some(why)),
            };
            match status {
                HoldStatus::Applied => report.applied += 1,
                HoldStatus::Rejected => report.rejected += 1,
                _ => report.dropped += 1,
            }
            tx.set_held_change_status(item.id, status, note.as_deref(), at).await?;
        }
        report.status = match decision {
            ApprovalDecision::Apply => HoldStatus::Applied,
            ApprovalDecision::Reject => HoldStatus::Rejected,
        };
        tx.close_approval(id, report.status, actor, None, at).await?;
        tracing::info!(
            approval = id,
            actor,
            status = report.status.as_str(),
            applied = report.applied,
            rejected = report.rejected,
            dropped = report.dropped,
            "approval decided"
        );
        Ok(report)
    }
}

/// A held rule change: applied only if the rules are still those it was
/// held against (else dropped: the admin PUTs the rules again).
async fn decide_rule_change<T: Tx>(
    tx: &mut T,
    id: ApprovalId,
    decision: ApprovalDecision,
    actor: &str,
    at: DateTime<Utc>,
    approval: ApprovalState,
    mut report: DecisionReport,
) -> Result<DecisionReport> {
    if decision == ApprovalDecision::Reject {
        report.status = HoldStatus::Rejected;
        report.rejected = 1;
        tx.close_approval(id, report.status, actor, None, at).await?;
        return Ok(report);
    }
    let rules = approval.rules.unwrap_or_default();
    let before = approval.rules_before.unwrap_or_default();
    if tx.stored_community_rules().await? != before {
        report.status = HoldStatus::Dropped;
        report.dropped = 1;
        let note = "the community rules changed since this change was held; nothing was applied (PUT the rules again)";
        tx.close_approval(id, report.status, actor, Some(note), at).await?;
        return Ok(report);
    }
    tx.put_community_rules(&rules, at).await?;
    tx.bump_access_version().await?;
    report.status = HoldStatus::Applied;
    report.applied = 1;
    report.rules = Some(rules);
    tx.close_approval(id, report.status, actor, None, at).await?;
    Ok(report)
}

/// Applies one held change if its member is still where the hold left it;
/// otherwise says why not.
async fn release<T: Tx>(
    tx: &mut T,
    limits: &Thresholds,
    key: &str,
    signal: &HoldSignal,
    at: DateTime<Utc>,
) -> Result<std::result::Result<HoldStatus, String>> {
    let Some(old) = tx.load_record(key).await? else {
        return Ok(Err("the member is no longer stored".into()));
    };
    let plan = match signal {
        HoldSignal::Gone { merged_into, .. } => {
            if !old.is_active() {
                return Ok(Err("the member is disabled already".into()));
            }
            match plan_gone(Some(&old), merged_into.clone()) {
                Some(p) => p,
                None => return Ok(Err("the member is no longer stored".into())),
            }
        }
        HoldSignal::AmsStatus => {
            if !old.is_active() {
                return Ok(Err("the member is disabled already".into()));
            }
            if old.details.status != AmsStatus::Disabled {
                return Ok(Err("the AMS no longer says the member is disabled".into()));
            }
            let mut new = old.clone();
            new.status = MemberStatus::Disabled;
            new.disabled_reason = Some(DisabledReason::AmsStatus);
            replan(Some(&old), new, Vec::new())
        }
        HoldSignal::Removed { memberships } => {
            let held: HashSet<_> = memberships.iter().map(|m| (m.community.key.to_string(), m.begin)).collect();
            let id = |m: &Membership| (m.community.key.to_string(), m.begin);
            // The stored AMS list kept them while held; the answer it came
            // from did not list them. Whatever happens, they leave it.
            let mut all = tx.stored_ams_memberships(key).await?;
            all.retain(|m| !held.contains(&id(m)));
            tx.set_ams_memberships(key, &all, at).await?;
            let mut new = old.clone();
            new.memberships.retain(|m| !held.contains(&id(m)));
            if new.memberships.len() == old.memberships.len() {
                return Ok(Err("the member no longer has those memberships".into()));
            }
            let removed = (old.memberships.len() - new.memberships.len()) as u64;
            tx.replace_memberships(key, &new.memberships, true).await?;
            // Approved: recorded, not counted against the limits.
            let (kind, origin) = (LedgerKind::MembershipRemoval, ChangeOrigin::Admin);
            ledger_add(tx, kind, origin, Some(key), removed, at, limits).await?;
            let plan = replan(Some(&old), new, Vec::new());
            record_change(tx, key, Trigger::Admin, None, at, &plan).await?;
            return Ok(Ok(HoldStatus::Applied));
        }
    };
    tx.update_member_state(&plan.new, at).await?;
    record_change(tx, key, Trigger::Admin, None, at, &plan).await?;
    ledger_add(tx, LedgerKind::Disable, ChangeOrigin::Admin, Some(key), 1, at, limits).await?;
    Ok(Ok(HoldStatus::Applied))
}

/// [`crate::SafetyStore::hold_rule_change_if_over`]: a rule change whose
/// removals (by its dry run) would pass the threshold waits for an admin.
/// Returns the approval made, if any.
pub(crate) struct HoldRuleChangeIfOver {
    pub rules: RuleSet,
    pub dry_run: ReapplySummary,
    pub at: DateTime<Utc>,
    pub limits: Thresholds,
}

impl WriteOp for HoldRuleChangeIfOver {
    type Output = Option<ApprovalId>;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<Option<ApprovalId>> {
        let u = usage(tx, &self.limits, self.at, false, true).await?;
        let Verdict::Hold(reason) = self.limits.check_removals(&u, self.dry_run.memberships_removed) else {
            return Ok(None);
        };
        let before = tx.stored_community_rules().await?;
        let id = tx.insert_rule_change_approval(&reason, &self.rules, &before, &self.dry_run, self.at).await?;
        tracing::warn!(approval = id, reason, "community rule change held for approval");
        Ok(Some(id))
    }
}
