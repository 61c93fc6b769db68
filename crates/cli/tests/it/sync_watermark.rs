//! The watermark rules: not moved by an empty or failed poll; moved by a
//! successful one; a change made during a poll is picked up by the next one.

use std::time::Duration;

use amsync_sim::{ChangeRequest, FaultKind, Faults, Method, TargetedFault};
use amsync_store::{SyncStateStore, WATERMARK_MEMBERS};
use amsync_sync::PollMode;
use serde_json::json;

use crate::helpers::TestApp;

fn set_last_name(name: &str) -> ChangeRequest {
    serde_json::from_value(json!({ "details": { "last_name": name } })).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_poll_leaves_the_watermark() {
    let app = TestApp::spawn().await;
    app.full_refresh().await;
    // Wait past the overlap so nothing the load saw is "changed since" any more.
    let wm = app.store.watermark(WATERMARK_MEMBERS).await.unwrap().unwrap();
    let (report, _) = app.poll(PollMode::ChangedSince(chrono::Utc::now() + chrono::Duration::seconds(5))).await;
    assert_eq!(report.listed, 0);
    assert_eq!(app.store.watermark(WATERMARK_MEMBERS).await.unwrap(), Some(wm), "changed-since never moves it");
    // A periodic poll that returns no record leaves it too: move the
    // watermark past every change first, then poll again.
    app.store.advance_watermark(WATERMARK_MEMBERS, chrono::Utc::now() + chrono::Duration::seconds(60)).await.unwrap();
    let future = app.store.watermark(WATERMARK_MEMBERS).await.unwrap();
    let (report, _) = app.poll(PollMode::Changed).await;
    assert!(report.complete);
    assert_eq!(report.listed, 0);
    assert_eq!(app.store.watermark(WATERMARK_MEMBERS).await.unwrap(), future);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_poll_leaves_the_watermark_and_a_good_one_moves_it() {
    let app = TestApp::spawn().await;
    app.full_refresh().await;
    let wm = app.store.watermark(WATERMARK_MEMBERS).await.unwrap();
    app.sim.change("M000007", &set_last_name("Failedpoll")).unwrap();
    // Every listing call fails: the poll fails after its page attempts.
    app.set_faults(Faults {
        targeted: vec![TargetedFault {
            key: None,
            method: Some(Method::ChangedMembers),
            fault: FaultKind::Error,
            count: None,
        }],
        ..Faults::default()
    });
    let report = app.engine.poll_members(PollMode::Changed).await.unwrap();
    assert!(!report.complete);
    assert!(report.error.is_some());
    assert_eq!(app.store.watermark(WATERMARK_MEMBERS).await.unwrap(), wm, "a failed poll must not move it");
    let run = app.store_run(report.run_id).await;
    assert_eq!(run.outcome, amsync_store::RunOutcome::Failed);

    app.clear_faults();
    // The watermark has whole seconds: let the AMS clock pass the load's.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (report, _) = app.poll(PollMode::Changed).await;
    assert!(report.complete);
    assert!(report.listed >= 1);
    let moved = app.store.watermark(WATERMARK_MEMBERS).await.unwrap();
    assert!(moved > wm, "a successful poll with records moves it: {wm:?} -> {moved:?}");
    assert_eq!(app.member("M000007").await["last_name"], "Failedpoll");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_during_a_poll_is_picked_up_by_the_next() {
    let app = TestApp::spawn().await;
    app.full_refresh().await;
    // Slow listing pages, so the poll is in flight while the AMS changes.
    app.set_faults(Faults { latency_ms: 400, ..Faults::default() });
    let poll = {
        let engine = app.engine.clone();
        tokio::spawn(async move { engine.poll_members(PollMode::Changed).await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    app.sim.change("M000011", &set_last_name("Midpoll")).unwrap();
    let report = poll.await.unwrap();
    app.wait_run(report.run_id).await;
    app.clear_faults();
    let (next, _) = app.poll(PollMode::Changed).await;
    assert!(next.listed >= 1, "the next poll lists the change made during the previous one");
    assert_eq!(app.member("M000011").await["last_name"], "Midpoll");
    app.stop().await;
}

impl TestApp {
    pub async fn store_run(&self, id: i64) -> amsync_store::Run {
        use amsync_store::RunStore;
        self.store.get_run(id).await.unwrap().unwrap()
    }
}
