//! `[periodic_refresh]`, `[events]` and `[member_refresh]`: when amsync
//! polls, and how the Refresh Queue's workers run and retry.

use std::time::Duration;

use amsync_core::queue::RetryPolicy;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Problems;
use crate::tagged::NestedMessage;
use crate::values::{opt_text, text, CronSchedule};

/// When a periodic job runs: every `interval`, or on a cron `schedule`.
#[derive(Debug, Clone, PartialEq)]
pub enum Cadence {
    Every(Duration),
    Cron(CronSchedule),
}

impl Cadence {
    /// The next run after `last` (the previous run's start).
    pub fn next_after(&self, last: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Cadence::Every(d) => chrono::Duration::from_std(*d).ok().and_then(|d| last.checked_add_signed(d)),
            Cadence::Cron(c) => c.next_after(last),
        }
    }
}

/// `[periodic_refresh]`: GetChangedMembers since the watermark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawPeriodicRefresh", into = "RawPeriodicRefresh")]
pub struct PeriodicRefreshConfig {
    /// `interval = "30m"` (the default) or `schedule = "0 */30 * * * *"`.
    pub cadence: Cadence,
    /// How far behind the AMS's `as_of` the watermark is set.
    pub overlap: Duration,
}

impl Default for PeriodicRefreshConfig {
    fn default() -> Self {
        PeriodicRefreshConfig {
            cadence: Cadence::Every(Duration::from_secs(30 * 60)),
            overlap: Duration::from_secs(120),
        }
    }
}

/// `[periodic_refresh]` as written: `interval` and `schedule` exclude each other.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawPeriodicRefresh {
    #[serde(with = "opt_text", skip_serializing_if = "Option::is_none")]
    interval: Option<Duration>,
    #[serde(with = "opt_text", skip_serializing_if = "Option::is_none")]
    schedule: Option<CronSchedule>,
    #[serde(with = "text")]
    overlap: Duration,
}

impl Default for RawPeriodicRefresh {
    fn default() -> Self {
        RawPeriodicRefresh { interval: None, schedule: None, overlap: PeriodicRefreshConfig::default().overlap }
    }
}

/// An error that keeps the key it is about, see [`crate::tagged`].
#[derive(Debug)]
pub(crate) struct KeyedError {
    key: &'static str,
    message: &'static str,
}

impl std::fmt::Display for KeyedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        NestedMessage { path: self.key, message: self.message }.fmt(f)
    }
}

impl TryFrom<RawPeriodicRefresh> for PeriodicRefreshConfig {
    type Error = KeyedError;
    fn try_from(raw: RawPeriodicRefresh) -> Result<Self, KeyedError> {
        let cadence = match (raw.interval, raw.schedule) {
            (Some(_), Some(_)) => {
                return Err(KeyedError { key: "schedule", message: "give either interval or schedule, not both" })
            }
            (Some(d), None) => Cadence::Every(d),
            (None, Some(c)) => Cadence::Cron(c),
            (None, None) => PeriodicRefreshConfig::default().cadence,
        };
        Ok(PeriodicRefreshConfig { cadence, overlap: raw.overlap })
    }
}

impl From<PeriodicRefreshConfig> for RawPeriodicRefresh {
    fn from(c: PeriodicRefreshConfig) -> Self {
        let (interval, schedule) = match c.cadence {
            Cadence::Every(d) => (Some(d), None),
            Cadence::Cron(s) => (None, Some(s)),
        };
        RawPeriodicRefresh { interval, schedule, overlap: c.overlap }
    }
}

impl PeriodicRefreshConfig {
    pub(crate) fn check(&self, p: &mut Problems) {
        if let Cadence::Every(d) = self.cadence {
            if d < Duration::from_secs(1) {
                p.add("periodic_refresh.interval", "must be at least 1s");
            }
        }
    }
}

/// `[events]`: GetChangedEvents since its own watermark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    #[serde(with = "text")]
    pub interval: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig { interval: Duration::from_secs(30 * 60) }
    }
}

impl EventsConfig {
    pub(crate) fn check(&self, p: &mut Problems) {
        if self.interval < Duration::from_secs(1) {
            p.add("events.interval", "must be at least 1s");
        }
    }
}

/// AMS calls one Member Refresh has in flight at once: details, communities
/// and security groups, fetched together (`tokio::join!` in sync's
/// `MemberRefresh::fetch`).
pub const AMS_CALLS_PER_REFRESH: u32 = 3;

/// The refresh workers that keep an AMS budget of `max_concurrency` calls
/// full: enough to ask for every call the budget allows, and half as many
/// again.
///
/// Why the half: a worker holds its slot until the slowest of its three
/// calls is back (and, when the writer lags, until a commit slot is free),
/// so with exactly `max_concurrency / 3` workers the permits of the faster
/// calls sit idle (measured: 64 calls allowed, 22 workers, 81 % of the
/// latency bound). The spare workers' calls wait on the AMS client's
/// semaphore and take each permit as soon as it is free. They cost the AMS
/// nothing, since `max_concurrency` still caps the calls in flight; only a
/// claim under lease and a few KiB each.
pub fn workers_for_budget(max_concurrency: u32) -> u32 {
    let filling = max_concurrency.div_ceil(AMS_CALLS_PER_REFRESH).max(1);
    filling + filling.div_ceil(2)
}

/// `[member_refresh]`: the Refresh Queue's workers and retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemberRefreshConfig {
    /// Refreshes calling the AMS at once on this node; unset, it follows
    /// `ams.max_concurrency` (see [`MemberRefreshConfig::effective_workers`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    /// Attempts before an entry goes to the dead letters.
    pub max_attempts: u32,
    #[serde(with = "text")]
    pub backoff_initial: Duration,
    #[serde(with = "text")]
    pub backoff_max: Duration,
    /// A claim's lease, renewed every third of it while the refresh runs.
    #[serde(with = "text")]
    pub lease: Duration,
}

impl Default for MemberRefreshConfig {
    fn default() -> Self {
        let retry = RetryPolicy::default();
        MemberRefreshConfig {
            workers: None,
            max_attempts: retry.max_attempts,
            backoff_initial: retry.backoff_initial,
            backoff_max: retry.backoff_max,
            lease: Duration::from_secs(120),
        }
    }
}

impl MemberRefreshConfig {
    /// The queue's retry settings.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts,
            backoff_initial: self.backoff_initial,
            backoff_max: self.backoff_max,
        }
    }

    /// The workers this node runs: `workers` when set, else
    /// [`workers_for_budget`] of the AMS budget.
    pub fn effective_workers(&self, ams_max_concurrency: u32) -> u32 {
        self.workers.unwrap_or_else(|| workers_for_budget(ams_max_concurrency))
    }

    /// How often a running refresh renews its lease.
    pub fn lease_renewal(&self) -> Duration {
        self.lease / 3
    }

    pub(crate) fn check(&self, p: &mut Problems) {
        if self.workers == Some(0) {
            p.add("member_refresh.workers", "must be at least 1");
        }
        if self.max_attempts == 0 {
            p.add("member_refresh.max_attempts", "must be at least 1");
        }
        if self.backoff_initial.is_zero() {
            p.add("member_refresh.backoff_initial", "must be more than 0s");
        }
        if self.backoff_max < self.backoff_initial {
            p.add("member_refresh.backoff_max", "must not be shorter than backoff_initial");
        }
        if self.lease < Duration::from_secs(3) {
            p.add("member_refresh.lease", "must be at least 3s (it is renewed every third of it)");
        }
    }
}
