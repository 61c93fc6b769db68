//! The change feed in PostgreSQL: sequence numbers in commit order.
//!
//! Many transactions commit at once here, so a plain sequence (or an
//! identity) would hand out numbers in the order transactions *asked*, not
//! the order they *committed*: a reader at cursor 10 could see 12 commit,
//! move its cursor to 12, and never see 11, which commits a moment later.
//!
//! So an append first takes a transaction-level advisory lock
//! ([`FEED_LOCK`], `pg_advisory_xact_lock`) and only then takes the next
//! number from `change_feed_seq`. The lock is held until the transaction
//! ends, and PostgreSQL releases it only after the commit is visible to
//! other transactions; the next appender gets its number only after that.
//! So every number handed out is greater than the number of every commit
//! already visible, and no commit can become visible with a number below
//! one a reader has seen: a reader following `seq > cursor` skips nothing.
//! (A transaction that rolls back leaves a gap, which a reader passes over
//! harmlessly; a sequence never hands a number out twice, so pruning may
//! delete the newest row.)
//!
//! The cost is that appending transactions commit one at a time from their
//! append to their commit; the append is the last write of a refresh
//! commit but for its bookkeeping, so that stretch is a few statements.

use amsync_core::diff::ChangeKind;
use chrono::{DateTime, Utc};

use super::codec::{self, get, ts};
use super::{PgBackend, PgTx};
use crate::backend::{FeedReads, FeedTx};
use crate::error::Result;
use crate::types::FeedItem;

/// The advisory lock key of feed appends ("amsync-f" in ASCII).
pub(crate) const FEED_LOCK: i64 = 0x616d_7379_6e63_2d66;

impl FeedTx for PgTx {
    async fn append_to_feed(&mut self, key: &str, kind: ChangeKind, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            // One round trip; the MATERIALIZED CTE takes the lock before
            // the outer SELECT takes its number.
            "WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock($4))
             INSERT INTO change_feed (seq, member_key, kind, at)
             SELECT nextval('change_feed_seq'), $1, $2, $3 FROM locked",
            &[&key, &kind.as_str(), &ts(at), &FEED_LOCK],
        )
        .await?;
        Ok(())
    }
}

impl FeedReads for PgBackend {
    async fn changes_after(&self, after: i64, limit: usize) -> Result<Vec<FeedItem>> {
        let mut tx = self.autocommit().await?;
        let rows = tx
            .query(
                "SELECT seq, member_key, kind, at FROM change_feed WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &(limit as i64)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(FeedItem {
                    seq: get(r, 0)?,
                    key: codec::key("member", get(r, 1)?)?,
                    kind: codec::change_kind(&get::<String>(r, 2)?)?,
                    at: get(r, 3)?,
                })
            })
            .collect()
    }
}
