//! Data protection (issue 6): what amsync holds about one member (export),
//! removing all of it (erase, which leaves a tombstone on the key), and
//! pruning by age (retention).
//!
//! **Invariants:**
//! - an erase removes every row about the member — its record, memberships,
//!   groups, raw AMS answers, history, refresh bookkeeping, queue entries,
//!   sessions, mobile tokens, change-feed entries and changes the
//!   thresholds held — in one transaction, clears its key from the
//!   thresholds' ledger (the counts stay), and appends one `erased` entry
//!   to the change feed so the site drops what it holds; a pending approval
//!   left with nothing pending is dropped;
//! - what an erase removed does not survive in the database's files: the
//!   SQLite store overwrites deleted content (`secure_delete`) and empties
//!   its write-ahead log after the erase commits, so neither the file nor a
//!   backup taken afterwards holds it (`sqlite/member_data.rs` lists, table
//!   by table, what an erase and an export do);
//! - a refresh of a tombstoned key writes nothing about it (its queue entry
//!   settles as [`crate::CommitOutcome::Tombstoned`]), so the record does
//!   not come back until an admin lifts the tombstone;
//! - pruning works in bounded batches, each its own short write, so the
//!   writer keeps committing refreshes between them; it never deletes the
//!   newest change-feed entry (sequence numbers are `max + 1`, so deleting
//!   the newest would let a number be handed out twice), a run that has
//!   not finished, nor a member an admin disabled (an admin's disable
//!   sticks, and a pruned record would come back enabled).
//!
//! What an erase keeps, on purpose: the tombstone (the key, when, who and
//! why), the audit log's entries about the member (accountability for
//! admin actions, the erase included), the thresholds' ledger rows without
//! the key, and another member's record naming the key as its merge target.

use std::time::Duration;

use amsync_core::{GroupKey, MemberKey, Membership};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::AuditEntry;
use crate::error::Result;
use crate::safety_api::HeldChange;
use crate::types::{FeedItem, HistoryEntry, QueueEntry, StoredMember};

/// A key an admin erased: refreshes write nothing about it until it is lifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    pub key: MemberKey,
    pub erased_at: DateTime<Utc>,
    /// Who erased it (as in the audit log).
    pub actor: String,
    /// The admin's short reason (a request reference), if given.
    pub reason: Option<String>,
}

/// Longest reason an erase may carry, in characters.
pub const MAX_ERASE_REASON: usize = 256;

/// An erase to perform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EraseRequest {
    pub key: MemberKey,
    pub actor: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// What an erase removed, row counts per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasedRows {
    /// The member row (0 or 1).
    pub member: u64,
    pub memberships: u64,
    /// AMS and local group memberships.
    pub groups: u64,
    /// Stored raw AMS answers (0 or 1 row holding the three parts).
    pub payloads: u64,
    pub history: u64,
    /// Refresh bookkeeping (0 or 1).
    pub refresh: u64,
    pub queue: u64,
    pub sessions: u64,
    pub mobile_tokens: u64,
    /// Change-feed entries about the member before the `erased` one.
    pub change_feed: u64,
    /// Its changes held by the thresholds, whatever their status (a
    /// pending approval left with nothing pending is dropped).
    #[serde(default)]
    pub held_changes: u64,
    /// Threshold-ledger rows whose member key was cleared: the counts stay,
    /// so an erase never loosens the window.
    #[serde(default)]
    pub threshold_ledger: u64,
}

impl ErasedRows {
    pub fn total(&self) -> u64 {
        self.member
            + self.memberships
            + self.groups
            + self.payloads
            + self.history
            + self.refresh
            + self.queue
            + self.sessions
            + self.mobile_tokens
            + self.change_feed
            + self.held_changes
            + self.threshold_ledger
    }
}

/// What [`DataStore::erase_member`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EraseReport {
    pub removed: ErasedRows,
    /// The tombstone now on the key (the earlier one, when the key was
    /// already tombstoned).
    pub tombstone: Tombstone,
    /// The key was tombstoned before this erase.
    pub already_tombstoned: bool,
}

/// One stored raw AMS answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPayload {
    /// `details`, `communities` or `security_groups`.
    pub part: String,
    /// The body's media type, as the source named it (`application/json`,
    /// `application/xml`, …; see `amsync_core::PayloadFormat`).
    pub encoding: String,
    pub at: DateTime<Utc>,
    pub body: Vec<u8>,
}

/// Refresh bookkeeping of a key (kept even before its first good refresh).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshBookkeeping {
    pub last_refreshed_at: Option<DateTime<Utc>>,
    pub last_trigger: Option<String>,
    /// The last failure as stored (JSON text of a `Failure`).
    pub last_error: Option<serde_json::Value>,
    pub last_error_at: Option<DateTime<Utc>>,
}

/// A session, without its id hash or CSRF token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMeta {
    pub method: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// A mobile token, without its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MobileTokenMeta {
    pub grant: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A change of the member the thresholds' window counted: a disable, an
/// enable, or `n` membership removals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// `disable`, `enable` or `membership_removal`.
    pub kind: String,
    pub at: DateTime<Utc>,
    pub n: u64,
    /// Made or approved by an admin (recorded, not counted against the limits).
    pub by_admin: bool,
}

/// A local group (SuperAdmin included) an admin put the member in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalGroupMembership {
    pub group: GroupKey,
    pub added_at: DateTime<Utc>,
}

/// Everything amsync holds about one member key (`GET
/// /api/v1/members/{key}/export`). No secret is in it: sessions and
/// mobile tokens come without their hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberExport {
    pub key: MemberKey,
    pub member: Option<StoredMember>,
    /// Every membership the AMS last listed, before the community rules.
    pub ams_memberships: Option<Vec<Membership>>,
    pub local_groups: Vec<LocalGroupMembership>,
    pub payloads: Vec<StoredPayload>,
    /// Newest first, all of it.
    pub history: Vec<HistoryEntry>,
    pub refresh: Option<RefreshBookkeeping>,
    pub queue: Vec<QueueEntry>,
    pub sessions: Vec<SessionMeta>,
    pub mobile_tokens: Vec<MobileTokenMeta>,
    /// Oldest first.
    pub change_feed: Vec<FeedItem>,
    /// Its changes the thresholds held, whatever their status, oldest first.
    pub held_changes: Vec<HeldChange>,
    /// What the thresholds' window counted of it, oldest first.
    pub threshold_ledger: Vec<LedgerEntry>,
    /// Audit entries whose target is the member (its key, or a path under
    /// `/members/{key}`), newest first.
    pub audit: Vec<AuditEntry>,
    pub tombstone: Option<Tombstone>,
}

impl MemberExport {
    /// Whether nothing at all is held about the key.
    pub fn is_empty(&self) -> bool {
        self.member.is_none()
            && self.refresh.is_none()
            && self.payloads.is_empty()
            && self.history.is_empty()
            && self.queue.is_empty()
            && self.sessions.is_empty()
            && self.mobile_tokens.is_empty()
            && self.change_feed.is_empty()
            && self.held_changes.is_empty()
            && self.threshold_ledger.is_empty()
            && self.local_groups.is_empty()
            && self.audit.is_empty()
            && self.tombstone.is_none()
    }
}

/// How long each kind of data is kept (`[retention]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Member history entries older than this are deleted.
    pub history: Duration,
    /// Change-feed entries older than this are deleted (never the newest).
    pub change_feed: Duration,
    /// Runs that finished longer ago than this are deleted.
    pub runs: Duration,
    /// Ended sessions and mobile tokens are deleted this long after they end.
    pub sessions: Duration,
    /// `idle_timeout` of sessions: a session unused this long has ended.
    pub session_idle_timeout: Duration,
    /// Used single-use token ids are kept this long after their token expires.
    pub used_token_ids: Duration,
    /// Members disabled (not by an admin) whose record has not changed for
    /// this long are removed (with an `erased` change-feed entry, no tombstone).
    pub disabled_members: Duration,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        let days = |d: u64| Duration::from_secs(d * 24 * 3600);
        RetentionPolicy {
            history: days(365),
            change_feed: days(30),
            runs: days(90),
            sessions: days(1),
            session_idle_timeout: Duration::from_secs(2 * 3600),
            used_token_ids: Duration::from_secs(3600),
            disabled_members: days(365),
        }
    }
}

/// What one pruning pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    pub history: u64,
    pub change_feed: u64,
    pub runs: u64,
    pub sessions: u64,
    pub mobile_tokens: u64,
    pub used_token_ids: u64,
    pub disabled_members: u64,
    /// Decided approvals removed (with their held changes).
    pub approvals: u64,
    /// Write operations the pass took (each one bounded batch).
    pub batches: u64,
}

impl PruneReport {
    pub fn total(&self) -> u64 {
        self.history
            + self.change_feed
            + self.runs
            + self.sessions
            + self.mobile_tokens
            + self.used_token_ids
            + self.disabled_members
            + self.approvals
    }
}

/// Export, erase, tombstones and retention.
#[async_trait::async_trait]
pub trait DataStore: Send + Sync {
    /// Everything held about `key`; `None` when nothing is.
    async fn export_member(&self, key: &MemberKey) -> Result<Option<MemberExport>>;

    /// Removes every row about the member and leaves a tombstone on its key,
    /// in one transaction. A key nothing is held about is tombstoned too (a
    /// request to erase may come before the record was ever synced).
    async fn erase_member(&self, erase: &EraseRequest) -> Result<EraseReport>;

    async fn tombstone(&self, key: &MemberKey) -> Result<Option<Tombstone>>;

    /// Tombstones in key order, after `after` (paging).
    async fn list_tombstones(&self, limit: usize, after: Option<&MemberKey>) -> Result<Vec<Tombstone>>;

    /// Lifts the tombstone on `key`; the next refresh brings the record back.
    /// Returns whether there was one.
    async fn lift_tombstone(&self, key: &MemberKey) -> Result<bool>;

    /// Deletes what `policy` says is too old, in bounded batches.
    async fn prune(&self, policy: &RetentionPolicy, now: DateTime<Utc>) -> Result<PruneReport>;
}
