//! [`SyncStateStore`] over a backend.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Layered;
use crate::api::SyncStateStore;
use crate::backend::Backend;
use crate::error::Result;
use crate::types::{NodeInfo, SourceState};

// seam: phase 2 — every write below is still the backend's
// (SyncStateWritesPhase2): advance_watermark, set_source_state, heartbeat.
#[async_trait::async_trait]
impl<B: Backend> SyncStateStore for Layered<B> {
    async fn watermark(&self, name: &str) -> Result<Option<DateTime<Utc>>> {
        self.backend.watermark(name).await
    }

    async fn advance_watermark(&self, name: &str, to: DateTime<Utc>) -> Result<DateTime<Utc>> {
        self.backend.advance_watermark(name, to).await // seam: phase 2
    }

    async fn source_state(&self) -> Result<SourceState> {
        self.backend.source_state().await
    }

    async fn set_source_state(&self, state: &SourceState) -> Result<()> {
        self.backend.set_source_state(state).await // seam: phase 2
    }

    async fn heartbeat(&self, node: &NodeInfo) -> Result<()> {
        self.backend.heartbeat(node).await // seam: phase 2
    }

    async fn live_nodes(&self, now: DateTime<Utc>, ttl: Duration) -> Result<Vec<NodeInfo>> {
        self.backend.live_nodes(now, ttl).await
    }
}
