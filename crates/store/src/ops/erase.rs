//! Erasing a member (see [`crate::data_protection`]), written once: every
//! row about a key goes, in one transaction; the admin's erase adds the
//! tombstone, the retention of disabled members does not.
//!
//! The `erased` change-feed entry is written *before* the member's older
//! entries are deleted: sequence numbers are handed out above the highest
//! one, so deleting first could hand out the number of a deleted newest
//! entry again, one a reader may already have passed. The queue entries
//! deleted may end their runs; the held changes deleted may leave a
//! pending approval with nothing to decide, which is dropped.

use amsync_core::diff::ChangeKind;
use chrono::{DateTime, Utc};

use super::runs::maybe_finish_all;
use crate::backend::{Tx, WriteOp};
use crate::data_protection::{EraseReport, EraseRequest, ErasedRows, Tombstone};
use crate::error::Result;

/// Removes every row about `key`; with `feed_history` its older
/// change-feed entries too (the admin's erase only), but never an `erased`
/// entry nor the newest of the feed. Appends the `erased` entry when a
/// member row existed.
pub(crate) async fn erase_rows<T: Tx>(
    tx: &mut T,
    key: &str,
    at: DateTime<Utc>,
    feed_history: bool,
) -> Result<ErasedRows> {
    let member = tx.delete_member_row(key).await?;
    if member > 0 {
        tx.append_to_feed(key, ChangeKind::Erased, at).await?;
    }
    let change_feed = if feed_history { tx.delete_feed_history(key).await? } else { 0 };
    let data = tx.delete_member_data(key).await?;
    let runs = tx.delete_queue_entries(key).await?;
    let queue = runs.len() as u64;
    maybe_finish_all(tx, runs.into_iter().flatten().collect(), at).await?;
    let held_changes = drop_held_changes(tx, key, at).await?;
    Ok(ErasedRows {
        member,
        memberships: data.memberships,
        groups: data.groups,
        payloads: data.payloads,
        history: data.history,
        refresh: data.refresh,
        queue,
        sessions: data.sessions,
        mobile_tokens: data.mobile_tokens,
        change_feed,
        held_changes,
        threshold_ledger: data.threshold_ledger,
    })
}

/// Deletes the key's held changes, whatever their status, and drops each
/// pending approval that is left with nothing pending (it would otherwise
/// wait for an admin to decide on nothing).
async fn drop_held_changes<T: Tx>(tx: &mut T, key: &str, at: DateTime<Utc>) -> Result<u64> {
    let mut approvals = tx.delete_held_changes(key).await?;
    let n = approvals.len() as u64;
    approvals.sort_unstable();
    approvals.dedup();
    for approval in approvals {
        let note = "nothing is left pending: the held changes were of a member since erased";
        if tx.drop_approval_if_nothing_pending(approval, note, at).await? {
            tracing::info!(approval, "an approval was dropped: its held changes were of an erased member");
        }
    }
    Ok(n)
}

/// [`crate::DataStore::erase_member`]: every row, then the tombstone (an
/// earlier one is kept as it was); what was deleted must not outlive the
/// commit in the backend's files.
pub(crate) struct EraseMember {
    pub erase: EraseRequest,
}

impl WriteOp for EraseMember {
    type Output = EraseReport;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<EraseReport> {
        let e = &self.erase;
        let k = e.key.as_str();
        tx.forget_deleted_after_commit().await?;
        let removed = erase_rows(tx, k, e.at, true).await?;
        let inserted = tx.insert_tombstone(k, &e.actor, e.reason.as_deref(), e.at).await?;
        let tombstone = tx.tombstone_of(k).await?.unwrap_or_else(|| Tombstone {
            key: e.key.clone(),
            erased_at: e.at,
            actor: e.actor.clone(),
            reason: e.reason.clone(),
        });
        tracing::info!(member = k, rows = removed.total(), actor = e.actor, "member erased; its key is tombstoned");
        Ok(EraseReport { removed, tombstone, already_tombstoned: !inserted })
    }
}

/// [`crate::DataStore::lift_tombstone`].
pub(crate) struct LiftTombstone {
    pub key: String,
}

impl WriteOp for LiftTombstone {
    type Output = bool;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<bool> {
        let lifted = tx.delete_tombstone(&self.key).await?;
        if lifted {
            tracing::info!(member = self.key, "tombstone lifted");
        }
        Ok(lifted)
    }
}
