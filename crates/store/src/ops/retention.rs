//! Pruning by age (`[retention]`), in bounded batches: each batch is its
//! own short write, and a kind is pruned again until a batch comes back
//! short, so refresh commits interleave with the pruning.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::erase::erase_rows;
use crate::backend::{Backend, Prunable, Tx, WriteOp};
use crate::data_protection::{PruneReport, RetentionPolicy};
use crate::error::Result;

/// Rows one pruning write deletes at most.
pub(crate) const BATCH: usize = 1000;
/// Disabled members (or decided approvals) one pruning write removes at
/// most: each is a dozen small deletes.
pub(crate) const MEMBER_BATCH: usize = 100;

fn cutoff(now: DateTime<Utc>, age: Duration) -> DateTime<Utc> {
    let age = chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
    now.checked_sub_signed(age).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// One batch of rows of one kind.
struct PruneBatch {
    what: Prunable,
    cutoff: DateTime<Utc>,
    limit: usize,
}

impl WriteOp for PruneBatch {
    type Output = u64;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<u64> {
        tx.prune_batch(self.what, self.cutoff, self.limit).await
    }
}

/// One batch of members disabled by their source whose row has not changed
/// since the cutoff: every row about them goes, with an `erased` change-feed
/// entry; no tombstone, so the AMS may bring them back.
struct PruneDisabledMembers {
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
}

impl WriteOp for PruneDisabledMembers {
    type Output = u64;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<u64> {
        let keys = tx.disabled_members_unchanged_since(self.cutoff, MEMBER_BATCH).await?;
        for key in &keys {
            erase_rows(tx, key, self.now, false).await?;
        }
        if !keys.is_empty() {
            tracing::info!(members = keys.len(), "removed members disabled for longer than retention.disabled_members");
        }
        Ok(keys.len() as u64)
    }
}

/// [`crate::DataStore::prune`]: every kind of pruning to the end, one
/// bounded batch per write.
pub(crate) async fn prune<B: Backend>(backend: &B, p: &RetentionPolicy, now: DateTime<Utc>) -> Result<PruneReport> {
    type Slot = fn(&mut PruneReport) -> &mut u64;
    let kinds: [(Prunable, Duration, usize, Slot); 7] = [
        (Prunable::History, p.history, BATCH, |r| &mut r.history),
        (Prunable::ChangeFeed, p.change_feed, BATCH, |r| &mut r.change_feed),
        (Prunable::Runs, p.runs, BATCH, |r| &mut r.runs),
        // Decided approvals are kept as long as the runs that held them.
        (Prunable::Approvals, p.runs, MEMBER_BATCH, |r| &mut r.approvals),
        (Prunable::Sessions { idle: p.session_idle_timeout }, p.sessions, BATCH, |r| &mut r.sessions),
        (Prunable::MobileTokens, p.sessions, BATCH, |r| &mut r.mobile_tokens),
        (Prunable::UsedTokenIds, p.used_token_ids, BATCH, |r| &mut r.used_token_ids),
    ];
    let mut report = PruneReport::default();
    for (what, age, limit, slot) in kinds {
        let cutoff = cutoff(now, age);
        loop {
            let n = backend.write(PruneBatch { what, cutoff, limit }).await?;
            report.batches += 1;
            *slot(&mut report) += n;
            if (n as usize) < limit {
                break;
            }
        }
    }
    let cutoff = cutoff(now, p.disabled_members);
    loop {
        let n = backend.write(PruneDisabledMembers { cutoff, now }).await?;
        report.batches += 1;
        report.disabled_members += n;
        if (n as usize) < MEMBER_BATCH {
            break;
        }
    }
    Ok(report)
}
