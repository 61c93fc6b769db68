//! Quarantine (product.md job 10): an AMS outage through a whole run, and an
//! AMS answering 404 to every member (a wrong base URL), disable nobody,
//! move no watermark and dead-letter nothing; the source is quarantined
//! (status, metrics, the store for a restart), probed every `poll_floor`,
//! leaves the quarantine by itself, and everything converges.

use std::time::Duration;

use amsync_core::record::MemberStatus;
use amsync_sim::{FaultKind, Faults, Method, TargetedFault};
use amsync_store::{MemberStore, QueueStore, RunOutcome, RunStore, SyncStateStore, WATERMARK_MEMBERS};
use amsync_sync::{Engine, PollMode, QuarantineSettings};

use crate::helpers::{assert_matches_truth, key, AppOptions, TestApp, HEAVY};

const WINDOW: Duration = Duration::from_millis(1500);

fn options() -> AppOptions {
    AppOptions {
        members: 300,
        quarantine: QuarantineSettings {
            failure_share: 0.8,
            min_calls: 30,
            window: WINDOW,
            poll_floor: Duration::from_millis(250),
            recover_probes: 2,
        },
        ..AppOptions::default()
    }
}

/// Waits up to `limit` for `f` to hold.
async fn until(limit: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if f().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn disabled(app: &TestApp) -> Vec<String> {
    let mut out = Vec::new();
    for t in app.sim.truths() {
        let m = app.store.get_member(&key(&t.key)).await.unwrap();
        if m.is_some_and(|m| m.record.status == MemberStatus::Disabled) {
            out.push(t.key.clone());
        }
    }
    out
}

/// Every member the AMS holds, as keys.
fn all_keys(app: &TestApp) -> Vec<amsync_core::MemberKey> {
    app.sim.truths().iter().map(|t| key(&t.key)).collect()
}

async fn metric(app: &TestApp, name: &str) -> Option<f64> {
    let text = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    text.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ams_outage_quarantines_the_source_and_it_recovers_by_itself() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn_with(options()).await;
    let (_, first) = app.full_refresh().await;
    assert_eq!(first.outcome, RunOutcome::Succeeded);
    let disabled_before = disabled(&app).await;
    let watermark = app.store.watermark(WATERMARK_MEMBERS).await.unwrap();
    // While the AMS is down it also deletes and changes members: none of it
    // may show before it answers again.
    for k in ["M000011", "M000012", "M000013"] {
        app.sim.delete(k).unwrap();
    }
    for k in ["M000021", "M000022"] {
        app.sim.change(k, &Default::default()).unwrap();
    }
    tokio::time::sleep(WINDOW + Duration::from_millis(100)).await;

    app.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    let report = app.engine.poll_members(PollMode::Full).await.unwrap();
    assert!(!report.complete, "the listing fails");
    assert_eq!(app.store.watermark(WATERMARK_MEMBERS).await.unwrap(), watermark, "the watermark stays");
    // The refresh part of the run, all of it during the outage.
    let run = app.engine.refresh_keys(&all_keys(&app), amsync_core::Trigger::Manual, serde_json::json!({})).await;
    let run = run.unwrap();
    assert!(until(Duration::from_secs(10), async || app.engine.is_quarantined()).await, "quarantined");
    // Give the refreshes in flight time to come back.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, status) = app.get("/api/v1/sync/status").await;
    assert_eq!((status["paused"].as_bool(), status["quarantined"].as_bool()), (Some(true), Some(true)), "{status}");
    let reason = status["pause_reason"].as_str().unwrap();
    assert!(reason.starts_with("quarantine: ") && reason.contains("AMS calls failed"), "{reason}");
    assert_eq!(status["engine"]["quarantine"]["state"], "quarantined", "{status}");
    assert_eq!(metric(&app, "amsync_source_quarantined").await, Some(1.0));
    let counts = app.store.queue_counts().await.unwrap();
    assert_eq!(counts.dead, 0, "attempts stop counting: {counts:?}");
    let entries = app.store.list_queue(None, 1000, None).await.unwrap();
    assert!(entries.iter().all(|e| e.attempts < 8), "no entry used up its attempts");
    assert_eq!(disabled(&app).await, disabled_before, "nobody was disabled");
    assert_eq!(app.store.watermark(WATERMARK_MEMBERS).await.unwrap(), watermark);
    // The quarantine is in the store: a node starting now is quarantined too.
    let state = app.store.source_state().await.unwrap();
    assert!(state.paused && state.reason.as_deref().unwrap().starts_with("quarantine"), "{state:?}");
    let store: std::sync::Arc<dyn amsync_store::Store> = app.store.clone();
    let other = Engine::new(store, app.engine.source().clone(), app.engine.settings().clone());
    other.load_state().await.unwrap();
    assert!(other.is_quarantined() && other.is_paused());
    // Polls are refused while quarantined; probes keep failing.
    assert!(app.engine.poll_members(PollMode::Changed).await.is_err());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(app.engine.is_quarantined(), "bad probes keep it quarantined");

    // The AMS is back: good probes end the quarantine by themselves.
    app.clear_faults();
    assert!(until(Duration::from_secs(10), async || !app.engine.is_quarantined()).await, "left the quarantine");
    let run = app.wait_run(run).await;
    assert_eq!((run.counts.dead, run.counts.disabled), (0, 3), "{run:?}");
    let (_, status) = app.get("/api/v1/sync/status").await;
    assert_eq!(status["quarantined"], false);
    assert_eq!(metric(&app, "amsync_source_quarantined").await, Some(0.0));
    let (report, _) = app.full_refresh().await;
    assert!(report.complete);
    let mut now_disabled = disabled(&app).await;
    now_disabled.retain(|k| !disabled_before.contains(k));
    assert_eq!(now_disabled, ["M000011", "M000012", "M000013"], "only what the AMS deleted");
    assert_matches_truth(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_answering_404_to_everyone_disables_nobody() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn_with(options()).await;
    app.full_refresh().await;
    let disabled_before = disabled(&app).await;
    tokio::time::sleep(WINDOW + Duration::from_millis(100)).await;

    // As with a wrong base URL: every GetMemberDetails answers 404.
    let not_found = TargetedFault { key: None, method: Some(Method::Details), fault: FaultKind::NotFound, count: None };
    app.set_faults(Faults { targeted: vec![not_found], ..Faults::default() });
    let report = app.engine.poll_members(PollMode::Full).await.unwrap();
    assert!(report.complete, "the listing itself works");
    assert!(until(Duration::from_secs(10), async || app.engine.is_quarantined()).await, "quarantined");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, status) = app.get("/api/v1/sync/status").await;
    let reason = status["pause_reason"].as_str().unwrap();
    assert!(reason.contains("GetMemberDetails answered 404"), "{reason}");
    assert_eq!(disabled(&app).await, disabled_before, "nobody was disabled");
    assert_eq!(app.store.queue_counts().await.unwrap().dead, 0);
    let run = app.store.get_run(report.run_id).await.unwrap().unwrap();
    assert_eq!(run.counts.disabled, 0, "{run:?}");
    // Held 404s say why on the member.
    let waiting = app.store.list_queue(None, 1000, None).await.unwrap();
    let noted = waiting.iter().filter_map(|e| e.last_error.as_ref()).find(|f| f.message.contains("not applied"));
    assert!(noted.is_some(), "{:?}", waiting.first());

    app.clear_faults();
    assert!(until(Duration::from_secs(10), async || !app.engine.is_quarantined()).await, "left the quarantine");
    let run = app.wait_run(report.run_id).await;
    assert_eq!((run.counts.disabled, run.counts.dead), (0, 0), "{run:?}");
    assert_eq!(disabled(&app).await, disabled_before);
    assert_matches_truth(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_resume_ends_a_quarantine_with_a_fresh_window() {
    let app = TestApp::spawn_with(AppOptions { members: 40, ..options() }).await;
    app.full_refresh().await;
    let disabled_before = disabled(&app).await;
    tokio::time::sleep(WINDOW + Duration::from_millis(100)).await;
    app.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    let keys: Vec<_> = all_keys(&app);
    app.engine.refresh_keys(&keys, amsync_core::Trigger::Manual, serde_json::json!({})).await.unwrap();
    assert!(until(Duration::from_secs(10), async || app.engine.is_quarantined()).await);
    // Let the calls in flight end before the AMS comes back.
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.clear_faults();
    let (status, _) = app.post("/api/v1/sync/resume", serde_json::json!({})).await;
    assert_eq!(status, 200);
    assert!(!app.engine.is_quarantined() && !app.engine.is_paused());
    let (_, s) = app.get("/api/v1/sync/status").await;
    assert_eq!(s["engine"]["quarantine"]["state"], "clear", "{s}");
    assert_eq!(s["engine"]["quarantine"]["window"]["failed"], 0, "the window starts empty: {s}");
    assert!(
        until(Duration::from_secs(10), async || app.store.queue_counts().await.unwrap() == Default::default()).await
    );
    assert_eq!(disabled(&app).await, disabled_before);
    app.stop().await;
}
