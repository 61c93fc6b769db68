//! The capability traits. Each method is one logical operation; the
//! implementation decides how to batch them (the SQLite store group-commits
//! refreshes on its writer connection).

use std::time::Duration;

use amsync_core::community::Membership;
use amsync_core::queue::QueueState;
use amsync_core::rules::RuleSet;
use amsync_core::{Event, GroupKey, MemberKey, Trigger};
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::types::*;

/// The Refresh Queue (product.md job 2).
#[async_trait::async_trait]
pub trait QueueStore: Send + Sync {
    /// Adds waiting entries. A key that already has a waiting entry keeps it:
    /// its priority is raised to the higher of the two, its due time moved to
    /// the earlier, its attempts kept, and it is adopted by `run_id`. A key
    /// whose refresh is running gets a new waiting entry. A dead letter of the
    /// key is replaced by a fresh entry.
    async fn enqueue(
        &self,
        keys: &[MemberKey],
        trigger: Trigger,
        run_id: Option<RunId>,
        due: DateTime<Utc>,
    ) -> Result<EnqueueResult>;

    /// Claims up to `limit` due waiting entries, highest claim order first
    /// (`amsync_core::queue::sort_key`), entries of equal claim order in
    /// member-key order, never a key that is already running.
    /// Each claim gets a lease and a fresh fencing token, and counts one attempt.
    async fn claim(&self, limit: usize, node: &str, now: DateTime<Utc>, lease: Duration) -> Result<Vec<Claim>>;

    /// Extends leases. Returns, per token, whether the claim still holds.
    async fn renew(&self, tokens: &[ClaimToken], now: DateTime<Utc>, lease: Duration) -> Result<Vec<bool>>;

    /// Returns entries whose lease expired (a crashed or stalled worker) to
    /// `retrying`, due now; where the key already has a waiting entry the
    /// expired one is dropped. Returns how many were rescued.
    async fn rescue_expired(&self, now: DateTime<Utc>) -> Result<u64>;

    /// Returns claimed entries to `queued`, due at `due`, giving back the
    /// attempt their claim counted (the source was paused or quarantined
    /// before they ran). Entries whose claim no longer holds are left alone.
    /// Returns how many were released.
    async fn release(&self, tokens: &[ClaimToken], due: DateTime<Utc>) -> Result<u64>;

    /// Dead letters (or given keys' entries) back to `queued`, attempts reset.
    async fn requeue(&self, selector: &RequeueSelector, now: DateTime<Utc>) -> Result<u64>;

    async fn queue_counts(&self) -> Result<QueueCounts>;

    /// Entries, oldest first, optionally of one state; `after_id` pages.
    async fn list_queue(
        &self,
        state: Option<QueueState>,
        limit: usize,
        after_id: Option<i64>,
    ) -> Result<Vec<QueueEntry>>;

    /// Whether a key has a waiting or running entry (for `wait`).
    async fn is_pending(&self, key: &MemberKey) -> Result<bool>;
}

/// Members, their refreshes and history.
#[async_trait::async_trait]
pub trait MemberStore: Send + Sync {
    /// Applies one Member Refresh atomically (plan from
    /// `amsync_core::diff`), settles its queue entry if it has a claim, adds
    /// to its run's counters, and records failures. Implementations may
    /// group several commits into one transaction, one savepoint each.
    async fn commit_refresh(&self, commit: RefreshCommit) -> Result<CommitOutcome>;

    async fn get_member(&self, key: &MemberKey) -> Result<Option<StoredMember>>;

    /// Every membership the AMS last listed for the member, before the rules
    /// (from the stored payload).
    async fn ams_memberships(&self, key: &MemberKey) -> Result<Option<Vec<Membership>>>;

    async fn search_members(&self, query: &MemberQuery) -> Result<Page<MemberSummary>>;

    /// Newest first; `before_id` pages backwards.
    async fn member_history(&self, key: &MemberKey, limit: usize, before_id: Option<i64>) -> Result<Vec<HistoryEntry>>;

    /// Keys of members whose effective status is active (for reconciling a
    /// full refresh against the complete listing).
    async fn active_member_keys(&self) -> Result<Vec<MemberKey>>;

    async fn member_count(&self) -> Result<u64>;

    /// Re-applies `rules` to every member from the stored payloads, without
    /// calling the AMS; changes are recorded in history with `trigger`.
    async fn reapply_rules(
        &self,
        rules: &RuleSet,
        trigger: Trigger,
        run_id: Option<RunId>,
        at: DateTime<Utc>,
    ) -> Result<ReapplySummary>;

    /// Members changed, disabled or erased after `after` (a sequence number,
    /// commit order).
    async fn changes_after(&self, after: i64, limit: usize) -> Result<Vec<FeedItem>>;
}

/// Runs of every kind.
#[async_trait::async_trait]
pub trait RunStore: Send + Sync {
    /// Starts a run no process owns, so never taken over (tools, tests);
    /// the engine starts its runs owned
    /// ([`ListingStore::start_owned_run`](crate::ListingStore::start_owned_run)).
    async fn start_run(
        &self,
        kind: Trigger,
        at: DateTime<Utc>,
        watermark_before: Option<DateTime<Utc>>,
        params: serde_json::Value,
    ) -> Result<RunId>;

    /// Adds to a run's listing counters (`pages`, `listed`, `enqueued`, `merged`).
    async fn add_run_counts(&self, id: RunId, counts: &RunCounts) -> Result<()>;

    /// Marks the listing phase over. The run finishes (outcome from its
    /// counters) when its last queue entry settles, or now when none is left.
    async fn finish_listing(
        &self,
        id: RunId,
        at: DateTime<Utc>,
        watermark_after: Option<DateTime<Utc>>,
        error: Option<String>,
    ) -> Result<()>;

    /// Ends a run at once (failed polls, events runs, rule re-applies).
    async fn finish_run(&self, id: RunId, at: DateTime<Utc>, outcome: RunOutcome, error: Option<String>) -> Result<()>;

    async fn get_run(&self, id: RunId) -> Result<Option<Run>>;

    /// Only the run's outcome: what a waiter polls. Cheaper than
    /// [`RunStore::get_run`], whose pending count reads every entry of the run.
    async fn run_outcome(&self, id: RunId) -> Result<Option<RunOutcome>> {
        Ok(self.get_run(id).await?.map(|r| r.outcome))
    }

    /// Newest first.
    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>>;
}

/// Watermarks, the source's paused state, node heartbeats.
#[async_trait::async_trait]
pub trait SyncStateStore: Send + Sync {
    async fn watermark(&self, name: &str) -> Result<Option<DateTime<Utc>>>;

    /// Moves a watermark forward; never backwards (the stored value is the
    /// greater of the two). Returns the stored value.
    async fn advance_watermark(&self, name: &str, to: DateTime<Utc>) -> Result<DateTime<Utc>>;

    async fn source_state(&self) -> Result<SourceState>;

    async fn set_source_state(&self, state: &SourceState) -> Result<()>;

    async fn heartbeat(&self, node: &NodeInfo) -> Result<()>;

    /// Nodes seen within `ttl` of `now`.
    async fn live_nodes(&self, now: DateTime<Utc>, ttl: Duration) -> Result<Vec<NodeInfo>>;
}

/// Events.
#[async_trait::async_trait]
pub trait EventStore: Send + Sync {
    /// Upserts events; an unchanged event writes nothing; a cancelled event
    /// is kept as cancelled.
    async fn upsert_events(&self, events: &[Event], at: DateTime<Utc>) -> Result<UpsertCounts>;

    /// Events overlapping `[from, to]` (either bound open), by start time.
    async fn list_events(&self, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<Vec<StoredEvent>>;
}

/// Settings that the config file seeds and the API changes afterwards.
#[async_trait::async_trait]
pub trait SettingsStore: Send + Sync {
    /// Seeds settings from the config file on first start only (a no-op when
    /// already seeded). Returns whether it seeded.
    async fn seed_settings(&self, rules: &RuleSet, is_member: &[GroupKey]) -> Result<bool>;

    async fn community_rules(&self) -> Result<RuleSet>;

    /// Stores new rules (the caller re-applies them).
    async fn set_community_rules(&self, rules: &RuleSet) -> Result<()>;

    /// AMS groups designated "counts as IsMember".
    async fn is_member_groups(&self) -> Result<Vec<GroupKey>>;

    /// Every known group: built-in, AMS-managed (registered by the refresh
    /// that first sees it) and local.
    async fn security_groups(&self) -> Result<Vec<GroupInfo>>;
}

/// A security group and what amsync knows of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupInfo {
    pub key: GroupKey,
    pub name: Option<String>,
    pub source: amsync_core::GroupSource,
    pub is_member: bool,
    pub first_seen: Option<DateTime<Utc>>,
}

/// All the store's capabilities together.
pub trait Store:
    QueueStore
    + MemberStore
    + RunStore
    + SyncStateStore
    + EventStore
    + SettingsStore
    + crate::access_api::CommunityStore
    + crate::access_api::GroupStore
    + crate::access_api::AccessStore
    + crate::audit::AuditStore
    + crate::auth_api::AuthStore
    + crate::safety_api::SafetyStore
    + crate::data_protection::DataStore
    + crate::listing_api::ListingStore
{
}

impl<T> Store for T where
    T: QueueStore
        + MemberStore
        + RunStore
        + SyncStateStore
        + EventStore
        + SettingsStore
        + crate::access_api::CommunityStore
        + crate::access_api::GroupStore
        + crate::access_api::AccessStore
        + crate::audit::AuditStore
        + crate::auth_api::AuthStore
        + crate::safety_api::SafetyStore
        + crate::data_protection::DataStore
        + crate::listing_api::ListingStore
{
}
