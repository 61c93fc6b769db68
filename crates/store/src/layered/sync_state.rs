//! [`SyncStateStore`] over a backend.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Layered;
use crate::api::SyncStateStore;
use crate::backend::Backend;
use crate::error::Result;
use crate::ops::sync_state::{AdvanceWatermark, Heartbeat, SetSourceState};
use crate::types::{NodeInfo, SourceState};

#[async_trait::async_trait]
impl<B: Backend> SyncStateStore for Layered<B> {
    async fn watermark(&self, name: &str) -> Result<Option<DateTime<Utc>>> {
        self.backend.watermark(name).await
    }

    async fn advance_watermark(&self, name: &str, to: DateTime<Utc>) -> Result<DateTime<Utc>> {
        self.backend.write(AdvanceWatermark { name: name.to_owned(), to }).await
    }

    async fn source_state(&self) -> Result<SourceState> {
        self.backend.source_state().await
    }

    async fn set_source_state(&self, state: &SourceState) -> Result<()> {
        self.backend.write(SetSourceState { state: state.clone() }).await
    }

    async fn heartbeat(&self, node: &NodeInfo) -> Result<()> {
        self.backend.write(Heartbeat { node: node.clone() }).await
    }

    async fn live_nodes(&self, now: DateTime<Utc>, ttl: Duration) -> Result<Vec<NodeInfo>> {
        self.backend.live_nodes(now, ttl).await
    }
}
