//! Conversions between domain values and PostgreSQL columns, and the
//! mapping of driver errors to [`StoreError`]. Enum names, JSON and keys
//! are parsed as in the SQLite backend (its `codec`, shared); times are
//! timestamptz kept to the millisecond, as SQLite keeps them, so both
//! backends give back the same value.

use chrono::{DateTime, Utc};
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

use crate::error::StoreError;

pub(crate) use crate::sqlite::codec::ams_status;
pub(crate) use crate::sqlite::codec::{
    change_kind, count, disabled_reason, event_status, from_json, group_source, key, member_status, queue_state,
    run_outcome, to_json, trigger,
};

/// A time as stored: truncated to the millisecond.
pub(crate) fn ts(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

pub(crate) fn opt_ts(t: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    t.map(ts)
}

/// Unix milliseconds, as the queue's claim order counts time.
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// What a driver error says: the server's message with its SQLSTATE and
/// detail, or the client's own.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} ({})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                s.push_str(": ");
                s.push_str(detail);
            }
            s
        }
        None => e.to_string(),
    }
}

/// A transaction that lost a race with another: running it again from the
/// start may succeed.
pub(crate) fn is_retryable(e: &tokio_postgres::Error) -> bool {
    matches!(e.code(), Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED)
}

pub(crate) fn from_pg(e: tokio_postgres::Error) -> StoreError {
    let text = describe(&e);
    match e.code() {
        Some(c) if c.code().starts_with("23") => StoreError::Conflict(text),
        _ => StoreError::Database(text),
    }
}

/// Reads column `i` of a row.
pub(crate) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T, StoreError> {
    row.try_get(i).map_err(from_pg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_kept_to_the_millisecond() {
        let t: DateTime<Utc> = "2026-11-29T14:00:00.123456789Z".parse().unwrap();
        assert_eq!(ts(t), "2026-11-29T14:00:00.123Z".parse::<DateTime<Utc>>().unwrap());
    }
}
