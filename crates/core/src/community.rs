//! Communities and memberships (GetMemberCommunities).
//!
//! A membership is identified by (community key, begin): a renewal is a new
//! membership. Whether it is *current* is computed for a given day and never
//! stored, so a membership that starts next month grants access on its first
//! day without any refresh.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Part};
use crate::keys::{CommunityKey, MemberKey};
use crate::member::{check_len, MAX_SHORT_TEXT};

/// Most memberships one member may have in one answer.
pub const MAX_MEMBERSHIPS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Community {
    pub key: CommunityKey,
    #[serde(default)]
    pub name: Option<String>,
    /// The Community Type (`Chapter`, `Special Interest Group`, …).
    #[serde(rename = "type", default)]
    pub community_type: Option<String>,
    #[serde(default)]
    pub group_type: Option<String>,
    #[serde(default)]
    pub group_subtype: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Membership {
    pub community: Community,
    pub begin: NaiveDate,
    /// `None` is open-ended.
    #[serde(default)]
    pub end: Option<NaiveDate>,
    #[serde(default)]
    pub role: Option<String>,
}

/// Where a membership stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Term {
    Past,
    Current,
    Future,
}

impl Membership {
    /// Current on `day` when `begin <= day` and (`end` is none or `day <= end`).
    pub fn is_current(&self, day: NaiveDate) -> bool {
        self.begin <= day && self.end.is_none_or(|end| day <= end)
    }

    pub fn term(&self, day: NaiveDate) -> Term {
        if day < self.begin {
            Term::Future
        } else if self.end.is_some_and(|end| day > end) {
            Term::Past
        } else {
            Term::Current
        }
    }

    /// The identity of a membership within a member.
    pub fn id(&self) -> (&CommunityKey, NaiveDate) {
        (&self.community.key, self.begin)
    }
}

/// "Today" for membership terms: the date of `now` in the communities' time zone.
pub fn today(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// The complete set of a member's memberships as one AMS answer gives it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MembershipList {
    #[serde(default)]
    pub memberships: Vec<Membership>,
}

/// Brings "no value" to one form and sorts memberships by identity, so equal
/// sets compare (and hash) equal whatever order the AMS sent them in.
pub fn normalize_memberships(list: &mut [Membership]) {
    for m in list.iter_mut() {
        for f in [
            &mut m.community.name,
            &mut m.community.community_type,
            &mut m.community.group_type,
            &mut m.community.group_subtype,
            &mut m.role,
        ] {
            if f.as_deref().is_some_and(str::is_empty) {
                *f = None;
            }
        }
    }
    list.sort_by(|a, b| a.community.key.cmp(&b.community.key).then(a.begin.cmp(&b.begin)));
}

/// Checks a (normalized, sorted) membership list against the contract.
pub fn validate_memberships(member: &MemberKey, list: &[Membership]) -> Result<(), DataError> {
    let err = |field: String, msg: String| DataError::new(member.as_str(), Part::Communities, field, msg);
    if list.len() > MAX_MEMBERSHIPS {
        return Err(err("/memberships".into(), format!("{} memberships, at most {MAX_MEMBERSHIPS}", list.len())));
    }
    for (i, m) in list.iter().enumerate() {
        if let Some(end) = m.end {
            if end < m.begin {
                return Err(err(
                    format!("/memberships/{i}/end"),
                    format!("membership of {} ends {end}, before it begins {}", m.community.key, m.begin),
                ));
            }
        }
        for (name, v) in [
            ("community/name", &m.community.name),
            ("community/type", &m.community.community_type),
            ("community/group_type", &m.community.group_type),
            ("community/group_subtype", &m.community.group_subtype),
            ("role", &m.role),
        ] {
            check_len(v.as_deref(), MAX_SHORT_TEXT).map_err(|msg| err(format!("/memberships/{i}/{name}"), msg))?;
        }
        if i > 0 && list[i - 1].id() == m.id() {
            return Err(err(
                format!("/memberships/{i}"),
                format!("two memberships of {} beginning {}", m.community.key, m.begin),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn m(begin: &str, end: Option<&str>) -> Membership {
        Membership {
            community: Community {
                key: CommunityKey::parse("CH-NYC").unwrap(),
                name: None,
                community_type: None,
                group_type: None,
                group_subtype: None,
            },
            begin: d(begin),
            end: end.map(d),
            role: None,
        }
    }

    #[test]
    fn current_is_inclusive_on_both_ends() {
        let x = m("2026-01-01", Some("2026-12-31"));
        assert!(!x.is_current(d("2025-12-31")));
        assert!(x.is_current(d("2026-01-01")));
        assert!(x.is_current(d("2026-12-31")));
        assert!(!x.is_current(d("2027-01-01")));
        assert_eq!(x.term(d("2027-01-01")), Term::Past);
        assert_eq!(x.term(d("2025-01-01")), Term::Future);
    }

    #[test]
    fn open_end_is_current_forever() {
        assert!(m("2026-01-01", None).is_current(d("2999-01-01")));
    }

    #[test]
    fn today_follows_the_time_zone() {
        let now: DateTime<Utc> = "2026-12-01T03:00:00Z".parse().unwrap();
        assert_eq!(today(now, chrono_tz::UTC), d("2026-12-01"));
        assert_eq!(today(now, chrono_tz::America::New_York), d("2026-11-30"));
    }

    #[test]
    fn duplicate_identity_and_reversed_terms_are_refused() {
        let key = MemberKey::parse("M1").unwrap();
        let mut list = vec![m("2026-01-01", None), m("2026-01-01", Some("2026-02-01"))];
        normalize_memberships(&mut list);
        assert!(validate_memberships(&key, &list).is_err());
        let list = vec![m("2026-02-01", Some("2026-01-01"))];
        assert_eq!(validate_memberships(&key, &list).unwrap_err().field, "/memberships/0/end");
    }
}
