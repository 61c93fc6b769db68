//! The safety nets' part of the store (product.md job 10): the deletion and
//! removal thresholds the refresh commit path holds changes against, the
//! approvals an admin decides, and an admin's own disable.
//!
//! The thresholds are checked *inside* the commit of each refresh (on the
//! SQLite writer), so refreshes committing at once are counted exactly: the
//! hundred-and-first disable of a window is held however many workers run.
//! A held change leaves the rest of its refresh to apply: a held disable
//! keeps the member active (its other fields still update), held removals
//! keep their memberships.
//!
//! **Held changes and the source's answer.** A held change remembers what
//! the source said (a 404/410, `status: disabled`, the memberships it no
//! longer lists). A later refresh with the same answer leaves it as it is:
//! still pending, or still rejected (a rejected hold is not held anew). A
//! refresh with another answer drops it, and the new answer is judged
//! afresh. Applying an approval releases exactly its pending changes, each
//! checked against the member's current state first (a change whose member
//! moved on is dropped, not applied).

use amsync_core::community::Membership;
use amsync_core::record::{DisabledReason, MemberStatus};
use amsync_core::rules::RuleSet;
use amsync_core::safety::{Thresholds, WindowUsage};
use amsync_core::{MemberKey, Trigger};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::types::{ReapplySummary, RunId};

pub type ApprovalId = i64;

/// What a held change (and its approval) would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldKind {
    Disable,
    MembershipRemoval,
    RuleChange,
}

impl HoldKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldKind::Disable => "disable",
            HoldKind::MembershipRemoval => "membership_removal",
            HoldKind::RuleChange => "rule_change",
        }
    }

    pub fn parse(s: &str) -> Option<HoldKind> {
        [HoldKind::Disable, HoldKind::MembershipRemoval, HoldKind::RuleChange].into_iter().find(|k| k.as_str() == s)
    }
}

/// Where an approval or a held change stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldStatus {
    /// Waiting for an admin.
    Pending,
    Applied,
    /// Stays unapplied until the source's answer changes.
    Rejected,
    /// The source's answer (or the member, or the rules) changed meanwhile:
    /// nothing of it will be applied.
    Dropped,
}

impl HoldStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldStatus::Pending => "pending",
            HoldStatus::Applied => "applied",
            HoldStatus::Rejected => "rejected",
            HoldStatus::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<HoldStatus> {
        [HoldStatus::Pending, HoldStatus::Applied, HoldStatus::Rejected, HoldStatus::Dropped]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// What the source said that a held change acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "signal", rename_all = "snake_case")]
pub enum HoldSignal {
    /// GetMemberDetails answered 404, or 410 (with a merge target or not).
    /// (`http_status` in JSON: a held change has a `status` of its own.)
    Gone {
        #[serde(rename = "http_status")]
        status: u16,
        merged_into: Option<MemberKey>,
    },
    /// The AMS says `status: disabled`.
    AmsStatus,
    /// Memberships the AMS no longer lists (as they were held).
    Removed { memberships: Vec<Membership> },
}

impl HoldSignal {
    /// The reason the member would be disabled with, for a disable.
    pub fn disabled_reason(&self) -> Option<DisabledReason> {
        match self {
            HoldSignal::Gone { merged_into: Some(_), .. } => Some(DisabledReason::MergedInto),
            HoldSignal::Gone { .. } => Some(DisabledReason::AmsNotFound),
            HoldSignal::AmsStatus => Some(DisabledReason::AmsStatus),
            HoldSignal::Removed { .. } => None,
        }
    }
}

/// One member's held change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldChange {
    pub id: i64,
    /// The approval it belongs to.
    pub approval_id: ApprovalId,
    pub member: MemberKey,
    pub kind: HoldKind,
    pub status: HoldStatus,
    #[serde(flatten)]
    pub signal: HoldSignal,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was dropped, when it was.
    pub note: Option<String>,
}

/// How many held changes an approval has, by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalCounts {
    /// Members with a held change in this approval.
    pub members: u64,
    pub pending: u64,
    pub applied: u64,
    pub rejected: u64,
    pub dropped: u64,
    /// Memberships the approval's removals would remove (still pending).
    pub memberships: u64,
}

/// Changes held by a threshold, decided together: those of one kind that
/// one run held, or one rule change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub id: ApprovalId,
    pub kind: HoldKind,
    pub status: HoldStatus,
    /// Which limit the change would pass, in a sentence.
    pub reason: String,
    pub run_id: Option<RunId>,
    /// What held it: the refreshes' trigger, or `admin` for a rule change.
    pub trigger: Trigger,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    /// Why an approval was dropped.
    pub note: Option<String>,
    pub counts: ApprovalCounts,
    /// A rule change: the rules asked for, the rules they would replace,
    /// and what the dry run found.
    pub rules: Option<RuleSet>,
    pub rules_before: Option<RuleSet>,
    pub summary: Option<ReapplySummary>,
    /// The held changes (the first `changes_limit` when listed).
    pub changes: Vec<HeldChange>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApprovalFilter {
    pub status: Option<HoldStatus>,
    pub limit: usize,
    /// Approvals with an id lower than this (paging backwards).
    pub before: Option<ApprovalId>,
    /// Held changes listed per approval.
    pub changes_limit: usize,
}

/// An admin's decision on an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalDecision {
    Apply,
    Reject,
}

/// What deciding an approval did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionReport {
    pub id: ApprovalId,
    /// The approval's status now.
    pub status: HoldStatus,
    pub applied: u64,
    pub rejected: u64,
    /// Held changes not applied because their member moved on meanwhile.
    pub dropped: u64,
    /// An applied rule change: the rules now stored, for the caller to
    /// re-apply to every member.
    pub rules: Option<RuleSet>,
}

/// The thresholds and how much of their window is used, for the status API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdStatus {
    pub window_seconds: u64,
    pub max_disables: u64,
    pub max_disable_share: f64,
    pub max_membership_removal_share: f64,
    #[serde(flatten)]
    pub usage: WindowUsage,
    /// Approvals waiting for an admin.
    pub pending_approvals: u64,
}

/// What an admin's disable or enable did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminStatusChange {
    pub key: MemberKey,
    /// False when the member already was in that state.
    pub changed: bool,
    pub status: MemberStatus,
    pub disabled_reason: Option<DisabledReason>,
}

/// The safety nets (see the module doc).
#[async_trait::async_trait]
pub trait SafetyStore: Send + Sync {
    /// The limits refresh commits are held against. A store holds nothing
    /// until told (`Thresholds::unlimited()`); `amsync` sets `[thresholds]`.
    fn thresholds(&self) -> Thresholds;

    fn set_thresholds(&self, thresholds: Thresholds);

    /// The limits and how much of the window is used at `at`.
    async fn threshold_status(&self, at: DateTime<Utc>) -> Result<ThresholdStatus>;

    /// What re-applying `rules` would change, from the stored AMS answers,
    /// without writing anything.
    async fn dry_run_rules(&self, rules: &RuleSet) -> Result<ReapplySummary>;

    /// Holds a rule change for approval when the membership removals its
    /// dry run found would pass the threshold; `None` when they may apply
    /// (the caller then stores and re-applies the rules).
    async fn hold_rule_change_if_over(
        &self,
        rules: &RuleSet,
        dry_run: &ReapplySummary,
        at: DateTime<Utc>,
    ) -> Result<Option<Approval>>;

    /// Newest first.
    async fn list_approvals(&self, filter: &ApprovalFilter) -> Result<Vec<Approval>>;

    /// One approval with every held change.
    async fn get_approval(&self, id: ApprovalId) -> Result<Option<Approval>>;

    /// A member's open held changes (pending, or rejected and still standing).
    async fn open_held_changes(&self, key: &MemberKey) -> Result<Vec<HeldChange>>;

    /// Applies or rejects an approval (a `Conflict` when it is not pending).
    /// Applying releases its pending changes, each re-validated against the
    /// member's current state, recorded in history with trigger `admin`;
    /// an applied rule change stores the rules and returns them for the
    /// caller to re-apply.
    async fn decide_approval(
        &self,
        id: ApprovalId,
        decision: ApprovalDecision,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<DecisionReport>;

    /// An admin disables (`disable = true`) or enables a member. A disable
    /// sticks (`disabled_reason = admin`), revokes the member's sessions and
    /// mobile tokens, and drops held changes of the member; an enable lifts
    /// only an admin's disable (`Conflict` for a member its source disabled)
    /// and queues a refresh. `NotFound` for an unknown member.
    async fn admin_set_status(
        &self,
        key: &MemberKey,
        disable: bool,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<AdminStatusChange>;

    /// Up to `n` active members, starting from a point `seed` picks (for the
    /// engine's control calls and quarantine probes).
    async fn sample_active_members(&self, n: usize, seed: u64) -> Result<Vec<MemberKey>>;
}
