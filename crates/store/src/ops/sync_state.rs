//! Sync state: watermarks (which never move backwards:
//! `amsync_core::watermark::advanced`), the source's paused state and
//! node heartbeats.

use amsync_core::watermark::advanced;
use chrono::{DateTime, Utc};

use crate::backend::{Tx, WriteOp};
use crate::error::Result;
use crate::types::{NodeInfo, SourceState};

/// [`crate::SyncStateStore::advance_watermark`]: the later of the stored
/// watermark and `to`, written only when it moves.
pub(crate) struct AdvanceWatermark {
    pub name: String,
    pub to: DateTime<Utc>,
}

impl WriteOp for AdvanceWatermark {
    type Output = DateTime<Utc>;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<DateTime<Utc>> {
        let stored = tx.stored_watermark(&self.name).await?;
        let next = advanced(stored, self.to);
        if stored != Some(next) {
            tx.put_watermark(&self.name, next).await?;
        }
        Ok(next)
    }
}

/// [`crate::SyncStateStore::set_source_state`].
pub(crate) struct SetSourceState {
    pub state: SourceState,
}

impl WriteOp for SetSourceState {
    type Output = ();

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<()> {
        tx.put_source_state(&self.state).await
    }
}

/// [`crate::SyncStateStore::heartbeat`].
pub(crate) struct Heartbeat {
    pub node: NodeInfo,
}

impl WriteOp for Heartbeat {
    type Output = ();

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<()> {
        tx.put_node(&self.node).await
    }
}
