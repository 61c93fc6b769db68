//! A run survives the death of the process running it. A dead process's run
//! is made here with the store as that process left it (its lease lapsed,
//! its last checkpoint saved); the test app's upkeep, a node of its own,
//! takes it over: a listing resumes after its last saved page, restarts
//! when nothing was saved or the AMS refuses the saved cursor, a rule
//! re-apply starts again, a run of keys is closed. The run says so on the
//! API and the dashboard. A listing taken over while its owner still runs
//! stops at its next save. (Killed processes: `sync_crash_listing`.)

use std::time::Duration;

use amsync_core::{MemberKey, Trigger};
use amsync_sim::Faults;
use amsync_store::{
    ListingCheckpoint, ListingStore, QueueStore, RunCounts, RunId, RunLease, RunOutcome, RunStore, SyncStateStore,
};
use amsync_sync::PollMode;
use chrono::Utc;
use serde_json::{json, Value};

use crate::admin_client::AdminClient;
use crate::helpers::{key, AppOptions, TestApp};

const DEAD: &str = "gone-1#0000dead";

/// The AMS's complete listing, page by page: each page's keys and the
/// cursor it names next.
async fn listing_pages(app: &TestApp) -> Vec<(Vec<MemberKey>, Option<String>)> {
    let pages = crate::sync_listing::listing_pages(app).await;
    pages.into_iter().map(|(keys, next)| (keys.iter().map(|k| key(k)).collect(), next)).collect()
}

/// Starts a run as a process that will die: it holds the run for an hour.
async fn start_as_the_dead_process(app: &TestApp, kind: Trigger, params: Value) -> RunId {
    let lease = RunLease { owner: DEAD.into(), until: Utc::now() + chrono::Duration::hours(1) };
    app.store.start_owned_run(kind, Utc::now(), None, params, &lease).await.unwrap()
}

/// What the dead process had done by page `saved`: those pages' keys
/// enqueued and its checkpoint after them saved, `cursor` being the one it
/// would have asked next.
async fn listed_by_the_dead_process(app: &TestApp, run: RunId, keys: &[MemberKey], saved: u64, cursor: &str) {
    let mut keys = keys.to_vec();
    keys.sort();
    let res = app.store.enqueue(&keys, Trigger::Full, Some(run), Utc::now()).await.unwrap();
    let checkpoint = ListingCheckpoint {
        cursor: Some(cursor.to_string()),
        pages: saved,
        records: keys.len() as u64,
        ..ListingCheckpoint::default()
    };
    let counts = RunCounts { pages: saved, listed: keys.len() as u64, enqueued: res.created, ..RunCounts::default() };
    assert!(app.store.save_listing_checkpoint(run, DEAD, &checkpoint, &counts).await.unwrap());
}

/// The dead process dies: its lease is over as of a second ago, so the next
/// look for orphaned runs (the app's upkeep, every 200 ms) takes it over.
async fn dies(app: &TestApp, run: RunId) {
    let lapsed = RunLease { owner: DEAD.into(), until: Utc::now() - chrono::Duration::seconds(1) };
    assert!(app.store.renew_run_lease(run, &lapsed).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_refresh_left_after_page_two_resumes_at_page_three_and_says_so() {
    let app = TestApp::spawn_with(AppOptions { members: 300, page_size: 50, ..AppOptions::default() }).await;
    let pages = listing_pages(&app).await;
    assert_eq!(pages.len(), 6);
    let run = start_as_the_dead_process(&app, Trigger::Full, json!({"mode": "full", "since": null})).await;
    let first_two: Vec<MemberKey> = pages[..2].iter().flat_map(|p| p.0.clone()).collect();
    listed_by_the_dead_process(&app, run, &first_two, 2, pages[1].1.as_deref().unwrap()).await;
    app.sim.reset_stats();
    dies(&app, run).await;

    let done = app.wait_run(run).await;
    assert_eq!(done.outcome, RunOutcome::Succeeded, "{done:?}");
    assert_eq!(app.sim.stats().changed_members, 4, "pages 3 to 6 only: the listing resumed after page 2");
    let c = &done.counts;
    assert_eq!((c.pages, c.listed, c.created, c.dead), (6, 300, 300, 0), "{done:?}");
    assert_eq!(done.owner.as_deref(), Some(app.engine.owner()));
    let resumed = done.resumed.clone().expect("the run says it was taken over");
    assert_eq!(resumed.times, 1);
    assert!(resumed.note.starts_with("resumed after page 2 at "), "{}", resumed.note);
    assert!(resumed.note.contains(DEAD) && resumed.note.contains("stopped renewing its lease"), "{}", resumed.note);
    assert!(app.store.watermark(amsync_store::WATERMARK_MEMBERS).await.unwrap().is_some(), "a full refresh sets it");
    assert_eq!(amsync_store::MemberStore::member_count(app.store.as_ref()).await.unwrap(), 300);

    // The API and the dashboard say what happened.
    let (_, api) = app.get(&format!("/api/v1/sync/runs/{run}")).await;
    assert_eq!(api["resumed"]["note"], resumed.note.as_str(), "{api}");
    let admin = AdminClient::sign_in(&app).await;
    let (_, page) = admin.get_html(&format!("/admin/runs/{run}")).await;
    assert!(page.contains("Taken over from a stopped process") && page.contains("resumed after page 2"), "{page}");
    let (_, list) = admin.get_html("/admin/runs").await;
    assert!(list.contains("(resumed)"), "{list}");
    let (_, overview) = admin.get_html("/admin").await;
    assert!(overview.contains(&format!("Run {run} resumed after page 2")), "{overview}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_with_nothing_saved_or_a_cursor_the_ams_refuses_starts_again_from_its_first_page() {
    let app = TestApp::spawn_with(AppOptions { members: 120, page_size: 50, ..AppOptions::default() }).await;
    // Died before its first save.
    let unsaved = start_as_the_dead_process(&app, Trigger::Periodic, json!({"mode": "changed", "since": null})).await;
    // Died after page 1, with a cursor the AMS no longer takes.
    let refused = start_as_the_dead_process(&app, Trigger::Full, json!({"mode": "full", "since": null})).await;
    let pages = listing_pages(&app).await;
    listed_by_the_dead_process(&app, refused, &pages[0].0, 1, "bm90LWEtY3Vyc29y").await;
    dies(&app, unsaved).await;
    dies(&app, refused).await;

    let first = app.wait_run(unsaved).await;
    assert_eq!((first.outcome, first.counts.listed, first.counts.pages), (RunOutcome::Succeeded, 120, 3), "{first:?}");
    let note = first.resumed.expect("taken over").note;
    assert!(note.starts_with("restarted from the first page at ") && note.contains("before it saved a page"), "{note}");

    let second = app.wait_run(refused).await;
    assert_eq!(second.outcome, RunOutcome::Succeeded, "{second:?}");
    assert_eq!((second.counts.pages, second.counts.listed), (1 + 3, 50 + 120), "page 1, then all 3 again");
    let note = second.resumed.expect("taken over").note;
    assert!(note.starts_with("restarted from the first page at ") && note.contains("refused the cursor"), "{note}");
    assert_eq!(amsync_store::MemberStore::member_count(app.store.as_ref()).await.unwrap(), 120);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_of_every_kind_a_dead_process_left_end_with_an_outcome() {
    let app = TestApp::spawn_with(AppOptions { members: 30, ..AppOptions::default() }).await;
    app.full_refresh().await;
    let rules = start_as_the_dead_process(&app, Trigger::Rules, json!({"rules": []})).await;
    let events = start_as_the_dead_process(&app, Trigger::Events, json!({"since": null})).await;
    let keys = start_as_the_dead_process(&app, Trigger::Manual, json!({"keys": 3})).await;
    let changed_since = start_as_the_dead_process(
        &app,
        Trigger::Manual,
        json!({"mode": "changed_since", "since": "2000-01-01T00:00:00Z"}),
    )
    .await;
    for run in [rules, events, keys, changed_since] {
        dies(&app, run).await;
    }

    let r = app.wait_run(rules).await;
    assert_eq!((r.outcome, r.counts.refreshed), (RunOutcome::Succeeded, 30), "{r:?}");
    assert!(r.resumed.unwrap().note.starts_with("restarted at "));
    let e = app.wait_run(events).await;
    assert_eq!((e.outcome, e.counts.listed), (RunOutcome::Succeeded, 40), "the sim's 40 events: {e:?}");
    assert!(e.resumed.unwrap().note.starts_with("restarted from the first page"));
    let k = app.wait_run(keys).await;
    assert_eq!(k.outcome, RunOutcome::Failed, "nothing it enqueued is known: {k:?}");
    assert!(k.error.unwrap_or_default().contains("stopped before the run's keys were all enqueued"));
    assert!(k.resumed.unwrap().note.starts_with("closed at "));
    let c = app.wait_run(changed_since).await;
    assert_eq!((c.outcome, c.counts.listed), (RunOutcome::Succeeded, 30), "{c:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_taken_over_while_its_owner_still_runs_stops_at_its_next_save() {
    let app = TestApp::spawn_with(AppOptions { members: 200, page_size: 10, ..AppOptions::default() }).await;
    app.set_faults(Faults { latency_ms: 30, ..Faults::default() });
    let poll = tokio::spawn({
        let engine = app.engine.clone();
        async move { engine.poll_members(PollMode::Full).await.unwrap() }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let run = loop {
        let runs = app.store.list_runs(&amsync_store::RunFilter { limit: 1, ..Default::default() }).await.unwrap();
        if let Some(r) = runs.into_iter().next().filter(|r| r.counts.listed > 0) {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "the listing did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // Another process takes it over (as if this one had missed its renewals).
    let other = RunLease { owner: "other-2#0000beef".into(), until: Utc::now() + chrono::Duration::hours(1) };
    let later = Utc::now() + chrono::Duration::hours(2);
    assert!(app.store.adopt_run(run.id, Some(app.engine.owner()), &other, later, "taken over").await.unwrap());

    let report = poll.await.unwrap();
    assert!(!report.complete);
    assert!(report.error.unwrap_or_default().contains("taken over by another process"));
    let after = app.store.get_run(run.id).await.unwrap().unwrap();
    assert_eq!(after.outcome, RunOutcome::Running, "the old owner does not end what it lost");
    assert_eq!(after.owner.as_deref(), Some("other-2#0000beef"));
    assert!(after.counts.listed < 200, "it stopped listing: {after:?}");
    app.clear_faults();
    app.stop().await;
}
