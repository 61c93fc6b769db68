//! The safety nets' reads and whole operations on PostgreSQL: approvals
//! and held changes (`held.rs`), an admin's disable (`admin_status.rs`).

use amsync_core::rules::RuleSet;
use amsync_core::safety::Thresholds;
use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use super::admin_status::{sample_active_members, AdminSetStatus};
use super::held::{self, Decide, HoldRuleChange};
use super::PgBackend;
use crate::backend::{HeldReads, SafetyReads, SafetyWritesPhase2};
use crate::error::Result;
use crate::safety_api::*;
use crate::types::ReapplySummary;

impl SafetyReads for PgBackend {
    // seam: phase 2 — the wanted-set rule of the dry run moves to core.
    async fn dry_run_rules(&self, rules: &RuleSet) -> Result<ReapplySummary> {
        let mut tx = self.snapshot().await?;
        let v = held::dry_run_rules(&mut tx, rules).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn sample_active_members(&self, n: usize, seed: u64) -> Result<Vec<MemberKey>> {
        let mut tx = self.snapshot().await?;
        let v = sample_active_members(&mut tx, n, seed).await?;
        tx.commit().await?;
        Ok(v)
    }
}

impl HeldReads for PgBackend {
    async fn list_approvals(&self, filter: &ApprovalFilter) -> Result<Vec<Approval>> {
        let mut tx = self.snapshot().await?;
        let v = held::list_approvals(&mut tx, filter).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn get_approval(&self, id: ApprovalId) -> Result<Option<Approval>> {
        let mut tx = self.snapshot().await?;
        let v = held::get_approval(&mut tx, id).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn open_held_changes(&self, key: &MemberKey) -> Result<Vec<HeldChange>> {
        held::open_held_changes(&mut self.autocommit().await?, key.as_str()).await
    }

    async fn pending_approvals(&self) -> Result<u64> {
        let mut tx = self.autocommit().await?;
        let row = tx.query_one("SELECT COUNT(*) FROM approvals WHERE status = 'pending'", &[]).await?;
        Ok(super::codec::count(super::codec::get(&row, 0)?))
    }
}

impl SafetyWritesPhase2 for PgBackend {
    // seam: phase 2
    async fn decide_approval(
        &self,
        id: ApprovalId,
        decision: ApprovalDecision,
        actor: &str,
        at: DateTime<Utc>,
        limits: Thresholds,
    ) -> Result<DecisionReport> {
        self.run(Decide { id, decision, actor: actor.to_owned(), at, limits }).await
    }

    // seam: phase 2
    async fn hold_rule_change_if_over(
        &self,
        rules: &RuleSet,
        dry_run: &ReapplySummary,
        at: DateTime<Utc>,
        limits: Thresholds,
    ) -> Result<Option<Approval>> {
        let op = HoldRuleChange { limits, rules: rules.clone(), dry_run: *dry_run, at };
        match self.run(op).await? {
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
        self.run(AdminSetStatus { limits, key: key.as_str().to_owned(), disable, at }).await
    }
}
