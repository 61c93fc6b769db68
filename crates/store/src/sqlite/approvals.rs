//! The [`SafetyStore`] impl: decisions and an admin's disable go to the
//! writer (one transaction each, like a refresh commit); listings, the dry
//! run of a rule change and samples go to the readers. The rules themselves
//! are in `safety.rs` (the commit path), `held.rs` and `admin_status.rs`.

use amsync_core::rules::RuleSet;
use amsync_core::safety::Thresholds;
use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use super::codec::ms;
use super::{admin_status, held, safety, SqliteStore};
use crate::error::{Result, StoreError};
use crate::safety_api::*;
use crate::types::ReapplySummary;

#[async_trait::async_trait]
impl SafetyStore for SqliteStore {
    fn thresholds(&self) -> Thresholds {
        *self.thresholds.read().expect("thresholds lock")
    }

    fn set_thresholds(&self, thresholds: Thresholds) {
        *self.thresholds.write().expect("thresholds lock") = thresholds;
    }

    async fn threshold_status(&self, at: DateTime<Utc>) -> Result<ThresholdStatus> {
        let limits = self.thresholds();
        // The baselines are counted on the writer, where the commit path
        // keeps them, so the figures shown are the ones decisions use.
        let usage =
            self.write_op(move |ctx| safety::usage(&ctx.conn, &mut ctx.cache, &limits, ms(at), true, true)).await?;
        let pending_approvals = self.read_op(held::pending_approvals).await?;
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
        let rules = rules.clone();
        self.read_op(move |c| held::dry_run_rules(c, &rules)).await
    }

    async fn hold_rule_change_if_over(
        &self,
        rules: &RuleSet,
        dry_run: &ReapplySummary,
        at: DateTime<Utc>,
    ) -> Result<Option<Approval>> {
        let limits = self.thresholds();
        let (rules, dry_run) = (rules.clone(), *dry_run);
        let id = self
            .write_op(move |ctx| {
                held::hold_rule_change_if_over(&ctx.conn, &mut ctx.cache, &limits, &rules, &dry_run, ms(at))
            })
            .await?;
        match id {
            Some(id) => self.get_approval(id).await,
            None => Ok(None),
        }
    }

    async fn list_approvals(&self, filter: &ApprovalFilter) -> Result<Vec<Approval>> {
        let filter = filter.clone();
        self.read_op(move |c| held::list_approvals(c, &filter)).await
    }

    async fn get_approval(&self, id: ApprovalId) -> Result<Option<Approval>> {
        self.read_op(move |c| held::get_approval(c, id)).await
    }

    async fn open_held_changes(&self, key: &MemberKey) -> Result<Vec<HeldChange>> {
        let key = key.as_str().to_owned();
        self.read_op(move |c| held::open_held_changes(c, &key)).await
    }

    async fn decide_approval(
        &self,
        id: ApprovalId,
        decision: ApprovalDecision,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<DecisionReport> {
        let limits = self.thresholds();
        let actor = actor.to_string();
        self.write_op(move |ctx| held::decide(&ctx.conn, &mut ctx.cache, &limits, id, decision, &actor, ms(at))).await
    }

    async fn admin_set_status(
        &self,
        key: &MemberKey,
        disable: bool,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<AdminStatusChange> {
        let limits = self.thresholds();
        let key = key.as_str().to_owned();
        let change =
            self.write_op(move |ctx| admin_status::admin_set_status(&ctx.conn, &limits, &key, disable, ms(at))).await?;
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
        self.read_op(move |c| admin_status::sample_active_members(c, n, seed)).await
    }
}
