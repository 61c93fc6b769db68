//! Where a refresh spends its time: waiting for a claim, fetching from the
//! AMS, committing. Cumulative, cheap (atomics), shown in the status and
//! exported as histograms, so a slow sync says which side is slow.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Default)]
pub(crate) struct PhaseTimes {
    claims: AtomicU64,
    claim_ns: AtomicU64,
    claimed: AtomicU64,
    refreshes: AtomicU64,
    fetch_ns: AtomicU64,
    commit_ns: AtomicU64,
}

/// Averages since the engine started, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct PhaseAverages {
    /// Claim calls made, and entries they returned on average.
    pub claims: u64,
    pub entries_per_claim: f64,
    pub claim_ms: f64,
    /// Member refreshes timed.
    pub refreshes: u64,
    /// The three AMS calls of one refresh, made at once.
    pub fetch_ms: f64,
    /// The commit, including waiting for the store's writer.
    pub commit_ms: f64,
}

fn ms(total_ns: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        total_ns as f64 / n as f64 / 1e6
    }
}

impl PhaseTimes {
    pub fn claim(&self, took: Duration, entries: usize) {
        self.claims.fetch_add(1, Ordering::Relaxed);
        self.claimed.fetch_add(entries as u64, Ordering::Relaxed);
        self.claim_ns.fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
        metrics::histogram!("amsync_queue_claim_seconds").record(took.as_secs_f64());
    }

    pub fn refresh(&self, fetch: Duration, commit: Duration) {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        self.fetch_ns.fetch_add(fetch.as_nanos() as u64, Ordering::Relaxed);
        self.commit_ns.fetch_add(commit.as_nanos() as u64, Ordering::Relaxed);
        metrics::histogram!("amsync_refresh_phase_seconds", "phase" => "fetch").record(fetch.as_secs_f64());
        metrics::histogram!("amsync_refresh_phase_seconds", "phase" => "commit").record(commit.as_secs_f64());
    }

    pub fn averages(&self) -> PhaseAverages {
        let claims = self.claims.load(Ordering::Relaxed);
        let refreshes = self.refreshes.load(Ordering::Relaxed);
        PhaseAverages {
            claims,
            entries_per_claim: if claims == 0 {
                0.0
            } else {
                self.claimed.load(Ordering::Relaxed) as f64 / claims as f64
            },
            claim_ms: ms(self.claim_ns.load(Ordering::Relaxed), claims),
            refreshes,
            fetch_ms: ms(self.fetch_ns.load(Ordering::Relaxed), refreshes),
            commit_ms: ms(self.commit_ns.load(Ordering::Relaxed), refreshes),
        }
    }
}
