/// A key reported five times waits once (with the highest priority
/// asked) and costs the AMS one refresh: three calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_reported_five_times_is_refreshed_once() {
    use crate::clock::Clock;
    use amsync_core::error::Part;
    use amsync_core::Trigger;
    use amsync_store::QueueStore;

    use crate::testing::{key, members, TestEngine};

    let t = TestEngine::start(members(10), 4).await;
    t.full_refresh().await;
    // Hold the workers, report the key five times, then let them go.
    t.engine.pause("test").await.unwrap();
    let now = t.clock.now();
    let mut created = 0;
    for trigger in [Trigger::Periodic, Trigger::Webhook, Trigger::Periodic, Trigger::Manual, Trigger::Full] {
        created += t.store.enqueue(&[key("M000005")], trigger, None, now).await.unwrap().created;
    }
    assert_eq!(created, 1, "one waiting entry per key");
    let entries = t.store.list_queue(None, 10, None).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].priority, amsync_core::queue::priority_of(Trigger::Webhook), "priority raised");
    assert_eq!(entries[0].trigger, Trigger::Webhook, "the trigger that gave it its priority");
    t.ams.reset_calls();
    t.engine.resume().await.unwrap();
    t.until("the key's refresh", async || !t.store.is_pending(&key("M000005")).await.unwrap()).await;
    let calls = [Part::Details, Part::Communities, Part::SecurityGroups].map(|p| t.ams.calls(p));
    assert_eq!(calls, [1, 1, 1]);
    assert_eq!(t.ams.calls_for(Part::Details, &key("M000005")), 1);
    t.stop().await;
}

/// Workers claim ahead of their free slots. A pause must not let those
/// waiting claims run, nor cost them an attempt: they go back to the
/// queue as they were, and a resume refreshes them. The AMS holds the
/// first two refreshes' calls until the pause is in place, so the test
/// sees the claims waiting without timing anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_gives_claims_waiting_for_a_worker_back_unused() {
    use crate::clock::Clock;
    use amsync_core::queue::QueueState;
    use amsync_core::{MemberKey, Trigger};
    use amsync_store::QueueStore;

    use crate::testing::{key, members, TestEngine};

    let t = TestEngine::start(members(10), 2).await;
    t.ams.hold();
    let keys: Vec<MemberKey> = (1..=10).map(|i| key(&format!("M{i:06}"))).collect();
    t.store.enqueue(&keys, Trigger::Manual, None, t.clock.now()).await.unwrap();
    t.engine.wake_workers();
    // Two refreshing (their three calls each held at the AMS) and two
    // more claimed, waiting for a slot.
    t.until("two refreshes at the AMS", async || t.ams.in_flight() == 6).await;
    t.until("two claims waiting", async || t.store.queue_counts().await.unwrap().running == 4).await;
    t.engine.pause("test").await.unwrap();
    t.ams.release();
    t.until("nothing running", async || t.store.queue_counts().await.unwrap().running == 0).await;
    let entries = t.store.list_queue(None, 20, None).await.unwrap();
    assert_eq!(entries.len(), 8, "only the two refreshes under way when paused finished: {entries:?}");
    for e in &entries {
        assert_eq!((e.state, e.attempts), (QueueState::Queued, 0), "{e:?}");
    }
    t.engine.resume().await.unwrap();
    t.until("all ten refreshed", async || t.store.queue_counts().await.unwrap() == Default::default()).await;
    t.stop().await;
}
