//! Scheduling rules of the Refresh Queue (product.md job 2), as pure functions.
//!
//! States: `queued` and `retrying` are *waiting*; `running` has a lease and a
//! fencing token; `dead` waits for an admin's requeue.
//!
//! ```text
//!   enqueue ──► queued ──claim──► running ──ok──► (deleted)
//!                 ▲                  │ transient error, attempts left
//!                 │                  ├──────────────► retrying ──due──► (claimable)
//!                 │  auth pause      │ attempts used up / permanent
//!                 └──────────────────┤──────────────► dead ──requeue──► queued
//!                                    │ lease expired (rescuer)
//!                                    └──────────────► retrying
//! ```
//!
//! At most one waiting entry per key; a key that is running may get one new
//! waiting entry; the claim step never runs two refreshes of one key at once.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::payload::FailureKind;
use crate::trigger::Trigger;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueState {
    Queued,
    Running,
    Retrying,
    Dead,
}

impl QueueState {
    pub const ALL: [QueueState; 4] = [QueueState::Queued, QueueState::Running, QueueState::Retrying, QueueState::Dead];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueState::Queued => "queued",
            QueueState::Running => "running",
            QueueState::Retrying => "retrying",
            QueueState::Dead => "dead",
        }
    }

    /// Waiting states: at most one entry per key is in one of them.
    pub fn is_waiting(self) -> bool {
        matches!(self, QueueState::Queued | QueueState::Retrying)
    }
}

impl fmt::Display for QueueState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for QueueState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        QueueState::ALL.into_iter().find(|q| q.as_str() == s).ok_or_else(|| format!("unknown queue state {s:?}"))
    }
}

/// Priority of a waiting entry; higher runs first.
///
/// login > webhook/merge > manual > periodic > rule re-apply > full.
pub fn priority_of(trigger: Trigger) -> i64 {
    match trigger {
        Trigger::Login => 6,
        Trigger::Webhook | Trigger::Merge => 5,
        Trigger::Manual | Trigger::Admin => 4,
        Trigger::Periodic | Trigger::Events | Trigger::Push | Trigger::Scim => 3,
        Trigger::Rules => 2,
        Trigger::Full => 1,
    }
}

/// How much earlier one step of priority lets an entry run. Entries are
/// claimed in order of `due - priority * AGING_STEP`, so a low-priority
/// entry that has waited this long per step of difference overtakes a fresh
/// high-priority one: waiting entries age upward and none starves.
pub const AGING_STEP: Duration = Duration::from_secs(10 * 60);

/// The claim order of a waiting entry (smaller first), in milliseconds.
pub fn sort_key(due_ms: i64, priority: i64) -> i64 {
    due_ms - priority * AGING_STEP.as_millis() as i64
}

/// Most attempts a permanent refusal gets, whatever `max_attempts` says.
pub const PERMANENT_MAX_ATTEMPTS: u32 = 3;

/// Backoff settings, from `[member_refresh]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 8, backoff_initial: Duration::from_secs(5), backoff_max: Duration::from_secs(3600) }
    }
}

impl RetryPolicy {
    /// Delay before attempt `attempts + 1`, after `attempts` failed ones:
    /// exponential from `backoff_initial`, capped at `backoff_max`, with
    /// "equal jitter" (half fixed, half random; `jitter` in `[0, 1)`), and
    /// never earlier than a `Retry-After` the AMS asked for.
    pub fn backoff(&self, attempts: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
        let exp = attempts.saturating_sub(1).min(30);
        let base = self.backoff_initial.saturating_mul(1u32 << exp).min(self.backoff_max);
        let jitter = jitter.clamp(0.0, 1.0);
        let d = base / 2 + base.mul_f64(jitter / 2.0);
        match retry_after {
            Some(ra) => d.max(ra),
            None => d,
        }
    }

    /// The dead-letter decision: whether an entry whose attempt number
    /// `attempts` (this one included) failed with `kind` goes to the dead
    /// letters rather than being retried. A permanent refusal (a 4xx that
    /// retrying is unlikely to fix) gets at most
    /// [`PERMANENT_MAX_ATTEMPTS`]; every other failure `max_attempts`.
    /// (An unauthorized failure never reaches this: it pauses the source
    /// and gives its attempt back.)
    pub fn exhausted(&self, attempts: u32, kind: FailureKind) -> bool {
        let limit = match kind {
            FailureKind::Permanent => self.max_attempts.min(PERMANENT_MAX_ATTEMPTS),
            _ => self.max_attempts,
        };
        attempts >= limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_follow_the_spec_order() {
        let order =
            [Trigger::Login, Trigger::Webhook, Trigger::Manual, Trigger::Periodic, Trigger::Rules, Trigger::Full];
        for w in order.windows(2) {
            assert!(priority_of(w[0]) > priority_of(w[1]), "{:?} before {:?}", w[0], w[1]);
        }
        assert_eq!(priority_of(Trigger::Merge), priority_of(Trigger::Webhook));
    }

    #[test]
    fn aging_lets_old_low_priority_entries_overtake() {
        let step = AGING_STEP.as_millis() as i64;
        let old_full = sort_key(0, priority_of(Trigger::Full));
        let fresh_login = sort_key(10 * step, priority_of(Trigger::Login));
        assert!(old_full < fresh_login);
        let recent_login = sort_key(step, priority_of(Trigger::Login));
        assert!(recent_login < old_full);
    }

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        let p = RetryPolicy {
            max_attempts: 8,
            backoff_initial: Duration::from_secs(4),
            backoff_max: Duration::from_secs(60),
        };
        assert_eq!(p.backoff(1, 0.0, None), Duration::from_secs(2));
        assert_eq!(p.backoff(1, 0.999999, None).as_secs(), 3);
        assert_eq!(p.backoff(3, 0.0, None), Duration::from_secs(8));
        assert_eq!(p.backoff(30, 1.0, None), Duration::from_secs(60));
        assert_eq!(p.backoff(1, 0.0, Some(Duration::from_secs(30))), Duration::from_secs(30));
    }

    #[test]
    fn the_dead_letter_decision_gives_a_permanent_refusal_three_attempts_at_most() {
        let p = RetryPolicy { max_attempts: 8, ..RetryPolicy::default() };
        // (attempts, kind) -> to the dead letters
        let table = [
            ((7, FailureKind::Transient), false),
            ((8, FailureKind::Transient), true),
            ((7, FailureKind::Data), false),
            ((8, FailureKind::Data), true),
            ((2, FailureKind::Permanent), false),
            ((3, FailureKind::Permanent), true),
        ];
        for ((attempts, kind), dead) in table {
            assert_eq!(p.exhausted(attempts, kind), dead, "{attempts} attempts, {kind:?}");
        }
        // Fewer allowed attempts than three bound a permanent refusal too.
        let one = RetryPolicy { max_attempts: 1, ..RetryPolicy::default() };
        assert!(one.exhausted(1, FailureKind::Permanent) && one.exhausted(1, FailureKind::Transient));
    }
}
