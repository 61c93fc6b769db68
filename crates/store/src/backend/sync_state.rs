//! Watermarks, the source's paused state and node heartbeats.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::types::{NodeInfo, SourceState};

/// Single operations on sync state inside a transaction.
pub trait SyncStateTx: Send {
    /// The stored watermark `name`. A backend whose writers run at once
    /// locks the row until the transaction ends (the op writes what it
    /// decided from it).
    fn stored_watermark(&mut self, name: &str) -> impl Future<Output = Result<Option<DateTime<Utc>>>> + Send;

    /// Writes watermark `name` (insert or replace).
    fn put_watermark(&mut self, name: &str, at: DateTime<Utc>) -> impl Future<Output = Result<()>> + Send;

    /// Writes the source's paused state (insert or replace).
    fn put_source_state(&mut self, state: &SourceState) -> impl Future<Output = Result<()>> + Send;

    /// Writes a node's row (insert or replace).
    fn put_node(&mut self, node: &NodeInfo) -> impl Future<Output = Result<()>> + Send;
}

/// Reads of sync state.
pub trait SyncStateReads: Send + Sync {
    fn watermark(&self, name: &str) -> impl Future<Output = Result<Option<DateTime<Utc>>>> + Send;

    fn source_state(&self) -> impl Future<Output = Result<SourceState>> + Send;

    /// Nodes seen within `ttl` of `now`.
    fn live_nodes(&self, now: DateTime<Utc>, ttl: Duration) -> impl Future<Output = Result<Vec<NodeInfo>>> + Send;
}
