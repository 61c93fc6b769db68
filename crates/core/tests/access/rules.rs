//! The access rules of product.md jobs 5-7, one row per rule.
//!
//! Each row: the rule in words, who asks, about what, the site's
//! configuration, the day, and the expected answer (allowed, and a part of
//! the reason an admin reads).

use std::collections::HashSet;

use amsync_core::access::{answer, decide, AccessPolicy, AccessPolicyBuilder, ContentId, Principal, Resource};
use amsync_core::community::{Community, Membership};
use amsync_core::diff::{plan_fetched, FetchedMember};
use amsync_core::event::EventStatus;
use amsync_core::group::SecurityGroupRef;
use amsync_core::keys::{CommunityKey, EventKey, GroupKey, MemberKey};
use amsync_core::member::{AmsStatus, MemberDetails};
use amsync_core::record::{DisabledReason, MemberRecord, MemberStatus};
use amsync_core::rules::{CommunityRule, RuleAction, RuleSet};
use chrono::NaiveDate;

// ---- the people -------------------------------------------------------------

fn day(s: &str) -> NaiveDate {
    s.parse().expect("a test date")
}

fn g(k: &str) -> GroupKey {
    GroupKey::parse(k).unwrap()
}

fn c(k: &str) -> CommunityKey {
    CommunityKey::parse(k).unwrap()
}

fn community(key: &str, group_type: &str) -> Community {
    Community {
        key: c(key),
        name: Some(format!("{key} community")),
        community_type: Some(group_type.into()),
        group_type: Some(group_type.into()),
        group_subtype: None,
    }
}

fn membership(key: &str, group_type: &str, begin: &str, end: Option<&str>, role: &str) -> Membership {
    Membership { community: community(key, group_type), begin: day(begin), end: end.map(day), role: Some(role.into()) }
}

fn record(key: &str, memberships: Vec<Membership>, ams: &[&str], local: &[&str]) -> MemberRecord {
    MemberRecord {
        details: MemberDetails::empty(MemberKey::parse(key).unwrap()),
        status: MemberStatus::Active,
        disabled_reason: None,
        merged_into: None,
        memberships,
        ams_groups: ams.iter().map(|k| SecurityGroupRef { key: g(k), name: None }).collect(),
        local_groups: local.iter().map(|k| g(k)).collect(),
    }
}

/// The site's "counts as IsMember" designations.
fn designations() -> Vec<GroupKey> {
    vec![g("MEMBER")]
}

fn principal(r: &MemberRecord) -> Principal {
    Principal::from_record(r, &designations())
}

fn chair_record() -> MemberRecord {
    record(
        "M1",
        vec![
            membership("CH-NYC", "Chapter", "2026-01-01", Some("2026-12-31"), "Chair"),
            membership("SIG-AI", "SIG", "2025-01-01", None, "Member"),
            membership("CH-BOS", "Chapter", "2025-01-01", Some("2026-03-31"), "Member"),
            membership("CH-SF", "Chapter", "2027-01-01", None, "Member"),
        ],
        &["MEMBER"],
        &[],
    )
}

fn disable(mut r: MemberRecord) -> MemberRecord {
    r.status = MemberStatus::Disabled;
    r.disabled_reason = Some(DisabledReason::AmsStatus);
    r
}

fn visitor() -> Principal {
    Principal::public()
}
/// M1: chairs CH-NYC in 2026, SIG-AI open-ended, CH-BOS ended 2026-03-31,
/// CH-SF from 2027-01-01; AMS group MEMBER (counts as IsMember).
fn chair() -> Principal {
    principal(&chair_record())
}
/// M2: AMS group STAFF, no membership.
fn staff() -> Principal {
    principal(&record("M2", vec![], &["STAFF"], &[]))
}
/// M3: in the local group SuperAdmin, no membership.
fn admin() -> Principal {
    principal(&record("M3", vec![], &[], &["SuperAdmin"]))
}
/// M3 with the key spelled in another case.
fn admin_lowercase() -> Principal {
    principal(&record("M3", vec![], &[], &["superadmin"]))
}
/// M4: signed in, no group but the built-in ones, no membership.
fn plain() -> Principal {
    principal(&record("M4", vec![], &[], &[]))
}
/// M5: an AMS group that is not designated "counts as IsMember".
fn volunteer() -> Principal {
    principal(&record("M5", vec![], &["VOLUNTEER"], &[]))
}
/// M6: in the local group EDITORS.
fn editor() -> Principal {
    principal(&record("M6", vec![], &[], &["EDITORS"]))
}
/// M1, disabled by the AMS (its data is kept).
fn disabled_chair() -> Principal {
    principal(&disable(chair_record()))
}
/// M3, disabled: still in SuperAdmin locally.
fn disabled_admin() -> Principal {
    principal(&disable(record("M3", vec![], &[], &["SuperAdmin"])))
}
/// M7: renewed CH-NYC after a gap in January 2026.
fn renewer() -> Principal {
    principal(&record(
        "M7",
        vec![
            membership("CH-NYC", "Chapter", "2026-02-01", None, "Member"),
            membership("CH-NYC", "Chapter", "2025-01-01", Some("2025-12-31"), "Member"),
        ],
        &[],
        &[],
    ))
}
/// M10: a renewal that overlaps the membership it renews.
fn overlapper() -> Principal {
    principal(&record(
        "M10",
        vec![
            membership("CH-NYC", "Chapter", "2025-06-01", Some("2026-06-30"), "Member"),
            membership("CH-NYC", "Chapter", "2026-06-01", None, "Chair"),
        ],
        &[],
        &[],
    ))
}
/// M8: a record that slipped past the refresh's screening with AMS groups
/// named like built-in ones.
fn rogue() -> Principal {
    principal(&record("M8", vec![], &["SuperAdmin", "IsMember", "Public"], &[]))
}

/// M9 as a refresh makes it: the AMS lists a committee (excluded by the
/// rules) and a chapter, and AMS groups that collide with local ones.
fn refreshed(old: Option<&MemberRecord>, status: AmsStatus) -> MemberRecord {
    let mut details = MemberDetails::empty(MemberKey::parse("M9").unwrap());
    details.status = status;
    let fetched = FetchedMember {
        details,
        memberships: vec![
            membership("CMT-AUDIT", "Committee", "2025-01-01", None, "Member"),
            membership("CH-NYC", "Chapter", "2025-01-01", None, "Member"),
        ],
        groups: vec![
            SecurityGroupRef { key: g("editors"), name: None },
            SecurityGroupRef { key: g("MEMBER"), name: None },
        ],
    };
    let rules = RuleSet::new(vec![CommunityRule {
        action: RuleAction::Exclude,
        group_type: Some("Committee".into()),
        group_subtype: Some("*".into()),
    }]);
    let local: HashSet<String> = ["editors".to_string(), "superadmin".to_string()].into();
    plan_fetched(old, fetched, &rules, &local).new
}
fn committee_member() -> Principal {
    principal(&refreshed(None, AmsStatus::Active))
}
/// M9, disabled while in SuperAdmin, then active again at the AMS.
fn reenabled_admin() -> Principal {
    let mut old = refreshed(None, AmsStatus::Disabled);
    old.local_groups = vec![g("SuperAdmin")];
    principal(&refreshed(Some(&old), AmsStatus::Active))
}

// ---- the site ---------------------------------------------------------------

fn site() -> AccessPolicyBuilder {
    let content =
        |id: &str, groups: &[&str]| (ContentId::parse(id).unwrap(), groups.iter().map(|k| g(k)).collect::<Vec<_>>());
    let ev = |k: &str| EventKey::parse(k).unwrap();
    let mut b = AccessPolicy::builder();
    for (key, t) in [
        ("CH-NYC", "Chapter"),
        ("SIG-AI", "SIG"),
        ("CH-BOS", "Chapter"),
        ("CH-SF", "Chapter"),
        ("CH-LA", "Chapter"),
        ("CMT-AUDIT", "Committee"),
    ] {
        b = b.community(community(key, t));
    }
    for (id, groups) in [
        content("home-banner", &["Authenticated"]),
        content("news", &["Public"]),
        content("members-only", &["IsMember"]),
        content("board-minutes", &["BOARD", "STAFF"]),
        content("draft", &[]),
    ] {
        b = b.content(id, groups);
    }
    b.grant(c("CH-NYC"), g("STAFF"))
        .grant(c("SIG-AI"), g("EDITORS"))
        .event(ev("EV-OPEN"), None, EventStatus::Scheduled)
        .event(ev("EV-OPEN-X"), None, EventStatus::Cancelled)
        .event(ev("EV-NYC"), Some(c("CH-NYC")), EventStatus::Scheduled)
        .event(ev("EV-NYC-X"), Some(c("CH-NYC")), EventStatus::Cancelled)
        .event(ev("EV-GONE"), Some(c("CH-GONE")), EventStatus::Scheduled)
}

type Site = fn(AccessPolicyBuilder) -> AccessPolicyBuilder;

fn as_is(b: AccessPolicyBuilder) -> AccessPolicyBuilder {
    b
}
fn public_granted_nyc(b: AccessPolicyBuilder) -> AccessPolicyBuilder {
    b.grant(c("CH-NYC"), g("Public"))
}
fn authenticated_granted_nyc(b: AccessPolicyBuilder) -> AccessPolicyBuilder {
    b.grant(c("CH-NYC"), g("Authenticated"))
}
fn is_member_granted_la(b: AccessPolicyBuilder) -> AccessPolicyBuilder {
    b.grant(c("CH-LA"), g("IsMember"))
}
fn lowercase_grant_la(b: AccessPolicyBuilder) -> AccessPolicyBuilder {
    b.grant(c("CH-LA"), g("staff"))
}
fn grant_to_unknown(b: AccessPolicyBuilder) -> AccessPolicyBuilder {
    b.grant(c("CH-GHOST"), g("Public"))
}

// ---- the rules --------------------------------------------------------------

const ALLOW: bool = true;
const DENY: bool = false;

type Row = (&'static str, fn() -> Principal, &'static str, Site, &'static str, bool, &'static str);

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // Job 5: a membership is current on D when begin <= D and (end is null or D <= end).
    ("a current membership opens the library", chair, "library:CH-NYC", as_is, "2026-06-01", ALLOW, "current member of CH-NYC until 2026-12-31 as Chair"),
    ("an open-ended membership is current", chair, "discussion:SIG-AI", as_is, "2031-06-01", ALLOW, "current member of SIG-AI (open-ended) as Member"),
    ("the begin day is current", chair, "microsite:CH-NYC", as_is, "2026-01-01", ALLOW, "current member of CH-NYC"),
    ("the end day is current", chair, "microsite:CH-NYC", as_is, "2026-12-31", ALLOW, "current member of CH-NYC"),
    ("the day after the end is not", chair, "library:CH-NYC", as_is, "2027-01-01", DENY, "membership of CH-NYC ended 2026-12-31"),
    ("an ended membership grants nothing", chair, "library:CH-BOS", as_is, "2026-06-01", DENY, "membership of CH-BOS ended 2026-03-31"),
    ("a membership starting next month grants nothing today", chair, "library:CH-SF", as_is, "2026-12-31", DENY, "membership of CH-SF begins 2027-01-01"),
    ("... and grants access on its first day, without a refresh", chair, "library:CH-SF", as_is, "2027-01-01", ALLOW, "current member of CH-SF (open-ended) as Member"),
    ("a renewal is a new membership: the gap is told", renewer, "library:CH-NYC", as_is, "2026-01-15", DENY, "membership of CH-NYC ended 2025-12-31; the next begins 2026-02-01"),
    ("... and the renewal opens it", renewer, "library:CH-NYC", as_is, "2026-02-01", ALLOW, "current member of CH-NYC (open-ended) as Member"),
    ("of overlapping current memberships, the one lasting longest is told", overlapper, "library:CH-NYC", as_is, "2026-06-15", ALLOW, "current member of CH-NYC (open-ended) as Chair"),
    ("a community the rules exclude is hidden", committee_member, "library:CMT-AUDIT", as_is, "2026-06-01", DENY, "not a member of CMT-AUDIT"),
    ("... while the ones they include come over", committee_member, "library:CH-NYC", as_is, "2026-06-01", ALLOW, "current member of CH-NYC (open-ended)"),
    // Job 6: security groups.
    ("a signed-out visitor gets only what Public gets", visitor, "library:CH-NYC", as_is, "2026-06-01", DENY, "not signed in, and Public is not granted access to CH-NYC"),
    ("Public may be granted a community deliberately", visitor, "library:CH-NYC", public_granted_nyc, "2026-06-01", ALLOW, "group Public is granted access to CH-NYC"),
    ("Authenticated may be granted a community deliberately", plain, "library:CH-NYC", authenticated_granted_nyc, "2026-06-01", ALLOW, "group Authenticated is granted access to CH-NYC"),
    ("... and Authenticated is not Public", visitor, "library:CH-NYC", authenticated_granted_nyc, "2026-06-01", DENY, "not signed in"),
    ("an AMS group designated counts-as-IsMember makes IsMember", chair, "content:members-only", as_is, "2026-06-01", ALLOW, "content item members-only allows IsMember"),
    ("... and IsMember may be granted a community", chair, "library:CH-LA", is_member_granted_la, "2026-06-01", ALLOW, "group IsMember is granted access to CH-LA"),
    ("an undesignated AMS group does not make IsMember", volunteer, "content:members-only", as_is, "2026-06-01", DENY, "content item members-only allows only IsMember, and the member is in none of them"),
    ("an AMS-managed group granted a community", staff, "library:CH-NYC", as_is, "2026-06-01", ALLOW, "group STAFF is granted access to CH-NYC"),
    ("group keys compare case-insensitively", staff, "discussion:CH-LA", lowercase_grant_la, "2026-06-01", ALLOW, "group staff is granted access to CH-LA"),
    ("a local group granted a community", editor, "microsite:SIG-AI", as_is, "2026-06-01", ALLOW, "group EDITORS is granted access to SIG-AI"),
    ("an AMS group with a built-in key is never a privilege", rogue, "library:CH-NYC", as_is, "2026-06-01", DENY, "not a member of CH-NYC"),
    ("... nor makes IsMember", rogue, "content:members-only", as_is, "2026-06-01", DENY, "allows only IsMember"),
    ("an AMS group with a local group's key is dropped at refresh", committee_member, "library:SIG-AI", as_is, "2026-06-01", DENY, "not a member of SIG-AI"),
    ("... while the rest of the groups apply", committee_member, "content:members-only", as_is, "2026-06-01", ALLOW, "content item members-only allows IsMember"),
    ("a disabled member is decided as Public", disabled_chair, "library:CH-NYC", as_is, "2026-06-01", DENY, "member M1 is disabled; decided as a signed-out visitor; Public is not granted access to CH-NYC"),
    ("... and gets what Public gets", disabled_chair, "content:news", as_is, "2026-06-01", ALLOW, "member M1 is disabled; decided as a signed-out visitor; content item news allows Public"),
    ("... and what Public was granted", disabled_chair, "library:CH-NYC", public_granted_nyc, "2026-06-01", ALLOW, "decided as a signed-out visitor; group Public is granted access to CH-NYC"),
    ("a disabled SuperAdmin is decided as Public", disabled_admin, "content:board-minutes", as_is, "2026-06-01", DENY, "member M3 is disabled; decided as a signed-out visitor; content item board-minutes allows only BOARD, STAFF"),
    ("local memberships are kept while disabled, and apply when enabled again", reenabled_admin, "content:draft", as_is, "2026-06-01", ALLOW, "SuperAdmin is allowed everything"),
    // Job 7: access decisions.
    ("SuperAdmin is allowed a community it is not a member of", admin, "library:CH-NYC", as_is, "2026-06-01", ALLOW, "SuperAdmin is allowed everything"),
    ("SuperAdmin is allowed any content item", admin, "content:draft", as_is, "2026-06-01", ALLOW, "SuperAdmin is allowed everything"),
    ("SuperAdmin is allowed a limited event", admin, "event:EV-NYC", as_is, "2026-06-01", ALLOW, "event EV-NYC is limited to members of CH-NYC; SuperAdmin is allowed everything"),
    ("SuperAdmin's key in any case", admin_lowercase, "discussion:CH-BOS", as_is, "2026-06-01", ALLOW, "SuperAdmin is allowed everything"),
    ("a member with no membership and no grant", chair, "library:CH-LA", as_is, "2026-06-01", DENY, "not a member of CH-LA, and none of the member's groups is granted access to it"),
    ("content lists the groups that see it", plain, "content:home-banner", as_is, "2026-06-01", ALLOW, "content item home-banner allows Authenticated"),
    ("content may list Public", visitor, "content:news", as_is, "2026-06-01", ALLOW, "content item news allows Public"),
    ("content a visitor may not see", visitor, "content:home-banner", as_is, "2026-06-01", DENY, "not signed in, and content item home-banner allows only Authenticated"),
    ("content that lists no group", plain, "content:draft", as_is, "2026-06-01", DENY, "content item draft allows no security group"),
    ("content that lists several groups", staff, "content:board-minutes", as_is, "2026-06-01", ALLOW, "content item board-minutes allows STAFF"),
    ("an open event is visible to Public", visitor, "event:EV-OPEN", as_is, "2026-06-01", ALLOW, "event EV-OPEN is open to everyone"),
    ("a limited event is visible to current members on the day", chair, "event:EV-NYC", as_is, "2026-06-01", ALLOW, "event EV-NYC is limited to members of CH-NYC; current member of CH-NYC until 2026-12-31 as Chair"),
    ("... and not once the membership ended", chair, "event:EV-NYC", as_is, "2027-02-01", DENY, "event EV-NYC is limited to members of CH-NYC; membership of CH-NYC ended 2026-12-31"),
    ("... and to the groups granted that community", staff, "event:EV-NYC", as_is, "2026-06-01", ALLOW, "group STAFF is granted access to CH-NYC"),
    ("... and not to a visitor", visitor, "event:EV-NYC", as_is, "2026-06-01", DENY, "event EV-NYC is limited to members of CH-NYC; not signed in, and Public is not granted access to CH-NYC"),
    ("a cancelled open event stays visible as cancelled", visitor, "event:EV-OPEN-X", as_is, "2026-06-01", ALLOW, "event EV-OPEN-X is cancelled (it stays visible as cancelled) and open to everyone"),
    ("a cancelled limited event stays visible to its members", chair, "event:EV-NYC-X", as_is, "2026-06-01", ALLOW, "event EV-NYC-X is cancelled (it stays visible as cancelled) and limited to members of CH-NYC; current member of CH-NYC"),
    ("... and hidden from others, as when scheduled", visitor, "event:EV-NYC-X", as_is, "2026-06-01", DENY, "event EV-NYC-X is cancelled (it stays visible as cancelled) and limited to members of CH-NYC; not signed in"),
    ("an event limited to a community the site does not know", chair, "event:EV-GONE", as_is, "2026-06-01", DENY, "event EV-GONE is limited to members of CH-GONE; not a member of CH-GONE"),
    ("an unknown community", chair, "library:CH-XYZ", as_is, "2026-06-01", DENY, "no community CH-XYZ is known"),
    ("an unknown community, even for SuperAdmin", admin, "microsite:CH-XYZ", as_is, "2026-06-01", DENY, "no community CH-XYZ is known"),
    ("a grant does not make a community known", visitor, "library:CH-GHOST", grant_to_unknown, "2026-06-01", DENY, "no community CH-GHOST is known"),
    ("an unknown content item", admin, "content:nope", as_is, "2026-06-01", DENY, "no content item nope is known"),
    ("an unknown event", visitor, "event:EV-NOPE", as_is, "2026-06-01", DENY, "no event EV-NOPE is known"),
    ("an unknown kind of resource", admin, "foo:bar", as_is, "2026-06-01", DENY, "unknown resource \"foo:bar\": \"foo\" is not a kind of resource"),
    ("a resource without a kind", visitor, "CH-NYC", as_is, "2026-06-01", DENY, "unknown resource \"CH-NYC\": a resource is written kind:ID"),
    ("a resource whose ID is not a key", disabled_chair, "library:", as_is, "2026-06-01", DENY, "unknown resource \"library:\": the ID of a library is not a valid key: key is empty"),
];

#[test]
fn access_rules() {
    let mut failures = Vec::new();
    for &(rule, who, resource, tweak, on, allowed, reason) in ROWS {
        let policy = tweak(site()).build();
        let principal = who();
        let got = answer(&principal, resource, &policy, day(on));
        if got.allowed != allowed || !got.reason.contains(reason) {
            failures.push(format!(
                "{rule}\n    {resource} on {on}\n    expected: allowed={allowed}, reason containing {reason:?}\n    got:      allowed={}, reason {:?}",
                got.allowed, got.reason
            ));
        }
        // The typed entry point agrees with the textual one.
        if let Ok(r) = Resource::parse(resource) {
            assert_eq!(decide(&principal, &r, &policy, day(on)).to_answer(), got, "{rule}");
        }
    }
    assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), ROWS.len(), failures.join("\n"));
}

#[test]
fn an_unknown_resource_is_echoed_escaped_and_short() {
    let policy = site().build();
    let long = format!("x\u{7}{}", "y".repeat(500));
    let got = answer(&visitor(), &long, &policy, day("2026-06-01"));
    assert!(!got.allowed);
    assert!(got.reason.starts_with("unknown resource \"x\\u{7}yyy"), "{}", got.reason);
    assert!(got.reason.contains("yyy\"…: a resource is written kind:ID"), "{}", got.reason);
    assert!(got.reason.len() < 300, "{}", got.reason.len());
}

#[test]
fn every_reason_has_a_stable_code() {
    let policy = site().build();
    let r = Resource::parse("library:CH-NYC").unwrap();
    let p = chair();
    let d = decide(&p, &r, &policy, day("2026-06-01"));
    assert_eq!(d.reason().why.code(), "current_member");
    assert_eq!(d.to_string(), d.to_answer().reason);
    let json = serde_json::to_value(d.to_answer()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"allowed": true, "reason": "current member of CH-NYC until 2026-12-31 as Chair"})
    );
}
