//! Events in PostgreSQL: stored with their content hash (`ops/events.rs`
//! skips an unchanged event), listed by overlap with a time range; as SQLite's, the
//! RFC 3339 text with its offset is kept and millisecond columns serve the
//! range query.

use amsync_core::hash::ContentHash;
use amsync_core::{Event, EventKey};
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};

use super::codec::{self, get, ts};
use super::{PgBackend, PgTx};
use crate::backend::{EventReads, EventTx};
use crate::error::{Result, StoreError};
use crate::types::StoredEvent;

fn rfc3339(t: &DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn parse_time(what: &str, s: &str) -> Result<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s)
        .map_err(|_| StoreError::Database(format!("stored event {what} {s:?} is not RFC 3339")))
}

impl EventReads for PgBackend {
    async fn list_events(&self, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<Vec<StoredEvent>> {
        let mut tx = self.autocommit().await?;
        let (from, to) =
            (from.map_or(i64::MIN, |t| t.timestamp_millis()), to.map_or(i64::MAX, |t| t.timestamp_millis()));
        let rows = tx
            .query(
                "SELECT key, starts_at, ends_at, status, title, timezone, location, url, community_key, updated_at,
                        description
                 FROM events WHERE ends_ms >= $1 AND starts_ms <= $2 ORDER BY starts_ms, key",
                &[&from, &to],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let community: Option<String> = get(r, 8)?;
                let event = Event {
                    key: codec::key::<EventKey>("event", get(r, 0)?)?,
                    title: get(r, 4)?,
                    description: get(r, 10)?,
                    starts_at: parse_time("start", &get::<String>(r, 1)?)?,
                    ends_at: parse_time("end", &get::<String>(r, 2)?)?,
                    timezone: get(r, 5)?,
                    location: get(r, 6)?,
                    url: get(r, 7)?,
                    community_key: community.map(|c| codec::key("community", c)).transpose()?,
                    status: codec::event_status(&get::<String>(r, 3)?)?,
                };
                Ok(StoredEvent { event, updated_at: get(r, 9)? })
            })
            .collect()
    }
}

impl EventTx for PgTx {
    async fn event_hash(&mut self, key: &EventKey) -> Result<Option<ContentHash>> {
        let row = self.query_opt("SELECT hash FROM events WHERE key = $1", &[&key.as_str()]).await?;
        // A hash that is not 16 bytes matches nothing: the event is rewritten.
        row.map(|r| Ok(ContentHash::from_bytes(&get::<Vec<u8>>(&r, 0)?).unwrap_or_default())).transpose()
    }

    async fn put_event(&mut self, e: &Event, hash: ContentHash, at: DateTime<Utc>) -> Result<()> {
        let community = e.community_key.as_ref().map(|k| k.as_str());
        self.exec(
            "INSERT INTO events (key, hash, starts_ms, ends_ms, starts_at, ends_at, status, title, timezone,
                location, url, community_key, updated_at, description)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (key) DO UPDATE SET hash = excluded.hash, starts_ms = excluded.starts_ms,
                ends_ms = excluded.ends_ms, starts_at = excluded.starts_at, ends_at = excluded.ends_at,
                status = excluded.status, title = excluded.title, timezone = excluded.timezone,
                location = excluded.location, url = excluded.url, community_key = excluded.community_key,
                updated_at = excluded.updated_at, description = excluded.description",
            &[
                &e.key.as_str(),
                &&hash.to_bytes()[..],
                &e.starts_at.timestamp_millis(),
                &e.ends_at.timestamp_millis(),
                &rfc3339(&e.starts_at),
                &rfc3339(&e.ends_at),
                &e.status.as_str(),
                &e.title,
                &e.timezone,
                &e.location,
                &e.url,
                &community,
                &ts(at),
                &e.description,
            ],
        )
        .await?;
        Ok(())
    }
}
