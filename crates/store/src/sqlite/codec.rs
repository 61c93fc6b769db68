//! Conversions between domain values and SQLite columns: times as unix
//! milliseconds, enums as their snake_case names, JSON as text, and the
//! mapping of rusqlite errors to [`StoreError`].

use amsync_core::diff::ChangeKind;
use amsync_core::member::AmsStatus;
use amsync_core::queue::QueueState;
use amsync_core::record::MemberStatus;
use amsync_core::{EventStatus, GroupSource, Trigger};
use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::types::RunOutcome;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Conflict(e.to_string()),
            _ => StoreError::Database(e.to_string()),
        }
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Database(format!("reader pool: {e}"))
    }
}

pub fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(v: i64) -> DateTime<Utc> {
    // Every stored time was written by `ms`, so it is in range.
    DateTime::from_timestamp_millis(v).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub fn opt_from_ms(v: Option<i64>) -> Option<DateTime<Utc>> {
    v.map(from_ms)
}

pub use crate::json::{from_json, to_json};

fn bad(what: &str, v: &str) -> StoreError {
    StoreError::Database(format!("stored {what} {v:?} is not known to this version"))
}

pub fn trigger(v: &str) -> Result<Trigger, StoreError> {
    v.parse().map_err(|_| bad("trigger", v))
}

pub fn queue_state(v: &str) -> Result<QueueState, StoreError> {
    v.parse().map_err(|_| bad("queue state", v))
}

pub fn change_kind(v: &str) -> Result<ChangeKind, StoreError> {
    [ChangeKind::Created, ChangeKind::Changed, ChangeKind::Disabled, ChangeKind::Enabled, ChangeKind::Erased]
        .into_iter()
        .find(|k| k.as_str() == v)
        .ok_or_else(|| bad("change kind", v))
}

pub fn member_status(v: &str) -> Result<MemberStatus, StoreError> {
    [MemberStatus::Active, MemberStatus::Disabled]
        .into_iter()
        .find(|k| k.as_str() == v)
        .ok_or_else(|| bad("member status", v))
}

/// A stored `disabled_reason` (NULL when the member is not disabled).
pub fn disabled_reason(v: Option<String>) -> Result<Option<amsync_core::record::DisabledReason>, StoreError> {
    v.map(|r| {
        amsync_core::record::DisabledReason::parse(&r)
            .ok_or_else(|| StoreError::Database(format!("stored disabled reason {r:?} is not known to this version")))
    })
    .transpose()
}

pub fn ams_status(v: &str) -> Result<AmsStatus, StoreError> {
    [AmsStatus::Active, AmsStatus::Disabled].into_iter().find(|k| k.as_str() == v).ok_or_else(|| bad("AMS status", v))
}

pub fn group_source(v: &str) -> Result<GroupSource, StoreError> {
    [GroupSource::Builtin, GroupSource::Ams, GroupSource::Local]
        .into_iter()
        .find(|k| k.as_str() == v)
        .ok_or_else(|| bad("group source", v))
}

pub fn run_outcome(v: &str) -> Result<RunOutcome, StoreError> {
    [RunOutcome::Running, RunOutcome::Succeeded, RunOutcome::Partial, RunOutcome::Failed]
        .into_iter()
        .find(|k| k.as_str() == v)
        .ok_or_else(|| bad("run outcome", v))
}

pub fn event_status(v: &str) -> Result<EventStatus, StoreError> {
    [EventStatus::Scheduled, EventStatus::Cancelled]
        .into_iter()
        .find(|k| k.as_str() == v)
        .ok_or_else(|| bad("event status", v))
}

/// Parses a key column into its newtype.
pub fn key<K: TryFrom<String>>(what: &str, v: String) -> Result<K, StoreError> {
    K::try_from(v).map_err(|_| StoreError::Database(format!("stored {what} key is not valid")))
}

/// Counts read from SQLite are never negative.
pub fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_names_roundtrip() {
        for k in
            [ChangeKind::Created, ChangeKind::Changed, ChangeKind::Disabled, ChangeKind::Enabled, ChangeKind::Erased]
        {
            assert_eq!(change_kind(k.as_str()).unwrap(), k);
        }
        for o in [RunOutcome::Running, RunOutcome::Succeeded, RunOutcome::Partial, RunOutcome::Failed] {
            assert_eq!(run_outcome(o.as_str()).unwrap(), o);
        }
        assert!(trigger("nope").is_err());
    }

    #[test]
    fn milliseconds_roundtrip() {
        let t: DateTime<Utc> = "2026-11-29T14:00:00.123Z".parse().unwrap();
        assert_eq!(from_ms(ms(t)), t);
    }
}
