//! Who an access decision is for: a signed-out visitor or a member.
//!
//! A member's principal is built once (per request, or per session) from its
//! [`MemberRecord`] and the site's "counts as IsMember" designations, and
//! holds what decisions need in the shape they need it: the effective groups
//! as a [`GroupSet`] (with `Public`, which applies to everyone) and the
//! memberships sorted by community so a decision finds a community's
//! memberships by binary search.

use std::cmp::Reverse;

use super::groups::GroupSet;
use crate::community::Membership;
use crate::group::{is_builtin, IsMemberGroups, IS_MEMBER, PUBLIC, SUPER_ADMIN};
use crate::keys::{GroupKey, MemberKey};
use crate::record::{effective_groups, MemberRecord};
use crate::GroupSource;

/// How long a current membership lasts, as an order: open-ended outlasts
/// any end, a later end an earlier one, and among equal ends the earliest
/// begin (which identifies the membership) comes first. The membership a
/// reason or a summary tells is the greatest, so it never depends on the
/// order the memberships came in.
pub(crate) fn lasting(m: &Membership) -> impl Ord {
    (m.end.is_none(), m.end, Reverse(m.begin))
}

/// A member, as decisions see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPrincipal {
    key: MemberKey,
    active: bool,
    super_admin: bool,
    is_member: bool,
    /// Effective groups plus `Public`; empty for a disabled member, who is
    /// decided with the visitor's groups instead.
    groups: GroupSet,
    /// Sorted by (community, begin).
    memberships: Box<[Membership]>,
}

impl MemberPrincipal {
    pub fn key(&self) -> &MemberKey {
        &self.key
    }

    /// A disabled member is decided as a signed-out visitor.
    pub fn is_active(&self) -> bool {
        self.active
    }

    pub fn is_super_admin(&self) -> bool {
        self.super_admin
    }

    pub fn is_member(&self) -> bool {
        self.is_member
    }

    /// The groups decisions use: the effective groups and `Public`; empty
    /// when the member is disabled.
    pub fn groups(&self) -> &GroupSet {
        &self.groups
    }

    /// Every visible membership, sorted by (community, begin).
    pub fn memberships(&self) -> &[Membership] {
        &self.memberships
    }

    /// The memberships of one community, by begin.
    pub fn memberships_of(&self, community: &str) -> &[Membership] {
        let start = self.memberships.partition_point(|m| m.community.key.as_str() < community);
        let len = self.memberships[start..].partition_point(|m| m.community.key.as_str() == community);
        &self.memberships[start..start + len]
    }
}

/// Who a decision is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A signed-out visitor: only what is granted to `Public`.
    Public,
    Member(MemberPrincipal),
}

impl Principal {
    pub fn public() -> Principal {
        Principal::Public
    }

    /// Builds a member's principal.
    ///
    /// `is_member_groups` are the AMS groups designated "counts as IsMember"
    /// (compared case-insensitively). The groups are those of
    /// [`effective_groups`], with two guards that hold even for a record that
    /// did not pass the refresh's screening: an AMS group with a built-in key
    /// is never a privilege, and `SuperAdmin` and `IsMember` come only from
    /// where they are defined (an admin's local membership, the designations).
    pub fn from_record(record: &MemberRecord, is_member_groups: &[GroupKey]) -> Principal {
        let designated = IsMemberGroups::new(is_member_groups);
        let active = record.is_active();
        let is_member = record.is_member(&designated);
        let super_admin = active && record.local_groups.iter().any(|k| k.as_str().eq_ignore_ascii_case(SUPER_ADMIN));
        let groups = if active {
            let builtin = |k: &str| GroupKey::parse(k).expect("built-in keys are valid");
            let effective = effective_groups(record, &designated, |_| None).into_iter().filter(|g| {
                let builtin_key = is_builtin(g.key.as_str());
                match g.source {
                    GroupSource::Ams => !builtin_key,
                    GroupSource::Local => true,
                    // Authenticated as effective_groups adds it; a local
                    // membership of another built-in grants nothing by itself.
                    GroupSource::Builtin => {
                        !(g.key.as_str().eq_ignore_ascii_case(IS_MEMBER)
                            || g.key.as_str().eq_ignore_ascii_case(SUPER_ADMIN)
                            || g.key.as_str().eq_ignore_ascii_case(PUBLIC))
                    }
                }
            });
            let extra = [
                Some(builtin(PUBLIC)),
                is_member.then(|| builtin(IS_MEMBER)),
                super_admin.then(|| builtin(SUPER_ADMIN)),
            ];
            GroupSet::new(extra.into_iter().flatten().chain(effective.map(|g| g.key)))
        } else {
            GroupSet::default()
        };
        let mut memberships = record.memberships.clone();
        memberships.sort_by(|a, b| a.id().cmp(&b.id()));
        Principal::Member(MemberPrincipal {
            key: record.key().clone(),
            active,
            super_admin,
            is_member,
            groups,
            memberships: memberships.into_boxed_slice(),
        })
    }

    /// The member's key, disabled or not; `None` for a visitor.
    pub fn member_key(&self) -> Option<&MemberKey> {
        match self {
            Principal::Public => None,
            Principal::Member(m) => Some(&m.key),
        }
    }

    /// An active member's principal; `None` for a visitor or a disabled member.
    pub fn active_member(&self) -> Option<&MemberPrincipal> {
        match self {
            Principal::Member(m) if m.active => Some(m),
            _ => None,
        }
    }

    pub fn is_super_admin(&self) -> bool {
        self.active_member().is_some_and(|m| m.super_admin)
    }
}
