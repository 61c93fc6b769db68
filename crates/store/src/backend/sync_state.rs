//! Watermarks, the source's paused state and node heartbeats.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::types::{NodeInfo, SourceState};

/// Single operations on sync state inside a transaction. (None yet: see
/// [`SyncStateWritesPhase2`]; phase 2 adds its statements here.)
pub trait SyncStateTx: Send {}

/// Reads of sync state.
pub trait SyncStateReads: Send + Sync {
    fn watermark(&self, name: &str) -> impl Future<Output = Result<Option<DateTime<Utc>>>> + Send;

    fn source_state(&self) -> impl Future<Output = Result<SourceState>> + Send;

    /// Nodes seen within `ttl` of `now`.
    fn live_nodes(&self, now: DateTime<Utc>, ttl: Duration) -> impl Future<Output = Result<Vec<NodeInfo>>> + Send;
}

/// Sync state writes still written inside the backend (see the module doc
/// of [`crate::backend`]).
pub trait SyncStateWritesPhase2: Send + Sync {
    // seam: phase 2 — "never backwards" is a rule for ops/sync_state.rs.
    fn advance_watermark(&self, name: &str, to: DateTime<Utc>) -> impl Future<Output = Result<DateTime<Utc>>> + Send;

    // seam: phase 2
    fn set_source_state(&self, state: &SourceState) -> impl Future<Output = Result<()>> + Send;

    // seam: phase 2
    fn heartbeat(&self, node: &NodeInfo) -> impl Future<Output = Result<()>> + Send;
}
