//! Security groups: built-in, AMS-managed and local.
//!
//! Built-in groups are `Public`, `Authenticated`, `IsMember` (an aggregate)
//! and `SuperAdmin` (whose members an admin sets, like a local group's).
//! AMS-managed groups appear when first seen. Local groups are created by an
//! admin and never touched by a refresh.

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

    #[test]
    fn builtin_is_case_insensitive() {
        assert!(is_builtin("superadmin"));
        assert!(is_builtin("PUBLIC"));
        assert!(!is_builtin("MEMBER"));
    }
}
