//! Dedup: a key reported five times is refreshed once.

use amsync_core::Trigger;
use amsync_store::QueueStore;

use crate::helpers::{key, TestApp};

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
