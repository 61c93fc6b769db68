//! Explanations for the API and the dashboard: why a member is (not)
//! IsMember, and where each of its communities stands on a day.

use std::cmp::Reverse;
use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;

use super::principal::lasting;
use crate::community::{Membership, Term};
use crate::group::IsMemberGroups;
use crate::keys::{CommunityKey, GroupKey};
use crate::record::MemberRecord;

/// Says in a sentence why a member counts as `IsMember` or not, with the
/// same rule [`super::Principal::from_record`] applies
/// ([`crate::group::is_member`]): an accepted AMS group designated "counts
/// as IsMember" (compared case-insensitively).
pub fn explain_is_member(record: &MemberRecord, is_member_groups: &[GroupKey]) -> String {
    if !record.is_active() {
        return format!("not IsMember: member {} is disabled", record.key());
    }
    let designated = IsMemberGroups::new(is_member_groups);
    let because: Vec<&str> =
        record.ams_groups.iter().map(|g| g.key.as_str()).filter(|g| designated.counts(g)).collect();
    // The groups named are exactly those the rule counts.
    debug_assert_eq!(!because.is_empty(), record.is_member(&designated));
    let list = |keys: &mut dyn Iterator<Item = &str>| keys.collect::<Vec<_>>().join(", ");
    match because.as_slice() {
        [one] => format!("IsMember because of AMS group {one}"),
        [_, ..] => format!("IsMember because of AMS groups {}", because.join(", ")),
        [] if is_member_groups.is_empty() => {
            "not IsMember: no AMS group is designated \"counts as IsMember\"".to_string()
        }
        [] => {
            let designated = list(&mut is_member_groups.iter().map(GroupKey::as_str));
            if record.ams_groups.is_empty() {
                format!("not IsMember: the member has no AMS group (designated: {designated})")
            } else {
                let held = list(&mut record.ams_groups.iter().map(|g| g.key.as_str()));
                format!("not IsMember: none of its AMS groups ({held}) counts as IsMember (designated: {designated})")
            }
        }
    }
}

/// Where one community stands for a member on a day, told by the membership
/// that matters: the current one lasting longest, else the next to begin,
/// else the last that ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommunityTerm {
    pub community: CommunityKey,
    pub name: Option<String>,
    pub term: Term,
    pub begin: NaiveDate,
    pub end: Option<NaiveDate>,
    pub role: Option<String>,
}

/// `CH-NYC: current until 2026-12-31 as Chair`, `SIG-AI: begins 2027-01-01`,
/// `CH-BOS: ended 2026-03-31`.
impl fmt::Display for CommunityTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.community)?;
        match (self.term, self.end) {
            (Term::Current, Some(end)) => write!(f, "current until {end}")?,
            (Term::Current, None) => f.write_str("current (open-ended)")?,
            (Term::Future, _) => write!(f, "begins {}", self.begin)?,
            (Term::Past, Some(end)) => write!(f, "ended {end}")?,
            (Term::Past, None) => f.write_str("ended")?,
        }
        match &self.role {
            Some(role) => write!(f, " as {role}"),
            None => Ok(()),
        }
    }
}

/// One entry per community the member has a (visible) membership of, by
/// community key. The terms hold whatever the member's status; a disabled
/// member is nonetheless decided as a signed-out visitor.
pub fn access_summary(record: &MemberRecord, day: NaiveDate) -> Vec<CommunityTerm> {
    let mut by_community: Vec<&Membership> = record.memberships.iter().collect();
    by_community.sort_by(|a, b| a.community.key.cmp(&b.community.key).then(a.begin.cmp(&b.begin)));
    // The current membership lasting longest, else the next to begin, else
    // the last that ended (for past ones, `lasting` orders by end).
    let tells = |m: &Membership| {
        let term = m.term(day);
        let first = match term {
            Term::Current => 2,
            Term::Future => 1,
            Term::Past => 0,
        };
        let future_begin = (term == Term::Future).then_some(Reverse(m.begin));
        (first, future_begin, lasting(m))
    };
    let mut out: Vec<CommunityTerm> = Vec::new();
    for group in by_community.chunk_by(|a, b| a.community.key == b.community.key) {
        let best = group.iter().copied().max_by_key(|m| tells(m)).expect("chunks are not empty");
        out.push(CommunityTerm {
            community: best.community.key.clone(),
            name: best.community.name.clone(),
            term: best.term(day),
            begin: best.begin,
            end: best.end,
            role: best.role.clone(),
        });
    }
    out
}
