//! Disabling: on 404 (seen through the API, with the member's history),
//! and an AMS that fails every call disables nobody. A merge on 410 and a
//! full refresh that no longer lists a member are the engine's own tests
//! (`amsync-sync`, on the in-memory AMS).

use amsync_sim::Faults;
use amsync_store::{MemberStore, QueueStore};

use crate::helpers::{AppOptions, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_disables_and_keeps_the_data() {
    let app = TestApp::spawn().await;
    app.full_refresh().await;
    let before = app.member("M000010").await;
    app.sim.delete("M000010").unwrap();
    app.refresh_keys(&["M000010"]).await;
    let after = app.member("M000010").await;
    assert_eq!(after["status"], "disabled");
    assert_eq!(after["disabled_reason"], "ams_not_found");
    assert_eq!(after["last_name"], before["last_name"], "the record is kept");
    assert_eq!(after["security_groups"], serde_json::json!([]), "a disabled member has no effective groups");
    let (_, history) = app.get("/api/v1/members/M000010/history").await;
    assert_eq!(history["changes"][0]["kind"], "disabled", "{history}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ams_failing_every_call_disables_nobody() {
    let app = TestApp::spawn_with(AppOptions { max_attempts: 3, ..AppOptions::default() }).await;
    app.full_refresh().await;
    let active = app.store.active_member_keys().await.unwrap().len();
    app.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    let report = app.engine.poll_members(amsync_sync::PollMode::Full).await.unwrap();
    assert!(!report.complete, "the listing fails");
    let keys: Vec<&str> = vec!["M000001", "M000002", "M000003"];
    let run = app.refresh_keys(&keys).await;
    assert_eq!(run.counts.dead, 3, "every attempt failed: {run:?}");
    assert_eq!(run.counts.disabled, 0);
    assert_eq!(app.store.active_member_keys().await.unwrap().len(), active, "nobody was disabled");
    // Dead letters can be requeued once the AMS is back.
    app.clear_faults();
    let (status, body) = app.post("/api/v1/queue/requeue", serde_json::json!({"all_dead": true})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["requeued"], 3);
    for _ in 0..300 {
        if app.store.queue_counts().await.unwrap() == Default::default() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(app.store.queue_counts().await.unwrap(), Default::default());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_pauses_the_source_without_using_attempts() {
    let app = TestApp::spawn_with(AppOptions { max_attempts: 2, ..AppOptions::default() }).await;
    app.full_refresh().await;
    app.set_faults(Faults { unauthorized: true, ..Faults::default() });
    let run_id = app
        .engine
        .refresh_keys(&[crate::helpers::key("M000002")], amsync_core::Trigger::Manual, serde_json::Value::Null)
        .await
        .unwrap();
    for _ in 0..200 {
        if app.engine.is_paused() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(app.engine.is_paused(), "401 pauses the source");
    let (_, status) = app.get("/api/v1/sync/status").await;
    assert_eq!(status["paused"], true);
    assert!(status["pause_reason"].as_str().unwrap().starts_with("unauthorized"), "{status}");
    // Probes run every 200 ms; while the AMS still refuses us none resumes
    // (the health check answers without credentials, so it cannot tell).
    for _ in 0..10 {
        tokio::time::sleep(std::time::Duration::from_millis(70)).await;
        assert!(app.engine.is_paused(), "resumed while the AMS still refuses our credentials");
    }
    let entries = app.store.list_queue(None, 10, None).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_ne!(entries[0].state, amsync_core::queue::QueueState::Dead, "attempts are not used up");
    // The credentials work again: a probe resumes the source by itself.
    app.clear_faults();
    let run = app.wait_run(run_id).await;
    assert_eq!(run.counts.dead, 0, "{run:?}");
    assert!(!app.engine.is_paused());
    app.stop().await;
}
