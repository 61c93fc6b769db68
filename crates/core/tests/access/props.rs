//! Invariants of access decisions, checked on generated sites and members.
//!
//! Each property runs a fixed number of cases from a fixed seed, so a run is
//! reproducible and a failure shows the same shrunk case every time.

use std::collections::{BTreeSet, HashSet};

use amsync_core::access::{answer, decide, AccessAnswer, AccessPolicy, ContentId, Principal, Resource};
use amsync_core::community::{Community, Membership};
use amsync_core::diff::{plan_fetched, FetchedMember};
use amsync_core::event::EventStatus;
use amsync_core::group::SecurityGroupRef;
use amsync_core::keys::{CommunityKey, EventKey, GroupKey, MemberKey};
use amsync_core::member::MemberDetails;
use amsync_core::record::{DisabledReason, MemberRecord, MemberStatus};
use amsync_core::rules::{CommunityRule, RuleAction, RuleSet};
use chrono::{Days, NaiveDate};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        rng_seed: RngSeed::Fixed(0x616d_7379_6e63),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- the world the cases are drawn from ----------------------------------------

/// Communities C0..C5; C0-C3 are always known, C4-C5 may not be. Each key
/// has one group type, as in an AMS.
const COMMUNITIES: usize = 6;
const GROUP_TYPES: [Option<&str>; 4] = [Some("Chapter"), Some("SIG"), Some("Committee"), None];
/// Groups a grant or a content item may name: built-in, AMS and local ones,
/// and a case variant.
const GRANTABLE: [&str; 9] =
    ["Public", "Authenticated", "IsMember", "SuperAdmin", "MEMBER", "STAFF", "staff", "EDITORS", "BOARD"];
const AMS_GROUPS: [&str; 4] = ["MEMBER", "STAFF", "VOLUNTEER", "EDITORS"];
const LOCAL_GROUPS: [&str; 2] = ["BOARD", "WEBTEAM"];

fn base_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
}

fn plus(d: NaiveDate, n: u64) -> NaiveDate {
    d.checked_add_days(Days::new(n)).unwrap()
}

fn minus(d: NaiveDate, n: u64) -> NaiveDate {
    d.checked_sub_days(Days::new(n)).unwrap()
}

fn g(k: &str) -> GroupKey {
    GroupKey::parse(k).unwrap()
}

fn community(i: usize) -> Community {
    Community {
        key: CommunityKey::parse(format!("C{i}")).unwrap(),
        name: None,
        community_type: None,
        group_type: GROUP_TYPES[i % GROUP_TYPES.len()].map(String::from),
        group_subtype: None,
    }
}

/// (community index, begin offset from base day, length in days or open-ended, role)
type MembershipSpec = (usize, u64, Option<u64>, bool);

fn membership((i, begin, len, chair): MembershipSpec) -> Membership {
    let begin = plus(base_day(), begin);
    Membership {
        community: community(i),
        begin,
        end: len.map(|n| plus(begin, n)),
        role: Some(if chair { "Chair" } else { "Member" }.into()),
    }
}

fn arb_membership() -> impl Strategy<Value = MembershipSpec> {
    (0..COMMUNITIES, 0u64..1000, proptest::option::of(0u64..600), any::<bool>())
}

/// Memberships with distinct identities (community, begin), as a validated
/// record has them.
fn arb_memberships(max: usize) -> impl Strategy<Value = Vec<Membership>> {
    proptest::collection::vec(arb_membership(), 0..=max).prop_map(|specs| {
        let mut seen = HashSet::new();
        specs.into_iter().filter(|s| seen.insert((s.0, s.1))).map(membership).collect()
    })
}

fn arb_day() -> impl Strategy<Value = NaiveDate> {
    (0u64..1700).prop_map(|n| plus(minus(base_day(), 30), n))
}

fn arb_subset(of: &'static [&'static str]) -> impl Strategy<Value = Vec<GroupKey>> {
    proptest::sample::subsequence(of, 0..=of.len()).prop_map(|ks| ks.into_iter().map(g).collect())
}

#[derive(Debug, Clone)]
struct Site {
    known: Vec<bool>,
    grants: Vec<Vec<GroupKey>>,
    content: Vec<Vec<GroupKey>>,
    /// (limited to community index, cancelled)
    events: Vec<(Option<usize>, bool)>,
}

impl Site {
    fn policy(&self) -> AccessPolicy {
        let mut b = AccessPolicy::builder();
        for i in 0..COMMUNITIES {
            if self.known[i] {
                b = b.community(community(i));
            }
            b = b.grants(community(i).key, self.grants[i].iter().cloned());
        }
        for (n, groups) in self.content.iter().enumerate() {
            b = b.content(ContentId::parse(format!("I{n}")).unwrap(), groups.iter().cloned());
        }
        for (n, &(limited, cancelled)) in self.events.iter().enumerate() {
            let status = if cancelled { EventStatus::Cancelled } else { EventStatus::Scheduled };
            b = b.event(EventKey::parse(format!("E{n}")).unwrap(), limited.map(|i| community(i).key), status);
        }
        b.build()
    }

    fn grants_to(&self, i: usize, group: &str) -> bool {
        self.grants[i].iter().any(|k| k.as_str().eq_ignore_ascii_case(group))
    }
}

fn arb_site() -> impl Strategy<Value = Site> {
    (
        proptest::collection::vec(any::<bool>(), 2),
        proptest::collection::vec(arb_subset(&GRANTABLE), COMMUNITIES),
        proptest::collection::vec(arb_subset(&GRANTABLE), 1..4),
        proptest::collection::vec((proptest::option::of(0..COMMUNITIES), any::<bool>()), 1..5),
    )
        .prop_map(|(maybe_known, grants, content, events)| {
            let known = (0..COMMUNITIES).map(|i| i < 4 || maybe_known[i - 4]).collect();
            Site { known, grants, content, events }
        })
}

fn record(memberships: Vec<Membership>, ams: Vec<GroupKey>, local: Vec<GroupKey>) -> MemberRecord {
    MemberRecord {
        details: MemberDetails::empty(MemberKey::parse("M1").unwrap()),
        status: MemberStatus::Active,
        disabled_reason: None,
        merged_into: None,
        memberships,
        ams_groups: ams.into_iter().map(|key| SecurityGroupRef { key, name: None }).collect(),
        local_groups: local,
    }
}

fn arb_record() -> impl Strategy<Value = MemberRecord> {
    (arb_memberships(10), arb_subset(&AMS_GROUPS), arb_subset(&LOCAL_GROUPS))
        .prop_map(|(ms, ams, local)| record(ms, ams, local))
}

fn designations() -> Vec<GroupKey> {
    vec![g("MEMBER")]
}

/// Every resource of the site, and some it does not have.
fn resources(site: &Site) -> Vec<Resource> {
    let mut out = Vec::new();
    for i in 0..COMMUNITIES + 1 {
        for kind in ["discussion", "library", "microsite"] {
            out.push(Resource::parse(&format!("{kind}:C{i}")).unwrap());
        }
    }
    for n in 0..site.content.len() + 1 {
        out.push(Resource::parse(&format!("content:I{n}")).unwrap());
    }
    for n in 0..site.events.len() + 1 {
        out.push(Resource::parse(&format!("event:E{n}")).unwrap());
    }
    out
}

/// Whether a resource is one the site has.
fn exists(site: &Site, r: &Resource) -> bool {
    let index = |id: &str| id[1..].parse::<usize>().unwrap();
    match r {
        Resource::Discussion(c) | Resource::Library(c) | Resource::Microsite(c) => {
            site.known.get(index(c.as_str())).copied().unwrap_or(false)
        }
        Resource::Content(id) => index(id.as_str()) < site.content.len(),
        Resource::Event(k) => index(k.as_str()) < site.events.len(),
    }
}

fn answers(p: &Principal, site: &Site, policy: &AccessPolicy, day: NaiveDate) -> Vec<(Resource, AccessAnswer)> {
    resources(site).into_iter().map(|r| (r.clone(), decide(p, &r, policy, day).to_answer())).collect()
}

// ---- the properties ---------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn super_admin_is_allowed_everything_there_is(
        site in arb_site(),
        rec in arb_record(),
        spelling in prop::sample::select(vec!["SuperAdmin", "superadmin", "SUPERADMIN"]),
        day in arb_day(),
    ) {
        let mut rec = rec;
        rec.local_groups.push(g(spelling));
        let p = Principal::from_record(&rec, &designations());
        let policy = site.policy();
        let mut kinds = BTreeSet::new();
        for (r, a) in answers(&p, &site, &policy, day) {
            if exists(&site, &r) {
                kinds.insert(r.kind());
                prop_assert!(a.allowed, "{r}: {}", a.reason);
                prop_assert!(a.reason.contains("SuperAdmin is allowed everything") || a.reason.contains("open to everyone"), "{r}: {}", a.reason);
            } else {
                prop_assert!(!a.allowed && a.reason.contains("is known"), "{r}: {}", a.reason);
            }
        }
        prop_assert_eq!(kinds.len(), 5, "every kind of resource was asked about");
    }

    #[test]
    fn public_sees_a_communitys_content_only_when_public_is_granted_it(site in arb_site(), day in arb_day()) {
        let policy = site.policy();
        for (r, a) in answers(&Principal::public(), &site, &policy, day) {
            let limited_to = match &r {
                Resource::Discussion(c) | Resource::Library(c) | Resource::Microsite(c) => {
                    if !exists(&site, &r) { continue; }
                    Some(c.as_str()[1..].parse::<usize>().unwrap())
                }
                Resource::Event(k) => match site.events.get(k.as_str()[1..].parse::<usize>().unwrap()) {
                    Some(&(limited, _)) => limited,
                    None => continue,
                },
                Resource::Content(_) => continue,
            };
            match limited_to {
                Some(i) => prop_assert_eq!(a.allowed, site.grants_to(i, "Public"), "{}: {}", r, a.reason),
                None => prop_assert!(a.allowed, "an open event: {}", a.reason),
            }
        }
    }

    #[test]
    fn a_disabled_member_gets_exactly_what_a_visitor_gets(
        site in arb_site(),
        rec in arb_record(),
        super_admin in any::<bool>(),
        reason in prop::sample::select(DisabledReason::ALL.to_vec()),
        day in arb_day(),
    ) {
        let mut rec = rec;
        if super_admin {
            rec.local_groups.push(g("SuperAdmin"));
        }
        rec.status = MemberStatus::Disabled;
        rec.disabled_reason = Some(reason);
        let policy = site.policy();
        let disabled = answers(&Principal::from_record(&rec, &designations()), &site, &policy, day);
        let visitor = answers(&Principal::public(), &site, &policy, day);
        for ((r, d), (_, v)) in disabled.iter().zip(&visitor) {
            prop_assert_eq!(d.allowed, v.allowed, "{}: {} / {}", r, d.reason, v.reason);
            if exists(&site, r) {
                prop_assert!(d.reason.starts_with("member M1 is disabled; decided as a signed-out visitor"), "{}", d.reason);
            }
        }
    }

    #[test]
    fn when_every_membership_of_c_ended_only_a_grant_opens_its_library(
        site in arb_site(),
        rec in arb_record(),
        ended in proptest::collection::vec((1u64..400, 0u64..400), 1..4),
        day in arb_day(),
    ) {
        let mut rec = rec;
        rec.memberships.retain(|m| m.community.key.as_str() != "C0");
        for (n, &(ago, len)) in ended.iter().enumerate() {
            // Distinct begins keep identities distinct.
            let end = minus(day, ago + n as u64 * 1000);
            rec.memberships.push(Membership { community: community(0), begin: minus(end, len), end: Some(end), role: None });
        }
        let p = Principal::from_record(&rec, &designations());
        let groups = p.active_member().unwrap().groups().clone();
        let granted = site.grants[0].iter().any(|k| groups.contains(k.as_str()));
        let a = decide(&p, &Resource::parse("library:C0").unwrap(), &site.policy(), day).to_answer();
        prop_assert_eq!(a.allowed, granted, "{}", a.reason);
        let latest = ended.iter().enumerate().map(|(n, &(ago, _))| minus(day, ago + n as u64 * 1000)).max().unwrap();
        if granted {
            prop_assert!(a.reason.contains("is granted access to C0"), "{}", a.reason);
        } else {
            prop_assert_eq!(a.reason, format!("membership of C0 ended {latest}"));
        }
    }

    #[test]
    fn rules_that_exclude_a_group_type_leave_no_membership_of_it(
        fetched in arb_memberships(12),
        excluded in prop::sample::select(GROUP_TYPES.to_vec()),
        later_rules in proptest::collection::vec(
            (any::<bool>(), prop::sample::select(vec![None, Some("*"), Some("Chapter"), Some("SIG"), Some("Committee")])),
            0..4,
        ),
        day in arb_day(),
    ) {
        let Some(excluded) = excluded else { return Ok(()); };
        let mut rules = vec![CommunityRule {
            action: RuleAction::Exclude,
            group_type: Some(excluded.into()),
            group_subtype: Some("*".into()),
        }];
        rules.extend(later_rules.into_iter().map(|(include, t)| CommunityRule {
            action: if include { RuleAction::Include } else { RuleAction::Exclude },
            group_type: t.map(String::from),
            group_subtype: None,
        }));
        let rules = RuleSet::new(rules);
        let f = FetchedMember {
            details: MemberDetails::empty(MemberKey::parse("M1").unwrap()),
            memberships: fetched.clone(),
            groups: vec![],
        };
        let new = plan_fetched(None, f, &rules, &HashSet::new()).new;
        prop_assert!(new.memberships.iter().all(|m| m.community.group_type.as_deref() != Some(excluded)));
        let kept: Vec<_> = fetched.iter().filter(|m| rules.includes(&m.community)).collect();
        prop_assert_eq!(new.memberships.iter().collect::<Vec<_>>(), kept);
        // And no excluded community is opened by a membership.
        let p = Principal::from_record(&new, &designations());
        let policy = AccessPolicy::builder().community(community(0)).community(community(1)).community(community(2)).build();
        for i in 0..3 {
            if community(i).group_type.as_deref() == Some(excluded) {
                let library = Resource::parse(&format!("library:C{i}")).unwrap();
                let d = decide(&p, &library, &policy, day);
                prop_assert!(!d.allowed, "{}", d);
            }
        }
    }

    #[test]
    fn decisions_do_not_depend_on_the_order_of_memberships(
        (rec, shuffled) in arb_record().prop_flat_map(|r| {
            let ms = r.memberships.clone();
            (Just(r), Just(ms).prop_shuffle())
        }),
        site in arb_site(),
        day in arb_day(),
    ) {
        let mut other = rec.clone();
        other.memberships = shuffled;
        let policy = site.policy();
        let a = answers(&Principal::from_record(&rec, &designations()), &site, &policy, day);
        let b = answers(&Principal::from_record(&other, &designations()), &site, &policy, day);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn a_membership_starting_tomorrow_denies_today_and_allows_tomorrow(
        rec in arb_record(),
        len in proptest::option::of(0u64..400),
        site in arb_site(),
        day in arb_day(),
    ) {
        let mut rec = rec;
        rec.memberships.retain(|m| m.community.key.as_str() != "C0");
        let tomorrow = plus(day, 1);
        rec.memberships.push(Membership {
            community: community(0),
            begin: tomorrow,
            end: len.map(|n| plus(tomorrow, n)),
            role: Some("Member".into()),
        });
        let mut site = site;
        site.grants[0].clear();
        let policy = site.policy();
        let p = Principal::from_record(&rec, &designations());
        let library = Resource::parse("library:C0").unwrap();
        let today = decide(&p, &library, &policy, day);
        prop_assert!(!today.allowed, "{}", today);
        prop_assert_eq!(today.to_string(), format!("membership of C0 begins {tomorrow}"));
        let next = decide(&p, &library, &policy, tomorrow);
        prop_assert!(next.allowed, "{}", next);
        prop_assert!(next.to_string().starts_with("current member of C0"), "{}", next);
    }

    #[test]
    fn any_text_gets_an_answer_and_only_resources_are_allowed(text in "\\PC{0,80}", site in arb_site()) {
        let policy = site.policy();
        let p = Principal::from_record(&record(vec![], vec![], vec![g("SuperAdmin")]), &designations());
        let a = answer(&p, &text, &policy, base_day());
        if Resource::parse(&text).is_err() {
            prop_assert!(!a.allowed);
            prop_assert!(a.reason.starts_with("unknown resource \""), "{}", a.reason);
        }
    }
}
