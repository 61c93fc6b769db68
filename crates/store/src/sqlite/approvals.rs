//! The safety nets' reads (approvals, the dry run of a rule change,
//! samples) on the readers, and their whole operations still written in
//! this backend (seam: phase 2): deciding an approval, holding a rule
//! change and an admin's disable, each one writer operation (`held.rs`,
//! `admin_status.rs`).

use amsync_core::rules::RuleSet;
use amsync_core::safety::Thresholds;
use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use super::{admin_status, held, SqliteBackend};
use crate::backend::{HeldReads, SafetyReads, SafetyWritesPhase2};
use crate::error::Result;
use crate::safety_api::*;
use crate::types::ReapplySummary;

impl SafetyReads for SqliteBackend {
    // seam: phase 2 — the wanted-set rule of the dry run moves to core.
    async fn dry_run_rules(&self, rules: &RuleSet) -> Result<ReapplySummary> {
        let rules = rules.clone();
        self.read_op(move |c| held::dry_run_rules(c, &rules)).await
    }

    async fn sample_active_members(&self, n: usize, seed: u64) -> Result<Vec<MemberKey>> {
        self.read_op(move |c| admin_status::sample_active_members(c, n, seed)).await
    }
}

impl HeldReads for SqliteBackend {
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

    async fn pending_approvals(&self) -> Result<u64> {
        self.read_op(held::pending_approvals).await
    }
}

impl SafetyWritesPhase2 for SqliteBackend {
    // seam: phase 2
    async fn decide_approval(
        &self,
        id: ApprovalId,
        decision: ApprovalDecision,
        actor: &str,
        at: DateTime<Utc>,
        limits: Thresholds,
    ) -> Result<DecisionReport> {
        let actor = actor.to_string();
        self.write_op(move |tx| held::decide(tx, &limits, id, decision, &actor, at)).await
    }

    // seam: phase 2
    async fn hold_rule_change_if_over(
        &self,
        rules: &RuleSet,
        dry_run: &ReapplySummary,
        at: DateTime<Utc>,
        limits: Thresholds,
    ) -> Result<Option<Approval>> {
        let (rules, dry_run) = (rules.clone(), *dry_run);
        let id = self.write_op(move |tx| held::hold_rule_change_if_over(tx, &limits, &rules, &dry_run, at)).await?;
        match id {
            Some(id) => self.get_approval(id).await,
            None => Ok(None),
        }
    }

    // seam: phase 2
    async fn admin_set_status(
        &self,
        key: &MemberKey,
        disable: bool,
        at: DateTime<Utc>,
        limits: Thresholds,
    ) -> Result<AdminStatusChange> {
        let key = key.as_str().to_owned();
        self.write_op(move |tx| admin_status::admin_set_status(tx, &limits, &key, disable, at)).await
    }
}
