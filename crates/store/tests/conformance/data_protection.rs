//! Data protection: a member's export holds everything about it; an erase
//! removes all of it and leaves a tombstone that refreshes respect until it
//! is lifted; pruning by age deletes in bounded batches and never what must
//! stay (the newest feed entry, running runs, an admin's disable).

use std::time::Duration;

use amsync_core::diff::ChangeKind;
use amsync_core::safety::Thresholds;
use amsync_core::{AmsStatus, FailureKind, Trigger};
use amsync_store::sqlite::member_data::{MemberKeyColumn, OnErase, MEMBER_KEY_COLUMNS};
use amsync_store::*;

use crate::fixtures::*;
use crate::harness::TestDb;
use crate::safety::limits;

async fn rows_naming(db: &TestDb, c: &MemberKeyColumn, k: &str) -> i64 {
    db.scalar(&format!("SELECT COUNT(*) FROM {} WHERE {} = '{k}'", c.table, c.column)).await
}

/// Rows about `k` in every table an erase deletes from (the store's list
/// of the columns that hold a member key).
async fn rows_about(db: &TestDb, k: &str) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for c in MEMBER_KEY_COLUMNS {
        if matches!(c.on_erase, OnErase::Delete | OnErase::DeleteExcept { .. }) {
            out.push((c.table, rows_naming(db, c, k).await));
        }
    }
    out
}

fn session(id: &str, member: &str) -> NewSession {
    NewSession {
        id_hash: id.into(),
        member: key(member),
        csrf: format!("csrf-{id}"),
        method: "session-variable".into(),
        created_at: t0(),
        expires_at: t0() + mins(12 * 60),
    }
}

fn mobile(hash: &str, member: &str) -> NewMobileToken {
    NewMobileToken {
        hash: hash.into(),
        member: key(member),
        grant: "password".into(),
        created_at: t0(),
        expires_at: t0() + mins(60),
    }
}

fn audit(target: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: t0(),
        actor: ADMIN_TOKEN_ACTOR.into(),
        action: "POST /api/v1/refresh".into(),
        target: Some(target.into()),
        detail: None,
        status: 202,
        request_id: None,
    }
}

/// A and B with everything a member can have: two refreshes (history, feed,
/// payloads), a local group, sessions, a mobile token, a dead letter and a
/// waiting entry, a failure, audit entries.
async fn populate(db: &TestDb) {
    let s = db.s();
    for k in ["A", "B"] {
        s.commit_refresh(commit(member(k), t0())).await.unwrap();
        let mut changed = member(k);
        changed.details.first_name = Some("Augusta".into());
        s.commit_refresh(commit(changed, t0() + mins(1))).await.unwrap();
        s.create_session(&session(&format!("s-{k}"), k)).await.unwrap();
        s.create_mobile_token(&mobile(&format!("t-{k}"), k)).await.unwrap();
        s.record_audit(&audit(&format!("/api/v1/members/{k}/sign-out"))).await.unwrap();
    }
    s.set_group_members(&amsync_core::GroupKey::parse("SuperAdmin").unwrap(), &keys(&["A"]), t0()).await.unwrap();
    // A dead letter of A (its failure is kept on it too).
    s.enqueue(&keys(&["A"]), Trigger::Periodic, None, t0()).await.unwrap();
    let c = s.claim(1, "n1", t0(), LEASE).await.unwrap();
    s.commit_refresh(claimed(&c[0], failed(FailureKind::Permanent, Disposition::Dead), t0())).await.unwrap();
}

pub async fn an_export_holds_everything_about_one_member(db: &mut TestDb) {
    populate(db).await;
    let e = db.s().export_member(&key("A")).await.unwrap().expect("A is held");
    let m = e.member.as_ref().expect("the record");
    assert_eq!(m.record.details.first_name.as_deref(), Some("Augusta"));
    assert_eq!(e.ams_memberships.as_ref().map(Vec::len), Some(2), "before the rules");
    assert_eq!(e.local_groups.len(), 1);
    assert_eq!(e.local_groups[0].group.as_str(), "SuperAdmin");
    let parts: Vec<&str> = e.payloads.iter().map(|p| p.part.as_str()).collect();
    assert_eq!(parts, ["details", "communities", "security_groups"]);
    assert!(e.payloads.iter().all(|p| p.encoding == "application/json" && !p.body.is_empty()));
    // Two refreshes and the SuperAdmin change: newest first.
    let kinds: Vec<ChangeKind> = e.history.iter().map(|h| h.kind).collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    assert_eq!(*kinds.last().unwrap(), ChangeKind::Created);
    assert!(e.refresh.as_ref().is_some_and(|r| r.last_error.is_some()), "the failure is bookkeeping too");
    let states: Vec<_> = e.queue.iter().map(|q| q.state).collect();
    assert_eq!(states, [amsync_core::queue::QueueState::Dead]);
    assert_eq!(e.sessions.len(), 1);
    assert_eq!(e.sessions[0].method, "session-variable");
    assert_eq!(e.mobile_tokens.len(), 1);
    assert!(e.change_feed.len() >= 2 && e.change_feed.iter().all(|f| f.key.as_str() == "A"));
    assert_eq!(e.audit.len(), 1, "only the entry whose target is A: {:?}", e.audit);
    assert!(e.tombstone.is_none());
    assert!(db.s().export_member(&key("NOBODY")).await.unwrap().is_none(), "nothing held, no export");
}

fn in_run(mut c: RefreshCommit, run: RunId) -> RefreshCommit {
    c.run_id = Some(run);
    c
}

/// `populate`, and a row naming A in every other table that can hold a
/// member key: C's record merged into A, an audit entry whose target is A,
/// a ledger row (a removal applied), and held changes: A's removals held
/// in one approval with B's, A's disable alone in another.
async fn populate_every_table(db: &TestDb) -> (ApprovalId, ApprovalId) {
    let s = db.s();
    s.commit_refresh(commit(member("C"), t0())).await.unwrap();
    let merged = RefreshOutcome::Gone { status: 410, merged_into: Some(key("A")) };
    s.commit_refresh(RefreshCommit { outcome: merged, ..commit(member("C"), t0()) }).await.unwrap();
    populate(db).await;
    let s = db.s();
    s.record_audit(&audit("A")).await.unwrap();
    let without_committee = |k: &str| {
        let mut m = member(k);
        m.details.first_name = Some("Augusta".into());
        m.memberships.pop();
        m
    };
    s.commit_refresh(commit(without_committee("A"), t0() + mins(2))).await.unwrap();
    assert_eq!(s.get_member(&key("A")).await.unwrap().unwrap().record.memberships.len(), 1, "applied");
    s.set_thresholds(limits(0, 0.0));
    let shared = s.start_run(Trigger::Full, t0(), None, serde_json::Value::Null).await.unwrap();
    let emptied = |k: &str| {
        let mut m = without_committee(k);
        m.memberships.clear();
        m
    };
    for k in ["A", "B"] {
        s.commit_refresh(in_run(commit(emptied(k), t0() + mins(3)), shared)).await.unwrap();
    }
    let alone = s.start_run(Trigger::Full, t0(), None, serde_json::Value::Null).await.unwrap();
    let mut disabled = emptied("A");
    disabled.details.status = AmsStatus::Disabled;
    s.commit_refresh(in_run(commit(disabled, t0() + mins(4)), alone)).await.unwrap();
    s.set_thresholds(Thresholds::unlimited());
    let f = ApprovalFilter { status: Some(HoldStatus::Pending), limit: 10, changes_limit: 10, ..Default::default() };
    let pending = s.list_approvals(&f).await.unwrap();
    let id_of = |run| pending.iter().find(|a| a.run_id == Some(run)).map(|a| a.id).expect("an approval of the run");
    let (shared, alone) = (id_of(shared), id_of(alone));
    assert_eq!(s.get_approval(shared).await.unwrap().unwrap().counts.pending, 2, "A's and B's removals");
    assert_eq!(s.get_approval(alone).await.unwrap().unwrap().counts.pending, 1, "A's disable");
    (shared, alone)
}

pub async fn an_erase_and_an_export_cover_every_table_that_names_the_member(db: &mut TestDb) {
    let (shared, alone) = populate_every_table(db).await;
    let export = db.s().export_member(&key("A")).await.unwrap().expect("A is held");
    let mut before = Vec::new();
    for c in MEMBER_KEY_COLUMNS {
        let (a, b, all) = (rows_naming(db, c, "A").await, rows_naming(db, c, "B").await, db.count(c.table).await);
        if let Some(rows_in_export) = c.in_export {
            let n = rows_in_export(&export);
            assert!(n as i64 >= a, "{}.{}: the export carries {n} of the member's {a} rows", c.table, c.column);
        }
        before.push((a, b, all));
    }
    let erase = EraseRequest { key: key("A"), actor: "admin token".into(), reason: None, at: t0() + mins(5) };
    let report = db.s().erase_member(&erase).await.unwrap();
    assert_eq!((report.removed.held_changes, report.removed.threshold_ledger), (2, 1), "{:?}", report.removed);
    let after_export = db.s().export_member(&key("A")).await.unwrap().expect("the tombstone is held");
    for (c, (a_before, b_before, all_before)) in MEMBER_KEY_COLUMNS.iter().zip(before) {
        let (what, a) = (format!("{}.{}", c.table, c.column), rows_naming(db, c, "A").await);
        assert!(a_before > 0 || a > 0, "{what}: no row names A here, so this test proves nothing about it: extend it");
        assert_eq!(rows_naming(db, c, "B").await, b_before, "{what}: B is untouched");
        match c.on_erase {
            OnErase::Delete => assert_eq!(a, 0, "{what}: deleted"),
            OnErase::DeleteExcept { kept_where, why } => {
                assert!(!why.is_empty(), "{what}");
                let sql = format!("SELECT COUNT(*) FROM {} WHERE {} = 'A' AND ({kept_where})", c.table, c.column);
                assert_eq!(a, db.scalar(&sql).await, "{what}: only the rows kept on purpose");
            }
            OnErase::ClearKey { why } => {
                assert!(!why.is_empty(), "{what}");
                assert_eq!((a, db.count(c.table).await), (0, all_before), "{what}: the key goes, the rows stay");
            }
            OnErase::Keep { why } => {
                assert!(!why.is_empty(), "{what}");
                assert!(a >= a_before, "{what}: kept");
            }
        }
        if let Some(rows_in_export) = c.in_export {
            assert!(rows_in_export(&after_export) as i64 >= a, "{what}: what is left is exported");
        }
    }
    // An approval left with nothing pending is no longer pending; one that
    // still holds another member's change waits for the admin.
    let s = db.s();
    let a = s.get_approval(alone).await.unwrap().unwrap();
    assert_eq!((a.status, a.counts.members), (HoldStatus::Dropped, 0), "{a:?}");
    assert!(a.note.as_deref().is_some_and(|n| n.contains("erased")), "{a:?}");
    let b = s.get_approval(shared).await.unwrap().unwrap();
    assert_eq!((b.status, b.counts.pending), (HoldStatus::Pending, 1), "{b:?}");
    assert_eq!(b.changes[0].member.as_str(), "B");
    assert!(after_export.held_changes.is_empty() && after_export.threshold_ledger.is_empty());
}

pub async fn an_erase_removes_every_row_and_leaves_a_tombstone(db: &mut TestDb) {
    populate(db).await;
    let b_before = rows_about(db, "B").await;
    let erase = EraseRequest {
        key: key("A"),
        actor: "admin token".into(),
        reason: Some("GDPR #42".into()),
        at: t0() + mins(5),
    };
    let report = db.s().erase_member(&erase).await.unwrap();
    assert!(!report.already_tombstoned);
    let r = report.removed;
    assert_eq!((r.member, r.payloads, r.refresh, r.sessions, r.mobile_tokens, r.queue), (1, 1, 1, 1, 1, 1), "{r:?}");
    assert_eq!(r.memberships, 2);
    assert_eq!(r.groups, 2, "MEMBER and SuperAdmin");
    assert_eq!(r.history, 3);
    assert!(r.change_feed >= 2);
    let left: Vec<_> = rows_about(db, "A").await.into_iter().filter(|(_, n)| *n > 0).collect();
    assert_eq!(left, [("change_feed", 1)], "only the erased entry");
    assert_eq!(rows_about(db, "B").await, b_before, "B is untouched");
    let feed = db.s().changes_after(0, 100).await.unwrap();
    let last = feed.last().unwrap();
    assert_eq!((last.key.as_str(), last.kind), ("A", ChangeKind::Erased), "the site is told to drop A");
    let stone = db.s().tombstone(&key("A")).await.unwrap().expect("a tombstone");
    assert_eq!((stone.actor.as_str(), stone.reason.as_deref()), ("admin token", Some("GDPR #42")));
    assert_eq!(stone.erased_at, t0() + mins(5));
    // What is left of A: the tombstone, the audit entry and the erased entry.
    let e = db.s().export_member(&key("A")).await.unwrap().expect("the tombstone is held");
    assert!(e.member.is_none() && e.history.is_empty() && e.sessions.is_empty() && e.payloads.is_empty());
    assert_eq!((e.audit.len(), e.change_feed.len()), (1, 1));
    // Erasing again changes nothing and says so.
    let again = db.s().erase_member(&EraseRequest { at: t0() + mins(9), ..erase }).await.unwrap();
    assert!(again.already_tombstoned);
    assert_eq!(again.removed.total(), 0);
    assert_eq!(again.tombstone, stone, "the first tombstone is kept");
    let listed = db.s().list_tombstones(10, None).await.unwrap();
    assert_eq!(listed, vec![stone]);
}

pub async fn a_tombstoned_key_is_not_brought_back_until_lifted(db: &mut TestDb) {
    let s = db.s();
    let erase = EraseRequest { key: key("A"), actor: "admin token".into(), reason: None, at: t0() };
    let report = s.erase_member(&erase).await.unwrap();
    assert_eq!(report.removed.total(), 0, "a key never held is tombstoned all the same");
    // A serial refresh, a claimed one and a failed one write nothing.
    assert_eq!(s.commit_refresh(commit(member("A"), t0())).await.unwrap(), CommitOutcome::Tombstoned);
    let run = s.start_run(Trigger::Manual, t0(), None, serde_json::Value::Null).await.unwrap();
    s.enqueue(&keys(&["A"]), Trigger::Manual, Some(run), t0()).await.unwrap();
    s.finish_listing(run, t0(), None, None).await.unwrap();
    let c = s.claim(1, "n1", t0(), LEASE).await.unwrap();
    let out = s.commit_refresh(claimed(&c[0], fetched(member("A")), t0())).await.unwrap();
    assert_eq!(out, CommitOutcome::Tombstoned);
    s.enqueue(&keys(&["A"]), Trigger::Manual, None, t0()).await.unwrap();
    let c = s.claim(1, "n1", t0(), LEASE).await.unwrap();
    let retry = Disposition::Retry { due: t0() + mins(1) };
    assert_eq!(
        s.commit_refresh(claimed(&c[0], failed(FailureKind::Transient, retry), t0())).await.unwrap(),
        CommitOutcome::Tombstoned
    );
    let left: Vec<_> = rows_about(db, "A").await.into_iter().filter(|(_, n)| *n > 0).collect();
    assert!(left.is_empty(), "nothing about A: {left:?}");
    let run = db.s().get_run(run).await.unwrap().unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded, "the entry settled and the run finished: {run:?}");
    // Lifted, the next refresh brings the record back.
    let s = db.s();
    assert!(s.lift_tombstone(&key("A")).await.unwrap());
    assert!(!s.lift_tombstone(&key("A")).await.unwrap());
    let out = s.commit_refresh(commit(member("A"), t0() + mins(3))).await.unwrap();
    assert!(matches!(out, CommitOutcome::Applied { kind: ChangeKind::Created, .. }), "{out:?}");
}

pub async fn an_erase_of_the_newest_feed_entry_never_reuses_its_sequence(db: &mut TestDb) {
    let s = db.s();
    s.commit_refresh(commit(member("B"), t0())).await.unwrap();
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    let feed = s.changes_after(0, 10).await.unwrap();
    let reader_cursor = feed.last().unwrap().seq;
    assert_eq!(feed.last().unwrap().key.as_str(), "A");
    let erase = EraseRequest { key: key("A"), actor: "admin token".into(), reason: None, at: t0() };
    s.erase_member(&erase).await.unwrap();
    // A reader that had read A's entry still sees the erase after its cursor.
    let next = s.changes_after(reader_cursor, 10).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!((next[0].key.as_str(), next[0].kind), ("A", ChangeKind::Erased));
    assert!(next[0].seq > reader_cursor);
}

pub async fn an_erase_lets_the_runs_of_its_entries_finish(db: &mut TestDb) {
    let s = db.s();
    let run = s.start_run(Trigger::Manual, t0(), None, serde_json::Value::Null).await.unwrap();
    s.enqueue(&keys(&["A", "B"]), Trigger::Manual, Some(run), t0()).await.unwrap();
    s.finish_listing(run, t0(), None, None).await.unwrap();
    let c = s.claim(10, "n1", t0(), LEASE).await.unwrap();
    let b = c.iter().find(|c| c.key.as_str() == "B").unwrap();
    s.commit_refresh(claimed(b, fetched(member("B")), t0())).await.unwrap();
    assert_eq!(s.get_run(run).await.unwrap().unwrap().outcome, RunOutcome::Running, "A is running");
    let erase = EraseRequest { key: key("A"), actor: "admin token".into(), reason: None, at: t0() };
    assert_eq!(s.erase_member(&erase).await.unwrap().removed.queue, 1);
    let got = s.get_run(run).await.unwrap().unwrap();
    assert_ne!(got.outcome, RunOutcome::Running, "the run finished with its last entry: {got:?}");
    // A's worker comes back: its claim no longer holds.
    let a = c.iter().find(|c| c.key.as_str() == "A").unwrap();
    assert_eq!(s.commit_refresh(claimed(a, fetched(member("A")), t0())).await.unwrap(), CommitOutcome::Fenced);
}

fn policy() -> RetentionPolicy {
    let days = |d: u64| Duration::from_secs(d * 24 * 3600);
    RetentionPolicy {
        history: days(30),
        change_feed: days(7),
        runs: days(10),
        sessions: days(1),
        session_idle_timeout: Duration::from_secs(3600),
        used_token_ids: Duration::from_secs(3600),
        disabled_members: days(100),
    }
}

pub async fn pruning_deletes_history_and_feed_by_age_in_bounded_batches(db: &mut TestDb) {
    let now = db.time(t0());
    // 2,500 history rows and feed entries 40 days old, then 10 fresh ones.
    db.exec(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
         INSERT INTO member_history (member_key, at, trigger, kind, run_id, fields)
           SELECT 'OLD' || i, {old}, 'periodic', 'changed', NULL, '[]' FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
         INSERT INTO change_feed (member_key, kind, at) SELECT 'OLD' || i, 'changed', {old} FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
         INSERT INTO member_history (member_key, at, trigger, kind, run_id, fields)
           SELECT 'NEW' || i, {now}, 'periodic', 'changed', NULL, '[]' FROM n;",
        old = db.time(t0() - chrono::Duration::days(40))
    ))
    .await;
    let report = db.s().prune(&policy(), t0()).await.unwrap();
    assert_eq!(report.history, 2500);
    assert!(report.batches >= 3 + 3, "history and feed go 1,000 rows per write at most: {report:?}");
    assert_eq!(db.count("member_history").await, 10);
    // The feed is all old, but its newest entry stays so no sequence is reused.
    assert_eq!(report.change_feed, 2499);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM change_feed WHERE member_key = 'OLD2500'").await, 1);
    let again = db.s().prune(&policy(), t0()).await.unwrap();
    assert_eq!(again.total(), 0, "a second pass finds nothing: {again:?}");
}

pub async fn pruning_keeps_running_runs_and_an_admins_disable(db: &mut TestDb) {
    let s = db.s();
    let old = t0() - chrono::Duration::days(200);
    let finished = s.start_run(Trigger::Periodic, old, None, serde_json::Value::Null).await.unwrap();
    s.finish_run(finished, old, RunOutcome::Succeeded, None).await.unwrap();
    let running = s.start_run(Trigger::Full, old, None, serde_json::Value::Null).await.unwrap();
    let recent = s.start_run(Trigger::Periodic, t0(), None, serde_json::Value::Null).await.unwrap();
    s.finish_run(recent, t0(), RunOutcome::Succeeded, None).await.unwrap();
    // Disabled long ago by the AMS, by an admin, and recently.
    for k in ["GONE", "ADMIN", "FRESH", "ACTIVE"] {
        s.commit_refresh(commit(member(k), old)).await.unwrap();
    }
    let long_ago = db.time(old);
    db.exec(&format!(
        "UPDATE members SET status = 'disabled', disabled_reason = 'ams_not_found', updated_at = {long_ago} WHERE key = 'GONE';
         UPDATE members SET status = 'disabled', disabled_reason = 'admin', updated_at = {long_ago} WHERE key = 'ADMIN';
         UPDATE members SET status = 'disabled', disabled_reason = 'ams_status', updated_at = {} WHERE key = 'FRESH';",
        db.time(t0())
    ))
    .await;
    let report = db.s().prune(&policy(), t0()).await.unwrap();
    assert_eq!((report.runs, report.disabled_members), (1, 1), "{report:?}");
    let s = db.s();
    assert!(s.get_run(finished).await.unwrap().is_none());
    assert!(s.get_run(running).await.unwrap().is_some(), "a running run stays, however old");
    assert!(s.get_run(recent).await.unwrap().is_some());
    let left: Vec<_> = rows_about(db, "GONE").await.into_iter().filter(|(_, n)| *n > 0).collect();
    assert_eq!(left, [("change_feed", 1)], "its erased entry (the old ones went with the feed's retention)");
    let s = db.s();
    let last = s.changes_after(0, 100).await.unwrap().pop().unwrap();
    assert_eq!((last.key.as_str(), last.kind), ("GONE", ChangeKind::Erased));
    assert!(s.tombstone(&key("GONE")).await.unwrap().is_none(), "the AMS may bring it back");
    for k in ["ADMIN", "FRESH", "ACTIVE"] {
        assert!(s.get_member(&key(k)).await.unwrap().is_some(), "{k} stays");
    }
}

pub async fn pruning_removes_ended_sign_ins_after_their_retention(db: &mut TestDb) {
    let s = db.s();
    s.create_session(&session("live", "A")).await.unwrap();
    s.create_session(&NewSession { expires_at: t0() + mins(60), ..session("ended", "A") }).await.unwrap();
    s.create_mobile_token(&mobile("tok", "A")).await.unwrap();
    s.use_token_id("jti", t0() + mins(5)).await.unwrap();
    // A day after they ended, not yet; a day and an hour after, gone. The
    // live session was used recently enough (its idle clock is refreshed).
    let at = t0() + mins(60 + 24 * 60 - 1);
    db.exec(&format!("UPDATE sessions SET last_seen_at = {} WHERE id_hash = 'live'", db.time(at))).await;
    let early = db.s().prune(&policy(), at).await.unwrap();
    assert_eq!((early.sessions, early.mobile_tokens, early.used_token_ids), (0, 0, 1), "{early:?}");
    let later = db.s().prune(&policy(), t0() + mins(60 + 24 * 60 + 1)).await.unwrap();
    assert_eq!((later.sessions, later.mobile_tokens), (1, 1), "{later:?}");
    assert_eq!(db.scalar("SELECT COUNT(*) FROM sessions WHERE id_hash = 'live'").await, 1);
}

pub async fn pruning_removes_decided_approvals_but_keeps_a_standing_rejection(db: &mut TestDb) {
    let old = db.time(t0() - chrono::Duration::days(200));
    let recent = db.time(t0() - chrono::Duration::days(1));
    // 1 applied long ago; 2 rejected long ago, its rejection still standing;
    // 3 rejected long ago, the AMS since answered otherwise (dropped);
    // 4 applied recently; 5 pending, old.
    db.exec(&format!(
        "INSERT INTO approvals (id, kind, status, reason, trigger, created_at, updated_at, decided_at) VALUES
           (1, 'disable', 'applied', 'r', 'periodic', {old}, {old}, {old}),
           (2, 'disable', 'rejected', 'r', 'periodic', {old}, {old}, {old}),
           (3, 'disable', 'rejected', 'r', 'periodic', {old}, {old}, {old}),
           (4, 'disable', 'applied', 'r', 'periodic', {recent}, {recent}, {recent}),
           (5, 'disable', 'pending', 'r', 'periodic', {old}, {old}, NULL);
         INSERT INTO held_changes (approval_id, member_key, kind, status, signal, created_at, decided_at) VALUES
           (1, 'A', 'disable', 'applied', '\"not_found\"', {old}, {old}),
           (1, 'B', 'disable', 'applied', '\"not_found\"', {old}, {old}),
           (2, 'C', 'disable', 'rejected', '\"not_found\"', {old}, {old}),
           (3, 'D', 'disable', 'dropped', '\"not_found\"', {old}, {old}),
           (4, 'E', 'disable', 'applied', '\"not_found\"', {recent}, {recent}),
           (5, 'F', 'disable', 'pending', '\"not_found\"', {old}, NULL);"
    ))
    .await;
    let report = db.s().prune(&policy(), t0()).await.unwrap();
    assert_eq!(report.approvals, 2, "{report:?}");
    assert_eq!(db.count("approvals").await, 3);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM approvals WHERE id IN (2, 4, 5)").await, 3, "2, 4 and 5 stay");
    assert_eq!(db.count("held_changes").await, 3);
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM held_changes WHERE member_key IN ('C', 'E', 'F')").await,
        3,
        "held changes go with their approval"
    );
    assert_eq!(db.s().prune(&policy(), t0()).await.unwrap().approvals, 0);
}
