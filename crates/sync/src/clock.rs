//! The engine's time: every decision it takes about *when* (the next
//! periodic poll and events sync, a retry's due time, a claim's or a run's
//! lease, a listing page's retry) reads an injected [`Clock`] and waits on
//! it, so the engine's own tests drive time by hand ([`ManualClock`])
//! instead of sleeping. Cadences that only say *how often* something is
//! looked at (the upkeep's renewals, rescues and heartbeats, idle workers'
//! look at the queue) stay on tokio's timers.

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::sync::watch;

/// Where the engine reads the time and waits for it.
pub trait Clock: Send + Sync + Debug + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Resolves once [`Clock::now`] has reached `at`.
    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture<'static, ()>;

    /// Resolves once `d` has passed.
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        self.sleep_until(crate::schedule::later(self.now(), d))
    }
}

/// The wall clock, waited on with tokio's timers (production).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that moves only when told ([`ManualClock::advance`]): for tests,
/// which then see exactly the times the engine decided, and never wait for
/// them. Sleepers wake when an advance reaches their time.
#[derive(Debug)]
pub struct ManualClock {
    now: watch::Sender<DateTime<Utc>>,
    /// The times sleepers wait for (one entry per sleeper), so a test can
    /// wait until a task is asleep before it moves time.
    sleepers: std::sync::Arc<Mutex<Vec<DateTime<Utc>>>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> std::sync::Arc<ManualClock> {
        std::sync::Arc::new(ManualClock { now: watch::Sender::new(start), sleepers: Default::default() })
    }

    /// Moves time forward by `d`, waking the sleepers it reaches.
    pub fn advance(&self, d: Duration) {
        self.now.send_modify(|t| *t = crate::schedule::later(*t, d));
    }

    /// Moves time to `at` (never backwards).
    pub fn advance_to(&self, at: DateTime<Utc>) {
        self.now.send_modify(|t| *t = (*t).max(at));
    }

    /// The times tasks are asleep until, earliest first.
    pub fn sleepers(&self) -> Vec<DateTime<Utc>> {
        let mut s = self.sleepers.lock().expect("sleepers lock").clone();
        s.sort();
        s
    }
}

/// Removes its sleeper's entry however the sleep ends (woken or dropped).
struct Sleeper {
    at: DateTime<Utc>,
    sleepers: std::sync::Arc<Mutex<Vec<DateTime<Utc>>>>,
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let mut s = self.sleepers.lock().expect("sleepers lock");
        if let Some(i) = s.iter().position(|t| *t == self.at) {
            s.swap_remove(i);
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let mut rx = self.now.subscribe();
        self.sleepers.lock().expect("sleepers lock").push(at);
        let sleeper = Sleeper { at, sleepers: self.sleepers.clone() };
        Box::pin(async move {
            let _sleeper = sleeper;
            // The sender lives as long as the clock; a dropped clock never wakes.
            if rx.wait_for(|now| *now >= at).await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_wakes_a_sleeper_only_when_advanced_to_its_time() {
        let t0: DateTime<Utc> = "2026-11-29T12:00:00Z".parse().unwrap();
        let clock = ManualClock::new(t0);
        let mut sleep = clock.sleep(Duration::from_secs(60));
        assert_eq!(clock.sleepers(), vec![t0 + chrono::Duration::seconds(60)]);
        assert!(futures::poll!(&mut sleep).is_pending());
        clock.advance(Duration::from_secs(59));
        assert!(futures::poll!(&mut sleep).is_pending(), "woken before its time");
        clock.advance(Duration::from_secs(1));
        sleep.await;
        assert_eq!(clock.now(), t0 + chrono::Duration::seconds(60));
        assert!(clock.sleepers().is_empty());
        clock.advance_to(t0);
        assert_eq!(clock.now(), t0 + chrono::Duration::seconds(60), "never backwards");
    }
}
