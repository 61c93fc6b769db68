//! Events.

use std::future::Future;

use amsync_core::hash::ContentHash;
use amsync_core::{Event, EventKey};
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::types::StoredEvent;

/// Single operations on events inside a transaction.
pub trait EventTx: Send {
    /// The content hash stored with event `key`, if there is one.
    fn event_hash(&mut self, key: &EventKey) -> impl Future<Output = Result<Option<ContentHash>>> + Send;

    /// Writes an event with its content hash (insert or replace).
    fn put_event(
        &mut self,
        event: &Event,
        hash: ContentHash,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Reads of events.
pub trait EventReads: Send + Sync {
    /// Events overlapping `[from, to]` (either bound open), by start time.
    fn list_events(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<Vec<StoredEvent>>> + Send;
}
