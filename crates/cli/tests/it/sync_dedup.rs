//! Dedup: a key reported five times is refreshed once. Claims taken ahead
//! of the workers go back unused when the sync pauses.

use std::time::Duration;

use amsync_core::{queue::QueueState, MemberKey, Trigger};
use amsync_sim::Faults;
use amsync_store::QueueStore;

use crate::helpers::{key, AppOptions, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_reported_five_times_is_refreshed_once() {
    let app = TestApp::spawn().await;
    app.full_refresh().await;
    // Hold the workers, report the key five times, then let them go.
    app.engine.pause("test").await.unwrap();
    let now = chrono::Utc::now();
    let mut created = 0;
    for trigger in [Trigger::Periodic, Trigger::Webhook, Trigger::Periodic, Trigger::Manual, Trigger::Full] {
        created += app.store.enqueue(&[key("M000005")], trigger, None, now).await.unwrap().created;
    }
    assert_eq!(created, 1, "one waiting entry per key");
    let entries = app.store.list_queue(None, 10, None).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].priority, amsync_core::queue::priority_of(Trigger::Webhook), "priority raised");
    assert_eq!(entries[0].trigger, Trigger::Webhook, "the trigger that gave it its priority");
    app.sim.reset_stats();
    app.engine.resume().await.unwrap();
    for _ in 0..200 {
        if !app.store.is_pending(&key("M000005")).await.unwrap() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!app.store.is_pending(&key("M000005")).await.unwrap());
    let stats = app.sim.stats();
    assert_eq!((stats.details, stats.communities, stats.security_groups), (1, 1, 1), "{stats:?}");
    app.stop().await;
}

/// Workers claim ahead of their free slots. A pause must not let those
/// waiting claims run, nor cost them an attempt: they go back to the queue
/// as they were, and a resume refreshes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_gives_claims_waiting_for_a_worker_back_unused() {
    let app = TestApp::spawn_with(AppOptions { workers: 2, ..AppOptions::default() }).await;
    app.set_faults(Faults { latency_ms: 300, ..Faults::default() });
    let keys: Vec<MemberKey> = (1..=10).map(|i| key(&format!("M{i:06}"))).collect();
    app.store.enqueue(&keys, Trigger::Manual, None, chrono::Utc::now()).await.unwrap();
    app.engine.wake_workers();
    // Two refreshing and two more claimed, waiting for a slot.
    let mut running = 0;
    for _ in 0..100 {
        running = app.store.queue_counts().await.unwrap().running;
        if running == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(running, 4, "2 workers, each with a claim waiting");
    app.engine.pause("test").await.unwrap();
    for _ in 0..200 {
        if app.store.queue_counts().await.unwrap().running == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let entries = app.store.list_queue(None, 20, None).await.unwrap();
    assert_eq!(entries.len(), 8, "only the two refreshes under way when paused finished: {entries:?}");
    for e in &entries {
        assert_eq!((e.state, e.attempts), (QueueState::Queued, 0), "{e:?}");
    }
    app.clear_faults();
    app.engine.resume().await.unwrap();
    for _ in 0..300 {
        if app.store.queue_counts().await.unwrap() == Default::default() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.store.queue_counts().await.unwrap(), Default::default(), "all ten refreshed after the resume");
    app.stop().await;
}
