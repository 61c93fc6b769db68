//! A failed refresh's fate, by the engine's clock: retried when its backoff
//! has passed (never before), given up as a dead letter when its attempts
//! are used, given back unused when the AMS refuses our credentials; and a
//! failed listing page retried within its run after the same backoff.

use crate::clock::Clock;
use std::time::Duration;

use amsync_ams::memory::MemoryFault;
use amsync_ams::SourceError;
use amsync_core::error::Part;
use amsync_core::queue::QueueState;
use amsync_core::record::MemberStatus;
use amsync_core::Trigger;
use amsync_store::{MemberStore, QueueEntry, RunOutcome};
use chrono::{DateTime, Utc};

use crate::poll::PollMode;
use crate::testing::{key, members, TestEngine, RETRY};

/// The window a retry after `attempts` failed attempts falls in (equal
/// jitter: half the exponential delay fixed, half random).
fn window(failed_at: DateTime<Utc>, attempts: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let full = RETRY.backoff(attempts, 1.0, None);
    let (half, full) = (chrono::Duration::from_std(full / 2).unwrap(), chrono::Duration::from_std(full).unwrap());
    (failed_at + half, failed_at + full)
}

/// Waits until `key`'s entry has failed `attempts` times and waits for its
/// retry; returns it.
async fn failed(t: &TestEngine, k: &str, attempts: u32, state: QueueState) -> QueueEntry {
    let what = format!("{k} to have failed {attempts} times");
    t.until(&what, async || t.entry(k).await.is_some_and(|e| e.attempts == attempts && e.state == state)).await;
    t.entry(k).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_is_retried_once_its_backoff_has_passed() {
    let t = TestEngine::start(members(5), 2).await;
    let k = "M000003";
    t.ams.fail(MemoryFault::unavailable(Part::Details).for_key(key(k)).times(2));
    let run = t.engine.refresh_keys(&[key(k)], Trigger::Manual, serde_json::Value::Null).await.unwrap();
    for attempts in [1, 2] {
        let now = t.clock.now();
        let e = failed(&t, k, attempts, QueueState::Retrying).await;
        let (earliest, latest) = window(now, attempts);
        assert!(e.due_at >= earliest && e.due_at <= latest, "due {} not in [{earliest}, {latest}]", e.due_at);
        assert_eq!(t.ams.calls_for(Part::Details, &key(k)), u64::from(attempts));
        // A second early: the entry waits (the clock is what makes it due).
        t.clock.advance_to(e.due_at - chrono::Duration::seconds(1));
        assert_eq!(t.entry(k).await.unwrap().state, QueueState::Retrying);
        t.clock.advance_to(e.due_at);
    }
    let run = t.wait_run(run).await;
    assert_eq!((run.outcome, run.counts.refreshed), (RunOutcome::Succeeded, 1), "{run:?}");
    assert_eq!(t.ams.calls_for(Part::Details, &key(k)), 3);
    assert!(t.entry(k).await.is_none(), "settled");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_failing_every_attempt_becomes_a_dead_letter() {
    let t = TestEngine::start(members(5), 2).await;
    let (transient, permanent) = ("M000002", "M000004");
    t.ams.fail(MemoryFault::unavailable(Part::Details).for_key(key(transient)));
    let refused = SourceError::Permanent { part: Part::Details, status: 400, excerpt: None, detail: None };
    t.ams.fail(MemoryFault { error: refused, ..MemoryFault::unavailable(Part::Details).for_key(key(permanent)) });
    let keys = [key(transient), key(permanent)];
    let run = t.engine.refresh_keys(&keys, Trigger::Manual, serde_json::Value::Null).await.unwrap();
    // Each round: both wait (or are dead); the clock passes their due times.
    let waiting = async || {
        let entries = [t.entry(transient).await.unwrap(), t.entry(permanent).await.unwrap()];
        entries.iter().all(|e| matches!(e.state, QueueState::Retrying | QueueState::Dead)).then_some(entries)
    };
    loop {
        t.until("both entries to wait or be dead", async || waiting().await.is_some()).await;
        let entries = waiting().await.unwrap();
        let retrying: Vec<&QueueEntry> = entries.iter().filter(|e| e.state == QueueState::Retrying).collect();
        let Some(last_due) = retrying.iter().map(|e| e.due_at).max() else { break };
        t.clock.advance_to(last_due);
        for e in retrying {
            let what = format!("{}'s attempt {}", e.key, e.attempts + 1);
            t.until(&what, async || t.entry(e.key.as_str()).await.unwrap().attempts > e.attempts).await;
        }
    }
    // A transient failure gets every attempt; a permanent refusal three.
    for (k, limit) in [(permanent, 3), (transient, RETRY.max_attempts)] {
        let dead = t.entry(k).await.unwrap();
        assert_eq!((dead.state, dead.attempts), (QueueState::Dead, limit), "{dead:?}");
        assert!(dead.last_error.is_some(), "{dead:?}");
        assert_eq!(t.ams.calls_for(Part::Details, &key(k)), u64::from(limit));
    }
    let run = t.wait_run(run).await;
    assert_eq!(run.counts.dead, 2, "{run:?}");
    t.stop().await;
}

/// Bad credentials pause the source and give the attempt back; once the AMS
/// takes them again, the upkeep's probe resumes, and the entry, released a
/// second later by the clock, is refreshed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_pause_the_source_without_using_an_attempt() {
    let t = TestEngine::start(members(3), 2).await;
    t.ams.change(|d| d.refuses_our_credentials = true);
    let k = "M000001";
    let run = t.engine.refresh_keys(&[key(k)], Trigger::Manual, serde_json::Value::Null).await.unwrap();
    t.until("the pause", async || t.engine.is_paused()).await;
    let e = failed(&t, k, 0, QueueState::Queued).await;
    assert_eq!(e.due_at, t.clock.now() + chrono::Duration::seconds(1));
    t.ams.change(|d| d.refuses_our_credentials = false);
    t.until("the probe's resume", async || !t.engine.is_paused()).await;
    t.clock.advance(Duration::from_secs(1));
    let run = t.wait_run(run).await;
    assert_eq!(run.counts.refreshed, 1, "{run:?}");
    let m = t.store.get_member(&key(k)).await.unwrap().unwrap().record;
    assert_eq!(m.status, MemberStatus::Active);
    t.stop().await;
}

/// A listing page that fails is asked again within the run after the
/// queue's backoff, waited on the clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_listing_page_is_retried_after_its_backoff() {
    let t = TestEngine::start(members(3), 2).await;
    t.ams.fail(MemoryFault::unavailable(Part::ChangedMembers).times(1));
    let engine = t.engine.clone();
    let poll = tokio::spawn(async move { engine.poll_members(PollMode::Full).await });
    let now = t.clock.now();
    t.until("the page's retry to wait", async || !t.clock.sleepers().is_empty()).await;
    let retry_at = t.clock.sleepers()[0];
    let (earliest, latest) = window(now, 1);
    assert!(retry_at >= earliest && retry_at <= latest, "retry at {retry_at} not in [{earliest}, {latest}]");
    t.clock.advance_to(retry_at);
    let report = poll.await.unwrap().unwrap();
    assert_eq!((report.complete, report.listed), (true, 3), "{report:?}");
    assert_eq!(t.ams.calls(Part::ChangedMembers), 2);
    t.wait_run(report.run_id).await;
    t.stop().await;
}
