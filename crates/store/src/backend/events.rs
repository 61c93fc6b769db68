//! Events.

use std::future::Future;

use amsync_core::Event;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::types::{StoredEvent, UpsertCounts};

/// Single operations on events inside a transaction. (None yet: the
/// upsert is still a whole operation of the backend, see
/// [`EventWritesPhase2`]; phase 2 adds its statements here.)
pub trait EventTx: Send {}

/// Reads of events.
pub trait EventReads: Send + Sync {
    /// Events overlapping `[from, to]` (either bound open), by start time.
    fn list_events(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<Vec<StoredEvent>>> + Send;
}

/// Event writes still written inside the backend (see the module doc of
/// [`crate::backend`]).
pub trait EventWritesPhase2: Send + Sync {
    // seam: phase 2 — unchanged detection and the access version bump to ops/events.rs.
    fn upsert_events(&self, events: &[Event], at: DateTime<Utc>) -> impl Future<Output = Result<UpsertCounts>> + Send;
}
