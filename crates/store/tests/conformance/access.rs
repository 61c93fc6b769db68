//! Access: communities the rules include with member counts, grants,
//! content items, security groups an admin changes, what a decision reads,
//! and the access version that marks cached policies stale.

use amsync_core::access::{decide, ContentId, Principal, Resource};
use amsync_core::diff::ChangeKind;
use amsync_core::rules::{CommunityRule, RuleAction, RuleSet};
use amsync_core::{CommunityKey, Event, EventKey, EventStatus, GroupKey, GroupSource, Trigger};
use amsync_store::*;
use chrono::NaiveDate;

use crate::fixtures::*;
use crate::harness::TestDb;

fn gk(k: &str) -> GroupKey {
    GroupKey::parse(k).unwrap()
}

fn ck(k: &str) -> CommunityKey {
    CommunityKey::parse(k).unwrap()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn exclude_committees() -> RuleSet {
    RuleSet::new(vec![CommunityRule {
        action: RuleAction::Exclude,
        group_type: Some("Committee".into()),
        group_subtype: None,
    }])
}

fn upsert(key: &str, source: Option<GroupSource>, name: Option<&str>, is_member: Option<bool>) -> GroupUpsert {
    GroupUpsert { key: gk(key), source, name: name.map(String::from), is_member }
}

fn local(key: &str, name: &str) -> GroupUpsert {
    upsert(key, Some(GroupSource::Local), Some(name), None)
}

async fn feed_len(s: &dyn Store) -> usize {
    s.changes_after(0, 100_000).await.unwrap().len()
}

pub async fn communities_hide_excluded_ones_and_count_current_active_members(db: &mut TestDb) {
    let s = db.s();
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    let mut b = member("B");
    b.memberships[0].begin = day("2027-01-01");
    b.memberships[0].end = None;
    s.commit_refresh(commit(b, t0())).await.unwrap();
    let list = s.list_communities(day("2026-06-01")).await.unwrap();
    let counts: Vec<_> = list.iter().map(|c| (c.community.key.as_str(), c.current_members)).collect();
    assert_eq!(counts, [("CH-NYC", 1), ("CMT-A", 2)], "B's chapter membership begins in 2027");
    let list = s.list_communities(day("2027-01-01")).await.unwrap();
    assert_eq!(list[0].current_members, 1, "A's ended, B's began");
    assert_eq!(list[0].community.name.as_deref(), Some("CH-NYC community"));
    // A disabled member is not counted.
    let gone = RefreshCommit {
        claim: None,
        key: key("B"),
        trigger: Trigger::Manual,
        run_id: None,
        at: t0(),
        outcome: RefreshOutcome::Gone { status: 404, merged_into: None },
    };
    s.commit_refresh(gone).await.unwrap();
    assert_eq!(s.list_communities(day("2026-06-01")).await.unwrap()[1].current_members, 1);
    // Rules hide communities everywhere, and bring them back.
    s.set_community_rules(&exclude_committees()).await.unwrap();
    let keys: Vec<_> = s.list_communities(day("2026-06-01")).await.unwrap();
    assert_eq!(keys.iter().map(|c| c.community.key.as_str()).collect::<Vec<_>>(), ["CH-NYC"]);
    assert!(s.community(&ck("CMT-A")).await.unwrap().is_none());
    assert_eq!(s.community(&ck("CH-NYC")).await.unwrap().unwrap().group_type.as_deref(), Some("Chapter"));
    assert!(s.community(&ck("NOPE")).await.unwrap().is_none());
    s.set_community_rules(&RuleSet::default()).await.unwrap();
    assert!(s.community(&ck("CMT-A")).await.unwrap().is_some());
}

pub async fn grants_take_known_groups_of_known_communities(db: &mut TestDb) {
    let s = db.s();
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    let v0 = s.access_version().await.unwrap();
    let stored = s.set_community_grants(&ck("CH-NYC"), &[gk("member"), gk("Public"), gk("MEMBER")]).await.unwrap();
    assert_eq!(stored, [gk("MEMBER"), gk("Public")], "registered spelling, duplicates dropped, order kept");
    assert_eq!(s.community_grants(&ck("CH-NYC")).await.unwrap(), stored);
    assert!(s.access_version().await.unwrap() > v0, "a grant marks cached policies stale");
    let err = s.set_community_grants(&ck("CH-NYC"), &[gk("EDITORS"), gk("FELOW")]).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("EDITORS, FELOW")), "{err}");
    assert_eq!(s.community_grants(&ck("CH-NYC")).await.unwrap(), stored, "nothing changed");
    let err = s.set_community_grants(&ck("CH-XYZ"), &[gk("Public")]).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    s.set_community_rules(&exclude_committees()).await.unwrap();
    let err = s.set_community_grants(&ck("CMT-A"), &[gk("Public")]).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "an excluded community is hidden: {err}");
    assert!(s.set_community_grants(&ck("CH-NYC"), &[]).await.unwrap().is_empty());
    assert!(s.community_grants(&ck("CH-NYC")).await.unwrap().is_empty());
}

pub async fn content_items_keep_their_groups_in_order(db: &mut TestDb) {
    let s = db.s();
    let id = ContentId::parse("home-banner").unwrap();
    assert!(s.content_item(&id).await.unwrap().is_none());
    let (item, created) =
        s.put_content_item(&id, Some("Home banner"), &[gk("authenticated"), gk("Public")], t0()).await.unwrap();
    assert!(created);
    assert_eq!(item.groups, [gk("Authenticated"), gk("Public")]);
    assert_eq!((item.name.as_deref(), item.created_at, item.updated_at), (Some("Home banner"), t0(), t0()));
    let (item, created) = s.put_content_item(&id, None, &[gk("SuperAdmin")], t0() + mins(1)).await.unwrap();
    assert!(!created);
    assert_eq!((item.name.clone(), item.groups.clone(), item.created_at), (None, vec![gk("SuperAdmin")], t0()));
    assert_eq!(s.content_item(&id).await.unwrap(), Some(item));
    let err = s.put_content_item(&id, None, &[gk("NOPE")], t0()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
}

fn event(k: &str, community: Option<&str>, status: EventStatus) -> Event {
    Event {
        key: EventKey::parse(k).unwrap(),
        title: Some(k.into()),
        description: None,
        starts_at: "2026-12-01T18:00:00-05:00".parse().unwrap(),
        ends_at: "2026-12-01T20:00:00-05:00".parse().unwrap(),
        timezone: None,
        location: None,
        url: None,
        community_key: community.map(ck),
        status,
    }
}

pub async fn the_access_config_is_what_decisions_need(db: &mut TestDb) {
    let s = db.s();
    s.seed_settings(&exclude_committees(), &[gk("MEMBER")]).await.unwrap();
    let mut m = member("A");
    m.memberships = vec![
        membership("CH-NYC", "Chapter", "2026-01-01", Some("2026-12-31")),
        membership("CMT-A", "Committee", "2026-01-01", None),
    ];
    s.commit_refresh(commit(m, t0())).await.unwrap();
    s.commit_refresh(commit(member("B"), t0())).await.unwrap();
    s.set_community_grants(&ck("CH-NYC"), &[gk("STAFF-NOT-YET")]).await.unwrap_err();
    s.upsert_security_groups(&[local("EDITORS", "Editors")], t0()).await.unwrap();
    s.set_community_grants(&ck("CH-NYC"), &[gk("EDITORS")]).await.unwrap();
    let id = ContentId::parse("nav-members").unwrap();
    s.put_content_item(&id, None, &[gk("IsMember")], t0()).await.unwrap();
    let empty = ContentId::parse("nav-nobody").unwrap();
    s.put_content_item(&empty, None, &[], t0()).await.unwrap();
    s.upsert_events(
        &[event("EV-OPEN", None, EventStatus::Scheduled), event("EV-NYC", Some("CH-NYC"), EventStatus::Cancelled)],
        t0(),
    )
    .await
    .unwrap();
    let config = s.access_config().await.unwrap();
    assert_eq!(config.version, s.access_version().await.unwrap());
    assert_eq!(config.communities.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), ["CH-NYC"]);
    assert_eq!(config.grants, [(ck("CH-NYC"), vec![gk("EDITORS")])]);
    assert_eq!(config.content, [(id.clone(), vec![gk("IsMember")]), (empty.clone(), vec![])]);
    assert_eq!(config.events.len(), 2);
    assert_eq!(config.is_member_groups, [gk("MEMBER")]);

    let facts = s.member_for_access(&key("A")).await.unwrap();
    assert_eq!(facts.version, config.version);
    let record = facts.member.expect("known");
    assert_eq!(record.memberships.len(), 1, "the excluded committee is not held");
    assert_eq!(record.memberships[0].role.as_deref(), Some("Member"));
    assert_eq!(record.ams_groups, [group("MEMBER")]);
    assert!(s.member_for_access(&key("NOPE")).await.unwrap().member.is_none());

    let policy = config.policy();
    let principal = Principal::from_record(&record, &config.is_member_groups);
    let allowed = |r: &str, d: &str| decide(&principal, &Resource::parse(r).unwrap(), &policy, day(d)).allowed;
    assert!(allowed("discussion:CH-NYC", "2026-06-01"));
    assert!(!allowed("discussion:CH-NYC", "2027-06-01"), "the membership ended");
    assert!(!allowed("discussion:CMT-A", "2026-06-01"), "excluded: unknown");
    assert!(allowed("content:nav-members", "2026-06-01"), "IsMember through MEMBER");
    assert!(!allowed("content:nav-nobody", "2026-06-01"));
    assert!(allowed("event:EV-OPEN", "2026-06-01"));
    assert!(allowed("event:EV-NYC", "2026-06-01"), "a cancelled event stays visible as cancelled");
}

pub async fn the_access_version_moves_with_what_policies_are_built_from(db: &mut TestDb) {
    let db: &TestDb = db;
    let s = db.s();
    let v = || async { db.s().access_version().await.unwrap() };
    let v0 = v().await;
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    let v1 = v().await;
    assert!(v1 > v0, "new communities");
    s.commit_refresh(commit(member("B"), t0())).await.unwrap();
    let mut a = member("A");
    a.details.last_name = Some("Byron".into());
    s.commit_refresh(commit(a, t0() + mins(1))).await.unwrap();
    assert_eq!(v().await, v1, "member data alone does not touch the policy");
    let mut a = member("A");
    a.memberships[0].community.group_subtype = Some("Regional".into());
    s.commit_refresh(commit(a, t0() + mins(2))).await.unwrap();
    let v2 = v().await;
    assert!(v2 > v1, "a community's types changed");
    let e = event("EV-1", None, EventStatus::Scheduled);
    s.upsert_events(std::slice::from_ref(&e), t0()).await.unwrap();
    let v3 = v().await;
    assert!(v3 > v2);
    s.upsert_events(&[e], t0()).await.unwrap();
    assert_eq!(v().await, v3, "an unchanged event");
    s.set_community_rules(&exclude_committees()).await.unwrap();
    let v4 = v().await;
    assert!(v4 > v3);
    s.upsert_security_groups(&[upsert("MEMBER", None, None, Some(true))], t0()).await.unwrap();
    assert!(v().await > v4);
}

pub async fn local_groups_are_never_shadowed_by_ams_groups(db: &mut TestDb) {
    let s = db.s();
    let mut a = member("A");
    a.groups.push(group("STAFF"));
    s.commit_refresh(commit(a, t0())).await.unwrap();
    // STAFF was seen from the AMS: a local group cannot take its key.
    let err = s.upsert_security_groups(&[local("staff", "Staff")], t0()).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("AMS group")), "{err}");
    for builtin in ["superadmin", "PUBLIC", "IsMember"] {
        let err = s.upsert_security_groups(&[local(builtin, "x")], t0()).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{builtin}: {err}");
    }
    let err = s.upsert_security_groups(&[upsert("SuperAdmin", None, None, Some(true))], t0()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    // A local group created first: the AMS sending that key is a data error
    // for that group only, from the very next refresh.
    s.upsert_security_groups(&[local("EDITORS", "Editors")], t0()).await.unwrap();
    let err = s.upsert_security_groups(&[upsert("EDITORS", None, None, Some(true))], t0()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "only AMS groups count as IsMember: {err}");
    let mut b = member("B");
    b.groups.push(group("editors"));
    let out = s.commit_refresh(commit(b, t0())).await.unwrap();
    let CommitOutcome::Applied { group_errors, .. } = out else { panic!("{out:?}") };
    assert_eq!(group_errors.len(), 1, "{group_errors:?}");
    assert_eq!(s.get_member(&key("B")).await.unwrap().unwrap().record.ams_groups, [group("MEMBER")]);
    // Members of the local group survive refreshes.
    s.set_group_members(&gk("editors"), &keys(&["A", "B"]), t0()).await.unwrap();
    let mut a = member("A");
    a.details.first_name = Some("Augusta".into());
    s.commit_refresh(commit(a, t0() + mins(1))).await.unwrap();
    s.commit_refresh(commit(member("A"), t0() + mins(2))).await.unwrap();
    let got = s.get_member(&key("A")).await.unwrap().unwrap();
    assert_eq!(got.record.local_groups, [gk("EDITORS")]);
    assert_eq!(s.group_members(&gk("EDITORS")).await.unwrap(), keys(&["A", "B"]));
    // Listing: built-ins, AMS groups, then local ones.
    let groups = s.security_groups().await.unwrap();
    let listed: Vec<_> = groups.iter().map(|g| (g.key.as_str(), g.source)).collect();
    assert_eq!(
        listed[4..],
        [("MEMBER", GroupSource::Ams), ("STAFF", GroupSource::Ams), ("EDITORS", GroupSource::Local)]
    );
    assert_eq!(groups[6].name.as_deref(), Some("Editors"));
    // A duplicate in one request is refused as a whole.
    let err = s.upsert_security_groups(&[local("X1", "x"), local("x1", "y")], t0()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
    assert!(s.security_groups().await.unwrap().iter().all(|g| g.key.as_str() != "X1"), "all or nothing");
}

pub async fn an_is_member_designation_feeds_every_member_whose_aggregate_flips(db: &mut TestDb) {
    let s = db.s();
    let mut a = member("A"); // MEMBER
    a.groups = vec![group("MEMBER")];
    let mut b = member("B"); // MEMBER and STUDENT
    b.groups = vec![group("MEMBER"), group("STUDENT")];
    let mut c = member("C"); // STUDENT
    c.groups = vec![group("STUDENT")];
    let mut d = member("D"); // STUDENT, but disabled
    d.groups = vec![group("STUDENT")];
    for m in [a, b, c, d] {
        s.commit_refresh(commit(m, t0())).await.unwrap();
    }
    let gone = RefreshCommit {
        claim: None,
        key: key("D"),
        trigger: Trigger::Manual,
        run_id: None,
        at: t0(),
        outcome: RefreshOutcome::Gone { status: 404, merged_into: None },
    };
    s.commit_refresh(gone).await.unwrap();
    s.upsert_security_groups(&[upsert("MEMBER", None, None, Some(true))], t0()).await.unwrap();
    let before = feed_len(s).await;
    // Designating STUDENT: only C gains IsMember (B already has it through
    // MEMBER, D is disabled).
    let out = s.upsert_security_groups(&[upsert("student", None, None, Some(true))], t0() + mins(1)).await.unwrap();
    assert_eq!(out.affected_members, 1);
    let feed = s.changes_after(0, 1000).await.unwrap();
    assert_eq!(feed.len(), before + 1);
    let last = feed.last().unwrap();
    assert_eq!((last.key.as_str(), last.kind, last.at), ("C", ChangeKind::Changed, t0() + mins(1)));
    let mut designated = s.is_member_groups().await.unwrap();
    designated.sort();
    assert_eq!(designated, [gk("MEMBER"), gk("STUDENT")]);
    // Setting what is already set affects nobody.
    let out = s.upsert_security_groups(&[upsert("STUDENT", None, Some("Student"), Some(true))], t0()).await.unwrap();
    assert_eq!(out.affected_members, 0);
    // Un-designating MEMBER: A loses IsMember, B keeps it through STUDENT.
    let out = s.upsert_security_groups(&[upsert("MEMBER", None, None, Some(false))], t0()).await.unwrap();
    assert_eq!(out.affected_members, 1);
    assert_eq!(s.changes_after(0, 1000).await.unwrap().last().unwrap().key.as_str(), "A");
    // An AMS group not seen yet can be registered and designated ahead.
    let out = s.upsert_security_groups(&[upsert("FELLOW", None, None, Some(true))], t0()).await.unwrap();
    assert_eq!(out.affected_members, 0);
    let fellow = s.security_groups().await.unwrap().into_iter().find(|g| g.key.as_str() == "FELLOW").unwrap();
    assert_eq!((fellow.source, fellow.is_member, fellow.first_seen), (GroupSource::Ams, true, None));
}

pub async fn searching_is_member_lists_exactly_whom_the_is_member_rule_counts(db: &mut TestDb) {
    let s = db.s();
    let holding = |k: &str, groups: &[&str]| {
        let mut m = member(k);
        m.groups = groups.iter().map(|g| group(g)).collect();
        m
    };
    // B's AMS spells the designated group differently from the key it was
    // registered under (A's); D holds it but is disabled (by an admin).
    let members = [
        holding("A", &["MEMBER"]),
        holding("B", &["member"]),
        holding("C", &["STUDENT"]),
        holding("D", &["MEMBER"]),
        holding("E", &[]),
        holding("F", &["STAFF", "Fellow"]),
    ];
    for m in members {
        s.commit_refresh(commit(m, t0())).await.unwrap();
    }
    s.admin_set_status(&key("D"), true, "admin", t0()).await.unwrap();
    let designate = [upsert("MEMBER", None, None, Some(true)), upsert("FELLOW", None, None, Some(true))];
    s.upsert_security_groups(&designate, t0()).await.unwrap();
    let designated = amsync_core::group::IsMemberGroups::new(&s.is_member_groups().await.unwrap());
    let mut by_rule = Vec::new();
    for k in ["A", "B", "C", "D", "E", "F"] {
        let m = s.get_member(&key(k)).await.unwrap().unwrap();
        if m.record.is_member(&designated) {
            by_rule.push(k);
        }
    }
    let query = MemberQuery { group: Some("IsMember".into()), limit: 100, ..MemberQuery::default() };
    let found = s.search_members(&query).await.unwrap();
    let by_search: Vec<&str> = found.items.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(by_search, by_rule, "the search and the rule agree");
    assert_eq!(by_search, ["A", "B", "F"]);
}

pub async fn local_group_members_are_set_by_full_replace_and_recorded(db: &mut TestDb) {
    let s = db.s();
    for k in ["A", "B", "C"] {
        s.commit_refresh(commit(member(k), t0())).await.unwrap();
    }
    let out = s.set_group_members(&gk("SuperAdmin"), &keys(&["A", "B"]), t0() + mins(1)).await.unwrap();
    assert_eq!(out, GroupMembersChanged { members: 2, added: 2, removed: 0 });
    let out = s.set_group_members(&gk("superadmin"), &keys(&["B", "C", "C"]), t0() + mins(2)).await.unwrap();
    assert_eq!(out, GroupMembersChanged { members: 2, added: 1, removed: 1 });
    assert_eq!(s.group_members(&gk("SuperAdmin")).await.unwrap(), keys(&["B", "C"]));
    let h = s.member_history(&key("A"), 10, None).await.unwrap();
    assert_eq!((h[0].trigger, h[0].kind), (Trigger::Admin, ChangeKind::Changed));
    assert_eq!(h[0].fields[0].field, "/local_groups/SuperAdmin");
    assert_eq!((h[0].fields[0].before.clone(), h[0].fields[0].after.clone()), (true.into(), false.into()));
    let feed = s.changes_after(0, 100).await.unwrap();
    let tail: Vec<_> = feed[feed.len() - 4..].iter().map(|f| f.key.as_str()).collect();
    assert_eq!(tail, ["A", "B", "C", "A"]);
    let err = s.set_group_members(&gk("SuperAdmin"), &keys(&["B", "ZZ", "YY"]), t0()).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("YY, ZZ")), "{err}");
    for computed in ["Public", "Authenticated", "IsMember"] {
        let err = s.set_group_members(&gk(computed), &keys(&["A"]), t0()).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{computed}: {err}");
    }
    let err = s.set_group_members(&gk("MEMBER"), &keys(&["A"]), t0()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let err = s.set_group_members(&gk("NOPE"), &keys(&["A"]), t0()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
}

pub async fn deleting_a_local_group_takes_its_members_grants_and_content_along(db: &mut TestDb) {
    let s = db.s();
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    s.upsert_security_groups(&[local("EDITORS", "Editors")], t0()).await.unwrap();
    s.set_group_members(&gk("EDITORS"), &keys(&["A"]), t0()).await.unwrap();
    s.set_community_grants(&ck("CH-NYC"), &[gk("EDITORS"), gk("STAFF-X")]).await.unwrap_err();
    s.set_community_grants(&ck("CH-NYC"), &[gk("EDITORS"), gk("MEMBER")]).await.unwrap();
    let id = ContentId::parse("page").unwrap();
    s.put_content_item(&id, None, &[gk("EDITORS")], t0()).await.unwrap();
    for (k, builtin_or_ams) in [("SuperAdmin", "built-in"), ("Public", "built-in"), ("MEMBER", "AMS")] {
        let err = s.delete_security_group(&gk(k), t0()).await.unwrap_err();
        assert!(matches!(&err, StoreError::Conflict(m) if m.contains(builtin_or_ams)), "{k}: {err}");
    }
    assert!(matches!(s.delete_security_group(&gk("NOPE"), t0()).await, Err(StoreError::NotFound(_))));
    let out = s.delete_security_group(&gk("editors"), t0() + mins(1)).await.unwrap();
    assert_eq!(out.affected_members, 1);
    assert!(s.get_member(&key("A")).await.unwrap().unwrap().record.local_groups.is_empty());
    assert_eq!(s.community_grants(&ck("CH-NYC")).await.unwrap(), [gk("MEMBER")]);
    assert!(s.content_item(&id).await.unwrap().unwrap().groups.is_empty());
    assert!(s.security_groups().await.unwrap().iter().all(|g| g.key.as_str() != "EDITORS"));
    // The key is free again, for an AMS group too.
    let mut a = member("A");
    a.groups.push(group("EDITORS"));
    let out = s.commit_refresh(commit(a, t0() + mins(2))).await.unwrap();
    assert!(matches!(out, CommitOutcome::Applied { ref group_errors, .. } if group_errors.is_empty()), "{out:?}");
}

pub async fn local_groups_are_seeded_once(db: &mut TestDb) {
    let s = db.s();
    let mut a = member("A");
    a.groups.push(group("STAFF"));
    s.commit_refresh(commit(a, t0())).await.unwrap();
    let seeds = [
        LocalGroupSeed { key: gk("EDITORS"), name: "Editors".into() },
        LocalGroupSeed { key: gk("staff"), name: "Taken".into() },
    ];
    assert_eq!(s.seed_local_groups(&seeds).await.unwrap(), 1, "STAFF is an AMS group: skipped");
    let local: Vec<_> =
        s.security_groups().await.unwrap().into_iter().filter(|g| g.source == GroupSource::Local).collect();
    assert_eq!(local.len(), 1);
    assert_eq!((local[0].key.as_str(), local[0].name.as_deref()), ("EDITORS", Some("Editors")));
    s.delete_security_group(&gk("EDITORS"), t0()).await.unwrap();
    assert_eq!(s.seed_local_groups(&seeds).await.unwrap(), 0, "the database is authoritative");
    assert!(s.security_groups().await.unwrap().iter().all(|g| g.source != GroupSource::Local));
}

pub async fn search_by_group_follows_computed_groups(db: &mut TestDb) {
    let db: &TestDb = db;
    let s = db.s();
    let mut b = member("B");
    b.groups = vec![group("STUDENT")];
    let mut c = member("C");
    c.groups = vec![];
    for m in [member("A"), b, c] {
        s.commit_refresh(commit(m, t0())).await.unwrap();
    }
    s.upsert_security_groups(&[upsert("MEMBER", None, None, Some(true))], t0()).await.unwrap();
    let q = |g: &str| {
        let g = g.to_string();
        async move {
            let page = db.s().search_members(&MemberQuery { group: Some(g), ..Default::default() }).await.unwrap();
            page.items.into_iter().map(|m| m.key.to_string()).collect::<Vec<_>>()
        }
    };
    assert_eq!(q("member").await, ["A"], "case-insensitive");
    assert_eq!(q("IsMember").await, ["A"]);
    assert_eq!(q("Authenticated").await, ["A", "B", "C"]);
    assert_eq!(q("Public").await, ["A", "B", "C"]);
    db.s().set_group_members(&gk("SuperAdmin"), &keys(&["C"]), t0()).await.unwrap();
    assert_eq!(q("superadmin").await, ["C"]);
}
