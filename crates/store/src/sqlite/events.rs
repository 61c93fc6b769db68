//! Events in SQL: stored with their content hash (`ops/events.rs` skips an
//! unchanged event), listed by overlap with a time range. The RFC 3339 text of start and end
//! is kept with its offset; millisecond columns serve the range query.

use amsync_core::hash::ContentHash;
use amsync_core::{Event, EventKey};
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{self, from_ms, ms};
use super::{SqliteBackend, SqliteTx};
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

fn list(conn: &Connection, from: Option<i64>, to: Option<i64>) -> Result<Vec<StoredEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, starts_at, ends_at, status, title, timezone, location, url, community_key, updated_at,
                description
         FROM events WHERE ends_ms >= ?1 AND starts_ms <= ?2 ORDER BY starts_ms, key",
    )?;
    let rows = stmt.query_map(params![from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            [r.get::<_, Option<String>>(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
            r.get::<_, i64>(9)?,
            r.get::<_, Option<String>>(10)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, starts, ends, status, [title, timezone, location, url, community], updated_at, description) = row?;
        let event = Event {
            key: codec::key::<EventKey>("event", key)?,
            title,
            description,
            starts_at: parse_time("start", &starts)?,
            ends_at: parse_time("end", &ends)?,
            timezone,
            location,
            url,
            community_key: community.map(|c| codec::key("community", c)).transpose()?,
            status: codec::event_status(&status)?,
        };
        out.push(StoredEvent { event, updated_at: from_ms(updated_at) });
    }
    Ok(out)
}

impl EventReads for SqliteBackend {
    async fn list_events(&self, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<Vec<StoredEvent>> {
        self.read_op(move |c| list(c, from.map(ms), to.map(ms))).await
    }
}

impl EventTx for SqliteTx {
    async fn event_hash(&mut self, key: &EventKey) -> Result<Option<ContentHash>> {
        let stored: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT hash FROM events WHERE key = ?1")?
            .query_row([key.as_str()], |r| r.get(0))
            .optional()?;
        // A hash that is not 16 bytes matches nothing: the event is rewritten.
        Ok(stored.map(|h| ContentHash::from_bytes(&h).unwrap_or_default()))
    }

    async fn put_event(&mut self, e: &Event, hash: ContentHash, at: DateTime<Utc>) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO events (key, hash, starts_ms, ends_ms, starts_at, ends_at, status, title, timezone, location,
                    url, community_key, updated_at, description)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT (key) DO UPDATE SET hash = excluded.hash, starts_ms = excluded.starts_ms,
                    ends_ms = excluded.ends_ms, starts_at = excluded.starts_at, ends_at = excluded.ends_at,
                    status = excluded.status, title = excluded.title, timezone = excluded.timezone,
                    location = excluded.location, url = excluded.url, community_key = excluded.community_key,
                    updated_at = excluded.updated_at, description = excluded.description",
            )?
            .execute(params![
                e.key.as_str(),
                hash.to_bytes(),
                e.starts_at.timestamp_millis(),
                e.ends_at.timestamp_millis(),
                rfc3339(&e.starts_at),
                rfc3339(&e.ends_at),
                e.status.as_str(),
                e.title,
                e.timezone,
                e.location,
                e.url,
                e.community_key.as_ref().map(|k| k.as_str()),
                ms(at),
                e.description,
            ])?;
        Ok(())
    }
}
