//! Pruning by age (`[retention]`) in PostgreSQL, in bounded batches, each
//! its own short transaction so refresh commits interleave (as
//! `sqlite/retention.rs`, whose module doc says what goes).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::codec::{get, ts};
use super::{erase, PgBackend, PgOp, PgTx};
use crate::data_protection::{PruneReport, RetentionPolicy};
use crate::error::Result;

/// Rows one pruning transaction deletes at most.
const BATCH: usize = 1000;
/// Disabled members (or approvals) one pruning transaction removes at most.
const MEMBER_BATCH: usize = 100;

fn cutoff(now: DateTime<Utc>, age: Duration) -> DateTime<Utc> {
    ts(now) - chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX / 2)
}

#[derive(Debug, Clone, Copy)]
enum Step {
    History,
    ChangeFeed,
    Runs,
    Approvals,
    Sessions,
    MobileTokens,
    UsedTokenIds,
    DisabledMembers,
}

struct Batch {
    step: Step,
    cutoff: DateTime<Utc>,
    idle: chrono::Duration,
    now: DateTime<Utc>,
}

/// Deletes the leading run of rows older than `cutoff` from a table whose
/// id grows with its time column; `keep_newest` spares the row with the
/// highest id.
async fn prune_leading(tx: &mut PgTx, table: &str, id: &str, cutoff: DateTime<Utc>, keep_newest: bool) -> Result<u64> {
    let rows = tx.query(&format!("SELECT {id}, at FROM {table} ORDER BY {id} LIMIT $1"), &[&(BATCH as i64)]).await?;
    let mut last_old = None;
    for r in &rows {
        let at: DateTime<Utc> = get(r, 1)?;
        if at >= cutoff {
            break;
        }
        last_old = Some(get::<i64>(r, 0)?);
    }
    let Some(last_old) = last_old else { return Ok(0) };
    let bound = if keep_newest {
        let newest: i64 = get(&tx.query_one(&format!("SELECT MAX({id}) FROM {table}"), &[]).await?, 0)?;
        last_old.min(newest - 1)
    } else {
        last_old
    };
    tx.exec(&format!("DELETE FROM {table} WHERE {id} <= $1"), &[&bound]).await
}

impl PgOp for Batch {
    type Output = u64;

    async fn run(&mut self, tx: &mut PgTx) -> Result<u64> {
        let (cut, batch) = (self.cutoff, BATCH as i64);
        match self.step {
            Step::History => prune_leading(tx, "member_history", "id", cut, false).await,
            // The newest entry stays, as on SQLite (a site may not have read it).
            Step::ChangeFeed => prune_leading(tx, "change_feed", "seq", cut, true).await,
            Step::Runs => {
                tx.exec(
                    "DELETE FROM runs WHERE id IN (SELECT id FROM runs
                       WHERE finished_at IS NOT NULL AND finished_at < $1 ORDER BY finished_at LIMIT $2)",
                    &[&cut, &batch],
                )
                .await
            }
            Step::Approvals => {
                let ids: Vec<i64> = tx
                    .query(
                        "SELECT a.id FROM approvals a
                          WHERE a.status IN ('applied', 'dropped', 'rejected')
                            AND COALESCE(a.decided_at, a.updated_at) < $1
                            AND NOT EXISTS (SELECT 1 FROM held_changes h
                                             WHERE h.approval_id = a.id AND h.status IN ('pending', 'rejected'))
                          ORDER BY a.id LIMIT $2",
                        &[&cut, &(MEMBER_BATCH as i64)],
                    )
                    .await?
                    .iter()
                    .map(|r| get(r, 0))
                    .collect::<Result<_>>()?;
                tx.exec("DELETE FROM held_changes WHERE approval_id = ANY($1)", &[&ids]).await?;
                tx.exec("DELETE FROM approvals WHERE id = ANY($1)", &[&ids]).await?;
                Ok(ids.len() as u64)
            }
            Step::Sessions => {
                tx.exec(
                    "DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions
                       WHERE expires_at <= $1 OR last_seen_at < $2 LIMIT $3)",
                    &[&cut, &(cut - self.idle), &batch],
                )
                .await
            }
            Step::MobileTokens => {
                tx.exec(
                    "DELETE FROM mobile_tokens WHERE hash IN
                       (SELECT hash FROM mobile_tokens WHERE expires_at <= $1 LIMIT $2)",
                    &[&cut, &batch],
                )
                .await
            }
            Step::UsedTokenIds => {
                tx.exec(
                    "DELETE FROM sso_token_ids WHERE id IN (SELECT id FROM sso_token_ids WHERE expires_at <= $1 LIMIT $2)",
                    &[&cut, &batch],
                )
                .await
            }
            Step::DisabledMembers => {
                let keys: Vec<String> = tx
                    .query(
                        "SELECT key FROM members WHERE status = 'disabled' AND updated_at < $1
                           AND disabled_reason IS DISTINCT FROM 'admin' ORDER BY updated_at LIMIT $2",
                        &[&cut, &(MEMBER_BATCH as i64)],
                    )
                    .await?
                    .iter()
                    .map(|r| get(r, 0))
                    .collect::<Result<_>>()?;
                for key in &keys {
                    erase::erase_rows(tx, key, self.now, false).await?;
                }
                if !keys.is_empty() {
                    tracing::info!(
                        members = keys.len(),
                        "removed members disabled for longer than retention.disabled_members"
                    );
                }
                Ok(keys.len() as u64)
            }
        }
    }
}

/// Runs every kind of pruning to the end, one bounded batch per transaction.
pub(crate) async fn prune(store: &PgBackend, p: &RetentionPolicy, now: DateTime<Utc>) -> Result<PruneReport> {
    let idle = chrono::Duration::from_std(p.session_idle_timeout).unwrap_or(chrono::Duration::MAX / 2);
    type Slot = fn(&mut PruneReport) -> &mut u64;
    let steps: [(Step, Duration, usize, Slot); 8] = [
        (Step::History, p.history, BATCH, |r| &mut r.history),
        (Step::ChangeFeed, p.change_feed, BATCH, |r| &mut r.change_feed),
        (Step::Runs, p.runs, BATCH, |r| &mut r.runs),
        // Decided approvals are kept as long as the runs that held them.
        (Step::Approvals, p.runs, MEMBER_BATCH, |r| &mut r.approvals),
        (Step::Sessions, p.sessions, BATCH, |r| &mut r.sessions),
        (Step::MobileTokens, p.sessions, BATCH, |r| &mut r.mobile_tokens),
        (Step::UsedTokenIds, p.used_token_ids, BATCH, |r| &mut r.used_token_ids),
        (Step::DisabledMembers, p.disabled_members, MEMBER_BATCH, |r| &mut r.disabled_members),
    ];
    let mut report = PruneReport::default();
    for (step, age, batch, slot) in steps {
        loop {
            let n = store.run(Batch { step, cutoff: cutoff(now, age), idle, now }).await?;
            report.batches += 1;
            *slot(&mut report) += n;
            if (n as usize) < batch {
                break;
            }
        }
    }
    Ok(report)
}
