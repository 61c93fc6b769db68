//! Security groups: built-in, AMS-managed and local.
//!
//! Built-in groups are `Public`, `Authenticated`, `IsMember` (an aggregate)
//! and `SuperAdmin` (whose members an admin sets, like a local group's).
//! AMS-managed groups appear when first seen. Local groups are created by an
//! admin and never touched by a refresh.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Part};
use crate::keys::{GroupKey, MemberKey};
use crate::member::{check_len, MAX_SHORT_TEXT};

pub const PUBLIC: &str = "Public";
pub const AUTHENTICATED: &str = "Authenticated";
pub const IS_MEMBER: &str = "IsMember";
pub const SUPER_ADMIN: &str = "SuperAdmin";

/// The built-in groups, in the order they are shown.
pub const BUILTIN_GROUPS: [&str; 4] = [PUBLIC, AUTHENTICATED, IS_MEMBER, SUPER_ADMIN];

/// Most AMS groups one member may have in one answer.
pub const MAX_GROUPS: usize = 1000;

/// Whether `key` names a built-in group, compared case-insensitively.
pub fn is_builtin(key: &str) -> bool {
    BUILTIN_GROUPS.iter().any(|b| b.eq_ignore_ascii_case(key))
}

/// The AMS groups an admin designated "counts as IsMember", as the IsMember
/// rule compares them: case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IsMemberGroups {
    folded: BTreeSet<String>,
}

impl IsMemberGroups {
    pub fn new<'a>(designated: impl IntoIterator<Item = &'a GroupKey>) -> IsMemberGroups {
        IsMemberGroups { folded: designated.into_iter().map(GroupKey::folded).collect() }
    }

    /// Whether holding the AMS group `key` counts towards IsMember: it is
    /// designated (compared case-insensitively), and its key is not a
    /// built-in group's (an AMS group with a built-in key is never a
    /// privilege, even in a record that did not pass a refresh's screening).
    pub fn counts(&self, key: &str) -> bool {
        !self.folded.is_empty() && !is_builtin(key) && self.folded.contains(&key.to_lowercase())
    }

    pub fn is_empty(&self) -> bool {
        self.folded.is_empty()
    }

    /// The designated keys, lower-cased: what two designations compare.
    pub fn folded(&self) -> &BTreeSet<String> {
        &self.folded
    }
}

/// **IsMember**, the aggregate built-in group: an *active* member holding
/// at least one AMS group that [counts](IsMemberGroups::counts). This is
/// the one place the rule is written; access decisions, the member
/// document, the explanation on the dashboard and the store (searching
/// `group=IsMember`, the change feed of a designation change) all ask it.
pub fn is_member<'a>(active: bool, ams_groups: impl IntoIterator<Item = &'a str>, designated: &IsMemberGroups) -> bool {
    active && ams_groups.into_iter().any(|g| designated.counts(g))
}

/// Where a group comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupSource {
    Builtin,
    Ams,
    Local,
}

impl GroupSource {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupSource::Builtin => "builtin",
            GroupSource::Ams => "ams",
            GroupSource::Local => "local",
        }
    }
}

/// A group as GetMemberSecurityGroups names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SecurityGroupRef {
    pub key: GroupKey,
    #[serde(default)]
    pub name: Option<String>,
}

/// The complete set of a member's AMS groups as one answer gives it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GroupList {
    #[serde(default)]
    pub groups: Vec<SecurityGroupRef>,
}

/// Sorts by key and drops exact duplicates, so equal sets compare equal.
pub fn normalize_groups(list: &mut Vec<SecurityGroupRef>) {
    for g in list.iter_mut() {
        if g.name.as_deref().is_some_and(str::is_empty) {
            g.name = None;
        }
    }
    list.sort();
    list.dedup_by(|a, b| a.key == b.key);
}

/// Checks an AMS group list against the contract (lengths and counts only;
/// collisions with built-in and local groups are decided where the local
/// groups are known, see [`crate::record`]).
pub fn validate_groups(member: &MemberKey, list: &[SecurityGroupRef]) -> Result<(), DataError> {
    if list.len() > MAX_GROUPS {
        return Err(DataError::new(
            member.as_str(),
            Part::SecurityGroups,
            "/groups",
            format!("{} groups, at most {MAX_GROUPS}", list.len()),
        ));
    }
    for (i, g) in list.iter().enumerate() {
        check_len(g.name.as_deref(), MAX_SHORT_TEXT)
            .map_err(|m| DataError::new(member.as_str(), Part::SecurityGroups, format!("/groups/{i}/name"), m))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn designated(keys: &[&str]) -> IsMemberGroups {
        let keys: Vec<GroupKey> = keys.iter().map(|k| GroupKey::parse(*k).unwrap()).collect();
        IsMemberGroups::new(&keys)
    }

    #[test]
    fn is_member_is_an_active_member_holding_a_designated_ams_group() {
        let d = designated(&["MEMBER", "Fellow"]);
        // (active, AMS groups) -> IsMember
        let table: [((bool, &[&str]), bool); 9] = [
            ((true, &["MEMBER"]), true),
            ((true, &["member"]), true),
            ((true, &["STAFF", "fellow"]), true),
            ((true, &["STAFF"]), false),
            ((true, &[]), false),
            ((false, &["MEMBER"]), false),
            // A built-in key never counts, designated or not.
            ((true, &["IsMember"]), false),
            ((true, &["superadmin"]), false),
            ((false, &[]), false),
        ];
        for ((active, groups), want) in table {
            assert_eq!(is_member(active, groups.iter().copied(), &d), want, "active {active}, groups {groups:?}");
        }
        assert!(!is_member(true, ["MEMBER"], &IsMemberGroups::default()), "nothing designated");
        assert!(!designated(&["IsMember"]).counts("IsMember"));
    }

    #[test]
    fn builtin_is_case_insensitive() {
        assert!(is_builtin("superadmin"));
        assert!(is_builtin("PUBLIC"));
        assert!(!is_builtin("MEMBER"));
    }
}
