//! Faults: 20 % 5xx and 5 % hangs for a while, and every member converges.

use std::time::Duration;

use amsync_sim::Faults;

use crate::helpers::{assert_matches_truth, AppOptions, TestApp, HEAVY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_converge_through_errors_and_hangs() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn_with(AppOptions {
        members: 500,
        timeout: Duration::from_millis(300),
        max_attempts: 30,
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        workers: 32,
        ..AppOptions::default()
    })
    .await;
    app.set_faults(Faults { error_rate: 0.20, hang_rate: 0.05, hang_ms: 2_000, ..Faults::default() });
    // The listing itself may fail under these faults; the next poll lists again.
    let mut run = None;
    for _ in 0..5 {
        let report = app.engine.poll_members(amsync_sync::PollMode::Full).await.unwrap();
        if report.complete {
            run = Some(app.wait_run(report.run_id).await);
            break;
        }
    }
    let run = run.expect("a full listing succeeds within five tries at 25 % faults");
    let stats = app.sim.stats();
    assert!(stats.faults_injected > 100, "faults were injected: {stats:?}");
    assert_eq!(run.counts.dead, 0, "{run:?}");
    // A listing that failed before this one already enqueued keys, and some
    // of their refreshes ran under the failed run: this run adopted the rest
    // and refreshed (unchanged) those.
    assert_eq!(run.counts.refreshed, 500, "{run:?}");
    assert_eq!(run.counts.created + run.counts.unchanged, 500, "{run:?}");
    assert_eq!(amsync_store::MemberStore::member_count(app.store.as_ref()).await.unwrap(), 500);
    assert!(run.counts.failed > 0, "some attempts failed and were retried: {run:?}");
    app.clear_faults();
    assert_matches_truth(&app).await;
    app.stop().await;
}
