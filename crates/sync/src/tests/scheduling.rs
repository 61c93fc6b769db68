//! When the periodic poll and the events sync run: at start when they never
//! ran, then a period after the last start, by the engine's clock; skipped
//! while the source is paused; and "refresh now" beside them.

use crate::clock::Clock;
use std::time::Duration;

use amsync_ams::memory::FixtureEvent;
use amsync_core::{Event, EventKey, Trigger};
use amsync_store::{EventStore, RunOutcome, RunStore, SyncStateStore, WATERMARK_MEMBERS};
use chrono::{DateTime, Utc};

use crate::poll::PollMode;
use crate::testing::{members, Tasks, TestEngine};
use crate::Schedule;

const HOUR: Duration = Duration::from_secs(3600);

fn hours(n: i64) -> chrono::Duration {
    chrono::Duration::hours(n)
}

/// Periodic polls hourly, the events sync every three hours.
async fn start(fixture: amsync_ams::memory::SourceFixture) -> TestEngine {
    TestEngine::start_with(fixture, 2, Tasks::All, |s| {
        s.periodic = Schedule::Interval(HOUR);
        s.events = Schedule::Interval(3 * HOUR);
    })
    .await
}

async fn next_periodic(t: &TestEngine, at: DateTime<Utc>) {
    let what = format!("the next periodic poll due at {at}");
    t.until(&what, async || t.engine.status().next_periodic_refresh == Some(at)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_periodic_poll_runs_at_start_then_an_interval_after_each_start() {
    let t = start(members(5)).await;
    let t0 = t.clock.now();
    // The AMS's clock is ours.
    t.ams.change(|d| d.as_of = Some(t0));
    let first = t.nth_run(Trigger::Periodic, 1).await;
    assert_eq!((first.started_at, first.outcome, first.counts.listed), (t0, RunOutcome::Succeeded, 5), "{first:?}");
    next_periodic(&t, t0 + hours(1)).await;
    let watermark = t.store.watermark(WATERMARK_MEMBERS).await.unwrap();
    assert_eq!(watermark, Some(t0 - chrono::Duration::seconds(120)), "as_of less the overlap");

    // A member changes; nothing lists it until the hour has passed.
    t.ams.change(|d| {
        d.members[2].changed_at = t0 + chrono::Duration::minutes(10);
        d.as_of = Some(t0 + hours(1));
    });
    t.clock.advance(HOUR - Duration::from_secs(1));
    assert!(t.clock.sleepers().contains(&(t0 + hours(1))), "still waiting for the hour: {:?}", t.clock.sleepers());
    assert_eq!(t.runs(Trigger::Periodic).await.len(), 1);
    t.clock.advance(Duration::from_secs(1));
    let second = t.nth_run(Trigger::Periodic, 2).await;
    assert_eq!(second.started_at, t0 + hours(1));
    assert_eq!(second.watermark_before, watermark, "listed since the watermark");
    assert_eq!(second.counts.listed, 1, "only the changed member: {second:?}");
    next_periodic(&t, t0 + hours(2)).await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_due_while_paused_is_skipped_and_the_next_due_a_period_later() {
    let t = start(members(3)).await;
    let t0 = t.clock.now();
    t.nth_run(Trigger::Periodic, 1).await;
    next_periodic(&t, t0 + hours(1)).await;
    t.engine.pause("admin").await.unwrap();
    t.clock.advance(HOUR);
    next_periodic(&t, t0 + hours(2)).await;
    assert_eq!(t.runs(Trigger::Periodic).await.len(), 1, "no poll while paused");
    t.engine.resume().await.unwrap();
    t.clock.advance(HOUR);
    let second = t.nth_run(Trigger::Periodic, 2).await;
    assert_eq!(second.started_at, t0 + hours(2));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_sync_runs_on_its_own_schedule_from_its_own_watermark() {
    let mut fixture = members(1);
    let t0: DateTime<Utc> = "2026-11-29T12:00:00Z".parse().unwrap();
    let event = |key: &str, at: DateTime<Utc>| {
        let starts = (at + hours(24 * 30)).fixed_offset();
        let event = Event {
            key: EventKey::parse(key).unwrap(),
            title: Some(format!("Event {key}")),
            description: None,
            starts_at: starts,
            ends_at: starts + hours(2),
            timezone: None,
            location: None,
            url: None,
            community_key: None,
            status: Default::default(),
        };
        FixtureEvent { event, changed_at: at }
    };
    fixture.events = vec![event("E1", t0), event("E2", t0 + hours(1))];
    let t = start(fixture).await;
    let start = t.clock.now();
    t.ams.change(|d| d.as_of = Some(start));
    let first = t.nth_run(Trigger::Events, 1).await;
    assert_eq!((first.started_at, first.counts.listed), (start, 2), "{first:?}");
    let what = "the next events sync due in three hours";
    t.until(what, async || t.engine.status().next_events_sync == Some(start + hours(3))).await;
    t.ams.change(|d| {
        d.events.push(event("E3", start + hours(1)));
        d.as_of = Some(start + hours(3));
    });
    // Two periodic polls pass meanwhile; the events sync waits for its time.
    for n in [2, 3] {
        t.clock.advance(HOUR);
        t.nth_run(Trigger::Periodic, n).await;
    }
    assert_eq!(t.runs(Trigger::Events).await.len(), 1);
    t.clock.advance(HOUR);
    let second = t.nth_run(Trigger::Events, 2).await;
    assert_eq!((second.started_at, second.counts.listed), (start + hours(3), 1), "only E3: {second:?}");
    assert_eq!(t.store.list_events(None, None).await.unwrap().len(), 3);
    t.stop().await;
}

/// "Refresh now" (the API's full refresh) answers with its run as soon as
/// it exists, reconciles, and leaves the periodic schedule as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_now_reports_its_run_at_once_and_leaves_the_schedule_alone() {
    let t = start(members(4)).await;
    let t0 = t.clock.now();
    t.nth_run(Trigger::Periodic, 1).await;
    next_periodic(&t, t0 + hours(1)).await;
    t.clock.advance(Duration::from_secs(600));
    let (tx, rx) = tokio::sync::oneshot::channel();
    t.ams.hold();
    let engine = t.engine.clone();
    let poll = tokio::spawn(async move { engine.poll_members_reporting(PollMode::Full, tx).await });
    let run_id = rx.await.unwrap().unwrap();
    assert_eq!(t.store.get_run(run_id).await.unwrap().unwrap().outcome, RunOutcome::Running, "reported before listing");
    t.ams.release();
    let report = poll.await.unwrap().unwrap();
    assert_eq!((report.run_id, report.complete, report.listed), (run_id, true, 4));
    let run = t.wait_run(run_id).await;
    assert_eq!(
        (run.kind, run.started_at, run.counts.refreshed),
        (Trigger::Full, t0 + chrono::Duration::seconds(600), 4)
    );
    assert_eq!(t.engine.status().next_periodic_refresh, Some(t0 + hours(1)), "the periodic schedule unmoved");
    t.stop().await;
}
