//! The events sync goes through the member poll's listing loop: a cursor
//! cycle A → B → A stops at the repeat with a clear error (it used to page
//! on to `ams.max_pages`), and a listing error fails the events run, shows
//! in `/api/v1/sync/status` and counts in
//! `amsync_polls_total{listing="events",outcome="failed"}`.

use amsync_sim::{FaultKind, Faults, Method, TargetedFault};
use amsync_store::{RunOutcome, RunStore, SyncStateStore};
use amsync_sync::PollMode;

use crate::helpers::{AppOptions, TestApp};
use crate::observability::scrape;

fn cycling(method: Method) -> Faults {
    Faults {
        targeted: vec![TargetedFault { key: None, method: Some(method), fault: FaultKind::CursorCycle, count: None }],
        ..Faults::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_events_cursor_cycle_stops_at_the_repeat_and_fails_the_run_visibly() {
    let app =
        TestApp::spawn_with(AppOptions { members: 5, page_size: 5, max_pages: Some(50), ..AppOptions::default() })
            .await;
    let before = scrape(&app).await;
    app.set_faults(cycling(Method::ChangedEvents));
    app.sim.reset_stats();
    let run = app.engine.sync_events().await.unwrap();
    let run = app.store.get_run(run).await.unwrap().unwrap();
    assert_eq!(run.outcome, RunOutcome::Failed, "{run:?}");
    let error = run.error.clone().unwrap_or_default();
    assert!(error.contains("the AMS repeated cursor"), "stopped at the repeat, not at max_pages: {error}");
    // No cursor → A, A → B, B → A: the third page names a cursor already
    // followed.
    assert_eq!(app.sim.stats().changed_events, 3);
    assert_eq!(run.counts.pages, 3, "{run:?}");

    let (_, status) = app.get("/api/v1/sync/status").await;
    let last = &status["events"]["last_run"];
    assert_eq!((last["id"].as_i64(), last["outcome"].as_str()), (Some(run.id), Some("failed")), "{status}");
    assert_eq!(last["error"], error.as_str());
    let after = scrape(&app).await;
    let failed = &[("listing", "events"), ("outcome", "failed")];
    assert!(after.sum("amsync_polls_total", failed) - before.sum("amsync_polls_total", failed) >= 1.0);
    assert!(app.store.watermark(amsync_store::WATERMARK_EVENTS).await.unwrap().is_none(), "the watermark stays");

    // Without the fault the next sync lists every event.
    app.clear_faults();
    let next = app.engine.sync_events().await.unwrap();
    let next = app.store.get_run(next).await.unwrap().unwrap();
    assert_eq!((next.outcome, next.counts.listed), (RunOutcome::Succeeded, 40), "{next:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_member_listing_stops_at_the_same_repeat() {
    let app =
        TestApp::spawn_with(AppOptions { members: 30, page_size: 5, max_pages: Some(50), ..AppOptions::default() })
            .await;
    app.set_faults(cycling(Method::ChangedMembers));
    let report = app.engine.poll_members(PollMode::Full).await.unwrap();
    assert!(!report.complete);
    assert!(report.error.unwrap_or_default().contains("the AMS repeated cursor"));
    let run = app.wait_run(report.run_id).await;
    assert_eq!((run.outcome, run.counts.pages), (RunOutcome::Failed, 3), "{run:?}");
    app.stop().await;
}
