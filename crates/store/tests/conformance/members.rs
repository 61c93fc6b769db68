//! Member refreshes: first load, unchanged, field-level changes, Gone and
//! merges, admin disables, rules, search, failures.

use amsync_core::diff::ChangeKind;
use amsync_core::record::{DisabledReason, MemberStatus};
use amsync_core::rules::{CommunityRule, RuleAction, RuleSet};
use amsync_core::{FailureKind, GroupSource, Trigger};
use amsync_store::*;

use crate::fixtures::*;
use crate::harness::{TestDb, MEMBER_TABLES};

fn exclude_committees() -> RuleSet {
    RuleSet::new(vec![CommunityRule {
        action: RuleAction::Exclude,
        group_type: Some("Committee".into()),
        group_subtype: Some("*".into()),
    }])
}

pub async fn first_load_is_one_created_entry(db: &mut TestDb) {
    let s = db.s();
    let out = s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    assert_eq!(out, CommitOutcome::Applied { kind: ChangeKind::Created, fields: 0, group_errors: vec![] });
    let m = s.get_member(&key("A")).await.unwrap().expect("stored");
    let want = member("A");
    assert_eq!(m.record.details, want.details, "details roundtrip exactly");
    assert_eq!(m.record.memberships, want.memberships);
    assert_eq!(m.record.ams_groups, want.groups);
    assert_eq!((m.record.status, m.record.disabled_reason), (MemberStatus::Active, None));
    assert_eq!((m.created_at, m.updated_at, m.last_refreshed_at), (t0(), t0(), Some(t0())));
    assert_eq!(m.last_trigger, Some(Trigger::Periodic));
    let h = s.member_history(&key("A"), 10, None).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!((h[0].kind, h[0].trigger, h[0].fields.len()), (ChangeKind::Created, Trigger::Periodic, 0));
    let parts = "SELECT COUNT(*) FROM member_payloads WHERE details IS NOT NULL AND communities IS NOT NULL
        AND groups IS NOT NULL AND details_at = communities_at AND groups_at = details_at";
    assert_eq!(db.scalar(parts).await, 1, "all three parts are kept");
    assert_eq!(db.count("communities").await, 2);
    assert_eq!(s.member_count().await.unwrap(), 1);
    assert_eq!(s.active_member_keys().await.unwrap(), keys(&["A"]));
    assert_eq!(s.ams_memberships(&key("A")).await.unwrap(), Some(want.memberships));
    assert_eq!(s.ams_memberships(&key("NOPE")).await.unwrap(), None);
}

pub async fn an_unchanged_refresh_writes_only_bookkeeping(db: &mut TestDb) {
    let s = db.s();
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    let before = db.counts(&MEMBER_TABLES).await;
    let changes_before = db.total_changes().await;
    let out = s.commit_refresh(commit(member("A"), t0() + mins(30))).await.unwrap();
    assert!(out.is_unchanged(), "{out:?}");
    assert_eq!(db.total_changes().await - changes_before, 1, "one row: member_refresh");
    let s = db.s();
    assert_eq!(db.counts(&MEMBER_TABLES).await, before);
    let m = s.get_member(&key("A")).await.unwrap().unwrap();
    assert_eq!(m.updated_at, t0(), "the member row was not written");
    assert_eq!(m.last_refreshed_at, Some(t0() + mins(30)));
    assert_eq!(s.member_history(&key("A"), 10, None).await.unwrap().len(), 1);
    assert_eq!(s.changes_after(0, 10).await.unwrap().len(), 1);
}

pub async fn a_changed_field_is_recorded_by_name(db: &mut TestDb) {
    let s = db.s();
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    let (d, c, g) = (db.ms("details_at"), db.ms("communities_at"), db.ms("groups_at"));
    let payload_times = &format!("SELECT ({d} - {c}) * 10 + ({g} - {c}) FROM member_payloads");
    assert_eq!(db.scalar(payload_times).await, 0);
    let mut m = member("A");
    m.details.last_name = Some("Byron".into());
    m.details.phones.pop();
    let out = s.commit_refresh(commit(m.clone(), t0() + mins(1))).await.unwrap();
    assert_eq!(out, CommitOutcome::Applied { kind: ChangeKind::Changed, fields: 2, group_errors: vec![] });
    let h = s.member_history(&key("A"), 10, None).await.unwrap();
    assert_eq!(h.len(), 2);
    let fields: Vec<&str> = h[0].fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["/last_name", "/phones"]);
    assert_eq!(h[0].fields[0].before, serde_json::json!("Lovelace-A"));
    assert_eq!(h[0].fields[0].after, serde_json::json!("Byron"));
    assert_eq!(db.scalar(payload_times).await, 60_000 * 10, "only the details payload was rewritten");
    let got = s.get_member(&key("A")).await.unwrap().unwrap();
    assert_eq!(got.record.details, m.details);
    assert_eq!(got.updated_at, t0() + mins(1));
    assert_eq!(got.created_at, t0());
    // Memberships and groups change by identity.
    let mut m2 = m.clone();
    m2.memberships[0].end = None;
    m2.groups.push(group("STAFF"));
    s.commit_refresh(commit(m2.clone(), t0() + mins(2))).await.unwrap();
    let h = s.member_history(&key("A"), 1, None).await.unwrap();
    let fields: Vec<&str> = h[0].fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["/memberships/CH-NYC/2026-01-01", "/security_groups/STAFF"]);
    let got = s.get_member(&key("A")).await.unwrap().unwrap();
    assert_eq!((got.record.memberships, got.record.ams_groups), (m2.memberships, m2.groups));
    // Paging history backwards.
    let older = s.member_history(&key("A"), 10, Some(h[0].id)).await.unwrap();
    assert_eq!(older.len(), 2);
    assert!(older[0].id < h[0].id);
}

pub async fn gone_disables_and_a_merge_enqueues_the_target(db: &mut TestDb) {
    let s = db.s();
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    let gone = RefreshCommit {
        claim: None,
        key: key("A"),
        trigger: Trigger::Periodic,
        run_id: None,
        at: t0() + mins(1),
        outcome: RefreshOutcome::Gone { status: 410, merged_into: Some(key("B")) },
    };
    let out = s.commit_refresh(gone.clone()).await.unwrap();
    assert!(matches!(out, CommitOutcome::Applied { kind: ChangeKind::Disabled, .. }), "{out:?}");
    let m = s.get_member(&key("A")).await.unwrap().unwrap();
    assert_eq!(m.record.status, MemberStatus::Disabled);
    assert_eq!(m.record.disabled_reason, Some(DisabledReason::MergedInto));
    assert_eq!(m.record.merged_into, Some(key("B")));
    assert_eq!(m.record.memberships.len(), 2, "data is kept");
    assert!(s.active_member_keys().await.unwrap().is_empty());
    let q = s.list_queue(None, 10, None).await.unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!((q[0].key.as_str(), q[0].trigger), ("B", Trigger::Merge));
    // The same answer again changes nothing.
    let out = s.commit_refresh(RefreshCommit { at: t0() + mins(2), ..gone }).await.unwrap();
    assert!(out.is_unchanged());
    // A member never held: nothing to disable.
    let unknown = RefreshCommit {
        claim: None,
        key: key("C"),
        trigger: Trigger::Periodic,
        run_id: None,
        at: t0(),
        outcome: RefreshOutcome::Gone { status: 404, merged_into: None },
    };
    assert_eq!(s.commit_refresh(unknown).await.unwrap(), CommitOutcome::UnknownGone);
    assert!(s.get_member(&key("C")).await.unwrap().is_none());
}

pub async fn a_member_that_reappears_is_enabled(db: &mut TestDb) {
    let s = db.s();
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    let gone = RefreshCommit {
        claim: None,
        key: key("A"),
        trigger: Trigger::Periodic,
        run_id: None,
        at: t0(),
        outcome: RefreshOutcome::Gone { status: 404, merged_into: None },
    };
    s.commit_refresh(gone).await.unwrap();
    assert_eq!(
        s.get_member(&key("A")).await.unwrap().unwrap().record.disabled_reason,
        Some(DisabledReason::AmsNotFound)
    );
    // Same content hashes as stored, but the disable must be undone.
    let out = s.commit_refresh(commit(member("A"), t0() + mins(1))).await.unwrap();
    assert!(matches!(out, CommitOutcome::Applied { kind: ChangeKind::Enabled, .. }), "{out:?}");
    let m = s.get_member(&key("A")).await.unwrap().unwrap();
    assert_eq!((m.record.status, m.record.disabled_reason), (MemberStatus::Active, None));
}

pub async fn an_ams_disable_is_followed_and_undone(db: &mut TestDb) {
    let s = db.s();
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    let mut off = member("A");
    off.details.status = amsync_core::AmsStatus::Disabled;
    let out = s.commit_refresh(commit(off.clone(), t0() + mins(1))).await.unwrap();
    assert!(matches!(out, CommitOutcome::Applied { kind: ChangeKind::Disabled, .. }));
    assert!(s.commit_refresh(commit(off, t0() + mins(2))).await.unwrap().is_unchanged());
    let out = s.commit_refresh(commit(member("A"), t0() + mins(3))).await.unwrap();
    assert!(matches!(out, CommitOutcome::Applied { kind: ChangeKind::Enabled, .. }));
}

pub async fn an_admin_disable_sticks(db: &mut TestDb) {
    db.s().commit_refresh(commit(member("A"), t0())).await.unwrap();
    db.exec("UPDATE members SET status = 'disabled', disabled_reason = 'admin' WHERE key = 'A'").await;
    let s = db.s();
    let out = s.commit_refresh(commit(member("A"), t0() + mins(1))).await.unwrap();
    assert!(out.is_unchanged(), "the AMS saying active does not enable: {out:?}");
    let mut m = member("A");
    m.details.last_name = Some("Byron".into());
    let out = s.commit_refresh(commit(m, t0() + mins(2))).await.unwrap();
    assert_eq!(out, CommitOutcome::Applied { kind: ChangeKind::Changed, fields: 1, group_errors: vec![] });
    let got = s.get_member(&key("A")).await.unwrap().unwrap();
    assert_eq!((got.record.status, got.record.disabled_reason), (MemberStatus::Disabled, Some(DisabledReason::Admin)));
    assert_eq!(got.record.details.last_name.as_deref(), Some("Byron"));
}

pub async fn rules_apply_on_refresh_and_reapply_without_the_ams(db: &mut TestDb) {
    let s = db.s();
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    s.set_community_rules(&exclude_committees()).await.unwrap();
    // A refresh after the change keeps only what the rules let through…
    s.commit_refresh(commit(member("B"), t0())).await.unwrap();
    let b = s.get_member(&key("B")).await.unwrap().unwrap();
    assert_eq!(b.record.memberships.len(), 1);
    assert_eq!(s.ams_memberships(&key("B")).await.unwrap().unwrap().len(), 2, "the full list is kept");
    // …and a re-apply brings the others in line from stored data.
    let (d, c, g) = (db.ms("details_at"), db.ms("communities_at"), db.ms("groups_at"));
    let payload_times = &format!("SELECT SUM({d} + {c} + {g}) FROM member_payloads");
    let payloads = db.scalar(payload_times).await;
    let s = db.s();
    let sum = s.reapply_rules(&exclude_committees(), Trigger::Rules, None, t0() + mins(5)).await.unwrap();
    assert_eq!(sum, ReapplySummary { members: 2, changed: 1, memberships_added: 0, memberships_removed: 1 });
    let a = s.get_member(&key("A")).await.unwrap().unwrap();
    assert_eq!(a.record.memberships.len(), 1);
    assert_eq!(a.record.memberships[0].community.key.as_str(), "CH-NYC");
    let h = s.member_history(&key("A"), 1, None).await.unwrap();
    assert_eq!((h[0].trigger, h[0].kind), (Trigger::Rules, ChangeKind::Changed));
    assert_eq!(h[0].fields[0].field, "/memberships/CMT-A/2026-01-01");
    assert_eq!(h[0].fields[0].after, serde_json::Value::Null);
    assert_eq!(s.ams_memberships(&key("A")).await.unwrap().unwrap().len(), 2);
    assert_eq!(db.scalar(payload_times).await, payloads);
    // Nothing left to change; then back to no rules.
    let s = db.s();
    let again = s.reapply_rules(&exclude_committees(), Trigger::Rules, None, t0()).await.unwrap();
    assert_eq!(again.changed, 0);
    let back = s.reapply_rules(&RuleSet::default(), Trigger::Rules, None, t0()).await.unwrap();
    assert_eq!((back.changed, back.memberships_added), (2, 2));
    let a = s.get_member(&key("A")).await.unwrap().unwrap();
    assert_eq!(a.record.memberships, member("A").memberships);
    // The refresh after that is unchanged: the AMS data did not move.
    assert!(s.commit_refresh(commit(member("A"), t0() + mins(9))).await.unwrap().is_unchanged());
}

pub async fn reapply_walks_every_member_in_batches(db: &mut TestDb) {
    let s = db.s();
    let n = 2_500;
    for i in 0..n {
        s.commit_refresh(commit(member(&format!("M{i:05}")), t0())).await.unwrap();
    }
    let started = std::time::Instant::now();
    let sum = s.reapply_rules(&exclude_committees(), Trigger::Rules, None, t0()).await.unwrap();
    eprintln!("re-applied rules to {n} members in {:?}", started.elapsed());
    assert_eq!((sum.members, sum.changed, sum.memberships_removed), (n, n, n));
    assert_eq!(db.count("memberships").await, n as i64);
    assert_eq!(db.count("member_history").await, 2 * n as i64);
}

pub async fn a_colliding_ams_group_is_a_data_error_not_a_privilege(db: &mut TestDb) {
    let s = db.s();
    let mut m = member("A");
    m.groups.push(group("superadmin"));
    let out = s.commit_refresh(commit(m, t0())).await.unwrap();
    let CommitOutcome::Applied { group_errors, .. } = out else { panic!("{out:?}") };
    assert_eq!(group_errors.len(), 1);
    assert_eq!(group_errors[0].field, "/groups/1/key");
    let got = s.get_member(&key("A")).await.unwrap().unwrap();
    assert_eq!(got.record.ams_groups, vec![group("MEMBER")]);
    let groups = s.security_groups().await.unwrap();
    let sa: Vec<_> = groups.iter().filter(|g| g.key.folded() == "superadmin").collect();
    assert_eq!(sa.len(), 1);
    assert_eq!(sa[0].source, GroupSource::Builtin);
}

pub async fn a_failure_is_kept_on_the_member_until_a_refresh_succeeds(db: &mut TestDb) {
    let s = db.s();
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    let fail = RefreshCommit {
        claim: None,
        key: key("A"),
        trigger: Trigger::Login,
        run_id: None,
        at: t0() + mins(1),
        outcome: failed(FailureKind::Data, Disposition::Dead),
    };
    let before = db.counts(&MEMBER_TABLES).await;
    assert_eq!(db.s().commit_refresh(fail).await.unwrap(), CommitOutcome::FailureRecorded);
    assert_eq!(db.counts(&MEMBER_TABLES).await, before, "the member is left as it was");
    let s = db.s();
    let m = s.get_member(&key("A")).await.unwrap().unwrap();
    assert_eq!(m.last_error.map(|f| f.kind), Some(FailureKind::Data));
    assert_eq!(m.last_error_at, Some(t0() + mins(1)));
    s.commit_refresh(commit(member("A"), t0() + mins(2))).await.unwrap();
    let m = s.get_member(&key("A")).await.unwrap().unwrap();
    assert_eq!((m.last_error, m.last_error_at), (None, None));
}

pub async fn search_matches_text_community_and_group_with_a_cursor(db: &mut TestDb) {
    let db: &TestDb = db;
    let s = db.s();
    for i in 0..12 {
        let k = format!("S{i:02}");
        let mut m = member(&k);
        if i % 2 == 0 {
            m.memberships.truncate(1);
            m.memberships[0].begin = "2027-01-01".parse().unwrap();
            m.memberships[0].end = None;
        }
        if i == 5 {
            m.details.first_name = Some("Émile".into());
            m.groups.push(group("STAFF"));
        }
        s.commit_refresh(commit(m, t0())).await.unwrap();
    }
    let q = |q: MemberQuery| async move { db.s().search_members(&q).await.unwrap() };
    let page = q(MemberQuery { q: Some("ÉMILE".into()), ..Default::default() }).await;
    assert_eq!(page.items.len(), 1, "case-insensitive beyond ASCII");
    assert_eq!(page.items[0].key.as_str(), "S05");
    let page = q(MemberQuery { q: Some("s03@EXAMPLE".into()), ..Default::default() }).await;
    assert_eq!(page.items.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(), ["S03"]);
    let page = q(MemberQuery { group: Some("STAFF".into()), ..Default::default() }).await;
    assert_eq!(page.items.len(), 1);
    let page = q(MemberQuery { community: Some("CMT-A".into()), ..Default::default() }).await;
    assert_eq!(page.items.len(), 6, "odd members kept the committee");
    let day = |d: &str| Some(d.parse().unwrap());
    let page =
        q(MemberQuery { community: Some("CH-NYC".into()), current_on: day("2026-06-01"), ..Default::default() }).await;
    assert_eq!(page.items.len(), 6, "even members' chapter starts in 2027");
    let page =
        q(MemberQuery { community: Some("CH-NYC".into()), current_on: day("2027-06-01"), ..Default::default() }).await;
    assert_eq!(page.items.len(), 6, "odd members' chapter ended in 2026");
    // Keyset pages cover everything once, in key order.
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = q(MemberQuery { limit: 5, cursor: cursor.clone(), ..Default::default() }).await;
        all.extend(page.items.iter().map(|m| m.key.to_string()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(all, (0..12).map(|i| format!("S{i:02}")).collect::<Vec<_>>());
    let bad = db.s().search_members(&MemberQuery { cursor: Some("zz".into()), ..Default::default() }).await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))));
    let page = q(MemberQuery { q: Some("Lovelace".into()), limit: 3, ..Default::default() }).await;
    assert_eq!(page.items[0].last_refreshed_at, Some(t0()));
    assert!(page.next_cursor.is_some());
}
