//! The thresholds' ledger: single operations that record and count the
//! disables, enables and membership removals applied within the sliding
//! window (the screening that decides with them is `ops/safety.rs`, the
//! limits `amsync_core::safety`), and the reads of the safety nets.

use std::collections::HashSet;
use std::future::Future;

use amsync_core::community::Membership;
use amsync_core::diff::MembershipId;
use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use crate::error::Result;

/// What a ledger row counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LedgerKind {
    Disable,
    Enable,
    MembershipRemoval,
}

impl LedgerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerKind::Disable => "disable",
            LedgerKind::Enable => "enable",
            LedgerKind::MembershipRemoval => "membership_removal",
        }
    }
}

/// Whose change a ledger row records. The source's changes count against
/// the window's limits; a change an admin made or approved (an admin's
/// disable or enable, a released hold, a rule change) is recorded for the
/// audit and for the baselines only, so approving one large change does
/// not hold the source's ordinary changes for the rest of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOrigin {
    Source,
    Admin,
}

/// What the window holds of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerSums {
    /// The source's changes: what the limits count.
    pub source: u64,
    /// An admin's (see [`ChangeOrigin`]).
    pub admin: u64,
}

impl LedgerSums {
    pub fn all(&self) -> u64 {
        self.source + self.admin
    }
}

/// Single operations on the thresholds' ledger inside a transaction.
pub trait SafetyTx: Send {
    /// Records `n` changes of `kind` at `at` (of `member`, when one).
    fn ledger_insert(
        &mut self,
        kind: LedgerKind,
        origin: ChangeOrigin,
        member: Option<&str>,
        n: u64,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Deletes the rows of `kind` older than `before` (no window needs them).
    fn ledger_prune(&mut self, kind: LedgerKind, before: DateTime<Utc>) -> impl Future<Output = Result<()>> + Send;

    /// What the ledger holds of `kind` after `since`.
    fn ledger_sums(
        &mut self,
        kind: LedgerKind,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<LedgerSums>> + Send;

    /// Members active at the start of the window of length `window` ending
    /// at `at`: [`amsync_core::safety::active_at_window_start`] of the
    /// active members now and the ledger's disables and enables within the
    /// window. A backend may reuse a value computed a few seconds earlier
    /// for the same window (it moves only with members created and the
    /// window sliding; a disable leaves it as it is by construction).
    fn baseline_active(
        &mut self,
        at: DateTime<Utc>,
        window: std::time::Duration,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Memberships held at the window's start:
    /// [`amsync_core::safety::memberships_at_window_start`] of the
    /// memberships now and the ledger's removals within the window;
    /// reusable likewise.
    fn baseline_memberships(
        &mut self,
        at: DateTime<Utc>,
        window: std::time::Duration,
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// Reads of the safety nets.
pub trait SafetyReads: Send + Sync {
    /// Folds `visit` over every member, in key order and in one snapshot,
    /// with every membership the AMS last listed for it and the ids of the
    /// memberships it keeps (what a rule change's dry run counts,
    /// `ops/reapply.rs`).
    fn fold_membership_sets<A, F>(&self, init: A, visit: F) -> impl Future<Output = Result<A>> + Send
    where
        A: Send + 'static,
        F: FnMut(&mut A, &str, &[Membership], &HashSet<MembershipId>) + Send + 'static;

    /// Up to `n` active members, from a point `seed` picks.
    fn sample_active_members(&self, n: usize, seed: u64) -> impl Future<Output = Result<Vec<MemberKey>>> + Send;
}
