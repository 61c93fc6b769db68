//! What the API and the dashboard show beside decisions: why a member is
//! (not) IsMember, where each of its communities stands on a day, and the
//! groups its principal carries.

use amsync_core::access::{access_summary, explain_is_member, Principal};
use amsync_core::community::{Community, Membership, Term};
use amsync_core::group::SecurityGroupRef;
use amsync_core::keys::{CommunityKey, GroupKey, MemberKey};
use amsync_core::member::MemberDetails;
use amsync_core::record::{DisabledReason, MemberRecord, MemberStatus};
use chrono::NaiveDate;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn g(k: &str) -> GroupKey {
    GroupKey::parse(k).unwrap()
}

fn membership(key: &str, begin: &str, end: Option<&str>, role: Option<&str>) -> Membership {
    Membership {
        community: Community {
            key: CommunityKey::parse(key).unwrap(),
            name: Some(format!("{key} name")),
            community_type: None,
            group_type: None,
            group_subtype: None,
        },
        begin: day(begin),
        end: end.map(day),
        role: role.map(String::from),
    }
}

fn record(memberships: Vec<Membership>, ams: &[&str], local: &[&str]) -> MemberRecord {
    MemberRecord {
        details: MemberDetails::empty(MemberKey::parse("M1").unwrap()),
        status: MemberStatus::Active,
        disabled_reason: None,
        merged_into: None,
        memberships,
        ams_groups: ams.iter().map(|k| SecurityGroupRef { key: g(k), name: None }).collect(),
        local_groups: local.iter().map(|k| g(k)).collect(),
    }
}

#[test]
fn explains_is_member() {
    let designated = [g("MEMBER"), g("STUDENT")];
    let cases: &[(MemberRecord, &[GroupKey], &str)] = &[
        (record(vec![], &["MEMBER", "STAFF"], &[]), &designated, "IsMember because of AMS group MEMBER"),
        (record(vec![], &["member"], &[]), &designated, "IsMember because of AMS group member"),
        (record(vec![], &["MEMBER", "STUDENT"], &[]), &designated, "IsMember because of AMS groups MEMBER, STUDENT"),
        (
            record(vec![], &["STAFF"], &[]),
            &designated,
            "not IsMember: none of its AMS groups (STAFF) counts as IsMember (designated: MEMBER, STUDENT)",
        ),
        (
            record(vec![], &[], &[]),
            &designated,
            "not IsMember: the member has no AMS group (designated: MEMBER, STUDENT)",
        ),
        (record(vec![], &["MEMBER"], &[]), &[], "not IsMember: no AMS group is designated \"counts as IsMember\""),
        (
            MemberRecord {
                status: MemberStatus::Disabled,
                disabled_reason: Some(DisabledReason::Admin),
                ..record(vec![], &["MEMBER"], &[])
            },
            &designated,
            "not IsMember: member M1 is disabled",
        ),
    ];
    for (rec, designations, want) in cases {
        assert_eq!(explain_is_member(rec, designations), *want);
        let principal = Principal::from_record(rec, designations);
        let is_member = principal.active_member().is_some_and(|m| m.is_member());
        assert_eq!(is_member, want.starts_with("IsMember"), "the principal agrees: {want}");
    }
}

#[test]
fn summarises_each_community_by_the_membership_that_matters() {
    let rec = record(
        vec![
            membership("CH-NYC", "2026-01-01", Some("2026-12-31"), Some("Chair")),
            membership("CH-NYC", "2025-01-01", Some("2025-12-31"), Some("Member")),
            membership("SIG-AI", "2025-01-01", None, Some("Member")),
            membership("CH-BOS", "2025-01-01", Some("2026-03-31"), None),
            membership("CH-BOS", "2024-01-01", Some("2024-12-31"), None),
            membership("CH-SF", "2027-06-01", None, Some("Member")),
            membership("CH-SF", "2027-01-01", Some("2027-03-31"), Some("Member")),
            membership("CH-SF", "2020-01-01", Some("2020-12-31"), Some("Member")),
        ],
        &[],
        &[],
    );
    let summary = access_summary(&rec, day("2026-06-15"));
    let lines: Vec<String> = summary.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "CH-BOS: ended 2026-03-31",
            "CH-NYC: current until 2026-12-31 as Chair",
            "CH-SF: begins 2027-01-01 as Member",
            "SIG-AI: current (open-ended) as Member",
        ]
    );
    assert_eq!(
        summary.iter().map(|t| t.term).collect::<Vec<_>>(),
        [Term::Past, Term::Current, Term::Future, Term::Current]
    );
    assert_eq!(summary[1].name.as_deref(), Some("CH-NYC name"));
    let json = serde_json::to_value(&summary[1]).unwrap();
    assert_eq!(json["term"], "current");
    assert_eq!(json["end"], "2026-12-31");
    // On the day the next one begins, it is current: no refresh in between.
    assert_eq!(access_summary(&rec, day("2027-01-01"))[2].to_string(), "CH-SF: current until 2027-03-31 as Member");
}

#[test]
fn a_principal_carries_public_and_its_effective_groups() {
    let rec = record(vec![], &["MEMBER", "STAFF", "SuperAdmin"], &["EDITORS", "superadmin"]);
    let p = Principal::from_record(&rec, &[g("MEMBER")]);
    let m = p.active_member().unwrap();
    assert_eq!(m.groups().to_string(), "Authenticated, EDITORS, IsMember, MEMBER, Public, STAFF, SuperAdmin");
    assert!(p.is_super_admin(), "from the local group, spelled in any case, named as the built-in");
    assert_eq!(p.member_key().map(|k| k.as_str()), Some("M1"));

    // The AMS's SuperAdmin alone grants nothing.
    let rogue = Principal::from_record(&record(vec![], &["SuperAdmin", "IsMember"], &[]), &[g("IsMember")]);
    assert!(!rogue.is_super_admin());
    assert_eq!(rogue.active_member().unwrap().groups().to_string(), "Authenticated, Public");

    // Disabled: no groups, decided as a visitor; the record's local groups are untouched.
    let mut disabled = rec.clone();
    disabled.status = MemberStatus::Disabled;
    let p = Principal::from_record(&disabled, &[g("MEMBER")]);
    assert!(p.active_member().is_none() && !p.is_super_admin());
    assert_eq!(p.member_key().map(|k| k.as_str()), Some("M1"));
    assert_eq!(disabled.local_groups, rec.local_groups);
    assert!(Principal::public().member_key().is_none());
}
