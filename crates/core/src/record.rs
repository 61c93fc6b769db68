//! A member as amsync holds it, and the effective state derived from it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::community::Membership;
use crate::group::{is_member, IsMemberGroups, SecurityGroupRef, AUTHENTICATED, IS_MEMBER};
use crate::keys::{GroupKey, MemberKey};
use crate::member::{AmsStatus, MemberDetails};
use crate::GroupSource;

/// The effective state: whether the member may sign in and be decided as itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    #[default]
    Active,
    Disabled,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Disabled => "disabled",
        }
    }
}

/// Why a member is disabled (product.md, "Shapes of the main answers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisabledReason {
    /// The AMS says `status: disabled`.
    AmsStatus,
    /// GetMemberDetails answered 404, or 410 without a merge target.
    AmsNotFound,
    /// GetMemberDetails answered 410 with `merged_into`.
    MergedInto,
    PushDeleted,
    ScimDeleted,
    /// An admin disabled it; this sticks until an admin enables it.
    Admin,
}

impl DisabledReason {
    pub const ALL: [DisabledReason; 6] = [
        DisabledReason::AmsStatus,
        DisabledReason::AmsNotFound,
        DisabledReason::MergedInto,
        DisabledReason::PushDeleted,
        DisabledReason::ScimDeleted,
        DisabledReason::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DisabledReason::AmsStatus => "ams_status",
            DisabledReason::AmsNotFound => "ams_not_found",
            DisabledReason::MergedInto => "merged_into",
            DisabledReason::PushDeleted => "push_deleted",
            DisabledReason::ScimDeleted => "scim_deleted",
            DisabledReason::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<DisabledReason> {
        DisabledReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Everything amsync holds about one member that a refresh can change, plus
/// the local group memberships a refresh never touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    /// The details as the AMS last gave them; `details.status` is the AMS status.
    pub details: MemberDetails,
    pub status: MemberStatus,
    pub disabled_reason: Option<DisabledReason>,
    pub merged_into: Option<MemberKey>,
    /// The memberships the community rules let through, sorted by (community, begin).
    pub memberships: Vec<Membership>,
    /// The AMS groups accepted (no collision with a built-in or local group), sorted by key.
    pub ams_groups: Vec<SecurityGroupRef>,
    /// Local groups (SuperAdmin included) an admin put this member in, sorted.
    pub local_groups: Vec<GroupKey>,
}

impl MemberRecord {
    pub fn key(&self) -> &MemberKey {
        &self.details.key
    }

    pub fn ams_status(&self) -> AmsStatus {
        self.details.status
    }

    pub fn is_active(&self) -> bool {
        self.status == MemberStatus::Active
    }

    /// Whether the member counts as IsMember (the rule is
    /// [`crate::group::is_member`]).
    pub fn is_member(&self, designated: &IsMemberGroups) -> bool {
        is_member(self.is_active(), self.ams_groups.iter().map(|g| g.key.as_str()), designated)
    }
}

/// A group as the member document lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EffectiveGroup {
    pub key: GroupKey,
    pub name: Option<String>,
    pub source: GroupSource,
}

/// The groups a member effectively has: empty when disabled; otherwise
/// `Authenticated`, its accepted AMS groups, its local groups, and `IsMember`
/// when one of its AMS groups counts as IsMember. `Public` applies to
/// everyone and is not listed.
///
/// `designated` are the AMS groups that count as IsMember;
/// `local_name` gives a local group's display name.
pub fn effective_groups(
    record: &MemberRecord,
    designated: &IsMemberGroups,
    local_name: impl Fn(&GroupKey) -> Option<String>,
) -> Vec<EffectiveGroup> {
    if !record.is_active() {
        return Vec::new();
    }
    let builtin = |k: &str| EffectiveGroup {
        key: GroupKey::parse(k).expect("built-in keys are valid"),
        name: Some(k.to_string()),
        source: GroupSource::Builtin,
    };
    let mut out = vec![builtin(AUTHENTICATED)];
    if record.is_member(designated) {
        out.push(builtin(IS_MEMBER));
    }
    let mut seen: BTreeSet<String> = out.iter().map(|g| g.key.folded()).collect();
    for g in &record.ams_groups {
        if seen.insert(g.key.folded()) {
            out.push(EffectiveGroup { key: g.key.clone(), name: g.name.clone(), source: GroupSource::Ams });
        }
    }
    for k in &record.local_groups {
        if seen.insert(k.folded()) {
            let source = if crate::group::is_builtin(k.as_str()) { GroupSource::Builtin } else { GroupSource::Local };
            out.push(EffectiveGroup { key: k.clone(), name: local_name(k), source });
        }
    }
    out
}
