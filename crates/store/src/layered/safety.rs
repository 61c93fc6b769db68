//! [`SafetyStore`] over a backend. The thresholds live here (every commit
//! of this process is screened against them); the screening itself is
//! `ops/safety.rs`, inside each refresh commit; deciding an approval and
//! holding a rule change are `ops/held.rs`, an admin's disable
//! `ops/admin_status.rs`, the dry run of a rule change `ops/reapply.rs`.

use amsync_core::rules::RuleSet;
use amsync_core::safety::Thresholds;
use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use super::Layered;
use crate::backend::Backend;
use crate::error::{Result, StoreError};
use crate::ops::admin_status::AdminSetStatus;
use crate::ops::held::{DecideApproval, HoldRuleChangeIfOver};
use crate::ops::reapply;
use crate::ops::safety::WindowUsageAt;
use crate::safety_api::*;
use crate::types::ReapplySummary;

#[async_trait::async_trait]
impl<B: Backend> SafetyStore for Layered<B> {
    fn thresholds(&self) -> Thresholds {
        self.limits()
    }

    fn set_thresholds(&self, thresholds: Thresholds) {
        *self.thresholds.write().unwrap_or_else(|p| p.into_inner()) = thresholds;
    }

    async fn threshold_status(&self, at: DateTime<Utc>) -> Result<ThresholdStatus> {
        let limits = self.limits();
        let usage = self.backend.write(WindowUsageAt { limits, at }).await?;
        let pending_approvals = self.backend.pending_approvals().await?;
        Ok(ThresholdStatus {
            window_seconds: limits.window.as_secs(),
            max_disables: limits.max_disables,
            max_disable_share: limits.max_disable_share,
            max_membership_removal_share: limits.max_membership_removal_share,
            usage,
            pending_approvals,
        })
    }

    async fn dry_run_rules(&self, rules: &RuleSet) -> Result<ReapplySummary> {
        reapply::dry_run(&self.backend, rules).await
    }

    async fn hold_rule_change_if_over(
        &self,
        rules: &RuleSet,
        dry_run: &ReapplySummary,
        at: DateTime<Utc>,
    ) -> Result<Option<Approval>> {
        let op = HoldRuleChangeIfOver { rules: rules.clone(), dry_run: *dry_run, at, limits: self.limits() };
        match self.backend.write(op).await? {
            Some(id) => self.backend.get_approval(id).await,
            None => Ok(None),
        }
    }

    async fn list_approvals(&self, filter: &ApprovalFilter) -> Result<Vec<Approval>> {
        self.backend.list_approvals(filter).await
    }

    async fn get_approval(&self, id: ApprovalId) -> Result<Option<Approval>> {
        self.backend.get_approval(id).await
    }

    async fn open_held_changes(&self, key: &MemberKey) -> Result<Vec<HeldChange>> {
        self.backend.open_held_changes(key).await
    }

    async fn decide_approval(
        &self,
        id: ApprovalId,
        decision: ApprovalDecision,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<DecisionReport> {
        let op = DecideApproval { id, decision, actor: actor.to_owned(), at, limits: self.limits() };
        self.backend.write(op).await
    }

    async fn admin_set_status(
        &self,
        key: &MemberKey,
        disable: bool,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<AdminStatusChange> {
        let op = AdminSetStatus { key: key.clone(), disable, at, limits: self.limits() };
        let change = self.backend.write(op).await?;
        if change.changed {
            tracing::info!(
                member = %change.key,
                actor,
                status = change.status.as_str(),
                "member {} by an admin",
                if disable { "disabled" } else { "enabled" }
            );
        }
        Ok(change)
    }

    async fn sample_active_members(&self, n: usize, seed: u64) -> Result<Vec<MemberKey>> {
        if n == 0 {
            return Err(StoreError::Invalid("a sample of no members".into()));
        }
        self.backend.sample_active_members(n, seed).await
    }
}
