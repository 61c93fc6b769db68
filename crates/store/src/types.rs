//! Plain data passed to and from the store.

use std::time::Duration;

use amsync_core::diff::{ChangeKind, FetchedMember, FieldChange};
use amsync_core::hash::ContentHash;
use amsync_core::queue::QueueState;
use amsync_core::record::MemberRecord;
use amsync_core::{DataError, Event, Failure, MemberKey, RawPayload, Trigger};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub type RunId = i64;

/// A claimed queue entry: the right to refresh one member until the lease
/// expires. Commits carry `(id, fence)` and apply only while it still holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub id: i64,
    pub fence: i64,
    pub key: MemberKey,
    pub trigger: Trigger,
    pub priority: i64,
    /// Attempts including this one.
    pub attempts: u32,
    pub run_id: Option<RunId>,
    pub lease_until: DateTime<Utc>,
}

impl Claim {
    pub fn token(&self) -> ClaimToken {
        ClaimToken { id: self.id, fence: self.fence }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimToken {
    pub id: i64,
    pub fence: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnqueueResult {
    /// New waiting entries.
    pub created: u64,
    /// Keys that already had a waiting entry (priority raised, due time
    /// moved earlier, attempts kept).
    pub merged: u64,
}

/// A queue entry as the API lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub id: i64,
    pub key: MemberKey,
    pub state: QueueState,
    pub trigger: Trigger,
    pub priority: i64,
    pub attempts: u32,
    pub run_id: Option<RunId>,
    pub enqueued_at: DateTime<Utc>,
    /// When a waiting entry becomes claimable (the next retry, for `retrying`).
    pub due_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    pub last_error: Option<Failure>,
    pub last_error_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCounts {
    pub queued: u64,
    pub running: u64,
    pub retrying: u64,
    pub dead: u64,
    /// Enqueue time of the oldest waiting entry.
    pub oldest_waiting_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequeueSelector {
    AllDead,
    Keys(Vec<MemberKey>),
    /// Dead letters whose last failure was transient (quarantine recovery).
    TransientDead,
}

/// What becomes of a queue entry whose refresh failed. The engine decides it
/// from the queue rules (`amsync_core::queue`); the store applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Back to `retrying`, claimable at `due`.
    Retry { due: DateTime<Utc> },
    /// To the dead letters.
    Dead,
    /// Back to `queued` at `due` *without* using up the attempt (the source
    /// is paused or quarantined).
    Release { due: DateTime<Utc> },
}

/// Content hashes of the three parts as the AMS sent them (memberships
/// before the community rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PartHashes {
    pub details: ContentHash,
    pub memberships: ContentHash,
    pub groups: ContentHash,
}

impl PartHashes {
    pub fn of(m: &FetchedMember) -> PartHashes {
        PartHashes {
            details: ContentHash::of(&m.details),
            memberships: ContentHash::of(&m.memberships),
            groups: ContentHash::of(&m.groups),
        }
    }
}

/// The raw bodies of the three answers, kept as the member's last payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawParts {
    pub details: RawPayload,
    pub communities: RawPayload,
    pub groups: RawPayload,
}

/// What a Member Refresh found out.
// A commit is built once and moved to the store; boxing the large variant
// would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum RefreshOutcome {
    /// All three parts fetched, parsed and validated.
    Fetched { member: FetchedMember, hashes: PartHashes, raw: RawParts },
    /// GetMemberDetails answered 404/410.
    Gone { status: u16, merged_into: Option<MemberKey> },
    /// A part failed: the member is left exactly as it was.
    Failed { failure: Failure, disposition: Disposition },
}

/// One member refresh to commit.
#[derive(Debug, Clone)]
pub struct RefreshCommit {
    /// The queue claim it was done under; `None` for a serial refresh at
    /// sign-in that was not queued.
    pub claim: Option<ClaimToken>,
    pub key: MemberKey,
    pub trigger: Trigger,
    pub run_id: Option<RunId>,
    pub at: DateTime<Utc>,
    pub outcome: RefreshOutcome,
}

/// What committing a refresh did.
#[derive(Debug, Clone, PartialEq)]
pub enum CommitOutcome {
    /// Written. `kind` is `Changed` with `fields == 0` when nothing changed
    /// (nothing but bookkeeping was written).
    Applied { kind: ChangeKind, fields: usize, group_errors: Vec<DataError> },
    /// 404/410 for a member never held: nothing to disable.
    UnknownGone,
    /// The failure was recorded and the entry given its disposition.
    FailureRecorded,
    /// The claim no longer held (lease expired and re-claimed, or the entry
    /// was requeued): nothing was written.
    Fenced,
    /// The key was erased by an admin and carries a tombstone: nothing about
    /// it was written, and its queue entry settled.
    Tombstoned,
}

impl CommitOutcome {
    pub fn is_unchanged(&self) -> bool {
        matches!(self, CommitOutcome::Applied { kind: ChangeKind::Changed, fields: 0, .. })
    }
}

/// A member as stored: the record and its bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMember {
    pub record: MemberRecord,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_refreshed_at: Option<DateTime<Utc>>,
    pub last_trigger: Option<Trigger>,
    /// The last refresh failure of this member, until a refresh succeeds.
    pub last_error: Option<Failure>,
    pub last_error_at: Option<DateTime<Utc>>,
}

/// A line of a member search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberSummary {
    pub key: MemberKey,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub status: amsync_core::record::MemberStatus,
    pub last_refreshed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberQuery {
    /// Matches key, names and email (case-insensitive substring).
    pub q: Option<String>,
    /// Members with a membership of this community (current on `day`, when given).
    pub community: Option<String>,
    pub current_on: Option<chrono::NaiveDate>,
    /// Members of this group (compared case-insensitively): the stored AMS
    /// and local groups; for the computed `IsMember` and `Authenticated`,
    /// the active members they apply to; `Public` is everyone.
    pub group: Option<String>,
    pub limit: usize,
    /// Opaque cursor from a previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// One entry of a member's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub trigger: Trigger,
    pub kind: ChangeKind,
    pub run_id: Option<RunId>,
    pub fields: Vec<FieldChange>,
}

/// How a run ended (the rule that decides it is
/// [`amsync_core::run::natural_outcome`]).
pub use amsync_core::run::RunOutcome;

/// Counters of a run. Listing counters are set by the poller; refresh
/// counters are added by each commit that carries the run's id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    pub pages: u64,
    /// Keys (or events) the listing returned, duplicates included.
    pub listed: u64,
    pub enqueued: u64,
    /// Keys that already had a waiting entry.
    pub merged: u64,
    pub refreshed: u64,
    pub created: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub disabled: u64,
    pub failed: u64,
    pub dead: u64,
    /// Changes held by a threshold for an admin's approval (product.md job
    /// 10): disables and members whose membership removals were held.
    #[serde(default)]
    pub held: u64,
}

/// A run: one trigger's work (a poll and the refreshes it enqueued, an
/// events sync, a manual refresh, a rule re-apply…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: RunId,
    pub kind: Trigger,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: RunOutcome,
    pub watermark_before: Option<DateTime<Utc>>,
    pub watermark_after: Option<DateTime<Utc>>,
    pub counts: RunCounts,
    /// Queue entries of this run not yet settled.
    pub pending: u64,
    pub error: Option<String>,
    /// Free-form parameters (`{"since": …}`, `{"keys": […]}`).
    pub params: serde_json::Value,
    /// The process that lists (or listed) the run, `node-id#instance`.
    #[serde(default)]
    pub owner: Option<String>,
    /// Until when `owner` holds the listing (it renews the lease every
    /// third of it); absent once the listing is over. A lease that runs
    /// out means the owner died: another process resumes the run.
    #[serde(default)]
    pub lease_until: Option<DateTime<Utc>>,
    /// Set when a process took the run over from one that stopped.
    #[serde(default)]
    pub resumed: Option<RunResumed>,
}

/// A run taken over from a process that stopped renewing its lease (kill
/// -9, a lost node, a restart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunResumed {
    /// The last take-over.
    pub at: DateTime<Utc>,
    /// Take-overs so far.
    pub times: u64,
    /// What happened, for a person: "resumed after page 4 …", "restarted …".
    pub note: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub kind: Option<Trigger>,
    pub outcome: Option<RunOutcome>,
    pub limit: usize,
    /// Runs with an id lower than this (paging backwards in time).
    pub before: Option<RunId>,
}

/// Named watermarks.
pub const WATERMARK_MEMBERS: &str = "members";
pub const WATERMARK_EVENTS: &str = "events";

/// Whether the source may be called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceState {
    pub paused: bool,
    /// Why (`"admin"`, `"unauthorized: HTTP 401 on details"`, `"quarantine: …"`).
    pub reason: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    #[serde(flatten)]
    pub event: Event,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpsertCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// A live node, known from its heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub id: String,
    pub role: String,
    pub last_seen: DateTime<Utc>,
    /// Its long-lived tasks that failed and were restarted since it
    /// started (none when all is well), so that `amsync status`, reading
    /// the store from another process, shows them too.
    #[serde(default)]
    pub task_restarts: Vec<TaskRestarts>,
}

impl NodeInfo {
    /// A node whose tasks never failed.
    pub fn new(id: impl Into<String>, role: impl Into<String>, last_seen: DateTime<Utc>) -> NodeInfo {
        NodeInfo { id: id.into(), role: role.into(), last_seen, task_restarts: Vec::new() }
    }
}

/// A long-lived task of a node that failed (panicked, or ended when it
/// should not have) and was restarted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRestarts {
    /// One of a fixed set of names (`periodic_poll`, `events_sync`, …).
    pub task: String,
    /// Failures since the node started, each followed by a restart.
    pub restarts: u64,
    pub last_failure_at: DateTime<Utc>,
    /// The last failure: the panic's message (control characters escaped,
    /// at most 300 characters).
    pub last_failure: String,
}

/// Re-applying community rules to every member from stored payloads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReapplySummary {
    pub members: u64,
    pub changed: u64,
    pub memberships_added: u64,
    pub memberships_removed: u64,
}

/// An item of the change feed for the community site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedItem {
    pub seq: i64,
    pub key: MemberKey,
    /// `changed`, `created`, `disabled`, `enabled`, `erased`.
    pub kind: ChangeKind,
    pub at: DateTime<Utc>,
}

/// A lease duration helper used by claims.
pub fn lease_until(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(120))
}
