//! Owned runs: the lease of a listing, its checkpoint saved with its counts,
//! and the adoption of a run whose owner died, won by exactly one process.

use amsync_core::Trigger;
use amsync_store::*;

use crate::fixtures::*;
use crate::harness::TestDb;

fn lease(owner: &str, until: chrono::DateTime<chrono::Utc>) -> RunLease {
    RunLease { owner: owner.to_string(), until }
}

fn at_page(cursor: &str, pages: u64) -> ListingCheckpoint {
    ListingCheckpoint { cursor: Some(cursor.into()), pages, records: pages * 100, ..Default::default() }
}

pub async fn a_run_is_orphaned_only_once_its_lease_ran_out_and_one_adopter_wins(db: &mut TestDb) {
    let s = db.s_arc();
    let run = s
        .start_owned_run(Trigger::Full, t0(), None, serde_json::json!({"mode": "full"}), &lease("a#1", t0() + mins(2)))
        .await
        .unwrap();
    let unowned = s.start_run(Trigger::Full, t0() - mins(60), None, serde_json::json!({})).await.unwrap();
    let got = s.get_run(run).await.unwrap().unwrap();
    assert_eq!(
        (got.owner.as_deref(), got.lease_until, got.resumed.as_ref()),
        (Some("a#1"), Some(t0() + mins(2)), None)
    );

    // Renewed while its owner lives; nobody else can renew it.
    assert!(s.renew_run_lease(run, &lease("a#1", t0() + mins(4))).await.unwrap());
    assert!(!s.renew_run_lease(run, &lease("b#2", t0() + mins(9))).await.unwrap());
    assert!(s.orphaned_runs(t0() + mins(3)).await.unwrap().is_empty(), "the lease still holds");
    let orphans = s.orphaned_runs(t0() + mins(5)).await.unwrap();
    let ids: Vec<RunId> = orphans.iter().map(|o| o.run.id).collect();
    assert_eq!(ids, vec![run], "a run without an owner is never orphaned");
    assert_eq!(orphans[0].checkpoint, None, "no page saved");
    let _ = unowned;

    // Three processes adopt at once: one wins.
    let mut tasks = tokio::task::JoinSet::new();
    for who in ["b#2", "c#3", "d#4"] {
        let s = s.clone();
        tasks.spawn(async move {
            let won = s
                .adopt_run(run, Some("a#1"), &lease(who, t0() + mins(7)), t0() + mins(5), &format!("taken by {who}"))
                .await
                .unwrap();
            (who, won)
        });
    }
    let mut winners = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let (who, won) = r.unwrap();
        if won {
            winners.push(who);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let winner = winners[0];
    let got = s.get_run(run).await.unwrap().unwrap();
    assert_eq!(got.owner.as_deref(), Some(winner));
    let resumed = got.resumed.expect("the run says it was taken over");
    assert_eq!((resumed.at, resumed.times, resumed.note), (t0() + mins(5), 1, format!("taken by {winner}")));
    assert!(s.orphaned_runs(t0() + mins(6)).await.unwrap().is_empty(), "the adopter's lease holds");

    // The old owner is fenced out: its renewals and saves change nothing.
    assert!(!s.renew_run_lease(run, &lease("a#1", t0() + mins(30))).await.unwrap());
    let counts = RunCounts { pages: 1, listed: 100, ..Default::default() };
    assert!(!s.save_listing_checkpoint(run, "a#1", &at_page("x", 1), &counts).await.unwrap());
    assert_eq!(s.get_run(run).await.unwrap().unwrap().counts, RunCounts::default());
    assert!(!s.note_resumed_run(run, "a#1", "not mine").await.unwrap());
    assert!(s.note_resumed_run(run, winner, "restarted").await.unwrap());
    assert_eq!(s.get_run(run).await.unwrap().unwrap().resumed.unwrap().note, "restarted");

    // Its listing over, the run has no lease and is nobody's to adopt.
    s.finish_listing(run, t0() + mins(6), None, None).await.unwrap();
    let got = s.get_run(run).await.unwrap().unwrap();
    assert_eq!((got.lease_until, got.outcome), (None, RunOutcome::Succeeded));
    assert!(s.orphaned_runs(t0() + mins(60)).await.unwrap().is_empty());
    assert!(!s.renew_run_lease(run, &lease(winner, t0() + mins(60))).await.unwrap());
    assert!(!s.adopt_run(run, Some(winner), &lease("e#5", t0() + mins(70)), t0() + mins(61), "late").await.unwrap());
}

pub async fn a_checkpoint_is_saved_with_its_counts_and_outlives_the_process(db: &mut TestDb) {
    let s = db.s();
    let run = s
        .start_owned_run(Trigger::Periodic, t0(), None, serde_json::json!({}), &lease("a#1", t0() + mins(2)))
        .await
        .unwrap();
    let first = RunCounts { pages: 1, listed: 100, enqueued: 100, ..Default::default() };
    assert!(s.save_listing_checkpoint(run, "a#1", &at_page("c1", 1), &first).await.unwrap());
    let next = RunCounts { pages: 3, listed: 300, enqueued: 290, merged: 10, failed: 2, ..Default::default() };
    let mut checkpoint = at_page("c4", 4);
    checkpoint.refused = 2;
    checkpoint.first_refused = Some("changed entry 7: bad key".into());
    checkpoint.first_as_of = Some(t0());
    assert!(s.save_listing_checkpoint(run, "a#1", &checkpoint, &next).await.unwrap());

    db.reopen().await;
    let s = db.s();
    let orphans = s.orphaned_runs(t0() + mins(3)).await.unwrap();
    assert_eq!(orphans.len(), 1);
    assert_eq!(orphans[0].checkpoint.as_ref(), Some(&checkpoint), "the last checkpoint saved");
    let c = &orphans[0].run.counts;
    assert_eq!((c.pages, c.listed, c.enqueued, c.merged, c.failed), (4, 400, 390, 10, 2));
    assert_eq!(orphans[0].run.owner.as_deref(), Some("a#1"));
}

pub async fn members_not_refreshed_since_a_time_are_the_active_ones_left(db: &mut TestDb) {
    let s = db.s();
    for k in ["A", "B", "C"] {
        s.commit_refresh(commit(member(k), t0())).await.unwrap();
    }
    s.commit_refresh(commit(member("B"), t0() + mins(10))).await.unwrap();
    s.commit_refresh(commit(member("D"), t0() + mins(10))).await.unwrap();
    db.exec("UPDATE members SET status = 'disabled' WHERE key = 'C'").await;
    let left = db.s().active_keys_not_refreshed_since(t0() + mins(5)).await.unwrap();
    assert_eq!(left, keys(&["A"]), "B and D were refreshed since, C is not active");
    let all = db.s().active_keys_not_refreshed_since(t0() + mins(20)).await.unwrap();
    assert_eq!(all, keys(&["A", "B", "D"]));
}
