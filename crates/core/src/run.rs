//! How a run ends: the outcome of a run that ran to its end, from its
//! counters. The stores finish a run when its listing is over and its last
//! queue entry settles; what it finished as is decided here, once.

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

#[cfg(test)]
mod tests {
    use super::*;

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
