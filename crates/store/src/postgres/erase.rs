//! A member's erase and its tombstone in PostgreSQL (as `sqlite/erase.rs`,
//! whose module doc says what goes and what stays). PostgreSQL's deleted
//! row versions are reclaimed by vacuum, not overwritten at once as
//! SQLite's `secure_delete` does: see ARCHITECTURE.md.
//!
//! seam: phase 2 — the erase moves to `ops/erase.rs`; its deletes become
//! `EraseTx` methods.

use amsync_core::diff::ChangeKind;
use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use super::codec::{self, get, ts};
use super::{PgOp, PgTx};
use crate::backend::{FeedTx, HeldTx};
use crate::data_protection::{ErasedRows, Tombstone};
use crate::error::Result;
use crate::ops::runs::maybe_finish_all;

pub(crate) async fn tombstone(tx: &mut PgTx, key: &str) -> Result<Option<Tombstone>> {
    let row = tx
        .query_opt("SELECT member_key, erased_at, actor, reason FROM tombstones WHERE member_key = $1", &[&key])
        .await?;
    row.map(|r| {
        Ok(Tombstone {
            key: codec::key("tombstone", get(&r, 0)?)?,
            erased_at: get(&r, 1)?,
            actor: get(&r, 2)?,
            reason: get(&r, 3)?,
        })
    })
    .transpose()
}

pub(crate) async fn list(tx: &mut PgTx, limit: usize, after: &str) -> Result<Vec<Tombstone>> {
    let rows = tx
        .query(
            "SELECT member_key, erased_at, actor, reason FROM tombstones WHERE member_key > $1
             ORDER BY member_key LIMIT $2",
            &[&after, &(limit as i64)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Tombstone {
                key: codec::key("tombstone", get(r, 0)?)?,
                erased_at: get(r, 1)?,
                actor: get(r, 2)?,
                reason: get(r, 3)?,
            })
        })
        .collect()
}

async fn delete(tx: &mut PgTx, sql: &str, key: &str) -> Result<u64> {
    tx.exec(sql, &[&key]).await
}

/// Removes every row about `key`; with `feed_history` its older
/// change-feed entries too, but never an `erased` entry. (PostgreSQL's
/// feed numbers come from a sequence, never handed out twice, so the
/// newest entry may go too; it is kept anyway, as on SQLite, for the
/// site that has not read it.) Appends the `erased` entry when a member
/// row existed.
pub(crate) async fn erase_rows(tx: &mut PgTx, key: &str, at: DateTime<Utc>, feed_history: bool) -> Result<ErasedRows> {
    let member = delete(tx, "DELETE FROM members WHERE key = $1", key).await?;
    let mut feed_seq: Option<i64> = None;
    if member > 0 {
        tx.append_to_feed(key, ChangeKind::Erased, at).await?;
        feed_seq = Some(get(&tx.query_one("SELECT currval('change_feed_seq')", &[]).await?, 0)?);
    }
    let change_feed = if feed_history {
        let below: i64 = match feed_seq {
            Some(seq) => seq,
            None => get(&tx.query_one("SELECT COALESCE(MAX(seq), 0)::bigint FROM change_feed", &[]).await?, 0)?,
        };
        tx.exec("DELETE FROM change_feed WHERE member_key = $1 AND seq < $2 AND kind <> 'erased'", &[&key, &below])
            .await?
    } else {
        0
    };
    let memberships = delete(tx, "DELETE FROM memberships WHERE member_key = $1", key).await?;
    let groups = delete(tx, "DELETE FROM member_ams_groups WHERE member_key = $1", key).await?
        + delete(tx, "DELETE FROM member_local_groups WHERE member_key = $1", key).await?;
    let payloads = delete(tx, "DELETE FROM member_payloads WHERE member_key = $1", key).await?;
    let history = delete(tx, "DELETE FROM member_history WHERE member_key = $1", key).await?;
    let refresh = delete(tx, "DELETE FROM member_refresh WHERE member_key = $1", key).await?;
    let runs = tx.query("DELETE FROM refresh_queue WHERE member_key = $1 RETURNING run_id", &[&key]).await?;
    let queue = runs.len() as u64;
    let runs: Vec<i64> =
        runs.iter().map(|r| get::<Option<i64>>(r, 0)).collect::<Result<Vec<_>>>()?.into_iter().flatten().collect();
    maybe_finish_all(tx, runs, at).await?;
    let sessions = delete(tx, "DELETE FROM sessions WHERE member = $1", key).await?;
    let mobile_tokens = delete(tx, "DELETE FROM mobile_tokens WHERE member = $1", key).await?;
    let mut approvals: Vec<i64> = tx
        .query("DELETE FROM held_changes WHERE member_key = $1 RETURNING approval_id", &[&key])
        .await?
        .iter()
        .map(|r| get(r, 0))
        .collect::<Result<_>>()?;
    let held_changes = approvals.len() as u64;
    approvals.sort_unstable();
    approvals.dedup();
    for approval in approvals {
        let note = "nothing is left pending: the held changes were of a member since erased";
        if tx.drop_approval_if_nothing_pending(approval, note, at).await? {
            tracing::info!(approval, "an approval was dropped: its held changes were of an erased member");
        }
    }
    // The counts stay (an erase must not loosen the window); the key goes.
    let threshold_ledger =
        delete(tx, "UPDATE threshold_ledger SET member_key = NULL WHERE member_key = $1", key).await?;
    Ok(ErasedRows {
        member,
        memberships,
        groups,
        payloads,
        history,
        refresh,
        queue,
        sessions,
        mobile_tokens,
        change_feed,
        held_changes,
        threshold_ledger,
    })
}

/// The admin's erase: every row, then the tombstone (an earlier one is
/// kept as it was).
pub(crate) struct Erase {
    pub key: MemberKey,
    pub actor: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

impl PgOp for Erase {
    type Output = (ErasedRows, Tombstone, bool);

    async fn run(&mut self, tx: &mut PgTx) -> Result<(ErasedRows, Tombstone, bool)> {
        let k = self.key.as_str();
        let removed = erase_rows(tx, k, self.at, true).await?;
        let inserted = tx
            .exec(
                "INSERT INTO tombstones (member_key, erased_at, actor, reason) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (member_key) DO NOTHING",
                &[&k, &ts(self.at), &self.actor, &self.reason],
            )
            .await?;
        let stone = tombstone(tx, k).await?.unwrap_or_else(|| Tombstone {
            key: self.key.clone(),
            erased_at: ts(self.at),
            actor: self.actor.clone(),
            reason: self.reason.clone(),
        });
        tracing::info!(member = k, rows = removed.total(), actor = self.actor, "member erased; its key is tombstoned");
        Ok((removed, stone, inserted == 0))
    }
}

pub(crate) struct Lift(pub String);

impl PgOp for Lift {
    type Output = bool;

    async fn run(&mut self, tx: &mut PgTx) -> Result<bool> {
        let lifted = delete(tx, "DELETE FROM tombstones WHERE member_key = $1", &self.0).await? > 0;
        if lifted {
            tracing::info!(member = self.0, "tombstone lifted");
        }
        Ok(lifted)
    }
}
