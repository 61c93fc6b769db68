//! The safety nets: disables and membership removals past the thresholds
//! are held while the rest of each refresh applies; approvals release
//! exactly what they hold, re-validated; a rejected hold stays rejected
//! until the source answers otherwise; rule changes are held whole; an
//! admin's disable sticks, revokes sign-ins and is never held; what an
//! admin made or approved is recorded in the window but never counted
//! against the limits the source's later changes are judged by.

use std::time::Duration;

use amsync_core::diff::ChangeKind;
use amsync_core::record::{DisabledReason, MemberStatus};
use amsync_core::rules::{CommunityRule, RuleAction, RuleSet};
use amsync_core::safety::Thresholds;
use amsync_core::{AmsStatus, Trigger};
use amsync_store::*;

use crate::fixtures::*;
use crate::harness::TestDb;

pub fn limits(max_disables: u64, removal_share: f64) -> Thresholds {
    Thresholds {
        max_disables,
        max_disable_share: 1.0,
        max_membership_removal_share: removal_share,
        window: Duration::from_secs(3600),
    }
}

fn gone(k: &str, at: chrono::DateTime<chrono::Utc>) -> RefreshCommit {
    RefreshCommit {
        claim: None,
        key: key(k),
        trigger: Trigger::Periodic,
        run_id: None,
        at,
        outcome: RefreshOutcome::Gone { status: 404, merged_into: None },
    }
}

async fn load(s: &dyn Store, ks: &[&str]) {
    for k in ks {
        s.commit_refresh(commit(member(k), t0())).await.unwrap();
    }
}

async fn status(s: &dyn Store, k: &str) -> (MemberStatus, Option<DisabledReason>) {
    let m = s.get_member(&key(k)).await.unwrap().expect("stored");
    (m.record.status, m.record.disabled_reason)
}

async fn pending(s: &dyn Store) -> Vec<Approval> {
    let f = ApprovalFilter { status: Some(HoldStatus::Pending), limit: 50, changes_limit: 100, ..Default::default() };
    s.list_approvals(&f).await.unwrap()
}

const ACTIVE: (MemberStatus, Option<DisabledReason>) = (MemberStatus::Active, None);

pub async fn disables_past_the_threshold_are_held_and_the_rest_applies(db: &mut TestDb) {
    let s = db.s();
    s.set_thresholds(limits(2, 1.0));
    load(s, &["A", "B", "C", "D", "E"]).await;
    let run = s.start_run(Trigger::Full, t0(), None, serde_json::Value::Null).await.unwrap();
    let in_run = |mut c: RefreshCommit| {
        c.run_id = Some(run);
        c.trigger = Trigger::Full;
        c
    };
    for k in ["A", "B", "C"] {
        s.commit_refresh(in_run(gone(k, t0() + mins(1)))).await.unwrap();
    }
    assert_eq!(status(s, "A").await, (MemberStatus::Disabled, Some(DisabledReason::AmsNotFound)));
    assert_eq!(status(s, "B").await.0, MemberStatus::Disabled);
    assert_eq!(status(s, "C").await, ACTIVE, "the third disable of the window is held");
    // The AMS saying `disabled` is held too, and the rest of that refresh applies.
    let mut d = member("D");
    d.details.status = AmsStatus::Disabled;
    d.details.last_name = Some("Byron".into());
    let out = s.commit_refresh(in_run(commit(d.clone(), t0() + mins(2)))).await.unwrap();
    assert!(matches!(out, CommitOutcome::Applied { kind: ChangeKind::Changed, .. }), "{out:?}");
    let got = s.get_member(&key("D")).await.unwrap().unwrap();
    assert_eq!((got.record.status, got.record.details.status), (MemberStatus::Active, AmsStatus::Disabled));
    assert_eq!(got.record.details.last_name.as_deref(), Some("Byron"));
    let r = s.get_run(run).await.unwrap().unwrap();
    assert_eq!((r.counts.disabled, r.counts.held), (2, 2), "{r:?}");

    let approvals = pending(s).await;
    assert_eq!(approvals.len(), 1, "one approval per run and kind: {approvals:?}");
    let a = &approvals[0];
    assert_eq!((a.kind, a.run_id, a.trigger), (HoldKind::Disable, Some(run), Trigger::Full));
    assert!(a.reason.contains("thresholds.max_disables = 2"), "{}", a.reason);
    assert_eq!((a.counts.members, a.counts.pending), (2, 2));
    let signals: Vec<_> = a.changes.iter().map(|c| (c.member.to_string(), c.signal.clone())).collect();
    assert_eq!(
        signals,
        [("C".into(), HoldSignal::Gone { status: 404, merged_into: None }), ("D".into(), HoldSignal::AmsStatus)]
    );
    let usage = s.threshold_status(t0() + mins(3)).await.unwrap();
    assert_eq!((usage.usage.disables, usage.usage.active_at_start, usage.pending_approvals), (2, 5, 1));

    // The same answers again hold nothing new.
    s.commit_refresh(gone("C", t0() + mins(4))).await.unwrap();
    s.commit_refresh(commit(d, t0() + mins(4))).await.unwrap();
    assert_eq!(db.count("held_changes").await, 2);
    assert_eq!(status(s, "C").await, ACTIVE);

    // Applying releases exactly those two, as an admin's change.
    let report = s.decide_approval(a.id, ApprovalDecision::Apply, "admin token", t0() + mins(5)).await.unwrap();
    assert_eq!((report.status, report.applied, report.dropped), (HoldStatus::Applied, 2, 0));
    assert_eq!(status(s, "C").await, (MemberStatus::Disabled, Some(DisabledReason::AmsNotFound)));
    assert_eq!(status(s, "D").await, (MemberStatus::Disabled, Some(DisabledReason::AmsStatus)));
    assert_eq!(status(s, "E").await, ACTIVE);
    let h = s.member_history(&key("C"), 1, None).await.unwrap();
    assert_eq!((h[0].kind, h[0].trigger), (ChangeKind::Disabled, Trigger::Admin));
    let again = s.decide_approval(a.id, ApprovalDecision::Reject, "admin token", t0() + mins(6)).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let one = s.get_approval(a.id).await.unwrap().unwrap();
    assert_eq!(
        (one.status, one.decided_by.as_deref(), one.counts.applied),
        (HoldStatus::Applied, Some("admin token"), 2)
    );
    assert!(matches!(s.decide_approval(999, ApprovalDecision::Apply, "x", t0()).await, Err(StoreError::NotFound(_))));
}

pub async fn a_rejected_hold_stays_rejected_until_the_answer_changes(db: &mut TestDb) {
    let s = db.s();
    s.set_thresholds(limits(0, 1.0));
    load(s, &["A", "B"]).await;
    s.commit_refresh(gone("A", t0() + mins(1))).await.unwrap();
    let a = pending(s).await.remove(0);
    s.decide_approval(a.id, ApprovalDecision::Reject, "admin token", t0() + mins(2)).await.unwrap();
    // The same answer: still not applied, and not held as new.
    s.commit_refresh(gone("A", t0() + mins(3))).await.unwrap();
    assert_eq!(status(s, "A").await, ACTIVE);
    assert!(pending(s).await.is_empty());
    assert_eq!(db.scalar("SELECT COUNT(*) FROM held_changes WHERE status = 'rejected'").await, 1);
    let open = db.s().open_held_changes(&key("A")).await.unwrap();
    assert_eq!((open.len(), open[0].status, open[0].approval_id), (1, HoldStatus::Rejected, a.id));
    assert!(db.s().open_held_changes(&key("B")).await.unwrap().is_empty());
    let s = db.s();
    // The AMS answers the member again: the rejection no longer stands…
    s.commit_refresh(commit(member("A"), t0() + mins(4))).await.unwrap();
    assert_eq!(db.scalar("SELECT COUNT(*) FROM held_changes WHERE status = 'dropped'").await, 1);
    // …so a later 404 is a new answer, judged (and held) anew.
    s.commit_refresh(gone("A", t0() + mins(5))).await.unwrap();
    assert_eq!(status(s, "A").await, ACTIVE);
    assert_eq!(pending(s).await.len(), 1);
}

pub async fn applying_revalidates_and_a_moved_on_hold_is_dropped(db: &mut TestDb) {
    let s = db.s();
    s.set_thresholds(limits(0, 1.0));
    load(s, &["A", "B", "C"]).await;
    for k in ["A", "B", "C"] {
        s.commit_refresh(gone(k, t0() + mins(1))).await.unwrap();
    }
    let a = pending(s).await.remove(0);
    assert_eq!(a.counts.pending, 3);
    // B comes back in the AMS: its hold is dropped at once.
    s.commit_refresh(commit(member("B"), t0() + mins(2))).await.unwrap();
    // C is disabled by other means meanwhile.
    db.exec("UPDATE members SET status = 'disabled', disabled_reason = 'ams_status' WHERE key = 'C'").await;
    let s = db.s();
    let report = s.decide_approval(a.id, ApprovalDecision::Apply, "admin token", t0() + mins(3)).await.unwrap();
    assert_eq!((report.applied, report.dropped), (1, 1), "{report:?}");
    assert_eq!(status(s, "A").await.0, MemberStatus::Disabled);
    assert_eq!(status(s, "B").await, ACTIVE);
    let got = s.get_approval(a.id).await.unwrap().unwrap();
    let notes: Vec<_> = got.changes.iter().map(|c| (c.member.to_string(), c.status, c.note.clone())).collect();
    assert_eq!(
        notes,
        [
            ("A".into(), HoldStatus::Applied, None),
            ("B".into(), HoldStatus::Dropped, Some("the source answers the member again".into())),
            ("C".into(), HoldStatus::Dropped, Some("the member is disabled already".into())),
        ]
    );
    // An approval whose every change was dropped is dropped with them.
    s.commit_refresh(gone("B", t0() + mins(4))).await.unwrap();
    let b = pending(s).await.remove(0);
    s.commit_refresh(commit(member("B"), t0() + mins(5))).await.unwrap();
    assert_eq!(s.get_approval(b.id).await.unwrap().unwrap().status, HoldStatus::Dropped);
    assert!(pending(s).await.is_empty());
}

pub async fn membership_removals_past_the_share_are_held_and_kept(db: &mut TestDb) {
    let s = db.s();
    // Five members with two memberships each: 20 % of 10 is 2.
    s.set_thresholds(limits(100, 0.2));
    load(s, &["A", "B", "C", "D", "E"]).await;
    let mut a = member("A");
    a.memberships.pop();
    s.commit_refresh(commit(a, t0() + mins(1))).await.unwrap();
    assert_eq!(s.get_member(&key("A")).await.unwrap().unwrap().record.memberships.len(), 1, "within the share");
    let mut b = member("B");
    b.memberships.clear();
    b.details.last_name = Some("Byron".into());
    s.commit_refresh(commit(b.clone(), t0() + mins(2))).await.unwrap();
    let got = s.get_member(&key("B")).await.unwrap().unwrap();
    assert_eq!(got.record.memberships, member("B").memberships, "the removals are held");
    assert_eq!(got.record.details.last_name.as_deref(), Some("Byron"), "the rest applies");
    assert_eq!(s.ams_memberships(&key("B")).await.unwrap().unwrap().len(), 2, "kept in the stored list too");
    let approval = pending(s).await.remove(0);
    assert_eq!((approval.kind, approval.counts.memberships), (HoldKind::MembershipRemoval, 2));
    // The same answer writes nothing and holds nothing new.
    let before = db.total_changes().await;
    let out = db.s().commit_refresh(commit(b, t0() + mins(3))).await.unwrap();
    assert!(out.is_unchanged(), "{out:?}");
    assert_eq!(db.total_changes().await - before, 1, "bookkeeping only");
    // A rule re-apply keeps held memberships its rules include.
    let s = db.s();
    let sum = s.reapply_rules(&RuleSet::default(), Trigger::Rules, None, t0() + mins(4)).await.unwrap();
    assert_eq!(sum.changed, 0);
    // Applying removes exactly them.
    let r = s.decide_approval(approval.id, ApprovalDecision::Apply, "admin token", t0() + mins(5)).await.unwrap();
    assert_eq!(r.applied, 1);
    let got = s.get_member(&key("B")).await.unwrap().unwrap();
    assert!(got.record.memberships.is_empty());
    assert_eq!(s.ams_memberships(&key("B")).await.unwrap().unwrap(), vec![]);
    let h = s.member_history(&key("B"), 1, None).await.unwrap();
    assert_eq!(h[0].trigger, Trigger::Admin);
    assert_eq!(h[0].fields.len(), 2, "{:?}", h[0].fields);
    let usage = s.threshold_status(t0() + mins(6)).await.unwrap().usage;
    assert_eq!(
        (usage.membership_removals, usage.admin_membership_removals, usage.memberships_at_start),
        (1, 2, 10),
        "the approved removals are recorded as an admin's, and still in the baseline"
    );
}

fn exclude_committees() -> RuleSet {
    RuleSet::new(vec![CommunityRule {
        action: RuleAction::Exclude,
        group_type: Some("Committee".into()),
        group_subtype: Some("*".into()),
    }])
}

pub async fn a_rule_change_past_the_threshold_is_held_whole(db: &mut TestDb) {
    let s = db.s();
    s.set_thresholds(limits(100, 0.1));
    load(s, &["A", "B", "C", "D", "E"]).await;
    let rules = exclude_committees();
    let dry = s.dry_run_rules(&rules).await.unwrap();
    assert_eq!(dry, ReapplySummary { members: 5, changed: 5, memberships_added: 0, memberships_removed: 5 });
    let before = db.total_changes().await;
    let s = db.s();
    let held = s.hold_rule_change_if_over(&rules, &dry, t0()).await.unwrap().expect("held");
    assert_eq!((held.kind, held.status, held.trigger), (HoldKind::RuleChange, HoldStatus::Pending, Trigger::Admin));
    assert_eq!(held.rules.as_ref(), Some(&rules));
    assert_eq!(held.rules_before, Some(RuleSet::default()));
    assert_eq!((held.counts.members, held.counts.memberships), (5, 5));
    assert!(
        held.reason.contains("5 membership removals within 1h would be 50% of the 10 memberships"),
        "{}",
        held.reason
    );
    assert_eq!(s.community_rules().await.unwrap(), RuleSet::default(), "nothing changed");
    assert!(db.total_changes().await - before <= 2, "only the approval was written");
    // Small changes are not held.
    let s = db.s();
    let small = ReapplySummary { members: 5, changed: 1, memberships_added: 0, memberships_removed: 1 };
    assert!(s.hold_rule_change_if_over(&rules, &small, t0()).await.unwrap().is_none());
    // Applying stores the rules and hands them back to re-apply.
    let r = s.decide_approval(held.id, ApprovalDecision::Apply, "admin token", t0() + mins(1)).await.unwrap();
    assert_eq!((r.status, r.rules.as_ref()), (HoldStatus::Applied, Some(&rules)));
    assert_eq!(s.community_rules().await.unwrap(), rules);
    // A held change whose rules changed meanwhile is dropped, not applied.
    let back = s.hold_rule_change_if_over(&RuleSet::default(), &dry, t0() + mins(2)).await.unwrap().unwrap();
    let other =
        RuleSet::new(vec![CommunityRule { action: RuleAction::Include, group_type: None, group_subtype: None }]);
    s.set_community_rules(&other).await.unwrap();
    let r = s.decide_approval(back.id, ApprovalDecision::Apply, "admin token", t0() + mins(3)).await.unwrap();
    assert_eq!((r.status, r.rules), (HoldStatus::Dropped, None));
    assert_eq!(s.community_rules().await.unwrap(), other);
}

pub async fn an_admin_disable_sticks_revokes_and_is_never_held(db: &mut TestDb) {
    let s = db.s();
    s.set_thresholds(limits(0, 1.0));
    load(s, &["A", "B"]).await;
    s.create_session(&NewSession {
        id_hash: "s-a".into(),
        member: key("A"),
        csrf: "c".into(),
        method: "credentials".into(),
        created_at: t0(),
        expires_at: t0() + mins(600),
    })
    .await
    .unwrap();
    let c = s.admin_set_status(&key("A"), true, "admin token", t0() + mins(1)).await.unwrap();
    assert_eq!((c.changed, c.status, c.disabled_reason), (true, MemberStatus::Disabled, Some(DisabledReason::Admin)));
    assert!(s.session("s-a", t0() + mins(1), Duration::from_secs(3600)).await.unwrap().is_none(), "revoked");
    let h = s.member_history(&key("A"), 1, None).await.unwrap();
    assert_eq!((h[0].kind, h[0].trigger), (ChangeKind::Disabled, Trigger::Admin));
    assert_eq!(s.changes_after(0, 100).await.unwrap().last().unwrap().kind, ChangeKind::Disabled);
    let usage = s.threshold_status(t0() + mins(1)).await.unwrap().usage;
    assert_eq!((usage.disables, usage.admin_disables), (0, 1), "recorded, not counted against the limits");
    // Twice is a no-op; the source saying active does not enable.
    assert!(!s.admin_set_status(&key("A"), true, "admin token", t0() + mins(2)).await.unwrap().changed);
    s.commit_refresh(commit(member("A"), t0() + mins(3))).await.unwrap();
    assert_eq!(status(s, "A").await, (MemberStatus::Disabled, Some(DisabledReason::Admin)));
    // Only an admin enables, and the member is refreshed then.
    let c = s.admin_set_status(&key("A"), false, "admin token", t0() + mins(4)).await.unwrap();
    assert_eq!((c.changed, c.status), (true, MemberStatus::Active));
    assert!(s.is_pending(&key("A")).await.unwrap());
    assert!(!s.admin_set_status(&key("B"), false, "admin token", t0()).await.unwrap().changed, "B is active");
    // A member its source disabled is not the admin's to enable.
    db.exec("UPDATE members SET status = 'disabled', disabled_reason = 'ams_not_found' WHERE key = 'B'").await;
    let s = db.s();
    assert!(matches!(s.admin_set_status(&key("B"), false, "x", t0()).await, Err(StoreError::Conflict(_))));
    assert!(matches!(s.admin_set_status(&key("NOPE"), true, "x", t0()).await, Err(StoreError::NotFound(_))));
    // An admin's disable of a member whose disable is held closes the hold.
    s.admin_set_status(&key("A"), false, "x", t0()).await.unwrap();
    s.commit_refresh(gone("A", t0() + mins(5))).await.unwrap();
    assert_eq!(pending(s).await.len(), 1);
    s.admin_set_status(&key("A"), true, "admin token", t0() + mins(6)).await.unwrap();
    assert!(pending(s).await.is_empty());
}

pub async fn a_sample_names_active_members_only(db: &mut TestDb) {
    let s = db.s();
    assert!(s.sample_active_members(3, 7).await.unwrap().is_empty());
    load(s, &["A", "B", "C", "D"]).await;
    s.admin_set_status(&key("B"), true, "admin token", t0()).await.unwrap();
    for seed in 0..8 {
        let got = s.sample_active_members(2, seed).await.unwrap();
        assert_eq!(got.len(), 2, "seed {seed}");
        assert!(!got.contains(&key("B")), "seed {seed}: {got:?}");
    }
    assert_eq!(s.sample_active_members(10, 3).await.unwrap().len(), 3);
}

pub async fn changes_an_admin_approved_or_made_do_not_hold_the_sources_later_changes(db: &mut TestDb) {
    let s = db.s();
    // 40 members with two memberships each: 10 % of 80 memberships is 8.
    s.set_thresholds(limits(2, 0.1));
    let names: Vec<String> = (1..=40).map(|i| format!("M{i:02}")).collect();
    let ks: Vec<&str> = names.iter().map(String::as_str).collect();
    load(s, &ks).await;

    // A rule change removing 40 memberships (half of them) is held, approved
    // and re-applied, as the engine does after an approval.
    let rules = exclude_committees();
    let dry = s.dry_run_rules(&rules).await.unwrap();
    let held = s.hold_rule_change_if_over(&rules, &dry, t0() + mins(1)).await.unwrap().expect("held");
    let r = s.decide_approval(held.id, ApprovalDecision::Apply, "admin token", t0() + mins(2)).await.unwrap();
    let approved = r.rules.expect("the rules to re-apply");
    let sum = s.reapply_rules(&approved, Trigger::Rules, None, t0() + mins(2)).await.unwrap();
    assert_eq!(sum.memberships_removed, 40);
    // An admin disables three members: more than max_disables, never held.
    for k in ["M01", "M02", "M03"] {
        assert!(s.admin_set_status(&key(k), true, "admin token", t0() + mins(3)).await.unwrap().changed);
    }

    // Within the same window the AMS drops the chapter membership of 5 % of
    // the members (2 removals of the 80 held at the window's start), and
    // two members are gone: ordinary changes, applied without an approval.
    for k in ["M10", "M11"] {
        let mut m = member(k);
        m.memberships.retain(|x| x.community.key.as_str() != "CH-NYC");
        s.commit_refresh(commit(m, t0() + mins(4))).await.unwrap();
        let got = s.get_member(&key(k)).await.unwrap().unwrap();
        assert!(got.record.memberships.is_empty(), "{k}: the removal applied: {:?}", got.record.memberships);
    }
    for k in ["M20", "M21"] {
        s.commit_refresh(gone(k, t0() + mins(4))).await.unwrap();
        assert_eq!(status(s, k).await, (MemberStatus::Disabled, Some(DisabledReason::AmsNotFound)), "{k}");
    }
    assert!(pending(s).await.is_empty(), "nothing waits for an approval");

    // The source's own limit still holds: its third disable is held, and
    // the approval that releases it is recorded as an admin's.
    s.commit_refresh(gone("M22", t0() + mins(5))).await.unwrap();
    assert_eq!(status(s, "M22").await, ACTIVE);
    let a = pending(s).await.remove(0);
    assert!(a.reason.contains("3 disables within 1h would be more than thresholds.max_disables = 2"), "{}", a.reason);
    s.decide_approval(a.id, ApprovalDecision::Apply, "admin token", t0() + mins(6)).await.unwrap();
    assert_eq!(status(s, "M22").await.0, MemberStatus::Disabled);

    // For the audit the window shows both; the baselines count everything applied.
    let u = s.threshold_status(t0() + mins(7)).await.unwrap().usage;
    assert_eq!((u.disables, u.admin_disables), (2, 4), "{u:?}");
    assert_eq!((u.membership_removals, u.admin_membership_removals), (2, 40), "{u:?}");
    assert_eq!((u.active_at_start, u.memberships_at_start), (40, 80), "{u:?}");
}
