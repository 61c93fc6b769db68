//! The thresholds' ledger: single operations that record and count the
//! disables, enables and membership removals applied within the sliding
//! window (the screening that decides with them is `ops/safety.rs`, the
//! limits `amsync_core::safety`); and the safety nets' whole operations
//! not ported yet.

use std::future::Future;

use amsync_core::rules::RuleSet;
use amsync_core::safety::Thresholds;
use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::safety_api::{AdminStatusChange, Approval, ApprovalDecision, ApprovalId, DecisionReport};
use crate::types::ReapplySummary;

/// What a ledger row counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LedgerKind {
    Disable,
    Enable,
    MembershipRemoval,
}

impl LedgerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerKind::Disable => "disable",
            LedgerKind::Enable => "enable",
            LedgerKind::MembershipRemoval => "membership_removal",
        }
    }
}

/// Whose change a ledger row records. The source's changes count against
/// the window's limits; a change an admin made or approved (an admin's
/// disable or enable, a released hold, a rule change) is recorded for the
/// audit and for the baselines only, so approving one large change does
/// not hold the source's ordinary changes for the rest of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOrigin {
    Source,
    Admin,
}

/// What the window holds of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerSums {
    /// The source's changes: what the limits count.
    pub source: u64,
    /// An admin's (see [`ChangeOrigin`]).
    pub admin: u64,
}

impl LedgerSums {
    pub fn all(&self) -> u64 {
        self.source + self.admin
    }
}

/// Single operations on the thresholds' ledger inside a transaction.
pub trait SafetyTx: Send {
    /// Records `n` changes of `kind` at `at` (of `member`, when one).
    fn ledger_insert(
        &mut self,
        kind: LedgerKind,
        origin: ChangeOrigin,
        member: Option<&str>,
        n: u64,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Deletes the rows of `kind` older than `before` (no window needs them).
    fn ledger_prune(&mut self, kind: LedgerKind, before: DateTime<Utc>) -> impl Future<Output = Result<()>> + Send;

    /// What the ledger holds of `kind` after `since`.
    fn ledger_sums(
        &mut self,
        kind: LedgerKind,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<LedgerSums>> + Send;

    /// Members active at the start of the window of length `window` ending
    /// at `at`: [`amsync_core::safety::active_at_window_start`] of the
    /// active members now and the ledger's disables and enables within the
    /// window. A backend may reuse a value computed a few seconds earlier
    /// for the same window (it moves only with members created and the
    /// window sliding; a disable leaves it as it is by construction).
    fn baseline_active(
        &mut self,
        at: DateTime<Utc>,
        window: std::time::Duration,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Memberships held at the window's start:
    /// [`amsync_core::safety::memberships_at_window_start`] of the
    /// memberships now and the ledger's removals within the window;
    /// reusable likewise.
    fn baseline_memberships(
        &mut self,
        at: DateTime<Utc>,
        window: std::time::Duration,
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// Reads of the safety nets.
pub trait SafetyReads: Send + Sync {
    // seam: phase 2 — the dry run applies the re-apply wanted-set rule in
    // the backend; it moves to core with the re-apply.
    fn dry_run_rules(&self, rules: &RuleSet) -> impl Future<Output = Result<ReapplySummary>> + Send;

    /// Up to `n` active members, from a point `seed` picks.
    fn sample_active_members(&self, n: usize, seed: u64) -> impl Future<Output = Result<Vec<MemberKey>>> + Send;
}

/// The safety nets' whole operations still written inside the backend
/// (see the module doc of [`crate::backend`]).
pub trait SafetyWritesPhase2: Send + Sync {
    // seam: phase 2 — deciding an approval (release re-validates each held
    // change) to ops/held.rs.
    fn decide_approval(
        &self,
        id: ApprovalId,
        decision: ApprovalDecision,
        actor: &str,
        at: DateTime<Utc>,
        limits: Thresholds,
    ) -> impl Future<Output = Result<DecisionReport>> + Send;

    // seam: phase 2 — holding a rule change past the threshold to
    // ops/held.rs. Returns the approval made, if any.
    fn hold_rule_change_if_over(
        &self,
        rules: &RuleSet,
        dry_run: &ReapplySummary,
        at: DateTime<Utc>,
        limits: Thresholds,
    ) -> impl Future<Output = Result<Option<Approval>>> + Send;

    // seam: phase 2 — an admin's disable or enable to ops/admin_status.rs.
    fn admin_set_status(
        &self,
        key: &MemberKey,
        disable: bool,
        at: DateTime<Utc>,
        limits: Thresholds,
    ) -> impl Future<Output = Result<AdminStatusChange>> + Send;
}
