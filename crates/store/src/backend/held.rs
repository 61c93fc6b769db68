//! Held changes and their approvals: single operations the screening of a
//! commit (`ops/safety.rs`) and an admin's decision (`ops/held.rs`) use,
//! and the reads of approvals.

use std::future::Future;

use amsync_core::rules::RuleSet;
use amsync_core::Trigger;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::safety_api::{Approval, ApprovalFilter, ApprovalId, HeldChange, HoldKind, HoldSignal, HoldStatus};
use crate::types::{ReapplySummary, RunId};

/// An approval as a decision needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalState {
    pub kind: HoldKind,
    pub status: HoldStatus,
    /// A rule change: the rules held, and the rules they replace.
    pub rules: Option<RuleSet>,
    pub rules_before: Option<RuleSet>,
}

/// A pending held change of an approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingHeld {
    pub id: i64,
    pub key: String,
    pub signal: HoldSignal,
}

/// A pending or rejected held change of one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenHold {
    pub id: i64,
    pub approval_id: ApprovalId,
    pub kind: HoldKind,
    pub signal: HoldSignal,
}

/// Single operations on held changes and approvals inside a transaction.
pub trait HeldTx: Send {
    /// The member's held changes that are pending or rejected.
    fn open_holds(&mut self, key: &str) -> impl Future<Output = Result<Vec<OpenHold>>> + Send;

    /// Held change `id` becomes `dropped`, with why.
    fn set_hold_dropped(&mut self, id: i64, note: &str, at: DateTime<Utc>) -> impl Future<Output = Result<()>> + Send;

    /// Drops approval `id` if it is pending, is not a rule change, and has
    /// no pending held change left; returns whether it did.
    fn drop_approval_if_nothing_pending(
        &mut self,
        id: ApprovalId,
        note: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// The pending approval of held changes of `kind` from run `run_id`
    /// (touched), or a new one with `reason` when there is none. One per
    /// run and kind, however many writers hold changes at once.
    fn approval_for_hold(
        &mut self,
        kind: HoldKind,
        run_id: Option<RunId>,
        trigger: Trigger,
        reason: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<ApprovalId>> + Send;

    /// Inserts a pending held change of `key` into `approval`.
    fn insert_held_change(
        &mut self,
        approval: ApprovalId,
        key: &str,
        kind: HoldKind,
        signal: &HoldSignal,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Approval `id`, as this transaction sees it.
    fn approval_state(&mut self, id: ApprovalId) -> impl Future<Output = Result<Option<ApprovalState>>> + Send;

    /// The pending held changes of approval `id`, in id order.
    fn pending_held_changes(&mut self, id: ApprovalId) -> impl Future<Output = Result<Vec<PendingHeld>>> + Send;

    /// Held change `id` is decided: `status`, with why when a note is given.
    fn set_held_change_status(
        &mut self,
        id: i64,
        status: HoldStatus,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Approval `id` is decided by `actor`: `status`; a note given replaces
    /// the one it had.
    fn close_approval(
        &mut self,
        id: ApprovalId,
        status: HoldStatus,
        actor: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// A new pending approval of a rule change: `rules` to replace
    /// `rules_before`, with the dry run that held it.
    fn insert_rule_change_approval(
        &mut self,
        reason: &str,
        rules: &RuleSet,
        rules_before: &RuleSet,
        summary: &ReapplySummary,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<ApprovalId>> + Send;
}

/// Reads of approvals and held changes.
pub trait HeldReads: Send + Sync {
    /// Newest first.
    fn list_approvals(&self, filter: &ApprovalFilter) -> impl Future<Output = Result<Vec<Approval>>> + Send;

    /// One approval with every held change.
    fn get_approval(&self, id: ApprovalId) -> impl Future<Output = Result<Option<Approval>>> + Send;

    /// A member's pending and rejected held changes.
    fn open_held_changes(&self, key: &amsync_core::MemberKey) -> impl Future<Output = Result<Vec<HeldChange>>> + Send;

    /// Approvals waiting for an admin.
    fn pending_approvals(&self) -> impl Future<Output = Result<u64>> + Send;
}
