//! Only the signals product.md names disable a member (a GetMemberDetails
//! 404/410, AMS `status: disabled`, an admin): timeouts, 5xx, bad
//! credentials, bodies that do not parse, and a 404 on the communities or
//! groups call never do, however many attempts they cost.

use std::time::Duration;

use amsync_core::record::MemberStatus;
use amsync_sim::{FaultKind, Faults, TargetedFault};
use amsync_store::{MemberStore, QueueStore};

use crate::helpers::{assert_matches_truth, key, AppOptions, TestApp};

const KEYS: [&str; 6] = ["M000001", "M000002", "M000003", "M000004", "M000005", "M000006"];

fn on_keys(fault: FaultKind, method: Option<amsync_sim::Method>) -> Faults {
    let targeted =
        KEYS.iter().map(|k| TargetedFault { key: Some((*k).to_string()), method, fault, count: None }).collect();
    Faults { hang_ms: 1_500, targeted, ..Faults::default() }
}

async fn active(app: &TestApp) -> usize {
    app.store.active_member_keys().await.unwrap().len()
}

async fn assert_none_disabled(app: &TestApp, what: &str) {
    for k in KEYS {
        let m = app.store.get_member(&key(k)).await.unwrap().unwrap();
        assert_eq!(m.record.status, MemberStatus::Active, "{what}: {k} was disabled");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_5xx_bad_credentials_bad_bodies_and_part_404s_disable_nobody() {
    let app = TestApp::spawn_with(AppOptions {
        members: 60,
        timeout: Duration::from_millis(300),
        max_attempts: 2,
        backoff_initial: Duration::from_millis(20),
        backoff_max: Duration::from_millis(50),
        ..AppOptions::default()
    })
    .await;
    app.full_refresh().await;
    let before = active(&app).await;
    for k in KEYS {
        assert_eq!(app.store.get_member(&key(k)).await.unwrap().unwrap().record.status, MemberStatus::Active);
    }
    let cases = [
        ("timeouts", on_keys(FaultKind::Hang, None)),
        ("5xx", on_keys(FaultKind::Error, None)),
        ("bodies that do not parse", on_keys(FaultKind::Malformed, None)),
        ("404 on the communities call", on_keys(FaultKind::NotFound, Some(amsync_sim::Method::Communities))),
        ("404 on the groups call", on_keys(FaultKind::NotFound, Some(amsync_sim::Method::SecurityGroups))),
    ];
    for (what, faults) in cases {
        app.set_faults(faults);
        let run = app.refresh_keys(&KEYS).await;
        assert_eq!(run.counts.dead, KEYS.len() as u64, "{what}: every attempt failed: {run:?}");
        assert_eq!(run.counts.disabled, 0, "{what}");
        assert_none_disabled(&app, what).await;
        assert_eq!(active(&app).await, before, "{what}");
        let dead = app.store.list_queue(Some(amsync_core::queue::QueueState::Dead), 10, None).await.unwrap();
        assert!(dead.iter().all(|e| e.last_error.is_some()), "{what}: the failure is kept");
        app.store.requeue(&amsync_store::RequeueSelector::AllDead, chrono::Utc::now()).await.unwrap();
        app.clear_faults();
        app.engine.wake_workers();
        for _ in 0..400 {
            if app.store.queue_counts().await.unwrap() == Default::default() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // Bad credentials pause the source instead; nobody is disabled either.
    app.set_faults(Faults { unauthorized: true, ..Faults::default() });
    let keys: Vec<_> = KEYS.iter().map(|k| key(k)).collect();
    let run = app.engine.refresh_keys(&keys, amsync_core::Trigger::Manual, serde_json::json!({})).await.unwrap();
    for _ in 0..200 {
        if app.engine.is_paused() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(app.engine.is_paused(), "401 pauses the source");
    assert!(!app.engine.is_quarantined(), "bad credentials are not a quarantine");
    assert_none_disabled(&app, "401").await;
    app.clear_faults();
    let run = app.wait_run(run).await;
    assert_eq!((run.counts.dead, run.counts.disabled), (0, 0), "{run:?}");
    assert_eq!(active(&app).await, before);
    assert_matches_truth(&app).await;
    app.stop().await;
}
