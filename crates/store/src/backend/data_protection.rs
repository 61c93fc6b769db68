//! Data protection: tombstones, export, erase and retention. The erase
//! and the pruning are written once in `ops/erase.rs` and
//! `ops/retention.rs`; a backend deletes what they ask, and knows which of
//! its tables hold a member's rows (SQLite lists them in
//! `sqlite/member_data.rs`, which a conformance test checks).

use std::future::Future;
use std::time::Duration;

use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use crate::data_protection::{MemberExport, Tombstone};
use crate::error::Result;
use crate::safety_api::ApprovalId;
use crate::types::RunId;

/// What [`EraseTx::delete_member_data`] deleted, rows per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberDataDeleted {
    pub memberships: u64,
    /// AMS and local group memberships.
    pub groups: u64,
    pub payloads: u64,
    pub history: u64,
    pub refresh: u64,
    pub sessions: u64,
    pub mobile_tokens: u64,
    /// Ledger rows whose member key was cleared (the rows stay).
    pub threshold_ledger: u64,
}

/// What one pruning batch deletes (see [`EraseTx::prune_batch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prunable {
    /// History entries older than the cutoff, oldest first.
    History,
    /// Change-feed entries older than the cutoff, oldest first; never the
    /// newest entry of the feed (its number would be handed out again).
    ChangeFeed,
    /// Runs that finished before the cutoff.
    Runs,
    /// Approvals decided before the cutoff (applied, dropped, or rejected
    /// with no rejection still standing), with their held changes; the
    /// limit counts approvals.
    Approvals,
    /// Sessions that expired before the cutoff, or were last seen `idle`
    /// before it.
    Sessions { idle: Duration },
    /// Mobile tokens that expired before the cutoff.
    MobileTokens,
    /// Used single-use token ids whose token expired before the cutoff.
    UsedTokenIds,
}

/// Single operations of data protection inside a transaction.
pub trait EraseTx: Send {
    /// Whether `key` carries a tombstone (an erased key a refresh must not
    /// bring back).
    fn is_tombstoned(&mut self, key: &str) -> impl Future<Output = Result<bool>> + Send;

    /// The tombstone of `key`, as this transaction sees it.
    fn tombstone_of(&mut self, key: &str) -> impl Future<Output = Result<Option<Tombstone>>> + Send;

    /// Tombstones `key` unless it is already; returns whether it did.
    fn insert_tombstone(
        &mut self,
        key: &str,
        actor: &str,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Deletes the tombstone of `key`; returns whether there was one.
    fn delete_tombstone(&mut self, key: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Deletes the member row; returns how many (0 or 1).
    fn delete_member_row(&mut self, key: &str) -> impl Future<Output = Result<u64>> + Send;

    /// Deletes the member's change-feed entries but its `erased` ones and
    /// the newest entry of the feed.
    fn delete_feed_history(&mut self, key: &str) -> impl Future<Output = Result<u64>> + Send;

    /// Deletes every other row about the member in every table that holds
    /// one, but the feed, the queue and held changes (which have their own
    /// operations): memberships, groups, payloads, history, refresh
    /// bookkeeping, sessions, mobile tokens; clears its key from the
    /// thresholds' ledger (the counts stay: an erase never loosens the
    /// window).
    fn delete_member_data(&mut self, key: &str) -> impl Future<Output = Result<MemberDataDeleted>> + Send;

    /// Deletes the member's queue entries, whatever their state; returns
    /// the run of each one deleted.
    fn delete_queue_entries(&mut self, key: &str) -> impl Future<Output = Result<Vec<Option<RunId>>>> + Send;

    /// Deletes the member's held changes, whatever their status; returns
    /// the approval of each one deleted.
    fn delete_held_changes(&mut self, key: &str) -> impl Future<Output = Result<Vec<ApprovalId>>> + Send;

    /// Asks that what this transaction deletes not outlive its commit in
    /// the backend's files (SQLite: the write-ahead log is emptied once it
    /// commits). Forgotten if the transaction rolls back.
    fn forget_deleted_after_commit(&mut self) -> impl Future<Output = Result<()>> + Send;

    /// Deletes at most `limit` rows of `what` older than `cutoff` (see
    /// [`Prunable`]); returns how many.
    fn prune_batch(
        &mut self,
        what: Prunable,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Keys of at most `limit` members disabled by their source (never by
    /// an admin) whose row has not changed since `cutoff`, oldest first.
    fn disabled_members_unchanged_since(
        &mut self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
}

/// Reads of data protection.
pub trait DataReads: Send + Sync {
    /// Everything held about `key`, in one snapshot.
    fn export_member(&self, key: &MemberKey) -> impl Future<Output = Result<Option<MemberExport>>> + Send;

    fn tombstone(&self, key: &MemberKey) -> impl Future<Output = Result<Option<Tombstone>>> + Send;

    /// Tombstones in key order after `after`, at most `limit` (already bounded).
    fn list_tombstones(
        &self,
        limit: usize,
        after: Option<&MemberKey>,
    ) -> impl Future<Output = Result<Vec<Tombstone>>> + Send;
}
