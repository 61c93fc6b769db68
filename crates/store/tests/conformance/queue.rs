//! The Refresh Queue: uniqueness, merging, claim order, leases, fencing,
//! dispositions and requeue.

use amsync_core::queue::{priority_of, QueueState};
use amsync_core::{FailureKind, Trigger};
use amsync_store::*;

use crate::fixtures::*;
use crate::harness::TestDb;

async fn entries(db: &TestDb, state: Option<QueueState>) -> Vec<QueueEntry> {
    db.s().list_queue(state, 1000, None).await.unwrap()
}

async fn entry_of(db: &TestDb, k: &str) -> QueueEntry {
    let all = entries(db, None).await;
    let mine: Vec<_> = all.into_iter().filter(|e| e.key.as_str() == k).collect();
    assert_eq!(mine.len(), 1, "one entry of {k}: {mine:?}");
    mine.into_iter().next().unwrap()
}

pub async fn one_waiting_entry_per_key(db: &mut TestDb) {
    let s = db.s();
    let r = s.enqueue(&keys(&["A", "A", "B"]), Trigger::Periodic, None, t0()).await.unwrap();
    assert_eq!((r.created, r.merged), (2, 1));
    let r = s.enqueue(&keys(&["A", "C"]), Trigger::Webhook, None, t0()).await.unwrap();
    assert_eq!((r.created, r.merged), (1, 1));
    let c = s.queue_counts().await.unwrap();
    assert_eq!((c.queued, c.running, c.retrying, c.dead), (3, 0, 0, 0));
    assert!(c.oldest_waiting_since.is_some());
    assert!(s.is_pending(&key("A")).await.unwrap());
    assert!(!s.is_pending(&key("Z")).await.unwrap());
}

pub async fn running_key_gets_a_new_waiting_entry_but_never_runs_twice(db: &mut TestDb) {
    let s = db.s();
    s.enqueue(&keys(&["A"]), Trigger::Periodic, None, t0()).await.unwrap();
    let first = s.claim(10, "n1", t0(), LEASE).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(s.is_pending(&key("A")).await.unwrap(), "running counts as pending");
    // A change arrives mid-refresh: it gets its own waiting entry.
    let r = s.enqueue(&keys(&["A"]), Trigger::Webhook, None, t0()).await.unwrap();
    assert_eq!(r.created, 1);
    let c = s.queue_counts().await.unwrap();
    assert_eq!((c.queued, c.running), (1, 1));
    assert!(s.claim(10, "n2", t0(), LEASE).await.unwrap().is_empty(), "A is running");
    let out = s.commit_refresh(claimed(&first[0], fetched(member("A")), t0())).await.unwrap();
    assert!(matches!(out, CommitOutcome::Applied { .. }));
    let second = s.claim(10, "n2", t0(), LEASE).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].trigger, Trigger::Webhook);
    assert_ne!(second[0].id, first[0].id);
}

pub async fn merging_raises_priority_moves_due_earlier_and_keeps_attempts(db: &mut TestDb) {
    let s = db.s();
    s.enqueue(&keys(&["A"]), Trigger::Full, None, t0() + mins(10)).await.unwrap();
    s.enqueue(&keys(&["A"]), Trigger::Login, None, t0() + mins(5)).await.unwrap();
    let e = entry_of(db, "A").await;
    assert_eq!(e.priority, priority_of(Trigger::Login));
    assert_eq!(e.trigger, Trigger::Login);
    assert_eq!(e.due_at, t0() + mins(5));
    // A lower priority and later due time change nothing.
    s.enqueue(&keys(&["A"]), Trigger::Full, None, t0() + mins(20)).await.unwrap();
    let e = entry_of(db, "A").await;
    assert_eq!((e.priority, e.due_at, e.trigger), (priority_of(Trigger::Login), t0() + mins(5), Trigger::Login));
    // Attempts survive a merge.
    let c = s.claim(1, "n", t0() + mins(5), LEASE).await.unwrap();
    assert_eq!(c[0].attempts, 1);
    let retry = Disposition::Retry { due: t0() + mins(30) };
    s.commit_refresh(claimed(&c[0], failed(FailureKind::Transient, retry), t0() + mins(5))).await.unwrap();
    s.enqueue(&keys(&["A"]), Trigger::Manual, None, t0() + mins(6)).await.unwrap();
    let e = entry_of(db, "A").await;
    assert_eq!(e.state, QueueState::Retrying);
    assert_eq!(e.attempts, 1);
    assert_eq!(e.due_at, t0() + mins(6));
    let c = s.claim(1, "n", t0() + mins(6), LEASE).await.unwrap();
    assert_eq!(c[0].attempts, 2);
}

pub async fn claim_order_follows_priority_with_aging(db: &mut TestDb) {
    let s = db.s();
    s.enqueue(&keys(&["FULL"]), Trigger::Full, None, t0()).await.unwrap();
    s.enqueue(&keys(&["PERIODIC"]), Trigger::Periodic, None, t0()).await.unwrap();
    s.enqueue(&keys(&["LOGIN"]), Trigger::Login, None, t0() + mins(10)).await.unwrap();
    let later = t0() + mins(60);
    let got: Vec<String> =
        s.claim(10, "n", later, LEASE).await.unwrap().iter().map(|c| c.key.as_str().to_owned()).collect();
    assert_eq!(got, ["LOGIN", "PERIODIC", "FULL"]);

    // Aging: a full refresh that has waited six steps overtakes a fresh login.
    let step = chrono::Duration::from_std(amsync_core::queue::AGING_STEP).unwrap();
    s.enqueue(&keys(&["OLD-FULL"]), Trigger::Full, None, t0()).await.unwrap();
    s.enqueue(&keys(&["NEW-LOGIN"]), Trigger::Login, None, t0() + step * 6).await.unwrap();
    let got: Vec<String> =
        s.claim(10, "n", t0() + step * 7, LEASE).await.unwrap().iter().map(|c| c.key.as_str().to_owned()).collect();
    assert_eq!(got, ["OLD-FULL", "NEW-LOGIN"]);
}

/// Entries of equal claim order (one run's, enqueued page by page due at the
/// run's start) are claimed in key order, whatever order they arrived in:
/// the refreshes then write neighbouring keys in each commit.
pub async fn equal_claim_order_is_taken_in_key_order(db: &mut TestDb) {
    let s = db.s();
    s.enqueue(&keys(&["M07", "M02", "M09"]), Trigger::Full, None, t0()).await.unwrap();
    s.enqueue(&keys(&["M05", "M01", "M08"]), Trigger::Full, None, t0()).await.unwrap();
    s.enqueue(&keys(&["M03"]), Trigger::Periodic, None, t0()).await.unwrap();
    let got: Vec<String> =
        s.claim(4, "n", t0(), LEASE).await.unwrap().iter().map(|c| c.key.as_str().to_owned()).collect();
    assert_eq!(got, ["M03", "M01", "M02", "M05"], "the higher priority first, then key order");
    let got: Vec<String> =
        s.claim(10, "n", t0(), LEASE).await.unwrap().iter().map(|c| c.key.as_str().to_owned()).collect();
    assert_eq!(got, ["M07", "M08", "M09"]);
}

pub async fn claim_takes_only_due_entries_and_respects_the_limit(db: &mut TestDb) {
    let s = db.s();
    s.enqueue(&keys(&["A", "B", "C"]), Trigger::Periodic, None, t0()).await.unwrap();
    s.enqueue(&keys(&["LATER"]), Trigger::Login, None, t0() + mins(5)).await.unwrap();
    assert!(s.claim(0, "n", t0(), LEASE).await.unwrap().is_empty());
    let c = s.claim(2, "n", t0(), LEASE).await.unwrap();
    assert_eq!(c.len(), 2);
    assert!(c.iter().all(|c| c.attempts == 1 && c.lease_until == t0() + chrono::Duration::seconds(120)));
    let c2 = s.claim(10, "n", t0(), LEASE).await.unwrap();
    assert_eq!(c2.len(), 1, "LATER is not due yet");
    assert!(c2[0].fence > c[0].fence, "every claim gets a fresh fence");
    assert_eq!(s.claim(10, "n", t0() + mins(5), LEASE).await.unwrap().len(), 1);
}

pub async fn a_stale_fence_commits_nothing(db: &mut TestDb) {
    let s = db.s();
    s.enqueue(&keys(&["A"]), Trigger::Periodic, None, t0()).await.unwrap();
    let short = std::time::Duration::from_secs(1);
    let stale = s.claim(1, "slow-node", t0(), short).await.unwrap().remove(0);
    assert_eq!(s.rescue_expired(t0() + chrono::Duration::seconds(2)).await.unwrap(), 1);
    let fresh = s.claim(1, "n2", t0() + chrono::Duration::seconds(2), LEASE).await.unwrap().remove(0);
    assert_eq!(fresh.id, stale.id);
    assert_ne!(fresh.fence, stale.fence);
    assert_eq!(fresh.attempts, 2);
    let before = db.counts(&crate::harness::MEMBER_TABLES).await;
    let out = s.commit_refresh(claimed(&stale, fetched(member("A")), t0())).await.unwrap();
    assert_eq!(out, CommitOutcome::Fenced);
    assert_eq!(db.counts(&crate::harness::MEMBER_TABLES).await, before, "a fenced commit writes nothing");
    assert!(s.get_member(&key("A")).await.unwrap().is_none());
    assert_eq!(s.renew(&[stale.token(), fresh.token()], t0(), LEASE).await.unwrap(), [false, true]);
    let out = s.commit_refresh(claimed(&fresh, fetched(member("A")), t0())).await.unwrap();
    assert!(matches!(out, CommitOutcome::Applied { .. }));
    assert_eq!(s.queue_counts().await.unwrap(), QueueCounts::default());
}

pub async fn renewing_keeps_a_lease_from_expiring(db: &mut TestDb) {
    let s = db.s();
    s.enqueue(&keys(&["A"]), Trigger::Periodic, None, t0()).await.unwrap();
    let short = std::time::Duration::from_secs(60);
    let c = s.claim(1, "n", t0(), short).await.unwrap().remove(0);
    assert_eq!(s.renew(&[c.token()], t0() + chrono::Duration::seconds(50), short).await.unwrap(), [true]);
    assert_eq!(s.rescue_expired(t0() + chrono::Duration::seconds(70)).await.unwrap(), 0);
    assert_eq!(s.rescue_expired(t0() + chrono::Duration::seconds(111)).await.unwrap(), 1);
    let e = entry_of(db, "A").await;
    assert_eq!(e.state, QueueState::Retrying);
    assert_eq!(e.attempts, 1, "the crashed attempt counts");
}

pub async fn rescue_drops_an_expired_entry_whose_key_waits_again(db: &mut TestDb) {
    let s = db.s();
    s.enqueue(&keys(&["A"]), Trigger::Periodic, None, t0()).await.unwrap();
    s.claim(1, "n", t0(), std::time::Duration::from_secs(1)).await.unwrap();
    s.enqueue(&keys(&["A"]), Trigger::Webhook, None, t0()).await.unwrap();
    assert_eq!(s.rescue_expired(t0() + mins(1)).await.unwrap(), 1);
    let e = entry_of(db, "A").await;
    assert_eq!((e.state, e.trigger), (QueueState::Queued, Trigger::Webhook));
}

pub async fn retry_waits_for_its_due_time(db: &mut TestDb) {
    let s = db.s();
    s.enqueue(&keys(&["A"]), Trigger::Periodic, None, t0()).await.unwrap();
    let c = s.claim(1, "n", t0(), LEASE).await.unwrap().remove(0);
    let due = t0() + mins(2);
    let out = s.commit_refresh(claimed(&c, failed(FailureKind::Transient, Disposition::Retry { due }), t0())).await;
    assert_eq!(out.unwrap(), CommitOutcome::FailureRecorded);
    let e = entry_of(db, "A").await;
    assert_eq!((e.state, e.attempts, e.due_at), (QueueState::Retrying, 1, due));
    assert_eq!(e.last_error.as_ref().map(|f| f.kind), Some(FailureKind::Transient));
    assert_eq!(e.last_error_at, Some(t0()));
    assert_eq!(e.lease_until, None);
    assert!(s.claim(1, "n", t0() + mins(1), LEASE).await.unwrap().is_empty());
    let again = s.claim(1, "n", due, LEASE).await.unwrap();
    assert_eq!(again[0].attempts, 2);
    // The member's own record of the failure.
    assert!(s.get_member(&key("A")).await.unwrap().is_none(), "a failure creates no member");
}

pub async fn dead_letters_wait_for_a_requeue_and_an_enqueue_replaces_them(db: &mut TestDb) {
    let s = db.s();
    s.enqueue(&keys(&["A", "B"]), Trigger::Periodic, None, t0()).await.unwrap();
    for c in s.claim(2, "n", t0(), LEASE).await.unwrap() {
        s.commit_refresh(claimed(&c, failed(FailureKind::Permanent, Disposition::Dead), t0())).await.unwrap();
    }
    let c = s.queue_counts().await.unwrap();
    assert_eq!((c.dead, c.queued, c.running), (2, 0, 0));
    assert!(!s.is_pending(&key("A")).await.unwrap(), "dead is not pending");
    assert!(s.claim(10, "n", t0() + mins(60), LEASE).await.unwrap().is_empty());
    let r = s.enqueue(&keys(&["A"]), Trigger::Manual, None, t0()).await.unwrap();
    assert_eq!(r.created, 1);
    let c = s.queue_counts().await.unwrap();
    assert_eq!((c.dead, c.queued), (1, 1), "A's dead letter was replaced");
    assert_eq!(entry_of(db, "A").await.attempts, 0);
}

/// One call whose chunk mixes every case the enqueue decides per key: a
/// waiting key merged (higher priority, earlier due), a key named twice, a
/// dead letter replaced, a new key.
pub async fn one_enqueue_call_merges_inserts_and_replaces_dead_letters_key_by_key(db: &mut TestDb) {
    let s = db.s();
    s.enqueue(&keys(&["D"]), Trigger::Periodic, None, t0()).await.unwrap();
    let c = s.claim(1, "n", t0(), LEASE).await.unwrap();
    s.commit_refresh(claimed(&c[0], failed(FailureKind::Permanent, Disposition::Dead), t0())).await.unwrap();
    s.enqueue(&keys(&["W"]), Trigger::Full, None, t0() + mins(10)).await.unwrap();
    let r = s.enqueue(&keys(&["W", "N", "D", "N", "W"]), Trigger::Login, None, t0() + mins(5)).await.unwrap();
    assert_eq!((r.created, r.merged), (2, 3), "N and D are new; W twice and N again merge");
    let w = entry_of(db, "W").await;
    assert_eq!((w.priority, w.trigger, w.due_at), (priority_of(Trigger::Login), Trigger::Login, t0() + mins(5)));
    for k in ["N", "D"] {
        let e = entry_of(db, k).await;
        assert_eq!((e.state, e.attempts, e.trigger), (QueueState::Queued, 0, Trigger::Login), "{k}");
    }
    let c = s.queue_counts().await.unwrap();
    assert_eq!((c.queued, c.dead), (3, 0), "D's dead letter was replaced");
}

pub async fn release_gives_the_attempt_back(db: &mut TestDb) {
    let s = db.s();
    s.enqueue(&keys(&["A", "B"]), Trigger::Periodic, None, t0()).await.unwrap();
    let claims = s.claim(2, "n", t0(), LEASE).await.unwrap();
    let (a, b) = if claims[0].key.as_str() == "A" { (&claims[0], &claims[1]) } else { (&claims[1], &claims[0]) };
    // By the engine's disposition, on a commit…
    let later = t0() + mins(10);
    let out = s
        .commit_refresh(claimed(a, failed(FailureKind::Unauthorized, Disposition::Release { due: later }), t0()))
        .await
        .unwrap();
    assert_eq!(out, CommitOutcome::FailureRecorded);
    let e = entry_of(db, "A").await;
    assert_eq!((e.state, e.attempts, e.due_at), (QueueState::Queued, 0, later));
    // …and through release() for claims that never ran.
    assert_eq!(s.release(&[b.token()], later).await.unwrap(), 1);
    let e = entry_of(db, "B").await;
    assert_eq!((e.state, e.attempts, e.due_at, e.lease_until), (QueueState::Queued, 0, later, None));
    assert_eq!(s.release(&[b.token()], later).await.unwrap(), 0, "a claim that no longer holds is left alone");
    let again = s.claim(2, "n", later, LEASE).await.unwrap();
    assert!(again.iter().all(|c| c.attempts == 1));
}

pub async fn requeue_brings_dead_letters_back(db: &mut TestDb) {
    let s = db.s();
    s.enqueue(&keys(&["T1", "T2", "P1"]), Trigger::Periodic, None, t0()).await.unwrap();
    for c in s.claim(3, "n", t0(), LEASE).await.unwrap() {
        let kind = if c.key.as_str().starts_with('T') { FailureKind::Transient } else { FailureKind::Permanent };
        s.commit_refresh(claimed(&c, failed(kind, Disposition::Dead), t0())).await.unwrap();
    }
    assert_eq!(s.requeue(&RequeueSelector::TransientDead, t0() + mins(1)).await.unwrap(), 2);
    let c = s.queue_counts().await.unwrap();
    assert_eq!((c.queued, c.dead), (2, 1));
    let t1 = entry_of(db, "T1").await;
    assert_eq!((t1.attempts, t1.due_at), (0, t0() + mins(1)));
    assert_eq!(s.requeue(&RequeueSelector::AllDead, t0() + mins(1)).await.unwrap(), 1);
    assert_eq!(s.queue_counts().await.unwrap().dead, 0);
    assert_eq!(s.requeue(&RequeueSelector::AllDead, t0()).await.unwrap(), 0);

    // By key: a waiting entry is reset; a running one is fenced.
    let running = s.claim(1, "n", t0() + mins(1), LEASE).await.unwrap().remove(0);
    let n = s.requeue(&RequeueSelector::Keys(vec![running.key.clone(), key("NOPE")]), t0() + mins(2)).await.unwrap();
    assert_eq!(n, 1);
    let e = entry_of(db, running.key.as_str()).await;
    assert_eq!((e.state, e.attempts), (QueueState::Queued, 0));
    let out = s.commit_refresh(claimed(&running, fetched(member(running.key.as_str())), t0())).await.unwrap();
    assert_eq!(out, CommitOutcome::Fenced);
}

pub async fn listing_pages_by_id_and_filters_by_state(db: &mut TestDb) {
    let s = db.s();
    let ks: Vec<String> = (0..25).map(|i| format!("K{i:02}")).collect();
    let ks: Vec<_> = ks.iter().map(|k| key(k)).collect();
    s.enqueue(&ks, Trigger::Periodic, None, t0()).await.unwrap();
    s.claim(5, "n", t0(), LEASE).await.unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = s.list_queue(Some(QueueState::Queued), 7, after).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
        after = page.last().map(|e| e.id);
        seen.extend(page);
    }
    assert_eq!(seen.len(), 20);
    assert!(seen.iter().all(|e| e.state == QueueState::Queued));
    assert_eq!(s.list_queue(Some(QueueState::Running), 100, None).await.unwrap().len(), 5);
    assert_eq!(s.list_queue(None, 100, None).await.unwrap().len(), 25);
}

pub async fn enqueue_takes_a_hundred_thousand_keys_in_one_call(db: &mut TestDb) {
    let s = db.s();
    let ks: Vec<_> = (0..100_000).map(|i| key(&format!("M{i:06}"))).collect();
    let started = std::time::Instant::now();
    let r = s.enqueue(&ks, Trigger::Full, None, t0()).await.unwrap();
    let first = started.elapsed();
    assert_eq!((r.created, r.merged), (100_000, 0));
    let started = std::time::Instant::now();
    let r = s.enqueue(&ks, Trigger::Periodic, None, t0()).await.unwrap();
    assert_eq!((r.created, r.merged), (0, 100_000));
    eprintln!("enqueue 100k keys: {first:?} new, {:?} merged", started.elapsed());
    assert_eq!(s.queue_counts().await.unwrap().queued, 100_000);
}

pub async fn a_claim_left_by_a_crashed_worker_comes_back_after_its_lease(db: &mut TestDb) {
    db.s().enqueue(&keys(&["A", "B"]), Trigger::Periodic, None, t0()).await.unwrap();
    let claimed_before = db.s().claim(1, "dead-node", t0(), LEASE).await.unwrap();
    assert_eq!(claimed_before.len(), 1);
    // The process goes away without settling; the queue is on disk.
    db.reopen().await;
    let s = db.s();
    let c = s.queue_counts().await.unwrap();
    assert_eq!((c.queued, c.running), (1, 1));
    assert_eq!(s.rescue_expired(t0() + mins(1)).await.unwrap(), 0, "the lease still holds");
    let other = s.claim(10, "n2", t0() + mins(1), LEASE).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_ne!(other[0].key, claimed_before[0].key);
    let after_lease = t0() + chrono::Duration::seconds(150);
    assert_eq!(s.rescue_expired(after_lease).await.unwrap(), 1, "only the dead node's lease ran out");
    let back = s.claim(10, "n2", after_lease, LEASE).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!((back[0].key.clone(), back[0].attempts), (claimed_before[0].key.clone(), 2));
}
