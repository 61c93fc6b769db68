//! Runs and their counters; watermarks, the source state and heartbeats.

use std::time::Duration;

use amsync_core::{FailureKind, Trigger};
use amsync_store::*;

use crate::fixtures::*;
use crate::harness::TestDb;

pub async fn a_run_counts_its_refreshes_and_finishes_with_its_last_entry(db: &mut TestDb) {
    let s = db.s();
    s.commit_refresh(commit(member("OLD"), t0())).await.unwrap();
    let run = s
        .start_run(Trigger::Periodic, t0(), Some(t("2026-11-29T13:00:00Z")), serde_json::json!({"since": "x"}))
        .await
        .unwrap();
    let r = s.enqueue(&keys(&["NEW", "OLD", "BAD"]), Trigger::Periodic, Some(run), t0()).await.unwrap();
    s.add_run_counts(
        run,
        &RunCounts { pages: 1, listed: 3, enqueued: r.created, merged: r.merged, ..Default::default() },
    )
    .await
    .unwrap();
    s.finish_listing(run, t0(), Some(t("2026-11-29T13:58:00Z")), None).await.unwrap();
    let got = s.get_run(run).await.unwrap().unwrap();
    assert_eq!((got.outcome, got.pending, got.finished_at), (RunOutcome::Running, 3, None));
    for c in s.claim(10, "n", t0(), LEASE).await.unwrap() {
        assert_eq!(c.run_id, Some(run));
        let outcome = match c.key.as_str() {
            "BAD" => failed(FailureKind::Permanent, Disposition::Dead),
            k => fetched(member(k)),
        };
        s.commit_refresh(claimed(&c, outcome, t0() + mins(1))).await.unwrap();
    }
    let got = s.get_run(run).await.unwrap().unwrap();
    assert_eq!(got.outcome, RunOutcome::Partial, "a dead letter makes it partial");
    assert_eq!(got.finished_at, Some(t0() + mins(1)));
    assert_eq!(got.pending, 0);
    let c = &got.counts;
    assert_eq!((c.pages, c.listed, c.enqueued), (1, 3, 3));
    assert_eq!((c.refreshed, c.created, c.unchanged, c.changed, c.failed, c.dead), (2, 1, 1, 0, 1, 1));
    assert_eq!(got.watermark_before, Some(t("2026-11-29T13:00:00Z")));
    assert_eq!(got.watermark_after, Some(t("2026-11-29T13:58:00Z")));
    assert_eq!(got.params, serde_json::json!({"since": "x"}));
}

pub async fn a_run_waits_for_retries_and_succeeds(db: &mut TestDb) {
    let s = db.s();
    let run = s.start_run(Trigger::Manual, t0(), None, serde_json::json!({})).await.unwrap();
    s.enqueue(&keys(&["A"]), Trigger::Manual, Some(run), t0()).await.unwrap();
    s.finish_listing(run, t0(), None, None).await.unwrap();
    let c = s.claim(1, "n", t0(), LEASE).await.unwrap().remove(0);
    let retry = Disposition::Retry { due: t0() + mins(1) };
    s.commit_refresh(claimed(&c, failed(FailureKind::Transient, retry), t0())).await.unwrap();
    assert_eq!(s.get_run(run).await.unwrap().unwrap().outcome, RunOutcome::Running);
    assert_eq!(s.run_outcome(run).await.unwrap(), Some(RunOutcome::Running), "what a waiter polls");
    let c = s.claim(1, "n", t0() + mins(1), LEASE).await.unwrap().remove(0);
    s.commit_refresh(claimed(&c, fetched(member("A")), t0() + mins(1))).await.unwrap();
    let got = s.get_run(run).await.unwrap().unwrap();
    assert_eq!(got.outcome, RunOutcome::Succeeded);
    assert_eq!(s.run_outcome(run).await.unwrap(), Some(RunOutcome::Succeeded));
    assert_eq!((got.counts.failed, got.counts.created, got.counts.refreshed), (1, 1, 1));
}

pub async fn a_merge_target_joins_the_run(db: &mut TestDb) {
    let s = db.s();
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    let run = s.start_run(Trigger::Webhook, t0(), None, serde_json::json!({})).await.unwrap();
    s.enqueue(&keys(&["A"]), Trigger::Webhook, Some(run), t0()).await.unwrap();
    s.finish_listing(run, t0(), None, None).await.unwrap();
    let c = s.claim(1, "n", t0(), LEASE).await.unwrap().remove(0);
    let gone = RefreshOutcome::Gone { status: 410, merged_into: Some(key("B")) };
    s.commit_refresh(claimed(&c, gone, t0())).await.unwrap();
    let got = s.get_run(run).await.unwrap().unwrap();
    assert_eq!((got.outcome, got.pending, got.counts.disabled), (RunOutcome::Running, 1, 1));
    let c = s.claim(1, "n", t0(), LEASE).await.unwrap().remove(0);
    assert_eq!((c.key.as_str(), c.trigger, c.run_id), ("B", Trigger::Merge, Some(run)));
    s.commit_refresh(claimed(&c, fetched(member("B")), t0())).await.unwrap();
    assert_eq!(s.get_run(run).await.unwrap().unwrap().outcome, RunOutcome::Succeeded);
}

pub async fn an_adopted_entry_lets_its_old_run_finish(db: &mut TestDb) {
    let s = db.s();
    let first = s.start_run(Trigger::Full, t0(), None, serde_json::json!({})).await.unwrap();
    s.enqueue(&keys(&["A"]), Trigger::Full, Some(first), t0()).await.unwrap();
    s.finish_listing(first, t0(), None, None).await.unwrap();
    let second = s.start_run(Trigger::Manual, t0(), None, serde_json::json!({})).await.unwrap();
    s.enqueue(&keys(&["A"]), Trigger::Manual, Some(second), t0()).await.unwrap();
    assert_eq!(s.get_run(first).await.unwrap().unwrap().outcome, RunOutcome::Succeeded);
    assert_eq!(s.get_run(second).await.unwrap().unwrap().pending, 1);
}

pub async fn runs_finish_at_once_list_newest_first_and_filter(db: &mut TestDb) {
    let s = db.s();
    let empty = s.start_run(Trigger::Periodic, t0(), None, serde_json::json!({})).await.unwrap();
    s.finish_listing(empty, t0() + mins(1), None, None).await.unwrap();
    let got = s.get_run(empty).await.unwrap().unwrap();
    assert_eq!((got.outcome, got.finished_at), (RunOutcome::Succeeded, Some(t0() + mins(1))));
    let broken = s.start_run(Trigger::Periodic, t0(), None, serde_json::json!({})).await.unwrap();
    s.finish_listing(broken, t0(), None, Some("page 2: HTTP 503".into())).await.unwrap();
    let got = s.get_run(broken).await.unwrap().unwrap();
    assert_eq!((got.outcome, got.error.as_deref()), (RunOutcome::Failed, Some("page 2: HTTP 503")));
    let events = s.start_run(Trigger::Events, t0(), None, serde_json::json!({})).await.unwrap();
    s.add_run_counts(events, &RunCounts { listed: 7, ..Default::default() }).await.unwrap();
    s.finish_run(events, t0(), RunOutcome::Succeeded, None).await.unwrap();
    assert_eq!(s.get_run(events).await.unwrap().unwrap().counts.listed, 7);
    let all = s.list_runs(&RunFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), [events, broken, empty]);
    let periodic = RunFilter { kind: Some(Trigger::Periodic), limit: 10, ..Default::default() };
    assert_eq!(s.list_runs(&periodic).await.unwrap().len(), 2);
    let failed = RunFilter { outcome: Some(RunOutcome::Failed), limit: 10, ..Default::default() };
    assert_eq!(s.list_runs(&failed).await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), [broken]);
    let older = s.list_runs(&RunFilter { before: Some(events), limit: 1, ..Default::default() }).await.unwrap();
    assert_eq!(older.iter().map(|r| r.id).collect::<Vec<_>>(), [broken]);
    assert!(s.get_run(9999).await.unwrap().is_none());
    assert!(s.run_outcome(9999).await.unwrap().is_none());
    assert!(matches!(s.finish_run(9999, t0(), RunOutcome::Failed, None).await, Err(StoreError::NotFound(_))));
    assert!(matches!(s.add_run_counts(9999, &RunCounts::default()).await, Err(StoreError::NotFound(_))));
}

pub async fn a_watermark_never_moves_backwards(db: &mut TestDb) {
    let s = db.s();
    assert_eq!(s.watermark(WATERMARK_MEMBERS).await.unwrap(), None);
    let a = t("2026-11-29T14:00:00Z");
    assert_eq!(s.advance_watermark(WATERMARK_MEMBERS, a).await.unwrap(), a);
    assert_eq!(s.advance_watermark(WATERMARK_MEMBERS, a - mins(5)).await.unwrap(), a);
    assert_eq!(s.advance_watermark(WATERMARK_MEMBERS, a + mins(5)).await.unwrap(), a + mins(5));
    assert_eq!(s.watermark(WATERMARK_MEMBERS).await.unwrap(), Some(a + mins(5)));
    assert_eq!(s.watermark(WATERMARK_EVENTS).await.unwrap(), None, "each name has its own");
}

pub async fn the_source_state_and_heartbeats_are_kept(db: &mut TestDb) {
    let s = db.s();
    assert!(!s.source_state().await.unwrap().paused);
    let paused = SourceState { paused: true, reason: Some("admin".into()), since: Some(t0()) };
    s.set_source_state(&paused).await.unwrap();
    assert_eq!(s.source_state().await.unwrap(), paused);
    for (id, seen) in [("n1", t0()), ("n2", t0() - mins(5))] {
        s.heartbeat(&NodeInfo::new(id, "serve", seen)).await.unwrap();
    }
    let live = s.live_nodes(t0() + chrono::Duration::seconds(10), Duration::from_secs(60)).await.unwrap();
    assert_eq!(live.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["n1"]);
    s.heartbeat(&NodeInfo::new("n2", "worker", t0())).await.unwrap();
    let live = s.live_nodes(t0(), Duration::from_secs(60)).await.unwrap();
    assert_eq!(live.len(), 2);
    assert_eq!(live[1].role, "worker");
    assert!(live.iter().all(|n| n.task_restarts.is_empty()));
    // A node's failed and restarted tasks ride on its heartbeat, and go
    // when a later heartbeat has none.
    let restarts = vec![TaskRestarts {
        task: "periodic_poll".into(),
        restarts: 2,
        last_failure_at: t0(),
        last_failure: "overflow when adding duration to instant".into(),
    }];
    let mut beat = NodeInfo::new("n1", "serve", t0());
    beat.task_restarts = restarts.clone();
    s.heartbeat(&beat).await.unwrap();
    let live = s.live_nodes(t0(), Duration::from_secs(60)).await.unwrap();
    assert_eq!((live[0].task_restarts.clone(), live[1].task_restarts.len()), (restarts, 0));
    s.heartbeat(&NodeInfo::new("n1", "serve", t0())).await.unwrap();
    assert!(s.live_nodes(t0(), Duration::from_secs(60)).await.unwrap()[0].task_restarts.is_empty());
}

pub async fn everything_survives_a_reopen(db: &mut TestDb) {
    db.s().commit_refresh(commit(member("A"), t0())).await.unwrap();
    db.s().advance_watermark(WATERMARK_MEMBERS, t0()).await.unwrap();
    let run = db.s().start_run(Trigger::Full, t0(), None, serde_json::json!({})).await.unwrap();
    db.s().enqueue(&keys(&["B"]), Trigger::Full, Some(run), t0()).await.unwrap();
    db.reopen().await;
    let s = db.s();
    assert!(s.get_member(&key("A")).await.unwrap().is_some());
    assert_eq!(s.watermark(WATERMARK_MEMBERS).await.unwrap(), Some(t0()));
    assert_eq!(s.get_run(run).await.unwrap().unwrap().pending, 1);
    assert!(s.commit_refresh(commit(member("A"), t0())).await.unwrap().is_unchanged());
}
