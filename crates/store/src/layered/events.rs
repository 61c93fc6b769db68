//! [`EventStore`] over a backend.

use amsync_core::Event;
use chrono::{DateTime, Utc};

use super::Layered;
use crate::api::EventStore;
use crate::backend::Backend;
use crate::error::Result;
use crate::ops::events::UpsertEvents;
use crate::types::{StoredEvent, UpsertCounts};

#[async_trait::async_trait]
impl<B: Backend> EventStore for Layered<B> {
    async fn upsert_events(&self, events: &[Event], at: DateTime<Utc>) -> Result<UpsertCounts> {
        self.backend.write(UpsertEvents::new(events, at)).await
    }

    async fn list_events(&self, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<Vec<StoredEvent>> {
        self.backend.list_events(from, to).await
    }
}
