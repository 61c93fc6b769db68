//! How a run ends: the outcome of a run that ran to its end, from its
//! counters. The stores finish a run when its listing is over and its last
//! queue entry settles; what it finished as is decided here, once.
//!
//! And who may carry a run's listing on: an owned run's listing is held
//! under a lease; a lease that ran out leaves the run to be adopted
//! ([`may_adopt`]). A store makes the adoption itself a compare-and-set on
//! what it read, so of several processes adopting at once one wins.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Running,
    Succeeded,
    /// Finished, but some members failed.
    Partial,
    Failed,
}

impl RunOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Running => "running",
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Partial => "partial",
            RunOutcome::Failed => "failed",
        }
    }
}

/// The outcome of a run that ran to its end: partial when an entry went to
/// the dead letters or the listing reported an error, failed when the
/// listing reported an error and enqueued nothing, succeeded otherwise.
pub fn natural_outcome(dead: u64, enqueued: u64, listing_error: bool) -> RunOutcome {
    match (listing_error, dead > 0) {
        (true, _) if enqueued == 0 => RunOutcome::Failed,
        (true, _) | (false, true) => RunOutcome::Partial,
        (false, false) => RunOutcome::Succeeded,
    }
}

/// Whether a lease held until `until` has run out at `now` (a run without
/// a lease, one nobody owns, never has).
pub fn lease_lapsed(until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    until.is_some_and(|u| u < now)
}

/// What adopting a run needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldListing<'a> {
    /// The run is running and its listing is not over.
    pub listing_open: bool,
    pub owner: Option<&'a str>,
    pub lease_until: Option<DateTime<Utc>>,
}

/// Whether a process that saw the run held by `from_owner` may adopt it at
/// `now`: its listing is still open, still held by that owner, and the
/// lease ran out.
pub fn may_adopt(run: &HeldListing<'_>, from_owner: Option<&str>, now: DateTime<Utc>) -> bool {
    run.listing_open && run.owner == from_owner && lease_lapsed(run.lease_until, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_adopted_only_from_the_owner_seen_once_its_lease_ran_out() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let now = t("2026-11-29T14:00:00Z");
        let held =
            |open, owner, until: Option<&str>| HeldListing { listing_open: open, owner, lease_until: until.map(t) };
        let lapsed = Some("2026-11-29T13:59:59Z");
        assert!(may_adopt(&held(true, Some("a#1"), lapsed), Some("a#1"), now));
        // Renewed in time, taken by another, or not owned at all.
        assert!(!may_adopt(&held(true, Some("a#1"), Some("2026-11-29T14:00:00Z")), Some("a#1"), now));
        assert!(!may_adopt(&held(true, Some("b#2"), lapsed), Some("a#1"), now));
        assert!(!may_adopt(&held(true, None, None), None, now));
        // The listing is over (or the run ended).
        assert!(!may_adopt(&held(false, Some("a#1"), lapsed), Some("a#1"), now));
        assert!(!lease_lapsed(None, now));
    }

    #[test]
    fn a_run_that_ran_to_its_end_is_judged_by_its_dead_letters_and_its_listing() {
        // (dead, enqueued, listing error) -> outcome
        let table = [
            ((0, 10, false), RunOutcome::Succeeded),
            ((0, 0, false), RunOutcome::Succeeded),
            ((1, 10, false), RunOutcome::Partial),
            ((0, 10, true), RunOutcome::Partial),
            ((3, 10, true), RunOutcome::Partial),
            ((0, 0, true), RunOutcome::Failed),
        ];
        for ((dead, enqueued, error), want) in table {
            assert_eq!(natural_outcome(dead, enqueued, error), want, "dead {dead}, enqueued {enqueued}, error {error}");
        }
    }
}
