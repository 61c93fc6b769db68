//! `[communities]` and `[security_groups]`: which communities come over,
//! in which time zone "current" is judged, and the security groups the file
//! seeds.
//!
//! Rules, IsMember designations and local groups are *seeds*: they are
//! written to the database on first start; afterwards the database,
//! changed through the API, is authoritative and `amsync check` reports
//! where the file differs.

use std::collections::HashSet;

use amsync_core::group;
use amsync_core::rules::{CommunityRule, RuleSet};
use amsync_core::GroupKey;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::Problems;
use crate::values::text;

/// `[communities]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommunitiesConfig {
    /// The IANA zone whose "today" decides whether a membership is current.
    #[serde(with = "text")]
    pub timezone: Tz,
    /// First match wins; a community no rule matches is included.
    pub rules: Vec<CommunityRule>,
}

impl Default for CommunitiesConfig {
    fn default() -> Self {
        CommunitiesConfig { timezone: Tz::UTC, rules: Vec::new() }
    }
}

impl CommunitiesConfig {
    pub fn rule_set(&self) -> RuleSet {
        RuleSet::new(self.rules.clone())
    }
}

/// `[security_groups]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityGroupsConfig {
    /// AMS group keys that count as IsMember.
    pub is_member: Vec<GroupKey>,
    /// Local groups to create (SuperAdmin is built in and needs no entry).
    pub local: Vec<LocalGroup>,
}

/// A local group: an admin sets its members; a refresh never touches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalGroup {
    pub key: GroupKey,
    pub name: String,
}

impl SecurityGroupsConfig {
    pub(crate) fn check(&self, p: &mut Problems) {
        let mut seen = HashSet::new();
        for (i, key) in self.is_member.iter().enumerate() {
            let at = format!("security_groups.is_member[{i}]");
            if group::is_builtin(key.as_str()) {
                p.add(&at, format!("{key:?} is a built-in group; only AMS groups can count as IsMember"));
            }
            if !seen.insert(key.folded()) {
                p.add(&at, format!("{key:?} is listed twice"));
            }
        }
        let designated: HashSet<String> = self.is_member.iter().map(GroupKey::folded).collect();
        let mut locals = HashSet::new();
        for (i, g) in self.local.iter().enumerate() {
            let at = format!("security_groups.local[{i}]");
            if group::is_builtin(g.key.as_str()) {
                p.add(format!("{at}.key"), format!("{:?} is a built-in group", g.key));
            }
            if designated.contains(&g.key.folded()) {
                p.add(format!("{at}.key"), format!("{:?} is listed in is_member, which is for AMS groups", g.key));
            }
            if !locals.insert(g.key.folded()) {
                p.add(format!("{at}.key"), format!("{:?} is listed twice (keys compare case-insensitively)", g.key));
            }
            if g.name.trim().is_empty() {
                p.add(format!("{at}.name"), "must not be empty");
            }
        }
    }
}
