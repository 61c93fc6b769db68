//! Leases by the engine's clock: a claim is leased until the clock's now
//! plus `lease`; once the clock passes that without a renewal the rescuer
//! gives the entry back, and the late commit of the claim that lost it is
//! fenced.

use amsync_core::error::Part;
use amsync_core::queue::QueueState;
use amsync_core::Trigger;
use amsync_store::RunOutcome;

use crate::clock::Clock;
use crate::testing::{key, members, TestEngine};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_whose_lease_ran_out_on_the_clock_is_rescued_and_its_late_commit_fenced() {
    let t = TestEngine::start(members(3), 2).await;
    let lease = t.engine.settings().lease;
    let k = "M000002";
    t.ams.hold();
    let run = t.engine.refresh_keys(&[key(k)], Trigger::Manual, serde_json::Value::Null).await.unwrap();
    t.until("the refresh at the AMS", async || t.ams.in_flight() == 3).await;
    let claimed = t.entry(k).await.unwrap();
    let until = t.clock.now() + chrono::Duration::from_std(lease).unwrap();
    assert_eq!((claimed.state, claimed.lease_until), (QueueState::Running, Some(until)), "{claimed:?}");
    // The upkeep renews every third of the (hour-long) lease, starting at
    // once; a busy machine may run that first renewal only after the clock
    // moved, and then the lease is passed again.
    let mut until = until;
    loop {
        t.clock.advance_to(until + chrono::Duration::seconds(1));
        let rescued_or_renewed =
            async || t.ams.in_flight() == 6 || t.entry(k).await.is_some_and(|e| e.lease_until > Some(until));
        t.until("a second claim's refresh at the AMS", rescued_or_renewed).await;
        if t.ams.in_flight() == 6 {
            break;
        }
        until = t.entry(k).await.unwrap().lease_until.unwrap();
    }
    t.ams.release();
    let run = t.wait_run(run).await;
    assert_eq!((run.outcome, run.counts.refreshed), (RunOutcome::Succeeded, 1), "applied once: {run:?}");
    assert_eq!(t.ams.calls_for(Part::Details, &key(k)), 2);
    assert!(t.entry(k).await.is_none(), "settled");
    t.stop().await;
}
