//! Events: upserted by content hash, so an unchanged event writes nothing;
//! a created or changed one marks access policies stale (decisions on
//! events read their community and status).

use amsync_core::hash::ContentHash;
use amsync_core::Event;
use chrono::{DateTime, Utc};

use crate::backend::{Tx, WriteOp};
use crate::error::Result;
use crate::types::UpsertCounts;

/// [`crate::EventStore::upsert_events`].
pub(crate) struct UpsertEvents {
    /// Each event with its content hash, computed before the write.
    events: Vec<(Event, ContentHash)>,
    at: DateTime<Utc>,
}

impl UpsertEvents {
    pub fn new(events: &[Event], at: DateTime<Utc>) -> UpsertEvents {
        UpsertEvents { events: events.iter().map(|e| (e.clone(), ContentHash::of(e))).collect(), at }
    }
}

impl WriteOp for UpsertEvents {
    type Output = UpsertCounts;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<UpsertCounts> {
        let mut counts = UpsertCounts::default();
        for (event, hash) in &self.events {
            match tx.event_hash(&event.key).await? {
                Some(stored) if stored == *hash => {
                    counts.unchanged += 1;
                    continue;
                }
                Some(_) => counts.updated += 1,
                None => counts.created += 1,
            }
            tx.put_event(event, *hash, self.at).await?;
        }
        if counts.created + counts.updated > 0 {
            tx.bump_access_version().await?;
        }
        Ok(counts)
    }
}
