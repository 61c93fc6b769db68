//! Errors of the sync engine.

use amsync_ams::SourceError;
use amsync_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("the source is paused: {0}")]
    Paused(String),
    #[error("the listing did not end: {0}")]
    Listing(String),
    #[error("the engine is shutting down")]
    ShuttingDown,
    #[error("run {0} was taken over by another process (this one stopped renewing its lease in time)")]
    LeaseLost(amsync_store::RunId),
}
